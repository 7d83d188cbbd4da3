/* diff_sem.c - POSIX semaphores: results, error codes, timeouts, the order in
 * which waiters are served, and semaphores shared with another process.
 *
 * Checks: sem_init's EINVAL above SEM_VALUE_MAX; sem_trywait's EAGAIN;
 * sem_post's EOVERFLOW at SEM_VALUE_MAX; sem_timedwait and sem_clockwait
 * giving EINVAL for a bad tv_nsec or clock even when a token is there, taking
 * a token with a past or negative deadline, and timing out within 50 ms of
 * the deadline when there is none; errno left alone by calls that succeed;
 * sem_getvalue throughout; a post waking a waiter, also one in a timed wait;
 * five waiters served in arrival order; a waiter cancelled in sem_wait
 * leaving the semaphore as it was; a bounded buffer (2 producers, 2 consumers,
 * 100,000 items, checksum and per-producer order); a named semaphore
 * (sem_open) posted by a child process 200 ms later while other threads of
 * the parent keep running; an unnamed process-shared semaphore in shared
 * memory passing a token back and forth with a child.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

/* One call per line, errno read right after it; errno is set to a marker
 * before, so that a call that succeeds shows whether it left errno alone. */
#define SAY(what, call) \
    do { \
        int r_; \
        errno = ENOTTY; \
        r_ = (call); \
        printf("%s: %s%s\n", what, res(r_, errno), \
               r_ == 0 && errno != ENOTTY ? " (errno changed)" : ""); \
    } while (0)

static int value(sem_t *s)
{
    int v = -42;

    sem_getvalue(s, &v);
    return v;
}

/* ---- calls and error codes ---- */

static void check_calls(void)
{
    struct timespec past = abs_in(CLOCK_REALTIME, -1000), neg_sec = { -1, 0 }, bad_ns, neg_ns;
    struct timespec mono = abs_in(CLOCK_MONOTONIC, 100), ts;
    sem_t s;
    long start;
    int r, e;

    bad_ns = abs_in(CLOCK_REALTIME, 100);
    bad_ns.tv_nsec = 1000000000L;
    neg_ns = bad_ns;
    neg_ns.tv_nsec = -1;

    SAY("sem_init value SEM_VALUE_MAX + 1", sem_init(&s, 0, (unsigned)SEM_VALUE_MAX + 1));
    SAY("sem_init 0", sem_init(&s, 0, 0));
    printf("value %d\n", value(&s));
    SAY("sem_trywait", sem_trywait(&s));
    SAY("sem_post", sem_post(&s));
    SAY("sem_post", sem_post(&s));
    printf("value %d\n", value(&s));
    SAY("sem_trywait", sem_trywait(&s));
    SAY("sem_wait", sem_wait(&s));
    printf("value %d\n", value(&s));
    SAY("sem_destroy", sem_destroy(&s));

    SAY("sem_init SEM_VALUE_MAX", sem_init(&s, 0, SEM_VALUE_MAX));
    SAY("sem_post at SEM_VALUE_MAX", sem_post(&s));
    printf("value is SEM_VALUE_MAX: %s\n", value(&s) == SEM_VALUE_MAX ? "yes" : "no");
    SAY("sem_wait", sem_wait(&s));
    SAY("sem_post", sem_post(&s));
    SAY("sem_destroy", sem_destroy(&s));

    sem_init(&s, 0, 1);
    SAY("token there: sem_timedwait tv_nsec 1e9", sem_timedwait(&s, &bad_ns));
    SAY("token there: sem_timedwait tv_nsec -1", sem_timedwait(&s, &neg_ns));
    SAY("token there: sem_clockwait CLOCK_PROCESS_CPUTIME_ID",
        sem_clockwait(&s, CLOCK_PROCESS_CPUTIME_ID, &mono));
    SAY("token there: sem_clockwait CLOCK_BOOTTIME", sem_clockwait(&s, CLOCK_BOOTTIME, &mono));
    SAY("token there: sem_clockwait CLOCK_MONOTONIC tv_nsec 1e9",
        sem_clockwait(&s, CLOCK_MONOTONIC, &bad_ns));
    printf("value %d\n", value(&s));
    SAY("token there: sem_timedwait past deadline", sem_timedwait(&s, &past));
    sem_post(&s);
    SAY("token there: sem_timedwait tv_sec -1", sem_timedwait(&s, &neg_sec));
    sem_post(&s);
    SAY("token there: sem_clockwait CLOCK_REALTIME past deadline",
        sem_clockwait(&s, CLOCK_REALTIME, &past));
    sem_post(&s);
    SAY("token there: sem_clockwait CLOCK_MONOTONIC", sem_clockwait(&s, CLOCK_MONOTONIC, &mono));
    printf("value %d\n", value(&s));

    start = now_ms();
    SAY("no token: sem_timedwait past deadline", sem_timedwait(&s, &past));
    SAY("no token: sem_timedwait tv_sec -1", sem_timedwait(&s, &neg_sec));
    SAY("no token: sem_clockwait CLOCK_MONOTONIC tv_sec -1",
        sem_clockwait(&s, CLOCK_MONOTONIC, &neg_sec));
    printf("no token: those returned at once (< 300 ms): %s\n", within(start, 0, LATE_MS));
    SAY("no token: sem_timedwait tv_nsec 1e9", sem_timedwait(&s, &bad_ns));
    SAY("no token: sem_clockwait CLOCK_TAI", sem_clockwait(&s, CLOCK_TAI, &mono));

    start = now_ms();
    ts = abs_in(CLOCK_REALTIME, 100);
    r = sem_timedwait(&s, &ts);
    e = errno;
    printf("sem_timedwait 100 ms: %s, timed out after >= 100 ms and < 400 ms: %s\n", res(r, e),
           within(start, 100, 100 + LATE_MS));
    start = now_ms();
    ts = abs_in(CLOCK_MONOTONIC, 100);
    r = sem_clockwait(&s, CLOCK_MONOTONIC, &ts);
    e = errno;
    printf("sem_clockwait CLOCK_MONOTONIC 100 ms: %s, timed out after >= 100 ms and < 400 ms: %s\n",
           res(r, e), within(start, 100, 100 + LATE_MS));
    start = now_ms();
    ts = abs_in(CLOCK_REALTIME, 100);
    r = sem_clockwait(&s, CLOCK_REALTIME, &ts);
    e = errno;
    printf("sem_clockwait CLOCK_REALTIME 100 ms: %s, timed out after >= 100 ms and < 400 ms: %s\n",
           res(r, e), within(start, 100, 100 + LATE_MS));
    printf("value %d\n", value(&s));
    SAY("sem_destroy", sem_destroy(&s));
}

/* ---- posts wake waiters ---- */

static sem_t wake_sem;
static long wake_start;

static void *plain_waiter(void *arg)
{
    (void)arg;
    errno = ENOTTY;
    if (sem_wait(&wake_sem) != 0)
        return (void *)"sem_wait failed";
    return errno == ENOTTY ? "0, errno left alone" : "0, errno changed";
}

static void *timed_waiter(void *arg)
{
    struct timespec ts = abs_in(CLOCK_REALTIME, 1000);
    static char out[96];
    int r = sem_timedwait(&wake_sem, &ts), e = errno;

    (void)arg;
    snprintf(out, sizeof(out), "%s, woken by the post at 50 ms, long before the deadline: %s",
             res(r, e), within(wake_start, 50, 500));
    return out;
}

static void check_wakeups(void)
{
    pthread_t t;

    sem_init(&wake_sem, 0, 0);
    t = spawn(plain_waiter, NULL);
    usleep(50000);
    printf("value with a waiter %d\n", value(&wake_sem));
    sem_post(&wake_sem);
    printf("sem_wait woken by a post: %s\n", (char *)join(t));
    wake_start = now_ms();
    t = spawn(timed_waiter, NULL);
    usleep(50000);
    sem_post(&wake_sem);
    printf("sem_timedwait 1 s: %s\n", (char *)join(t));
    printf("value %d\n", value(&wake_sem));
    sem_destroy(&wake_sem);
}

/* ---- waiters are served in arrival order ---- */

#define NWAITERS 5

static sem_t fifo_sem;
static pthread_mutex_t order_lock = PTHREAD_MUTEX_INITIALIZER;
static int order[NWAITERS], served;

static void *fifo_waiter(void *arg)
{
    sem_wait(&fifo_sem);
    pthread_mutex_lock(&order_lock);
    order[served++] = (int)(intptr_t)arg;
    pthread_mutex_unlock(&order_lock);
    return NULL;
}

static void check_fifo(void)
{
    pthread_t t[NWAITERS];
    int i;

    sem_init(&fifo_sem, 0, 0);
    for (i = 0; i < NWAITERS; i++) {
        t[i] = spawn(fifo_waiter, (void *)(intptr_t)i);
        usleep(20000);
    }
    for (i = 0; i < NWAITERS; i++) {
        sem_post(&fifo_sem);
        usleep(20000);
    }
    for (i = 0; i < NWAITERS; i++)
        join(t[i]);
    printf("waiters started 0..%d, one post every 20 ms, served:", NWAITERS - 1);
    for (i = 0; i < NWAITERS; i++)
        printf(" %d", order[i]);
    printf("\n");
    sem_destroy(&fifo_sem);
}

/* ---- a waiter cancelled in sem_wait ---- */

static void *cancelled_waiter(void *arg)
{
    sem_wait(arg);
    return (void *)"returned from sem_wait";
}

static void check_cancel(void)
{
    sem_t s;
    pthread_t t;
    void *r;

    sem_init(&s, 0, 0);
    t = spawn(cancelled_waiter, &s);
    usleep(30000);
    pthread_cancel(t);
    r = join(t);
    printf("cancelled in sem_wait: %s\n", r == PTHREAD_CANCELED ? "PTHREAD_CANCELED" : (char *)r);
    SAY("then sem_post", sem_post(&s));
    printf("value %d\n", value(&s));
    SAY("sem_trywait", sem_trywait(&s));
    sem_destroy(&s);
}

/* ---- a bounded buffer ---- */

#define ITEMS 100000
#define PRODUCERS 2
#define CONSUMERS 2
#define SLOTS 16

static sem_t slots_free, slots_used;
static pthread_mutex_t ring_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned ring[SLOTS], ring_in, ring_out;

struct consumer {
    unsigned long long sum, squares;
    unsigned last[PRODUCERS];
    int count, out_of_order;
};

/* Item k of producer p is (p << 24) | k, k counting from 1. */
static void *producer(void *arg)
{
    unsigned p = (unsigned)(intptr_t)arg, k;

    for (k = 1; k <= ITEMS / PRODUCERS; k++) {
        sem_wait(&slots_free);
        pthread_mutex_lock(&ring_lock);
        ring[ring_in++ % SLOTS] = p << 24 | k;
        pthread_mutex_unlock(&ring_lock);
        sem_post(&slots_used);
    }
    return NULL;
}

static void *consumer(void *arg)
{
    struct consumer *c = arg;
    unsigned item, p, k;

    for (c->count = 0; c->count < ITEMS / CONSUMERS; c->count++) {
        sem_wait(&slots_used);
        pthread_mutex_lock(&ring_lock);
        item = ring[ring_out++ % SLOTS];
        pthread_mutex_unlock(&ring_lock);
        sem_post(&slots_free);
        p = item >> 24;
        k = item & 0xffffff;
        c->out_of_order += k <= c->last[p];
        c->last[p] = k;
        c->sum += k;
        c->squares += (unsigned long long)item * item;
    }
    return NULL;
}

static void check_bounded_buffer(void)
{
    struct consumer c[CONSUMERS];
    unsigned long long sum = 0, squares = 0, want_sum = 0, want_squares = 0;
    pthread_t t[PRODUCERS + CONSUMERS];
    unsigned p, k;
    int i, count = 0, out_of_order = 0;

    memset(c, 0, sizeof(c));
    sem_init(&slots_free, 0, SLOTS);
    sem_init(&slots_used, 0, 0);
    for (i = 0; i < CONSUMERS; i++)
        t[i] = spawn(consumer, &c[i]);
    for (i = 0; i < PRODUCERS; i++)
        t[CONSUMERS + i] = spawn(producer, (void *)(intptr_t)i);
    for (i = 0; i < PRODUCERS + CONSUMERS; i++)
        join(t[i]);
    for (i = 0; i < CONSUMERS; i++) {
        count += c[i].count;
        sum += c[i].sum;
        squares += c[i].squares;
        out_of_order += c[i].out_of_order;
    }
    for (p = 0; p < PRODUCERS; p++)
        for (k = 1; k <= ITEMS / PRODUCERS; k++) {
            want_sum += k;
            want_squares += (unsigned long long)(p << 24 | k) * (p << 24 | k);
        }
    printf("bounded buffer: %d producers, %d consumers, %d slots: %d items, sum %llu, "
           "checksum %s, out of order %d, slots free %d, used %d\n", PRODUCERS, CONSUMERS,
           SLOTS, count, sum, sum == want_sum && squares == want_squares ? "ok" : "WRONG",
           out_of_order, value(&slots_free), value(&slots_used));
    sem_destroy(&slots_free);
    sem_destroy(&slots_used);
}

/* ---- semaphores shared with a child process ---- */

static pid_t child(void (*fn)(void *), void *arg)
{
    pid_t pid;

    pid = xfork();
    if (pid == 0) {
        fn(arg);
        _exit(0);
    }
    return pid;
}

static void reap(pid_t pid, const char *what)
{
    int status;

    if (waitpid(pid, &status, 0) != pid)
        die("waitpid");
    printf("%s: child exit status %d\n", what, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

static void post_later(void *arg)
{
    usleep(200000);
    if (sem_post(arg) != 0)
        _exit(1);
}

static void check_named(void)
{
    char name[64];
    struct timespec ts;
    pthread_t tick;
    sem_t *s;
    pid_t pid;
    long start;
    int r, e;

    snprintf(name, sizeof(name), "/greenrun-diff_sem-%d", (int)getpid());
    s = sem_open(name, O_CREAT | O_EXCL, 0600, 0);
    if (s == SEM_FAILED)
        die("sem_open");
    sem_unlink(name);
    printf("named: value %d\n", value(s));
    SAY("named: sem_trywait", sem_trywait(s));
    start = now_ms();
    ts = abs_in(CLOCK_REALTIME, 100);
    r = sem_timedwait(s, &ts);
    e = errno;
    printf("named: sem_timedwait 100 ms: %s, timed out after >= 100 ms and < 400 ms: %s\n",
           res(r, e), within(start, 100, 100 + LATE_MS));
    SAY("named: sem_post", sem_post(s));
    SAY("named: sem_wait", sem_wait(s));

    pid = child(post_later, s);
    tick = start_ticker();
    start = now_ms();
    SAY("named: sem_wait for the child's post", sem_wait(s));
    printf("named: waited for the child (>= 150 ms): %s, other threads ran meanwhile: %s\n",
           within(start, 150, 2000), ticks >= 5 ? "yes" : "no");
    stop_ticker(tick);
    reap(pid, "named");
    printf("named: value %d\n", value(s));
    SAY("named: sem_close", sem_close(s));
}

struct pingpong {
    sem_t ping, pong;
};

static void pong_side(void *arg)
{
    struct pingpong *pp = arg;
    int i;

    for (i = 0; i < 3; i++) {
        if (sem_wait(&pp->ping) != 0)
            _exit(1);
        usleep(20000);
        sem_post(&pp->pong);
    }
}

static void check_unnamed_shared(void)
{
    struct pingpong *pp = shared_mem(sizeof(*pp));
    struct timespec ts;
    pid_t pid;
    long start;
    int i, r, e;

    SAY("pshared: sem_init ping", sem_init(&pp->ping, 1, 0));
    SAY("pshared: sem_init pong", sem_init(&pp->pong, 1, 0));
    pid = child(pong_side, pp);
    for (i = 0; i < 3; i++) {
        usleep(20000);
        start = now_ms();
        SAY("pshared: sem_post ping", sem_post(&pp->ping));
        ts = abs_in(CLOCK_REALTIME, 1000);
        r = sem_timedwait(&pp->pong, &ts);
        e = errno;
        printf("pshared: sem_timedwait pong: %s, after the child's 20 ms (< 500 ms): %s\n",
               res(r, e), within(start, 20, 500));
    }
    reap(pid, "pshared");
    start = now_ms();
    ts = abs_in(CLOCK_MONOTONIC, 100);
    r = sem_clockwait(&pp->pong, CLOCK_MONOTONIC, &ts);
    e = errno;
    printf("pshared: sem_clockwait 100 ms: %s, timed out after >= 100 ms and < 400 ms: %s\n",
           res(r, e), within(start, 100, 100 + LATE_MS));
    sem_destroy(&pp->ping);
    sem_destroy(&pp->pong);
    munmap(pp, sizeof(*pp));
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    alarm(20);
    check_calls();
    check_wakeups();
    check_fifo();
    check_cancel();
    check_bounded_buffer();
    check_named();
    check_unnamed_shared();
    printf("done\n");
    return 0;
}
