/* diff_epoll.c - epoll_wait, epoll_pwait and epoll_pwait2 between threads:
 * the events returned, error codes, and whether a call waited (only "waited
 * >= N ms and < N+50 ms: yes" or "at once" is printed, never a time).
 *
 * Checks: timeouts in milliseconds and as a timespec, zero timeouts;
 * wake-ups by another thread writing; EPOLLHUP for a pipe whose writer
 * closes, EPOLLIN|EPOLLRDHUP|EPOLLHUP for a socket whose peer closes, while
 * blocked; edge-triggered (a second wait sees nothing until new data comes,
 * from another thread) and one-shot registrations (nothing until re-armed;
 * of two threads waiting for one event, one gets it); maxevents smaller than
 * the ready list; an epoll fd watching another epoll fd; EBADF, EINVAL (not
 * an epoll fd, maxevents 0 or -1, bad timespecs), EFAULT; an fd in the set,
 * and the epoll fd itself, closed by another thread during a wait (natively
 * the wait goes on and times out); cancellation while waiting; a signal mask
 * that unblocks a pending signal (EINTR at once) or keeps it blocked (the
 * thread's mask is its own again afterwards).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define DELAY_US 20000                  /* lets the waiter block first */

static const char *events(uint32_t ev)
{
    static const struct { uint32_t bit; const char *name; } names[] = {
        { EPOLLIN, "EPOLLIN" }, { EPOLLPRI, "EPOLLPRI" }, { EPOLLOUT, "EPOLLOUT" },
        { EPOLLRDHUP, "EPOLLRDHUP" }, { EPOLLERR, "EPOLLERR" }, { EPOLLHUP, "EPOLLHUP" },
    };
    static char buf[128];
    size_t i;

    buf[0] = '\0';
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (ev & names[i].bit)
            snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s", buf[0] ? "|" : "",
                     names[i].name);
    return buf[0] ? buf : "0";
}

static int xepoll(void)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);

    if (ep < 0)
        die("epoll_create1");
    return ep;
}

static void watch(int ep, int fd, uint32_t ev, uint64_t tag)
{
    struct epoll_event e = { .events = ev, .data.u64 = tag };

    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) < 0)
        die("epoll_ctl");
}

static void put(int fd)
{
    if (write(fd, "x", 1) != 1)
        die("write");
}

/* After a delay, close one fd (if >= 0), then write a byte to another. */
struct later {
    int close_fd, write_fd;
};

static void *later(void *arg)
{
    struct later *l = arg;

    usleep(DELAY_US);
    if (l->close_fd >= 0)
        close(l->close_fd);
    if (l->write_fd >= 0)
        put(l->write_fd);
    return NULL;
}

static pthread_t act_later(struct later *l, int close_fd, int write_fd)
{
    *l = (struct later){ close_fd, write_fd };
    return spawn(later, l);
}

/* epoll_wait for up to 4 events and print them; ms is the wait expected. */
static void wait_print(const char *what, int ep, int timeout, long ms)
{
    struct epoll_event ev[4];
    long start = now_ms();
    int r = epoll_wait(ep, ev, 4, timeout), e = errno, i;

    printf("%s: %s, %s", what, res(r, e), took(start, ms));
    for (i = 0; i < r; i++)
        printf(", tag %llu %s", (unsigned long long)ev[i].data.u64, events(ev[i].events));
    printf("\n");
}

/* ---- timeouts and wake-ups ---- */

static void check_basics(void)
{
    struct timespec ts = { 0, 100000000 };
    struct epoll_event ev;
    struct later l;
    pthread_t t;
    int ep = xepoll(), p[2], s[2], r, e;
    long start;

    xpipe(p);
    watch(ep, p[0], EPOLLIN, 1);
    wait_print("empty pipe, timeout 100 ms", ep, 100, 100);
    wait_print("empty pipe, timeout 0", ep, 0, 0);
    start = now_ms();
    r = epoll_pwait2(ep, &ev, 1, &ts, NULL);
    e = errno;
    printf("epoll_pwait2, empty pipe, 100 ms: %s, %s, timeout unchanged: %s\n", res(r, e),
           took(start, 100), yes(ts.tv_sec == 0 && ts.tv_nsec == 100000000));
    t = act_later(&l, -1, p[1]);
    wait_print("pipe written by another thread, no timeout", ep, -1, 0);
    join(t);
    t = act_later(&l, -1, p[1]);
    r = epoll_pwait2(ep, &ev, 1, NULL, NULL);
    e = errno;
    printf("epoll_pwait2, no timeout, woken by a write: %s, %s\n", res(r, e),
           events(ev.events));
    join(t);
    close(p[0]);
    close(p[1]);

    xpipe(p);
    watch(ep, p[0], EPOLLIN, 2);
    t = act_later(&l, p[1], -1);
    wait_print("pipe, writer closes while waiting", ep, 10000, 0);
    join(t);
    close(p[0]);

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, s) < 0)
        die("socketpair");
    watch(ep, s[0], EPOLLIN | EPOLLRDHUP, 3);
    t = act_later(&l, s[1], -1);
    wait_print("socket, peer closes while waiting", ep, -1, 0);
    join(t);
    close(s[0]);
    close(ep);
}

/* ---- edge-triggered and one-shot ---- */

struct waiter {
    int ep;
    int got;
};

static void *wait_oneshot(void *arg)
{
    struct waiter *w = arg;
    struct epoll_event ev;

    w->got = epoll_wait(w->ep, &ev, 1, 300);
    return NULL;
}

static void check_et_oneshot(void)
{
    struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.u64 = 5 };
    struct waiter w[2];
    struct later l;
    pthread_t t, tw[2];
    int ep = xepoll(), p[2], i;

    xpipe(p);
    watch(ep, p[0], EPOLLIN | EPOLLET, 4);
    put(p[1]);
    wait_print("edge-triggered, one byte", ep, 100, 0);
    wait_print("edge-triggered, same byte unread, 100 ms", ep, 100, 100);
    t = act_later(&l, -1, p[1]);
    wait_print("edge-triggered, another thread writes", ep, 10000, 0);
    join(t);
    close(p[0]);
    close(p[1]);

    xpipe(p);
    watch(ep, p[0], EPOLLIN | EPOLLONESHOT, 5);
    put(p[1]);
    wait_print("one-shot, one byte", ep, 100, 0);
    t = act_later(&l, -1, p[1]);
    wait_print("one-shot, not re-armed, another thread writes, 100 ms", ep, 100, 100);
    join(t);
    if (epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev) < 0)
        die("epoll_ctl MOD");
    wait_print("one-shot, re-armed", ep, 100, 0);

    if (epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev) < 0)
        die("epoll_ctl MOD");
    if (read(p[0], (char[4]){ 0 }, 4) != 2)
        die("read");
    for (i = 0; i < 2; i++) {
        w[i] = (struct waiter){ ep, -2 };
        tw[i] = spawn(wait_oneshot, &w[i]);
    }
    usleep(DELAY_US);
    put(p[1]);
    for (i = 0; i < 2; i++)
        join(tw[i]);
    printf("one-shot, two threads waiting 300 ms, one write: one got it, one timed out: %s\n",
           yes(w[0].got + w[1].got == 1 && (w[0].got == 0 || w[1].got == 0)));
    close(p[0]);
    close(p[1]);
    close(ep);
}

/* ---- several events, nesting ---- */

static void check_many_nested(void)
{
    struct later l;
    pthread_t t;
    struct epoll_event ev[2];
    int ep = xepoll(), inner = xepoll(), p[3][2], i, r, e;

    for (i = 0; i < 3; i++) {
        xpipe(p[i]);
        watch(ep, p[i][0], EPOLLIN, 10 + i);
        put(p[i][1]);
    }
    r = epoll_wait(ep, ev, 2, 1000);
    e = errno;
    printf("three pipes ready, maxevents 2: %s", res(r, e));
    r = epoll_wait(ep, ev, 2, 1000);
    e = errno;
    printf(", then %s\n", res(r, e));
    for (i = 0; i < 3; i++) {
        close(p[i][0]);
        close(p[i][1]);
    }

    xpipe(p[0]);
    watch(inner, p[0][0], EPOLLIN, 21);
    watch(ep, inner, EPOLLIN, 20);
    t = act_later(&l, -1, p[0][1]);
    wait_print("epoll fd watching an epoll fd, pipe written by another thread", ep, 10000, 0);
    join(t);
    wait_print("  the inner epoll fd", inner, 0, 0);
    close(p[0][0]);
    close(p[0][1]);
    close(inner);
    close(ep);
}

/* ---- errors ---- */

static void check_errors(void)
{
    static const struct timespec bad[] = { { 0, 1000000000 }, { 0, -1 }, { -1, 0 } };
    static const char *const bad_name[] = { "tv_nsec 1e9", "tv_nsec -1", "tv_sec -1" };
    /* volatile: the compiler must not refuse them before the kernel does */
    struct epoll_event ev, *volatile none = NULL;
    volatile int zero = 0, minus = -1;
    int ep = xepoll(), p[2], r, e, i;

    xpipe(p);
    r = epoll_wait(p[1] + 100, &ev, 1, 100);
    e = errno;
    printf("fd not open: %s\n", res(r, e));
    r = epoll_wait(p[0], &ev, 1, 100);
    e = errno;
    printf("a pipe, not an epoll fd: %s\n", res(r, e));
    r = epoll_wait(ep, &ev, zero, 100);
    e = errno;
    printf("maxevents 0: %s\n", res(r, e));
    r = epoll_wait(ep, &ev, minus, 100);
    e = errno;
    printf("maxevents -1: %s\n", res(r, e));
    put(p[1]);
    watch(ep, p[0], EPOLLIN, 50);
    r = epoll_wait(ep, none, 1, 100);
    e = errno;
    printf("events NULL, a pipe ready: %s\n", res(r, e));
    for (i = 0; i < 3; i++) {
        r = epoll_pwait2(ep, &ev, 1, &bad[i], NULL);
        e = errno;
        printf("epoll_pwait2, %s: %s\n", bad_name[i], res(r, e));
    }
    close(p[0]);
    close(p[1]);
    close(ep);
}

/* ---- fds closed while another thread waits ---- */

static void check_close_while_waiting(void)
{
    struct later l;
    pthread_t t;
    int ep = xepoll(), p[2];

    xpipe(p);
    watch(ep, p[0], EPOLLIN, 30);
    t = act_later(&l, p[0], -1);
    wait_print("the watched fd closed by another thread, 200 ms", ep, 200, 200);
    join(t);
    close(p[1]);

    t = act_later(&l, ep, -1);
    wait_print("the epoll fd closed by another thread, 200 ms", ep, 200, 200);
    join(t);
}

/* ---- cancellation ---- */

static void cleanup(void *arg)
{
    *(int *)arg = 1;
}

static void *wait_forever(void *arg)
{
    struct epoll_event ev;
    int *ep = arg;

    pthread_cleanup_push(cleanup, ep + 1);
    epoll_wait(ep[0], &ev, 1, -1);
    pthread_cleanup_pop(0);
    return NULL;
}

static void check_cancel(void)
{
    int ep[2] = { xepoll(), 0 }, p[2];
    pthread_t t;
    void *ret;

    xpipe(p);
    watch(ep[0], p[0], EPOLLIN, 60);
    t = spawn(wait_forever, ep);
    usleep(DELAY_US);
    pthread_cancel(t);
    ret = join(t);
    printf("epoll_wait cancelled while waiting: %s, cleanup ran: %s\n",
           ret == PTHREAD_CANCELED ? "PTHREAD_CANCELED" : "returned", yes(ep[1]));
    close(p[0]);
    close(p[1]);
    close(ep[0]);
}

/* ---- signal masks ---- */

static volatile sig_atomic_t caught;

static void on_usr1(int sig)
{
    (void)sig;
    caught++;
}

static void check_sigmask(void)
{
    sigset_t usr1, none, now;
    struct epoll_event ev;
    struct later l;
    pthread_t t;
    int ep = xepoll(), p[2], r, e;
    long start;

    signal(SIGUSR1, on_usr1);
    sigemptyset(&none);
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &usr1, NULL);
    xpipe(p);
    watch(ep, p[0], EPOLLIN, 40);

    raise(SIGUSR1);
    start = now_ms();
    r = epoll_pwait(ep, &ev, 1, 1000, &none);
    e = errno;
    printf("epoll_pwait, mask unblocks a pending signal: %s, handler ran: %s, %s\n", res(r, e),
           yes(caught == 1), took(start, 0));
    raise(SIGUSR1);
    r = epoll_pwait2(ep, &ev, 1, &(struct timespec){ 1, 0 }, &none);
    e = errno;
    printf("epoll_pwait2, mask unblocks a pending signal: %s, handler ran: %s\n", res(r, e),
           yes(caught == 2));

    raise(SIGUSR1);
    start = now_ms();
    r = epoll_pwait(ep, &ev, 1, 100, &usr1);
    e = errno;
    printf("epoll_pwait, mask keeps it blocked, 100 ms: %s, %s, handler ran: %s\n", res(r, e),
           took(start, 100), yes(caught == 3));
    t = act_later(&l, -1, p[1]);
    r = epoll_pwait(ep, &ev, 1, 10000, &usr1);
    e = errno;
    join(t);
    printf("epoll_pwait, mask keeps it blocked, woken by a write: %s, handler ran: %s\n",
           res(r, e), yes(caught == 3));
    pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
    printf("handler ran once unblocked: %s\n", yes(caught == 3));

    pthread_sigmask(SIG_BLOCK, &usr1, NULL);
    if (read(p[0], (char[2]){ 0 }, 1) != 1)
        die("read");
    t = act_later(&l, -1, p[1]);
    r = epoll_pwait(ep, &ev, 1, 10000, &none);
    e = errno;
    join(t);
    pthread_sigmask(SIG_BLOCK, NULL, &now);
    printf("epoll_pwait, empty mask, woken by a write: %s, SIGUSR1 blocked again after: %s\n",
           res(r, e), yes(sigismember(&now, SIGUSR1)));
    pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
    close(p[0]);
    close(p[1]);
    close(ep);
}

int main(void)
{
    alarm(20);
    setvbuf(stdout, NULL, _IOLBF, 0);
    check_basics();
    check_et_oneshot();
    check_many_nested();
    check_errors();
    check_close_while_waiting();
    check_cancel();
    check_sigmask();
    printf("done\n");
    return 0;
}
