/* diff_signal_kill.c - signals sent to one thread, and waiting for signals.
 *
 * pthread_kill to a thread blocked in read runs the handler on that thread
 * and ends the read with EINTR, as it ends a ppoll whose mask lets it
 * through (the thread's own mask back after); to a thread that blocks the
 * signal, it stays pending (sigpending shows it) until the thread unblocks
 * it, and the handler runs there and then. SIGPIPE is the writer's. sigwait, sigwaitinfo and sigtimedwait take a
 * signal sent to the thread or to the process (siginfo kept, sigqueue's
 * value included), time out with EAGAIN and refuse a bad timeout with
 * EINVAL. sigsuspend, pause and sigpause return -1/EINTR once a handler ran,
 * for a signal from another thread or from a child process, and sigsuspend
 * restores the mask. pthread_kill to a thread waiting for a mutex runs the
 * handler there and the wait goes on. pthread_kill checks its arguments.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The signal plumbing below (handler, mask, sleep_ms, err_name) is shared
 * with diff_signal_eintr.c but stays here, not in common.h:
 * their sleeps must go on after a handler runs, where common.h's sleep_ms
 * (used by many diff programs) returns early, and their handler records where
 * it ran, which only these two programs look at. */
static volatile sig_atomic_t hits;
static volatile uintptr_t ran_at;

static void on_signal(int sig)
{
    char here;

    (void)sig;
    hits++;
    ran_at = (uintptr_t)&here;
}

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

static void handle(int sig)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(sig, &sa, NULL);
}

static void mask(int how, int sig)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, sig);
    pthread_sigmask(how, &set, NULL);
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static const char *err_name(int e)
{
    return e == EINTR ? "EINTR" : e == EAGAIN ? "EAGAIN" : e == EINVAL ? "EINVAL" :
           e == 0 ? "0" : strerror(e);
}

static int pipefd[2];

static int blocked_usr1(void)
{
    sigset_t now;

    pthread_sigmask(SIG_BLOCK, NULL, &now);
    return sigismember(&now, SIGUSR1);
}

static void *reader(void *arg)
{
    char c;
    ssize_t r;

    (void)arg;
    mask(SIG_UNBLOCK, SIGUSR1);
    r = read(pipefd[0], &c, 1);
    printf("read in the target: %zd %s, handler ran on the target: %s\n", r,
           err_name(r < 0 ? errno : 0), ran_here());
    return NULL;
}

static void *holder(void *arg)
{
    sigset_t pend;

    (void)arg;
    sleep_ms(200);
    sigpending(&pend);
    printf("blocked: pending in the target: %d, handler ran: %d\n", sigismember(&pend, SIGUSR1),
           (int)hits);
    mask(SIG_UNBLOCK, SIGUSR1);
    printf("unblocked: handler ran on the target: %s\n", ran_here());
    mask(SIG_BLOCK, SIGUSR1);
    return NULL;
}

static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;

/* ppoll lets through, while it waits, what the thread blocks. */
static void *ppoller(void *arg)
{
    struct pollfd p = { pipefd[0], POLLIN, 0 };
    sigset_t none;
    int r;

    (void)arg;
    sigemptyset(&none);
    r = ppoll(&p, 1, &(struct timespec){ 5, 0 }, &none);
    printf("ppoll in the target: %d %s, handler ran on the target: %s, blocked after: %d\n", r,
           err_name(r < 0 ? errno : 0), ran_here(), (int)hits && blocked_usr1());
    return NULL;
}

static void *locker(void *arg)
{
    int r;

    (void)arg;
    mask(SIG_UNBLOCK, SIGUSR1);
    r = pthread_mutex_lock(&mutex);
    printf("mutex in the target: %d, handler ran on the target: %s\n", r, ran_here());
    pthread_mutex_unlock(&mutex);
    return NULL;
}

static void *waiter(void *arg)
{
    sigset_t set;
    siginfo_t si;
    int sig = 0, r;

    (void)arg;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    r = sigwait(&set, &sig);
    printf("sigwait (pthread_kill): %d, %s\n", r, sig == SIGUSR1 ? "SIGUSR1" : "?");
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    r = sigwaitinfo(&set, &si);
    printf("sigwaitinfo (kill): %s, SI_USER: %s, from us: %s\n", r == SIGUSR2 ? "SIGUSR2" : "?",
           si.si_code == SI_USER ? "yes" : "no", si.si_pid == getpid() ? "yes" : "no");
    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN);
    r = sigtimedwait(&set, &si, &(struct timespec){ 5, 0 });
    printf("sigtimedwait (sigqueue): %s, SI_QUEUE: %s, value %d\n",
           r == SIGRTMIN ? "SIGRTMIN" : "?", si.si_code == SI_QUEUE ? "yes" : "no",
           si.si_value.sival_int);
    r = sigtimedwait(&set, &si, &(struct timespec){ 5, 0 });
    printf("sigtimedwait (pthread_sigqueue): %s, SI_QUEUE: %s, value %d\n",
           r == SIGRTMIN ? "SIGRTMIN" : "?", si.si_code == SI_QUEUE ? "yes" : "no",
           si.si_value.sival_int);
    return NULL;
}

static void *kill_later(void *arg)
{
    sleep_ms(100);
    kill(getpid(), (int)(long)arg);
    return NULL;
}

static void *broken_writer(void *arg)
{
    int *fds = arg;
    ssize_t r;

    sleep_ms(100);
    close(fds[0]);
    r = write(fds[1], "x", 1);
    printf("write to a closed pipe: %zd %s, SIGPIPE handler ran on the writer: %s\n", r,
           r < 0 && errno == EPIPE ? "EPIPE" : "?", ran_here());
    return NULL;
}

/* SIGPIPE is the writer's: main, waiting meanwhile, is not interrupted. */
static void sigpipe(void)
{
    struct timeval tv = { 0, 300000 };
    int fds[2], other[2], r;
    pthread_t t;
    fd_set rs;

    handle(SIGPIPE);
    hits = 0;
    (void)!pipe(fds);
    (void)!pipe(other);
    pthread_create(&t, NULL, broken_writer, fds);
    FD_ZERO(&rs);
    FD_SET(other[0], &rs);
    r = select(other[0] + 1, &rs, NULL, NULL, &tv);
    pthread_join(t, NULL);
    printf("select in main meanwhile: %d\n", r);
    close(fds[1]);
    close(other[0]);
    close(other[1]);
}

static void timeouts(void)
{
    struct timespec t0, t1, ts = { 0, 150000000 };
    sigset_t set;
    long ms;
    int r;

    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    r = sigtimedwait(&set, NULL, &ts);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    printf("sigtimedwait timeout: %d %s, after >= 150 ms and < 1 s: %s\n", r, err_name(errno),
           ms >= 149 && ms < 1000 ? "yes" : "no");
    errno = 0;
    r = sigtimedwait(&set, NULL, &(struct timespec){ 0, 0 });
    printf("sigtimedwait zero timeout: %d %s\n", r, err_name(errno));
    errno = 0;
    r = sigtimedwait(&set, NULL, &(struct timespec){ 0, 2000000000 });
    printf("sigtimedwait bad timeout: %d %s\n", r, err_name(errno));
    errno = 0;
    r = sigtimedwait(&set, NULL, &(struct timespec){ -1, 0 });
    printf("sigtimedwait negative timeout: %d %s\n", r, err_name(errno));
}

static void suspends(void)
{
    sigset_t none, now;
    pthread_t t;
    pid_t child;
    int r;

    sigemptyset(&none);
    hits = 0;
    pthread_create(&t, NULL, kill_later, (void *)(long)SIGUSR1);
    r = sigsuspend(&none);
    pthread_join(t, NULL);
    pthread_sigmask(SIG_BLOCK, NULL, &now);
    printf("sigsuspend (another thread): %d %s, handler ran %d, mask restored: %s\n", r,
           err_name(errno), (int)hits, sigismember(&now, SIGUSR1) ? "yes" : "no");
    /* Already pending when sigsuspend lets it through. */
    hits = 0;
    kill(getpid(), SIGUSR1);
    r = sigsuspend(&none);
    printf("sigsuspend (pending): %d %s, handler ran %d\n", r, err_name(errno), (int)hits);
    /* pause, with the signal let through, from a child. */
    hits = 0;
    mask(SIG_UNBLOCK, SIGUSR1);
    if ((child = fork()) == 0) {
        usleep(100000);
        kill(getppid(), SIGUSR1);
        _exit(0);
    }
    r = pause();
    printf("pause (a child): %d %s, handler ran %d\n", r, err_name(errno), (int)hits);
    waitpid(child, NULL, 0);
    mask(SIG_BLOCK, SIGUSR1);
    hits = 0;
    pthread_create(&t, NULL, kill_later, (void *)(long)SIGUSR1);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    r = sigpause(SIGUSR1);
#pragma GCC diagnostic pop
    pthread_join(t, NULL);
    pthread_sigmask(SIG_BLOCK, NULL, &now);
    printf("sigpause (X/Open): %d %s, handler ran %d, still blocked: %s\n", r, err_name(errno),
           (int)hits, sigismember(&now, SIGUSR1) ? "yes" : "no");
}

int main(void)
{
    pthread_t t;
    sigset_t set;
    int r;

    alarm(20);
    handle(SIGUSR1);
    handle(SIGUSR2);
    mask(SIG_BLOCK, SIGUSR1);
    (void)!pipe(pipefd);

    pthread_create(&t, NULL, reader, NULL);
    sleep_ms(100);
    r = pthread_kill(t, SIGUSR1);
    pthread_join(t, NULL);
    printf("pthread_kill: %d\n", r);

    hits = 0;
    pthread_create(&t, NULL, holder, NULL);
    sleep_ms(50);
    pthread_kill(t, SIGUSR1);
    pthread_join(t, NULL);

    hits = 0;
    pthread_create(&t, NULL, ppoller, NULL);
    sleep_ms(100);
    pthread_kill(t, SIGUSR1);
    pthread_join(t, NULL);

    /* A wait signals do not end: the handler runs, the wait goes on. */
    hits = 0;
    pthread_mutex_lock(&mutex);
    pthread_create(&t, NULL, locker, NULL);
    sleep_ms(100);
    pthread_kill(t, SIGUSR1);
    sleep_ms(100);
    printf("mutex: handler ran %d before the unlock\n", (int)hits);
    pthread_mutex_unlock(&mutex);
    pthread_join(t, NULL);

    printf("pthread_kill 0: %d, 99: %s, 32: %s\n", pthread_kill(pthread_self(), 0),
           err_name(pthread_kill(pthread_self(), 99)), err_name(pthread_kill(pthread_self(), 32)));

    /* Every thread blocks what is waited for. */
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGRTMIN);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    pthread_create(&t, NULL, waiter, NULL);
    sleep_ms(100);
    pthread_kill(t, SIGUSR1);
    sleep_ms(100);
    kill(getpid(), SIGUSR2);
    sleep_ms(100);
    sigqueue(getpid(), SIGRTMIN, (union sigval){ .sival_int = 42 });
    sleep_ms(100);
    pthread_sigqueue(t, SIGRTMIN, (union sigval){ .sival_int = 7 });
    pthread_join(t, NULL);

    sigpipe();
    timeouts();
    suspends();
    return 0;
}
