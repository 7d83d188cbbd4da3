/* diff_cond.c - condition variables: timeouts, clocks, errors, wake-ups.
 *
 *   - pthread_cond_timedwait on a condvar made with the default clock
 *     (CLOCK_REALTIME), with pthread_condattr_setclock(CLOCK_MONOTONIC), and
 *     a static initialiser; pthread_cond_clockwait on both clocks: each times
 *     out after its 100 ms, holding the mutex again;
 *   - the errors: a bad tv_nsec (EINVAL, mutex still held), an unsupported
 *     clock (EINVAL), a negative or past deadline (ETIMEDOUT), an errorcheck
 *     mutex the caller does not hold (EPERM), a recursive mutex held twice
 *     (still held twice after the wait);
 *   - a waiter that timed out has left: a later waiter gets the next signal;
 *   - a signal sent before the wait is not lost when the predicate is checked
 *     under the mutex; a signal sent while waiting wakes the waiter;
 *   - broadcast wakes all eight waiters;
 *   - eight producers signal 1000 times each, eight consumers take 8000
 *     tokens with wait, timedwait and clockwait: no wake-up is lost;
 *   - robust and priority-inherit mutexes work with a condvar too;
 *   - the waits are cancellation points: a thread cancelled in wait,
 *     timedwait or clockwait, or with a cancellation pending when it waits,
 *     runs its cleanup handler holding the mutex again; one whose unlock
 *     fails (errorcheck mutex not held) gets EPERM first.
 * Timeouts print whether they ended within [timeout, timeout + LATE_MS), never
 * the time. alarm() bounds the program if a wake-up is lost.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define TIMEOUT_MS 100
#define SLACK_MS LATE_MS

static void init_mutex(pthread_mutex_t *m, int type, int robust, int protocol)
{
    pthread_mutexattr_t a;

    check(pthread_mutexattr_init(&a), "pthread_mutexattr_init");
    check(pthread_mutexattr_settype(&a, type), "pthread_mutexattr_settype");
    check(pthread_mutexattr_setrobust(&a, robust), "pthread_mutexattr_setrobust");
    check(pthread_mutexattr_setprotocol(&a, protocol), "pthread_mutexattr_setprotocol");
    check(pthread_mutex_init(m, &a), "pthread_mutex_init");
    pthread_mutexattr_destroy(&a);
}

static void init_cond(pthread_cond_t *c, clockid_t clk)
{
    pthread_condattr_t a;
    clockid_t got;

    check(pthread_condattr_init(&a), "pthread_condattr_init");
    check(pthread_condattr_setclock(&a, clk), "pthread_condattr_setclock");
    check(pthread_condattr_getclock(&a, &got), "pthread_condattr_getclock");
    if (got != clk) {
        fprintf(stderr, "diff_cond: pthread_condattr_getclock: wrong clock\n");
        exit(1);
    }
    check(pthread_cond_init(c, &a), "pthread_cond_init");
    pthread_condattr_destroy(&a);
}

/* One timed wait of TIMEOUT_MS with the mutex held: its answer, whether it
 * came in time, and whether the mutex is held again (errorcheck: unlock
 * says). clk < 0: timedwait, on deadline_clk; else clockwait on clk. */
static void timeout(const char *what, pthread_cond_t *c, pthread_mutex_t *m,
                    clockid_t deadline_clk, int clk)
{
    struct timespec ts;
    long start, ms;
    int r;

    check(pthread_mutex_lock(m), "pthread_mutex_lock");
    ts = abs_in(deadline_clk, TIMEOUT_MS);
    start = now_ms();
    errno = EXDEV;
    r = clk < 0 ? pthread_cond_timedwait(c, m, &ts) : pthread_cond_clockwait(c, m, clk, &ts);
    ms = now_ms() - start;
    printf("%s: %s, after >= %d ms and < %d ms: %s, errno untouched: %s", what, ename(r),
           TIMEOUT_MS, TIMEOUT_MS + SLACK_MS,
           ms >= TIMEOUT_MS && ms < TIMEOUT_MS + SLACK_MS ? "yes" : "NO",
           errno == EXDEV ? "yes" : "NO");
    printf(", mutex held again: %s\n", pthread_mutex_unlock(m) == 0 ? "yes" : "NO");
}

static pthread_cond_t static_cond = PTHREAD_COND_INITIALIZER;

static void timeouts(void)
{
    pthread_mutex_t m;
    pthread_cond_t real, mono;

    init_mutex(&m, PTHREAD_MUTEX_ERRORCHECK, PTHREAD_MUTEX_STALLED, PTHREAD_PRIO_NONE);
    init_cond(&real, CLOCK_REALTIME);
    init_cond(&mono, CLOCK_MONOTONIC);
    timeout("timedwait, default clock", &real, &m, CLOCK_REALTIME, -1);
    timeout("timedwait, static initialiser", &static_cond, &m, CLOCK_REALTIME, -1);
    timeout("timedwait, condattr clock MONOTONIC", &mono, &m, CLOCK_MONOTONIC, -1);
    timeout("clockwait REALTIME", &real, &m, CLOCK_REALTIME, CLOCK_REALTIME);
    timeout("clockwait MONOTONIC", &real, &m, CLOCK_MONOTONIC, CLOCK_MONOTONIC);
    timeout("clockwait MONOTONIC, condattr clock MONOTONIC", &mono, &m, CLOCK_MONOTONIC,
            CLOCK_MONOTONIC);
    pthread_cond_destroy(&real);
    pthread_cond_destroy(&mono);
    pthread_mutex_destroy(&m);
}

/* ---- errors ---- */

static void result(const char *what, int r, pthread_mutex_t *m)
{
    printf("%s: %s, mutex held afterwards: %s\n", what, ename(r),
           pthread_mutex_unlock(m) == 0 ? "yes" : "no");
}

static void errors(void)
{
    static const struct timespec bad_nsec = { 1, 1000000000L }, negative = { -1, 0 },
                                 negative_bad = { -1, 2000000000L }, past = { 1, 0 };
    pthread_mutex_t m, rec;
    pthread_cond_t c;
    struct timespec ts;
    int r;

    init_mutex(&m, PTHREAD_MUTEX_ERRORCHECK, PTHREAD_MUTEX_STALLED, PTHREAD_PRIO_NONE);
    init_cond(&c, CLOCK_REALTIME);
    pthread_mutex_lock(&m);
    result("timedwait, tv_nsec 1e9", pthread_cond_timedwait(&c, &m, &bad_nsec), &m);
    pthread_mutex_lock(&m);
    result("timedwait, tv_sec -1 tv_nsec 2e9", pthread_cond_timedwait(&c, &m, &negative_bad), &m);
    pthread_mutex_lock(&m);
    result("clockwait, tv_nsec 1e9", pthread_cond_clockwait(&c, &m, CLOCK_MONOTONIC, &bad_nsec),
           &m);
    pthread_mutex_lock(&m);
    result("clockwait, CLOCK_PROCESS_CPUTIME_ID",
           pthread_cond_clockwait(&c, &m, CLOCK_PROCESS_CPUTIME_ID, &past), &m);
    pthread_mutex_lock(&m);
    result("timedwait, tv_sec -1", pthread_cond_timedwait(&c, &m, &negative), &m);
    pthread_mutex_lock(&m);
    result("timedwait, in the past", pthread_cond_timedwait(&c, &m, &past), &m);
    pthread_mutex_lock(&m);
    result("clockwait MONOTONIC, in the past",
           pthread_cond_clockwait(&c, &m, CLOCK_MONOTONIC, &past), &m);
    ts = abs_in(CLOCK_REALTIME, TIMEOUT_MS);
    printf("wait, errorcheck mutex not held: %s\n", ename(pthread_cond_wait(&c, &m)));
    printf("timedwait, errorcheck mutex not held: %s\n",
           ename(pthread_cond_timedwait(&c, &m, &ts)));

    init_mutex(&rec, PTHREAD_MUTEX_RECURSIVE, PTHREAD_MUTEX_STALLED, PTHREAD_PRIO_NONE);
    pthread_mutex_lock(&rec);
    pthread_mutex_lock(&rec);
    ts = abs_in(CLOCK_REALTIME, 20);
    r = pthread_cond_timedwait(&c, &rec, &ts);
    printf("timedwait, recursive mutex held twice: %s; unlock %s", ename(r),
           ename(pthread_mutex_unlock(&rec)));
    printf(", unlock %s", ename(pthread_mutex_unlock(&rec)));
    printf(", unlock %s\n", ename(pthread_mutex_unlock(&rec)));
    pthread_cond_destroy(&c);
    pthread_mutex_destroy(&m);
    pthread_mutex_destroy(&rec);
}

/* ---- wake-ups ---- */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int flag, waiting, woken;

static void *set_flag(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock);
    flag = 1;
    pthread_cond_signal(&cond);
    pthread_mutex_unlock(&lock);
    return NULL;
}

static void *timed_waiter(void *arg)
{
    struct timespec ts = abs_in(CLOCK_REALTIME, 50);
    int *r = arg;

    pthread_mutex_lock(&lock);
    *r = pthread_cond_timedwait(&cond, &lock, &ts);
    pthread_mutex_unlock(&lock);
    return NULL;
}

static void *flag_waiter(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock);
    waiting++;
    while (!flag)
        pthread_cond_wait(&cond, &lock);
    woken++;
    pthread_mutex_unlock(&lock);
    return NULL;
}

static void wait_for_waiters(int n)
{
    for (;;) {
        pthread_mutex_lock(&lock);
        if (waiting == n) {
            pthread_mutex_unlock(&lock);
            return;
        }
        pthread_mutex_unlock(&lock);
        usleep(1000);
    }
}

static void wakeups(void)
{
    pthread_t t, ts[8];
    int r;

    /* signal before the wait */
    flag = 0;
    check(pthread_create(&t, NULL, set_flag, NULL), "pthread_create");
    check(pthread_join(t, NULL), "pthread_join");
    pthread_mutex_lock(&lock);
    while (!flag)
        pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    printf("signal before the wait, predicate checked: not lost\n");

    /* signal during the wait */
    flag = 0;
    pthread_mutex_lock(&lock);
    check(pthread_create(&t, NULL, set_flag, NULL), "pthread_create");
    while (!flag)
        pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    check(pthread_join(t, NULL), "pthread_join");
    printf("signal during the wait: woken\n");

    /* a timed-out waiter has left the queue */
    flag = 0;
    waiting = 0;
    woken = 0;
    check(pthread_create(&t, NULL, timed_waiter, &r), "pthread_create");
    check(pthread_join(t, NULL), "pthread_join");
    check(pthread_create(&ts[0], NULL, flag_waiter, NULL), "pthread_create");
    wait_for_waiters(1);
    pthread_mutex_lock(&lock);
    flag = 1;
    pthread_cond_signal(&cond);
    pthread_mutex_unlock(&lock);
    check(pthread_join(ts[0], NULL), "pthread_join");
    printf("timed waiter: %s; one signal afterwards wakes the next waiter: %d woken\n",
           ename(r), woken);

    /* broadcast */
    flag = 0;
    waiting = 0;
    woken = 0;
    for (int i = 0; i < 8; i++)
        check(pthread_create(&ts[i], NULL, flag_waiter, NULL), "pthread_create");
    wait_for_waiters(8);
    pthread_mutex_lock(&lock);
    flag = 1;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < 8; i++)
        check(pthread_join(ts[i], NULL), "pthread_join");
    printf("broadcast to %d waiters: %d woken\n", waiting, woken);
}

/* ---- no lost wake-ups under load ---- */

#define PAIRS 8
#define SIGNALS 1000

static int tokens, timeouts_seen;

static void *producer(void *arg)
{
    (void)arg;
    for (int i = 0; i < SIGNALS; i++) {
        pthread_mutex_lock(&lock);
        tokens++;
        pthread_cond_signal(&cond);
        pthread_mutex_unlock(&lock);
        if (i % 16 == 0)
            sched_yield();
    }
    return NULL;
}

static void *consumer(void *arg)
{
    long how = (long)arg;
    struct timespec ts;
    int r;

    for (int i = 0; i < SIGNALS; i++) {
        pthread_mutex_lock(&lock);
        while (tokens == 0) {
            if (how == 0) {
                r = pthread_cond_wait(&cond, &lock);
            } else if (how == 1) {
                ts = abs_in(CLOCK_REALTIME, 5000);
                r = pthread_cond_timedwait(&cond, &lock, &ts);
            } else {
                ts = abs_in(CLOCK_MONOTONIC, 5000);
                r = pthread_cond_clockwait(&cond, &lock, CLOCK_MONOTONIC, &ts);
            }
            timeouts_seen += r == ETIMEDOUT;
        }
        tokens--;
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

static void load(void)
{
    pthread_t p[PAIRS], c[PAIRS];

    for (int i = 0; i < PAIRS; i++)
        check(pthread_create(&c[i], NULL, consumer, (void *)(long)(i % 3)), "pthread_create");
    for (int i = 0; i < PAIRS; i++)
        check(pthread_create(&p[i], NULL, producer, NULL), "pthread_create");
    for (int i = 0; i < PAIRS; i++) {
        check(pthread_join(p[i], NULL), "pthread_join");
        check(pthread_join(c[i], NULL), "pthread_join");
    }
    printf("%d producers x %d signals, %d consumers: tokens left %d, timeouts %d\n", PAIRS,
           SIGNALS, PAIRS, tokens, timeouts_seen);
}

/* ---- condvars with robust and priority-inherit mutexes ---- */

struct pair {
    pthread_mutex_t m;
    pthread_cond_t c;
    int flag;
};

static void *pair_signal(void *arg)
{
    struct pair *p = arg;

    pthread_mutex_lock(&p->m);
    p->flag = 1;
    pthread_cond_signal(&p->c);
    pthread_mutex_unlock(&p->m);
    return NULL;
}

static void other_mutex(const char *name, int robust, int protocol)
{
    struct pair p = { .flag = 0 };
    pthread_t t;
    int r = 0;

    init_mutex(&p.m, PTHREAD_MUTEX_ERRORCHECK, robust, protocol);
    init_cond(&p.c, CLOCK_MONOTONIC);
    timeout(name, &p.c, &p.m, CLOCK_MONOTONIC, -1);
    pthread_mutex_lock(&p.m);
    check(pthread_create(&t, NULL, pair_signal, &p), "pthread_create");
    while (!p.flag && r == 0)
        r = pthread_cond_wait(&p.c, &p.m);
    printf("%s: signalled wait %s, mutex held afterwards: %s\n", name, ename(r),
           pthread_mutex_unlock(&p.m) == 0 ? "yes" : "NO");
    check(pthread_join(t, NULL), "pthread_join");
    pthread_cond_destroy(&p.c);
    pthread_mutex_destroy(&p.m);
}

/* ---- cancellation ---- */

struct victim {
    pthread_mutex_t m;
    pthread_cond_t c;
    int how;                        /* 0 wait, 1 timedwait, 2 clockwait */
    int self_cancel, waiting;
    int handler_ran, held_in_handler, not_held_result;
};

static void handler(void *arg)
{
    struct victim *v = arg;

    v->handler_ran = 1;
    v->held_in_handler = pthread_mutex_unlock(&v->m) == 0;
}

static void *victim(void *arg)
{
    struct victim *v = arg;
    struct timespec ts;

    if (v->self_cancel) {
        pthread_cancel(pthread_self());
        v->not_held_result = pthread_cond_wait(&v->c, &v->m);   /* errorcheck, not held */
    }
    pthread_mutex_lock(&v->m);
    pthread_cleanup_push(handler, v);
    v->waiting = 1;
    for (;;) {                      /* nothing ever signals */
        if (v->how == 0) {
            pthread_cond_wait(&v->c, &v->m);
        } else if (v->how == 1) {
            ts = abs_in(CLOCK_REALTIME, 5000);
            pthread_cond_timedwait(&v->c, &v->m, &ts);
        } else {
            ts = abs_in(CLOCK_MONOTONIC, 5000);
            pthread_cond_clockwait(&v->c, &v->m, CLOCK_MONOTONIC, &ts);
        }
    }
    pthread_cleanup_pop(0);
    return NULL;
}

static void cancel_in_wait(const char *name, int how, int pshared, int self_cancel)
{
    struct victim v = { .how = how, .self_cancel = self_cancel };
    pthread_condattr_t a;
    pthread_t t;
    void *res;

    init_mutex(&v.m, PTHREAD_MUTEX_ERRORCHECK, PTHREAD_MUTEX_STALLED, PTHREAD_PRIO_NONE);
    check(pthread_condattr_init(&a), "pthread_condattr_init");
    if (pshared)
        check(pthread_condattr_setpshared(&a, PTHREAD_PROCESS_SHARED), "setpshared");
    check(pthread_cond_init(&v.c, &a), "pthread_cond_init");
    pthread_condattr_destroy(&a);
    check(pthread_create(&t, NULL, victim, &v), "pthread_create");
    if (!self_cancel) {
        for (;;) {
            pthread_mutex_lock(&v.m);
            if (v.waiting)
                break;
            pthread_mutex_unlock(&v.m);
            usleep(1000);
        }
        pthread_mutex_unlock(&v.m);
        usleep(20000);              /* it is waiting now */
        check(pthread_cancel(t), "pthread_cancel");
    }
    check(pthread_join(t, &res), "pthread_join");
    printf("%s: ", name);
    if (self_cancel)
        printf("wait with the errorcheck mutex not held: %s; ", ename(v.not_held_result));
    printf("%s, handler ran: %s, mutex held in the handler: %s\n",
           res == PTHREAD_CANCELED ? "cancelled" : "NOT cancelled", v.handler_ran ? "yes" : "NO",
           v.held_in_handler ? "yes" : "NO");
    pthread_cond_destroy(&v.c);
    pthread_mutex_destroy(&v.m);
}

int main(void)
{
    alarm(10);
    setvbuf(stdout, NULL, _IOLBF, 0);
    timeouts();
    errors();
    wakeups();
    load();
    other_mutex("robust errorcheck mutex", PTHREAD_MUTEX_ROBUST, PTHREAD_PRIO_NONE);
    other_mutex("priority-inherit errorcheck mutex", PTHREAD_MUTEX_STALLED, PTHREAD_PRIO_INHERIT);
    cancel_in_wait("cancelled in wait", 0, 0, 0);
    cancel_in_wait("cancelled in timedwait", 1, 0, 0);
    cancel_in_wait("cancelled in clockwait", 2, 0, 0);
    cancel_in_wait("cancelled in wait, process-shared condvar", 0, 1, 0);
    cancel_in_wait("cancelled in timedwait, process-shared condvar", 1, 1, 0);
    cancel_in_wait("cancellation pending", 0, 0, 1);
    cancel_in_wait("cancellation pending, process-shared condvar", 1, 1, 1);
    return 0;
}
