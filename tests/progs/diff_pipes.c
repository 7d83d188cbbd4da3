/* diff_pipes.c - pipes between threads: data, end of file, error codes and
 * the file status flags a program can see.
 *
 * Checks: 64 MiB from one thread to another in random-sized writes and reads
 * (a fixed-seed generator), checksum and content; a blocked reader sees end of
 * file when the writer closes; EPIPE on a pipe whose reader is gone, both at
 * once and for a writer blocked on a full pipe; EBADF from read(-1), from a
 * closed fd and from write on a closed fd; F_GETFL shows no O_NONBLOCK before
 * or after blocking reads and writes; a pipe the program made non-blocking
 * itself (pipe2, F_SETFL, FIONBIO) gives EAGAIN at once and blocks again once
 * the flag is cleared; dup2/dup3 over an fd already read from; a read of a
 * variable size into a fixed array, which the fortified headers turn into
 * __read_chk.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common.h"

#define TOTAL ((size_t)64 << 20)
#define MAXCHUNK 65536
#define PLEN 1048573                    /* pattern period, prime */
#define DELAY_US 20000                  /* lets the other side block first */

static unsigned char pattern[PLEN + MAXCHUNK];

static void xwrite(int fd, const void *buf, size_t n)
{
    if (write(fd, buf, n) != (ssize_t)n)
        die("write");
}

/* ---- helper threads ---- */

struct later {
    int fd;
    const char *data;           /* NULL: close fd instead of writing */
};

/* After a delay, write data to fd, or close it. */
static void *later(void *arg)
{
    struct later *l = arg;

    usleep(DELAY_US);
    if (l->data)
        xwrite(l->fd, l->data, strlen(l->data));
    else
        close(l->fd);
    return NULL;
}

/* ---- 64 MiB ---- */

struct xfer {
    int fd;
    uint64_t sum;
};

static void make_pattern(void)
{
    uint64_t s = 0x9e3779b97f4a7c15ULL;
    size_t i;

    for (i = 0; i < PLEN; i++)
        pattern[i] = (unsigned char)(rng_next(&s) >> 56);
    memcpy(pattern + PLEN, pattern, MAXCHUNK);
}

static void *bulk_writer(void *arg)
{
    struct xfer *x = arg;
    uint64_t rng = 12345, h = FNV0;
    size_t off = 0, n;
    const unsigned char *p;

    while (off < TOTAL) {
        n = 1 + rng_next(&rng) % MAXCHUNK;
        if (n > TOTAL - off)
            n = TOTAL - off;
        p = pattern + off % PLEN;
        xwrite(x->fd, p, n);
        h = fnv(h, p, n);
        off += n;
    }
    x->sum = h;
    return NULL;
}

static void check_bulk(void)
{
    static unsigned char buf[MAXCHUNK];
    struct xfer x;
    uint64_t rng = 777, h = FNV0;
    size_t total = 0, bad = 0;
    ssize_t r;
    pthread_t t;
    int p[2], e;

    make_pattern();
    xpipe(p);
    x.fd = p[1];
    t = spawn(bulk_writer, &x);
    while (total < TOTAL) {
        r = read(p[0], buf, 1 + rng_next(&rng) % MAXCHUNK);
        if (r <= 0)
            die("read");
        bad += memcmp(buf, pattern + total % PLEN, (size_t)r) != 0;
        h = fnv(h, buf, (size_t)r);
        total += (size_t)r;
    }
    join(t);
    printf("64 MiB: read end %s, write end %s after the transfer\n", fd_mode(p[0]),
           fd_mode(p[1]));
    close(p[1]);
    r = read(p[0], buf, sizeof(buf));
    e = errno;
    printf("64 MiB: %zu bytes, checksum %016llx %s, %zu bad chunks, then read %s\n",
           total, (unsigned long long)h, h == x.sum ? "matches" : "DIFFERS", bad, res(r, e));
    close(p[0]);
}

/* ---- end of file, EPIPE, EBADF ---- */

static void check_eof(void)
{
    struct later l;
    char buf[8];
    ssize_t r1, r2;
    pthread_t t;
    int p[2], e1, e2;

    xpipe(p);
    l = (struct later){ p[1], NULL };
    t = spawn(later, &l);
    r1 = read(p[0], buf, sizeof(buf));      /* blocks until the close */
    e1 = errno;
    r2 = read(p[0], buf, sizeof(buf));
    e2 = errno;
    join(t);
    printf("blocked reader, writer closes: read %s, again %s\n", res(r1, e1), res(r2, e2));
    close(p[0]);
}

static void check_epipe_now(void)
{
    ssize_t r;
    int p[2], e;

    xpipe(p);
    close(p[0]);
    r = write(p[1], "x", 1);
    e = errno;
    printf("write, reader closed: %s\n", res(r, e));
    close(p[1]);
}

/* Fill the pipe exactly, then block on one more byte while the reader goes. */
static void check_epipe_blocked(void)
{
    static char fill[1 << 20];
    struct later l;
    int p[2], size, e;
    ssize_t r;
    pthread_t t;

    xpipe(p);
    size = fcntl(p[1], F_GETPIPE_SZ);
    if (size <= 0 || size > (int)sizeof(fill))
        die("F_GETPIPE_SZ");
    xwrite(p[1], fill, (size_t)size);
    l = (struct later){ p[0], NULL };
    t = spawn(later, &l);
    r = write(p[1], "x", 1);
    e = errno;
    join(t);
    printf("write blocked on a full pipe (%d bytes), reader closes: %s\n", size, res(r, e));
    close(p[1]);
}

static void check_ebadf(void)
{
    char buf[4];
    ssize_t r1, r2, r3;
    int e1, e2, e3, p[2];

    r1 = read(-1, buf, sizeof(buf));
    e1 = errno;
    xpipe(p);
    close(p[0]);
    close(p[1]);
    r2 = read(p[0], buf, sizeof(buf));
    e2 = errno;
    r3 = write(p[1], "x", 1);
    e3 = errno;
    printf("read(-1): %s; read on a closed fd: %s; write on a closed fd: %s\n",
           res(r1, e1), res(r2, e2), res(r3, e3));
}

/* ---- O_NONBLOCK: never shown unless the program set it ---- */

static void check_flags_blocking(void)
{
    struct later l;
    char buf[16];
    ssize_t r;
    pthread_t t;
    int p[2], e;

    xpipe(p);
    printf("fresh pipe: read end %s, write end %s\n", fd_mode(p[0]), fd_mode(p[1]));
    l = (struct later){ p[1], "hello" };
    t = spawn(later, &l);
    r = read(p[0], buf, sizeof(buf));
    e = errno;
    join(t);
    printf("blocking read: %s; read end %s, write end %s\n", res(r, e),
           fd_mode(p[0]), fd_mode(p[1]));
    close(p[0]);
    close(p[1]);
}

static void read_now(const char *how, int fd)
{
    char buf[8];
    ssize_t r = read(fd, buf, sizeof(buf));
    int e = errno;

    printf("%s: read %s, flags %s\n", how, res(r, e), fd_mode(fd));
}

/* A blocking read that waits for a thread's write: the fd blocks again. */
static void read_waits(const char *how, int rd, int wr)
{
    struct later l = { wr, "later" };
    char buf[8];
    ssize_t r;
    pthread_t t;
    int e;

    t = spawn(later, &l);
    r = read(rd, buf, sizeof(buf));
    e = errno;
    join(t);
    printf("%s: read %s (%.*s), flags %s\n", how, res(r, e), r > 0 ? (int)r : 0, buf,
           fd_mode(rd));
}

static void check_program_nonblock(void)
{
    static char fill[4096];
    int p[2], fl, on = 1, off = 0, e;
    long filled = 0;
    ssize_t r;

    if (pipe2(p, O_NONBLOCK) < 0)
        die("pipe2");
    read_now("pipe2(O_NONBLOCK), empty", p[0]);
    while ((r = write(p[1], fill, sizeof(fill))) > 0)
        filled += r;
    e = errno;
    printf("pipe2(O_NONBLOCK), write until full: %s after %ld bytes\n", res(r, e), filled);
    close(p[0]);
    close(p[1]);

    xpipe(p);
    read_waits("blocking pipe", p[0], p[1]);
    fl = fcntl(p[0], F_GETFL);
    fcntl(p[0], F_SETFL, fl | O_NONBLOCK);
    read_now("after F_SETFL O_NONBLOCK, empty", p[0]);
    fcntl(p[0], F_SETFL, fl);
    read_waits("after F_SETFL back", p[0], p[1]);
    ioctl(p[0], FIONBIO, &on);
    read_now("after FIONBIO 1, empty", p[0]);
    ioctl(p[0], FIONBIO, &off);
    read_waits("after FIONBIO 0", p[0], p[1]);
    close(p[0]);
    close(p[1]);
}

/* ---- dup2/dup3 over an fd the program already read from ---- */

static void check_dup(void)
{
    int a[2], b[2], c[2];

    xpipe(a);
    xpipe(b);
    xpipe(c);
    read_waits("pipe b", b[0], b[1]);
    if (dup2(a[0], b[0]) != b[0])
        die("dup2");
    read_waits("b's read fd after dup2 from pipe a", b[0], a[1]);
    if (dup3(c[0], b[0], O_CLOEXEC) != b[0])
        die("dup3");
    read_waits("b's read fd after dup3 from pipe c", b[0], c[1]);
    printf("after dup3(O_CLOEXEC): FD_CLOEXEC %s\n",
           fcntl(b[0], F_GETFD) & FD_CLOEXEC ? "set" : "clear");
    close(a[0]);
    close(a[1]);
    close(b[0]);
    close(b[1]);
    close(c[0]);
    close(c[1]);
}

/* ---- fortified read ---- */

static void check_fortified(void)
{
    volatile size_t want = 10;  /* not a constant: __read_chk does the check */
    struct later l;
    char buf[16];
    ssize_t r;
    pthread_t t;
    int p[2], e;

    xpipe(p);
    l = (struct later){ p[1], "0123456789abcdef" };
    t = spawn(later, &l);
    r = read(p[0], buf, want);
    e = errno;
    join(t);
    printf("read of %zu into char[16]: %s (%.*s)\n", (size_t)want, res(r, e),
           r > 0 ? (int)r : 0, buf);
    close(p[0]);
    close(p[1]);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    check_bulk();
    check_eof();
    check_epipe_now();
    check_epipe_blocked();
    check_ebadf();
    check_flags_blocking();
    check_program_nonblock();
    check_dup();
    check_fortified();
    printf("done\n");
    return 0;
}
