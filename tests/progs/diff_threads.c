/* diff_threads.c - what a program can observe of pthreads: results, error
 * codes and the effects of synchronisation, printed in an order the program's
 * own synchronisation fixes.
 *
 * Checks: create/join with results; detach (by call and by attribute);
 * pthread_exit from a nested call; pthread_self/pthread_equal; joining itself
 * (EDEADLK); 2,000 threads x 100 mutex-protected increments; a bounded queue
 * with 4 producers and 4 consumers on a mutex and two condvars (10,000 items,
 * checksum, FIFO order per producer); a barrier made of a mutex and a
 * broadcast condvar; trylock (EBUSY); errorcheck mutexes (EDEADLK, EPERM);
 * recursive mutexes; the _NP static initialisers; destroying a locked mutex
 * (EBUSY); cond_wait with an errorcheck mutex it does not hold (EPERM); errno
 * kept per thread across blocking calls.
 *
 * `diff_threads hold` instead starts 2,000 threads that all wait on one
 * condvar, prints "holding" once every one of them waits, and releases them
 * when stdin reaches end of file, so that a test can inspect the process.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

#define NCOUNT 2000             /* counting threads */
#define NINCR 100               /* increments each */
#define NPROD 4
#define NCONS 4
#define NITEMS 10000
#define QCAP 16
#define BN 10                   /* barrier threads */
#define BROUNDS 5

static void xcreate(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg)
{
    check(pthread_create(t, a, fn, arg), "pthread_create");
}

/* An error code returned through a thread's result. */
static void *code(int err)
{
    return (void *)(intptr_t)err;
}

static int join_code(pthread_t t)
{
    return (int)(intptr_t)join(t);
}

/* Run fn(arg) on a new thread and return its error code. */
static int in_thread(void *(*fn)(void *), void *arg)
{
    pthread_t t;

    xcreate(&t, NULL, fn, arg);
    return join_code(t);
}

/* ---- create, join, detach, exit, self ---- */

static void *square(void *arg)
{
    intptr_t v = (intptr_t)arg;

    return (void *)(v * v);
}

static void check_join_results(void)
{
    pthread_t t[8];
    int i;

    for (i = 0; i < 8; i++)
        xcreate(&t[i], NULL, square, (void *)(intptr_t)(i + 1));
    printf("join results:");
    for (i = 0; i < 8; i++)
        printf(" %ld", (long)(intptr_t)join(t[i]));
    printf("\n");
}

static struct {
    pthread_mutex_t m;
    pthread_cond_t c;
    int n;
} finished = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };

static void *finish(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&finished.m);
    finished.n++;
    pthread_cond_signal(&finished.c);
    pthread_mutex_unlock(&finished.m);
    return NULL;
}

static void check_detach(void)
{
    pthread_attr_t a;
    pthread_t t1, t2;
    int r1, state = -1;

    xcreate(&t1, NULL, finish, NULL);
    r1 = pthread_detach(t1);
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    pthread_attr_getdetachstate(&a, &state);
    xcreate(&t2, &a, finish, NULL);
    pthread_attr_destroy(&a);
    pthread_mutex_lock(&finished.m);
    while (finished.n < 2)
        pthread_cond_wait(&finished.c, &finished.m);
    pthread_mutex_unlock(&finished.m);
    printf("detach: pthread_detach %s, attribute %s, %d detached threads finished\n",
           ename(r1), state == PTHREAD_CREATE_DETACHED ? "detached" : "joinable", finished.n);
}

static int after_exit;

static __attribute__((noinline)) void exit_level1(intptr_t v)
{
    pthread_exit((void *)v);
}

static __attribute__((noinline)) void exit_level2(intptr_t v)
{
    exit_level1(v * 2);
    after_exit++;
}

static __attribute__((noinline)) void exit_level3(intptr_t v)
{
    exit_level2(v * 3);
    after_exit++;
}

static void *exit_nested(void *arg)
{
    exit_level3((intptr_t)arg);
    after_exit++;
    return (void *)7;
}

static void check_exit_nested(void)
{
    pthread_t t;
    intptr_t r;

    xcreate(&t, NULL, exit_nested, (void *)7);
    r = (intptr_t)join(t);
    printf("pthread_exit three calls deep: result %ld, code after it ran %d times\n",
           (long)r, after_exit);
}

static pthread_t seen_self;

static void *record_self(void *arg)
{
    (void)arg;
    seen_self = pthread_self();
    return NULL;
}

static void check_self(void)
{
    pthread_t t, me = pthread_self();

    xcreate(&t, NULL, record_self, NULL);
    join(t);
    printf("pthread_equal: created vs its self %d, main vs thread %d, main vs main %d\n",
           pthread_equal(t, seen_self) != 0, pthread_equal(me, seen_self) != 0,
           pthread_equal(me, pthread_self()) != 0);
    printf("pthread_join(self): %s\n", ename(pthread_join(me, NULL)));
}

/* ---- many threads on one mutex ---- */

static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static void *count_up(void *arg)
{
    long v;
    int i;

    (void)arg;
    for (i = 0; i < NINCR; i++) {
        pthread_mutex_lock(&count_lock);
        v = counter;
        if (i % 25 == 0)
            sched_yield();          /* let others find the mutex taken */
        counter = v + 1;
        pthread_mutex_unlock(&count_lock);
    }
    return NULL;
}

static void check_many_threads(void)
{
    static pthread_t t[NCOUNT];
    int i;

    for (i = 0; i < NCOUNT; i++)
        xcreate(&t[i], NULL, count_up, NULL);
    for (i = 0; i < NCOUNT; i++)
        join(t[i]);
    printf("%d threads x %d increments: counter %ld\n", NCOUNT, NINCR, counter);
}

/* ---- bounded queue: producers and consumers ---- */

static struct {
    pthread_mutex_t m;
    pthread_cond_t notempty, notfull;
    long items[QCAP];
    int head, len, taken;
} q = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER,
        { 0 }, 0, 0, 0 };

struct consumed {
    unsigned long sum, sumsq;
    long count, order_errors;
    long last[NPROD];           /* last sequence number seen per producer */
};

static long item_of(int producer, long seq)
{
    return producer * 1000000L + seq;
}

static void *produce(void *arg)
{
    int p = (int)(intptr_t)arg;
    long i;

    for (i = 0; i < NITEMS / NPROD; i++) {
        pthread_mutex_lock(&q.m);
        while (q.len == QCAP)
            pthread_cond_wait(&q.notfull, &q.m);
        q.items[(q.head + q.len++) % QCAP] = item_of(p, i);
        pthread_cond_signal(&q.notempty);
        pthread_mutex_unlock(&q.m);
    }
    return NULL;
}

/* Take one item; false when every item has been taken. */
static bool take(long *item)
{
    pthread_mutex_lock(&q.m);
    while (q.len == 0 && q.taken < NITEMS)
        pthread_cond_wait(&q.notempty, &q.m);
    if (q.len == 0) {
        pthread_mutex_unlock(&q.m);
        return false;
    }
    *item = q.items[q.head];
    q.head = (q.head + 1) % QCAP;
    q.len--;
    if (++q.taken == NITEMS)
        pthread_cond_broadcast(&q.notempty);
    pthread_cond_signal(&q.notfull);
    pthread_mutex_unlock(&q.m);
    return true;
}

static void *consume(void *arg)
{
    struct consumed *c = arg;
    long item, seq;
    int p;

    for (p = 0; p < NPROD; p++)
        c->last[p] = -1;
    while (take(&item)) {
        p = (int)(item / 1000000L);
        seq = item % 1000000L;
        c->order_errors += seq <= c->last[p];
        c->last[p] = seq;
        c->sum += (unsigned long)item;
        c->sumsq += (unsigned long)item * (unsigned long)item;
        c->count++;
    }
    return NULL;
}

static void check_queue(void)
{
    pthread_t prod[NPROD], cons[NCONS];
    struct consumed c[NCONS];
    struct consumed all = { 0 };
    unsigned long want = 0, wantsq = 0, v;
    int i;
    long s;

    memset(c, 0, sizeof(c));
    for (i = 0; i < NCONS; i++)
        xcreate(&cons[i], NULL, consume, &c[i]);
    for (i = 0; i < NPROD; i++)
        xcreate(&prod[i], NULL, produce, (void *)(intptr_t)i);
    for (i = 0; i < NPROD; i++)
        join(prod[i]);
    for (i = 0; i < NCONS; i++) {
        join(cons[i]);
        all.sum += c[i].sum;
        all.sumsq += c[i].sumsq;
        all.count += c[i].count;
        all.order_errors += c[i].order_errors;
    }
    for (i = 0; i < NPROD; i++)
        for (s = 0; s < NITEMS / NPROD; s++) {
            v = (unsigned long)item_of(i, s);
            want += v;
            wantsq += v * v;
        }
    printf("queue: %ld items, checksum %lx/%lx, %s, %ld out of order\n", all.count,
           all.sum, all.sumsq, all.sum == want && all.sumsq == wantsq ? "matches" : "WRONG",
           all.order_errors);
}

/* ---- barrier from a mutex and a broadcast condvar ---- */

static struct {
    pthread_mutex_t m;
    pthread_cond_t c;
    int arrived;
    unsigned gen;
    int slot[BN];
    int errors;
} bar = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, { 0 }, 0 };

/* Called with bar.m held. */
static void barrier_wait_locked(void)
{
    unsigned gen = bar.gen;

    if (++bar.arrived == BN) {
        bar.arrived = 0;
        bar.gen++;
        pthread_cond_broadcast(&bar.c);
        return;
    }
    while (gen == bar.gen)
        pthread_cond_wait(&bar.c, &bar.m);
}

static void *barrier_worker(void *arg)
{
    int me = (int)(intptr_t)arg, r, j;

    for (r = 1; r <= BROUNDS; r++) {
        pthread_mutex_lock(&bar.m);
        bar.slot[me] = r;
        barrier_wait_locked();
        for (j = 0; j < BN; j++)
            bar.errors += bar.slot[j] != r;
        barrier_wait_locked();
        pthread_mutex_unlock(&bar.m);
        sched_yield();
    }
    return NULL;
}

static void check_barrier(void)
{
    pthread_t t[BN];
    int i;

    for (i = 0; i < BN; i++)
        xcreate(&t[i], NULL, barrier_worker, (void *)(intptr_t)i);
    for (i = 0; i < BN; i++)
        join(t[i]);
    printf("barrier: %d threads, %d rounds, %d errors, generation %u\n", BN, BROUNDS,
           bar.errors, bar.gen);
}

/* ---- mutex kinds and error codes ---- */

static void *trylock_it(void *m)
{
    int r = pthread_mutex_trylock(m);

    if (r == 0)
        pthread_mutex_unlock(m);
    return code(r);
}

static void *unlock_it(void *m)
{
    return code(pthread_mutex_unlock(m));
}

static void check_trylock(void)
{
    static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    int free_r, other, own, after;

    free_r = pthread_mutex_trylock(&m);
    other = in_thread(trylock_it, &m);
    own = pthread_mutex_trylock(&m);
    pthread_mutex_unlock(&m);
    after = in_thread(trylock_it, &m);
    printf("trylock: free %s, held (other thread) %s, held (owner) %s, released %s\n",
           ename(free_r), ename(other), ename(own), ename(after));
}

static void init_kind(pthread_mutex_t *m, int kind)
{
    pthread_mutexattr_t a;

    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, kind);
    pthread_mutex_init(m, &a);
    pthread_mutexattr_destroy(&a);
}

static void check_errorcheck(void)
{
    pthread_mutex_t m;
    int r[6];

    init_kind(&m, PTHREAD_MUTEX_ERRORCHECK);
    r[0] = pthread_mutex_lock(&m);
    r[1] = pthread_mutex_lock(&m);
    r[2] = in_thread(unlock_it, &m);
    r[3] = pthread_mutex_trylock(&m);
    r[4] = pthread_mutex_unlock(&m);
    r[5] = pthread_mutex_unlock(&m);
    printf("errorcheck: lock %s, relock %s, unlock by other %s, trylock by owner %s, "
           "unlock %s, unlock again %s\n", ename(r[0]), ename(r[1]), ename(r[2]),
           ename(r[3]), ename(r[4]), ename(r[5]));
    pthread_mutex_destroy(&m);
}

static void check_recursive(void)
{
    pthread_mutex_t m;
    int i, lock[3], unlock[4], tryown, other, otherunlock, extra, after;

    init_kind(&m, PTHREAD_MUTEX_RECURSIVE);
    for (i = 0; i < 3; i++)
        lock[i] = pthread_mutex_lock(&m);
    tryown = pthread_mutex_trylock(&m);
    other = in_thread(trylock_it, &m);
    otherunlock = in_thread(unlock_it, &m);
    for (i = 0; i < 4; i++)
        unlock[i] = pthread_mutex_unlock(&m);
    extra = pthread_mutex_unlock(&m);
    after = in_thread(trylock_it, &m);
    printf("recursive: lock x3 %s %s %s, trylock by owner %s, trylock by other %s, "
           "unlock by other %s, unlock x4 %s %s %s %s, unlock again %s, "
           "then trylock by other %s\n", ename(lock[0]), ename(lock[1]), ename(lock[2]),
           ename(tryown), ename(other), ename(otherunlock), ename(unlock[0]),
           ename(unlock[1]), ename(unlock[2]), ename(unlock[3]), ename(extra), ename(after));
    pthread_mutex_destroy(&m);
}

static void check_static_initialisers(void)
{
    static pthread_mutex_t rec = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
    static pthread_mutex_t chk = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP;
    static pthread_mutex_t adp = PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP;
    int r[5], c[4], a[3];

    r[0] = pthread_mutex_lock(&rec);
    r[1] = pthread_mutex_lock(&rec);
    r[2] = pthread_mutex_unlock(&rec);
    r[3] = pthread_mutex_unlock(&rec);
    r[4] = pthread_mutex_unlock(&rec);
    c[0] = pthread_mutex_lock(&chk);
    c[1] = pthread_mutex_lock(&chk);
    c[2] = pthread_mutex_unlock(&chk);
    c[3] = pthread_mutex_unlock(&chk);
    a[0] = pthread_mutex_lock(&adp);
    a[1] = in_thread(trylock_it, &adp);
    a[2] = pthread_mutex_unlock(&adp);
    printf("RECURSIVE_INITIALIZER_NP: lock %s, lock %s, unlock %s, unlock %s, unlock %s\n",
           ename(r[0]), ename(r[1]), ename(r[2]), ename(r[3]), ename(r[4]));
    printf("ERRORCHECK_INITIALIZER_NP: lock %s, lock %s, unlock %s, unlock %s\n",
           ename(c[0]), ename(c[1]), ename(c[2]), ename(c[3]));
    printf("ADAPTIVE_INITIALIZER_NP: lock %s, trylock by other %s, unlock %s\n",
           ename(a[0]), ename(a[1]), ename(a[2]));
}

static void destroy_locked(const char *name, int kind)
{
    pthread_mutex_t m;
    int busy, unlock, destroy;

    init_kind(&m, kind);
    pthread_mutex_lock(&m);
    busy = pthread_mutex_destroy(&m);
    unlock = pthread_mutex_unlock(&m);
    destroy = pthread_mutex_destroy(&m);
    printf("destroy %s mutex: locked %s, after unlock (%s) %s\n", name, ename(busy),
           ename(unlock), ename(destroy));
}

static void check_destroy_locked(void)
{
    destroy_locked("normal", PTHREAD_MUTEX_NORMAL);
    destroy_locked("errorcheck", PTHREAD_MUTEX_ERRORCHECK);
    destroy_locked("recursive", PTHREAD_MUTEX_RECURSIVE);
}

static void check_cond_wait_unowned(void)
{
    pthread_cond_t c = PTHREAD_COND_INITIALIZER;
    pthread_mutex_t m;

    init_kind(&m, PTHREAD_MUTEX_ERRORCHECK);
    printf("cond_wait with an errorcheck mutex not held: %s\n",
           ename(pthread_cond_wait(&c, &m)));
    pthread_mutex_destroy(&m);
}

/* ---- errno belongs to each thread ---- */

static pthread_mutex_t errno_lock = PTHREAD_MUTEX_INITIALIZER;
static int errno_seen[3];

static void *errno_keeper(void *arg)
{
    (void)arg;
    errno_seen[0] = errno;          /* a new thread starts with 0 */
    errno = ERANGE;
    pthread_mutex_lock(&errno_lock);   /* waits: main holds it */
    errno_seen[1] = errno;
    pthread_mutex_unlock(&errno_lock);
    errno = E2BIG;
    usleep(1000);
    errno_seen[2] = errno;
    return NULL;
}

static void check_errno(void)
{
    pthread_t t;
    int mine;

    pthread_mutex_lock(&errno_lock);
    xcreate(&t, NULL, errno_keeper, NULL);
    usleep(20000);
    errno = EDOM;
    pthread_mutex_unlock(&errno_lock);
    join(t);
    mine = errno;
    printf("errno: new thread starts with %s, keeps %s across a blocking lock and %s "
           "across a sleep; main keeps %s across unlock and join\n", ename(errno_seen[0]),
           ename(errno_seen[1]), ename(errno_seen[2]), ename(mine));
}

/* ---- hold: 2,000 threads waiting at once ---- */

static struct {
    pthread_mutex_t m;
    pthread_cond_t all_waiting, release;
    int waiting, released;
} hold = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER,
           0, 0 };

static void *holder(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&hold.m);
    if (++hold.waiting == NCOUNT)
        pthread_cond_signal(&hold.all_waiting);
    while (!hold.released)
        pthread_cond_wait(&hold.release, &hold.m);
    pthread_mutex_unlock(&hold.m);
    return NULL;
}

static void drain_stdin(void)
{
    char buf[256];
    ssize_t r;

    while ((r = read(0, buf, sizeof(buf))) != 0)
        if (r < 0 && errno != EINTR)
            die("read stdin");
}

static int hold_threads(void)
{
    static pthread_t t[NCOUNT];
    int i;

    for (i = 0; i < NCOUNT; i++)
        xcreate(&t[i], NULL, holder, NULL);
    pthread_mutex_lock(&hold.m);
    while (hold.waiting < NCOUNT)
        pthread_cond_wait(&hold.all_waiting, &hold.m);
    pthread_mutex_unlock(&hold.m);
    printf("holding %d threads\n", NCOUNT);
    drain_stdin();
    pthread_mutex_lock(&hold.m);
    hold.released = 1;
    pthread_cond_broadcast(&hold.release);
    pthread_mutex_unlock(&hold.m);
    for (i = 0; i < NCOUNT; i++)
        join(t[i]);
    printf("released %d threads\n", NCOUNT);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1 && strcmp(argv[1], "hold") == 0)
        return hold_threads();
    check_join_results();
    check_detach();
    check_exit_nested();
    check_self();
    check_many_threads();
    check_queue();
    check_barrier();
    check_trylock();
    check_errorcheck();
    check_recursive();
    check_static_initialisers();
    check_destroy_locked();
    check_cond_wait_unowned();
    check_errno();
    printf("done\n");
    return 0;
}
