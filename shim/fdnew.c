/* fdnew.c - calls that create fds: socket, socketpair, pipe, pipe2, eventfd,
 * timerfd_create, signalfd, epoll_create, epoll_create1, memfd_create, dup,
 * open, openat, creat (their 64-bit names, and the fortified __open_2 family).
 *
 * The kernel hands out the lowest free number, which can be one the fd table
 * still holds an entry for: an fd closed where no wrapper saw it (closedir,
 * fclose inside libc). Every call that creates an fd therefore tells the
 * table, without a syscall of its own: where the call says what the fd is
 * and whether the program asked for O_NONBLOCK (SOCK_NONBLOCK, O_NONBLOCK,
 * EFD_NONBLOCK, TFD_NONBLOCK, SFD_NONBLOCK), the entry is recorded; a
 * duplicate takes its original's entry; a path can name anything, so open
 * only forgets the number, and the next wait on it asks the kernel.
 *
 * open of a FIFO waits for the other end in the kernel: that wait is not
 * cooperative (it blocks every green thread until a peer opens it).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>

#include "io_int.h"
#include "thread_int.h"

/* Record a new fd (-1: the call failed; FDW_UNKNOWN: forget the number),
 * leaving errno as the call left it. */
static int learn(int fd, enum fdw_kind kind, bool nonblock)
{
    int saved = errno;

    if (fd < 0)
        return fd;
    if (kind == FDW_UNKNOWN)
        fdw_forget(fd);
    else
        fdw_learn(fd, kind, nonblock);
    errno = saved;
    return fd;
}

static int learn_pair(int r, const int fds[2], enum fdw_kind kind, bool nonblock)
{
    if (r == 0) {
        learn(fds[0], kind, nonblock);
        learn(fds[1], kind, nonblock);
    }
    return r;
}

int shim_fd_dup(int old, int newfd)
{
    struct fdw_info *o = fdw_peek(old), *n;
    int saved = errno;

    if (newfd < 0)
        return newfd;
    if (!o) {
        fdw_forget(newfd);
    } else if ((n = fdw_learn(newfd, o->kind, o->nonblock))) {
        n->rcvtimeo = o->rcvtimeo;      /* socket options belong to the socket */
        n->sndtimeo = o->sndtimeo;
    }
    errno = saved;
    return newfd;
}

SHIM_EXPORT int socket(int domain, int type, int proto)
{
    if (!rt_green())
        return REAL(socket)(domain, type, proto);
    return learn(REAL(socket)(domain, type, proto), FDW_SOCKET, type & SOCK_NONBLOCK);
}

SHIM_EXPORT int socketpair(int domain, int type, int proto, int sv[2])
{
    if (!rt_green())
        return REAL(socketpair)(domain, type, proto, sv);
    return learn_pair(REAL(socketpair)(domain, type, proto, sv), sv, FDW_SOCKET,
                      type & SOCK_NONBLOCK);
}

SHIM_EXPORT int pipe(int fds[2])
{
    if (!rt_green())
        return REAL(pipe)(fds);
    return learn_pair(REAL(pipe)(fds), fds, FDW_NOWAIT, false);
}

SHIM_EXPORT int pipe2(int fds[2], int flags)
{
    if (!rt_green())
        return REAL(pipe2)(fds, flags);
    return learn_pair(REAL(pipe2)(fds, flags), fds, FDW_NOWAIT, flags & O_NONBLOCK);
}

SHIM_EXPORT int eventfd(unsigned init, int flags)
{
    if (!rt_green())
        return REAL(eventfd)(init, flags);
    return learn(REAL(eventfd)(init, flags), FDW_NOWAIT, flags & EFD_NONBLOCK);
}

SHIM_EXPORT int timerfd_create(int clock, int flags)
{
    if (!rt_green())
        return REAL(timerfd_create)(clock, flags);
    return learn(REAL(timerfd_create)(clock, flags), FDW_NOWAIT, flags & TFD_NONBLOCK);
}

/* Given an fd, signalfd changes its mask and ignores the flags. */
SHIM_EXPORT int signalfd(int fd, const sigset_t *mask, int flags)
{
    if (!rt_green() || fd != -1)
        return REAL(signalfd)(fd, mask, flags);
    return learn(REAL(signalfd)(fd, mask, flags), FDW_NOWAIT, flags & SFD_NONBLOCK);
}

SHIM_EXPORT int epoll_create(int size)
{
    if (!rt_green())
        return REAL(epoll_create)(size);
    return learn(REAL(epoll_create)(size), FDW_NOWAIT, false);
}

SHIM_EXPORT int epoll_create1(int flags)
{
    if (!rt_green())
        return REAL(epoll_create1)(flags);
    return learn(REAL(epoll_create1)(flags), FDW_NOWAIT, false);
}

SHIM_EXPORT int memfd_create(const char *name, unsigned flags)
{
    if (!rt_green())
        return REAL(memfd_create)(name, flags);
    return learn(REAL(memfd_create)(name, flags), FDW_PLAIN, false);
}

SHIM_EXPORT int dup(int old)
{
    if (!rt_green())
        return REAL(dup)(old);
    return shim_fd_dup(old, REAL(dup)(old));
}

/* ---- by path: cancellation points, as in glibc ---- */

typedef int open_fn(const char *path, int flags, ...);
typedef int openat_fn(int dir, const char *path, int flags, ...);
typedef int creat_fn(const char *path, mode_t mode);

static int do_open(open_fn *real, const char *path, int flags, mode_t mode)
{
    if (!rt_green())
        return real(path, flags, mode);
    shim_testcancel();
    return learn(real(path, flags, mode), FDW_UNKNOWN, false);
}

static int do_openat(openat_fn *real, int dir, const char *path, int flags, mode_t mode)
{
    if (!rt_green())
        return real(dir, path, flags, mode);
    shim_testcancel();
    return learn(real(dir, path, flags, mode), FDW_UNKNOWN, false);
}

/* The mode argument is there only when the flags ask for one. */
#define OPEN_MODE(flags, mode) \
    do { \
        va_list ap; \
        if (__OPEN_NEEDS_MODE(flags)) { \
            va_start(ap, flags); \
            mode = (mode_t)va_arg(ap, int); \
            va_end(ap); \
        } \
    } while (0)

SHIM_EXPORT int open(const char *path, int flags, ...)
{
    mode_t mode = 0;

    OPEN_MODE(flags, mode);
    return do_open(REAL(open), path, flags, mode);
}

SHIM_EXPORT int open64(const char *path, int flags, ...)
{
    mode_t mode = 0;

    OPEN_MODE(flags, mode);
    return do_open(REAL(open64), path, flags, mode);
}

SHIM_EXPORT int openat(int dir, const char *path, int flags, ...)
{
    mode_t mode = 0;

    OPEN_MODE(flags, mode);
    return do_openat(REAL(openat), dir, path, flags, mode);
}

SHIM_EXPORT int openat64(int dir, const char *path, int flags, ...)
{
    mode_t mode = 0;

    OPEN_MODE(flags, mode);
    return do_openat(REAL(openat64), dir, path, flags, mode);
}

static int do_creat(creat_fn *real, const char *path, mode_t mode)
{
    if (!rt_green())
        return real(path, mode);
    shim_testcancel();
    return learn(real(path, mode), FDW_UNKNOWN, false);
}

SHIM_EXPORT int creat(const char *path, mode_t mode)
{
    return do_creat(REAL(creat), path, mode);
}

SHIM_EXPORT int creat64(const char *path, mode_t mode)
{
    return do_creat(REAL(creat64), path, mode);
}

/* What the fortified open calls check, and glibc's words when they fail
 * (its __fortify_fail, which a shim cannot call). */
static void open_2_check(int flags)
{
    static const char msg[] =
        "*** invalid open call: O_CREAT or O_TMPFILE without mode ***: terminated\n";

    if (__OPEN_NEEDS_MODE(flags)) {
        REAL(write)(STDERR_FILENO, msg, sizeof(msg) - 1);
        abort();
    }
}

SHIM_EXPORT int __open_2(const char *path, int flags)
{
    open_2_check(flags);
    return do_open(REAL(open), path, flags, 0);
}

SHIM_EXPORT int __open64_2(const char *path, int flags)
{
    open_2_check(flags);
    return do_open(REAL(open64), path, flags, 0);
}

SHIM_EXPORT int __openat_2(int dir, const char *path, int flags)
{
    open_2_check(flags);
    return do_openat(REAL(openat), dir, path, flags, 0);
}

SHIM_EXPORT int __openat64_2(int dir, const char *path, int flags)
{
    open_2_check(flags);
    return do_openat(REAL(openat64), dir, path, flags, 0);
}
