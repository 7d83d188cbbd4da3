/* send.c - sending on sockets: send, sendto, sendmsg, sendmmsg.
 *
 * On a blocking socket each adds MSG_DONTWAIT to the program's flags rather
 * than touching the socket's O_NONBLOCK, and waits for writability on
 * EAGAIN (shim_write_all); a program's own MSG_DONTWAIT passes through. A
 * blocking send sends everything: a stream socket may take part of it, and
 * the rest follows, without the ancillary data that went with the first
 * part. sendmmsg sends each message entire, as a blocking sendmsg would, and
 * stops where the kernel's would: at an error or a message cut short.
 * EPIPE, SIGPIPE and MSG_NOSIGNAL are the kernel's own, from the real calls.
 */
#include <errno.h>
#include <limits.h>

#include "io_int.h"
#include "thread_int.h"

struct to {
    const char *buf;
    size_t n;
    int flags;
    const struct sockaddr *addr;
    socklen_t alen;
};

static ssize_t sendto_attempt(int fd, struct fdw_info *fi, size_t done, size_t *total, void *ctx)
{
    const struct to *c = ctx;

    (void)fi;
    *total = c->n;
    return REAL(sendto)(fd, c->buf + done, c->n - done, c->flags | MSG_DONTWAIT, c->addr, c->alen);
}

/* send is sendto without an address, as glibc makes it. */
static ssize_t do_sendto(int fd, const void *buf, size_t n, int flags,
                         const struct sockaddr *addr, socklen_t alen)
{
    struct to c = { buf, n, flags, addr, alen };
    struct fdw_info *fi;

    if (!rt_green())
        return REAL(sendto)(fd, buf, n, flags, addr, alen);
    shim_testcancel();
    if ((flags & MSG_DONTWAIT) || !(fi = shim_blocking_fd(fd)))
        return REAL(sendto)(fd, buf, n, flags, addr, alen);
    return shim_write_all(fd, fi, 0, sendto_attempt, &c);
}

SHIM_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
    return do_sendto(fd, buf, n, flags, NULL, 0);
}

SHIM_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags,
                           const struct sockaddr *addr, socklen_t alen)
{
    return do_sendto(fd, buf, n, flags, addr, alen);
}

struct smsg {
    const struct msghdr *msg;
    int flags;
};

/* The first attempt sends the program's message; its rest goes without the
 * ancillary data, which went with the first part. */
static ssize_t sendmsg_attempt(int fd, struct fdw_info *fi, size_t done, size_t *total, void *ctx)
{
    const struct smsg *c = ctx;
    struct iovec part;
    struct msghdr m;
    ssize_t r;

    (void)fi;
    if (!done) {
        r = REAL(sendmsg)(fd, c->msg, c->flags | MSG_DONTWAIT);
    } else {
        m = *c->msg;
        shim_msg_rest(&m, done, &part);
        m.msg_control = NULL;
        m.msg_controllen = 0;
        r = REAL(sendmsg)(fd, &m, c->flags | MSG_DONTWAIT);
    }
    if (r > 0)
        *total = shim_iov_len(c->msg->msg_iov, c->msg->msg_iovlen);
    return r;
}

SHIM_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    struct smsg c = { msg, flags };
    struct fdw_info *fi;

    if (!rt_green())
        return REAL(sendmsg)(fd, msg, flags);
    shim_testcancel();
    if ((flags & MSG_DONTWAIT) || !(fi = shim_blocking_fd(fd)))
        return REAL(sendmsg)(fd, msg, flags);
    return shim_write_all(fd, fi, 0, sendmsg_attempt, &c);
}

/* A stream socket took part of a message: send the rest, as a blocking
 * sendmsg would. False when it stopped short (the kernel's sendmmsg then
 * stops too). */
static bool sent_entire(int fd, struct fdw_info *fi, struct mmsghdr *m, int flags)
{
    struct smsg c = { &m->msg_hdr, flags };
    size_t want = shim_iov_len(m->msg_hdr.msg_iov, m->msg_hdr.msg_iovlen);

    if (m->msg_len < want)
        m->msg_len = (unsigned)shim_write_all(fd, fi, m->msg_len, sendmsg_attempt, &c);
    return m->msg_len == want;
}

SHIM_EXPORT int sendmmsg(int fd, struct mmsghdr *vec, unsigned vlen, int flags)
{
    struct fdw_info *fi;
    uint64_t deadline = 0, pause = 0;
    unsigned done = 0;
    int saved = errno, r;

    if (!rt_green())
        return REAL(sendmmsg)(fd, vec, vlen, flags);
    shim_testcancel();
    if ((flags & MSG_DONTWAIT) || !(fi = shim_blocking_fd(fd)))
        return REAL(sendmmsg)(fd, vec, vlen, flags);
    if (vlen > IOV_MAX)
        vlen = IOV_MAX;             /* UIO_MAXIOV: the kernel sends no more */
    for (;;) {
        r = REAL(sendmmsg)(fd, vec + done, vlen - done, flags | MSG_DONTWAIT);
        if (r > 0) {
            done += (unsigned)r;
            if (!sent_entire(fd, fi, &vec[done - 1], flags) || done == vlen)
                break;
        } else if (r == 0 || errno != EAGAIN || shim_wait_writable(fd, fi, &deadline, &pause) < 0) {
            break;
        }
    }
    return done ? (int)shim_keep_errno(done, saved) : r;
}
