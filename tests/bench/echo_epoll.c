/*
 * echo_epoll - single-threaded epoll TCP echo server: the reference for
 * what echoing costs without threads.
 *
 * Usage: echo_epoll
 *
 * Listens on an ephemeral port of 127.0.0.1, prints "listening on PORT"
 * and serves every connection from one epoll loop on non-blocking sockets
 * (level-triggered): read what is there, write it back; output the socket
 * does not take at once waits in the connection's buffer, with EPOLLOUT
 * watched and reading paused, until it is written.  Raises its soft
 * RLIMIT_NOFILE to the hard one.  scripts/bench.sh runs it natively only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE 4096
#define MAX_EVENTS 256

struct conn {
    size_t off, len;            /* unsent output: buf[off, len) */
    char buf[BUF_SIZE];
};

static int ep;
static struct conn **conns;     /* by fd */
static int max_fds;

static void watch(int fd, int op, uint32_t events)
{
    struct epoll_event ev = { .events = events, .data.fd = fd };

    if (epoll_ctl(ep, op, fd, &ev) != 0)
        perror("echo_epoll: epoll_ctl");
}

static void drop(int fd)
{
    free(conns[fd]);
    conns[fd] = NULL;
    close(fd);
}

/* Writes the pending output; returns 0 when all is out, 1 if some waits. */
static int flush_out(int fd, struct conn *c)
{
    while (c->off < c->len) {
        ssize_t n = send(fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return 1;
        if (n < 0)
            return -1;
        c->off += (size_t)n;
    }
    c->off = c->len = 0;
    return 0;
}

static void on_event(int fd, uint32_t events)
{
    struct conn *c = conns[fd];
    int r;

    if (!c)                     /* dropped earlier in this batch */
        return;
    if (c->len > 0) {           /* EPOLLOUT while output was waiting */
        r = flush_out(fd, c);
        if (r < 0)
            drop(fd);
        else if (r == 0)
            watch(fd, EPOLL_CTL_MOD, EPOLLIN);
        return;
    }
    if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        return;
    ssize_t n = recv(fd, c->buf, BUF_SIZE, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        drop(fd);
        return;
    }
    c->len = (size_t)n;
    r = flush_out(fd, c);
    if (r < 0)
        drop(fd);
    else if (r > 0)
        watch(fd, EPOLL_CTL_MOD, EPOLLOUT);
}

static void on_accept(int lfd)
{
    int one = 1;

    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);

        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE)
                perror("echo_epoll: accept");
            return;
        }
        if (fd >= max_fds || !(conns[fd] = calloc(1, sizeof(struct conn)))) {
            close(fd);
            continue;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        watch(fd, EPOLL_CTL_ADD, EPOLLIN);
    }
}

int main(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    socklen_t len = sizeof(a);
    struct epoll_event evs[MAX_EVENTS];
    struct rlimit rl;
    int lfd;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    max_fds = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (int)rl.rlim_cur : 1024;
    conns = calloc((size_t)max_fds, sizeof(*conns));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ep = epoll_create1(0);
    if (!conns || lfd < 0 || ep < 0 ||
        bind(lfd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(lfd, 4096) != 0 ||
        getsockname(lfd, (struct sockaddr *)&a, &len) != 0) {
        perror("echo_epoll: setup");
        return 1;
    }
    watch(lfd, EPOLL_CTL_ADD, EPOLLIN);
    printf("listening on %d\n", ntohs(a.sin_port));
    fflush(stdout);
    for (;;) {
        int n = epoll_wait(ep, evs, MAX_EVENTS, -1);

        for (int i = 0; i < n; i++) {
            if (evs[i].data.fd == lfd)
                on_accept(lfd);
            else
                on_event(evs[i].data.fd, evs[i].events);
        }
    }
}
