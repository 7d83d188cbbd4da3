/* test_timer.c - deadlines, sleeps and timed parks (runtime/timer.c, sched.c).
 *
 * Covers: gt_sleep(100 us) takes at least 100 us and, through the sub-ms
 * ppoll path, well under the 1 ms libuv's timers would round it to (median of
 * 20); gt_sleep(5 ms) takes 5 ms plus little; sleepers wake in deadline order;
 * a timed park times out with ETIMEDOUT after its deadline, returns 0 when
 * unparked first and leaves no timer behind, and returns ETIMEDOUT at once for
 * a past deadline; an early unpark does not cut a sleep short; the deadline
 * heap keeps order when many waiters are removed from its middle; a sleeping
 * thread does not hold up threads that can run, nor do threads that only
 * yield hold up a sleeper's wake-up; gt_sleep(0) yields; huge sleeps (up to
 * UINT64_MAX ns) do not wrap around into "already over".
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "rt_int.h"

#define US 1000ull
#define MS 1000000ull

static void start(void)
{
    struct rt_config cfg = { 0 };

    cr_assert_eq(rt_start(&cfg), 0);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* ---- sleep durations ---- */

Test(timer, sleep_100us_is_sub_millisecond, .init = start)
{
    uint64_t took[20], t0;

    for (int i = 0; i < 20; i++) {
        t0 = rt_now();
        gt_sleep(100 * US);
        took[i] = rt_now() - t0;
        cr_assert_geq(took[i], 100 * US, "sleep %d took %llu ns", i, (unsigned long long)took[i]);
    }
    qsort(took, 20, sizeof(took[0]), cmp_u64);
    cr_assert_lt(took[10], 600 * US, "median 100 us sleep took %llu ns",
                 (unsigned long long)took[10]);
}

Test(timer, sleep_5ms_takes_5ms_plus_little, .init = start)
{
    uint64_t took[5], t0;

    for (int i = 0; i < 5; i++) {
        t0 = rt_now();
        gt_sleep(5 * MS);
        took[i] = rt_now() - t0;
        cr_assert_geq(took[i], 5 * MS, "sleep %d took %llu ns", i, (unsigned long long)took[i]);
    }
    qsort(took, 5, sizeof(took[0]), cmp_u64);
    cr_assert_lt(took[2], 9 * MS, "median 5 ms sleep took %llu ns", (unsigned long long)took[2]);
}

Test(timer, sleep_2500us_is_not_rounded_to_whole_ms, .init = start)
{
    uint64_t took[5], t0;

    for (int i = 0; i < 5; i++) {
        t0 = rt_now();
        gt_sleep(2500 * US);
        took[i] = rt_now() - t0;
        cr_assert_geq(took[i], 2500 * US);
    }
    qsort(took, 5, sizeof(took[0]), cmp_u64);
    cr_assert_lt(took[2], 3400 * US, "median 2.5 ms sleep took %llu ns",
                 (unsigned long long)took[2]);
}

static int ran_during_sleep0;
static void *mark_ran(void *arg)
{
    (void)arg;
    ran_during_sleep0 = 1;
    return NULL;
}

Test(timer, sleep_zero_yields, .init = start)
{
    gt_t *g;
    uint64_t t0, best = UINT64_MAX;

    cr_assert_eq(gt_spawn(&g, NULL, mark_ran, NULL), 0);
    gt_sleep(0);
    cr_assert_eq(ran_during_sleep0, 1, "spawned thread did not run during gt_sleep(0)");
    cr_assert_eq(rt_sched->heap_len, 0);
    cr_assert_eq(gt_join(g, NULL), 0);
    for (int i = 0; i < 5; i++) {   /* no timer involved: well under 1 ms */
        t0 = rt_now();
        gt_sleep(0);
        if (rt_now() - t0 < best)
            best = rt_now() - t0;
    }
    cr_assert_lt(best, 1 * MS);
}

/* ---- sleeps without end ---- */

static int long_sleep_over;
static void *sleep_ns(void *arg)
{
    gt_sleep(*(uint64_t *)arg);
    long_sleep_over = 1;
    return NULL;
}

/* rt_now() + ns must not wrap: UINT64_MAX ns is ~584 years, not "now". The
 * shim's nanosleep({LONG_MAX, 0}), a common "sleep forever", lands here. */
Test(timer, sleep_uint64_max_does_not_return, .init = start)
{
    static uint64_t ns = UINT64_MAX;
    gt_t *g;

    cr_assert_eq(gt_spawn(&g, NULL, sleep_ns, &ns), 0);
    gt_sleep(3 * MS);
    cr_assert_eq(long_sleep_over, 0, "gt_sleep(UINT64_MAX) returned within 3 ms");
}

Test(timer, sleep_for_a_century_does_not_return, .init = start)
{
    static uint64_t ns = 100ull * 365 * 24 * 3600 * 1000000000ull;
    gt_t *g;

    cr_assert_eq(gt_spawn(&g, NULL, sleep_ns, &ns), 0);
    gt_sleep(3 * MS);
    cr_assert_eq(long_sleep_over, 0, "a century's sleep returned within 3 ms");
}

/* ---- wake order ---- */

static uint64_t woke[8];
static int nwoke;

static void *sleep_then_record(void *arg)
{
    uint64_t ns = (uint64_t)(uintptr_t)arg;

    gt_sleep(ns);
    woke[nwoke++] = ns;
    return NULL;
}

Test(timer, sleepers_wake_in_deadline_order, .init = start)
{
    static const uint64_t ns[] = { 4 * MS, 1 * MS, 3 * MS, 200 * US, 2 * MS };
    const uint64_t sorted[] = { 200 * US, 1 * MS, 2 * MS, 3 * MS, 4 * MS };
    gt_t *g[5];

    for (int i = 0; i < 5; i++)
        cr_assert_eq(gt_spawn(&g[i], NULL, sleep_then_record, (void *)(uintptr_t)ns[i]), 0);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(gt_join(g[i], NULL), 0);
    cr_assert_eq(nwoke, 5);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(woke[i], sorted[i], "wake %d was the %llu ns sleeper", i,
                     (unsigned long long)woke[i]);
}

/* ---- timed park ---- */

Test(timer, park_until_times_out_after_deadline, .init = start)
{
    uint64_t t0 = rt_now(), deadline = t0 + 2 * MS;
    int rc = gt_park_until(deadline, "test", NULL);

    cr_assert_eq(rc, ETIMEDOUT);
    cr_assert_geq(rt_now(), deadline);
    cr_assert_lt(rt_now() - t0, 50 * MS);
    cr_assert_eq(rt_sched->heap_len, 0);
}

Test(timer, park_until_past_deadline_returns_at_once, .init = start)
{
    struct rt_stats before, after;
    uint64_t now = rt_now();

    rt_get_stats(&before);
    cr_assert_eq(gt_park_until(now - 1, "test", NULL), ETIMEDOUT);
    cr_assert_eq(gt_park_until(now, "test", NULL), ETIMEDOUT);
    rt_get_stats(&after);
    cr_assert_eq(after.switches, before.switches, "a past deadline switched away");
    cr_assert_eq(rt_sched->heap_len, 0);
}

static int park_rc = -1;
static uint64_t park_took;

static void *park_one_second(void *arg)
{
    uint64_t t0 = rt_now();

    (void)arg;
    park_rc = gt_park_until(t0 + 1000 * MS, "test", NULL);
    park_took = rt_now() - t0;
    return NULL;
}

Test(timer, unparked_before_deadline_returns_0_and_leaves_no_timer, .init = start)
{
    gt_t *g;
    uint64_t t0;

    cr_assert_eq(gt_spawn(&g, NULL, park_one_second, NULL), 0);
    gt_yield();
    cr_assert_eq(rt_sched->heap_len, 1, "the timed park is not in the heap");
    gt_sleep(1 * MS);               /* let the hub arm its timer for 1 s */
    gt_unpark(g);
    cr_assert_eq(rt_sched->heap_len, 0, "unpark left the deadline in the heap");
    cr_assert_eq(gt_join(g, NULL), 0);
    cr_assert_eq(park_rc, 0);
    cr_assert_lt(park_took, 100 * MS);
    /* A later sleep neither wakes early nor waits for the stale second. */
    t0 = rt_now();
    gt_sleep(3 * MS);
    cr_assert_geq(rt_now() - t0, 3 * MS);
    cr_assert_lt(rt_now() - t0, 100 * MS);
    cr_assert_eq(rt_sched->heap_len, 0);
}

static uint64_t sleep_took;
static void *sleep_5ms(void *arg)
{
    uint64_t t0 = rt_now();

    (void)arg;
    gt_sleep(5 * MS);
    sleep_took = rt_now() - t0;
    return NULL;
}

Test(timer, unpark_does_not_cut_sleep_short, .init = start)
{
    gt_t *g;

    cr_assert_eq(gt_spawn(&g, NULL, sleep_5ms, NULL), 0);
    gt_yield();
    gt_unpark(g);
    gt_yield();
    gt_unpark(g);
    cr_assert_eq(gt_join(g, NULL), 0);
    cr_assert_geq(sleep_took, 5 * MS, "sleep ended after %llu ns", (unsigned long long)sleep_took);
}

/* Many timed parks with scattered deadlines; every third is unparked early,
 * which removes it from the middle of the heap. */
enum { HEAP_N = 60 };
static uint64_t heap_deadline[HEAP_N];
static int heap_rc[HEAP_N];
static int heap_order[HEAP_N], heap_nwoke;

static void *timed_park(void *arg)
{
    int i = (int)(uintptr_t)arg;

    heap_rc[i] = gt_park_until(heap_deadline[i], "heap test", NULL);
    heap_order[heap_nwoke++] = i;
    return NULL;
}

Test(timer, heap_keeps_deadline_order_with_removals, .init = start)
{
    gt_t *g[HEAP_N];
    uint64_t base = rt_now() + 5 * MS;

    srand(1234);
    for (int i = 0; i < HEAP_N; i++) {
        heap_deadline[i] = base + (uint64_t)(rand() % 10000) * US;  /* within 10 ms */
        cr_assert_eq(gt_spawn(&g[i], NULL, timed_park, (void *)(uintptr_t)i), 0);
    }
    gt_yield();
    cr_assert_eq(rt_sched->heap_len, HEAP_N);
    for (int i = 0; i < HEAP_N; i += 3)
        gt_unpark(g[i]);
    cr_assert_eq(rt_sched->heap_len, HEAP_N - HEAP_N / 3);
    for (int i = 0; i < HEAP_N; i++)
        cr_assert_eq(gt_join(g[i], NULL), 0);
    cr_assert_eq(heap_nwoke, HEAP_N);
    /* The unparked ones ran first (in unpark order), then the rest by deadline. */
    for (int k = 0; k < HEAP_N / 3; k++)
        cr_assert_eq(heap_order[k], 3 * k);
    for (int k = HEAP_N / 3; k < HEAP_N; k++) {
        int i = heap_order[k];

        cr_assert_neq(i % 3, 0);
        cr_assert_eq(heap_rc[i], ETIMEDOUT);
        if (k > HEAP_N / 3)
            cr_assert_leq(heap_deadline[heap_order[k - 1]], heap_deadline[i],
                          "woke out of deadline order at %d", k);
    }
    for (int i = 0; i < HEAP_N; i += 3)
        cr_assert_eq(heap_rc[i], 0);
    cr_assert_eq(rt_sched->heap_len, 0);
}

/* ---- sleeping does not block others ---- */

static uint64_t a_woke, b_done;
static int b_yields;

static void *sleep_50ms(void *arg)
{
    (void)arg;
    gt_sleep(50 * MS);
    a_woke = rt_now();
    return NULL;
}

static void *yield_1000(void *arg)
{
    (void)arg;
    for (int i = 0; i < 1000; i++) {
        b_yields++;
        gt_yield();
    }
    b_done = rt_now();
    return NULL;
}

Test(timer, sleeper_does_not_block_runnable_threads, .init = start)
{
    gt_t *a, *b;
    uint64_t t0 = rt_now();

    cr_assert_eq(gt_spawn(&a, NULL, sleep_50ms, NULL), 0);
    cr_assert_eq(gt_spawn(&b, NULL, yield_1000, NULL), 0);
    cr_assert_eq(gt_join(b, NULL), 0);
    cr_assert_eq(b_yields, 1000);
    cr_assert_eq(a_woke, 0, "the sleeper woke before the yielder finished");
    cr_assert_lt(b_done - t0, 40 * MS, "1000 yields took %llu ns", (unsigned long long)(b_done - t0));
    cr_assert_eq(gt_join(a, NULL), 0);
    cr_assert_geq(a_woke - t0, 50 * MS);
}

/* ---- yielding threads do not hold up a sleeper ---- */

static bool sleeper_done;
static uint64_t sleeper_took;

static void *sleep_2ms_then_flag(void *arg)
{
    uint64_t t0 = rt_now();

    (void)arg;
    gt_sleep(2 * MS);
    sleeper_took = rt_now() - t0;
    sleeper_done = true;
    return NULL;
}

static int spins;
static void *yield_until_sleeper_done(void *arg)
{
    (void)arg;
    while (!sleeper_done && spins < 10000000) {
        spins++;
        gt_yield();
    }
    return NULL;
}

Test(timer, busy_yielders_do_not_delay_sleeper, .init = start)
{
    gt_t *s, *y1, *y2;

    cr_assert_eq(gt_spawn(&s, NULL, sleep_2ms_then_flag, NULL), 0);
    cr_assert_eq(gt_spawn(&y1, NULL, yield_until_sleeper_done, NULL), 0);
    cr_assert_eq(gt_spawn(&y2, NULL, yield_until_sleeper_done, NULL), 0);
    cr_assert_eq(gt_join(y1, NULL), 0);
    cr_assert_eq(gt_join(y2, NULL), 0);
    cr_assert(sleeper_done, "sleeper never woke while others yielded (%d yields)", spins);
    cr_assert_geq(sleeper_took, 2 * MS);
    cr_assert_lt(sleeper_took, 20 * MS, "sleeper woke after %llu ns", (unsigned long long)sleeper_took);
    cr_assert_eq(gt_join(s, NULL), 0);
}
