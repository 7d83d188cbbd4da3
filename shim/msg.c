/* msg.c - receiving on sockets: recv, recvfrom, recvmsg, recvmmsg (and the
 * fortified __recv_chk, __recvfrom_chk).
 *
 * On a blocking socket each adds MSG_DONTWAIT to the program's flags rather
 * than touching the socket's O_NONBLOCK, and waits for readiness on EAGAIN;
 * a program's own MSG_DONTWAIT passes through, as do MSG_OOB and
 * MSG_ERRQUEUE, which never wait. What the kernel does around a blocking
 * receive is kept:
 *   - MSG_WAITALL fills the buffer on a stream socket, until end of file, an
 *     error, the timeout or ancillary data stop it; other sockets give one
 *     message. With MSG_PEEK the data stays queued, so readiness cannot tell
 *     when more has come: TCP, which waits for all of it, is polled with
 *     pauses (Unix stream sockets return what is queued, as here at once);
 *   - recvmmsg without MSG_WAITFORONE waits for every message; its timeout is
 *     checked only after each message, as the kernel does (a wait for the next
 *     one is not bounded by it), and what is left of it is written back; an
 *     error after some messages stays queued for the next call, as there;
 *   - fds received with SCM_RIGHTS are new numbers, which the fd table
 *     forgets (a stale entry would misguide the next wait on them).
 */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <string.h>

#include "io_int.h"
#include "thread_int.h"

/* Flags with which a receive never waits in the kernel: the program's own
 * MSG_DONTWAIT, urgent data and the error queue (EAGAIN when there is none,
 * even on a blocking socket). Such calls pass through. */
#define NEVER_WAITS (MSG_DONTWAIT | MSG_OOB | MSG_ERRQUEUE)

/* One attempt at the rest of a receive, `done` bytes into it. It sets *total,
 * the size of the buffers, once it may read them, or to the bytes received
 * when nothing more may come in this call (ancillary data arrived). */
typedef ssize_t recv_fn(int fd, size_t done, size_t *total, int flags, void *ctx);

/* Whether MSG_WAITALL fills the buffer (asked when a short read makes it
 * matter): on a stream socket; when peeking, only on TCP. */
static bool waitall_fills(int fd, bool peek)
{
    int type = 0, proto = 0;
    socklen_t len = sizeof(type);

    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_STREAM)
        return false;
    len = sizeof(proto);
    return !peek || (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) == 0 &&
                     proto == IPPROTO_TCP);
}

/* A peek that must wait for more: pause, unless the peer has shut down or an
 * error is pending (then what is queued is all). False: stop here. */
static bool peek_pause(int fd, struct fdw_info *fi, uint64_t *pause, uint64_t *deadline)
{
    return !shim_fd_ready(fd, POLLRDHUP) && shim_pause_fd(fd, fi, FDW_READ, deadline, pause) == 0;
}

/* Inlined into each caller, with its attempt: recv's fast path makes no
 * indirect call. */
static inline __attribute__((always_inline)) ssize_t
recv_wait(int fd, struct fdw_info *fi, int flags, recv_fn *attempt, void *ctx)
{
    uint64_t deadline = 0, pause = 0;
    size_t done = 0, total = 0;
    int saved = errno, fills = -1;
    ssize_t r;

    if (shim_read_begin(fd, fi, &deadline) < 0)
        return -1;
    for (;;) {
        r = attempt(fd, done, &total, flags | MSG_DONTWAIT, ctx);
        if (r > 0 && (flags & MSG_WAITALL) && done + (size_t)r < total &&
            (fills < 0 ? (fills = waitall_fills(fd, flags & MSG_PEEK)) : fills)) {
            if (!(flags & MSG_PEEK)) {
                done += (size_t)r;
                continue;
            }
            if (peek_pause(fd, fi, &pause, &deadline))
                continue;
        }
        if (r >= 0) {
            if (!(flags & (MSG_PEEK | MSG_WAITALL)))
                shim_read_end(fi, r, total);
            return shim_keep_errno((ssize_t)done + r, saved);
        }
        if (errno != EAGAIN || shim_wait_fd(fd, fi, FDW_READ, &deadline) < 0)
            return done ? shim_keep_errno((ssize_t)done, saved) : -1;
    }
}

struct from {
    char *buf;
    size_t n;
    struct sockaddr *addr;
    socklen_t *alen;
};

static ssize_t recvfrom_attempt(int fd, size_t done, size_t *total, int flags, void *ctx)
{
    const struct from *c = ctx;

    *total = c->n;
    return REAL(recvfrom)(fd, c->buf + done, c->n - done, flags, c->addr, c->alen);
}

/* recv is recvfrom without an address, as glibc makes it. */
static ssize_t do_recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *addr,
                           socklen_t *alen)
{
    struct from c = { buf, n, addr, alen };
    struct fdw_info *fi;

    if (flags & MSG_OOB)
        shim_drain_stop();
    if (!rt_green())
        return REAL(recvfrom)(fd, buf, n, flags, addr, alen);
    shim_testcancel();
    if ((flags & NEVER_WAITS) || !(fi = shim_blocking_fd(fd)))
        return REAL(recvfrom)(fd, buf, n, flags, addr, alen);
    return recv_wait(fd, fi, flags, recvfrom_attempt, &c);
}

SHIM_EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
    return do_recvfrom(fd, buf, n, flags, NULL, NULL);
}

SHIM_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
    if (n > buflen)
        __chk_fail();
    return do_recvfrom(fd, buf, n, flags, NULL, NULL);
}

SHIM_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *addr,
                             socklen_t *alen)
{
    return do_recvfrom(fd, buf, n, flags, addr, alen);
}

SHIM_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
                                   struct sockaddr *addr, socklen_t *alen)
{
    if (n > buflen)
        __chk_fail();
    return do_recvfrom(fd, buf, n, flags, addr, alen);
}

struct rmsg {
    struct msghdr *msg;
    struct msghdr orig;         /* as the program gave it, for MSG_WAITALL */
};

static ssize_t recvmsg_attempt(int fd, size_t done, size_t *total, int flags, void *ctx)
{
    struct rmsg *c = ctx;
    struct msghdr m;
    struct iovec part;
    ssize_t r;

    if (!done) {
        r = REAL(recvmsg)(fd, c->msg, flags);
    } else {
        m = c->orig;
        shim_msg_rest(&m, done, &part);
        r = REAL(recvmsg)(fd, &m, flags);
        if (r >= 0) {
            c->msg->msg_namelen = m.msg_namelen;
            c->msg->msg_controllen = m.msg_controllen;
            c->msg->msg_flags = m.msg_flags;
        }
    }
    /* The kernel has read the program's iovec array by now; it leaves the
     * array and its place in msg as they were. */
    if (r > 0)
        *total = c->msg->msg_controllen || (c->msg->msg_flags & MSG_CTRUNC)
                     ? done + (size_t)r
                     : shim_iov_len(c->msg->msg_iov, c->msg->msg_iovlen);
    return r;
}

/* fds passed with SCM_RIGHTS have new numbers: the table forgets what it
 * held for them, as for any call that creates fds (fdnew.c). */
static void forget_passed(struct msghdr *m)
{
    struct cmsghdr *c;
    int fd, saved = errno;

    for (c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
            for (size_t off = 0; CMSG_LEN(off + sizeof(fd)) <= c->cmsg_len; off += sizeof(fd)) {
                memcpy(&fd, CMSG_DATA(c) + off, sizeof(fd));
                fdw_forget(fd);
            }
    errno = saved;
}

SHIM_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    struct rmsg c = { msg, { 0 } };
    struct fdw_info *fi;
    ssize_t r;

    if (flags & MSG_OOB)
        shim_drain_stop();
    if (!rt_green())
        return REAL(recvmsg)(fd, msg, flags);
    shim_testcancel();
    if ((flags & NEVER_WAITS) || !(fi = shim_blocking_fd(fd))) {
        r = REAL(recvmsg)(fd, msg, flags);
    } else {
        /* The kernel rewrites the lengths: the rest of a MSG_WAITALL needs
         * the originals (read here, so a bad msg faults here then). */
        if (flags & MSG_WAITALL)
            c.orig = *msg;
        r = recv_wait(fd, fi, flags, recvmsg_attempt, &c);
    }
    if (r >= 0)
        forget_passed(msg);
    return r;
}

#define NS_PER_SEC 1000000000u

/* A timespec the kernel accepted, in ns, saturating. */
static uint64_t ts_ns(const struct timespec *t)
{
    if ((uint64_t)t->tv_sec >= UINT64_MAX / NS_PER_SEC)
        return UINT64_MAX;
    return (uint64_t)t->tv_sec * NS_PER_SEC + (uint64_t)t->tv_nsec;
}

/* Whether a blocking recvmmsg goes on after `done` messages: the kernel's
 * rules, the timeout included. */
static bool mmsg_more(const struct mmsghdr *vec, unsigned done, unsigned vlen, int flags,
                      bool timed, uint64_t end)
{
    return !done || (done < vlen && !(flags & MSG_WAITFORONE) &&
                     !(vec[done - 1].msg_hdr.msg_flags & MSG_OOB) && !(timed && rt_now() >= end));
}

/* An error the kernel keeps for the next call once some messages came. */
static bool error_pending(int fd)
{
    struct pollfd p = { fd, 0, 0 };

    return REAL(poll)(&p, 1, 0) > 0 && (p.revents & POLLERR);
}

static int recvmmsg_wait(int fd, struct fdw_info *fi, struct mmsghdr *vec, unsigned vlen,
                         int flags, struct timespec *tmo)
{
    uint64_t deadline = 0, end = 0, now;
    struct timespec left;
    unsigned done;
    int saved = errno, r;

    if (vlen > IOV_MAX)
        vlen = IOV_MAX;             /* UIO_MAXIOV: the kernel takes no more */
    /* The first call checks the timeout (EINVAL, EFAULT) and writes back what
     * is left of it when messages came. */
    r = REAL(recvmmsg)(fd, vec, vlen, flags | MSG_DONTWAIT, tmo);
    if (r == 0 || (r < 0 && errno != EAGAIN))
        return r;
    if (tmo)
        end = rt_deadline_after(ts_ns(tmo));
    done = r < 0 ? 0 : (unsigned)r;
    while (mmsg_more(vec, done, vlen, flags, tmo, end)) {
        if (shim_wait_fd(fd, fi, FDW_READ, &deadline) < 0 || (done && error_pending(fd)))
            break;
        if (tmo) {
            now = rt_now();
            now = end > now ? end - now : 0;
            left = (struct timespec){ (time_t)(now / NS_PER_SEC), (long)(now % NS_PER_SEC) };
        }
        r = REAL(recvmmsg)(fd, vec + done, vlen - done, flags | MSG_DONTWAIT, tmo ? &left : NULL);
        if (r > 0) {
            done += (unsigned)r;
            if (tmo)
                *tmo = left;
        } else if (errno != EAGAIN) {
            break;
        }
    }
    return done ? (int)shim_keep_errno(done, saved) : -1;
}

SHIM_EXPORT int recvmmsg(int fd, struct mmsghdr *vec, unsigned vlen, int flags,
                         struct timespec *tmo)
{
    struct fdw_info *fi;
    int r;

    if (flags & MSG_OOB)
        shim_drain_stop();
    if (!rt_green())
        return REAL(recvmmsg)(fd, vec, vlen, flags, tmo);
    shim_testcancel();
    if ((flags & NEVER_WAITS) || !(fi = shim_blocking_fd(fd)))
        r = REAL(recvmmsg)(fd, vec, vlen, flags, tmo);
    else
        r = recvmmsg_wait(fd, fi, vec, vlen, flags, tmo);
    for (int i = 0; i < r; i++)
        forget_passed(&vec[i].msg_hdr);
    return r;
}
