/* diff_fifo_open.c - opening both ends of a FIFO from two threads.
 *
 * Checks: a reader blocked in open lets the writer thread run and open the
 * other end (open, openat, a symlink to the FIFO), and the other way round
 * (open O_WRONLY, creat); a writer finds a reader already there at once;
 * O_RDWR never waits; O_NONBLOCK: the read end at once, the write end ENXIO
 * without a reader; O_NOFOLLOW on a symlink ELOOP, a missing path ENOENT;
 * the data goes through; F_GETFL shows exactly the flags asked for.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

#define DELAY_MS 40

static char fifo[64], link_path[64];

/* The other end, opened DELAY_MS after the thread starts. */
struct peer {
    int flags;
    const char *msg;            /* written by a writer */
    char got[16];               /* read by a reader */
    int fd, err;
};

static void *peer(void *arg)
{
    struct peer *p = arg;

    sleep_ms(DELAY_MS);
    p->fd = open(fifo, p->flags);
    p->err = errno;
    if (p->fd < 0)
        return NULL;
    if (p->msg && write(p->fd, p->msg, strlen(p->msg)) < 0)
        die("write");
    if (!p->msg && read(p->fd, p->got, sizeof(p->got) - 1) < 0)
        die("read");
    close(p->fd);
    return NULL;
}

static const char *waited(long t0)
{
    return now_ms() - t0 >= DELAY_MS - 5 ? "after the other thread" : "at once";
}

static void show_fd(const char *what, int fd, long t0)
{
    printf("%s: %s, %s, F_GETFL %o\n", what, fd < 0 ? res(fd, errno) : "an fd", waited(t0),
           fd < 0 ? 0 : fcntl(fd, F_GETFL));
}

/* Open the read end with `open_it` while a thread opens the write end. */
static void reader_first(const char *what, int fd_flags_extra, int (*open_it)(int))
{
    struct peer p = { .flags = O_WRONLY, .msg = "hi" };
    pthread_t t = spawn(peer, &p);
    char buf[16] = "";
    long t0 = now_ms();
    int fd = open_it(O_RDONLY | fd_flags_extra);

    show_fd(what, fd, t0);
    join(t);
    if (fd >= 0) {
        printf("  read: %s \"%s\"\n", res(read(fd, buf, sizeof(buf) - 1), errno), buf);
        close(fd);
    }
}

static int by_open(int flags)
{
    return open(fifo, flags);
}

static int by_openat(int flags)
{
    int dir = open(".", O_RDONLY | O_DIRECTORY), fd;

    fd = openat(dir, "fifo", flags);
    close(dir);
    return fd;
}

static int by_link(int flags)
{
    return open(link_path, flags);
}

static void writer_first(const char *what, int fd_flags)
{
    struct peer p = { .flags = O_RDONLY };
    pthread_t t = spawn(peer, &p);
    long t0 = now_ms();
    int fd = fd_flags < 0 ? creat(fifo, 0600) : open(fifo, fd_flags);

    show_fd(what, fd, t0);
    if (fd >= 0 && write(fd, "yo", 2) != 2)
        die("write");
    if (fd >= 0)
        close(fd);
    join(t);
    printf("  reader: %s, read \"%s\"\n", p.fd < 0 ? res(p.fd, p.err) : "an fd", p.got);
}

int main(void)
{
    char dir[] = "/tmp/diff_fifo_open.XXXXXX";
    int r, w;
    long t0;

    alarm(20);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!mkdtemp(dir) || chdir(dir) < 0)
        die("mkdtemp");
    snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
    snprintf(link_path, sizeof(link_path), "%s/link", dir);
    if (mkfifo(fifo, 0600) < 0 || symlink(fifo, link_path) < 0)
        die("mkfifo");

    reader_first("open O_RDONLY", 0, by_open);
    reader_first("open O_RDONLY|O_CLOEXEC", O_CLOEXEC, by_open);
    reader_first("openat O_RDONLY", 0, by_openat);
    reader_first("open O_RDONLY through a symlink", 0, by_link);
    writer_first("open O_WRONLY", O_WRONLY);
    writer_first("open O_WRONLY|O_APPEND", O_WRONLY | O_APPEND);
    writer_first("creat", -1);

    t0 = now_ms();
    r = open(fifo, O_RDONLY | O_NONBLOCK);
    show_fd("open O_RDONLY|O_NONBLOCK", r, t0);
    t0 = now_ms();
    w = open(fifo, O_WRONLY);
    show_fd("open O_WRONLY with a reader there", w, t0);
    close(w);
    t0 = now_ms();
    w = open(fifo, O_WRONLY | O_NONBLOCK);
    show_fd("open O_WRONLY|O_NONBLOCK with a reader there", w, t0);
    close(w);
    close(r);
    t0 = now_ms();
    show_fd("open O_WRONLY|O_NONBLOCK without a reader", open(fifo, O_WRONLY | O_NONBLOCK), t0);
    t0 = now_ms();
    r = open(fifo, O_RDWR);
    show_fd("open O_RDWR", r, t0);
    close(r);
    t0 = now_ms();
    show_fd("open O_RDONLY|O_NOFOLLOW on a symlink", open(link_path, O_RDONLY | O_NOFOLLOW), t0);
    t0 = now_ms();
    show_fd("open of a missing path", open("missing", O_RDONLY), t0);
    t0 = now_ms();
    show_fd("open O_RDONLY|O_DIRECTORY", open(fifo, O_RDONLY | O_DIRECTORY), t0);
    t0 = now_ms();
    show_fd("open O_WRONLY|O_CREAT|O_EXCL", open(fifo, O_WRONLY | O_CREAT | O_EXCL, 0600), t0);

    unlink(link_path);
    unlink(fifo);
    if (chdir("/") < 0 || rmdir(dir) < 0)
        die("rmdir");
    return 0;
}
