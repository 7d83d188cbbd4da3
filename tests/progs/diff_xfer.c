/* diff_xfer.c - sendfile and splice into and out of sockets and pipes that
 * other threads read and write.
 *
 * Checks: a blocking sendfile of 32 MiB into a Unix stream socket and of
 * 16 MiB into a TCP socket whose readers start 30 ms late (all of it sent,
 * content, the offset and the file position after); sendfile into an empty
 * pipe (a partial count: the pipe's size) and into a full one (it waits for
 * the reader); sendfile's errors and edge cases; splice from a pipe into a
 * full socket (it waits, and moves all the pipe held), from a Unix and a TCP
 * socket into a pipe (it waits for the writer), pipe to pipe both ways
 * blocked, file to a full pipe, empty pipe to a file; 16 MiB pumped file ->
 * pipe -> socket with splice; SPLICE_F_NONBLOCK and O_NONBLOCK pipes giving
 * EAGAIN at once; splice's errors; a blocking write of 1 MiB into a pipe
 * that splice used (the kernel then refuses RWF_NOWAIT on it) while its
 * reader starts late; F_GETFL shows no O_NONBLOCK at the end.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define DELAY_US 30000
#define FILE_SIZE ((size_t)32 << 20)

static unsigned char *data;
static int file;

static const char *waited(uint64_t t0)
{
    return now_us() - t0 >= 25000 ? "after >= 25 ms" : "at once";
}

/* ---- a reader that starts late and checks what it gets ---- */

struct reader {
    int fd;
    size_t want, got, off;      /* off: where in `data` the stream starts */
    int bad;
};

static void *read_all(void *arg)
{
    struct reader *r = arg;
    static unsigned char buf[1 << 17];
    ssize_t n;

    usleep(DELAY_US);
    while (r->got < r->want && (n = read(r->fd, buf, sizeof(buf))) > 0) {
        if (memcmp(buf, data + r->off + r->got, (size_t)n))
            r->bad = 1;
        r->got += (size_t)n;
    }
    return NULL;
}

static void report(const char *what, struct reader *r)
{
    printf("%s: reader got %zu bytes, content %s\n", what, r->got,
           r->bad ? "differs" : "identical");
}

/* ---- sendfile ---- */

static void sendfile_sockets(void)
{
    int sv[2], tv[2];
    off_t off = 0;
    struct reader r;
    pthread_t t;

    printf("== sendfile into sockets\n");
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        die("socketpair");
    r = (struct reader){ sv[1], FILE_SIZE, 0, 0, 0 };
    t = spawn(read_all, &r);
    SHOW("sendfile of 32 MiB with an offset, Unix socket", sendfile(sv[0], file, &off, FILE_SIZE));
    join(t);
    report("Unix socket", &r);
    printf("offset now %lld, file position %lld\n", (long long)off,
           (long long)lseek(file, 0, SEEK_CUR));

    tcp_pair(tv);
    r = (struct reader){ tv[1], 16 << 20, 0, 1000, 0 };
    lseek(file, 1000, SEEK_SET);
    t = spawn(read_all, &r);
    SHOW("sendfile of 16 MiB from the file position 1000, TCP",
         sendfile(tv[0], file, NULL, 16 << 20));
    join(t);
    report("TCP", &r);
    printf("file position now %lld\n", (long long)lseek(file, 0, SEEK_CUR));

    off = FILE_SIZE - 10;
    SHOW("sendfile of 100 from 10 before the end", sendfile(sv[0], file, &off, 100));
    SHOW("sendfile at the end", sendfile(sv[0], file, &off, 100));
    SHOW("sendfile of 0", sendfile(sv[0], file, NULL, 0));
    off = 0;
    r = (struct reader){ sv[1], 1 << 20, 0, 0, 0 };
    t = spawn(read_all, &r);
    SHOW("sendfile64 of 1 MiB", sendfile64(sv[0], file, &off, 1 << 20));
    join(t);
    report("Unix socket", &r);
    SHOW("sendfile from a socket", sendfile(sv[0], sv[1], NULL, 10));
    SHOW("sendfile from fd -1", sendfile(sv[0], -1, NULL, 10));
    SHOW("sendfile into fd -1", sendfile(-1, file, NULL, 10));
    off = -1;
    SHOW("sendfile at offset -1", sendfile(sv[0], file, &off, 10));
    printf("F_GETFL: Unix %s, TCP %s\n", fd_mode(sv[0]), fd_mode(tv[0]));
    close(sv[0]);
    close(sv[1]);
    close(tv[0]);
    close(tv[1]);
}

static void sendfile_pipe(void)
{
    int p[2], q[2];
    off_t off = 0;
    struct reader r;
    uint64_t t0;
    pthread_t t;
    ssize_t n;

    printf("== sendfile into a pipe\n");
    xpipe(p);
    SHOW("sendfile of 1 MiB into an empty pipe", sendfile(p[1], file, &off, 1 << 20));
    r = (struct reader){ p[0], 65536, 0, 0, 0 };
    t = spawn(read_all, &r);
    t0 = now_us();
    n = sendfile(p[1], file, &off, 1 << 20);
    printf("sendfile into the full pipe: %s %s\n", n > 0 ? "> 0" : res(n, errno), waited(t0));
    join(t);
    report("pipe", &r);
    xpipe(q);
    SHOW("sendfile from a pipe into a pipe", sendfile(q[1], p[0], NULL, 10));
    printf("F_GETFL: %s\n", fd_mode(p[1]));
    close(p[0]);
    close(p[1]);
    close(q[0]);
    close(q[1]);
}

/* ---- splice ---- */

struct late {
    int fd;
    const char *s;
};

static void *late_write(void *arg)
{
    struct late *l = arg;

    usleep(DELAY_US);
    if (write(l->fd, l->s, strlen(l->s)) < 0)
        die("late write");
    return NULL;
}

static void splice_waits(const char *what, int in, int out, int feed, const char *s)
{
    struct late l = { feed, s };
    uint64_t t0 = now_us();
    pthread_t t = spawn(late_write, &l);
    ssize_t n = splice(in, NULL, out, NULL, 100, 0);

    printf("%s: %s %s\n", what, res(n, errno), waited(t0));
    join(t);
}

/* Fill a socket or a pipe (for a while non-blocking). */
static size_t fill(int fd)
{
    size_t total = 0;
    ssize_t n;

    fcntl(fd, F_SETFL, O_NONBLOCK);
    while ((n = write(fd, data, 4096)) > 0)
        total += (size_t)n;
    fcntl(fd, F_SETFL, 0);
    return total;
}

static void *drain(void *arg)
{
    struct reader *r = arg;
    static unsigned char buf[1 << 16];
    ssize_t n;

    usleep(DELAY_US);
    while (r->got < r->want && (n = read(r->fd, buf, sizeof(buf))) > 0)
        r->got += (size_t)n;
    return NULL;
}

static void splices(void)
{
    int p[2], q[2], sv[2], tv[2], out;
    char path[] = "/tmp/diff_xfer.XXXXXX", buf[16];
    loff_t off = 0;
    struct reader r;
    uint64_t t0;
    pthread_t t;
    ssize_t n;
    size_t queued;

    printf("== splice\n");
    if (pipe(p) < 0 || pipe(q) < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        die("setup");
    tcp_pair(tv);
    splice_waits("Unix socket -> pipe, written 30 ms later", sv[1], p[1], sv[0], "unix!");
    splice_waits("TCP socket -> pipe, written 30 ms later", tv[1], p[1], tv[0], "tcp!");
    splice_waits("pipe -> pipe, written 30 ms later", q[0], p[1], q[1], "pipe!");
    n = read(p[0], buf, sizeof(buf));
    printf("what came through: \"%.*s\"\n", (int)(n > 0 ? n : 0), buf);

    /* pipe -> full socket: waits for the reader, then moves all the pipe had */
    if (write(q[1], data, 65536) != 65536)
        die("write");
    queued = fill(sv[0]);
    r = (struct reader){ sv[1], queued + 65536, 0, 0, 0 };
    t = spawn(drain, &r);
    t0 = now_us();
    n = splice(q[0], NULL, sv[0], NULL, 1 << 20, 0);
    printf("pipe of 64 KiB -> full Unix socket: %s %s\n", res(n, errno), waited(t0));
    join(t);
    printf("reader got all: %s\n", r.got == queued + 65536 ? "yes" : "no");

    /* file -> full pipe: waits for the reader */
    queued = fill(p[1]);
    r = (struct reader){ p[0], queued + 4096, 0, 0, 0 };
    t = spawn(drain, &r);
    t0 = now_us();
    n = splice(file, &off, p[1], NULL, 4096, 0);
    printf("file -> full pipe: %s %s, offset now %lld\n", res(n, errno), waited(t0),
           (long long)off);
    join(t);

    /* pipe -> pipe, the output full: waits for the reader */
    if (write(q[1], "xyz", 3) != 3)
        die("write");
    queued = fill(p[1]);
    fcntl(q[0], F_SETFL, O_NONBLOCK);
    t0 = now_us();
    SHOW("O_NONBLOCK pipe -> full pipe", splice(q[0], NULL, p[1], NULL, 100, 0));
    printf("%s\n", waited(t0));
    fcntl(q[0], F_SETFL, 0);
    r = (struct reader){ p[0], queued + 3, 0, 0, 0 };
    t = spawn(drain, &r);
    t0 = now_us();
    n = splice(q[0], NULL, p[1], NULL, 100, 0);
    printf("pipe -> full pipe: %s %s\n", res(n, errno), waited(t0));
    join(t);

    /* empty pipe -> file: waits for the writer */
    if ((out = mkstemp(path)) < 0)
        die("mkstemp");
    unlink(path);
    splice_waits("empty pipe -> file, written 30 ms later", q[0], out, q[1], "to the file");
    SHOW("file size", lseek(out, 0, SEEK_END));

    SHOW("SPLICE_F_NONBLOCK from an empty pipe",
         splice(q[0], NULL, p[1], NULL, 10, SPLICE_F_NONBLOCK));
    fcntl(q[0], F_SETFL, O_NONBLOCK);
    SHOW("from an empty O_NONBLOCK pipe", splice(q[0], NULL, out, NULL, 10, 0));
    fcntl(q[0], F_SETFL, 0);
    SHOW("with an offset on a pipe", splice(q[0], &off, p[1], NULL, 10, 0));
    SHOW("file to file", splice(file, NULL, out, NULL, 10, 0));
    SHOW("from fd -1", splice(-1, NULL, p[1], NULL, 10, 0));
    SHOW("of 0 bytes", splice(q[0], NULL, p[1], NULL, 0, 0));
    /* splice took RWF_NOWAIT away from this pipe's ends: plain I/O on them */
    r = (struct reader){ p[0], 1 << 20, 0, 0, 0 };
    t = spawn(read_all, &r);
    SHOW("write of 1 MiB into a pipe splice used, reader 30 ms late", write(p[1], data, 1 << 20));
    join(t);
    report("that pipe", &r);
    printf("F_GETFL: pipes %s %s %s %s, sockets %s %s %s %s\n", fd_mode(p[0]), fd_mode(p[1]),
           fd_mode(q[0]), fd_mode(q[1]), fd_mode(sv[0]), fd_mode(sv[1]), fd_mode(tv[0]),
           fd_mode(tv[1]));
    close(out);
    close(sv[0]);
    close(sv[1]);
    close(tv[0]);
    close(tv[1]);
    close(p[0]);
    close(p[1]);
    close(q[0]);
    close(q[1]);
}

/* 16 MiB file -> pipe -> TCP socket, splice both ways, a reader behind. */
static void pump(void)
{
    int p[2], tv[2];
    loff_t off = 0;
    size_t total = 16 << 20, moved = 0, in_pipe = 0;
    struct reader r;
    pthread_t t;
    ssize_t n;

    printf("== pump\n");
    xpipe(p);
    tcp_pair(tv);
    r = (struct reader){ tv[1], total, 0, 0, 0 };
    t = spawn(read_all, &r);
    while (moved < total) {
        if (in_pipe == 0) {
            if ((n = splice(file, &off, p[1], NULL, total - (size_t)off, 0)) <= 0)
                die("splice in");
            in_pipe = (size_t)n;
        }
        if ((n = splice(p[0], NULL, tv[0], NULL, in_pipe, 0)) <= 0)
            die("splice out");
        in_pipe -= (size_t)n;
        moved += (size_t)n;
    }
    join(t);
    printf("moved %zu\n", moved);
    report("pump", &r);
    close(p[0]);
    close(p[1]);
    close(tv[0]);
    close(tv[1]);
}

int main(void)
{
    char path[] = "/tmp/diff_xfer.XXXXXX";

    alarm(20);
    if (!(data = malloc(FILE_SIZE)) || (file = mkstemp(path)) < 0)
        die("setup");
    unlink(path);
    for (size_t i = 0; i < FILE_SIZE; i++)
        data[i] = (unsigned char)(i * 2654435761u >> 11);
    if (write(file, data, FILE_SIZE) != (ssize_t)FILE_SIZE || lseek(file, 0, SEEK_SET) != 0)
        die("write file");
    sendfile_sockets();
    sendfile_pipe();
    splices();
    pump();
    return 0;
}
