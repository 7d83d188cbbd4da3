/* fdlib.c - libc functions that open or close fds with internal calls no
 * wrapper sees: fopen, fopen64, freopen, freopen64, tmpfile, tmpfile64,
 * opendir, closedir, the mkstemp family, mq_open, shm_open, posix_openpt,
 * getpt, openpty, login_tty.
 *
 * An fd the table holds an entry for can be closed inside libc (closedir,
 * freopen, login_tty's dup2s), and its number then reused by another call of
 * libc's: the stale entry would have a wait on the new fd misjudge it (a
 * regular file's entry on what is now an inotify fd or a pipe passes a
 * blocking read straight to the kernel, which blocks every green thread; a
 * non-blocking pipe's entry would have a blocking one answer EAGAIN). So
 * each of these forgets the numbers it closes, before, and those it hands
 * out, after (fdnew.c says what that costs). fdopen and fdopendir take an
 * fd the program has already: nothing to do.
 *
 * glibc opens fopen's and freopen's file (unless the mode has 'c'),
 * tmpfile's and mkstemp's with its cancellable open: those are cancellation
 * points here too. glibc's fopen of a FIFO waits for the other end inside
 * libc, with the OS thread (open.c makes open wait on the pool instead).
 */
#include <dirent.h>
#include <mqueue.h>
#include <pty.h>
#include <stdarg.h>
#include <utmp.h>

#include "fdnew_int.h"
#include "thread_int.h"

/* glibc's fortified mq_open, which its headers declare only to programs
 * built with _FORTIFY_SOURCE. */
mqd_t __mq_open_2(const char *name, int oflag);

static FILE *stream_new(FILE *f)
{
    if (f)
        shim_fd_new(f->_fileno, FDW_UNKNOWN, false);
    return f;
}

/* Whether glibc opens a stream's file with its cancellable open: unless
 * the mode has 'c' among the 6 characters it reads after the first. */
static void stream_testcancel(const char *mode)
{
    if (mode[0])
        for (int i = 1; i < 7 && mode[i]; i++)
            if (mode[i] == 'c')
                return;
    shim_testcancel();
}

SHIM_EXPORT FILE *fopen(const char *path, const char *mode)
{
    if (!rt_green())
        return REAL(fopen)(path, mode);
    stream_testcancel(mode);
    return stream_new(REAL(fopen)(path, mode));
}

SHIM_EXPORT FILE *fopen64(const char *path, const char *mode)
{
    if (!rt_green())
        return REAL(fopen64)(path, mode);
    stream_testcancel(mode);
    return stream_new(REAL(fopen64)(path, mode));
}

/* freopen closes the stream's fd before it opens the new one. */
SHIM_EXPORT FILE *freopen(const char *path, const char *mode, FILE *f)
{
    if (!rt_green())
        return REAL(freopen)(path, mode, f);
    stream_testcancel(mode);
    shim_fd_gone(f->_fileno);
    return stream_new(REAL(freopen)(path, mode, f));
}

SHIM_EXPORT FILE *freopen64(const char *path, const char *mode, FILE *f)
{
    if (!rt_green())
        return REAL(freopen64)(path, mode, f);
    stream_testcancel(mode);
    shim_fd_gone(f->_fileno);
    return stream_new(REAL(freopen64)(path, mode, f));
}

SHIM_EXPORT FILE *tmpfile(void)
{
    if (!rt_green())
        return REAL(tmpfile)();
    shim_testcancel();
    return stream_new(REAL(tmpfile)());
}

SHIM_EXPORT FILE *tmpfile64(void)
{
    if (!rt_green())
        return REAL(tmpfile64)();
    shim_testcancel();
    return stream_new(REAL(tmpfile64)());
}

SHIM_EXPORT DIR *opendir(const char *path)
{
    DIR *d;

    if (!rt_green())
        return REAL(opendir)(path);
    if ((d = REAL(opendir)(path)))
        shim_fd_new(dirfd(d), FDW_UNKNOWN, false);
    return d;
}

/* glibc's closedir answers EINVAL for NULL, though its header declares the
 * argument nonnull: hidden from the compiler, the check stays. */
SHIM_EXPORT int closedir(DIR *d)
{
    DIR *p = d;

    __asm__("" : "+r"(p));
    if (rt_green() && p)
        shim_fd_gone(dirfd(p));
    return REAL(closedir)(d);
}

/* ---- fds ---- */

static int made(int fd)
{
    return shim_fd_new(fd, FDW_UNKNOWN, false);
}

SHIM_EXPORT int mkstemp(char *tmpl)
{
    if (!rt_green())
        return REAL(mkstemp)(tmpl);
    shim_testcancel();
    return made(REAL(mkstemp)(tmpl));
}

SHIM_EXPORT int mkstemp64(char *tmpl)
{
    if (!rt_green())
        return REAL(mkstemp64)(tmpl);
    shim_testcancel();
    return made(REAL(mkstemp64)(tmpl));
}

SHIM_EXPORT int mkostemp(char *tmpl, int flags)
{
    if (!rt_green())
        return REAL(mkostemp)(tmpl, flags);
    shim_testcancel();
    return made(REAL(mkostemp)(tmpl, flags));
}

SHIM_EXPORT int mkostemp64(char *tmpl, int flags)
{
    if (!rt_green())
        return REAL(mkostemp64)(tmpl, flags);
    shim_testcancel();
    return made(REAL(mkostemp64)(tmpl, flags));
}

SHIM_EXPORT int mkstemps(char *tmpl, int suffix_len)
{
    if (!rt_green())
        return REAL(mkstemps)(tmpl, suffix_len);
    shim_testcancel();
    return made(REAL(mkstemps)(tmpl, suffix_len));
}

SHIM_EXPORT int mkstemps64(char *tmpl, int suffix_len)
{
    if (!rt_green())
        return REAL(mkstemps64)(tmpl, suffix_len);
    shim_testcancel();
    return made(REAL(mkstemps64)(tmpl, suffix_len));
}

SHIM_EXPORT int mkostemps(char *tmpl, int suffix_len, int flags)
{
    if (!rt_green())
        return REAL(mkostemps)(tmpl, suffix_len, flags);
    shim_testcancel();
    return made(REAL(mkostemps)(tmpl, suffix_len, flags));
}

SHIM_EXPORT int mkostemps64(char *tmpl, int suffix_len, int flags)
{
    if (!rt_green())
        return REAL(mkostemps64)(tmpl, suffix_len, flags);
    shim_testcancel();
    return made(REAL(mkostemps64)(tmpl, suffix_len, flags));
}

/* The mode and attributes are there only with O_CREAT (glibc reads them so). */
SHIM_EXPORT mqd_t mq_open(const char *name, int oflag, ...)
{
    struct mq_attr *attr = NULL;
    mode_t mode = 0;
    va_list ap;

    if (oflag & O_CREAT) {
        va_start(ap, oflag);
        mode = va_arg(ap, mode_t);
        attr = va_arg(ap, struct mq_attr *);
        va_end(ap);
    }
    if (!rt_green())
        return REAL(mq_open)(name, oflag, mode, attr);
    return made(REAL(mq_open)(name, oflag, mode, attr));
}

SHIM_EXPORT mqd_t __mq_open_2(const char *name, int oflag)
{
    if (oflag & O_CREAT)
        shim_fortify_fail("invalid mq_open call: O_CREAT without mode and attr");
    return mq_open(name, oflag);
}

SHIM_EXPORT int shm_open(const char *name, int oflag, mode_t mode)
{
    if (!rt_green())
        return REAL(shm_open)(name, oflag, mode);
    return made(REAL(shm_open)(name, oflag, mode));
}

SHIM_EXPORT int posix_openpt(int flags)
{
    if (!rt_green())
        return REAL(posix_openpt)(flags);
    return made(REAL(posix_openpt)(flags));
}

SHIM_EXPORT int getpt(void)
{
    if (!rt_green())
        return REAL(getpt)();
    return made(REAL(getpt)());
}

SHIM_EXPORT int openpty(int *master, int *slave, char *name, const struct termios *termp,
                        const struct winsize *winp)
{
    int r;

    if (!rt_green())
        return REAL(openpty)(master, slave, name, termp, winp);
    if ((r = REAL(openpty)(master, slave, name, termp, winp)) == 0) {
        made(*master);
        made(*slave);
    }
    return r;
}

/* login_tty makes fd the caller's stdin, stdout and stderr (dup2), then
 * closes it. */
SHIM_EXPORT int login_tty(int fd)
{
    int r;

    if (!rt_green())
        return REAL(login_tty)(fd);
    if ((r = REAL(login_tty)(fd)) == 0) {
        shim_fd_gone(STDIN_FILENO);
        shim_fd_gone(STDOUT_FILENO);
        shim_fd_gone(STDERR_FILENO);
        shim_fd_gone(fd);
    }
    return r;
}
