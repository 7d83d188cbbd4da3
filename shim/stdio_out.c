/* stdio_out.c - glibc 2.36's output path, writing through the shim's write.
 *
 * Ported from libio/fileops.c and genops.c: _IO_new_file_xsputn,
 * _IO_default_xsputn, _IO_new_file_overflow, new_do_write and
 * _IO_new_file_write, with their write(2) calls made by the shim's write,
 * which parks until the pipe or socket takes the data (SO_SNDTIMEO bounds
 * each one, as natively). Setting up the put area of a stream that is not
 * writing yet is left to glibc's __overflow, which writes nothing then. So
 * the bytes, the writes glibc asks for, the buffer, the return values,
 * ferror and errno are glibc's, and nothing blocks.
 *
 * One change of order: glibc empties the buffer after writing it out; here
 * its bytes are copied out and the buffer emptied before the write, and a
 * direct write from the caller's memory leaves alone bytes that appeared in
 * the buffer meanwhile. Nothing differs unless another green thread writes
 * to the stream with an unwrapped call (putw, perror, err, ...) while this
 * one waits: its bytes are then kept, after the ones being written, instead
 * of being lost or written twice.
 */
#include <errno.h>
#include <string.h>

#include "stdio_int.h"

/* new_do_write's start: an appending stream forgets its offset; one that
 * read ahead seeks back (false when it cannot: nothing is written). */
static bool write_start(FILE *fp)
{
    off64_t pos;

    if (fp->_flags & IO_IS_APPENDING)
        fp->_offset = IO_POS_BAD;
    else if (fp->_IO_read_end != fp->_IO_write_base) {
        pos = lseek64(fp->_fileno, fp->_IO_write_base - fp->_IO_read_end, SEEK_CUR);
        if (pos == IO_POS_BAD)
            return false;
        fp->_offset = pos;
    }
    return true;
}

size_t stdio_write_all(int fd, const char *data, size_t n)
{
    size_t done = 0;
    ssize_t r;

    while (done < n) {
        if ((r = write(fd, data + done, n - done)) < 0)
            break;
        done += (size_t)r;
    }
    return done;
}

/* _IO_new_file_write, then new_do_write's column count. */
static size_t write_out(FILE *fp, const char *data, size_t n)
{
    size_t done = stdio_write_all(fp->_fileno, data, n);

    if (done < n)
        fp->_flags |= _IO_ERR_SEEN;
    n = done;
    if (fp->_offset >= 0)
        fp->_offset += (off64_t)n;
    if (fp->_cur_column && n)
        fp->_cur_column = _IO_adjust_column(fp->_cur_column - 1, data, (int)n) + 1;
    return n;
}

/* new_do_write's end: the buffer is empty. */
static void empty(FILE *fp)
{
    fp->_IO_read_base = fp->_IO_read_ptr = fp->_IO_read_end = fp->_IO_buf_base;
    fp->_IO_write_base = fp->_IO_write_ptr = fp->_IO_buf_base;
    fp->_IO_write_end = fp->_mode <= 0 && (fp->_flags & (IO_LINE_BUF | IO_UNBUFFERED))
                            ? fp->_IO_buf_base : fp->_IO_buf_end;
}

int stdio_flush(struct stdio_call *c)
{
    FILE *fp = c->fp;
    size_t n = (size_t)(fp->_IO_write_ptr - fp->_IO_write_base), count;
    const char *data = fp->_IO_write_base;
    int saved = errno;

    if (n == 0)
        return 0;
    if (!write_start(fp))
        return EOF;
    if ((c->scratch = malloc(n))) {
        data = memcpy(c->scratch, data, n);
        empty(fp);
    } else
        errno = saved;              /* no copy: the buffer empties after, as in glibc */
    count = write_out(fp, data, n);
    if (!c->scratch)
        empty(fp);
    free(c->scratch);
    c->scratch = NULL;
    return count == n ? 0 : EOF;
}

/* new_do_write of the caller's memory, the buffer having been flushed. */
static size_t write_direct(FILE *fp, const char *data, size_t n)
{
    size_t count = write_start(fp) ? write_out(fp, data, n) : 0;

    if (!stdio_pending(fp))
        empty(fp);
    return count;
}

/* _IO_new_file_overflow: ch is EOF (flush) or a byte to append. */
int stdio_overflow(struct stdio_call *c, int ch)
{
    FILE *fp = c->fp;

    if (!stdio_putting(fp) && REAL(__overflow)(fp, EOF) == EOF)    /* sets the put area up */
        return EOF;
    if (ch == EOF)
        return stdio_flush(c);
    if (fp->_IO_write_ptr == fp->_IO_buf_end && stdio_flush(c) == EOF)
        return EOF;
    *fp->_IO_write_ptr++ = (char)ch;
    if ((fp->_flags & IO_UNBUFFERED) || ((fp->_flags & IO_LINE_BUF) && ch == '\n'))
        if (stdio_flush(c) == EOF)
            return EOF;
    return (unsigned char)ch;
}

/* _IO_default_xsputn: what is left after the direct write, through the
 * buffer, byte by byte where the buffer says so (line-buffered). */
static size_t default_xsputn(struct stdio_call *c, const char *s, size_t n)
{
    FILE *fp = c->fp;
    size_t more = n, count;

    for (;;) {
        if (fp->_IO_write_ptr < fp->_IO_write_end) {
            count = (size_t)(fp->_IO_write_end - fp->_IO_write_ptr);
            if (count > more)
                count = more;
            fp->_IO_write_ptr = mempcpy(fp->_IO_write_ptr, s, count);
            s += count;
            more -= count;
        }
        if (more == 0 || stdio_overflow(c, (unsigned char)*s++) == EOF)
            break;
        more--;
    }
    return n - more;
}

/* _IO_new_file_xsputn: fill the buffer, flush it, write whole blocks from
 * the caller's memory, buffer the rest. n, a short count, or EOF when all
 * went into the buffer but the flush failed. */
size_t stdio_xsputn(struct stdio_call *c, const char *s, size_t n)
{
    FILE *fp = c->fp;
    size_t to_do = n, count = 0, block, direct;
    const char *nl;
    bool must_flush = false;

    if (n == 0)
        return 0;
    if ((fp->_flags & IO_LINE_BUF) && (fp->_flags & IO_CURRENTLY_PUTTING)) {
        count = (size_t)(fp->_IO_buf_end - fp->_IO_write_ptr);
        if (count >= n && (nl = memrchr(s, '\n', n))) {
            count = (size_t)(nl - s) + 1;
            must_flush = true;
        }
    } else if (fp->_IO_write_end > fp->_IO_write_ptr)
        count = (size_t)(fp->_IO_write_end - fp->_IO_write_ptr);
    if (count > 0) {
        if (count > to_do)
            count = to_do;
        fp->_IO_write_ptr = mempcpy(fp->_IO_write_ptr, s, count);
        s += count;
        to_do -= count;
    }
    if (to_do + must_flush > 0) {
        if (stdio_overflow(c, EOF) == EOF)
            return to_do == 0 ? (size_t)EOF : n - to_do;
        block = (size_t)(fp->_IO_buf_end - fp->_IO_buf_base);
        direct = to_do - (block >= 128 ? to_do % block : 0);
        if (direct) {
            count = write_direct(fp, s, direct);
            to_do -= count;
            if (count < direct)
                return n - to_do;
        }
        if (to_do)
            to_do -= default_xsputn(c, s + direct, to_do);
    }
    return n - to_do;
}
