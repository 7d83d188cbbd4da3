/* stdio_printf.c - the printf family (printf, fprintf, vprintf, vfprintf,
 * dprintf, vdprintf and their fortified __*_chk forms) on pipes and sockets,
 * cooperatively.
 *
 * glibc's vfprintf writes each piece of its output as it formats it, through
 * calls the shim cannot see. Here glibc formats the whole output into memory
 * first (vsnprintf into a buffer on the stack, a memory stream when that is
 * too small), with the same mode bit as the call: a fortified call with
 * flag > 0 still rejects %n in a writable format, and positional arguments
 * are checked. Then the bytes go to the stream as one _IO_sputn through
 * stdio_put (stdio_write.c), shared with fwrite: glibc's copy into the
 * buffer when that is all it would do, otherwise glibc's output code with
 * writes that park. dprintf's bytes go to the fd by the shim's write.
 *
 * So the bytes, the buffering (line, full, none, setvbuf), the return value
 * (the count, or -1 with errno: the write's, or the formatting's EILSEQ,
 * EOVERFLOW after the output that preceded the failing conversion), ferror
 * and %n are glibc's. What differs is how the bytes are cut into write(2)s
 * when one call outputs more than a buffer: glibc writes as it goes, here
 * they are written once formatted; an unbuffered stream or dprintf gets them
 * in one write loop where glibc writes per 8 KiB (4 KiB for dprintf, per
 * line on a tty).
 *
 * Left to glibc: wide streams, streams stdio_coop turns down (regular
 * files, fds the program made non-blocking), a NULL format, and a call that
 * finds no memory for its output.
 */
#include <stdarg.h>
#include <wchar.h>

#include "stdio_int.h"

int __vsnprintf_chk(char *s, size_t maxlen, int flag, size_t slen, const char *fmt, va_list ap);

typedef int vfprintf_chk_fn(FILE *fp, int flag, const char *fmt, va_list ap);
typedef int vdprintf_chk_fn(int fd, int flag, const char *fmt, va_list ap);

/* glibc's __vfprintf_chk and __vdprintf_chk, which the shim interposes: with
 * flag <= 0 they are vfprintf and vdprintf, and every name here is one of
 * them with its arguments gathered. */
static vfprintf_chk_fn *real_vfprintf_chk(void)
{
    static void *real;

    return (vfprintf_chk_fn *)stdio_libc(&real, "__vfprintf_chk");
}

static vdprintf_chk_fn *real_vdprintf_chk(void)
{
    static void *real;

    return (vdprintf_chk_fn *)stdio_libc(&real, "__vdprintf_chk");
}

/* A call's formatted output. */
struct out {
    char *s;
    size_t n;
    int err;                    /* formatting failed after s[0..n): errno */
    char *heap;                 /* the memory stream's buffer, or NULL */
    char buf[1024];
};

/* glibc formats fmt into o; ap is left as it was. false: no memory. */
static bool format(struct out *o, int flag, const char *fmt, va_list ap)
{
    va_list again;
    FILE *ms;
    int r;

    o->heap = NULL;
    o->err = 0;
    va_copy(again, ap);
    r = __vsnprintf_chk(o->buf, sizeof(o->buf), flag, sizeof(o->buf), fmt, again);
    va_end(again);
    if (r >= 0 && (size_t)r < sizeof(o->buf)) {
        o->s = o->buf;
        o->n = (size_t)r;
        return true;
    }
    /* Too long, or failed: again into a memory stream, which keeps what came
     * before the failing conversion, as glibc's stream would have. */
    if (!(ms = open_memstream(&o->heap, &o->n)))
        return false;
    va_copy(again, ap);
    if (real_vfprintf_chk()(ms, flag, fmt, again) < 0)
        o->err = errno;
    va_end(again);
    if (REAL(fclose)(ms) != 0) {
        free(o->heap);
        return false;
    }
    o->s = o->heap;
    return true;
}

/* After `written` of o's bytes went out: a count, or -1 with the write's
 * errno, or the formatting's once all that came before it went out. */
static int result(struct out *o, size_t written, int saved)
{
    free(o->heap);
    if (written != o->n)
        return -1;
    if (o->err) {
        errno = o->err;
        return -1;
    }
    errno = saved;
    return (int)o->n;
}

typedef size_t put_fn(void *to, const struct out *o);

static size_t to_stream(void *fp, const struct out *o)
{
    return o->n ? stdio_put(fp, o->s, o->n) : 0;
}

static size_t to_fd(void *fd, const struct out *o)
{
    return stdio_write_all(*(int *)fd, o->s, o->n);
}

/* put(to, o): what was written. A cancellation while writing frees the
 * memory stream's buffer; registering that costs as much as formatting a
 * short line, so only a call that has one does. */
static size_t emit(struct out *o, put_fn *put, void *to)
{
    size_t written;

    if (!o->heap)
        return put(to, o);
    pthread_cleanup_push(free, o->heap);
    written = put(to, o);
    pthread_cleanup_pop(0);
    return written;
}

static int vfprintf_any(FILE *fp, int flag, const char *fmt, va_list ap)
{
    int saved = errno;
    struct out o;

    if (!rt_green() || !fmt || !stdio_coop(fp, IO_NO_WRITES) || !format(&o, flag, fmt, ap))
        return real_vfprintf_chk()(fp, flag, fmt, ap);
    if (fp->_mode == 0)             /* even when there is nothing to write */
        fwide(fp, -1);
    return result(&o, emit(&o, to_stream, fp), saved);
}

static int vdprintf_any(int fd, int flag, const char *fmt, va_list ap)
{
    int saved = errno;
    struct out o;

    if (!rt_green() || !fmt || !shim_blocking_fd(fd) || !format(&o, flag, fmt, ap))
        return real_vdprintf_chk()(fd, flag, fmt, ap);
    return result(&o, emit(&o, to_fd, &fd), saved);
}

SHIM_EXPORT int vfprintf(FILE *fp, const char *fmt, va_list ap)
{
    return vfprintf_any(fp, 0, fmt, ap);
}

SHIM_EXPORT int __vfprintf_chk(FILE *fp, int flag, const char *fmt, va_list ap)
{
    return vfprintf_any(fp, flag, fmt, ap);
}

SHIM_EXPORT int vprintf(const char *fmt, va_list ap)
{
    return vfprintf_any(stdout, 0, fmt, ap);
}

SHIM_EXPORT int __vprintf_chk(int flag, const char *fmt, va_list ap)
{
    return vfprintf_any(stdout, flag, fmt, ap);
}

SHIM_EXPORT int vdprintf(int fd, const char *fmt, va_list ap)
{
    return vdprintf_any(fd, 0, fmt, ap);
}

SHIM_EXPORT int __vdprintf_chk(int fd, int flag, const char *fmt, va_list ap)
{
    return vdprintf_any(fd, flag, fmt, ap);
}

/* The variadic names: their arguments as a va_list. */
#define VA_CALL(last, call) \
    do { \
        va_list ap; \
        int r; \
        va_start(ap, last); \
        r = call; \
        va_end(ap); \
        return r; \
    } while (0)

SHIM_EXPORT int fprintf(FILE *fp, const char *fmt, ...)
{
    VA_CALL(fmt, vfprintf_any(fp, 0, fmt, ap));
}

SHIM_EXPORT int __fprintf_chk(FILE *fp, int flag, const char *fmt, ...)
{
    VA_CALL(fmt, vfprintf_any(fp, flag, fmt, ap));
}

SHIM_EXPORT int printf(const char *fmt, ...)
{
    VA_CALL(fmt, vfprintf_any(stdout, 0, fmt, ap));
}

SHIM_EXPORT int __printf_chk(int flag, const char *fmt, ...)
{
    VA_CALL(fmt, vfprintf_any(stdout, flag, fmt, ap));
}

SHIM_EXPORT int dprintf(int fd, const char *fmt, ...)
{
    VA_CALL(fmt, vdprintf_any(fd, 0, fmt, ap));
}

SHIM_EXPORT int __dprintf_chk(int fd, int flag, const char *fmt, ...)
{
    VA_CALL(fmt, vdprintf_any(fd, flag, fmt, ap));
}
