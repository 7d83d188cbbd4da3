/* diff_vio.c - vectored and positioned I/O between threads: readv, writev,
 * pread, pwrite, preadv, pwritev, preadv2, pwritev2, pread64, pwrite64 and
 * the fortified __pread_chk.
 *
 * Checks: writev of 4 MiB in 3 elements into a pipe and a socketpair while
 * another thread reads it with readv into 2 elements of odd sizes (content
 * and the writer's count: a blocking writev writes everything); a readv that
 * waits for a writer 30 ms later; one datagram scattered by readv; ESPIPE
 * from the positioned calls on a pipe and a socket, EINVAL for a negative
 * offset (before ESPIPE and EBADF), EBADF; positioned I/O on a regular file
 * and /dev/zero; preadv2/pwritev2 at offset -1 on a pipe (a blocking one
 * waits for the writer) and RWF_NOWAIT from the program (EAGAIN at once);
 * a fortified pread of a variable length (__pread_chk, __pread64_chk), and
 * one longer than its buffer, which aborts (in a child); F_GETFL shows no O_NONBLOCK after
 * all the waits.
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
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define BULK ((size_t)4 << 20)
#define DELAY_US 30000

static unsigned char *src, *dst;

/* ---- bulk writev / readv ---- */

static void *bulk_writer(void *arg)
{
    int fd = *(int *)arg;
    struct iovec v[3] = {
        { src, 1000 },
        { src + 1000, BULK / 2 },
        { src + 1000 + BULK / 2, BULK - 1000 - BULK / 2 },
    };

    return (void *)(intptr_t)writev(fd, v, 3);
}

static void bulk(const char *what, int wfd, int rfd)
{
    pthread_t t;
    size_t got = 0;
    ssize_t r;

    memset(dst, 0, BULK);
    t = spawn(bulk_writer, &wfd);
    while (got < BULK) {
        size_t left = BULK - got, a = left < 777 ? left : 777;
        size_t b = left - a < 65536 ? left - a : 65536;
        struct iovec v[2] = { { dst + got, a }, { dst + got + a, b } };

        if ((r = readv(rfd, v, 2)) <= 0)
            die("readv");
        got += (size_t)r;
    }
    printf("%s: writev wrote %zd, readv got %zu bytes, content %s\n", what,
           (ssize_t)(intptr_t)join(t), got, memcmp(src, dst, BULK) ? "differs" : "identical");
}

/* ---- a wait for a late writer ---- */

static void *late_write(void *arg)
{
    usleep(DELAY_US);
    if (write(*(int *)arg, "late", 4) != 4)
        die("write");
    return NULL;
}

static void late(const char *what, int rfd, int wfd, int use_preadv2)
{
    char a[2], b[8];
    struct iovec v[2] = { { a, 2 }, { b, sizeof(b) } };
    uint64_t t0 = now_us();
    pthread_t t = spawn(late_write, &wfd);
    ssize_t r = use_preadv2 ? preadv2(rfd, v, 2, -1, 0) : readv(rfd, v, 2);

    join(t);
    printf("%s: %s \"%.2s%.*s\" after >= 25 ms: %s\n", what, res(r, errno), a,
           (int)(r > 2 ? r - 2 : 0), b, now_us() - t0 >= 25000 ? "yes" : "no");
}

/* ---- fortified pread ---- */

/* What fortified programs built with _FILE_OFFSET_BITS=64 call. */
ssize_t __pread64_chk(int fd, void *buf, size_t n, off64_t off, size_t buflen);

static volatile size_t len_of_ten = 10, len_of_twenty = 20;
static volatile int minus_one = -1;

static void chk_child(int fd)
{
    pid_t pid = fork();
    char small[10];
    int st;

    if (pid < 0)
        die("fork");
    if (pid == 0) {
        close(2);               /* glibc's "buffer overflow detected" message */
        _exit(pread(fd, small, len_of_twenty, 0) < 0);
    }
    if (waitpid(pid, &st, 0) < 0)
        die("waitpid");
    printf("pread of 20 into char[10]: %s\n",
           WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT ? "aborted (SIGABRT)" : "not aborted");
}

int main(void)
{
    int p[2], s[2], d[2], q[2], f, z;
    char buf[64], small[10];
    struct iovec v[2] = { { buf, 3 }, { buf + 3, 5 } };

    alarm(20);
    src = malloc(BULK);
    dst = malloc(BULK);
    if (!src || !dst)
        die("malloc");
    for (size_t i = 0; i < BULK; i++)
        src[i] = (unsigned char)(i * 2654435761u >> 13);

    if (pipe(p) < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, s) < 0 ||
        socketpair(AF_UNIX, SOCK_DGRAM, 0, d) < 0 || pipe(q) < 0)
        die("pipe");
    bulk("pipe", p[1], p[0]);
    bulk("socketpair", s[0], s[1]);
    late("readv on an empty pipe", p[0], p[1], 0);
    late("readv on an empty socket", s[1], s[0], 0);
    late("preadv2 at -1 on an empty pipe", p[0], p[1], 1);

    SHOW("datagram of 8 sent", send(d[0], "abcdefgh", 8, 0));
    memset(buf, 0, sizeof(buf));
    SHOW("readv of it into 3+5", readv(d[1], v, 2));
    printf("scattered: \"%.3s\" \"%.5s\"\n", buf, buf + 3);

    SHOW("pread on a pipe", pread(p[0], buf, 4, 0));
    SHOW("pwrite on a pipe", pwrite(p[1], "x", 1, 0));
    SHOW("pread on a socket", pread(s[0], buf, 4, 0));
    SHOW("pwrite on a socket", pwrite(s[0], "x", 1, 0));
    SHOW("preadv on a socket", preadv(s[0], v, 2, 0));
    SHOW("pwritev on a pipe", pwritev(p[1], v, 2, 0));
    SHOW("pread64 on a pipe", pread64(p[0], buf, 4, 0));
    SHOW("pwrite64 on a socket", pwrite64(s[0], "x", 1, 0));
    SHOW("preadv64 on a pipe", preadv64(p[0], v, 2, 0));
    SHOW("pwritev64 on a socket", pwritev64(s[0], v, 2, 0));
    SHOW("pread at -1 on a pipe", pread(p[0], buf, 4, -1));
    SHOW("pread at -1 on fd -1", pread(-1, buf, 4, -1));
    SHOW("pread on fd -1", pread(-1, buf, 4, 0));
    SHOW("readv on fd -1", readv(-1, v, 2));
    SHOW("writev with 0 elements on a pipe", writev(p[1], v, 0));
    SHOW("readv with -1 elements on a pipe", readv(p[0], v, minus_one));
    SHOW("preadv2 at -2 on a pipe", preadv2(p[0], v, 2, -2, 0));

    SHOW("preadv2 RWF_NOWAIT on an empty pipe", preadv2(q[0], v, 2, -1, RWF_NOWAIT));
    fcntl(q[1], F_SETPIPE_SZ, 4096);
    while (pwritev2(q[1], &(struct iovec){ src, 4096 }, 1, -1, RWF_NOWAIT) > 0)
        ;
    SHOW("pwritev2 RWF_NOWAIT on a full pipe", pwritev2(q[1], v, 2, -1, RWF_NOWAIT));
    SHOW("pwritev2 at -1 on an empty socket", pwritev2(s[0], v, 2, -1, 0));
    SHOW("preadv2 at -1 of it", preadv2(s[1], v, 2, -1, 0));

    if ((f = fileno(tmpfile())) < 0)
        die("tmpfile");
    SHOW("pwrite 10 at 100 in a file", pwrite(f, "0123456789", 10, 100));
    SHOW("pwritev 8 at 3 in a file",
         pwritev(f, (struct iovec[]){ { "abc", 3 }, { "defgh", 5 } }, 2, 3));
    memset(buf, 0, sizeof(buf));
    SHOW("pread 4 at 104", pread(f, buf, 4, 104));
    printf("read: \"%s\"\n", buf);
    SHOW("preadv 3+5 at 3", preadv(f, v, 2, 3));
    printf("read: \"%.8s\"\n", buf);
    SHOW("preadv2 3+5 at 106", preadv2(f, v, 2, 106, 0));
    SHOW("pread64 past the end", pread64(f, buf, 4, 1000));
    SHOW("file position still", lseek(f, 0, SEEK_CUR));
    if ((z = open("/dev/zero", O_RDONLY)) < 0)
        die("/dev/zero");
    SHOW("pread on /dev/zero", pread(z, buf, 16, 12345));

    SHOW("fortified pread of 10 into char[10]", pread(f, small, len_of_ten, 100));
    SHOW("__pread64_chk of 10 into 10 (what _FILE_OFFSET_BITS=64 calls)",
         __pread64_chk(f, small, len_of_ten, 100, sizeof(small)));
    chk_child(f);

    printf("F_GETFL: pipe %s %s, socketpair %s %s\n", fd_mode(p[0]), fd_mode(p[1]),
           fd_mode(s[0]), fd_mode(s[1]));
    return 0;
}
