/* stdio_write.c - fwrite, fputs, fputc, putc and fflush on pipes and
 * sockets, cooperatively.
 *
 * A call that glibc would only copy into the stream's buffer goes straight
 * to glibc. A call that would write runs in stdio_run (stdio.c) glibc's own
 * output code, ported in stdio_out.c, whose writes park instead of blocking.
 * So the bytes, the buffer, the return values, ferror and errno are glibc's,
 * whatever the buffer size (setvbuf) or the room in the pipe.
 *
 * Not cooperative: fflush(NULL) (glibc flushes every stream itself), and
 * the output calls not wrapped here (printf, puts, ...) when they fill the
 * buffer.
 */
#include <string.h>
#include <wchar.h>

#include "stdio_int.h"

/* glibc would only copy n bytes into the buffer: no write. */
static bool fits(const FILE *fp, const char *s, size_t n)
{
    if (!stdio_putting(fp))
        return false;
    if (fp->_flags & IO_LINE_BUF)
        return n <= (size_t)(fp->_IO_buf_end - fp->_IO_write_ptr) && !memchr(s, '\n', n);
    return fp->_IO_write_end > fp->_IO_write_ptr &&
           n <= (size_t)(fp->_IO_write_end - fp->_IO_write_ptr);
}

/* The call may write: take the cooperative path. */
static bool may_write(FILE *fp, const char *s, size_t n)
{
    return rt_green() && (stdio_busy(fp) || !fits(fp, s, n)) && stdio_coop(fp, IO_NO_WRITES);
}

struct put_args {
    const char *s;
    size_t n, written;          /* written: _IO_sputn's answer */
    bool byte_oriented;
};

static void put_body(struct stdio_call *c)
{
    struct put_args *a = c->args;

    if ((a->byte_oriented = fwide(c->fp, -1) < 0))
        a->written = stdio_xsputn(c, a->s, a->n);
}

static size_t fwrite_any(const void *buf, size_t size, size_t count, FILE *fp, bool locked)
{
    struct put_args a = { .s = buf, .n = size * count };

    if (a.n == 0 || !may_write(fp, buf, a.n))
        return (locked ? REAL(fwrite) : REAL(fwrite_unlocked))(buf, size, count, fp);
    stdio_run(fp, locked, true, put_body, &a);
    /* EOF: all of it went into the buffer, only the flush failed. */
    return a.written == a.n || a.written == (size_t)EOF ? count : a.written / size;
}

SHIM_EXPORT size_t fwrite(const void *buf, size_t size, size_t count, FILE *fp)
{
    return fwrite_any(buf, size, count, fp, true);
}

SHIM_EXPORT size_t (fwrite_unlocked)(const void *buf, size_t size, size_t count, FILE *fp)
{
    return fwrite_any(buf, size, count, fp, false);
}

static int fputs_any(const char *s, FILE *fp, bool locked)
{
    struct put_args a = { .s = s, .n = strlen(s) };

    if (a.n == 0 || !may_write(fp, s, a.n))
        return (locked ? REAL(fputs) : REAL(fputs_unlocked))(s, fp);
    stdio_run(fp, locked, true, put_body, &a);
    return a.byte_oriented && a.written == a.n ? 1 : EOF;
}

SHIM_EXPORT int fputs(const char *s, FILE *fp)
{
    return fputs_any(s, fp, true);
}

SHIM_EXPORT int fputs_unlocked(const char *s, FILE *fp)
{
    return fputs_any(s, fp, false);
}

struct putc_args {
    int ch, result;
};

/* _IO_putc_unlocked, and __overflow when the buffer says so. */
static void putc_body(struct stdio_call *c)
{
    struct putc_args *a = c->args;
    FILE *fp = c->fp;

    if (fp->_IO_write_ptr < fp->_IO_write_end) {
        a->result = (unsigned char)(*fp->_IO_write_ptr++ = (char)a->ch);
        return;
    }
    if (fp->_mode == 0)
        fwide(fp, -1);
    a->result = stdio_overflow(c, (unsigned char)a->ch);
}

static int putc_any(int ch, FILE *fp, int (*real)(int, FILE *), bool locked)
{
    struct putc_args a = { .ch = ch };
    char byte = (char)ch;

    if (!may_write(fp, &byte, 1))
        return real(ch, fp);
    stdio_run(fp, locked, true, putc_body, &a);
    return a.result;
}

SHIM_EXPORT int fputc(int ch, FILE *fp)
{
    return putc_any(ch, fp, REAL(fputc), true);
}

SHIM_EXPORT int putc(int ch, FILE *fp)
{
    return putc_any(ch, fp, REAL(putc), true);
}

SHIM_EXPORT int fputc_unlocked(int ch, FILE *fp)
{
    return putc_any(ch, fp, REAL(fputc_unlocked), false);
}

SHIM_EXPORT int putc_unlocked(int ch, FILE *fp)
{
    return putc_any(ch, fp, REAL(putc_unlocked), false);
}

struct flush_args {
    int (*real)(FILE *);        /* glibc's fflush, for what follows the write */
    int result;
};

/* _IO_new_file_sync: the pending output, then glibc's, which finds none. */
static void flush_body(struct stdio_call *c)
{
    struct flush_args *a = c->args;

    if (stdio_pending(c->fp) && stdio_flush(c) == EOF)
        a->result = EOF;
    else if (a->real)
        a->result = a->real(c->fp);
}

static int fflush_any(FILE *fp, int (*real)(FILE *), bool locked)
{
    struct flush_args a = { .real = real };

    if (!fp || !rt_green() || (!stdio_busy(fp) && !stdio_pending(fp)) ||
        !stdio_coop(fp, IO_NO_WRITES))
        return real(fp);
    stdio_run(fp, locked, true, flush_body, &a);
    return a.result;
}

SHIM_EXPORT int fflush(FILE *fp)
{
    return fflush_any(fp, REAL(fflush), true);
}

SHIM_EXPORT int fflush_unlocked(FILE *fp)
{
    return fflush_any(fp, REAL(fflush_unlocked), false);
}

void stdio_flush_stdout(FILE *reading)
{
    FILE *out = stdout;
    struct flush_args a = { .real = NULL };

    if (out != reading &&
        (out->_flags & (IO_LINKED | IO_NO_WRITES | IO_LINE_BUF)) == (IO_LINKED | IO_LINE_BUF) &&
        (stdio_busy(out) || stdio_pending(out)) && stdio_coop(out, IO_NO_WRITES))
        stdio_run(out, true, true, flush_body, &a);
}
