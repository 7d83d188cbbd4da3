/* diff_fdstale.c - fd numbers closed inside libc and reused by calls that
 * create fds inside libc or the kernel.
 *
 * Checks, each on a number the program used before (so that a runtime
 * keeping a table of fds knows it) and that libc then closed itself:
 *   - a directory's fd (opendir, dirfd, read: EISDIR), closed by closedir,
 *     reused by a blocking inotify_init1: its read waits for a thread that
 *     creates a file in the watched directory;
 *   - the same, reused by fopen of a FIFO (a writer holds it open): a read on
 *     its fd waits for the writer thread;
 *   - a pipe's read end the program made O_NONBLOCK, under a stream that
 *     freopen moves to a FIFO (closing the pipe end inside libc): a read on
 *     the new, blocking fd waits for the writer thread;
 *   - inotify_init1 with IN_NONBLOCK on a number last known blocking: EAGAIN
 *     at once; pidfd_open on another: it polls readable when the child ends;
 *   - mkstemp, tmpfile, opendir and shm_open reuse numbers too: their fds
 *     read and write as they should.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

#define DELAY_MS 40

static char dir[] = "/tmp/diff_fdstale.XXXXXX";
static char fifo[64];

/* DELAY_MS after it starts: create a file in dir, or write to an fd. */
struct later {
    int fd;                     /* -1: create a file */
};

static void *later(void *arg)
{
    struct later *l = arg;
    char path[96];
    int fd;

    sleep_ms(DELAY_MS);
    if (l->fd >= 0) {
        if (write(l->fd, "late", 4) != 4)
            die("write");
        return NULL;
    }
    snprintf(path, sizeof(path), "%s/new", dir);
    if ((fd = open(path, O_WRONLY | O_CREAT, 0600)) < 0)
        die("create");
    close(fd);
    unlink(path);
    return NULL;
}

static const char *waited(long t0)
{
    return now_ms() - t0 >= DELAY_MS - 5 ? "after the delay" : "at once";
}

/* A directory's number, known to whoever watches read, closed by closedir. */
static int dir_number_closed(void)
{
    DIR *d = opendir(dir);
    char c;
    int fd;

    if (!d)
        die("opendir");
    fd = dirfd(d);
    SHOW("read on the directory", read(fd, &c, 1));
    closedir(d);
    return fd;
}

static void inotify_reuse(void)
{
    struct later l = { -1 };
    int old = dir_number_closed(), fd;
    char buf[256];
    ssize_t n;
    pthread_t t;
    long t0;

    fd = inotify_init1(IN_CLOEXEC);
    printf("inotify_init1 took the directory's number: %s\n", yes(fd == old));
    if (inotify_add_watch(fd, dir, IN_CREATE) < 0)
        die("inotify_add_watch");
    t = spawn(later, &l);
    t0 = now_ms();
    n = read(fd, buf, sizeof(buf));
    printf("inotify read: %s, %s\n", n > 0 ? "an event" : "nothing", waited(t0));
    join(t);
    close(fd);
}

static void fopen_reuse(void)
{
    int w = open(fifo, O_RDWR), old = dir_number_closed(), fd;
    struct later l = { w };
    char buf[16] = "";
    pthread_t t;
    FILE *f;
    long t0;

    f = fopen(fifo, "r");
    fd = f ? fileno(f) : -1;
    printf("fopen took the directory's number: %s\n", yes(fd == old));
    t = spawn(later, &l);
    t0 = now_ms();
    SHOW("read on fopen's fd", read(fd, buf, sizeof(buf) - 1));
    printf("  \"%s\", %s\n", buf, waited(t0));
    join(t);
    fclose(f);
    close(w);
}

static void freopen_reuse(void)
{
    int p[2], w = open(fifo, O_RDWR), fd;
    struct later l = { w };
    char buf[16] = "";
    pthread_t t;
    FILE *f;
    long t0;

    xpipe(p);
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    SHOW("read on the O_NONBLOCK pipe", read(p[0], buf, 1));
    f = fdopen(p[0], "r");
    f = freopen(fifo, "r", f);
    fd = f ? fileno(f) : -1;
    printf("freopen took the pipe's number: %s, %s\n", yes(fd == p[0]), fd_mode(fd));
    t = spawn(later, &l);
    t0 = now_ms();
    SHOW("read on freopen's fd", read(fd, buf, sizeof(buf) - 1));
    printf("  \"%s\", %s\n", buf, waited(t0));
    join(t);
    fclose(f);
    close(p[1]);
    close(w);
}

static void kernel_creators(void)
{
    int p[2], fd, pfd;
    char buf[256];
    pid_t pid;
    struct pollfd pl;
    long t0;

    xpipe(p);
    SHOW("read on a pipe's write end", read(p[1], buf, 1));
    close(p[1]);
    fd = inotify_init1(IN_NONBLOCK);
    printf("inotify_init1(IN_NONBLOCK) took the pipe's number: %s\n", yes(fd == p[1]));
    t0 = now_ms();
    SHOW("its read", read(fd, buf, sizeof(buf)));
    printf("  %s\n", waited(t0));
    close(fd);
    close(p[0]);

    if ((pid = xfork()) == 0) {
        sleep_ms(DELAY_MS);
        _exit(0);
    }
    pfd = pidfd_open(pid, 0);
    printf("pidfd_open: %s\n", yes(pfd >= 0));
    pl = (struct pollfd){ pfd, POLLIN, 0 };
    t0 = now_ms();
    SHOW("poll on the pidfd", poll(&pl, 1, 5000));
    printf("  %s\n", waited(t0));
    close(pfd);
    waitpid(pid, NULL, 0);
}

static void libc_creators(void)
{
    DIR *volatile none = NULL;     /* glibc answers EINVAL; its header says nonnull */
    char tmpl[96], buf[8] = "";
    int fd, shm;
    FILE *f;
    DIR *d;

    snprintf(tmpl, sizeof(tmpl), "%s/tmpXXXXXX", dir);
    fd = mkstemp(tmpl);
    SHOW("mkstemp write", write(fd, "abc", 3));
    SHOW("mkstemp pread", pread(fd, buf, sizeof(buf) - 1, 0));
    unlink(tmpl);
    close(fd);
    f = tmpfile();
    printf("tmpfile fputs: %d\n", fputs("x", f) >= 0);
    fclose(f);
    d = opendir(dir);
    SHOW("opendir then read", read(dirfd(d), buf, 1));
    closedir(d);
    SHOW("closedir(NULL)", closedir(none));
    shm = shm_open("/diff_fdstale", O_RDWR | O_CREAT | O_EXCL, 0600);
    SHOW("shm_open write", write(shm, "s", 1));
    shm_unlink("/diff_fdstale");
    close(shm);
}

int main(void)
{
    alarm(20);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!mkdtemp(dir))
        die("mkdtemp");
    snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
    if (mkfifo(fifo, 0600) < 0)
        die("mkfifo");
    inotify_reuse();
    fopen_reuse();
    freopen_reuse();
    kernel_creators();
    libc_creators();
    unlink(fifo);
    if (rmdir(dir) < 0)
        die("rmdir");
    return 0;
}
