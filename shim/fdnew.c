/* fdnew.c - calls that create fds from kernel objects: socket, socketpair,
 * pipe, pipe2, eventfd, timerfd_create, signalfd, epoll_create,
 * epoll_create1, memfd_create, dup, inotify_init, inotify_init1,
 * fanotify_init, pidfd_open, pidfd_getfd, open_by_handle_at, and the mount
 * API's fsopen, fsmount, fspick, open_tree. By path: open.c; inside libc
 * (fopen, opendir, mkstemp, ...): fdlib.c.
 *
 * The kernel hands out the lowest free number, which can be one the fd table
 * still holds an entry for: an fd closed where no wrapper saw it (inside
 * libc, or by a library's raw syscall). Every call that creates an fd
 * therefore tells the table, without a syscall of its own (shim_fd_new: a
 * lookup when the table knows nothing of the number, which is the rule):
 * where the call says what the fd is and whether the program asked for
 * O_NONBLOCK (SOCK_NONBLOCK, O_NONBLOCK, EFD_NONBLOCK, TFD_NONBLOCK,
 * SFD_NONBLOCK, IN_NONBLOCK, FAN_NONBLOCK, PIDFD_NONBLOCK), the entry is
 * recorded; a duplicate takes its original's entry; an fd that can be
 * anything (another process's, one opened by handle, a mount object) only
 * has its number forgotten, and the next wait on it asks the kernel.
 *
 * None of these is a cancellation point but open_by_handle_at (glibc).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/fanotify.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/pidfd.h>

#include "fdnew_int.h"
#include "io_int.h"
#include "thread_int.h"

int shim_fd_new(int fd, enum fdw_kind kind, bool nonblock)
{
    int saved = errno;

    if (fd >= 0 && kind == FDW_UNKNOWN)
        fdw_forget(fd);
    else if (fd >= 0)
        fdw_learn(fd, kind, nonblock);
    errno = saved;
    return fd;
}

int shim_own_fd(int fd)
{
    if (fd >= 0 && !fdw_learn(fd, FDW_NOWAIT, true)) {
        REAL(close)(fd);
        return -1;
    }
    return fd;
}

int shim_own_fd_close(int fd)
{
    if (fd >= 0) {
        fdw_forget(fd);
        REAL(close)(fd);
    }
    return -1;
}

void shim_fd_gone(int fd)
{
    shim_fd_new(fd, FDW_UNKNOWN, false);
}

static int learn_pair(int r, const int fds[2], enum fdw_kind kind, bool nonblock)
{
    if (r == 0) {
        shim_fd_new(fds[0], kind, nonblock);
        shim_fd_new(fds[1], kind, nonblock);
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
        shim_fd_copy_socket(n, o);
    }
    errno = saved;
    return newfd;
}

/* A TCP socket: its short reads take all that is queued (fdw_read_short). */
static bool is_tcp(int domain, int type, int proto)
{
    return (domain == AF_INET || domain == AF_INET6) &&
           (type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) == SOCK_STREAM &&
           (proto == 0 || proto == IPPROTO_TCP);
}

SHIM_EXPORT int socket(int domain, int type, int proto)
{
    struct fdw_info *fi;
    int fd;

    if (!rt_green())
        return REAL(socket)(domain, type, proto);
    fd = shim_fd_new(REAL(socket)(domain, type, proto), FDW_SOCKET, type & SOCK_NONBLOCK);
    if ((fi = fdw_peek(fd)))
        fi->drains = is_tcp(domain, type, proto);
    return fd;
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
    return shim_fd_new(REAL(eventfd)(init, flags), FDW_NOWAIT, flags & EFD_NONBLOCK);
}

SHIM_EXPORT int timerfd_create(int clock, int flags)
{
    if (!rt_green())
        return REAL(timerfd_create)(clock, flags);
    return shim_fd_new(REAL(timerfd_create)(clock, flags), FDW_NOWAIT, flags & TFD_NONBLOCK);
}

/* Given an fd, signalfd changes its mask and ignores the flags. */
SHIM_EXPORT int signalfd(int fd, const sigset_t *mask, int flags)
{
    if (!rt_green() || fd != -1)
        return REAL(signalfd)(fd, mask, flags);
    return shim_fd_new(REAL(signalfd)(fd, mask, flags), FDW_NOWAIT, flags & SFD_NONBLOCK);
}

SHIM_EXPORT int epoll_create(int size)
{
    if (!rt_green())
        return REAL(epoll_create)(size);
    return shim_fd_new(REAL(epoll_create)(size), FDW_NOWAIT, false);
}

SHIM_EXPORT int epoll_create1(int flags)
{
    if (!rt_green())
        return REAL(epoll_create1)(flags);
    return shim_fd_new(REAL(epoll_create1)(flags), FDW_NOWAIT, false);
}

SHIM_EXPORT int memfd_create(const char *name, unsigned flags)
{
    if (!rt_green())
        return REAL(memfd_create)(name, flags);
    return shim_fd_new(REAL(memfd_create)(name, flags), FDW_PLAIN, false);
}

SHIM_EXPORT int dup(int old)
{
    if (!rt_green())
        return REAL(dup)(old);
    return shim_fd_dup(old, REAL(dup)(old));
}

SHIM_EXPORT int inotify_init(void)
{
    if (!rt_green())
        return REAL(inotify_init)();
    return shim_fd_new(REAL(inotify_init)(), FDW_NOWAIT, false);
}

SHIM_EXPORT int inotify_init1(int flags)
{
    if (!rt_green())
        return REAL(inotify_init1)(flags);
    return shim_fd_new(REAL(inotify_init1)(flags), FDW_NOWAIT, flags & IN_NONBLOCK);
}

SHIM_EXPORT int fanotify_init(unsigned flags, unsigned event_flags)
{
    if (!rt_green())
        return REAL(fanotify_init)(flags, event_flags);
    return shim_fd_new(REAL(fanotify_init)(flags, event_flags), FDW_NOWAIT, flags & FAN_NONBLOCK);
}

SHIM_EXPORT int pidfd_open(pid_t pid, unsigned flags)
{
    if (!rt_green())
        return REAL(pidfd_open)(pid, flags);
    return shim_fd_new(REAL(pidfd_open)(pid, flags), FDW_NOWAIT, flags & PIDFD_NONBLOCK);
}

SHIM_EXPORT int pidfd_getfd(int pidfd, int target, unsigned flags)
{
    if (!rt_green())
        return REAL(pidfd_getfd)(pidfd, target, flags);
    return shim_fd_new(REAL(pidfd_getfd)(pidfd, target, flags), FDW_UNKNOWN, false);
}

SHIM_EXPORT int open_by_handle_at(int mount_fd, struct file_handle *handle, int flags)
{
    if (!rt_green())
        return REAL(open_by_handle_at)(mount_fd, handle, flags);
    shim_testcancel();
    return shim_fd_new(REAL(open_by_handle_at)(mount_fd, handle, flags), FDW_UNKNOWN, false);
}

SHIM_EXPORT int fsopen(const char *fs, unsigned flags)
{
    if (!rt_green())
        return REAL(fsopen)(fs, flags);
    return shim_fd_new(REAL(fsopen)(fs, flags), FDW_UNKNOWN, false);
}

SHIM_EXPORT int fsmount(int fs, unsigned flags, unsigned attr)
{
    if (!rt_green())
        return REAL(fsmount)(fs, flags, attr);
    return shim_fd_new(REAL(fsmount)(fs, flags, attr), FDW_UNKNOWN, false);
}

SHIM_EXPORT int fspick(int dir, const char *path, unsigned flags)
{
    if (!rt_green())
        return REAL(fspick)(dir, path, flags);
    return shim_fd_new(REAL(fspick)(dir, path, flags), FDW_UNKNOWN, false);
}

SHIM_EXPORT int open_tree(int dir, const char *path, unsigned flags)
{
    if (!rt_green())
        return REAL(open_tree)(dir, path, flags);
    return shim_fd_new(REAL(open_tree)(dir, path, flags), FDW_UNKNOWN, false);
}
