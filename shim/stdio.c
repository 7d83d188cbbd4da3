/* stdio.c - what the cooperative stdio calls share: holding a stream while
 * a call waits, and getting a stream's buffer refilled without blocking.
 *
 * glibc's stdio reads and writes through internal calls (__read, __write)
 * that the shim cannot see. The wrappers (stdio_read.c, stdio_scan.c,
 * stdio_write.c, stdio_printf.c) send a call that the buffer alone can
 * serve straight to glibc; a call that must read or write the fd runs in
 * stdio_run, and waits between the steps of glibc's own algorithm (ported
 * where glibc would loop: stdio_read.c, stdio_out.c), never inside glibc.
 *
 * Holding a stream. glibc's FILE lock is recursive and keyed by OS thread:
 * every green thread owns it at once. A green thread inside a call that may
 * park therefore also holds the stream in a table of our own; another green
 * thread's cooperative call on the same FILE waits (FIFO) until the first
 * one returns, as it would wait for the FILE lock natively: two threads
 * reading one FILE get whole lines, two writers' calls never mix. The
 * locking entry points also keep the FILE lock, so OS threads the runtime
 * does not manage wait for it as natively. A call is never parked inside
 * glibc, so the FILE's fields are consistent whenever another thread runs.
 * What is not guaranteed: stdio calls that are not wrapped (ungetc, fseek,
 * fputwc, perror, ...) do not look at the table. Made from another green
 * thread while a wrapped call waits on the same FILE, they run in between
 * two of its steps: their bytes can land inside its output (none is lost or
 * written twice, see stdio_out.c) or they take input from the middle of its
 * line, and if they must read or write the fd themselves they block the OS
 * thread. The table serves the one managed OS thread: no locking.
 *
 * Refilling the buffer. glibc refills with one read(2) of up to a buffer's
 * worth, which returns what has arrived. stdio_prepare_read first does what
 * glibc's __uflow/__underflow do before that read and could block on
 * (writing out a read-write stream's pending output, and a line-buffered
 * stdout, so the prompt appears before the wait), cooperatively; then it
 * parks until the fd polls readable. SO_RCVTIMEO bounds each such wait, as
 * the kernel bounds each read; a wait that fails (the timeout, the fd
 * closed) is reported as glibc reports the read failing. Another process
 * reading the same pipe or socket could still take the data between the
 * poll and glibc's read, which then blocks until more comes.
 */
#include <dlfcn.h>
#include <wchar.h>

#include "stdio_int.h"
#include "thread_int.h"

static const char libc_missing[] = "greenrun: libc stdio function not found\n";

void *stdio_libc(void **cache, const char *name)
{
    if (!*cache && !(*cache = dlsym(RTLD_NEXT, name))) {
        write(2, libc_missing, sizeof(libc_missing) - 1);
        abort();
    }
    return *cache;
}

int stdio_underflow(FILE *fp)
{
    static void *real;

    return ((int (*)(FILE *))stdio_libc(&real, "__underflow"))(fp);
}

/* ---- holding a stream ---- */

#define HOLD_BUCKETS 64

static struct stdio_hold *holds[HOLD_BUCKETS];
unsigned stdio_holds;

static struct stdio_hold **bucket(const FILE *fp)
{
    return &holds[((uintptr_t)fp >> 4) * 0x9e3779b1u % HOLD_BUCKETS];
}

static struct stdio_hold *holder(const FILE *fp)
{
    struct stdio_hold *h;

    for (h = *bucket(fp); h && h->fp != fp; h = h->next)
        ;
    return h;
}

bool stdio_held(const FILE *fp)
{
    return holder(fp) != NULL;
}

bool stdio_coop(FILE *fp, int no_dir)
{
    return fp->_fileno >= 0 && fp->_mode <= 0 && !(fp->_flags & no_dir) &&
           !(fp->_flags2 & IO_FLAGS2_NOTCANCEL) && shim_blocking_fd(fp->_fileno);
}

static void hold(struct stdio_call *c)
{
    struct stdio_hold *h;
    struct gt_waiter w;

    while (stdio_holds && (h = holder(c->fp))) {
        gt_waitq_push(&h->waiters, &w, gt_self());
        gt_park("stdio stream", c->fp);
        if (gt_waitq_linked(&h->waiters, &w))   /* h lives while w is queued */
            gt_waitq_remove(&h->waiters, &w);
    }
    c->hold = (struct stdio_hold){ .fp = c->fp, .next = *bucket(c->fp) };
    *bucket(c->fp) = &c->hold;
    stdio_holds++;
    if (c->locked)
        flockfile(c->fp);
}

static void release(void *arg)
{
    struct stdio_call *c = arg;
    struct stdio_hold **p;
    struct gt_waiter *w;

    free(c->scratch);
    if (c->locked)
        funlockfile(c->fp);
    for (p = bucket(c->fp); *p != &c->hold; p = &(*p)->next)
        ;
    *p = c->hold.next;
    stdio_holds--;
    while ((w = gt_waitq_pop(&c->hold.waiters)))
        gt_unpark(w->g);
}

void stdio_run(FILE *fp, bool locked, bool coop, stdio_body *body, void *args)
{
    struct stdio_call c = { .fp = fp, .locked = locked, .coop = coop, .args = args };

    if (!coop) {
        if (locked)
            flockfile(fp);
        body(&c);
        if (locked)
            funlockfile(fp);
        return;
    }
    hold(&c);
    pthread_cleanup_push(release, &c);
    body(&c);
    pthread_cleanup_pop(1);
}

/* ---- refilling the buffer ---- */

static int wait_readable(int fd)
{
    struct pollfd p = { fd, POLLIN, 0 };
    struct fdw_info *fi;
    uint64_t deadline = 0;          /* one read's SO_RCVTIMEO */

    while (REAL(poll)(&p, 1, 0) == 0) {
        if (!(fi = shim_blocking_fd(fd)))
            return 0;
        if (shim_wait_fd(fd, fi, FDW_READ, &deadline) < 0)
            return -1;
    }
    return 0;
}

int stdio_prepare_read(struct stdio_call *c)
{
    FILE *fp = c->fp;

    if (!c->coop)
        return 0;
    if (fp->_mode == 0)
        fwide(fp, -1);
    if ((fp->_flags & IO_CURRENTLY_PUTTING) && stdio_flush(c) == EOF)
        return -1;
    if (fp->_flags & _IO_EOF_SEEN)
        return 0;
    if (fp->_flags & (IO_LINE_BUF | IO_UNBUFFERED))
        stdio_flush_stdout(fp);
    shim_testcancel();
    if (wait_readable(fp->_fileno) == 0)
        return 0;
    fp->_flags |= _IO_ERR_SEEN;
    return -1;
}

int stdio_fill(struct stdio_call *c)
{
    return stdio_buffered(c->fp) ? 0 : stdio_prepare_read(c);
}
