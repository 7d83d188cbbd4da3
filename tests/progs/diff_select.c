/* diff_select.c - select, pselect and ppoll between threads: results, error
 * codes, the sets and timeouts written back, and whether a call waited (only
 * "waited >= N ms and < N+50 ms: yes" or "at once" is printed, never a time).
 *
 * Checks: timeouts (select's is rewritten with the time left, pselect's and
 * ppoll's are not), a zero timeout, select(0, ...) as a sleep, a tv_usec of
 * more than a second; wake-ups by another thread writing, closing the peer
 * (read set) or the reader (write set) or draining a full pipe; 20 pipes;
 * readable and writable at once; TCP urgent data in the except set; EBADF for
 * a closed fd (sets untouched, time left written), EINVAL for a negative nfds
 * and bad timeouts; nfds beyond FD_SETSIZE; an fd closed by another thread
 * while select or ppoll waits on it (the wait goes on; when the time is up
 * or another fd is ready, select reports the closed one ready in its sets,
 * ppoll says POLLNVAL); a signal mask that unblocks a pending signal
 * (EINTR at once) or keeps it blocked (no EINTR; the thread's mask is its own
 * again after the call); __ppoll_chk; cancellation of a thread waiting in
 * select, pselect or ppoll; FD_SET out of range (__fdelt_chk).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define DELAY_US 20000                  /* lets the waiter block first */
#define NPIPES 20

/* After a delay, close one fd (if >= 0), then write a byte to another (if
 * >= 0), or read a pipe dry. */
struct later {
    int close_fd, write_fd, drain_fd;
};

static void *later(void *arg)
{
    struct later *l = arg;
    char buf[65536];

    usleep(DELAY_US);
    if (l->close_fd >= 0)
        close(l->close_fd);
    if (l->write_fd >= 0 && write(l->write_fd, "x", 1) != 1)
        die("write");
    if (l->drain_fd >= 0 && read(l->drain_fd, buf, sizeof(buf)) <= 0)
        die("read");
    return NULL;
}

static pthread_t act_later(struct later *l, int close_fd, int write_fd, int drain_fd)
{
    *l = (struct later){ close_fd, write_fd, drain_fd };
    return spawn(later, l);
}

/* select on one fd for reading (wr = 0) or writing, and print the outcome. */
static void select_one(const char *what, int fd, int wr, struct timeval *tv, long ms)
{
    fd_set s;
    long start = now_ms();
    int r, e;

    FD_ZERO(&s);
    FD_SET(fd, &s);
    r = select(fd + 1, wr ? NULL : &s, wr ? &s : NULL, NULL, tv);
    e = errno;
    printf("%s: %s, fd in set: %s, %s\n", what, res(r, e), yes(FD_ISSET(fd, &s)),
           took(start, ms));
}

static double secs(const struct timeval *tv)
{
    return tv->tv_sec + tv->tv_usec / 1e6;
}

/* ---- timeouts and what select writes back ---- */

static void check_timeouts(void)
{
    struct timeval tv = { 0, 100000 };
    struct timespec ts = { 0, 100000000 };
    struct later l;
    pthread_t t;
    fd_set s;
    long start;
    int p[2], r, e;

    xpipe(p);
    select_one("empty pipe, timeout 100 ms", p[0], 0, &tv, 100);
    printf("  time left: %ld s %ld us\n", (long)tv.tv_sec, (long)tv.tv_usec);
    tv = (struct timeval){ 0, 0 };
    select_one("empty pipe, timeout 0", p[0], 0, &tv, 0);
    tv = (struct timeval){ 0, 100000 };
    start = now_ms();
    r = select(0, NULL, NULL, NULL, &tv);
    e = errno;
    printf("select(0, NULL, NULL, NULL, 100 ms): %s, %s\n", res(r, e), took(start, 100));

    FD_ZERO(&s);
    FD_SET(p[0], &s);
    start = now_ms();
    r = pselect(p[0] + 1, &s, NULL, NULL, &ts, NULL);
    e = errno;
    printf("pselect, empty pipe, 100 ms: %s, %s, timeout unchanged: %s\n", res(r, e),
           took(start, 100), yes(ts.tv_sec == 0 && ts.tv_nsec == 100000000));

    if (write(p[1], "x", 1) != 1)
        die("write");
    tv = (struct timeval){ 10, 0 };
    select_one("pipe with data, timeout 10 s", p[0], 0, &tv, 0);
    printf("  time left between 9 and 10 s: %s\n", yes(secs(&tv) > 9 && secs(&tv) <= 10));
    tv = (struct timeval){ 0, 1050000 };
    select_one("pipe with data, tv_usec 1050000", p[0], 0, &tv, 0);
    printf("  time left carried into seconds, between 1 and 1.05 s: %s\n",
           yes(tv.tv_usec < 1000000 && secs(&tv) > 1 && secs(&tv) <= 1.05));
    if (read(p[0], &e, 1) != 1)
        die("read");

    t = act_later(&l, -1, p[1], -1);
    tv = (struct timeval){ 10, 0 };
    select_one("pipe written by another thread, timeout 10 s", p[0], 0, &tv, 0);
    printf("  time left between 9 and 10 s: %s\n", yes(secs(&tv) > 9 && secs(&tv) < 10));
    join(t);
    close(p[0]);
    close(p[1]);
}

/* ---- wake-ups ---- */

static void fill(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    while (write(fd, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 32) > 0)
        ;
    fcntl(fd, F_SETFL, fl);
}

static void check_wakeups(void)
{
    struct later l;
    pthread_t t;
    int p[2], s[2];

    xpipe(p);
    t = act_later(&l, -1, p[1], -1);
    select_one("pipe written by another thread, no timeout", p[0], 0, NULL, 0);
    join(t);
    close(p[0]);
    close(p[1]);

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, s) < 0)
        die("socketpair");
    t = act_later(&l, s[1], -1, -1);
    select_one("socket, peer closes while waiting", s[0], 0, NULL, 0);
    join(t);
    close(s[0]);

    xpipe(p);
    fill(p[1]);
    select_one("full pipe, write set, timeout 0", p[1], 1, &(struct timeval){ 0, 0 }, 0);
    t = act_later(&l, -1, -1, p[0]);
    select_one("full pipe drained by another thread, write set", p[1], 1, NULL, 0);
    join(t);
    fill(p[1]);
    t = act_later(&l, p[0], -1, -1);
    select_one("full pipe whose reader closes, write set", p[1], 1, NULL, 0);
    join(t);
    close(p[1]);
}

static void check_many(void)
{
    int p[NPIPES][2], i, r, e, maxfd = 0, which = -1, n = 0;
    struct later l;
    pthread_t t;
    fd_set s;

    FD_ZERO(&s);
    for (i = 0; i < NPIPES; i++) {
        xpipe(p[i]);
        FD_SET(p[i][0], &s);
        maxfd = p[i][0] > maxfd ? p[i][0] : maxfd;
    }
    t = act_later(&l, -1, p[17][1], -1);
    r = select(maxfd + 1, &s, NULL, NULL, NULL);
    e = errno;
    join(t);
    for (i = 0; i < NPIPES; i++)
        if (FD_ISSET(p[i][0], &s))
            which = i, n++;
    printf("%d pipes, #17 written later: %s, %d in the set, #%d\n", NPIPES, res(r, e), n,
           which);
    for (i = 0; i < NPIPES; i++) {
        close(p[i][0]);
        close(p[i][1]);
    }
}

static void check_both_and_except(void)
{
    fd_set rd, wr, ex;
    int s[2], r, e;

    tcp_pair(s);
    if (send(s[1], "a", 1, 0) != 1 || send(s[1], "!", 1, MSG_OOB) != 1)
        die("send");
    usleep(DELAY_US);               /* the loopback delivers both */
    FD_ZERO(&rd);
    FD_ZERO(&wr);
    FD_ZERO(&ex);
    FD_SET(s[0], &rd);
    FD_SET(s[0], &wr);
    FD_SET(s[0], &ex);
    r = select(s[0] + 1, &rd, &wr, &ex, NULL);
    e = errno;
    printf("TCP socket with data and urgent data, all three sets: %s, read %s, write %s, "
           "except %s\n", res(r, e), yes(FD_ISSET(s[0], &rd)), yes(FD_ISSET(s[0], &wr)),
           yes(FD_ISSET(s[0], &ex)));
    close(s[0]);
    close(s[1]);
}

/* ---- errors ---- */

static void check_errors(void)
{
    struct timespec ts;
    struct timeval tv;
    fd_set s;
    long start;
    int p[2], r, e, closed;

    xpipe(p);
    closed = p[1];
    close(closed);
    tv = (struct timeval){ 1, 0 };
    select_one("fd not open, timeout 1 s", closed, 0, &tv, 0);
    printf("  time left between 0.9 and 1 s: %s\n", yes(secs(&tv) > 0.9 && secs(&tv) <= 1));
    FD_ZERO(&s);
    FD_SET(p[0], &s);
    tv = (struct timeval){ 1, 0 };
    r = select(-1, &s, NULL, NULL, &tv);
    e = errno;
    printf("nfds -1: %s, set untouched: %s\n", res(r, e), yes(FD_ISSET(p[0], &s)));
    tv = (struct timeval){ -1, 0 };
    select_one("tv_sec -1", p[0], 0, &tv, 0);
    printf("  timeout untouched: %s\n", yes(tv.tv_sec == -1 && tv.tv_usec == 0));
    tv = (struct timeval){ 1, -1 };
    select_one("tv_usec -1", p[0], 0, &tv, 0);
    for (int i = 0; i < 3; i++) {
        static const struct timespec bad[] = { { 0, 1000000000 }, { 0, -1 }, { -1, 0 } };
        static const char *const name[] = { "tv_nsec 1e9", "tv_nsec -1", "tv_sec -1" };

        ts = bad[i];
        r = pselect(p[0] + 1, &s, NULL, NULL, &ts, NULL);
        e = errno;
        printf("pselect, %s: %s\n", name[i], res(r, e));
    }

    /* The kernel looks no further than its fd table, so fd_sets do. */
    FD_ZERO(&s);
    FD_SET(p[0], &s);
    r = select(FD_SETSIZE + 100, &s, NULL, NULL, NULL);
    e = errno;
    printf("nfds FD_SETSIZE + 100, pipe whose writer closed: %s, fd in set: %s\n", res(r, e),
           yes(FD_ISSET(p[0], &s)));
    close(p[0]);
    xpipe(p);
    FD_ZERO(&s);
    FD_SET(p[0], &s);
    tv = (struct timeval){ 0, 50000 };
    start = now_ms();
    r = select(FD_SETSIZE + 100, &s, NULL, NULL, &tv);
    e = errno;
    printf("nfds FD_SETSIZE + 100, empty pipe, 50 ms: %s, fd in set: %s, %s\n", res(r, e),
           yes(FD_ISSET(p[0], &s)), took(start, 50));
    close(p[0]);
    close(p[1]);
}

/* ---- an fd closed while another thread waits on it ---- */

static void check_close_while_waiting(void)
{
    struct timeval tv = { 0, 300000 };
    struct later l;
    pthread_t t;
    fd_set s;
    long start;
    int p[2], q[2], r, e;

    xpipe(p);
    xpipe(q);
    FD_ZERO(&s);
    FD_SET(p[0], &s);
    FD_SET(q[0], &s);
    t = act_later(&l, p[0], -1, -1);
    start = now_ms();
    r = select(q[0] + 1, &s, NULL, NULL, &tv);
    e = errno;
    printf("two pipes, one closed by another thread, 300 ms: %s, %s, sets empty: %s\n",
           res(r, e), took(start, 300), yes(!FD_ISSET(p[0], &s) && !FD_ISSET(q[0], &s)));
    join(t);

    xpipe(p);
    FD_ZERO(&s);
    FD_SET(p[0], &s);
    FD_SET(q[0], &s);
    t = act_later(&l, p[0], q[1], -1);
    r = select(q[0] + 1, &s, NULL, NULL, NULL);
    e = errno;
    printf("two pipes, one closed and the other written: %s, closed one in set: %s, "
           "written one in set: %s\n", res(r, e), yes(FD_ISSET(p[0], &s)),
           yes(FD_ISSET(q[0], &s)));
    join(t);
    close(p[1]);
    close(q[0]);
    close(q[1]);
}

/* ---- ppoll ---- */

static void check_ppoll(void)
{
    struct timespec ts = { 0, 100000000 };
    volatile nfds_t one = 1;        /* not a constant: __ppoll_chk does the check */
    struct pollfd f[4];
    struct later l;
    pthread_t t;
    long start;
    int p[2], r, e;

    xpipe(p);
    f[0] = (struct pollfd){ p[0], POLLIN, 0 };
    start = now_ms();
    r = ppoll(f, one, &ts, NULL);
    e = errno;
    printf("ppoll, empty pipe, 100 ms: %s, %s, timeout unchanged: %s\n", res(r, e),
           took(start, 100), yes(ts.tv_sec == 0 && ts.tv_nsec == 100000000));
    t = act_later(&l, -1, p[1], -1);
    r = ppoll(f, one, NULL, NULL);
    e = errno;
    printf("ppoll, pipe written by another thread, no timeout: %s, revents POLLIN: %s\n",
           res(r, e), yes(f[0].revents == POLLIN));
    join(t);
    ts = (struct timespec){ 0, 1000000000 };
    r = ppoll(f, one, &ts, NULL);
    e = errno;
    printf("ppoll, tv_nsec 1e9: %s\n", res(r, e));

    ts = (struct timespec){ 0, 200000000 };
    fill(p[1]);
    f[0] = (struct pollfd){ p[1], POLLOUT, 0 };
    t = act_later(&l, p[1], -1, -1);
    start = now_ms();
    r = ppoll(f, one, &ts, NULL);
    e = errno;
    printf("ppoll, full pipe closed by another thread, 200 ms: %s, POLLNVAL: %s, %s\n",
           res(r, e), yes(f[0].revents == POLLNVAL), took(start, 200));
    join(t);
    close(p[0]);
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
    struct timespec ts = { 1, 0 };
    sigset_t usr1, none, now;
    struct pollfd f;
    fd_set s;
    long start;
    int p[2], r, e;

    signal(SIGUSR1, on_usr1);
    sigemptyset(&none);
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &usr1, NULL);
    xpipe(p);

    raise(SIGUSR1);
    FD_ZERO(&s);
    FD_SET(p[0], &s);
    start = now_ms();
    r = pselect(p[0] + 1, &s, NULL, NULL, &ts, &none);
    e = errno;
    printf("pselect, mask unblocks a pending signal: %s, handler ran: %s, %s\n", res(r, e),
           yes(caught == 1), took(start, 0));

    raise(SIGUSR1);
    f = (struct pollfd){ p[0], POLLIN, 0 };
    r = ppoll(&f, 1, &ts, &none);
    e = errno;
    printf("ppoll, mask unblocks a pending signal: %s, handler ran: %s\n", res(r, e),
           yes(caught == 2));

    raise(SIGUSR1);
    ts = (struct timespec){ 0, 100000000 };
    start = now_ms();
    r = pselect(p[0] + 1, &s, NULL, NULL, &ts, &usr1);
    e = errno;
    pthread_sigmask(SIG_BLOCK, NULL, &now);
    printf("pselect, mask keeps it blocked, 100 ms: %s, %s, handler ran: %s, "
           "still blocked after: %s\n", res(r, e), took(start, 100), yes(caught == 3),
           yes(sigismember(&now, SIGUSR1)));
    pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
    printf("handler ran once unblocked: %s\n", yes(caught == 3));
    close(p[0]);
    close(p[1]);
}

/* ---- cancellation ---- */

struct cancellee {
    int call;                           /* 0 select on NPIPES pipes, 1 pselect, 2 ppoll */
    int fd[NPIPES];
    int cleaned;
};

static void cleanup(void *arg)
{
    ((struct cancellee *)arg)->cleaned = 1;
}

static void *wait_forever(void *arg)
{
    struct cancellee *c = arg;
    struct pollfd f = { c->fd[0], POLLIN, 0 };
    fd_set s;
    int i;

    FD_ZERO(&s);
    for (i = 0; i < NPIPES; i++)
        FD_SET(c->fd[i], &s);
    pthread_cleanup_push(cleanup, c);
    if (c->call == 0)
        select(FD_SETSIZE, &s, NULL, NULL, NULL);
    else if (c->call == 1)
        pselect(FD_SETSIZE, &s, NULL, NULL, NULL, NULL);
    else
        ppoll(&f, 1, NULL, NULL);
    pthread_cleanup_pop(0);
    return NULL;
}

static void check_cancel(void)
{
    static const char *const name[] = { "select on 20 pipes", "pselect", "ppoll" };
    struct cancellee c;
    int p[NPIPES][2], i, k;
    pthread_t t;
    void *ret;

    for (i = 0; i < NPIPES; i++)
        xpipe(p[i]);
    for (k = 0; k < 3; k++) {
        c = (struct cancellee){ .call = k };
        for (i = 0; i < NPIPES; i++)
            c.fd[i] = p[i][0];
        t = spawn(wait_forever, &c);
        usleep(DELAY_US);
        pthread_cancel(t);
        ret = join(t);
        printf("%s, cancelled while waiting: %s, cleanup ran: %s\n", name[k],
               ret == PTHREAD_CANCELED ? "PTHREAD_CANCELED" : "returned", yes(c.cleaned));
    }
    for (i = 0; i < NPIPES; i++) {
        close(p[i][0]);
        close(p[i][1]);
    }
}

/* ---- FD_SET's range check ---- */

static void check_fdelt(void)
{
    volatile int fd = FD_SETSIZE;
    char msg[256] = "";
    int p[2], status;
    ssize_t n;
    fd_set s;
    pid_t pid;

    xpipe(p);
    if ((pid = fork()) < 0)
        die("fork");
    if (pid == 0) {
        dup2(p[1], STDERR_FILENO);
        FD_ZERO(&s);
        FD_SET(fd, &s);
        _exit(0);
    }
    close(p[1]);
    n = read(p[0], msg, sizeof(msg) - 1);
    msg[n > 0 ? n : 0] = '\0';
    msg[strcspn(msg, "\n")] = '\0';
    if (waitpid(pid, &status, 0) != pid)
        die("waitpid");
    printf("FD_SET(FD_SETSIZE): killed by %s, saying \"%s\"\n",
           WIFSIGNALED(status) ? sigabbrev_np(WTERMSIG(status)) : "nothing", msg);
    close(p[0]);
}

int main(void)
{
    alarm(20);
    setvbuf(stdout, NULL, _IOLBF, 0);
    check_timeouts();
    check_wakeups();
    check_many();
    check_both_and_except();
    check_errors();
    check_close_while_waiting();
    check_ppoll();
    check_sigmask();
    check_cancel();
    check_fdelt();
    printf("done\n");
    return 0;
}
