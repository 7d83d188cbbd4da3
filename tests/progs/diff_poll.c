/* diff_poll.c - poll between threads: what it returns, the revents it
 * reports, and whether it waited (only "waited at least N ms" or "at once" is
 * printed, never a time).
 *
 * Checks: a 100 ms timeout with nothing ready returns 0 after at least 100 ms;
 * timeout 0; poll wakes when another thread writes to a pipe (no timeout, and
 * well before a long timeout); POLLOUT on a writable socket at once; POLLHUP
 * and POLLIN for fds whose peer closed, at once and while blocked; a negative
 * fd is ignored (revents 0); poll(NULL, 0, 50) sleeps; an fd number that is
 * not open reports POLLNVAL; 20 pipes, one of them written later; a listening
 * socket turns readable when a client connects; a variable count into a fixed
 * array (__poll_chk).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define DELAY_US 20000                  /* lets the poller block first */
#define NPIPES 20

static const char *events(short ev)
{
    static const struct { short bit; const char *name; } names[] = {
        { POLLIN, "POLLIN" }, { POLLPRI, "POLLPRI" }, { POLLOUT, "POLLOUT" },
        { POLLRDHUP, "POLLRDHUP" }, { POLLERR, "POLLERR" }, { POLLHUP, "POLLHUP" },
        { POLLNVAL, "POLLNVAL" },
    };
    static char buf[4][128];
    static int k;
    size_t i;

    k = (k + 1) % 4;
    buf[k][0] = '\0';
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (ev & names[i].bit)
            snprintf(buf[k] + strlen(buf[k]), sizeof(buf[k]) - strlen(buf[k]), "%s%s",
                     buf[k][0] ? "|" : "", names[i].name);
    return buf[k][0] ? buf[k] : "0";
}

/* How long a call took, in words that do not depend on the machine. */
static const char *how_long(long start, long at_least_ms)
{
    long ms = now_ms() - start;

    if (at_least_ms > 0)
        return ms >= at_least_ms ? "waited long enough" : "returned EARLY";
    return ms < 1000 ? "at once" : "SLOWLY";
}

/* Poll one fd and print what came back. */
static void poll_one(const char *what, int fd, short ev, int timeout, long at_least_ms)
{
    struct pollfd p = { fd, ev, 0 };
    long start = now_ms();
    int r = poll(&p, 1, timeout), e = errno;

    printf("%s: %s, revents %s, %s\n", what, res(r, e), events(p.revents),
           how_long(start, at_least_ms));
}

/* After a delay, write a byte to fd, or close it. */
struct later {
    int fd;
    int close_it;
};

static void *later(void *arg)
{
    struct later *l = arg;

    usleep(DELAY_US);
    if (l->close_it)
        close(l->fd);
    else if (write(l->fd, "x", 1) != 1)
        die("write");
    return NULL;
}

/* ---- timeouts ---- */

static void check_timeouts(void)
{
    int p[2];

    xpipe(p);
    poll_one("empty pipe, timeout 100", p[0], POLLIN, 100, 100);
    poll_one("empty pipe, timeout 0", p[0], POLLIN, 0, 0);
    close_pair(p);
}

static void check_no_fds(void)
{
    long start = now_ms();
    int r = poll(NULL, 0, 50), e = errno;

    printf("poll(NULL, 0, 50): %s, %s\n", res(r, e), how_long(start, 50));
}

/* ---- wake-ups by other threads ---- */

static void wait_for(const char *what, int fd, struct later *l, short ev, int timeout)
{
    pthread_t t = spawn(later, l);

    poll_one(what, fd, ev, timeout, 0);
    join(t);
}

static void check_wakeups(void)
{
    struct later l;
    int p[2];

    xpipe(p);
    l = (struct later){ p[1], 0 };
    wait_for("pipe written by another thread, no timeout", p[0], &l, POLLIN, -1);
    wait_for("pipe written again, timeout 10 s", p[0], &l, POLLIN, 10000);
    l.close_it = 1;
    wait_for("pipe with data, writer closes", p[0], &l, POLLIN, -1);
    close(p[0]);

    xpipe(p);
    l = (struct later){ p[1], 1 };
    wait_for("empty pipe, writer closes while polled", p[0], &l, POLLIN, -1);
    close(p[0]);
}

/* ---- readiness reported at once ---- */

static void check_at_once(void)
{
    int s[2], p[2];

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, s) < 0)
        die("socketpair");
    poll_one("POLLOUT on a writable socket, no timeout", s[0], POLLOUT, -1, 0);
    close(s[1]);
    poll_one("socket whose peer closed, POLLIN", s[0], POLLIN, -1, 0);
    poll_one("socket whose peer closed, POLLIN|POLLRDHUP", s[0], POLLIN | POLLRDHUP, -1, 0);
    close(s[0]);
    xpipe(p);
    close(p[1]);
    poll_one("pipe whose writer closed, POLLIN", p[0], POLLIN, -1, 0);
    close(p[0]);
    xpipe(p);
    close(p[0]);
    poll_one("pipe whose reader closed, POLLOUT", p[1], POLLOUT, -1, 0);
    close(p[1]);
}

static void check_negative_fd(void)
{
    struct pollfd f[2];
    long start;
    int p[2], r, e;

    xpipe(p);
    if (write(p[1], "x", 1) != 1)
        die("write");
    f[0] = (struct pollfd){ -1, POLLIN, POLLIN | POLLHUP };
    f[1] = (struct pollfd){ p[0], POLLIN, 0 };
    r = poll(f, 2, -1);
    e = errno;
    printf("negative fd and a pipe with data: %s, revents %s and %s\n", res(r, e),
           events(f[0].revents), events(f[1].revents));
    f[1].fd = -p[0];
    start = now_ms();
    r = poll(f, 2, 50);
    e = errno;
    printf("only negative fds, timeout 50: %s, revents %s and %s, %s\n", res(r, e),
           events(f[0].revents), events(f[1].revents), how_long(start, 50));
    close_pair(p);
}

static void check_nval(void)
{
    int fd = 1000;

    while (fcntl(fd, F_GETFD) >= 0)
        fd++;
    poll_one("fd number that is not open, no timeout", fd, POLLIN, -1, 0);
}

/* ---- many fds, listening sockets, __poll_chk ---- */

static void check_many(void)
{
    struct pollfd f[NPIPES];
    int p[NPIPES][2], i, r, e, ready = 0;
    struct later l;
    pthread_t t;

    for (i = 0; i < NPIPES; i++) {
        xpipe(p[i]);
        f[i] = (struct pollfd){ p[i][0], POLLIN, 0 };
    }
    l = (struct later){ p[17][1], 0 };
    t = spawn(later, &l);
    r = poll(f, NPIPES, -1);
    e = errno;
    join(t);
    for (i = 0; i < NPIPES; i++)
        if (f[i].revents)
            ready = i;
    printf("%d pipes, #17 written later: %s, #%d has %s\n", NPIPES, res(r, e), ready,
           events(f[ready].revents));
    for (i = 0; i < NPIPES; i++)
        close_pair(p[i]);
}

static void *connect_later(void *arg)
{
    struct sockaddr_in *a = arg;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    usleep(DELAY_US);
    if (fd < 0 || connect(fd, (struct sockaddr *)a, sizeof(*a)) < 0)
        die("connect");
    return (void *)(intptr_t)fd;
}

static void check_listener(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    void *c;
    pthread_t t;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 4) < 0 ||
        getsockname(lfd, (struct sockaddr *)&a, &len) < 0)
        die("listen");
    t = spawn(connect_later, &a);
    poll_one("listening socket, client connects later", lfd, POLLIN, -1, 0);
    c = join(t);
    close((int)(intptr_t)c);
    close(lfd);
}

static void check_fortified(void)
{
    volatile nfds_t n = 1;      /* not a constant: __poll_chk does the check */
    struct pollfd f[4];
    struct later l;
    pthread_t t;
    int p[2], r, e;

    xpipe(p);
    f[0] = (struct pollfd){ p[0], POLLIN, 0 };
    l = (struct later){ p[1], 0 };
    t = spawn(later, &l);
    r = poll(f, n, -1);
    e = errno;
    join(t);
    printf("poll of %d from struct pollfd[4], written later: %s, revents %s\n", (int)n,
           res(r, e), events(f[0].revents));
    close_pair(p);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    check_timeouts();
    check_no_fds();
    check_wakeups();
    check_at_once();
    check_negative_fd();
    check_nval();
    check_many();
    check_listener();
    check_fortified();
    printf("done\n");
    return 0;
}
