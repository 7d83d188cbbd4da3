/* diff_signal_eintr.c - which blocking calls a signal handler interrupts.
 *
 * A process-directed signal (a POSIX timer's SIGUSR1, or a child's kill) goes to a thread that
 * does not block it: main blocks it, so the one worker that unblocks it
 * takes it. With SA_RESTART a read restarts;
 * without, it fails with EINTR; poll, select, epoll_wait, nanosleep, sleep
 * and sem_timedwait fail with EINTR either way, sem_wait as a read (glibc
 * waits on a futex); mutex, condition variable and
 * join waits go on. Also: SIGCHLD while waitpid loops, and siglongjmp out
 * of a handler that interrupted a read, after which threads still take
 * turns.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The signal plumbing below (handler, mask, sleep_ms, err_name) is shared
 * with diff_signal_kill.c but stays here, not in common.h:
 * their sleeps must go on after a handler runs, where common.h's sleep_ms
 * (used by many diff programs) returns early, and their handler records where
 * it ran, which only these two programs look at. */
static volatile sig_atomic_t hits;
static volatile uintptr_t ran_at;   /* an address on the handler's stack */
static sigjmp_buf jump;
static volatile sig_atomic_t jump_armed;

static void on_signal(int sig)
{
    (void)sig;
    char here;

    hits++;
    ran_at = (uintptr_t)&here;
    if (jump_armed) {
        jump_armed = 0;
        siglongjmp(jump, 1);
    }
}

static void handle(int sig, int flags)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sa.sa_flags = flags;
    sigaction(sig, &sa, NULL);
}

static void mask(int how, int sig)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, sig);
    pthread_sigmask(how, &set, NULL);
}

static timer_t timer;

static void timer_ms(int ms)
{
    struct itimerspec it = { { 0, 0 }, { ms / 1000, (ms % 1000) * 1000000L } };

    timer_settime(timer, 0, &it, NULL);
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Whether the handler ran on the calling thread's stack. */
static const char *ran_here(void)
{
    pthread_attr_t a;
    size_t size;
    void *addr;

    if (!hits || pthread_getattr_np(pthread_self(), &a) != 0)
        return "no";
    pthread_attr_getstack(&a, &addr, &size);
    pthread_attr_destroy(&a);
    return ran_at >= (uintptr_t)addr && ran_at < (uintptr_t)addr + size ? "yes" : "no";
}

static const char *err_name(int e)
{
    return e == EINTR ? "EINTR" : e == EAGAIN ? "EAGAIN" : e == 0 ? "0" : strerror(e);
}

static int pipefd[2];
static sem_t sem;
static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int ready;

/* Each case runs in a worker that unblocks the signal, calls `what` and
 * reports the result; main fires the signal. */
enum call { READ, POLL, SELECT, EPOLL, NANOSLEEP, SLEEP, SEMWAIT, SEMTIMED, MUTEX, COND, JOIN, JUMP };

static void *idle(void *arg)
{
    (void)arg;
    sleep_ms(300);
    return NULL;
}

static void *worker(void *arg)
{
    enum call what = (enum call)(long)arg;
    struct timespec req = { 5, 0 }, rem = { 0, 0 };
    struct pollfd p = { pipefd[0], POLLIN, 0 };
    struct epoll_event ev = { .events = EPOLLIN };
    char c;
    long r = 0;
    int e, ep;
    fd_set rs;
    pthread_t t;

    mask(SIG_UNBLOCK, SIGUSR1);
    errno = 0;
    switch (what) {
    case READ: r = read(pipefd[0], &c, 1); break;
    case POLL: r = poll(&p, 1, 5000); break;
    case SELECT:
        FD_ZERO(&rs);
        FD_SET(pipefd[0], &rs);
        r = select(pipefd[0] + 1, &rs, NULL, NULL, &(struct timeval){ 5, 0 });
        break;
    case EPOLL:
        ep = epoll_create1(0);
        epoll_ctl(ep, EPOLL_CTL_ADD, pipefd[0], &ev);
        r = epoll_wait(ep, &ev, 1, 5000);
        e = errno;
        close(ep);
        errno = e;
        break;
    case NANOSLEEP:
        r = nanosleep(&req, &rem);
        printf("  rem between 4 and 5 s: %s\n", rem.tv_sec == 4 ? "yes" : "no");
        break;
    case SLEEP: r = sleep(3); break;
    case SEMWAIT: r = sem_wait(&sem); break;
    case SEMTIMED:
        clock_gettime(CLOCK_REALTIME, &req);
        req.tv_sec += 5;
        r = sem_timedwait(&sem, &req);
        break;
    case MUTEX:
        r = pthread_mutex_lock(&mutex);
        pthread_mutex_unlock(&mutex);
        break;
    case COND:
        pthread_mutex_lock(&mutex);
        while (!ready)
            r = pthread_cond_wait(&cond, &mutex);
        pthread_mutex_unlock(&mutex);
        break;
    case JOIN:
        mask(SIG_BLOCK, SIGUSR1);
        pthread_create(&t, NULL, idle, NULL);
        mask(SIG_UNBLOCK, SIGUSR1);
        r = pthread_join(t, NULL);
        break;
    case JUMP:
        if (sigsetjmp(jump, 1) == 0) {
            jump_armed = 1;
            r = read(pipefd[0], &c, 1);
        } else {
            r = -2;
        }
        break;
    }
    e = errno;
    printf("  result %ld, errno %s, handler ran here: %s\n", r, err_name(r == -1 ? e : 0),
           ran_here());
    return NULL;
}

/* The signal comes after 100 ms; 300 ms later main lets the worker go (a
 * byte, a post, an unlock, a broadcast) in case it is still waiting. */
static void run_from(const char *name, enum call what, int flags, bool child)
{
    pthread_t t;
    pid_t pid = -1;

    printf("%s%s:\n", name, flags & SA_RESTART ? " (SA_RESTART)" : "");
    fflush(stdout);
    hits = 0;
    ready = 0;
    handle(SIGUSR1, flags);
    if (what == MUTEX)
        pthread_mutex_lock(&mutex);
    pthread_create(&t, NULL, worker, (void *)(long)what);
    if (!child)
        timer_ms(100);
    else if ((pid = fork()) == 0) {
        usleep(100000);
        kill(getppid(), SIGUSR1);
        _exit(0);
    }
    sleep_ms(400);
    if (pid > 0)
        waitpid(pid, NULL, 0);
    if (what == MUTEX)
        pthread_mutex_unlock(&mutex);
    pthread_mutex_lock(&mutex);
    ready = 1;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&mutex);
    (void)!write(pipefd[1], "x", 1);
    sem_post(&sem);
    pthread_join(t, NULL);
    /* Drain whatever the worker did not take. */
    fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
    while (read(pipefd[0], &(char){ 0 }, 1) == 1)
        ;
    fcntl(pipefd[0], F_SETFL, 0);
    while (sem_trywait(&sem) == 0)
        ;
    printf("  handler ran %d time(s)\n", (int)hits);
}

static void run(const char *name, enum call what, int flags)
{
    run_from(name, what, flags, false);
}

static void *ponger(void *arg)
{
    int *fds = arg;
    char c;

    for (int i = 0; i < 3; i++) {
        if (read(fds[0], &c, 1) != 1)
            break;
        printf("  pong %d\n", i);
        fflush(stdout);
        (void)!write(fds[3], "o", 1);
    }
    return NULL;
}

/* After a handler jumped out of a read: two threads still take turns. */
static void turns(void)
{
    int fds[4];
    pthread_t t;
    char c;

    (void)!pipe(fds);
    (void)!pipe(fds + 2);
    pthread_create(&t, NULL, ponger, fds);
    for (int i = 0; i < 3; i++) {
        printf("  ping %d\n", i);
        fflush(stdout);
        (void)!write(fds[1], "i", 1);
        if (read(fds[2], &c, 1) != 1)
            break;
    }
    pthread_join(t, NULL);
    for (int i = 0; i < 4; i++)
        close(fds[i]);
}

static void *jumper(void *arg)
{
    worker(arg);
    turns();
    return NULL;
}

static volatile sig_atomic_t chld;

static void on_chld(int sig)
{
    (void)sig;
    chld++;
}

/* SIGCHLD interrupting a waitpid loop (no SA_RESTART): every child is
 * reaped, retrying on EINTR. */
static void children(void)
{
    struct sigaction sa;
    int reaped = 0, intr = 0, st;
    pid_t pid;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_chld;
    sigaction(SIGCHLD, &sa, NULL);
    mask(SIG_UNBLOCK, SIGCHLD);
    for (int i = 0; i < 3; i++)
        if ((pid = fork()) == 0) {
            usleep(50000 * (i + 1));
            _exit(i);
        }
    while (reaped < 3) {
        pid = waitpid(-1, &st, 0);
        if (pid < 0 && errno == EINTR) {
            intr++;
            continue;
        }
        if (pid < 0)
            break;
        reaped++;
    }
    printf("SIGCHLD: reaped %d, handler ran: %s\n", reaped, chld > 0 ? "yes" : "no");
    mask(SIG_BLOCK, SIGCHLD);
}

int main(void)
{
    pthread_t t;

    struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1 };

    alarm(20);
    timer_create(CLOCK_MONOTONIC, &sev, &timer);
    mask(SIG_BLOCK, SIGUSR1);
    mask(SIG_BLOCK, SIGCHLD);
    (void)!pipe(pipefd);
    sem_init(&sem, 0, 0);
    run("read", READ, 0);
    run("read", READ, SA_RESTART);
    run_from("read, kill from a child", READ, 0, true);
    run_from("read, kill from a child", READ, SA_RESTART, true);
    run("poll", POLL, SA_RESTART);
    run("select", SELECT, SA_RESTART);
    run("epoll_wait", EPOLL, SA_RESTART);
    run("nanosleep", NANOSLEEP, SA_RESTART);
    run("sleep", SLEEP, 0);
    run("sem_wait", SEMWAIT, SA_RESTART);
    run("sem_wait", SEMWAIT, 0);
    run("sem_timedwait", SEMTIMED, SA_RESTART);
    run("mutex", MUTEX, 0);
    run("cond", COND, 0);
    run("join", JOIN, 0);
    printf("siglongjmp out of a read:\n");
    hits = 0;
    handle(SIGUSR1, 0);
    pthread_create(&t, NULL, jumper, (void *)(long)JUMP);
    timer_ms(100);
    pthread_join(t, NULL);
    children();
    return 0;
}
