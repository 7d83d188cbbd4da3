/* open.c - opening by path: open, open64, openat, openat64, creat, creat64
 * and the fortified __open_2 family. All of them are glibc's
 * openat(AT_FDCWD or dir, path, flags, mode) system call, made here through
 * openat or openat64; all are cancellation points (glibc).
 *
 * A path can name anything, so the table only forgets the new number
 * (fdnew.c says why). And opening a FIFO without O_NONBLOCK read-only or
 * write-only waits in the kernel for the other end: the wait, which would
 * hold the one OS thread (and the thread that is to open the other end
 * with it), runs instead on libuv's thread pool while the green thread
 * parks (rt_offload). A writer first tries with O_NONBLOCK, which succeeds
 * at once when a reader is there (a reader waiting in its own open counts),
 * and then gets the program's flags back (F_SETFL); so a pool thread waits
 * only for an end that has no partner yet.
 *
 * Telling a FIFO: an fstatat of the path before the open, and only for the
 * opens that could wait on one, read-only or write-only without O_NONBLOCK,
 * O_PATH, O_DIRECTORY (O_TMPFILE includes it) or O_CREAT|O_EXCL (which never
 * opens an existing file). Measured on the development machine: open+close
 * 5.5-6.4 us, fstatat 2.3-2.9 us; F_SETFL 0.2 us. Opening every such path
 * with O_NONBLOCK added, then clearing it with F_SETFL, would be cheaper, but
 * is not correct: a character device's driver sees the O_NONBLOCK in its
 * open (a serial line does not wait for the carrier, a sound device answers
 * EBUSY rather than waiting), a file under a lease answers EWOULDBLOCK
 * rather than waiting for the lease to break, and a FIFO's read end opens
 * at once, so a second call (fstat) would still be needed to find FIFOs.
 *
 * What remains: a path that becomes a FIFO between the fstatat and the open
 * still blocks the OS thread there (and one that stops being a FIFO, for a
 * writer, is opened with O_NONBLOCK, cleared at once). The pool wait cannot
 * be interrupted: a signal's handler runs meanwhile (the thread is parked),
 * but the open goes on as under SA_RESTART rather than failing with EINTR,
 * and a cancellation waits for the open to return and acts at the thread's
 * next cancellation point. libuv has 4 pool threads (UV_THREADPOOL_SIZE),
 * shared with name resolution: while 4 opens wait there, a fifth is queued
 * until one of them ends, so 4 writers waiting for readers whose opens are
 * queued behind them wait forever (a reader's open always goes to the pool;
 * a writer's finds a waiting reader without it).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include "fdnew_int.h"
#include "thread_int.h"

typedef int openat_fn(int dir, const char *path, int flags, ...);

/* Whether an open with these flags waits for a partner when it finds a FIFO. */
static bool may_wait(int flags)
{
    int acc = flags & O_ACCMODE;

    return (acc == O_RDONLY || acc == O_WRONLY) &&
           !(flags & (O_NONBLOCK | O_PATH | O_DIRECTORY)) &&
           (flags & (O_CREAT | O_EXCL)) != (O_CREAT | O_EXCL);
}

static bool is_fifo(int dir, const char *path, int flags)
{
    struct stat st;
    int saved = errno;
    bool fifo = fstatat(dir, path, &st, flags & O_NOFOLLOW ? AT_SYMLINK_NOFOLLOW : 0) == 0 &&
                S_ISFIFO(st.st_mode);

    errno = saved;
    return fifo;
}

struct open_job {
    openat_fn *real;
    int dir;
    const char *path;
    int flags;
    mode_t mode;
    int fd, err;                /* the result, and errno on the pool thread */
};

static void open_job(void *arg)
{
    struct open_job *j = arg;

    j->fd = j->real(j->dir, j->path, j->flags, j->mode);
    j->err = errno;
}

/* The open of a FIFO that may wait for its other end. */
static int open_fifo(openat_fn *real, int dir, const char *path, int flags, mode_t mode)
{
    struct open_job j = { real, dir, path, flags, mode, -1, 0 };
    int saved = errno, fd;

    if ((flags & O_ACCMODE) == O_WRONLY) {
        fd = real(dir, path, flags | O_NONBLOCK, mode);
        if (fd >= 0) {
            REAL(fcntl)(fd, F_SETFL, REAL(fcntl)(fd, F_GETFL) & ~O_NONBLOCK);
            errno = saved;
            return fd;
        }
        if (errno != ENXIO)             /* not "no reader yet" */
            return fd;
        errno = saved;
    }
    if (rt_offload(open_job, &j) != 0)
        return real(dir, path, flags, mode);    /* no pool: wait here, as before */
    errno = j.fd < 0 ? j.err : saved;
    return j.fd;
}

static int do_openat(openat_fn *real, int dir, const char *path, int flags, mode_t mode)
{
    int fd;

    if (!rt_green())
        return real(dir, path, flags, mode);
    shim_testcancel();
    if (may_wait(flags) && is_fifo(dir, path, flags))
        fd = open_fifo(real, dir, path, flags, mode);
    else
        fd = real(dir, path, flags, mode);
    return shim_fd_new(fd, FDW_UNKNOWN, false);
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
    return do_openat(REAL(openat), AT_FDCWD, path, flags, mode);
}

SHIM_EXPORT int open64(const char *path, int flags, ...)
{
    mode_t mode = 0;

    OPEN_MODE(flags, mode);
    return do_openat(REAL(openat64), AT_FDCWD, path, flags, mode);
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

/* creat is open with these flags, in the kernel as in glibc; on an existing
 * FIFO it opens the write end. */
#define CREAT_FLAGS (O_WRONLY | O_CREAT | O_TRUNC)

SHIM_EXPORT int creat(const char *path, mode_t mode)
{
    return do_openat(REAL(openat), AT_FDCWD, path, CREAT_FLAGS, mode);
}

SHIM_EXPORT int creat64(const char *path, mode_t mode)
{
    return do_openat(REAL(openat64), AT_FDCWD, path, CREAT_FLAGS, mode);
}

_Noreturn void shim_fortify_fail(const char *what)
{
    REAL(write)(STDERR_FILENO, "*** ", 4);
    REAL(write)(STDERR_FILENO, what, strlen(what));
    REAL(write)(STDERR_FILENO, " ***: terminated\n", 17);
    abort();
}

/* What the fortified open calls check. */
static void open_2_check(int flags)
{
    if (__OPEN_NEEDS_MODE(flags))
        shim_fortify_fail("invalid open call: O_CREAT or O_TMPFILE without mode");
}

SHIM_EXPORT int __open_2(const char *path, int flags)
{
    open_2_check(flags);
    return do_openat(REAL(openat), AT_FDCWD, path, flags, 0);
}

SHIM_EXPORT int __open64_2(const char *path, int flags)
{
    open_2_check(flags);
    return do_openat(REAL(openat64), AT_FDCWD, path, flags, 0);
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
