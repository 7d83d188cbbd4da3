/* stdio_read.c - fgets, getline, getdelim and fread on pipes and sockets,
 * cooperatively.
 *
 * A call that the stream's buffer can answer (or that ends at an end of file
 * glibc has already seen) goes straight to glibc. Otherwise it runs in
 * stdio_run (stdio.c) glibc 2.36's own loop, ported below: iofgets.c with
 * iogetline.c, iogetdelim.c, and fileops.c's _IO_file_xsgetn. Their progress
 * lives in local variables and the FILE's own fields, exactly as in glibc;
 * the one change is that each refill of the buffer is prepared by
 * stdio_fill, which parks until glibc's single read(2) cannot block, and
 * that fread's reads of whole blocks straight into the caller's memory are
 * the shim's read, which parks. So the bytes, the buffer, the line buffers
 * getline grows, feof, ferror, errno and the results are glibc's.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <wchar.h>

#include "stdio_int.h"

/* ---- fgets ---- */

/* _IO_getline(fp, buf, n, '\n', 1): up to n bytes, through the newline. */
static size_t getline_port(struct stdio_call *c, char *buf, size_t n)
{
    FILE *fp = c->fp;
    char *ptr = buf, *t = NULL;
    size_t len;
    int ch;

    if (fp->_mode == 0)
        fwide(fp, -1);
    while (n != 0 && !t) {
        if (!(len = stdio_in_buffer(fp))) {
            if (stdio_fill(c) < 0 || (ch = REAL(__uflow)(fp)) == EOF)
                break;
            *ptr++ = (char)ch;
            if (ch == '\n')
                break;
            n--;
            continue;
        }
        if (len > n)
            len = n;
        if ((t = memchr(fp->_IO_read_ptr, '\n', len)))
            len = (size_t)(t - fp->_IO_read_ptr) + 1;
        ptr = mempcpy(ptr, fp->_IO_read_ptr, len);
        fp->_IO_read_ptr += len;
        n -= len;
    }
    return (size_t)(ptr - buf);
}

struct fgets_args {
    char *buf;
    size_t max, size;           /* size: __fgets_chk's buffer size */
    char *result;
};

/* _IO_fgets and __fgets_chk: an error counts only if new, and not EAGAIN
 * once some bytes came. */
static void fgets_body(struct stdio_call *c)
{
    struct fgets_args *a = c->args;
    FILE *fp = c->fp;
    int old_error = fp->_flags & _IO_ERR_SEEN;
    size_t count;

    fp->_flags &= ~_IO_ERR_SEEN;
    count = getline_port(c, a->buf, a->max);
    if (count == 0 || ((fp->_flags & _IO_ERR_SEEN) && errno != EAGAIN))
        a->result = NULL;
    else if (count >= a->size)
        __chk_fail();
    else {
        a->buf[count] = '\0';
        a->result = a->buf;
    }
    fp->_flags |= old_error;
}

static char *fgets_any(char *buf, int n, FILE *fp, bool locked)
{
    struct fgets_args a = { .buf = buf, .max = (size_t)n - 1, .size = SIZE_MAX };

    if (!rt_green() || n <= 1 || (!stdio_busy(fp) && stdio_reads_nothing(fp, a.max, '\n')) ||
        !stdio_coop(fp, IO_NO_READS))
        return (locked ? REAL(fgets) : REAL(fgets_unlocked))(buf, n, fp);
    stdio_run(fp, locked, true, fgets_body, &a);
    return a.result;
}

/* Reads at most `size` bytes and fails if they fill the buffer. With n no
 * larger than size that cannot happen, and it is fgets. Otherwise glibc's
 * algorithm runs here, waiting only when the runtime may park. */
static char *fgets_chk_any(char *buf, size_t size, int n, FILE *fp, bool locked)
{
    struct fgets_args a = { .buf = buf, .size = size };

    if (n >= 2 && (size_t)n <= size)
        return fgets_any(buf, n, fp, locked);
    if (n <= 0)
        return NULL;
    a.max = (size_t)n - 1 < size ? (size_t)n - 1 : size;
    stdio_run(fp, locked, rt_green() && stdio_coop(fp, IO_NO_READS), fgets_body, &a);
    return a.result;
}

SHIM_EXPORT char *fgets(char *buf, int n, FILE *fp)
{
    return fgets_any(buf, n, fp, true);
}

SHIM_EXPORT char *fgets_unlocked(char *buf, int n, FILE *fp)
{
    return fgets_any(buf, n, fp, false);
}

SHIM_EXPORT char *__fgets_chk(char *buf, size_t size, int n, FILE *fp)
{
    return fgets_chk_any(buf, size, n, fp, true);
}

SHIM_EXPORT char *__fgets_unlocked_chk(char *buf, size_t size, int n, FILE *fp)
{
    return fgets_chk_any(buf, size, n, fp, false);
}

/* ---- getdelim ---- */

struct getdelim_args {
    char **lineptr;
    size_t *n;
    int delim;
    ssize_t result;
};

/* __getdelim: the line grows to 120 bytes first, then to at least twice. */
static void getdelim_body(struct stdio_call *c)
{
    struct getdelim_args *a = c->args;
    FILE *fp = c->fp;
    size_t cur_len = 0, len, needed;
    char *t, *grown;

    a->result = -1;
    if (fp->_flags & _IO_ERR_SEEN)
        return;
    if (!*a->lineptr || !*a->n) {
        *a->n = 120;
        if (!(*a->lineptr = malloc(*a->n)))
            return;
    }
    if (!(len = stdio_in_buffer(fp))) {
        if (stdio_fill(c) < 0 || stdio_underflow(fp) == EOF)
            return;
        len = stdio_in_buffer(fp);
    }
    for (;;) {
        if ((t = memchr(fp->_IO_read_ptr, a->delim, len)))
            len = (size_t)(t - fp->_IO_read_ptr) + 1;
        if (len >= (size_t)SSIZE_MAX - cur_len) {
            errno = EOVERFLOW;
            return;
        }
        if ((needed = cur_len + len + 1) > *a->n) {
            if (needed < 2 * *a->n)
                needed = 2 * *a->n;
            if (!(grown = realloc(*a->lineptr, needed)))
                return;
            *a->lineptr = grown;
            *a->n = needed;
        }
        memcpy(*a->lineptr + cur_len, fp->_IO_read_ptr, len);
        fp->_IO_read_ptr += len;
        cur_len += len;
        if (t || stdio_fill(c) < 0 || stdio_underflow(fp) == EOF)
            break;
        len = stdio_in_buffer(fp);
    }
    (*a->lineptr)[cur_len] = '\0';
    a->result = (ssize_t)cur_len;
}

static ssize_t getdelim_any(char **lineptr, size_t *n, int delim, FILE *fp)
{
    struct getdelim_args a = { lineptr, n, delim, -1 };

    if (!rt_green() || !lineptr || !n ||
        (!stdio_busy(fp) &&
         ((fp->_flags & _IO_ERR_SEEN) || stdio_reads_nothing(fp, SIZE_MAX, delim))) ||
        !stdio_coop(fp, IO_NO_READS))
        return REAL(getdelim)(lineptr, n, delim, fp);
    stdio_run(fp, true, true, getdelim_body, &a);
    return a.result;
}

SHIM_EXPORT ssize_t getdelim(char **lineptr, size_t *n, int delim, FILE *fp)
{
    return getdelim_any(lineptr, n, delim, fp);
}

/* What getline compiles to with optimisation (an inline in <stdio.h>). */
SHIM_EXPORT ssize_t __getdelim(char **lineptr, size_t *n, int delim, FILE *fp)
{
    return getdelim_any(lineptr, n, delim, fp);
}

SHIM_EXPORT ssize_t getline(char **lineptr, size_t *n, FILE *fp)
{
    return getdelim_any(lineptr, n, '\n', fp);
}

/* ---- fread ---- */

struct fread_args {
    char *buf;
    size_t n, done;
};

/* _IO_file_xsgetn: from the buffer; less than a buffer's worth still
 * wanted goes through the buffer, more is read as whole blocks straight
 * into the caller's memory (by the shim's read, which parks). Behind an
 * ungetc area glibc swaps in the main one by hand; __underflow does the same
 * and reads only if that one is empty too. */
static void fread_body(struct stdio_call *c)
{
    struct fread_args *a = c->args;
    FILE *fp = c->fp;
    size_t want = a->n, have, block;
    char *s = a->buf;
    ssize_t count;

    if (!fp->_IO_buf_base) {
        if (fp->_IO_save_base) {
            free(fp->_IO_save_base);
            fp->_flags &= ~IO_IN_BACKUP;
        }
        _IO_doallocbuf(fp);
    }
    while (want > 0) {
        if (want <= (have = stdio_in_buffer(fp))) {
            memcpy(s, fp->_IO_read_ptr, want);
            fp->_IO_read_ptr += want;
            want = 0;
            break;
        }
        if (have > 0) {
            s = mempcpy(s, fp->_IO_read_ptr, have);
            fp->_IO_read_ptr += have;
            want -= have;
        }
        block = (size_t)(fp->_IO_buf_end - fp->_IO_buf_base);
        if ((fp->_flags & IO_IN_BACKUP) || (fp->_IO_buf_base && want < block)) {
            if (stdio_fill(c) < 0 || stdio_underflow(fp) == EOF)
                break;
            continue;
        }
        fp->_IO_read_base = fp->_IO_read_ptr = fp->_IO_read_end = fp->_IO_buf_base;
        fp->_IO_write_base = fp->_IO_write_ptr = fp->_IO_write_end = fp->_IO_buf_base;
        count = (ssize_t)(want - (fp->_IO_buf_base && block >= 128 ? want % block : 0));
        if ((count = read(fp->_fileno, s, (size_t)count)) <= 0) {
            fp->_flags |= count == 0 ? _IO_EOF_SEEN : _IO_ERR_SEEN;
            break;
        }
        s += count;
        want -= (size_t)count;
        if (fp->_offset != IO_POS_BAD)
            fp->_offset += count;
    }
    a->done = a->n - want;
}

static size_t fread_any(void *buf, size_t size, size_t count, FILE *fp, bool locked)
{
    struct fread_args a = { .buf = buf, .n = size * count };

    if (!rt_green() || a.n == 0 || (!stdio_busy(fp) && stdio_in_buffer(fp) >= a.n) ||
        !stdio_coop(fp, IO_NO_READS))
        return (locked ? REAL(fread) : REAL(fread_unlocked))(buf, size, count, fp);
    stdio_run(fp, locked, true, fread_body, &a);
    return a.done == a.n ? count : a.done / size;
}

/* __fread_chk: the product must not overflow nor exceed the buffer. */
static void fread_check(size_t buflen, size_t size, size_t count)
{
    if (((count | size) >= (size_t)1 << (4 * sizeof(size_t)) && size &&
         size * count / size != count) || size * count > buflen)
        __chk_fail();
}

SHIM_EXPORT size_t fread(void *buf, size_t size, size_t count, FILE *fp)
{
    return fread_any(buf, size, count, fp, true);
}

SHIM_EXPORT size_t (fread_unlocked)(void *buf, size_t size, size_t count, FILE *fp)
{
    return fread_any(buf, size, count, fp, false);
}

SHIM_EXPORT size_t __fread_chk(void *buf, size_t buflen, size_t size, size_t count, FILE *fp)
{
    fread_check(buflen, size, count);
    return fread_any(buf, size, count, fp, true);
}

SHIM_EXPORT size_t __fread_unlocked_chk(void *buf, size_t buflen, size_t size, size_t count,
                                        FILE *fp)
{
    fread_check(buflen, size, count);
    return fread_any(buf, size, count, fp, false);
}
