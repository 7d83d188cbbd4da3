/* diff_tcp_drain.c - reads on a TCP socket after a read that took all that
 * was queued: the next data, the peer's shutdown, urgent data and a
 * receive timeout all reach a reader that blocks again at once.
 *
 * Checks, each on a fresh connection whose reader first blocks, then gets
 * one byte (a short read of a 100-byte buffer), then blocks again:
 *   - data sent 30 ms later reaches recv, and read();
 *   - the peer's shutdown 30 ms later: end of file;
 *   - "bc" and the peer's shutdown back to back: "bc", then end of file;
 *   - with SO_RCVTIMEO 100 ms and nothing sent: EAGAIN after the timeout;
 *   - urgent data: "bc", an urgent "X" and "def" sent back to back while
 *     the reader waits: recv stops at the urgent mark ("bc"), MSG_OOB reads
 *     "X", and the next recv gets "def".
 * SO_RCVTIMEO 2 s turns a reader that would wait for ever into EAGAIN.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "common.h"

#define DELAY_MS 30

enum then { SEND_MORE, SHUT_DOWN, DATA_SHUT_DOWN, NOTHING, URGENT };

struct peer {
    int fd;
    enum then then;
};

/* The writing end: one byte once the reader blocks, then `then`. */
static void *peer_main(void *arg)
{
    struct peer *p = arg;

    sleep_ms(DELAY_MS);
    if (send(p->fd, "a", 1, 0) != 1)
        die("send a");
    sleep_ms(DELAY_MS);
    switch (p->then) {
    case SEND_MORE:
        if (send(p->fd, "more", 4, 0) != 4)
            die("send more");
        break;
    case DATA_SHUT_DOWN:
        if (send(p->fd, "bc", 2, 0) != 2)
            die("send bc");
        /* fall through */
    case SHUT_DOWN:
        shutdown(p->fd, SHUT_WR);
        break;
    case NOTHING:
        break;
    case URGENT:
        if (send(p->fd, "bc", 2, 0) != 2 || send(p->fd, "X", 1, MSG_OOB) != 1 ||
            send(p->fd, "def", 3, 0) != 3)
            die("send urgent");
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

/* One recv (or read) into a 100-byte buffer: "N 'text'" or the error. */
static const char *got(int fd, int flags, int use_read)
{
    static char out[160];
    char buf[100];
    ssize_t n;

    errno = 0;
    n = use_read ? read(fd, buf, sizeof(buf)) : recv(fd, buf, sizeof(buf), flags);
    if (n < 0)
        snprintf(out, sizeof(out), "%s", res(n, errno));
    else
        snprintf(out, sizeof(out), "%zd '%.*s'", n, (int)n, buf);
    return out;
}

static void run(const char *name, enum then then, int use_read)
{
    struct peer p = { .then = then };
    int sv[2];
    long t0;
    pthread_t t;

    tcp_pair(sv);
    p.fd = sv[0];
    if (then == NOTHING)
        set_rcvtimeo(sv[1], 100);
    if (then == URGENT || then == DATA_SHUT_DOWN)
        set_rcvtimeo(sv[1], 2000);
    t = spawn(peer_main, &p);
    printf("%s: first: %s\n", name, got(sv[1], 0, use_read));
    t0 = now_ms();
    printf("%s: next: %s\n", name, got(sv[1], 0, use_read));
    if (then == NOTHING)
        printf("%s: timed out after 100 ms: %s\n", name, took(t0, 100));
    if (then == DATA_SHUT_DOWN)
        printf("%s: then: %s\n", name, got(sv[1], 0, use_read));
    if (then == URGENT) {
        printf("%s: urgent byte: %s\n", name, got(sv[1], MSG_OOB, 0));
        printf("%s: after the mark: %s\n", name, got(sv[1], 0, use_read));
    }
    join(t);
    close_pair(sv);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    run("recv, more data", SEND_MORE, 0);
    run("read, more data", SEND_MORE, 1);
    run("recv, shutdown", SHUT_DOWN, 0);
    run("read, data and shutdown", DATA_SHUT_DOWN, 1);
    run("recv, timeout", NOTHING, 0);
    run("recv, urgent data", URGENT, 0);
    return 0;
}
