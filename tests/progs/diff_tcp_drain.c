/* diff_tcp_drain.c - reads on a TCP socket after a read that took all that
 * was queued (a short read): whatever comes next reaches a reader that
 * blocks again at once.
 *
 * Checks, each on a fresh connection whose reader first blocks, then gets
 * one byte (a short read of a 100-byte buffer), then reads again:
 *   - data sent 30 ms later reaches recv, read() and recvmsg;
 *   - the peer's shutdown 30 ms later: end of file;
 *   - "bc" and the peer's shutdown back to back: "bc", then end of file;
 *   - with SO_RCVTIMEO 100 ms and nothing sent: EAGAIN after the timeout;
 *   - a read of 0 bytes: 0 at once;
 *   - urgent data: "bc", an urgent "X" and "def" sent back to back while
 *     the reader waits: recv stops at the urgent mark ("bc"), the next recv
 *     gets "def", and then the urgent byte is gone (EINVAL).
 * And, in one thread, with everything sent before the reads:
 *   - the urgent byte read first (MSG_OOB): "X", then "bc", then "def";
 *   - SO_RCVLOWAT 10: a recv of 5 bytes returns the 5 queued at once.
 * SO_RCVTIMEO 2 s turns a reader that would wait for ever into EAGAIN. The
 * urgent-data and low-water checks run in child processes: what a process
 * does with such sockets may change how all its reads are made.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

#define DELAY_MS 30

enum then { SEND_MORE, SHUT_DOWN, DATA_SHUT_DOWN, NOTHING, ZERO_READ, URGENT };

struct peer {
    int fd;
    enum then then;
};

static void xsend(int fd, const char *s, int flags)
{
    if (send(fd, s, strlen(s), flags) != (ssize_t)strlen(s))
        die("send");
}

/* The writing end: one byte once the reader blocks, then `then`. */
static void *peer_main(void *arg)
{
    struct peer *p = arg;

    sleep_ms(DELAY_MS);
    xsend(p->fd, "a", 0);
    sleep_ms(DELAY_MS);
    switch (p->then) {
    case SEND_MORE:
        xsend(p->fd, "more", 0);
        break;
    case DATA_SHUT_DOWN:
        xsend(p->fd, "bc", 0);
        /* fall through */
    case SHUT_DOWN:
        shutdown(p->fd, SHUT_WR);
        break;
    case NOTHING:
    case ZERO_READ:
        break;
    case URGENT:
        xsend(p->fd, "bc", 0);
        xsend(p->fd, "X", MSG_OOB);
        xsend(p->fd, "def", 0);
        break;
    }
    return NULL;
}

static void set_rcvtimeo(int fd, long ms)
{
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
        die("SO_RCVTIMEO");
}

enum how { RECV, READ, RECVMSG };

/* One recv (read, recvmsg) of up to n bytes: "N 'text'" or the error. */
static const char *got_n(int fd, size_t n, int flags, enum how how)
{
    static char out[160];
    char buf[100];
    struct iovec v = { buf, n };
    struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };
    ssize_t r;

    errno = 0;
    r = how == READ ? read(fd, buf, n) : how == RECVMSG ? recvmsg(fd, &m, flags)
                                                       : recv(fd, buf, n, flags);
    if (r < 0)
        snprintf(out, sizeof(out), "%s", res(r, errno));
    else
        snprintf(out, sizeof(out), "%zd '%.*s'", r, (int)r, buf);
    return out;
}

static const char *got(int fd, int flags, enum how how)
{
    return got_n(fd, 100, flags, how);
}

static void run(const char *name, enum then then, enum how how)
{
    struct peer p = { .then = then };
    int sv[2];
    long t0;
    pthread_t t;

    tcp_pair(sv);
    p.fd = sv[0];
    set_rcvtimeo(sv[1], then == NOTHING ? 100 : 2000);
    t = spawn(peer_main, &p);
    printf("%s: first: %s\n", name, got(sv[1], 0, how));
    t0 = now_ms();
    if (then == ZERO_READ) {
        printf("%s: read of 0 bytes: %s\n", name, got_n(sv[1], 0, 0, READ));
        printf("%s: at once: %s\n", name, took(t0, 0));
    } else {
        printf("%s: next: %s\n", name, got(sv[1], 0, how));
    }
    if (then == NOTHING)
        printf("%s: timed out after 100 ms: %s\n", name, took(t0, 100));
    if (then == DATA_SHUT_DOWN)
        printf("%s: then: %s\n", name, got(sv[1], 0, how));
    if (then == URGENT) {
        printf("%s: after the mark: %s\n", name, got(sv[1], 0, how));
        printf("%s: urgent byte: %s\n", name, got(sv[1], MSG_OOB, RECV));
    }
    join(t);
    close_pair(sv);
}

/* A connection whose reader has had its first short read ("a") after a
 * wait (poll), so that its next read could wait before it tries. */
static void primed_pair(int sv[2], const char *name)
{
    struct pollfd p;

    tcp_pair(sv);
    set_rcvtimeo(sv[1], 2000);
    p = (struct pollfd){ sv[1], POLLIN, 0 };
    poll(&p, 1, DELAY_MS);
    xsend(sv[0], "a", 0);
    printf("%s: first: %s\n", name, got(sv[1], 0, RECV));
}

static void urgent_first(void)
{
    const char *name = "recv, urgent byte first";
    int sv[2];

    primed_pair(sv, name);
    xsend(sv[0], "bc", 0);
    xsend(sv[0], "X", MSG_OOB);
    xsend(sv[0], "def", 0);
    printf("%s: urgent byte: %s\n", name, got(sv[1], MSG_OOB, RECV));
    printf("%s: to the mark: %s\n", name, got(sv[1], 0, RECV));
    printf("%s: after the mark: %s\n", name, got(sv[1], 0, RECV));
    close_pair(sv);
}

static void low_water(void)
{
    const char *name = "recv, SO_RCVLOWAT 10";
    int sv[2], lowat = 10;

    primed_pair(sv, name);
    if (setsockopt(sv[1], SOL_SOCKET, SO_RCVLOWAT, &lowat, sizeof(lowat)) < 0)
        die("SO_RCVLOWAT");
    xsend(sv[0], "vwxyz", 0);
    printf("%s: recv of 5: %s\n", name, got_n(sv[1], 5, 0, RECV));
    close_pair(sv);
}

static void in_child(void (*fn)(void))
{
    pid_t pid = xfork();
    int status;

    if (pid == 0) {
        fn();
        exit(0);
    }
    if (waitpid(pid, &status, 0) != pid || status != 0)
        printf("child: status %d\n", status);
}

static void urgent_waiting(void)
{
    run("recv, urgent data", URGENT, RECV);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    run("recv, more data", SEND_MORE, RECV);
    run("read, more data", SEND_MORE, READ);
    run("recvmsg, more data", SEND_MORE, RECVMSG);
    run("recv, shutdown", SHUT_DOWN, RECV);
    run("read, data and shutdown", DATA_SHUT_DOWN, READ);
    run("recvmsg, data and shutdown", DATA_SHUT_DOWN, RECVMSG);
    run("recv, timeout", NOTHING, RECV);
    run("read, 0 bytes", ZERO_READ, RECV);
    in_child(urgent_waiting);
    in_child(urgent_first);
    in_child(low_water);
    return 0;
}
