/* xfer.c - sendfile, splice, tee, vmsplice and copy_file_range: copies
 * inside the kernel that can wait on a socket, a pipe or a tty.
 *
 * Neither call takes MSG_DONTWAIT, and the shim never sets O_NONBLOCK on a
 * program's fd. What stands in for them:
 *   - a pipe: splice takes SPLICE_F_NONBLOCK for its pipe ends; sendfile into
 *     a pipe moves at most the pipe's free room and returns (a partial count,
 *     natively too), so it cannot block once the pipe polls writable;
 *   - a socket being written: the kernel blocks a socket write only when the
 *     memory queued on the socket reaches SO_SNDBUF, and a socket polls
 *     writable with at least a third (TCP) or three quarters (Unix) of it
 *     free. Each call runs once the socket polls writable and moves at most
 *     half the free room (SO_SNDBUF less SIOCOUTQ), the other half covering
 *     the kernel's per-packet overhead. A blocking call into a socket goes on
 *     piece by piece, as the kernel's does: sendfile until count or the end
 *     of the file, splice until len or the pipe is empty;
 *   - a socket being read (splice into a pipe): TCP ignores SPLICE_F_NONBLOCK
 *     there, so the call runs once the socket polls readable, and takes what
 *     has come;
 *   - ttys and other readiness-only fds: the call runs once they poll ready.
 * What can still block the OS thread, and every green thread with it, inside
 * the kernel: a socket write when the system runs short of socket memory (the
 * tcp_mem hard limit), or when another process (or an OS thread greenrun does
 * not manage) fills the socket or the pipe between the check and the call; a
 * tty or device that takes less than the call moves.
 *
 * tee copies between two pipes, and waits on them as splice does on its
 * pipe ends: with SPLICE_F_NONBLOCK, which the kernel adds itself once the
 * program made either end non-blocking (the call then passes through).
 * vmsplice waits on its one pipe end (for room when it was opened for
 * writing, for data when read-only) whatever the program made it: the
 * kernel ignores O_NONBLOCK there, only SPLICE_F_NONBLOCK counts.
 * copy_file_range copies only between regular files (pipes, sockets and
 * devices get EINVAL): plain blocking I/O, as for read and write on them.
 *
 * splice, tee, vmsplice and copy_file_range are cancellation points (glibc),
 * sendfile is not.
 */
#include <errno.h>
#include <limits.h>
#include <linux/sockios.h>

#include "io_int.h"
#include "thread_int.h"

#define MAX_RW_COUNT ((size_t)INT_MAX & ~(size_t)4095)   /* the kernel's cap on one call */

/* Whether the program sees fd as blocking and pollable. */
static bool waits(const struct fdw_info *fi)
{
    return fi->kind != FDW_PLAIN && !fi->nonblock;
}

/* Park until fd polls ready for `events` (POLLIN or POLLOUT). */
static int until_ready(int fd, struct fdw_info *fi, short events, uint64_t *deadline,
                       bool cancel_point)
{
    int ev = events == POLLIN ? FDW_READ : FDW_WRITE;

    while (!shim_fd_ready(fd, events))
        if ((cancel_point ? shim_wait_fd : shim_wait_fd_nocancel)(fd, fi, ev, deadline) < 0)
            return -1;
    return 0;
}

/* At most what a write into socket fd, polling writable, can take now
 * without blocking (see above). */
static size_t socket_room(int fd, size_t want)
{
    int sndbuf = 0, queued;
    socklen_t len = sizeof(sndbuf);
    size_t room;

    if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len) < 0)
        return 1;
    if (REAL(ioctl)(fd, SIOCOUTQ, &queued) < 0)
        queued = sndbuf - sndbuf / 3;   /* all that polling writable promises */
    room = sndbuf > queued ? (size_t)(sndbuf - queued) / 2 : 1;
    return want < room ? want : room;
}

static ssize_t do_sendfile(int out, int in, off_t *off, size_t count)
{
    struct fdw_info *fi;
    uint64_t deadline = 0;
    size_t done = 0, piece;
    int saved = errno;
    ssize_t r;

    /* A bad input fd gets its EBADF at once, not after a wait for the output. */
    if (!rt_green() || !(fi = shim_blocking_fd(out)) || !fdw_info(in))
        return REAL(sendfile)(out, in, off, count);
    if (count > MAX_RW_COUNT)
        count = MAX_RW_COUNT;
    do {
        if (until_ready(out, fi, POLLOUT, &deadline, false) < 0)
            return done ? shim_keep_errno((ssize_t)done, saved) : -1;
        piece = fi->kind == FDW_SOCKET ? socket_room(out, count - done) : count - done;
        r = REAL(sendfile)(out, in, off, piece);
    } while (r > 0 && (done += (size_t)r) < count && fi->kind == FDW_SOCKET);
    return done ? shim_keep_errno((ssize_t)done, saved) : r;
}

SHIM_EXPORT ssize_t sendfile(int out, int in, off_t *off, size_t count)
{
    return do_sendfile(out, in, off, count);
}

SHIM_EXPORT ssize_t sendfile64(int out, int in, off64_t *off, size_t count)
{
    return do_sendfile(out, in, off, count);
}


/* Whether fd can be a pipe: FDW_NOWAIT, or FDW_POLLED once splice used it. */
static bool maybe_pipe(const struct fdw_info *fi)
{
    return fi->kind == FDW_NOWAIT || fi->kind == FDW_POLLED;
}

static bool pipe_nonblock(const struct fdw_info *fi)
{
    return fi->nonblock && maybe_pipe(fi);
}

/* One end of a splice, and the deadline of its waits. */
struct end {
    int fd;
    struct fdw_info *fi;
    short events;
    uint64_t deadline;
};

/* Wait for an end the program sees blocking, unless it polls ready. With
 * `pipes` false, only a socket or tty end (they ignore SPLICE_F_NONBLOCK). */
static int end_ready(struct end *e, bool pipes)
{
    if (!waits(e->fi) || (!pipes && e->fi->kind == FDW_NOWAIT))
        return 0;
    return until_ready(e->fd, e->fi, e->events, &e->deadline, true);
}

/* One splice, or tee when `tee` (which has no offsets). */
static ssize_t move(bool tee, struct end *in, loff_t *off_in, struct end *out, loff_t *off_out,
                    size_t len, unsigned flags)
{
    if (tee)
        return REAL(tee)(in->fd, out->fd, len, flags);
    return REAL(splice)(in->fd, off_in, out->fd, off_out, len, flags);
}

static ssize_t splice_wait(bool tee, struct end *in, loff_t *off_in, struct end *out,
                           loff_t *off_out, size_t len, unsigned flags)
{
    /* The kernel waits on no pipe end once the program made one of them
     * non-blocking (it adds SPLICE_F_NONBLOCK itself; a tty, which the fd
     * table cannot tell from a pipe that splice used, counts as one). */
    bool pipes = !(pipe_nonblock(in->fi) || pipe_nonblock(out->fi));
    bool to_socket = out->fi->kind == FDW_SOCKET && waits(out->fi);
    size_t done = 0, piece;
    int saved = errno;
    ssize_t r;

    for (;;) {
        /* tee has only pipe ends: none to wait for before an attempt. */
        if (!tee && (end_ready(in, false) < 0 || end_ready(out, false) < 0))
            return done ? shim_keep_errno((ssize_t)done, saved) : -1;
        piece = to_socket ? socket_room(out->fd, len - done) : len - done;
        r = move(tee, in, off_in, out, off_out, piece, flags | SPLICE_F_NONBLOCK);
        if (r > 0 && (done += (size_t)r) < len && to_socket && shim_fd_ready(in->fd, POLLIN))
            continue;           /* into a socket, the kernel goes on while the pipe has more */
        if (r >= 0 || done || errno != EAGAIN || !pipes)
            break;
        /* A pipe end is not ready: wait for it. If both poll ready, the
         * EAGAIN is that of a socket the program made non-blocking. */
        if (!shim_fd_ready(in->fd, POLLIN)) {
            if (end_ready(in, true) < 0 || !waits(in->fi))
                break;
        } else if (!shim_fd_ready(out->fd, POLLOUT)) {
            if (end_ready(out, true) < 0 || !waits(out->fi))
                break;
        } else {
            break;
        }
    }
    return done ? shim_keep_errno((ssize_t)done, saved) : r;
}

SHIM_EXPORT ssize_t splice(int fd_in, loff_t *off_in, int fd_out, loff_t *off_out, size_t len,
                           unsigned flags)
{
    struct end in = { fd_in, NULL, POLLIN, 0 }, out = { fd_out, NULL, POLLOUT, 0 };

    if (!rt_green())
        return REAL(splice)(fd_in, off_in, fd_out, off_out, len, flags);
    shim_testcancel();
    if ((flags & SPLICE_F_NONBLOCK) || !(in.fi = fdw_info(fd_in)) ||
        !(out.fi = fdw_info(fd_out)) || (!waits(in.fi) && !waits(out.fi)))
        return REAL(splice)(fd_in, off_in, fd_out, off_out, len, flags);
    return splice_wait(false, &in, off_in, &out, off_out, len, flags);
}

/* Both ends must be pipes, which take SPLICE_F_NONBLOCK: anything else gets
 * its EINVAL from the first attempt. It waits only when the program sees
 * both ends blocking. */
SHIM_EXPORT ssize_t tee(int fd_in, int fd_out, size_t len, unsigned flags)
{
    struct end in = { fd_in, NULL, POLLIN, 0 }, out = { fd_out, NULL, POLLOUT, 0 };

    if (!rt_green())
        return REAL(tee)(fd_in, fd_out, len, flags);
    shim_testcancel();
    if ((flags & SPLICE_F_NONBLOCK) || !(in.fi = fdw_info(fd_in)) ||
        !(out.fi = fdw_info(fd_out)) || !maybe_pipe(in.fi) || !maybe_pipe(out.fi) ||
        in.fi->nonblock || out.fi->nonblock)
        return REAL(tee)(fd_in, fd_out, len, flags);
    return splice_wait(true, &in, NULL, &out, NULL, len, flags);
}

/* The direction of a vmsplice: into the pipe unless fd is its read end. */
static int vmsplice_events(int fd)
{
    return (REAL(fcntl)(fd, F_GETFL) & O_ACCMODE) == O_RDONLY ? FDW_READ : FDW_WRITE;
}

SHIM_EXPORT ssize_t vmsplice(int fd, const struct iovec *iov, size_t cnt, unsigned flags)
{
    struct fdw_info *fi;
    uint64_t deadline = 0;
    int saved = errno, events = 0;
    ssize_t r;

    if (!rt_green())
        return REAL(vmsplice)(fd, iov, cnt, flags);
    shim_testcancel();
    if ((flags & SPLICE_F_NONBLOCK) || !(fi = fdw_info(fd)))
        return REAL(vmsplice)(fd, iov, cnt, flags);
    while ((r = REAL(vmsplice)(fd, iov, cnt, flags | SPLICE_F_NONBLOCK)) < 0 && errno == EAGAIN) {
        if (!events)            /* the access mode: asked once, on the first wait */
            events = vmsplice_events(fd);
        if (shim_wait_fd(fd, fi, events, &deadline) < 0)
            return -1;
    }
    return shim_keep_errno(r, saved);
}

SHIM_EXPORT ssize_t copy_file_range(int fd_in, off64_t *off_in, int fd_out, off64_t *off_out,
                                    size_t len, unsigned flags)
{
    if (rt_green())
        shim_testcancel();
    return REAL(copy_file_range)(fd_in, off_in, fd_out, off_out, len, flags);
}
