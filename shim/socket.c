/* socket.c - accept and connect on blocking sockets, cooperatively (the data
 * calls are in msg.c and send.c).
 *
 * accept has no MSG_DONTWAIT to add: it runs once the listening
 * socket polls readable, so it finds a connection waiting (another process
 * sharing the socket could still take it first, as with any poll-then-accept).
 * connect needs O_NONBLOCK for the one call that starts it; the flag is put
 * back before anything else runs. SO_RCVTIMEO and SO_SNDTIMEO bound the waits
 * as they bound the kernel's, so setsockopt keeps the fd table's copy current.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#include "io_int.h"
#include "thread_int.h"

#define CONNECT_RETRY_NS 1000000

static bool listening(int fd)
{
    int on = 0;
    socklen_t len = sizeof(on);

    return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == 0 && on;
}

static bool acceptable(int fd)
{
    struct pollfd p = { fd, POLLIN, 0 };

    return REAL(poll)(&p, 1, 0) != 0;
}

static int do_accept(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    struct fdw_info *fi, *ci;
    uint64_t deadline = 0;
    int saved = errno, c;

    if (!rt_green())
        return REAL(accept4)(fd, addr, len, flags);
    shim_testcancel();
    if (!(fi = shim_blocking_fd(fd)))
        return REAL(accept4)(fd, addr, len, flags);
    /* Only a listening socket ever becomes acceptable: anything else gets
     * its error from the real call at once. */
    if (!acceptable(fd) && listening(fd))
        do {
            if (shim_wait_fd(fd, fi, FDW_READ, &deadline) < 0)
                return -1;
        } while (!acceptable(fd));
    c = REAL(accept4)(fd, addr, len, flags);
    if (c < 0)
        return c;
    /* The kernel copies the listener's timeouts to the new socket, which
     * has the listener's protocol. */
    if ((ci = fdw_learn(c, FDW_SOCKET, flags & SOCK_NONBLOCK)))
        shim_fd_copy_socket(ci, fi);
    return (int)shim_keep_errno(c, saved);
}

SHIM_EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    return do_accept(fd, addr, len, 0);
}

SHIM_EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    return do_accept(fd, addr, len, flags);
}

/* connect with O_NONBLOCK set for that one call only. */
static int connect_start(int fd, const struct sockaddr *addr, socklen_t len)
{
    static const int on = 1, off = 0;
    int r, saved;

    REAL(ioctl)(fd, FIONBIO, &on);
    r = REAL(connect)(fd, addr, len);
    saved = errno;
    REAL(ioctl)(fd, FIONBIO, &off);
    errno = saved;
    return r;
}

/* The outcome of a connect that went on in the background. */
static int connect_result(int fd)
{
    int err = 0;
    socklen_t len = sizeof(err);

    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        return -1;
    if (err) {
        errno = err;
        return -1;
    }
    return 0;
}

SHIM_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    struct fdw_info *fi;
    uint64_t deadline = 0;
    int saved = errno, r;

    if (!rt_green())
        return REAL(connect)(fd, addr, len);
    shim_testcancel();
    if (!(fi = shim_blocking_fd(fd)))
        return REAL(connect)(fd, addr, len);
    /* A Unix socket whose listener's backlog is full says EAGAIN where a
     * blocking connect would wait; nothing polls for that, so retry. */
    while ((r = connect_start(fd, addr, len)) < 0 && errno == EAGAIN &&
           addr->sa_family == AF_UNIX)
        gt_sleep(CONNECT_RETRY_NS);     /* not a cancellation point: too short to matter */
    if (r == 0 || errno != EINPROGRESS)
        return (int)shim_keep_errno(r, saved);
    if (shim_wait_fd(fd, fi, FDW_WRITE, &deadline) < 0) {
        if (errno == EAGAIN)
            errno = EINPROGRESS;    /* SO_SNDTIMEO expired: the connect goes on */
        return -1;
    }
    return (int)shim_keep_errno(connect_result(fd), saved);
}

static uint64_t timeval_ns(const void *val, socklen_t len)
{
    const struct timeval *tv = val;

    if (len < sizeof(*tv))
        return 0;
    return (uint64_t)tv->tv_sec * 1000000000u + (uint64_t)tv->tv_usec * 1000u;
}

/* Kernel TLS and a receive low-water mark change what a short read means
 * (shim_drain_off), whoever sets them. */
static bool stops_draining(int level, int opt, const void *val, socklen_t len)
{
    int lowat;

    if (level == IPPROTO_TCP && opt == TCP_ULP)
        return true;
    if (level != SOL_SOCKET || opt != SO_RCVLOWAT || len < sizeof(lowat))
        return false;
    memcpy(&lowat, val, sizeof(lowat));
    return lowat > 1;
}

SHIM_EXPORT int setsockopt(int fd, int level, int opt, const void *val, socklen_t len)
{
    struct fdw_info *fi;
    int r = REAL(setsockopt)(fd, level, opt, val, len);

    if (r == 0 && stops_draining(level, opt, val, len))
        shim_drain_stop();
    if (r == 0 && level == SOL_SOCKET && rt_green() && (fi = fdw_peek(fd))) {
        if (opt == SO_RCVTIMEO_OLD || opt == SO_RCVTIMEO_NEW)
            fi->rcvtimeo = timeval_ns(val, len);
        else if (opt == SO_SNDTIMEO_OLD || opt == SO_SNDTIMEO_NEW)
            fi->sndtimeo = timeval_ns(val, len);
    }
    return r;
}
