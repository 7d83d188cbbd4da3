/* vio.c - vectored and positioned I/O, and the attempts every fd wrapper
 * makes without blocking: readv, writev, pread, pwrite, preadv, pwritev,
 * preadv2, pwritev2, their 64-bit names and the fortified __pread_chk.
 *
 * The program's fds keep their own O_NONBLOCK flag, so an attempt that must
 * not block asks per call, by fd kind:
 *   sockets, pipes, eventfds   preadv2/pwritev2 with RWF_NOWAIT added to the
 *                              program's RWF_ flags
 *   ttys, FIFOs opened by path readiness first (poll with timeout 0), then
 *   pipe ends once spliced     the call, writing at most PIPE_BUF bytes at a
 *                              time (all that polling writable promises);
 *                              RWF_NOWAIT is refused there (splice takes it
 *                              away from a pipe), and the EOPNOTSUPP moves an
 *                              fd to this row
 * (regular files never get here: shim_blocking_fd passes them through). The
 * program's iovec array is read there before the kernel sees it: a bad
 * pointer faults instead of giving EFAULT (writev on those fds only).
 *
 * Positioned calls: on a pipe or a socket the kernel answers ESPIPE before it
 * looks at RWF_NOWAIT, so the attempt gives the native answer at once. On a
 * readiness-only fd they are not waited for: a tty answers ESPIPE at once,
 * and the devices that can seek (/dev/zero and the like) never wait.
 *
 * A blocking writev writes everything (shim_write_all); the rest after a
 * partial write is passed without copying the program's iovec array
 * (shim_iov_rest). A program passing RWF_NOWAIT itself gets libc's call.
 */
#include <errno.h>
#include <limits.h>
#include <sys/uio.h>

#include "io_int.h"
#include "thread_int.h"

/* The first PIPE_BUF bytes of iov[0..cnt), in at most `max` elements of out. */
static int first_bytes(const struct iovec *iov, int cnt, struct iovec *out, int max)
{
    size_t left = PIPE_BUF;
    int k;

    for (k = 0; k < cnt && k < max && left; k++) {
        out[k] = iov[k];
        if (out[k].iov_len > left)
            out[k].iov_len = left;
        left -= out[k].iov_len;
    }
    return k;
}

/* One attempt at preadv2 (write: pwritev2) that does not block; off -1 is the
 * file position. */
static ssize_t rw_nowait(bool write, int fd, struct fdw_info *fi, const struct iovec *iov,
                         int cnt, off_t off, int flags)
{
    struct iovec head[8];
    ssize_t r;

    if (fi->kind == FDW_SOCKET || fi->kind == FDW_NOWAIT) {
        r = write ? REAL(pwritev2)(fd, iov, cnt, off, flags | RWF_NOWAIT)
                  : REAL(preadv2)(fd, iov, cnt, off, flags | RWF_NOWAIT);
        if (r >= 0 || errno != EOPNOTSUPP)
            return r;
        fi->kind = FDW_POLLED;
    }
    if (fi->kind == FDW_POLLED && off == -1) {
        if (!shim_fd_ready(fd, write ? POLLOUT : POLLIN)) {
            errno = EAGAIN;
            return -1;
        }
        /* Polling writable promises room for PIPE_BUF bytes (a free pipe
         * page; a tty under its 256-byte wake-up mark), not for more. */
        if (write && cnt > 0 && cnt <= IOV_MAX) {
            cnt = first_bytes(iov, cnt, head, 8);
            iov = head;
        }
    }
    return write ? REAL(pwritev2)(fd, iov, cnt, off, flags)
                 : REAL(preadv2)(fd, iov, cnt, off, flags);
}

ssize_t shim_read_nowait(int fd, struct fdw_info *fi, void *buf, size_t n)
{
    struct iovec v = { buf, n };

    return rw_nowait(false, fd, fi, &v, 1, -1, 0);
}

ssize_t shim_write_nowait(int fd, struct fdw_info *fi, const void *buf, size_t n)
{
    struct iovec v = { (void *)buf, n };

    return rw_nowait(true, fd, fi, &v, 1, -1, 0);
}

/* Whether a read or write call is made cooperative: a cancellation point
 * either way; NULL passes it through (a bad offset gets the kernel's EINVAL). */
static struct fdw_info *cooperative(int fd, bool offset_ok)
{
    shim_testcancel();
    return offset_ok ? shim_blocking_fd(fd) : NULL;
}

static ssize_t readv_wait(int fd, struct fdw_info *fi, const struct iovec *iov, int cnt,
                          off_t off, int flags)
{
    uint64_t deadline = 0;
    int saved = errno;
    ssize_t r;

    while ((r = rw_nowait(false, fd, fi, iov, cnt, off, flags)) < 0 && errno == EAGAIN)
        if (shim_wait_fd(fd, fi, FDW_READ, &deadline) < 0)
            return -1;
    return shim_keep_errno(r, saved);
}

struct vec {
    const struct iovec *iov;
    int cnt;
    off_t off;
    int flags;
};

static ssize_t writev_attempt(int fd, struct fdw_info *fi, size_t done, size_t *total, void *ctx)
{
    const struct vec *w = ctx;
    const struct iovec *iov = w->iov;
    struct iovec part;
    int cnt = shim_iov_rest(&iov, w->cnt, done, &part);
    off_t off = w->off == -1 ? -1 : w->off + (off_t)done;
    ssize_t r = rw_nowait(true, fd, fi, iov, cnt, off, w->flags);

    if (r > 0)
        *total = shim_iov_len(w->iov, (size_t)w->cnt);
    return r;
}

static ssize_t writev_wait(int fd, struct fdw_info *fi, const struct iovec *iov, int cnt,
                           off_t off, int flags)
{
    struct vec w = { iov, cnt, off, flags };

    return shim_write_all(fd, fi, 0, writev_attempt, &w);
}

SHIM_EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
    struct fdw_info *fi;

    if (!rt_green() || !(fi = cooperative(fd, true)))
        return REAL(readv)(fd, iov, cnt);
    return readv_wait(fd, fi, iov, cnt, -1, 0);
}

SHIM_EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    struct fdw_info *fi;

    if (!rt_green() || !(fi = cooperative(fd, true)))
        return REAL(writev)(fd, iov, cnt);
    return writev_wait(fd, fi, iov, cnt, -1, 0);
}

/* pread and pread64 are one function on LP64, as are the others below. */
static ssize_t do_pread(int fd, void *buf, size_t n, off_t off)
{
    struct iovec v = { buf, n };
    struct fdw_info *fi;

    if (!rt_green() || !(fi = cooperative(fd, off >= 0)))
        return REAL(pread)(fd, buf, n, off);
    return readv_wait(fd, fi, &v, 1, off, 0);
}

static ssize_t do_pwrite(int fd, const void *buf, size_t n, off_t off)
{
    struct iovec v = { (void *)buf, n };
    struct fdw_info *fi;

    if (!rt_green() || !(fi = cooperative(fd, off >= 0)))
        return REAL(pwrite)(fd, buf, n, off);
    return writev_wait(fd, fi, &v, 1, off, 0);
}

static ssize_t do_preadv(int fd, const struct iovec *iov, int cnt, off_t off)
{
    struct fdw_info *fi;

    if (!rt_green() || !(fi = cooperative(fd, off >= 0)))
        return REAL(preadv)(fd, iov, cnt, off);
    return readv_wait(fd, fi, iov, cnt, off, 0);
}

static ssize_t do_pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
    struct fdw_info *fi;

    if (!rt_green() || !(fi = cooperative(fd, off >= 0)))
        return REAL(pwritev)(fd, iov, cnt, off);
    return writev_wait(fd, fi, iov, cnt, off, 0);
}

SHIM_EXPORT ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
    return do_pread(fd, buf, n, off);
}

SHIM_EXPORT ssize_t pread64(int fd, void *buf, size_t n, off64_t off)
{
    return do_pread(fd, buf, n, off);
}

SHIM_EXPORT ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
{
    if (n > buflen)
        __chk_fail();
    return do_pread(fd, buf, n, off);
}

SHIM_EXPORT ssize_t __pread64_chk(int fd, void *buf, size_t n, off64_t off, size_t buflen)
{
    if (n > buflen)
        __chk_fail();
    return do_pread(fd, buf, n, off);
}

SHIM_EXPORT ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    return do_pwrite(fd, buf, n, off);
}

SHIM_EXPORT ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
    return do_pwrite(fd, buf, n, off);
}

SHIM_EXPORT ssize_t preadv(int fd, const struct iovec *iov, int cnt, off_t off)
{
    return do_preadv(fd, iov, cnt, off);
}

SHIM_EXPORT ssize_t preadv64(int fd, const struct iovec *iov, int cnt, off64_t off)
{
    return do_preadv(fd, iov, cnt, off);
}

SHIM_EXPORT ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
    return do_pwritev(fd, iov, cnt, off);
}

SHIM_EXPORT ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off64_t off)
{
    return do_pwritev(fd, iov, cnt, off);
}

/* Offset -1 is the file position here. */
static ssize_t do_preadv2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
    struct fdw_info *fi;

    if (!rt_green() || !(fi = cooperative(fd, off >= -1 && !(flags & RWF_NOWAIT))))
        return REAL(preadv2)(fd, iov, cnt, off, flags);
    return readv_wait(fd, fi, iov, cnt, off, flags);
}

static ssize_t do_pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
    struct fdw_info *fi;

    if (!rt_green() || !(fi = cooperative(fd, off >= -1 && !(flags & RWF_NOWAIT))))
        return REAL(pwritev2)(fd, iov, cnt, off, flags);
    return writev_wait(fd, fi, iov, cnt, off, flags);
}

SHIM_EXPORT ssize_t preadv2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
    return do_preadv2(fd, iov, cnt, off, flags);
}

/* What programs built with _FILE_OFFSET_BITS=64 call for preadv2. */
SHIM_EXPORT ssize_t preadv64v2(int fd, const struct iovec *iov, int cnt, off64_t off, int flags)
{
    return do_preadv2(fd, iov, cnt, off, flags);
}

SHIM_EXPORT ssize_t pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
    return do_pwritev2(fd, iov, cnt, off, flags);
}

SHIM_EXPORT ssize_t pwritev64v2(int fd, const struct iovec *iov, int cnt, off64_t off, int flags)
{
    return do_pwritev2(fd, iov, cnt, off, flags);
}
