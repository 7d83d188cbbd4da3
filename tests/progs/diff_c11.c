/* diff_c11.c - C11 threads (<threads.h>): every call, its return code and
 * its effect, printed in an order the program's own synchronisation fixes.
 *
 * Checks: thrd_create/thrd_join with int results (negative ones too), a
 * NULL result pointer, thrd_exit from a nested call; joining itself
 * (thrd_error); thrd_current/thrd_equal in and out of threads; thrd_detach,
 * and detaching twice (thrd_error); thrd_sleep (0, waits long enough, leaves
 * errno alone; -2 for an invalid duration, errno still alone); thrd_yield;
 * mtx_plain: lock/unlock, trylock by another thread and by the owner
 * (thrd_busy), 8 threads x 10,000 increments; mtx_plain | mtx_recursive:
 * nested lock/trylock, busy for others until the last unlock; mtx_timed:
 * mtx_timedlock times out (thrd_timedout) no earlier than asked and less
 * than 50 ms late, at once for a past time, and succeeds on a free mutex;
 * cnd_wait/cnd_signal ping-pong, cnd_broadcast to 4 waiters, cnd_timedwait
 * timing out like mtx_timedlock, cnd_timedwait with an invalid time
 * (thrd_error); tss: per-thread values across yields, NULL before set, the
 * destructor at thread exit (with the value it had) and not for NULL values,
 * tss_set on a deleted key (thrd_error); call_once with 8 threads racing
 * while the once function sleeps: it runs once, and every caller returns
 * after it finished.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>

#define NT 8
#define NINCR 10000
#define TIMEOUT_MS 100
#define SLACK_MS 50

static const char *rc(int r)
{
    switch (r) {
    case thrd_success: return "thrd_success";
    case thrd_busy: return "thrd_busy";
    case thrd_error: return "thrd_error";
    case thrd_nomem: return "thrd_nomem";
    case thrd_timedout: return "thrd_timedout";
    default: return "unknown";
    }
}

static void die(const char *what, int r)
{
    fprintf(stderr, "diff_c11: %s: %s\n", what, rc(r));
    exit(1);
}

static void xcreate(thrd_t *t, thrd_start_t fn, void *arg)
{
    int r = thrd_create(t, fn, arg);

    if (r != thrd_success)
        die("thrd_create", r);
}

static int xjoin(thrd_t t)
{
    int res = 0, r = thrd_join(t, &res);

    if (r != thrd_success)
        die("thrd_join", r);
    return res;
}

static long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* An absolute TIME_UTC time ms from now, as mtx_timedlock and cnd_timedwait take. */
static struct timespec in_ms(long ms)
{
    struct timespec ts;

    timespec_get(&ts, TIME_UTC);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static const char *on_time(long start, long ms)
{
    long took = now_ms() - start;

    return took < ms ? "EARLY" : took >= ms + SLACK_MS ? "LATE" : "on time";
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    thrd_sleep(&ts, NULL);
}

/* ---- create, join, exit, current, equal, detach ---- */

static thrd_t seen_current[4];

static int returner(void *arg)
{
    int i = (int)(intptr_t)arg;

    seen_current[i] = thrd_current();
    thrd_yield();
    return i == 3 ? -7 : i * 10 + 1;
}

static __attribute__((noinline)) void exit_inner(int res)
{
    thrd_exit(res);
}

static __attribute__((noinline)) void exit_outer(int res)
{
    exit_inner(res);
    printf("thrd_exit RETURNED\n");
}

static int exiter(void *arg)
{
    exit_outer((int)(intptr_t)arg);
    return 999;
}

static int self_joiner(void *arg)
{
    int res;

    (void)arg;
    return thrd_join(thrd_current(), &res);
}

static atomic_int detached_done;

static int detached(void *arg)
{
    (void)arg;
    sleep_ms(50);
    atomic_store(&detached_done, 1);
    return 0;
}

static void check_threads(void)
{
    thrd_t t[4], main_thr = thrd_current();
    int i, r, res;

    for (i = 0; i < 4; i++)
        xcreate(&t[i], returner, (void *)(intptr_t)i);
    printf("thrd_join results:");
    for (i = 0; i < 4; i++)
        printf(" %d", xjoin(t[i]));
    printf("\n");
    for (i = 0; i < 4; i++)
        printf("thread %d: thrd_current equals its thrd_t %d, equals main %d\n", i,
               thrd_equal(seen_current[i], t[i]) != 0, thrd_equal(seen_current[i], main_thr) != 0);
    printf("main: thrd_equal(current, current) %d\n", thrd_equal(main_thr, thrd_current()) != 0);

    xcreate(&t[0], returner, (void *)(intptr_t)1);
    printf("thrd_join with NULL result: %s\n", rc(thrd_join(t[0], NULL)));

    xcreate(&t[0], exiter, (void *)(intptr_t)42);
    xcreate(&t[1], exiter, (void *)(intptr_t)-1);
    res = xjoin(t[0]);
    printf("thrd_exit(42) from a nested call: joined %d\n", res);
    printf("thrd_exit(-1) from a nested call: joined %d\n", xjoin(t[1]));

    xcreate(&t[0], self_joiner, NULL);
    printf("thrd_join on itself: %s\n", rc(xjoin(t[0])));

    xcreate(&t[0], detached, NULL);
    r = thrd_detach(t[0]);
    printf("thrd_detach: %s\n", rc(r));
    r = thrd_detach(t[0]);
    printf("thrd_detach again while it runs: %s\n", rc(r));
    while (!atomic_load(&detached_done))
        sleep_ms(5);
    printf("detached thread finished: yes\n");
}

/* ---- sleep, yield ---- */

static void check_sleep(void)
{
    struct timespec d = { 0, 20 * 1000000L }, rem = { 77, 77 }, bad = { 0, -1 };
    long start = now_ms();
    int r;

    errno = 4242;
    r = thrd_sleep(&d, &rem);
    printf("thrd_sleep 20 ms: %d, %s, errno left alone %d, rem untouched %d\n", r,
           now_ms() - start >= 20 ? "waited long enough" : "returned EARLY",
           errno == 4242, rem.tv_sec == 77 && rem.tv_nsec == 77);
    errno = 4242;
    r = thrd_sleep(&bad, NULL);
    printf("thrd_sleep tv_nsec -1: %d, errno left alone %d\n", r, errno == 4242);
    d.tv_nsec = 0;
    printf("thrd_sleep 0: %d\n", thrd_sleep(&d, NULL));
    thrd_yield();
    printf("thrd_yield returned\n");
}

/* ---- mutexes ---- */

static mtx_t plain, rec, timed;
static long counter;

static int counting(void *arg)
{
    int i, bad = 0;

    (void)arg;
    for (i = 0; i < NINCR; i++) {
        bad += mtx_lock(&plain) != thrd_success;
        long v = counter;
        if (i % 100 == 0)
            thrd_yield();           /* others now find it locked */
        counter = v + 1;
        bad += mtx_unlock(&plain) != thrd_success;
    }
    return bad;
}

static int try_other(void *arg)
{
    mtx_t *m = arg;
    int r = mtx_trylock(m);

    if (r == thrd_success)
        mtx_unlock(m);
    return r;
}

static int try_in_thread(mtx_t *m)
{
    thrd_t t;

    xcreate(&t, try_other, m);
    return xjoin(t);
}

static void check_plain(void)
{
    thrd_t t[NT];
    int i, bad = 0;

    printf("mtx_init(mtx_plain): %s\n", rc(mtx_init(&plain, mtx_plain)));
    printf("mtx_lock: %s\n", rc(mtx_lock(&plain)));
    printf("mtx_trylock by another thread: %s\n", rc(try_in_thread(&plain)));
    printf("mtx_trylock by the owner: %s\n", rc(mtx_trylock(&plain)));
    printf("mtx_unlock: %s\n", rc(mtx_unlock(&plain)));
    printf("mtx_trylock by another thread once free: %s\n", rc(try_in_thread(&plain)));
    for (i = 0; i < NT; i++)
        xcreate(&t[i], counting, NULL);
    for (i = 0; i < NT; i++)
        bad += xjoin(t[i]);
    printf("%d threads x %d increments under mtx_lock: %ld, failed calls %d\n", NT, NINCR,
           counter, bad);
    mtx_destroy(&plain);
}

static void check_recursive(void)
{
    int i;

    printf("mtx_init(mtx_plain | mtx_recursive): %s\n",
           rc(mtx_init(&rec, mtx_plain | mtx_recursive)));
    printf("mtx_lock x3:");
    for (i = 0; i < 3; i++)
        printf(" %s", rc(mtx_lock(&rec)));
    printf("\nmtx_trylock by the owner: %s\n", rc(mtx_trylock(&rec)));
    printf("mtx_trylock by another thread: %s\n", rc(try_in_thread(&rec)));
    printf("mtx_unlock x3:");
    for (i = 0; i < 3; i++)
        printf(" %s", rc(mtx_unlock(&rec)));
    printf("\nmtx_trylock by another thread, locked once more: %s\n", rc(try_in_thread(&rec)));
    printf("last mtx_unlock: %s\n", rc(mtx_unlock(&rec)));
    printf("mtx_trylock by another thread once free: %s\n", rc(try_in_thread(&rec)));
    mtx_destroy(&rec);
}

static atomic_int holder_go;

static int timed_holder(void *arg)
{
    (void)arg;
    mtx_lock(&timed);
    atomic_store(&holder_go, 1);
    while (atomic_load(&holder_go) != 2)
        sleep_ms(5);
    mtx_unlock(&timed);
    return 0;
}

static void check_timed(void)
{
    struct timespec ts, past = { 0, 0 }, bad;
    thrd_t t;
    long start;
    int r;

    printf("mtx_init(mtx_timed): %s\n", rc(mtx_init(&timed, mtx_timed)));
    ts = in_ms(TIMEOUT_MS);
    printf("mtx_timedlock on a free mutex: %s\n", rc(mtx_timedlock(&timed, &ts)));
    mtx_unlock(&timed);
    xcreate(&t, timed_holder, NULL);
    while (atomic_load(&holder_go) != 1)
        sleep_ms(5);
    ts = in_ms(TIMEOUT_MS);
    start = now_ms();
    r = mtx_timedlock(&timed, &ts);
    printf("mtx_timedlock %d ms on a held mutex: %s, %s\n", TIMEOUT_MS, rc(r),
           on_time(start, TIMEOUT_MS));
    start = now_ms();
    r = mtx_timedlock(&timed, &past);
    printf("mtx_timedlock with a past time: %s, at once %d\n", rc(r), now_ms() - start < SLACK_MS);
    bad = in_ms(TIMEOUT_MS);
    bad.tv_nsec = 1000000000L;
    printf("mtx_timedlock with tv_nsec 1e9 on a held mutex: %s\n", rc(mtx_timedlock(&timed, &bad)));
    atomic_store(&holder_go, 2);
    ts = in_ms(2000);
    printf("mtx_timedlock while the holder lets go: %s\n", rc(mtx_timedlock(&timed, &ts)));
    mtx_unlock(&timed);
    xjoin(t);
    mtx_destroy(&timed);
}

/* ---- condition variables ---- */

static mtx_t cm;
static cnd_t cv, ready;
static int turn, released, waiting;

static int pong(void *arg)
{
    int i, bad = 0;

    (void)arg;
    mtx_lock(&cm);
    for (i = 0; i < 1000; i++) {
        while (turn != 1)
            bad += cnd_wait(&cv, &cm) != thrd_success;
        turn = 0;
        bad += cnd_signal(&cv) != thrd_success;
    }
    mtx_unlock(&cm);
    return bad;
}

static int broadcast_waiter(void *arg)
{
    int bad = 0;

    (void)arg;
    mtx_lock(&cm);
    waiting++;
    cnd_signal(&ready);
    while (!released)
        bad += cnd_wait(&cv, &cm) != thrd_success;
    waiting--;
    mtx_unlock(&cm);
    return bad;
}

static void check_cond(void)
{
    struct timespec ts, bad_ts;
    thrd_t t[4];
    int i, bad = 0, r;
    long start;

    printf("cnd_init: %s, mtx_init: %s\n", rc(cnd_init(&cv)), rc(mtx_init(&cm, mtx_plain)));
    if (cnd_init(&ready) != thrd_success)
        die("cnd_init", thrd_error);
    xcreate(&t[0], pong, NULL);
    mtx_lock(&cm);
    for (i = 0; i < 1000; i++) {
        turn = 1;
        bad += cnd_signal(&cv) != thrd_success;
        while (turn != 0)
            bad += cnd_wait(&cv, &cm) != thrd_success;
    }
    mtx_unlock(&cm);
    bad += xjoin(t[0]);
    printf("cnd_wait/cnd_signal ping-pong x1000: failed calls %d\n", bad);

    for (i = 0; i < 4; i++)
        xcreate(&t[i], broadcast_waiter, NULL);
    mtx_lock(&cm);
    while (waiting < 4)
        cnd_wait(&ready, &cm);
    released = 1;
    r = cnd_broadcast(&cv);
    mtx_unlock(&cm);
    bad = 0;
    for (i = 0; i < 4; i++)
        bad += xjoin(t[i]);
    printf("cnd_broadcast to 4 waiters: %s, all returned with failed calls %d, still waiting %d\n",
           rc(r), bad, waiting);

    mtx_lock(&cm);
    ts = in_ms(TIMEOUT_MS);
    start = now_ms();
    r = cnd_timedwait(&cv, &cm, &ts);
    printf("cnd_timedwait %d ms, nobody signals: %s, %s\n", TIMEOUT_MS, rc(r),
           on_time(start, TIMEOUT_MS));
    printf("mutex held again after the timeout: %s\n", rc(mtx_trylock(&cm)));
    bad_ts = in_ms(TIMEOUT_MS);
    bad_ts.tv_nsec = -1;
    printf("cnd_timedwait with tv_nsec -1: %s\n", rc(cnd_timedwait(&cv, &cm, &bad_ts)));
    mtx_unlock(&cm);
    cnd_destroy(&cv);
    cnd_destroy(&ready);
    mtx_destroy(&cm);
}

/* ---- thread-specific storage ---- */

static tss_t key;
static atomic_int dtor_calls, dtor_sum;

static void dtor(void *value)
{
    atomic_fetch_add(&dtor_calls, 1);
    atomic_fetch_add(&dtor_sum, (int)(intptr_t)value);
}

static int tss_user(void *arg)
{
    int i = (int)(intptr_t)arg, ok = tss_get(key) == NULL;

    if (i == 0)
        return ok;                  /* never sets a value: no destructor call */
    ok &= tss_set(key, (void *)(intptr_t)(100 + i)) == thrd_success;
    sleep_ms(10);                   /* the others set theirs meanwhile */
    thrd_yield();
    ok &= tss_get(key) == (void *)(intptr_t)(100 + i);
    if (i == 3)
        thrd_exit(ok);
    return ok;
}

static void check_tss(void)
{
    thrd_t t[4];
    tss_t k2;
    int i, r, ok = 1;

    printf("tss_create: %s\n", rc(tss_create(&key, dtor)));
    printf("tss_get before tss_set: %s\n", tss_get(key) ? "a value" : "NULL");
    printf("tss_set in main: %s\n", rc(tss_set(key, (void *)(intptr_t)7)));
    for (i = 0; i < 4; i++)
        xcreate(&t[i], tss_user, (void *)(intptr_t)i);
    for (i = 0; i < 4; i++)
        ok &= xjoin(t[i]);
    printf("4 threads: NULL at first, each sees its own value across yields: %d\n", ok);
    printf("main still sees its value: %d\n", tss_get(key) == (void *)(intptr_t)7);
    printf("destructor ran at thread exit: %d calls, values summing to %d\n",
           atomic_load(&dtor_calls), atomic_load(&dtor_sum));
    tss_set(key, NULL);
    tss_delete(key);
    printf("tss_create without a destructor: %s\n", rc(tss_create(&k2, NULL)));
    r = tss_set(k2, &ok);
    printf("tss_set/tss_get on it: %s, %d\n", rc(r), tss_get(k2) == &ok);
    tss_delete(k2);
    printf("tss_set on a deleted key: %s\n", rc(tss_set(k2, &ok)));
}

/* ---- call_once ---- */

static once_flag once = ONCE_FLAG_INIT;
static atomic_int once_calls, once_finished;

static void once_fn(void)
{
    atomic_fetch_add(&once_calls, 1);
    sleep_ms(20);                   /* the other callers arrive meanwhile */
    atomic_store(&once_finished, 1);
}

static int once_caller(void *arg)
{
    (void)arg;
    call_once(&once, once_fn);
    return atomic_load(&once_finished);
}

static void check_once(void)
{
    thrd_t t[NT];
    int i, after = 0;

    for (i = 0; i < NT; i++)
        xcreate(&t[i], once_caller, NULL);
    for (i = 0; i < NT; i++)
        after += xjoin(t[i]);
    call_once(&once, once_fn);
    printf("call_once from %d threads and main: ran %d time(s), %d threads returned after it finished\n",
           NT, atomic_load(&once_calls), after);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    alarm(10);
    check_threads();
    check_sleep();
    check_plain();
    check_recursive();
    check_timed();
    check_cond();
    check_tss();
    check_once();
    printf("done\n");
    return 0;
}
