/* stdio_write.c - fwrite, fputs, puts, fputc, putc, putchar, __overflow and
 * fflush on pipes and sockets, cooperatively; and stdio_put, through which
 * the printf family (stdio_printf.c) hands over the bytes it formatted.
 *
 * A call that glibc would only copy into the stream's buffer goes straight
 * to glibc. A call that would write runs in stdio_run (stdio.c) glibc's own
 * output code, ported in stdio_out.c, whose writes park instead of blocking.
 * So the bytes, the buffer, the return values, ferror and errno are glibc's,
 * whatever the buffer size (setvbuf) or the room in the pipe.
 *
 * __overflow is what <stdio.h>'s inline putc_unlocked, putchar_unlocked and
 * fputc_unlocked call once the buffer is full (or at once, line-buffered):
 * glibc's own output calls reach it internally, never through the shim.
 *
 * Not cooperative: fflush(NULL) (glibc flushes every stream itself), and
 * the output calls not wrapped (fputwc, fwprintf, perror, ...) when they
 * fill the buffer.
 */
#include <limits.h>
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
};

/* glibc's fwrite, fputs and printf write nothing to a stream that is
 * not byte oriented (stdio_coop keeps wide ones away: this orients it). */
static void put_body(struct stdio_call *c)
{
    struct put_args *a = c->args;

    a->written = fwide(c->fp, -1) < 0 ? stdio_xsputn(c, a->s, a->n) : 0;
}

/* _IO_sputn, for a call that may write, holding the stream. */
static size_t sputn(FILE *fp, const char *s, size_t n, bool locked)
{
    struct put_args a = { .s = s, .n = n };

    stdio_run(fp, locked, true, put_body, &a);
    return a.written;
}

size_t stdio_put(FILE *fp, const char *s, size_t n)
{
    if (!stdio_busy(fp) && fits(fp, s, n))
        return REAL(fwrite)(s, 1, n, fp);       /* glibc copies it all */
    return sputn(fp, s, n, true);
}

static size_t fwrite_any(const void *buf, size_t size, size_t count, FILE *fp, bool locked)
{
    size_t n = size * count, written;

    if (n == 0 || !may_write(fp, buf, n))
        return (locked ? REAL(fwrite) : REAL(fwrite_unlocked))(buf, size, count, fp);
    written = sputn(fp, buf, n, locked);
    /* EOF: all of it went into the buffer, only the flush failed. */
    return written == n || written == (size_t)EOF ? count : written / size;
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
    size_t n = strlen(s);

    if (n == 0 || !may_write(fp, s, n))
        return (locked ? REAL(fputs) : REAL(fputs_unlocked))(s, fp);
    return sputn(fp, s, n, locked) == n ? 1 : EOF;
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

/* _IO_putc_unlocked: into the buffer, or __overflow (ch EOF: flush). */
static int put_byte(struct stdio_call *c, int ch)
{
    FILE *fp = c->fp;

    if (ch != EOF && fp->_IO_write_ptr < fp->_IO_write_end)
        return (unsigned char)(*fp->_IO_write_ptr++ = (char)ch);
    if (fp->_mode == 0)
        fwide(fp, -1);
    return stdio_overflow(c, ch);
}

static void putc_body(struct stdio_call *c)
{
    struct putc_args *a = c->args;

    a->result = put_byte(c, a->ch);
}

static int putc_any(int ch, FILE *fp, int (*real)(int, FILE *), bool locked)
{
    struct putc_args a = { .ch = (unsigned char)ch };
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

/* What putc compiled to with glibc's headers before 2.28. */
SHIM_EXPORT int _IO_putc(int ch, FILE *fp)
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

/* glibc's putchar is putc on stdout. */
SHIM_EXPORT int putchar(int ch)
{
    return putc_any(ch, stdout, REAL(putc), true);
}

SHIM_EXPORT int putchar_unlocked(int ch)
{
    return putc_any(ch, stdout, REAL(putc_unlocked), false);
}

/* Called without the FILE lock (by the _unlocked inlines). A flush may
 * always write; a byte, when the buffer says so. */
SHIM_EXPORT int __overflow(FILE *fp, int ch)
{
    struct putc_args a = { .ch = ch };
    char byte = (char)ch;

    if (ch == EOF ? !rt_green() || !stdio_coop(fp, IO_NO_WRITES) : !may_write(fp, &byte, 1))
        return REAL(__overflow)(fp, ch);
    stdio_run(fp, false, true, putc_body, &a);
    return a.result;
}

struct puts_args {
    const char *s;
    size_t n;
    int result;
};

/* _IO_puts: the string, then the newline as putc puts it. */
static void puts_body(struct stdio_call *c)
{
    struct puts_args *a = c->args;

    if (fwide(c->fp, -1) < 0 && stdio_xsputn(c, a->s, a->n) == a->n && put_byte(c, '\n') != EOF)
        a->result = a->n < INT_MAX ? (int)a->n + 1 : INT_MAX;
    else
        a->result = EOF;
}

/* The newline goes into the buffer too, unless line buffering writes it. */
SHIM_EXPORT int puts(const char *s)
{
    struct puts_args a = { .s = s, .n = strlen(s) };
    FILE *fp = stdout;

    if (!rt_green() || (!stdio_busy(fp) && !(fp->_flags & IO_LINE_BUF) && fits(fp, s, a.n + 1)) ||
        !stdio_coop(fp, IO_NO_WRITES))
        return REAL(puts)(s);
    stdio_run(fp, true, true, puts_body, &a);
    return a.result;
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
