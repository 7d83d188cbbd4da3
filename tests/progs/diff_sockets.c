/* diff_sockets.c - TCP and Unix stream sockets between threads: data, error
 * codes and the file status flags a program can see.
 *
 * Checks: a thread-per-connection echo server on 127.0.0.1 (ephemeral port)
 * with 50 client threads doing 200 round trips each; 256 MiB one way over a
 * socketpair in random-sized send/recv calls (fixed-seed generator), content
 * and checksum; half-close (the peer reads end of file and can still reply);
 * a peer reset (SO_LINGER 0, close: ECONNRESET, then EPIPE); MSG_WAITALL,
 * complete and cut short by end of file; a recv of a variable size into a
 * fixed array (__recv_chk); ECONNREFUSED from a port nobody listens on;
 * EINVAL from accept on a socket that does not listen; ENOTSOCK from
 * recv/send/connect on a pipe; EAGAIN from send(MSG_DONTWAIT) on a full socket
 * and from recv on a socket accepted with SOCK_NONBLOCK; the flags accept4
 * gives; a blocking accept that waits for a client connecting 50 ms later;
 * F_GETFL shows no O_NONBLOCK on sockets used for blocking calls.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"

#define NCLIENTS 50
#define ROUNDS 200
#define MAXMSG 2000
#define BULK ((size_t)256 << 20)
#define MAXCHUNK 262144
#define PLEN 1048573                    /* pattern period, prime */
#define DELAY_US 20000                  /* lets the other side block first */

static unsigned char pattern[PLEN + MAXCHUNK];

static void xsend(int fd, const void *buf, size_t n)
{
    if (send(fd, buf, n, 0) != (ssize_t)n)
        die("send");
}

/* ---- addresses, listeners, connections ---- */

static struct sockaddr_in loopback(int port)
{
    struct sockaddr_in a;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static int port_of(int fd, int peer)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);

    if ((peer ? getpeername : getsockname)(fd, (struct sockaddr *)&a, &len) < 0)
        die("getsockname");
    return ntohs(a.sin_port);
}

/* A TCP socket bound to 127.0.0.1 on an ephemeral port, listening or not. */
static int tcp_bound(int *port, int backlog)
{
    struct sockaddr_in a = loopback(0);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
        die("bind");
    if (backlog && listen(fd, backlog) < 0)
        die("listen");
    *port = port_of(fd, 0);
    return fd;
}

static int tcp_connect(int port)
{
    struct sockaddr_in a = loopback(port);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
        die("connect");
    return fd;
}

static void unix_pair(int p[2])
{
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, p) < 0)
        die("socketpair");
}

/* ---- echo: thread per connection ---- */

struct echo {
    int lfd, port;
    long bytes[NCLIENTS], mismatches[NCLIENTS];
};

static void *echo_handler(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[4096];
    ssize_t r;

    while ((r = recv(fd, buf, sizeof(buf), 0)) > 0)
        xsend(fd, buf, (size_t)r);
    if (r < 0)
        die("echo recv");
    close(fd);
    return NULL;
}

static void *echo_acceptor(void *arg)
{
    struct echo *e = arg;
    pthread_t h[NCLIENTS];
    int i, c;

    for (i = 0; i < NCLIENTS; i++) {
        if ((c = accept(e->lfd, NULL, NULL)) < 0)
            die("echo accept");
        h[i] = spawn(echo_handler, (void *)(intptr_t)c);
    }
    for (i = 0; i < NCLIENTS; i++)
        join(h[i]);
    return NULL;
}

static void read_exactly(int fd, char *buf, size_t n)
{
    size_t got = 0;
    ssize_t r;

    while (got < n) {
        if ((r = read(fd, buf + got, n - got)) <= 0)
            die("echo read");
        got += (size_t)r;
    }
}

struct client {
    struct echo *e;
    int id;
};

static void *echo_client(void *arg)
{
    struct client *c = arg;
    char out[MAXMSG], in[MAXMSG];
    uint64_t rng = (uint64_t)c->id + 1;
    size_t n, k;
    int fd = tcp_connect(c->e->port), r;

    for (r = 0; r < ROUNDS; r++) {
        n = 1 + rng_next(&rng) % MAXMSG;
        for (k = 0; k < n; k++)
            out[k] = (char)(c->id * 31 + r * 7 + (int)k);
        if (write(fd, out, n) != (ssize_t)n)
            die("echo write");
        read_exactly(fd, in, n);
        c->e->bytes[c->id] += (long)n;
        c->e->mismatches[c->id] += memcmp(in, out, n) != 0;
    }
    close(fd);
    return NULL;
}

static void check_echo(void)
{
    static struct echo e;
    struct client cl[NCLIENTS];
    pthread_t acc, t[NCLIENTS];
    long bytes = 0, bad = 0;
    int i;

    e.lfd = tcp_bound(&e.port, 128);
    acc = spawn(echo_acceptor, &e);
    for (i = 0; i < NCLIENTS; i++) {
        cl[i] = (struct client){ &e, i };
        t[i] = spawn(echo_client, &cl[i]);
    }
    for (i = 0; i < NCLIENTS; i++) {
        join(t[i]);
        bytes += e.bytes[i];
        bad += e.mismatches[i];
    }
    join(acc);
    printf("echo: %d clients x %d round trips, %ld bytes each way, %ld mismatches; "
           "listener %s\n", NCLIENTS, ROUNDS, bytes, bad, fd_mode(e.lfd));
    close(e.lfd);
}

/* ---- 256 MiB over a socketpair ---- */

static void make_pattern(void)
{
    uint64_t s = 0x9e3779b97f4a7c15ULL;
    size_t i;

    for (i = 0; i < PLEN; i++)
        pattern[i] = (unsigned char)(rng_next(&s) >> 56);
    memcpy(pattern + PLEN, pattern, MAXCHUNK);
}

static uint64_t byte_sum(const unsigned char *p, size_t n)
{
    uint64_t s = 0;

    while (n--)
        s += *p++;
    return s;
}

/* The byte sum of the first n bytes of the endless pattern. */
static uint64_t expected_sum(size_t n)
{
    return (n / PLEN) * byte_sum(pattern, PLEN) + byte_sum(pattern, n % PLEN);
}

static void *bulk_sender(void *arg)
{
    int fd = (int)(intptr_t)arg;
    uint64_t rng = 4242;
    size_t off = 0, n;

    while (off < BULK) {
        n = 1 + rng_next(&rng) % MAXCHUNK;
        if (n > BULK - off)
            n = BULK - off;
        xsend(fd, pattern + off % PLEN, n);
        off += n;
    }
    close(fd);
    return NULL;
}

static void check_bulk(void)
{
    static unsigned char buf[MAXCHUNK];
    uint64_t rng = 99, sum = 0;
    size_t total = 0, bad = 0;
    ssize_t r;
    pthread_t t;
    int p[2];

    make_pattern();
    unix_pair(p);
    t = spawn(bulk_sender, (void *)(intptr_t)p[1]);
    while ((r = recv(p[0], buf, 1 + rng_next(&rng) % MAXCHUNK, 0)) > 0) {
        bad += memcmp(buf, pattern + total % PLEN, (size_t)r) != 0;
        sum += byte_sum(buf, (size_t)r);
        total += (size_t)r;
    }
    if (r < 0)
        die("bulk recv");
    join(t);
    printf("256 MiB socketpair: %zu bytes, byte sum %llu %s, %zu bad chunks, "
           "receiver %s\n", total, (unsigned long long)sum,
           sum == expected_sum(BULK) ? "matches" : "DIFFERS", bad, fd_mode(p[0]));
    close(p[0]);
}

/* ---- half-close and reset ---- */

static void *half_close_server(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[64], reply[64];
    ssize_t r, got = 0;

    while ((r = recv(fd, buf, sizeof(buf), 0)) > 0)
        got += r;
    snprintf(reply, sizeof(reply), "got %zd, then %s", got, res(r, errno));
    xsend(fd, reply, strlen(reply));
    close(fd);
    return NULL;
}

static void check_half_close(void)
{
    char reply[128];
    ssize_t r, got = 0;
    pthread_t t;
    int p[2], e;

    tcp_pair(p);
    t = spawn(half_close_server, (void *)(intptr_t)p[1]);
    usleep(DELAY_US);
    xsend(p[0], "request", 7);
    if (shutdown(p[0], SHUT_WR) < 0)
        die("shutdown");
    while ((r = recv(p[0], reply + got, sizeof(reply) - 1 - (size_t)got, 0)) > 0)
        got += r;
    e = errno;
    join(t);
    reply[got] = '\0';
    printf("half-close: peer says \"%s\"; reply read until %s\n", reply, res(r, e));
    close(p[0]);
}

static void *recv_one(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char c;
    ssize_t r = recv(fd, &c, 1, 0);

    return (void *)(intptr_t)(r < 0 ? -errno : r);
}

static void check_reset(void)
{
    struct linger lg = { 1, 0 };
    intptr_t first;
    ssize_t s, r;
    int p[2], es, er;
    char c;
    pthread_t t;

    tcp_pair(p);
    t = spawn(recv_one, (void *)(intptr_t)p[0]);
    usleep(DELAY_US);
    if (setsockopt(p[1], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) < 0)
        die("SO_LINGER");
    close(p[1]);
    first = (intptr_t)join(t);
    s = send(p[0], "x", 1, 0);
    es = errno;
    r = recv(p[0], &c, 1, 0);
    er = errno;
    printf("reset by peer: blocked recv %s, then send %s, then recv %s\n",
           res(first < 0 ? -1 : first, (int)-first), res(s, es), res(r, er));
    close(p[0]);
}

/* ---- MSG_WAITALL, fortified recv ---- */

struct pieces {
    int fd;
    int count;
    size_t size;
    int shut;                   /* shutdown(SHUT_WR) after the last piece */
};

static void *send_pieces(void *arg)
{
    struct pieces *pc = arg;
    char buf[8192];
    int i;

    memset(buf, 'w', sizeof(buf));
    for (i = 0; i < pc->count; i++) {
        usleep(2000);
        xsend(pc->fd, buf, pc->size);
    }
    if (pc->shut && shutdown(pc->fd, SHUT_WR) < 0)
        die("shutdown");
    return NULL;
}

static void waitall(int p[2], int count, size_t size, int shut, size_t want)
{
    static char buf[65536];
    struct pieces pc = { p[1], count, size, shut };
    ssize_t r;
    pthread_t t;
    int e;

    t = spawn(send_pieces, &pc);
    r = recv(p[0], buf, want, MSG_WAITALL);
    e = errno;
    join(t);
    printf("MSG_WAITALL for %zu, %d pieces of %zu%s: %s\n", want, count, size,
           shut ? " then end of file" : "", res(r, e));
}

static void check_waitall(void)
{
    int p[2];

    tcp_pair(p);
    waitall(p, 10, 3000, 0, 30000);
    waitall(p, 1, 1000, 1, 5000);
    close_pair(p);
}

static void *send_later(void *arg)
{
    int fd = (int)(intptr_t)arg;

    usleep(DELAY_US);
    xsend(fd, "abcdefghijklmnopqrstuvwxyz", 26);
    return NULL;
}

static void check_fortified_recv(void)
{
    volatile size_t want = 20;  /* not a constant: __recv_chk does the check */
    char buf[32];
    ssize_t r;
    pthread_t t;
    int p[2], e;

    unix_pair(p);
    t = spawn(send_later, (void *)(intptr_t)p[1]);
    r = recv(p[0], buf, want, 0);
    e = errno;
    join(t);
    printf("recv of %zu into char[32]: %s (%.*s)\n", (size_t)want, res(r, e),
           r > 0 ? (int)r : 0, buf);
    close_pair(p);
}

/* ---- error codes ---- */

static void check_refused(void)
{
    struct sockaddr_in a;
    int port, bound = tcp_bound(&port, 0), fd, r, e;

    a = loopback(port);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    r = connect(fd, (struct sockaddr *)&a, sizeof(a));
    e = errno;
    printf("connect to a port nobody listens on: %s; socket %s\n", res(r, e),
           fd_mode(fd));
    close(fd);
    close(bound);
}

static void check_not_listening(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), r, e;

    r = accept(fd, NULL, NULL);
    e = errno;
    printf("accept on a socket that does not listen: %s\n", res(r, e));
    close(fd);
}

static void check_not_socket(void)
{
    struct sockaddr_in a = loopback(1);
    char c = 'x';
    ssize_t rr, rs;
    int p[2], rc, er, es, ec;

    xpipe(p);
    rr = recv(p[0], &c, 1, 0);
    er = errno;
    rs = send(p[1], &c, 1, 0);
    es = errno;
    rc = connect(p[1], (struct sockaddr *)&a, sizeof(a));
    ec = errno;
    printf("on a pipe: recv %s, send %s, connect %s\n", res(rr, er), res(rs, es),
           res(rc, ec));
    close_pair(p);
}

static void check_dontwait_full(void)
{
    static char buf[4096];
    ssize_t r;
    int p[2], e, n = 0;

    unix_pair(p);
    while ((r = send(p[0], buf, sizeof(buf), MSG_DONTWAIT)) > 0)
        n++;
    e = errno;
    printf("send(MSG_DONTWAIT) until full: %s after %s; socket %s\n", res(r, e),
           n > 0 ? "some sends" : "NO send", fd_mode(p[0]));
    close_pair(p);
}

/* ---- accept ---- */

static void check_accept_flags(void)
{
    int port, lfd = tcp_bound(&port, 8), c[3], a[3], e, i;
    char ch;
    ssize_t r;

    for (i = 0; i < 3; i++)
        c[i] = tcp_connect(port);
    a[0] = accept(lfd, NULL, NULL);
    a[1] = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
    a[2] = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (a[0] < 0 || a[1] < 0 || a[2] < 0)
        die("accept4");
    printf("accept: %s; accept4(SOCK_NONBLOCK): %s; accept4(SOCK_CLOEXEC): %s, "
           "FD_CLOEXEC %s\n", fd_mode(a[0]), fd_mode(a[1]), fd_mode(a[2]),
           fcntl(a[2], F_GETFD) & FD_CLOEXEC ? "set" : "clear");
    r = recv(a[1], &ch, 1, 0);
    e = errno;
    printf("recv on the SOCK_NONBLOCK socket, nothing sent: %s\n", res(r, e));
    for (i = 0; i < 3; i++) {
        close(a[i]);
        close(c[i]);
    }
    close(lfd);
}

static void *connect_later(void *arg)
{
    int port = (int)(intptr_t)arg, fd;

    usleep(50000);
    fd = tcp_connect(port);
    return (void *)(intptr_t)fd;
}

static void check_blocking_accept(void)
{
    int port, lfd = tcp_bound(&port, 8), a, c, e;
    pthread_t t;

    t = spawn(connect_later, (void *)(intptr_t)port);
    a = accept(lfd, NULL, NULL);
    e = errno;
    c = (int)(intptr_t)join(t);
    printf("accept waiting for a client 50 ms later: %s, peer %s; accepted %s, "
           "listener %s, client %s\n", a < 0 ? res(a, e) : "a socket",
           a >= 0 && port_of(a, 1) == port_of(c, 0) ? "matches" : "DIFFERS",
           fd_mode(a), fd_mode(lfd), fd_mode(c));
    close(a);
    close(c);
    close(lfd);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    check_echo();
    check_bulk();
    check_half_close();
    check_reset();
    check_waitall();
    check_fortified_recv();
    check_refused();
    check_not_listening();
    check_not_socket();
    check_dontwait_full();
    check_accept_flags();
    check_blocking_accept();
    printf("done\n");
    return 0;
}
