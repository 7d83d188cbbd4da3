/* stdio_int.h - what the cooperative stdio readers and writers share
 * (stdio.c, stdio_read.c, stdio_scan.c, stdio_out.c, stdio_write.c).
 *
 * They work on glibc 2.36's FILE directly: its buffer pointers and `_flags`
 * are public fields (the getc/putc inlines of <stdio.h> use them), and the
 * flag bits below are glibc's own (libio/libio.h), which the public header
 * leaves out. __underflow, __uflow, __overflow, _IO_doallocbuf and
 * _IO_adjust_column are glibc exports. The shim interposes the first three
 * (what optimised programs' inline getc_unlocked/putc_unlocked call), so
 * its own calls to them go to glibc's: REAL(__uflow), REAL(__overflow),
 * stdio_underflow.
 */
#ifndef GREENRUN_STDIO_INT_H
#define GREENRUN_STDIO_INT_H

#include <string.h>

#include "shim.h"

#define IO_UNBUFFERED 0x0002
#define IO_NO_READS 0x0004
#define IO_NO_WRITES 0x0008
#define IO_LINKED 0x0080
#define IO_IN_BACKUP 0x0100
#define IO_LINE_BUF 0x0200
#define IO_CURRENTLY_PUTTING 0x0800
#define IO_IS_APPENDING 0x1000
#define IO_FLAGS2_NOTCANCEL 2       /* "c" in the mode: no cancellation points */
#define IO_POS_BAD ((off64_t)-1)

void _IO_doallocbuf(FILE *fp);
unsigned _IO_adjust_column(unsigned start, const char *line, int count);

/* A green thread inside a cooperative call on a FILE; others queue. */
struct stdio_hold {
    FILE *fp;
    struct gt_waitq waiters;
    struct stdio_hold *next;
};

/* One cooperative call. */
struct stdio_call {
    FILE *fp;
    bool locked;                /* a locking entry point: FILE lock held throughout */
    bool coop;                  /* waits park the green thread */
    void *args;                 /* the call's own arguments and result */
    char *scratch;              /* freed when the call ends, however it ends */
    struct stdio_hold hold;
};

typedef void stdio_body(struct stdio_call *c);

/* The stream is in write mode, with a buffer; output is waiting in it. */
static inline bool stdio_putting(const FILE *fp)
{
    return (fp->_flags & IO_CURRENTLY_PUTTING) && fp->_IO_write_base;
}

static inline bool stdio_pending(const FILE *fp)
{
    return fp->_IO_write_ptr > fp->_IO_write_base;
}

/* ---- stdio.c ---- */

/* glibc's own `name`, for the functions <stdio.h> does not declare (so
 * shim.h's REAL lists cannot): found once with dlsym, kept in *cache. */
void *stdio_libc(void **cache, const char *name);
/* glibc's __underflow. */
int stdio_underflow(FILE *fp);

/* fp is a byte stream on an fd the program sees as blocking and that can be
 * polled, usable in this direction (`no_dir`: IO_NO_READS or IO_NO_WRITES).
 * Wide streams and "c" streams are left to glibc. */
bool stdio_coop(FILE *fp, int no_dir);
/* Another green thread is inside a cooperative call on fp. */
bool stdio_held(const FILE *fp);
extern unsigned stdio_holds;        /* calls holding a stream now */

static inline bool stdio_busy(const FILE *fp)
{
    return stdio_holds && stdio_held(fp);
}

/* Run body once fp is free, holding it (and its FILE lock if `locked`);
 * both are released however body ends, cancellation included. Without
 * `coop` body runs at once, as glibc's own code, and never waits. */
void stdio_run(FILE *fp, bool locked, bool coop, stdio_body *body, void *args);

/* Bytes in the get area. */
static inline size_t stdio_in_buffer(const FILE *fp)
{
    return fp->_IO_read_ptr < fp->_IO_read_end ? (size_t)(fp->_IO_read_end - fp->_IO_read_ptr) : 0;
}

/* glibc hands out a byte before it reads again: the get area, or behind a
 * pushed-back (ungetc) area, the main one. */
static inline bool stdio_buffered(const FILE *fp)
{
    return stdio_in_buffer(fp) ||
           ((fp->_flags & IO_IN_BACKUP) && fp->_IO_save_base < fp->_IO_save_end);
}

/* glibc answers from the buffer alone: it needs at most `need` bytes, or up
 * to `delim` (-1: none), or end of file was seen (glibc keeps it sticky) and
 * no output is pending. */
static inline bool stdio_reads_nothing(const FILE *fp, size_t need, int delim)
{
    size_t len = stdio_in_buffer(fp);

    if (len >= need || (delim >= 0 && len && memchr(fp->_IO_read_ptr, delim, len)))
        return true;
    return (fp->_flags & _IO_EOF_SEEN) && !stdio_pending(fp);
}
/* Before an underflow that may read: what glibc does first (orientation,
 * pending output, the line-buffered stdout), then park until the read cannot
 * block. -1 stands for the read failing: ferror is set, errno says why. */
int stdio_prepare_read(struct stdio_call *c);
/* The same, only when nothing is buffered. */
int stdio_fill(struct stdio_call *c);

/* ---- stdio_out.c: glibc's output, on a stream the caller holds ---- */

/* _IO_new_file_write's loop: the shim's write(2) until all n bytes are
 * written or one fails (errno says why). What was written. */
size_t stdio_write_all(int fd, const char *data, size_t n);

/* _IO_do_flush: 0 or EOF. */
int stdio_flush(struct stdio_call *c);
/* __overflow: ch is EOF (flush) or a byte to append. */
int stdio_overflow(struct stdio_call *c, int ch);
/* _IO_sputn: n, a short count, or EOF when all of it went into the buffer
 * but the flush failed. */
size_t stdio_xsputn(struct stdio_call *c, const char *s, size_t n);

/* ---- stdio_write.c ---- */

/* _IO_sputn(fp, s, n) of a locking call whose bytes are ready (the printf
 * family): glibc's copy into the buffer when that is all it would do, else
 * cooperatively. n, a short count, or EOF when all went into the buffer but
 * the flush failed. The caller checked rt_green and stdio_coop. */
size_t stdio_put(FILE *fp, const char *s, size_t n);

/* glibc's underflow writes out a line-buffered stdout before it reads a
 * line-buffered or unbuffered stream (the prompt before the answer). */
void stdio_flush_stdout(FILE *reading);

#endif
