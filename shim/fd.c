/* fd.c - calls that end an fd's life or change how the program sees it.
 *
 * close, close_range, closefrom, dup2, dup3 and fclose release the fd's wait state (waiters get EBADF,
 * the loop stops watching) before the number can be reused. fcntl(F_SETFL)
 * and ioctl(FIONBIO) keep the runtime's copy of the program's O_NONBLOCK view
 * current; an fd made by fcntl(F_DUPFD) gets its original's entry. The
 * runtime's own fds look closed to close, dup2/dup3 and fcntl (EBADF).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/close_range.h>
#include <stdarg.h>
#include <sys/param.h>

#include "io_int.h"
#include "proc_int.h"

/* The runtime's own fds are not the program's to close or replace: it gets
 * the EBADF of an fd it never opened. */
static int refuse_owned(void)
{
    errno = EBADF;
    return -1;
}

SHIM_EXPORT int close(int fd)
{
    if (rt_green()) {
        if (rt_fd_owned(fd))
            return refuse_owned();
        fdw_forget(fd);
    }
    return REAL(close)(fd);
}

/* close_range over [first, last], stepping over the runtime's fds. */
static int close_range_around(unsigned first, unsigned last, int flags)
{
    int owned;

    while ((owned = rt_fd_next_owned((int)MIN(first, (unsigned)INT_MAX))) >= 0 &&
           (unsigned)owned <= last) {
        if ((unsigned)owned > first && REAL(close_range)(first, owned - 1, flags))
            return -1;
        if ((unsigned)owned == last)
            return 0;
        first = owned + 1;
    }
    return REAL(close_range)(first, last, flags);
}

SHIM_EXPORT int close_range(unsigned first, unsigned last, int flags)
{
    if (!rt_green() || first > last || (flags & ~(CLOSE_RANGE_CLOEXEC | CLOSE_RANGE_UNSHARE)))
        return REAL(close_range)(first, last, flags);
    if (!(flags & CLOSE_RANGE_CLOEXEC))
        fdw_forget_range(first, last);
    return close_range_around(first, last, flags);
}

/* glibc's closefrom is close_range to the end, with a slow fallback for
 * kernels without it (never the case here: it came with 5.9). */
SHIM_EXPORT void closefrom(int first)
{
    if (!rt_green() || first < 0) {
        REAL(closefrom)(first);
        return;
    }
    fdw_forget_range((unsigned)first, ~0u);
    close_range_around((unsigned)first, ~0u, 0);
}

/* dup2/dup3 may replace `new`: not one of the runtime's fds, and its wait
 * state goes first. False (errno set) when refused. */
static bool may_replace(int old, int new)
{
    if (!rt_green() || old == new || REAL(fcntl)(old, F_GETFD) < 0)
        return true;
    if (rt_fd_owned(new)) {
        refuse_owned();
        return false;
    }
    fdw_forget(new);
    return true;
}

SHIM_EXPORT int dup2(int old, int new)
{
    return may_replace(old, new) ? REAL(dup2)(old, new) : -1;
}

SHIM_EXPORT int dup3(int old, int new, int flags)
{
    return may_replace(old, new) ? REAL(dup3)(old, new, flags) : -1;
}

/* A popen'ed stream is pclose'd: glibc's wait for the child in their close
 * hook. Pending output is flushed cooperatively first: glibc's fclose would
 * write it with the OS thread blocked. _fileno, not fileno(), which sets errno for
 * a stream without an fd (fmemopen). */
SHIM_EXPORT int fclose(FILE *f)
{
    int r;

    if (!rt_green())
        return REAL(fclose)(f);
    if (shim_pclose(f, &r))
        return r;
    if (f->_IO_write_ptr > f->_IO_write_base)
        fflush(f);
    fdw_forget(f->_fileno);
    return REAL(fclose)(f);
}

/* fcntl's third argument is an int or a pointer; both fit in a long. The
 * runtime's fds look closed, as to a loop looking for open fds. After
 * a successful F_SETFL, remember the program's O_NONBLOCK choice; a new fd
 * from F_DUPFD takes its original's entry. */
static int do_fcntl(int (*real)(int, int, ...), int fd, int cmd, va_list ap)
{
    unsigned long arg = va_arg(ap, unsigned long);
    struct fdw_info *fi;
    int r;

    if (rt_green() && rt_fd_owned(fd))
        return refuse_owned();
    r = real(fd, cmd, arg);
    if (r < 0 || !rt_green())
        return r;
    if (cmd == F_SETFL && (fi = fdw_peek(fd)))
        fi->nonblock = (arg & O_NONBLOCK) != 0;
    else if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
        shim_fd_dup(fd, r);
    return r;
}

SHIM_EXPORT int fcntl(int fd, int cmd, ...)
{
    va_list ap;
    int r;

    va_start(ap, cmd);
    r = do_fcntl(REAL(fcntl), fd, cmd, ap);
    va_end(ap);
    return r;
}

SHIM_EXPORT int fcntl64(int fd, int cmd, ...)
{
    va_list ap;
    int r;

    va_start(ap, cmd);
    r = do_fcntl(REAL(fcntl64), fd, cmd, ap);
    va_end(ap);
    return r;
}

SHIM_EXPORT int ioctl(int fd, unsigned long req, ...)
{
    struct fdw_info *fi;
    void *arg;
    va_list ap;
    int r;

    va_start(ap, req);
    arg = va_arg(ap, void *);
    va_end(ap);
    r = REAL(ioctl)(fd, req, arg);
    if (r >= 0 && req == FIONBIO && rt_green() && (fi = fdw_peek(fd)))
        fi->nonblock = *(const int *)arg != 0;
    return r;
}
