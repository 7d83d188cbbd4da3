/* io.c - read and write, and the non-blocking attempts every fd wrapper uses.
 *
 * The program's fds keep their own O_NONBLOCK flag. An attempt that must not
 * block therefore asks per call, by fd kind:
 *   sockets, pipes, eventfds   preadv2/pwritev2 with RWF_NOWAIT
 *   ttys, FIFOs opened by path readiness first (poll with timeout 0), then
 *                              the real call; RWF_NOWAIT is refused there
 *   regular files and the like plain blocking call (they never wait on a peer)
 */
#include <errno.h>
#include <sys/uio.h>

#include "thread_int.h"

struct fdw_info *shim_blocking_fd(int fd)
{
    struct fdw_info *fi = fdw_info(fd);

    return fi && !fi->nonblock && fi->kind != FDW_PLAIN ? fi : NULL;
}

int shim_wait_fd(int fd, struct fdw_info *fi, int events, uint64_t *deadline)
{
    uint64_t timeo = events == FDW_READ ? fi->rcvtimeo : fi->sndtimeo;
    int err;

    bool was;

    if (!*deadline && timeo)
        *deadline = rt_deadline_after(timeo);
    was = shim_cancel_point_begin();
    err = fdw_wait(fd, events, *deadline);
    shim_cancel_point_end(was, err);
    if (err) {
        errno = err == ETIMEDOUT ? EAGAIN : err;
        return -1;
    }
    return 0;
}

static bool ready_now(int fd, short events)
{
    struct pollfd p = { fd, events, 0 };

    return REAL(poll)(&p, 1, 0) != 0;
}

ssize_t shim_read_nowait(int fd, struct fdw_info *fi, void *buf, size_t n)
{
    struct iovec v = { buf, n };
    ssize_t r;

    if (fi->kind == FDW_SOCKET || fi->kind == FDW_NOWAIT) {
        r = preadv2(fd, &v, 1, -1, RWF_NOWAIT);
        if (r >= 0 || errno != EOPNOTSUPP)
            return r;
        fi->kind = FDW_POLLED;
    }
    if (fi->kind == FDW_POLLED && !ready_now(fd, POLLIN)) {
        errno = EAGAIN;
        return -1;
    }
    return REAL(read)(fd, buf, n);
}

ssize_t shim_write_nowait(int fd, struct fdw_info *fi, const void *buf, size_t n)
{
    struct iovec v = { (void *)buf, n };
    ssize_t r;

    if (fi->kind == FDW_SOCKET || fi->kind == FDW_NOWAIT) {
        r = pwritev2(fd, &v, 1, -1, RWF_NOWAIT);
        if (r >= 0 || errno != EOPNOTSUPP)
            return r;
        fi->kind = FDW_POLLED;
    }
    if (fi->kind == FDW_POLLED && !ready_now(fd, POLLOUT)) {
        errno = EAGAIN;
        return -1;
    }
    return REAL(write)(fd, buf, n);
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
    while ((r = shim_read_nowait(fd, fi, buf, n)) < 0 && errno == EAGAIN)
        if (shim_wait_fd(fd, fi, FDW_READ, &deadline) < 0)
            return -1;
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

/* A blocking write writes everything, or fails having written nothing. */
SHIM_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
    struct fdw_info *fi;
    uint64_t deadline = 0;
    int saved = errno;
    size_t done = 0;
    ssize_t r;

    if (!rt_green())
        return REAL(write)(fd, buf, n);
    shim_testcancel();
    if (!(fi = shim_blocking_fd(fd)))
        return REAL(write)(fd, buf, n);
    do {
        r = shim_write_nowait(fd, fi, (const char *)buf + done, n - done);
        if (r >= 0)
            done += (size_t)r;
        else if (errno != EAGAIN || shim_wait_fd(fd, fi, FDW_WRITE, &deadline) < 0)
            break;
    } while (done < n);
    return done ? shim_keep_errno((ssize_t)done, saved) : r;
}
