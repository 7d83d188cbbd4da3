/* diff_evloop.c - three threads, each running its own epoll event loop.
 *
 * The server thread accepts on a non-blocking listening socket and echoes
 * whatever its connections send; the client thread connects NCONN
 * non-blocking sockets and sends NMSG messages on each, one at a time, each
 * checked when it comes back; the timer thread watches a periodic timerfd and
 * a pipe, on which the client says "done" when it has finished. Every loop
 * blocks in epoll_wait with a short timeout and simply goes round again when
 * it expires, as event loops do. Under greenrun all three loops share one OS
 * thread, so each epoll_wait must let the others run.
 *
 * Printed: what each loop saw, in words that do not depend on timing (how
 * many timeouts expired is not printed).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "common.h"

#define NCONN 3
#define NMSG 100
#define MSGLEN 100
#define TICK_NS 20000000                /* the timer's period */
#define MIN_TICKS 5
#define LOOP_MS 50                      /* every loop's epoll_wait timeout */

static int xepoll(void)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);

    if (ep < 0)
        die("epoll_create1");
    return ep;
}

static void ctl(int ep, int op, int fd, uint32_t events)
{
    struct epoll_event e = { .events = events, .data.fd = fd };

    if (epoll_ctl(ep, op, fd, &e) < 0)
        die("epoll_ctl");
}

/* ---- the server: accept, echo, close on end of file ---- */

struct conn {
    char out[NMSG * MSGLEN];            /* received, not yet sent back: room for */
                                        /* all a client ever sends, never full */
    size_t len;
};

struct server {
    int lfd;
    int accepted, hangups;
    size_t echoed;
};

/* Send back what is pending; watch for writability only while some is. */
static void flush(int ep, int fd, struct conn *c)
{
    ssize_t n;

    while (c->len && (n = write(fd, c->out, c->len)) > 0) {
        memmove(c->out, c->out + n, c->len - (size_t)n);
        c->len -= (size_t)n;
    }
    if (c->len && errno != EAGAIN)
        die("server write");
    ctl(ep, EPOLL_CTL_MOD, fd, EPOLLIN | EPOLLRDHUP | (c->len ? EPOLLOUT : 0));
}

static void serve(int ep, struct server *s, struct conn *conns[], int fd)
{
    struct conn *c = conns[fd];
    ssize_t n;

    while ((n = read(fd, c->out + c->len, sizeof(c->out) - c->len)) > 0) {
        c->len += (size_t)n;
        s->echoed += (size_t)n;
    }
    if (n == 0) {                   /* the client is done with it */
        s->hangups++;
        close(fd);
        free(c);
        conns[fd] = NULL;
        return;
    }
    if (errno != EAGAIN)
        die("server read");
    flush(ep, fd, c);
}

static void *server(void *arg)
{
    struct server *s = arg;
    struct conn *conns[1024] = { 0 };
    struct epoll_event ev[16];
    int ep = xepoll(), n, i, fd;

    ctl(ep, EPOLL_CTL_ADD, s->lfd, EPOLLIN);
    while (s->hangups < NCONN) {
        if ((n = epoll_wait(ep, ev, 16, LOOP_MS)) < 0)
            die("server epoll_wait");
        for (i = 0; i < n; i++) {
            if (ev[i].data.fd != s->lfd) {
                serve(ep, s, conns, ev[i].data.fd);
                continue;
            }
            while ((fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                if (fd >= 1024 || !(conns[fd] = calloc(1, sizeof(struct conn))))
                    die("server accept");
                s->accepted++;
                ctl(ep, EPOLL_CTL_ADD, fd, EPOLLIN | EPOLLRDHUP);
            }
            if (errno != EAGAIN)
                die("accept4");
        }
    }
    close(ep);
    return NULL;
}

/* ---- the client: NMSG messages on each connection, one at a time ---- */

struct client {
    struct sockaddr_in addr;
    int done_fd;                        /* tells the timer thread it is over */
    int intact;                         /* messages echoed intact */
};

struct peer {
    int fd;
    int sent;                           /* messages sent; the last awaits its echo */
    char back[MSGLEN];
    size_t got;
};

static void message(char *buf, int conn, int i)
{
    memset(buf, 'a' + (conn * NMSG + i) % 26, MSGLEN);
    snprintf(buf, MSGLEN, "connection %d message %d", conn, i);
}

/* Send the next message, or end the connection after the last. */
static void send_next(int ep, struct peer *p, int conn)
{
    char buf[MSGLEN];

    if (p->sent == NMSG) {
        ctl(ep, EPOLL_CTL_DEL, p->fd, 0);
        close(p->fd);
        p->fd = -1;
        return;
    }
    message(buf, conn, p->sent++);
    if (write(p->fd, buf, MSGLEN) != MSGLEN)    /* the socket buffer has room */
        die("client write");
    p->got = 0;
}

static void *client(void *arg)
{
    struct client *c = arg;
    struct peer peers[NCONN];
    struct epoll_event ev[NCONN];
    char want[MSGLEN];
    int ep = xepoll(), open = NCONN, n, i, k, err;
    socklen_t len = sizeof(err);
    ssize_t r;

    for (k = 0; k < NCONN; k++) {
        peers[k] = (struct peer){ .fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0) };
        if (peers[k].fd < 0 || (connect(peers[k].fd, (struct sockaddr *)&c->addr,
                                        sizeof(c->addr)) < 0 && errno != EINPROGRESS))
            die("client connect");
        ev[0] = (struct epoll_event){ .events = EPOLLOUT, .data.u32 = (uint32_t)k };
        if (epoll_ctl(ep, EPOLL_CTL_ADD, peers[k].fd, &ev[0]) < 0)
            die("epoll_ctl");
    }
    while (open) {
        if ((n = epoll_wait(ep, ev, NCONN, LOOP_MS)) < 0)
            die("client epoll_wait");
        for (i = 0; i < n; i++) {
            struct peer *p = &peers[k = (int)ev[i].data.u32];

            if (p->sent == 0) {         /* connected: switch to reading */
                if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err)
                    die("client connect result");
                ev[i].events = EPOLLIN;
                if (epoll_ctl(ep, EPOLL_CTL_MOD, p->fd, &ev[i]) < 0)
                    die("epoll_ctl");
                send_next(ep, p, k);
                continue;
            }
            while (p->got < MSGLEN && (r = read(p->fd, p->back + p->got, MSGLEN - p->got)) > 0)
                p->got += (size_t)r;
            if (p->got < MSGLEN)
                continue;
            message(want, k, p->sent - 1);
            c->intact += memcmp(want, p->back, MSGLEN) == 0;
            send_next(ep, p, k);
            open -= p->fd < 0;
        }
    }
    if (write(c->done_fd, "done", 4) != 4)
        die("write done");
    close(ep);
    return NULL;
}

/* ---- the timer: count ticks until told it is over ---- */

struct timer {
    int done_fd;
    uint64_t ticks;
    char said[8];
};

static void *timer(void *arg)
{
    struct timer *t = arg;
    struct itimerspec period = { { 0, TICK_NS }, { 0, TICK_NS } };
    struct epoll_event ev[2];
    int ep = xepoll(), tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC), n, i;
    uint64_t expired;

    if (tfd < 0 || timerfd_settime(tfd, 0, &period, NULL) < 0)
        die("timerfd");
    ctl(ep, EPOLL_CTL_ADD, tfd, EPOLLIN);
    ctl(ep, EPOLL_CTL_ADD, t->done_fd, EPOLLIN);
    while (!t->said[0] || t->ticks < MIN_TICKS) {
        if ((n = epoll_wait(ep, ev, 2, LOOP_MS)) < 0)
            die("timer epoll_wait");
        for (i = 0; i < n; i++) {
            if (ev[i].data.fd == tfd) {
                if (read(tfd, &expired, sizeof(expired)) != sizeof(expired))
                    die("timerfd read");
                t->ticks += expired;
            } else if (read(t->done_fd, t->said, sizeof(t->said) - 1) <= 0) {
                die("read done");
            } else {
                ctl(ep, EPOLL_CTL_DEL, t->done_fd, 0);
            }
        }
    }
    close(tfd);
    close(ep);
    return NULL;
}

int main(void)
{
    struct server s = { .lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0) };
    struct client c = { .addr = { .sin_family = AF_INET } };
    struct timer tm = { 0 };
    socklen_t len = sizeof(c.addr);
    pthread_t th[3];
    int p[2], i;

    alarm(20);
    c.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s.lfd < 0 || bind(s.lfd, (struct sockaddr *)&c.addr, sizeof(c.addr)) < 0 ||
        listen(s.lfd, NCONN) < 0 || getsockname(s.lfd, (struct sockaddr *)&c.addr, &len) < 0)
        die("listen");
    xpipe(p);
    tm.done_fd = p[0];
    c.done_fd = p[1];
    th[0] = spawn(server, &s);
    th[1] = spawn(client, &c);
    th[2] = spawn(timer, &tm);
    for (i = 0; i < 3; i++)
        join(th[i]);
    printf("server: accepted %d connections, echoed %zu bytes, %d hang-ups\n", s.accepted,
           s.echoed, s.hangups);
    printf("client: %d of %d messages echoed intact\n", c.intact, NCONN * NMSG);
    printf("timer: ticked at least %d times: %s, then the pipe said \"%s\"\n", MIN_TICKS,
           tm.ticks >= MIN_TICKS ? "yes" : "no", tm.said);
    return 0;
}
