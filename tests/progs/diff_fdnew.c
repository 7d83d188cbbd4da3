/* diff_fdnew.c - calls that create fds, and what the fds they create do.
 *
 * Checks: socket, socketpair, pipe2, eventfd, timerfd_create, signalfd made
 * with their NONBLOCK flags answer EAGAIN at once and show O_NONBLOCK; the
 * same made blocking wait for another thread (a pipe, a socketpair, an
 * eventfd written 30 ms later, a timerfd expiring after 50 ms, a signalfd
 * woken by a signal sent 30 ms later, a FIFO opened O_RDWR by path) and show
 * no O_NONBLOCK after the wait; dup, fcntl(F_DUPFD) and F_DUPFD_CLOEXEC of a
 * blocking and of a non-blocking socket behave as their originals; memfd,
 * epoll fds, open, openat, creat, open64 and their errors (ENOENT, EEXIST,
 * EBADF); a fortified open with flags known only at run time (__open_2,
 * __openat_2, and the 64-bit ones), and one with O_CREAT and no mode, which
 * aborts (in a child);
 * fd numbers the program used, closed inside libc (closedir), and reused by
 * pipe() and socketpair(): the new fds wait as they should.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define DELAY_US 30000

static char dir[64];

/* fd numbers depend on the runtime's own fds: print whether one was made */
static const char *fdres(int fd, int err)
{
    return fd >= 0 ? "an fd" : res(fd, err);
}

/* ---- a read that another thread satisfies DELAY_US later ---- */

struct late {
    int fd;                     /* written to */
    const void *buf;
    size_t n;
};

static void *late_write(void *arg)
{
    struct late *l = arg;

    usleep(DELAY_US);
    if (write(l->fd, l->buf, l->n) != (ssize_t)l->n)
        die("late write");
    return NULL;
}

static void *idle(void *arg)
{
    return arg;
}

static void *late_signal(void *arg)
{
    (void)arg;
    usleep(DELAY_US);
    kill(getpid(), SIGUSR1);
    return NULL;
}

/* Read n bytes from rfd, which `fn` makes readable DELAY_US later. */
static void waits(const char *what, int rfd, size_t n, void *(*fn)(void *), void *arg)
{
    char buf[256];
    uint64_t t0 = now_us();
    pthread_t t = spawn(fn, arg);
    ssize_t r = read(rfd, buf, n);

    join(t);
    printf("%s: read %s after >= 25 ms: %s, then %s\n", what, res(r, errno),
           now_us() - t0 >= 25000 ? "yes" : "no", fd_mode(rfd));
}

static void nonblocking(const char *what, int fd, size_t n)
{
    char buf[256];

    errno = 0;
    ssize_t r = read(fd, buf, n);
    printf("%s: %s, read %s\n", what, fd_mode(fd), res(r, errno));
}

static void made_nonblocking(void)
{
    int sv[2], p[2], fd;
    sigset_t set;

    printf("== made with the NONBLOCK flags\n");
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0)) < 0 ||
        bind(fd, (struct sockaddr *)&(struct sockaddr_un){ AF_UNIX, "" },
             sizeof(sa_family_t)) < 0 ||
        listen(fd, 1) < 0)
        die("socket");
    printf("socket(SOCK_NONBLOCK): %s\n", fd_mode(fd));
    SHOW("accept on it with nobody connecting", accept(fd, NULL, NULL));
    close(fd);
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0 || pipe2(p, O_NONBLOCK) < 0)
        die("socketpair");
    nonblocking("socketpair(SOCK_NONBLOCK)", sv[0], 8);
    nonblocking("pipe2(O_NONBLOCK)", p[0], 8);
    if ((fd = eventfd(0, EFD_NONBLOCK)) < 0)
        die("eventfd");
    nonblocking("eventfd(EFD_NONBLOCK)", fd, 8);
    close(fd);
    if ((fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK)) < 0)
        die("timerfd");
    nonblocking("timerfd_create(TFD_NONBLOCK)", fd, 8);
    close(fd);
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    if ((fd = signalfd(-1, &set, SFD_NONBLOCK)) < 0)
        die("signalfd");
    nonblocking("signalfd(SFD_NONBLOCK)", fd, sizeof(struct signalfd_siginfo));
    SHOW("signalfd on that fd, new mask", signalfd(fd, &set, 0) == fd ? 0 : -1);
    nonblocking("signalfd(SFD_NONBLOCK) still", fd, sizeof(struct signalfd_siginfo));
    close(fd);
    close(sv[0]);
    close(sv[1]);
    close(p[0]);
    close(p[1]);
}

static void made_blocking(void)
{
    int sv[2], p[2], fd;
    uint64_t one = 1;
    struct itimerspec its = { { 0, 0 }, { 0, 50000000 } };
    sigset_t set;
    char fifo[96];

    printf("== made blocking\n");
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 || pipe(p) < 0)
        die("socketpair");
    waits("pipe", p[0], 4, late_write, &(struct late){ p[1], "pipe", 4 });
    waits("socketpair", sv[0], 6, late_write, &(struct late){ sv[1], "socket", 6 });
    if ((fd = eventfd(0, 0)) < 0)
        die("eventfd");
    waits("eventfd", fd, 8, late_write, &(struct late){ fd, &one, 8 });
    close(fd);
    if ((fd = timerfd_create(CLOCK_MONOTONIC, 0)) < 0 || timerfd_settime(fd, 0, &its, NULL) < 0)
        die("timerfd");
    waits("timerfd expiring after 50 ms", fd, 8, idle, NULL);
    close(fd);
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    if ((fd = signalfd(-1, &set, 0)) < 0)
        die("signalfd");
    waits("signalfd", fd, sizeof(struct signalfd_siginfo), late_signal, NULL);
    close(fd);
    snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
    if (mkfifo(fifo, 0600) < 0 || (fd = open(fifo, O_RDWR)) < 0)
        die("fifo");
    waits("FIFO opened O_RDWR", fd, 4, late_write, &(struct late){ fd, "fifo", 4 });
    close(fd);
    if ((fd = open(fifo, O_RDONLY | O_NONBLOCK)) < 0)
        die("fifo");
    nonblocking("FIFO opened O_RDONLY|O_NONBLOCK", fd, 4);
    close(fd);
    unlink(fifo);

    printf("== duplicates\n");
    fd = dup(sv[0]);
    waits("dup of a blocking socket", fd, 3, late_write, &(struct late){ sv[1], "dup", 3 });
    close(fd);
    fd = fcntl(sv[0], F_DUPFD, 100);
    printf("F_DUPFD 100: %s, at least 100: %s\n", fdres(fd, errno), fd >= 100 ? "yes" : "no");
    waits("F_DUPFD of a blocking socket", fd, 3, late_write, &(struct late){ sv[1], "dup", 3 });
    close(fd);
    fd = fcntl(sv[0], F_DUPFD_CLOEXEC, 0);
    printf("F_DUPFD_CLOEXEC: FD_CLOEXEC %s\n", fcntl(fd, F_GETFD) & FD_CLOEXEC ? "set" : "clear");
    waits("F_DUPFD_CLOEXEC of a blocking socket", fd, 3, late_write,
          &(struct late){ sv[1], "dup", 3 });
    close(fd);
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    fd = dup(sv[0]);
    nonblocking("dup of a socket made O_NONBLOCK", fd, 3);
    close(fd);
    fd = fcntl(sv[0], F_DUPFD, 0);
    nonblocking("F_DUPFD of it", fd, 3);
    close(fd);
    fcntl(sv[0], F_SETFL, 0);
    fd = dup(sv[0]);
    waits("dup after F_SETFL 0", fd, 3, late_write, &(struct late){ sv[1], "dup", 3 });
    close(fd);
    SHOW("dup of fd -1", dup(-1));
    SHOW("F_DUPFD of fd -1", fcntl(-1, F_DUPFD, 0));
    close(sv[0]);
    close(sv[1]);
    close(p[0]);
    close(p[1]);
}

/* What fortified programs built with _FILE_OFFSET_BITS=64 call. */
int __open64_2(const char *path, int flags);
int __openat64_2(int dir, const char *path, int flags);

static volatile int rdonly = O_RDONLY, creat_no_mode = O_CREAT | O_WRONLY;

static void by_path(void)
{
    char path[96], buf[16];
    int fd, d, st;
    pid_t pid;

    printf("== by path\n");
    snprintf(path, sizeof(path), "%s/file", dir);
    SHOW("open of a missing file", open(path, O_RDONLY));
    errno = 0;
    fd = creat(path, 0600);
    printf("creat: %s\n", fdres(fd, errno));
    SHOW("write", write(fd, "0123456789", 10));
    close(fd);
    SHOW("open O_CREAT|O_EXCL of it", open(path, O_CREAT | O_EXCL | O_WRONLY, 0600));
    errno = 0;
    fd = open64(path, O_RDONLY);
    printf("open64: %s\n", fdres(fd, errno));
    SHOW("read", read(fd, buf, sizeof(buf)));
    close(fd);
    if ((d = open(dir, O_RDONLY | O_DIRECTORY)) < 0)
        die("open dir");
    errno = 0;
    fd = openat(d, "file", O_RDONLY);
    printf("openat: %s\n", fdres(fd, errno));
    SHOW("pread at 5", pread(fd, buf, 3, 5));
    close(fd);
    SHOW("openat on fd -1, relative path", openat(-1, "file", O_RDONLY));
    errno = 0;
    fd = openat64(d, "file", O_RDWR | O_APPEND);
    printf("openat64 O_APPEND: %s\n", fdres(fd, errno));
    SHOW("write", write(fd, "abc", 3));
    SHOW("read at 10", pread(fd, buf, 3, 10));
    close(fd);
    errno = 0;
    fd = open(path, rdonly);
    printf("fortified open, flags known at run time (__open_2): %s\n", fdres(fd, errno));
    SHOW("read", read(fd, buf, 4));
    close(fd);
    errno = 0;
    fd = openat(d, "file", rdonly);
    printf("fortified openat (__openat_2): %s\n", fdres(fd, errno));
    close(fd);
    errno = 0;
    fd = __open64_2(path, rdonly);
    printf("__open64_2 (what _FILE_OFFSET_BITS=64 calls): %s\n", fdres(fd, errno));
    close(fd);
    errno = 0;
    fd = __openat64_2(d, "file", rdonly);
    printf("__openat64_2: %s\n", fdres(fd, errno));
    close(fd);
    SHOW("__openat64_2 of a missing file", __openat64_2(d, "missing", rdonly));
    errno = 0;
    fd = creat64(path, 0600);
    printf("creat64 of it again: %s\n", fdres(fd, errno));
    SHOW("read from it (write only)", read(fd, buf, 4));
    SHOW("its size", lseek(fd, 0, SEEK_END));
    close(fd);
    pid = xfork();
    if (pid == 0) {
        close(2);               /* glibc's message */
        _exit(open(path, creat_no_mode) < 0 ? 1 : 0);
    }
    if (waitpid(pid, &st, 0) < 0)
        die("waitpid");
    printf("fortified open with O_CREAT and no mode: %s\n",
           WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT ? "aborted (SIGABRT)" : "not aborted");
    unlink(path);
    close(d);

    errno = 0;
    fd = memfd_create("diff_fdnew", 0);
    printf("memfd_create: %s\n", fdres(fd, errno));
    SHOW("write", write(fd, "memfd", 5));
    SHOW("pread at 1", pread(fd, buf, 4, 1));
    close(fd);
    errno = 0;
    fd = epoll_create1(EPOLL_CLOEXEC);
    printf("epoll_create1: %s\n", fdres(fd, errno));
    SHOW("read from it", read(fd, buf, 8));
    close(fd);
    errno = 0;
    fd = epoll_create(1);
    printf("epoll_create: %s\n", fdres(fd, errno));
    close(fd);
    SHOW("epoll_create(0)", epoll_create(0));
    SHOW("socket of family 12345", socket(12345, SOCK_STREAM, 0));
    SHOW("eventfd with bad flags", eventfd(0, 12345));
}

/* An fd number freed inside libc (no close() the shim sees) then reused. */
static void reused(void)
{
    int p[2], sv[2], fd;
    char buf[4];
    DIR *dd;

    printf("== fd numbers closed inside libc, reused\n");
    if (!(dd = opendir(dir)))
        die("opendir");
    fd = dirfd(dd);
    SHOW("read on a directory fd", read(fd, buf, 4));
    closedir(dd);
    xpipe(p);
    printf("pipe() takes the number closedir freed: %s\n", p[0] == fd ? "yes" : "no");
    waits("the pipe", p[0], 4, late_write, &(struct late){ p[1], "pipe", 4 });
    close(p[0]);
    close(p[1]);

    if (!(dd = opendir(dir)))
        die("opendir");
    fd = dirfd(dd);
    SHOW("read on another directory fd", read(fd, buf, 4));
    closedir(dd);
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        die("socketpair");
    printf("socketpair() takes the number closedir freed: %s\n", sv[0] == fd ? "yes" : "no");
    waits("the socketpair", sv[0], 4, late_write, &(struct late){ sv[1], "sock", 4 });
    close(sv[0]);
    close(sv[1]);
}

int main(void)
{
    sigset_t set;

    alarm(20);
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    snprintf(dir, sizeof(dir), "/tmp/diff_fdnew.XXXXXX");
    if (!mkdtemp(dir))
        die("mkdtemp");
    made_nonblocking();
    made_blocking();
    by_path();
    reused();
    rmdir(dir);
    return 0;
}
