/* diff_mutex.c - what every mutex call answers, for every kind of private
 * mutex.
 *
 * For normal, recursive, errorcheck and adaptive mutexes, made both by
 * pthread_mutex_init and by the static initialisers: trylock, lock,
 * timedlock (CLOCK_REALTIME), clocklock (CLOCK_MONOTONIC, and an unsupported
 * clock), unlock and consistent, on a free mutex, on one held by the caller
 * and on one held by another thread, with valid, invalid, negative and past
 * timespecs, and the recursion counter at its limit (EAGAIN). Then:
 *   - a waiter whose timedlock timed out never gets the mutex afterwards,
 *     and the waiter queued behind it does;
 *   - the owner of a normal or adaptive mutex that locks it again waits
 *     until another thread unlocks it (glibc allows that), with lock and
 *     with timedlock;
 *   - four threads incrementing a counter under each kind lose nothing;
 *   - glibc's pthread_mutex_destroy answers EBUSY when glibc's count of
 *     users says so, and a destroyed mutex answers EINVAL.
 * Timeouts print whether they ended within [timeout, timeout + LATE_MS), never
 * the time. alarm() bounds the program if a call never returns.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define TIMEOUT_MS 50
#define SLACK_MS LATE_MS

static void show(const char *what, int r)
{
    printf("  %s: %s\n", what, ename(r));
}

/* A timed lock of TIMEOUT_MS: its answer, and for ETIMEDOUT whether it came
 * in time. */
static int timed(const char *what, pthread_mutex_t *m, clockid_t clk)
{
    struct timespec ts = abs_in(clk, TIMEOUT_MS);
    long start = now_ms(), ms;
    int r;

    errno = EXDEV;
    r = clk == CLOCK_REALTIME ? pthread_mutex_timedlock(m, &ts)
                              : pthread_mutex_clocklock(m, clk, &ts);
    ms = now_ms() - start;
    if (r == ETIMEDOUT)
        printf("  %s: ETIMEDOUT, after >= %d ms and < %d ms: %s, errno untouched: %s\n", what,
               TIMEOUT_MS, TIMEOUT_MS + SLACK_MS,
               ms >= TIMEOUT_MS && ms < TIMEOUT_MS + SLACK_MS ? "yes" : "NO",
               errno == EXDEV ? "yes" : "NO");
    else
        show(what, r);
    return r;
}

static const struct timespec bad_nsec = { 1, 1000000000L };
static const struct timespec negative = { -1, 0 };
static const struct timespec negative_bad = { -1, 2000000000L };
static const struct timespec past = { 1, 0 };

/* An answer; a lock taken after all (recursive) is given back. */
static void form(const char *what, const char *who, pthread_mutex_t *m, int r)
{
    printf("  %s, %s: %s\n", what, who, ename(r));
    if (r == 0)
        pthread_mutex_unlock(m);
}

/* Every timed form on a mutex the caller cannot simply take. */
static void timed_forms(pthread_mutex_t *m, const char *who)
{
    char what[96];

    snprintf(what, sizeof(what), "timedlock, %s", who);
    if (timed(what, m, CLOCK_REALTIME) == 0)
        pthread_mutex_unlock(m);
    snprintf(what, sizeof(what), "clocklock MONOTONIC, %s", who);
    if (timed(what, m, CLOCK_MONOTONIC) == 0)
        pthread_mutex_unlock(m);
    form("timedlock tv_nsec 1e9", who, m, pthread_mutex_timedlock(m, &bad_nsec));
    form("timedlock tv_sec -1", who, m, pthread_mutex_timedlock(m, &negative));
    form("clocklock MONOTONIC tv_sec -1 tv_nsec 2e9", who, m,
         pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &negative_bad));
    form("timedlock in the past", who, m, pthread_mutex_timedlock(m, &past));
    form("clocklock CPUTIME", who, m, pthread_mutex_clocklock(m, CLOCK_PROCESS_CPUTIME_ID, &past));
}

static void *other_thread(void *arg)
{
    pthread_mutex_t *m = arg;

    show("trylock, held by another thread", pthread_mutex_trylock(m));
    timed_forms(m, "held by another thread");
    show("unlock, held by another thread", pthread_mutex_unlock(m));
    return NULL;
}

static void matrix(const char *name, pthread_mutex_t *m, int type)
{
    pthread_t t;
    int r;

    printf("%s:\n", name);
    show("trylock, free", pthread_mutex_trylock(m));
    r = pthread_mutex_trylock(m);
    show("trylock, held by self", r);
    if (r == 0)
        pthread_mutex_unlock(m);
    if (type == PTHREAD_MUTEX_RECURSIVE || type == PTHREAD_MUTEX_ERRORCHECK) {
        r = pthread_mutex_lock(m);
        show("lock, held by self", r);
        if (r == 0)
            pthread_mutex_unlock(m);
    }
    timed_forms(m, "held by self");
    show("consistent, held", pthread_mutex_consistent(m));
    show("unlock, held by self", pthread_mutex_unlock(m));
    show("unlock, free", pthread_mutex_unlock(m));
    show("clocklock CPUTIME, free", pthread_mutex_clocklock(m, CLOCK_PROCESS_CPUTIME_ID, &past));
    r = pthread_mutex_timedlock(m, &bad_nsec);
    show("timedlock tv_nsec 1e9, free", r);
    if (r == 0)
        pthread_mutex_unlock(m);
    r = pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &negative);
    show("clocklock MONOTONIC tv_sec -1, free", r);
    if (r == 0)
        pthread_mutex_unlock(m);
    show("consistent, free", pthread_mutex_consistent(m));

    show("lock, free", pthread_mutex_lock(m));
    check(pthread_create(&t, NULL, other_thread, m), "pthread_create");
    check(pthread_join(t, NULL), "pthread_join");
    /* normal and adaptive: the other thread's unlock released it */
    show("trylock after the other thread", pthread_mutex_trylock(m));
    if (type == PTHREAD_MUTEX_RECURSIVE)
        pthread_mutex_unlock(m);
    show("unlock", pthread_mutex_unlock(m));

    if (type == PTHREAD_MUTEX_RECURSIVE) {
        /* glibc counts recursive levels in __count; reaching UINT_MAX of
         * them honestly would take minutes */
        show("lock", pthread_mutex_lock(m));
        m->__data.__count = UINT_MAX;
        show("trylock, at the recursion limit", pthread_mutex_trylock(m));
        show("lock, at the recursion limit", pthread_mutex_lock(m));
        timed("timedlock, at the recursion limit", m, CLOCK_REALTIME);
        m->__data.__count = 1;
        show("unlock", pthread_mutex_unlock(m));
        show("trylock, free again", pthread_mutex_trylock(m));
        show("unlock", pthread_mutex_unlock(m));
    }
}

static void init(pthread_mutex_t *m, int type)
{
    pthread_mutexattr_t a;

    check(pthread_mutexattr_init(&a), "pthread_mutexattr_init");
    check(pthread_mutexattr_settype(&a, type), "pthread_mutexattr_settype");
    check(pthread_mutex_init(m, &a), "pthread_mutex_init");
    pthread_mutexattr_destroy(&a);
}

static const struct {
    const char *name;
    int type;
} kinds[] = {
    { "normal", PTHREAD_MUTEX_NORMAL },
    { "recursive", PTHREAD_MUTEX_RECURSIVE },
    { "errorcheck", PTHREAD_MUTEX_ERRORCHECK },
    { "adaptive", PTHREAD_MUTEX_ADAPTIVE_NP },
};

static pthread_mutex_t statics[] = {
    PTHREAD_MUTEX_INITIALIZER,
    PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP,
    PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP,
    PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP,
};

/* ---- a timed-out waiter leaves the queue ---- */

struct waiter {
    pthread_mutex_t *m;
    int result, after;
    int in_time;
};

static void *timed_waiter(void *arg)
{
    struct waiter *w = arg;
    struct timespec ts = abs_in(CLOCK_REALTIME, TIMEOUT_MS);
    long start = now_ms(), ms;

    w->result = pthread_mutex_timedlock(w->m, &ts);
    ms = now_ms() - start;
    w->in_time = ms >= TIMEOUT_MS && ms < TIMEOUT_MS + SLACK_MS;
    w->after = pthread_mutex_trylock(w->m);
    return NULL;
}

static void *plain_waiter(void *arg)
{
    struct waiter *w = arg;

    w->result = pthread_mutex_lock(w->m);
    w->after = pthread_mutex_unlock(w->m);
    return NULL;
}

static void timed_out_leaves(const char *name, pthread_mutex_t *m)
{
    struct waiter tw = { .m = m }, pw = { .m = m };
    pthread_t t1, t2;

    check(pthread_mutex_lock(m), "pthread_mutex_lock");
    check(pthread_create(&t1, NULL, timed_waiter, &tw), "pthread_create");
    usleep(10000);                  /* t1 queues first */
    check(pthread_create(&t2, NULL, plain_waiter, &pw), "pthread_create");
    check(pthread_join(t1, NULL), "pthread_join");
    check(pthread_mutex_unlock(m), "pthread_mutex_unlock");
    check(pthread_join(t2, NULL), "pthread_join");
    printf("%s: timed waiter %s in time: %s, then trylock %s; waiter behind it: lock %s, "
           "unlock %s; free afterwards: trylock %s\n",
           name, ename(tw.result), tw.in_time ? "yes" : "NO", ename(tw.after),
           ename(pw.result), ename(pw.after), ename(pthread_mutex_trylock(m)));
    check(pthread_mutex_unlock(m), "pthread_mutex_unlock");
}

/* ---- the owner relocks a normal mutex; another thread unlocks it ---- */

struct relock {
    pthread_mutex_t *m;
    atomic_int locked;
    int timed;
    int first, again, again_early, unlock;
};

static void *relocker(void *arg)
{
    struct relock *r = arg;
    struct timespec ts = abs_in(CLOCK_MONOTONIC, 2000);
    long start;

    r->first = pthread_mutex_lock(r->m);
    atomic_store(&r->locked, 1);
    start = now_ms();
    r->again = r->timed ? pthread_mutex_clocklock(r->m, CLOCK_MONOTONIC, &ts)
                        : pthread_mutex_lock(r->m);
    r->again_early = now_ms() - start < 1000;
    r->unlock = pthread_mutex_unlock(r->m);
    return NULL;
}

static void relock_by_owner(const char *name, pthread_mutex_t *m, int timed)
{
    struct relock r = { .m = m, .timed = timed };
    pthread_t t;
    int u;

    check(pthread_create(&t, NULL, relocker, &r), "pthread_create");
    while (!atomic_load(&r.locked))
        usleep(1000);
    usleep(50000);                  /* the owner is waiting on itself now */
    u = pthread_mutex_unlock(m);
    check(pthread_join(t, NULL), "pthread_join");
    printf("%s: owner locks %s, %s again: waits; another thread unlocks: %s; "
           "the owner then gets it: %s (before its deadline: %s), unlocks: %s\n",
           name, ename(r.first), timed ? "clocklock" : "lock", ename(u), ename(r.again),
           r.again_early ? "yes" : "NO", ename(r.unlock));
}

/* ---- no lost updates ---- */

#define WORKERS 4
#define ROUNDS 20000

static long counter;

static void *worker(void *arg)
{
    pthread_mutex_t *m = arg;
    long v;

    for (int i = 0; i < ROUNDS; i++) {
        check(pthread_mutex_lock(m), "pthread_mutex_lock");
        v = counter;
        if (i % 64 == 0)
            sched_yield();          /* let the others try meanwhile */
        counter = v + 1;
        check(pthread_mutex_unlock(m), "pthread_mutex_unlock");
    }
    return NULL;
}

static void contention(const char *name, pthread_mutex_t *m)
{
    pthread_t t[WORKERS];

    counter = 0;
    for (int i = 0; i < WORKERS; i++)
        check(pthread_create(&t[i], NULL, worker, m), "pthread_create");
    for (int i = 0; i < WORKERS; i++)
        check(pthread_join(t[i], NULL), "pthread_join");
    printf("%s: %d threads x %d increments: %ld\n", name, WORKERS, ROUNDS, counter);
}

/* glibc's pthread_mutex_destroy, which the shim leaves alone, reads the
 * mutex's count of users. */
static void destroy(const char *name, int type)
{
    pthread_mutex_t m;
    int locked, held, freed;

    init(&m, type);
    locked = pthread_mutex_lock(&m);
    held = pthread_mutex_destroy(&m);
    pthread_mutex_unlock(&m);
    freed = pthread_mutex_destroy(&m);
    printf("%s: lock %s, destroy while held %s, unlock, destroy %s", name, ename(locked),
           ename(held), ename(freed));
    printf(", then lock %s", ename(pthread_mutex_lock(&m)));
    printf(", trylock %s", ename(pthread_mutex_trylock(&m)));
    printf(", unlock %s\n", ename(pthread_mutex_unlock(&m)));
}

int main(void)
{
    char name[64];

    alarm(10);
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        pthread_mutex_t m;

        init(&m, kinds[i].type);
        snprintf(name, sizeof(name), "%s (pthread_mutex_init)", kinds[i].name);
        matrix(name, &m, kinds[i].type);
        snprintf(name, sizeof(name), "%s (static initialiser)", kinds[i].name);
        matrix(name, &statics[i], kinds[i].type);
        timed_out_leaves(kinds[i].name, &m);
        if (kinds[i].type == PTHREAD_MUTEX_NORMAL || kinds[i].type == PTHREAD_MUTEX_ADAPTIVE_NP) {
            relock_by_owner(kinds[i].name, &m, 0);
            relock_by_owner(kinds[i].name, &m, 1);
        }
        contention(kinds[i].name, &m);
        /* after unlocks of a free mutex (normal, adaptive), glibc's count
         * of users is off, and destroy says so */
        printf("%s: destroy after all that: %s\n", kinds[i].name, ename(pthread_mutex_destroy(&m)));
        destroy(kinds[i].name, kinds[i].type);
    }
    return 0;
}
