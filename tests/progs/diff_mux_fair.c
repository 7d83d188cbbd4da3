/* diff_mux_fair.c - a thread whose poll/select/epoll always find an fd
 * ready must not keep the others from running.
 *
 * One thread loops on a multiplexer over a pipe that always holds data, until
 * another thread, sleeping 20 ms, sets a flag; it gives up after 5 s. Each
 * multiplexer in turn: the sleeper must get to run while the poller loops.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

static atomic_int woke;
static int fds[2], epfd;

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *sleeper(void *arg)
{
    (void)arg;
    usleep(20000);
    woke = 1;
    return NULL;
}

static int ready(const char *how)
{
    struct pollfd p = { .fd = fds[0], .events = POLLIN };
    struct epoll_event ev;
    struct timeval tv = { 1, 0 };
    fd_set r;

    switch (how[0]) {
    case 'p':
        return poll(&p, 1, 1000);
    case 's':
        FD_ZERO(&r);
        FD_SET(fds[0], &r);
        return select(fds[0] + 1, &r, NULL, NULL, &tv);
    default:
        return epoll_wait(epfd, &ev, 1, 1000);
    }
}

static void one(const char *how)
{
    pthread_t t;
    double end = now() + 5;

    woke = 0;
    pthread_create(&t, NULL, sleeper, NULL);
    while (!woke && now() < end && ready(how) == 1)
        continue;
    printf("%s: the sleeper ran while the poller looped: %s\n", how, woke ? "yes" : "no");
    pthread_join(t, NULL);
}

int main(void)
{
    struct epoll_event ev = { .events = EPOLLIN };

    alarm(30);
    if (pipe(fds) || write(fds[1], "x", 1) != 1)
        return 1;
    epfd = epoll_create1(0);
    ev.data.fd = fds[0];
    epoll_ctl(epfd, EPOLL_CTL_ADD, fds[0], &ev);
    one("poll");
    one("select");
    one("epoll_wait");
    return 0;
}
