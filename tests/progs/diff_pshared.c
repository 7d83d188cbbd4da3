/* diff_pshared.c - process-shared, robust and priority-inherit mutexes, and
 * process-shared condvars, within a process and between processes.
 *
 * Within one process, for process-shared (normal, recursive, errorcheck,
 * adaptive), robust (normal, recursive, errorcheck) and priority-inherit
 * (normal, recursive, errorcheck) mutexes: trylock, lock, timedlock,
 * clocklock and unlock on a free mutex, on one held by the caller and on one
 * held by another thread of the process, with valid, invalid and negative
 * timespecs (glibc checks them in a different order per kind), and the
 * recursion limit. Four threads incrementing a counter under a process-shared
 * recursive mutex lose nothing.
 *
 * Between processes, in MAP_SHARED memory, with fork:
 *   - the child waits for a mutex the parent holds, then signals the
 *     parent's condvar wait; a broadcast from the child wakes two waiting
 *     threads of the parent; a signal from the parent wakes a waiting child;
 *   - while the child holds the mutex, the parent's timedlock times out and
 *     its lock waits until the child unlocks;
 *   - a child that dies holding a robust mutex: the parent's lock, waiting
 *     meanwhile, returns EOWNERDEAD; pthread_mutex_consistent makes the mutex
 *     usable again; without it, the mutex becomes ENOTRECOVERABLE;
 *   - timedwait and clockwait on a process-shared condvar time out.
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
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define TIMEOUT_MS 50
#define SLACK_MS LATE_MS

static const char *in_time(long start, long timeout)
{
    long ms = now_ms() - start;

    return ms >= timeout && ms < timeout + SLACK_MS ? "yes" : "NO";
}

enum { PSHARED = 1, ROBUST = 2, PI = 4 };

static void init_mutex(pthread_mutex_t *m, int type, int how)
{
    pthread_mutexattr_t a;

    check(pthread_mutexattr_init(&a), "pthread_mutexattr_init");
    check(pthread_mutexattr_settype(&a, type), "pthread_mutexattr_settype");
    if (how & PSHARED)
        check(pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED), "setpshared");
    if (how & ROBUST)
        check(pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST), "setrobust");
    if (how & PI)
        check(pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT), "setprotocol");
    check(pthread_mutex_init(m, &a), "pthread_mutex_init");
    pthread_mutexattr_destroy(&a);
}

static void init_cond(pthread_cond_t *c, clockid_t clk)
{
    pthread_condattr_t a;

    check(pthread_condattr_init(&a), "pthread_condattr_init");
    check(pthread_condattr_setpshared(&a, PTHREAD_PROCESS_SHARED), "setpshared");
    check(pthread_condattr_setclock(&a, clk), "pthread_condattr_setclock");
    check(pthread_cond_init(c, &a), "pthread_cond_init");
    pthread_condattr_destroy(&a);
}

/* ---- every call, within one process ---- */

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

static void timed_forms(pthread_mutex_t *m, const char *who, clockid_t clk)
{
    struct timespec ts = abs_in(clk, TIMEOUT_MS);
    long start = now_ms();
    int r;

    errno = EXDEV;
    r = pthread_mutex_clocklock(m, clk, &ts);
    printf("  clocklock %s, %s: %s", clk == CLOCK_REALTIME ? "REALTIME" : "MONOTONIC", who,
           ename(r));
    if (r == ETIMEDOUT)
        printf(", in time: %s, errno untouched: %s", in_time(start, TIMEOUT_MS),
               errno == EXDEV ? "yes" : "NO");
    printf("\n");
    if (r == 0)
        pthread_mutex_unlock(m);
    form("timedlock tv_nsec 1e9", who, m, pthread_mutex_timedlock(m, &bad_nsec));
    form("timedlock tv_sec -1", who, m, pthread_mutex_timedlock(m, &negative));
    form("timedlock tv_sec -1 tv_nsec 2e9", who, m, pthread_mutex_timedlock(m, &negative_bad));
    form("clocklock MONOTONIC in the past", who, m,
         pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &past));
    form("clocklock CPUTIME", who, m, pthread_mutex_clocklock(m, CLOCK_PROCESS_CPUTIME_ID, &past));
}

static void *other_thread(void *arg)
{
    pthread_mutex_t *m = arg;

    form("trylock", "held by another thread", m, pthread_mutex_trylock(m));
    timed_forms(m, "held by another thread", CLOCK_MONOTONIC);
    printf("  unlock, held by another thread: %s\n", ename(pthread_mutex_unlock(m)));
    return NULL;
}

static void matrix(const char *name, int type, int how)
{
    pthread_mutex_t m;
    pthread_t t;
    int r;

    init_mutex(&m, type, how);
    printf("%s:\n", name);
    printf("  trylock, free: %s\n", ename(pthread_mutex_trylock(&m)));
    form("trylock", "held by self", &m, pthread_mutex_trylock(&m));
    if (type == PTHREAD_MUTEX_RECURSIVE || type == PTHREAD_MUTEX_ERRORCHECK)
        form("lock", "held by self", &m, pthread_mutex_lock(&m));
    timed_forms(&m, "held by self", CLOCK_REALTIME);
    printf("  unlock, held by self: %s\n", ename(pthread_mutex_unlock(&m)));
    printf("  unlock, free: %s\n", ename(pthread_mutex_unlock(&m)));
    form("timedlock tv_nsec 1e9", "free", &m, pthread_mutex_timedlock(&m, &bad_nsec));
    form("clocklock CPUTIME", "free", &m,
         pthread_mutex_clocklock(&m, CLOCK_PROCESS_CPUTIME_ID, &past));

    printf("  lock, free: %s\n", ename(pthread_mutex_lock(&m)));
    check(pthread_create(&t, NULL, other_thread, &m), "pthread_create");
    check(pthread_join(t, NULL), "pthread_join");
    r = pthread_mutex_trylock(&m);
    printf("  trylock after the other thread: %s\n", ename(r));
    if (type == PTHREAD_MUTEX_RECURSIVE && r == 0)
        pthread_mutex_unlock(&m);
    printf("  unlock: %s\n", ename(pthread_mutex_unlock(&m)));

    if (type == PTHREAD_MUTEX_RECURSIVE) {
        /* glibc counts recursive levels in __count */
        printf("  lock: %s", ename(pthread_mutex_lock(&m)));
        m.__data.__count = UINT_MAX;
        printf(", at the recursion limit: trylock %s", ename(pthread_mutex_trylock(&m)));
        printf(", lock %s", ename(pthread_mutex_lock(&m)));
        printf(", timedlock %s", ename(pthread_mutex_timedlock(&m, &past)));
        m.__data.__count = 1;
        printf("; unlock %s", ename(pthread_mutex_unlock(&m)));
        printf(", trylock %s", ename(pthread_mutex_trylock(&m)));
        printf(", unlock %s\n", ename(pthread_mutex_unlock(&m)));
    }
    printf("  destroy: %s\n", ename(pthread_mutex_destroy(&m)));
}

static const struct {
    const char *name;
    int type;
    int how;
} kinds[] = {
    { "process-shared normal", PTHREAD_MUTEX_NORMAL, PSHARED },
    { "process-shared recursive", PTHREAD_MUTEX_RECURSIVE, PSHARED },
    { "process-shared errorcheck", PTHREAD_MUTEX_ERRORCHECK, PSHARED },
    { "process-shared adaptive", PTHREAD_MUTEX_ADAPTIVE_NP, PSHARED },
    { "robust normal", PTHREAD_MUTEX_NORMAL, ROBUST },
    { "robust recursive", PTHREAD_MUTEX_RECURSIVE, ROBUST },
    { "robust errorcheck", PTHREAD_MUTEX_ERRORCHECK, ROBUST },
    { "priority-inherit normal", PTHREAD_MUTEX_NORMAL, PI },
    { "priority-inherit recursive", PTHREAD_MUTEX_RECURSIVE, PI },
    { "priority-inherit errorcheck", PTHREAD_MUTEX_ERRORCHECK, PI },
};

#define WORKERS 4
#define ROUNDS 2000

static long counter;

static void *worker(void *arg)
{
    pthread_mutex_t *m = arg;
    long v;

    for (int i = 0; i < ROUNDS; i++) {
        check(pthread_mutex_lock(m), "pthread_mutex_lock");
        check(pthread_mutex_lock(m), "pthread_mutex_lock, again");
        v = counter;
        if (i % 64 == 0)
            sched_yield();          /* let the others try meanwhile */
        counter = v + 1;
        check(pthread_mutex_unlock(m), "pthread_mutex_unlock");
        check(pthread_mutex_unlock(m), "pthread_mutex_unlock, again");
    }
    return NULL;
}

static void contention(void)
{
    pthread_mutex_t m;
    pthread_t t[WORKERS];

    init_mutex(&m, PTHREAD_MUTEX_RECURSIVE, PSHARED);
    for (int i = 0; i < WORKERS; i++)
        check(pthread_create(&t[i], NULL, worker, &m), "pthread_create");
    for (int i = 0; i < WORKERS; i++)
        check(pthread_join(t[i], NULL), "pthread_join");
    printf("process-shared recursive, %d threads x %d increments: %ld\n", WORKERS, ROUNDS,
           counter);
    pthread_mutex_destroy(&m);
}

/* ---- between processes ---- */

struct shared {
    pthread_mutex_t m, robust;
    pthread_cond_t c;
    atomic_int stage;
    int flag, waiting, woken;
};

static struct shared *sh;

static pid_t child(void (*fn)(void))
{
    pid_t pid;

    pid = xfork();
    if (pid == 0) {
        alarm(5);
        fn();
        _exit(0);
    }
    return pid;
}

static const char *reap(pid_t pid)
{
    int st;

    if (waitpid(pid, &st, 0) != pid)
        die("waitpid");
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "exited 0" : "FAILED";
}

static void await_stage(int n)
{
    while (atomic_load(&sh->stage) < n)
        usleep(1000);
}

static void child_signals(void)
{
    pthread_mutex_lock(&sh->m);     /* waits until the parent waits */
    sh->flag = 1;
    pthread_cond_signal(&sh->c);
    pthread_mutex_unlock(&sh->m);
}

static void child_broadcasts(void)
{
    for (;;) {
        pthread_mutex_lock(&sh->m);
        if (sh->waiting == 2)
            break;
        pthread_mutex_unlock(&sh->m);
        usleep(1000);
    }
    sh->flag = 1;
    pthread_cond_broadcast(&sh->c);
    pthread_mutex_unlock(&sh->m);
}

static void child_waits(void)
{
    int r = 0;

    pthread_mutex_lock(&sh->m);
    atomic_store(&sh->stage, 1);
    while (!sh->flag && r == 0)
        r = pthread_cond_wait(&sh->c, &sh->m);
    pthread_mutex_unlock(&sh->m);
    _exit(r);
}

static void child_holds(void)
{
    pthread_mutex_lock(&sh->m);
    atomic_store(&sh->stage, 1);
    usleep(150000);
    pthread_mutex_unlock(&sh->m);
}

static void child_dies_holding(void)
{
    pthread_mutex_lock(&sh->robust);
    atomic_store(&sh->stage, 1);
    usleep(50000);
    _exit(0);                       /* without unlocking */
}

static void *parent_waiter(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&sh->m);
    sh->waiting++;
    while (!sh->flag)
        pthread_cond_wait(&sh->c, &sh->m);
    sh->woken++;
    pthread_mutex_unlock(&sh->m);
    return NULL;
}

static void signalling(void)
{
    pthread_t t[2];
    pid_t pid;
    int r = 0;

    sh->flag = 0;
    pthread_mutex_lock(&sh->m);
    pid = child(child_signals);
    while (!sh->flag && r == 0)
        r = pthread_cond_wait(&sh->c, &sh->m);
    pthread_mutex_unlock(&sh->m);
    printf("parent waits, child signals: wait %s, flag %d; child %s\n", ename(r), sh->flag,
           reap(pid));

    sh->flag = 0;
    sh->waiting = 0;
    sh->woken = 0;
    for (int i = 0; i < 2; i++)
        check(pthread_create(&t[i], NULL, parent_waiter, NULL), "pthread_create");
    pid = child(child_broadcasts);
    for (int i = 0; i < 2; i++)
        check(pthread_join(t[i], NULL), "pthread_join");
    printf("two parent threads wait, child broadcasts: %d woken; child %s\n", sh->woken,
           reap(pid));

    sh->flag = 0;
    atomic_store(&sh->stage, 0);
    pid = child(child_waits);
    await_stage(1);
    pthread_mutex_lock(&sh->m);
    sh->flag = 1;
    pthread_cond_signal(&sh->c);
    pthread_mutex_unlock(&sh->m);
    printf("child waits, parent signals: child %s\n", reap(pid));
}

static void holding(void)
{
    struct timespec ts;
    long start;
    pid_t pid;
    int r;

    atomic_store(&sh->stage, 0);
    pid = child(child_holds);
    await_stage(1);
    ts = abs_in(CLOCK_REALTIME, TIMEOUT_MS);
    start = now_ms();
    r = pthread_mutex_timedlock(&sh->m, &ts);
    printf("child holds the mutex: parent's timedlock %s, in time: %s", ename(r),
           in_time(start, TIMEOUT_MS));
    printf(", trylock %s", ename(pthread_mutex_trylock(&sh->m)));
    printf(", lock %s once the child unlocks", ename(pthread_mutex_lock(&sh->m)));
    printf(", unlock %s", ename(pthread_mutex_unlock(&sh->m)));
    printf("; child %s\n", reap(pid));
}

static void owner_death(int consistent)
{
    struct timespec ts;
    pid_t pid;
    int r;

    atomic_store(&sh->stage, 0);
    pid = child(child_dies_holding);
    await_stage(1);
    if (consistent) {
        r = pthread_mutex_lock(&sh->robust);
        printf("child dies holding a robust mutex: parent's lock %s", ename(r));
        printf(", consistent %s", ename(pthread_mutex_consistent(&sh->robust)));
        printf(", unlock %s", ename(pthread_mutex_unlock(&sh->robust)));
        printf(", lock %s", ename(pthread_mutex_lock(&sh->robust)));
        printf(", consistent %s", ename(pthread_mutex_consistent(&sh->robust)));
        printf(", unlock %s", ename(pthread_mutex_unlock(&sh->robust)));
    } else {
        ts = abs_in(CLOCK_MONOTONIC, 2000);
        r = pthread_mutex_clocklock(&sh->robust, CLOCK_MONOTONIC, &ts);
        printf("child dies holding a robust mutex: parent's clocklock %s", ename(r));
        printf(", unlock without consistent %s", ename(pthread_mutex_unlock(&sh->robust)));
        printf(", lock %s", ename(pthread_mutex_lock(&sh->robust)));
        printf(", lock %s", ename(pthread_mutex_lock(&sh->robust)));
        printf(", clocklock %s", ename(pthread_mutex_clocklock(&sh->robust, CLOCK_MONOTONIC, &ts)));
        /* glibc 2.36's trylock leaves an unrecoverable robust mutex locked:
         * the timedlock after it then finds it held by the caller */
        printf(", trylock %s", ename(pthread_mutex_trylock(&sh->robust)));
        printf(", timedlock %s", ename(pthread_mutex_timedlock(&sh->robust, &ts)));
    }
    printf("; child %s\n", reap(pid));
}

/* A timed wait on sh->c, as POSIX programs wait: until the predicate
 * (sh->flag, never set here) or an error. A process-shared condvar may wake
 * its green waiters spuriously. */
static int timed_wait(pthread_cond_t *c, int clk, const struct timespec *ts)
{
    int r = 0;

    while (!sh->flag && r == 0)
        r = clk < 0 ? pthread_cond_timedwait(c, &sh->m, ts)
                    : pthread_cond_clockwait(c, &sh->m, clk, ts);
    return r;
}

static void cond_timeouts(void)
{
    pthread_cond_t mono;
    struct timespec ts;
    long start;
    int r;

    sh->flag = 0;
    pthread_mutex_lock(&sh->m);
    ts = abs_in(CLOCK_REALTIME, TIMEOUT_MS);
    start = now_ms();
    r = timed_wait(&sh->c, -1, &ts);
    printf("process-shared condvar: timedwait %s, in time: %s", ename(r),
           in_time(start, TIMEOUT_MS));
    ts = abs_in(CLOCK_MONOTONIC, TIMEOUT_MS);
    start = now_ms();
    r = timed_wait(&sh->c, CLOCK_MONOTONIC, &ts);
    printf("; clockwait MONOTONIC %s, in time: %s", ename(r), in_time(start, TIMEOUT_MS));
    printf("; timedwait tv_nsec 1e9 %s", ename(timed_wait(&sh->c, -1, &bad_nsec)));
    printf("; clockwait CPUTIME %s", ename(timed_wait(&sh->c, CLOCK_PROCESS_CPUTIME_ID, &past)));
    printf("; timedwait in the past %s", ename(timed_wait(&sh->c, -1, &past)));
    printf("; timedwait tv_sec -1 %s", ename(timed_wait(&sh->c, -1, &negative)));
    printf("; mutex held: %s\n", pthread_mutex_trylock(&sh->m) == EBUSY ? "yes" : "NO");

    init_cond(&mono, CLOCK_MONOTONIC);
    ts = abs_in(CLOCK_MONOTONIC, TIMEOUT_MS);
    start = now_ms();
    r = timed_wait(&mono, -1, &ts);
    printf("process-shared condvar, condattr clock MONOTONIC: timedwait %s, in time: %s\n",
           ename(r), in_time(start, TIMEOUT_MS));
    pthread_mutex_unlock(&sh->m);
    printf("wait, errorcheck mutex not held: %s\n", ename(pthread_cond_wait(&sh->c, &sh->m)));
    pthread_cond_destroy(&mono);
}

int main(void)
{
    alarm(10);
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        matrix(kinds[i].name, kinds[i].type, kinds[i].how);
    contention();

    sh = shared_mem(sizeof(*sh));
    init_mutex(&sh->m, PTHREAD_MUTEX_ERRORCHECK, PSHARED);
    init_mutex(&sh->robust, PTHREAD_MUTEX_ERRORCHECK, PSHARED | ROBUST);
    init_cond(&sh->c, CLOCK_REALTIME);
    signalling();
    holding();
    owner_death(1);
    owner_death(0);
    cond_timeouts();
    return 0;
}
