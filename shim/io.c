/* io.c - read and write, and the waiting every fd wrapper shares.
 *
 * A call is made cooperative when its fd is pollable and blocking in the
 * program's own view (shim_blocking_fd): regular files never wait on a peer,
 * and an fd the program made non-blocking keeps answering EAGAIN. The call is
 * tried without blocking (vio.c's attempts, or MSG_DONTWAIT), and on EAGAIN
 * the green thread parks on the fd's readiness (shim_wait_fd), the socket's
 * SO_RCVTIMEO or SO_SNDTIMEO bounding the whole call as they bound the
 * kernel's wait.
 *
 * Every blocking write goes through shim_write_all: a blocking write writes
 * everything or fails, so after a partial write the rest is attempted again,
 * and an error or the timeout after some progress returns the count so far,
 * as the kernel does; the rest of an iovec array is given to the kernel
 * without copying the array (shim_iov_rest). A write can say EAGAIN while
 * its fd polls writable: an unconnected Unix datagram socket sending to a
 * receiver whose queue is full (the kernel waits on the receiver, which
 * nothing can poll). The writer then retries after pauses growing from 50 us
 * to 1 ms, rather than spinning.
 */
#include <errno.h>
#include <sys/uio.h>

#include "io_int.h"
#include "signal_int.h"

bool shim_drain_off;

struct fdw_info *shim_blocking_fd(int fd)
{
    struct fdw_info *fi = fdw_info(fd);

    return fi && !fi->nonblock && fi->kind != FDW_PLAIN ? fi : NULL;
}

bool shim_fd_ready(int fd, short events)
{
    struct pollfd p = { fd, events, 0 };

    return REAL(poll)(&p, 1, 0) != 0;
}

/* Park on fd's readiness, or with `pause`, for one pause of a polling loop
 * (*pause grows on each). A signal ends the wait with EINTR, or has the
 * call go on after a handler with SA_RESTART unless the socket has a
 * timeout (signal(7)). */
static int wait_fd(int fd, struct fdw_info *fi, int events, uint64_t *deadline, bool cancel_point,
                   uint64_t *pause)
{
    uint64_t timeo = events == FDW_READ ? fi->rcvtimeo : fi->sndtimeo;
    bool was = false, sw;
    int err;

    if (!*deadline && timeo)
        *deadline = rt_deadline_after(timeo);
    if (cancel_point)
        was = shim_cancel_point_begin();
    sw = shim_sig_wait_begin();
    err = pause ? shim_backoff(pause, *deadline) : fdw_wait(fd, events, *deadline);
    err = shim_sig_wait_end(sw, err, !timeo);
    if (cancel_point)
        shim_cancel_point_end(was, err);
    if (err) {
        errno = err == ETIMEDOUT ? EAGAIN : err;
        return -1;
    }
    return 0;
}

int shim_wait_fd(int fd, struct fdw_info *fi, int events, uint64_t *deadline)
{
    return wait_fd(fd, fi, events, deadline, true, NULL);
}

int shim_wait_fd_nocancel(int fd, struct fdw_info *fi, int events, uint64_t *deadline)
{
    return wait_fd(fd, fi, events, deadline, false, NULL);
}

int shim_pause_fd(int fd, struct fdw_info *fi, int events, uint64_t *deadline, uint64_t *pause)
{
    return wait_fd(fd, fi, events, deadline, true, pause);
}

int shim_wait_writable(int fd, struct fdw_info *fi, uint64_t *deadline, uint64_t *pause)
{
    if (shim_fd_ready(fd, POLLOUT))
        return shim_pause_fd(fd, fi, FDW_WRITE, deadline, pause);
    return shim_wait_fd(fd, fi, FDW_WRITE, deadline);
}

ssize_t shim_write_all(int fd, struct fdw_info *fi, size_t done, shim_send_fn *attempt, void *ctx)
{
    uint64_t deadline = 0, pause = 0;
    size_t total = 0;
    int saved = errno;
    ssize_t r;

    for (;;) {
        r = attempt(fd, fi, done, &total, ctx);
        if (r > 0 && (done += (size_t)r) < total)
            continue;
        if (r >= 0 || errno != EAGAIN || shim_wait_writable(fd, fi, &deadline, &pause) < 0)
            break;
    }
    return done ? shim_keep_errno((ssize_t)done, saved) : r;
}

size_t shim_iov_len(const struct iovec *iov, size_t cnt)
{
    size_t n = 0;

    while (cnt--)
        n += iov++->iov_len;
    return n;
}

int shim_iov_rest(const struct iovec **iov, int cnt, size_t done, struct iovec *part)
{
    const struct iovec *v = *iov;

    if (!done)
        return cnt;
    for (; cnt > 0 && done >= v->iov_len; v++, cnt--)
        done -= v->iov_len;
    if (done && cnt > 0) {
        *part = (struct iovec){ (char *)v->iov_base + done, v->iov_len - done };
        v = part;
        cnt = 1;
    }
    *iov = v;
    return cnt;
}

void shim_msg_rest(struct msghdr *m, size_t done, struct iovec *part)
{
    const struct iovec *iov = m->msg_iov;

    m->msg_iovlen = (size_t)shim_iov_rest(&iov, (int)m->msg_iovlen, done, part);
    m->msg_iov = (struct iovec *)iov;
}

static ssize_t do_read(int fd, void *buf, size_t n)
{
    struct fdw_info *fi;
    uint64_t deadline = 0;
    int saved = errno;
    ssize_t r;

    if (!rt_green())
        return REAL(read)(fd, buf, n);
    shim_testcancel();
    if (!(fi = shim_blocking_fd(fd)))
        return REAL(read)(fd, buf, n);
    /* A read of 0 bytes returns at once, whatever is queued. */
    if (n && shim_read_begin(fd, fi, &deadline) < 0)
        return -1;
    while ((r = shim_read_nowait(fd, fi, buf, n)) < 0 && errno == EAGAIN)
        if (shim_wait_fd(fd, fi, FDW_READ, &deadline) < 0)
            return -1;
    shim_read_end(fi, r, n);
    return shim_keep_errno(r, saved);
}

SHIM_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
    return do_read(fd, buf, n);
}

SHIM_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
    if (n > buflen)
        __chk_fail();
    return do_read(fd, buf, n);
}

struct buf {
    const char *p;
    size_t n;
};

static ssize_t write_attempt(int fd, struct fdw_info *fi, size_t done, size_t *total, void *ctx)
{
    const struct buf *b = ctx;

    *total = b->n;
    return shim_write_nowait(fd, fi, b->p + done, b->n - done);
}

SHIM_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
    struct buf b = { buf, n };
    struct fdw_info *fi;

    if (!rt_green())
        return REAL(write)(fd, buf, n);
    shim_testcancel();
    if (!(fi = shim_blocking_fd(fd)))
        return REAL(write)(fd, buf, n);
    return shim_write_all(fd, fi, 0, write_attempt, &b);
}
