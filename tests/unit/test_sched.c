/* test_sched.c - green threads and their scheduler (runtime/sched.c, park.c,
 * thread.c).
 *
 * Covers: the adopted OS thread is green thread 1; rt_start() refuses a second
 * start; spawn + join returns the result; ids increase; spawned threads first
 * run in spawn order and a yielding thread goes to the back of the run queue,
 * so yields interleave exactly and repeatably; detach releases the stack (seen
 * through stack reuse), also for a thread detached after it finished, and
 * 10,000 detached threads come and go; join errors (self, detached, twice, a
 * second joiner) and detach errors; gt_exit() from a nested call; errno is
 * per green thread; park/unpark, and unpark of a thread that is not parked is
 * a no-op, and gt_unpark/gt_parked report the state; 100,000 spawn/join
 * cycles reuse one stack, and reuse does not depend on what the caller's
 * stack held; stack and guard sizes from the attributes, the configured
 * default and RLIMIT_STACK; a caller-provided stack is used and never cached;
 * stack sizes that cannot be mapped (up to SIZE_MAX) fail cleanly; rt_mode is
 * green in every green thread, also after the hub ran; gt_self_user() is the
 * running thread's user block after yields, parks and joins.
 *
 * Green threads never call cr_assert (it longjmps to the test's own stack):
 * they record what they saw and the main thread asserts.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "rt_int.h"

#define KiB ((size_t)1024)

static void start(void)
{
    struct rt_config cfg = { 0 };

    cr_assert_eq(rt_start(&cfg), 0);
}

static struct rt_stats stats(void)
{
    struct rt_stats st;

    rt_get_stats(&st);
    return st;
}

static void *ret_arg(void *arg)
{
    return arg;
}

/* ---- the main thread ---- */

Test(sched, main_thread_is_green_thread_1, .init = start)
{
    gt_t *self = gt_self();

    cr_assert_not_null(self);
    cr_assert_eq(gt_id(self), 1);
    cr_assert_eq(rt_mode, RT_MODE_GREEN);
    cr_assert_eq(stats().live, 1);
}

Test(sched, second_start_is_refused, .init = start)
{
    struct rt_config cfg = { 0 };
    gt_t *self = gt_self();

    cr_assert_eq(rt_start(&cfg), EBUSY);
    cr_assert_eq(gt_self(), self, "a refused start replaced the scheduler");
}

Test(sched, unmanaged_thread_is_off_before_start)
{
    cr_assert_eq(rt_mode, RT_MODE_OFF);
    cr_assert_null(rt_sched);
}

/* ---- spawn and join ---- */

Test(sched, join_returns_thread_result, .init = start)
{
    gt_t *g;
    void *res = NULL;
    int x;

    cr_assert_eq(gt_spawn(&g, NULL, ret_arg, &x), 0);
    cr_assert_eq(gt_join(g, &res), 0);
    cr_assert_eq(res, &x);
}

static int mode_seen = -1;
static void *read_mode(void *arg)
{
    (void)arg;
    mode_seen = rt_mode;
    return NULL;
}

static gt_t *seen_self;
static void *record_self(void *arg)
{
    (void)arg;
    seen_self = gt_self();
    return NULL;
}

Test(sched, ids_increase_and_self_is_the_spawned_thread, .init = start)
{
    gt_t *a, *b;

    cr_assert_eq(gt_spawn(&a, NULL, record_self, NULL), 0);
    cr_assert_eq(gt_spawn(&b, NULL, ret_arg, NULL), 0);
    cr_assert_eq(gt_id(a), 2);
    cr_assert_eq(gt_id(b), 3);
    cr_assert_eq(gt_join(a, NULL), 0);
    cr_assert_eq(seen_self, a);
    cr_assert_eq(gt_join(b, NULL), 0);
}

Test(sched, spawn_refuses_stack_below_minimum, .init = start)
{
    struct gt_attr attr = { .stack_size = 4096 };
    gt_t *g = NULL;

    cr_assert_eq(gt_spawn(&g, &attr, ret_arg, NULL), EINVAL);
    cr_assert_eq(stats().spawned, 0);
}

Test(sched, spawn_with_unmappable_stack_size_fails, .init = start)
{
    struct gt_attr attr = { .stack_size = (size_t)1 << 40 };
    gt_t *g = NULL;

    cr_assert_eq(gt_spawn(&g, &attr, ret_arg, NULL), EAGAIN);
    cr_assert_eq(stats().live, 1);
}

/* pthread_create answers EAGAIN (or EINVAL) for a stack it cannot map; the
 * page rounding of SIZE_MAX must not wrap to an empty stack and crash. */
Test(sched, spawn_with_size_max_stack_fails, .init = start)
{
    struct gt_attr attr = { .stack_size = SIZE_MAX };
    gt_t *g = NULL;
    int rc = gt_spawn(&g, &attr, ret_arg, NULL);

    cr_assert(rc == EAGAIN || rc == EINVAL || rc == ENOMEM, "gt_spawn gave %d", rc);
    cr_assert_eq(stats().live, 1);
}

Test(sched, green_mode_inside_threads_and_after_hub, .init = start)
{
    gt_t *g;

    cr_assert_eq(gt_spawn(&g, NULL, read_mode, NULL), 0);
    cr_assert_eq(gt_join(g, NULL), 0);
    cr_assert_eq(mode_seen, RT_MODE_GREEN);
    gt_sleep(100000);               /* through the hub, which runs with mode off */
    cr_assert_eq(rt_mode, RT_MODE_GREEN);
}

Test(sched, join_with_null_result_pointer, .init = start)
{
    gt_t *g;

    cr_assert_eq(gt_spawn(&g, NULL, ret_arg, (void *)1), 0);
    cr_assert_eq(gt_join(g, NULL), 0);
    cr_assert_eq(stats().live, 1);
}

/* ---- order ---- */

static char log_buf[64];
static int log_len;

static void log_char(char c)
{
    if (log_len < (int)sizeof(log_buf) - 1)
        log_buf[log_len++] = c;
}

static void *log_arg(void *arg)
{
    log_char((char)(uintptr_t)arg);
    return NULL;
}

Test(sched, threads_first_run_in_spawn_order_on_join, .init = start)
{
    gt_t *g[3];

    for (int i = 0; i < 3; i++)
        cr_assert_eq(gt_spawn(&g[i], NULL, log_arg, (void *)(uintptr_t)("ABC"[i])), 0);
    cr_assert_eq(log_len, 0, "spawn ran the thread at once");
    cr_assert_eq(gt_join(g[0], NULL), 0);
    log_char('M');                  /* main is back only after B and C ran */
    cr_assert_str_eq(log_buf, "ABCM");
    cr_assert_eq(gt_join(g[1], NULL), 0);
    cr_assert_eq(gt_join(g[2], NULL), 0);
}

Test(sched, yield_runs_queued_threads_then_returns, .init = start)
{
    gt_t *g[3];

    for (int i = 0; i < 3; i++)
        cr_assert_eq(gt_spawn(&g[i], NULL, log_arg, (void *)(uintptr_t)("xyz"[i])), 0);
    gt_yield();                     /* to the back of the queue: behind x, y, z */
    log_char('M');
    cr_assert_str_eq(log_buf, "xyzM");
    for (int i = 0; i < 3; i++)
        cr_assert_eq(gt_join(g[i], NULL), 0);
}

Test(sched, yield_alone_returns, .init = start)
{
    uint64_t before = stats().switches;

    for (int i = 0; i < 10; i++)
        gt_yield();
    cr_assert_eq(stats().live, 1);
    /* Nothing else to run: yielding alone must not bounce through the hub. */
    cr_assert_eq(stats().switches, before);
}

struct yielder {
    char c;
    int rounds;
};

static void *log_and_yield(void *arg)
{
    struct yielder *y = arg;

    for (int i = 0; i < y->rounds; i++) {
        log_char(y->c);
        gt_yield();
    }
    return NULL;
}

/* a: 3 rounds, b: 5 rounds; main joins a, logs M, joins b. */
static void interleave_once(void)
{
    struct yielder a = { 'a', 3 }, b = { 'b', 5 };
    gt_t *ga, *gb;

    log_len = 0;
    memset(log_buf, 0, sizeof(log_buf));
    cr_assert_eq(gt_spawn(&ga, NULL, log_and_yield, &a), 0);
    cr_assert_eq(gt_spawn(&gb, NULL, log_and_yield, &b), 0);
    cr_assert_eq(gt_join(ga, NULL), 0);
    log_char('M');
    cr_assert_eq(gt_join(gb, NULL), 0);
}

Test(sched, yields_interleave_exactly_and_repeatably, .init = start)
{
    /* a exits after its 3rd yield and wakes main behind b; b's 4th round runs
     * first, then main, then b's last round while main waits in join. */
    interleave_once();
    cr_assert_str_eq(log_buf, "abababbMb");
    interleave_once();
    cr_assert_str_eq(log_buf, "abababbMb", "second run differs");
}

/* ---- detach ---- */

static int done_count;
static void *count_done(void *arg)
{
    (void)arg;
    done_count++;
    return NULL;
}

Test(sched, detached_thread_stack_is_reused, .init = start)
{
    struct gt_attr attr = { .stack_size = 64 * KiB, .detached = true };
    gt_t *a, *b;

    cr_assert_eq(gt_spawn(&a, &attr, count_done, NULL), 0);
    gt_yield();
    cr_assert_eq(done_count, 1);
    cr_assert_eq(stats().live, 1);
    /* Its stack went back to the cache: the next one of that size gets it. */
    cr_assert_eq(gt_spawn(&b, &attr, count_done, NULL), 0);
    cr_assert_eq(b, a, "detached thread's stack was not released");
    gt_yield();
    cr_assert_eq(done_count, 2);
}

Test(sched, finished_joinable_thread_keeps_stack_until_joined, .init = start)
{
    struct gt_attr attr = { .stack_size = 64 * KiB };
    gt_t *a, *b;
    void *res = NULL;

    cr_assert_eq(gt_spawn(&a, &attr, ret_arg, (void *)0x77), 0);
    gt_yield();
    cr_assert_eq(stats().live, 1, "thread did not finish");
    cr_assert_eq(gt_spawn(&b, &attr, count_done, NULL), 0);
    cr_assert_neq(b, a, "finished joinable thread's stack reused before join");
    cr_assert_eq(gt_join(a, &res), 0);
    cr_assert_eq(res, (void *)0x77);
    cr_assert_eq(gt_join(b, NULL), 0);
}

Test(sched, detach_of_finished_thread_makes_its_stack_available, .init = start)
{
    struct gt_attr attr = { .stack_size = 96 * KiB };
    gt_t *a, *b;

    cr_assert_eq(gt_spawn(&a, &attr, count_done, NULL), 0);
    gt_yield();
    cr_assert_eq(gt_detach(a), 0);
    cr_assert_eq(gt_spawn(&b, &attr, count_done, NULL), 0);
    cr_assert_eq(b, a, "gt_detach of a finished thread did not release its stack");
    cr_assert_eq(gt_join(b, NULL), 0);
}

/* Leaves non-zero garbage where the next call's locals will be. */
static __attribute__((noinline)) void dirty_stack(void)
{
    volatile unsigned char junk[8192];

    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = 0xff;
}

/* gt_spawn's own locals must not decide whether a stack is ever freed. */
Test(sched, joined_stack_reused_whatever_the_callers_stack_held, .init = start)
{
    struct gt_attr attr = { .stack_size = 80 * KiB };
    gt_t *a, *b;

    dirty_stack();
    cr_assert_eq(gt_spawn(&a, &attr, ret_arg, NULL), 0);
    cr_assert_eq(gt_join(a, NULL), 0);
    dirty_stack();
    cr_assert_eq(gt_spawn(&b, &attr, ret_arg, NULL), 0);
    cr_assert_eq(b, a, "a joined thread's stack was not released");
    cr_assert_eq(gt_join(b, NULL), 0);
}

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;

    return x < y ? -1 : x > y;
}

Test(sched, ten_thousand_detached_threads_finish_and_free, .init = start)
{
    enum { N = 10000 };
    struct gt_attr attr = { .stack_size = 32 * KiB, .detached = true };
    static uintptr_t addr[N];
    gt_t *g;

    for (int i = 0; i < N; i++) {
        cr_assert_eq(gt_spawn(&g, &attr, count_done, NULL), 0);
        addr[i] = (uintptr_t)g;
    }
    cr_assert_eq(stats().live, N + 1);
    for (int i = 0; i < 100 && done_count < N; i++)
        gt_yield();
    cr_assert_eq(done_count, N);
    cr_assert_eq(stats().live, 1);
    /* Every stack went back: a new batch comes entirely from the old one. */
    qsort(addr, N, sizeof(addr[0]), cmp_ptr);
    for (int i = 0; i < N; i++) {
        uintptr_t a;

        cr_assert_eq(gt_spawn(&g, &attr, count_done, NULL), 0);
        a = (uintptr_t)g;
        cr_assert_not_null(bsearch(&a, addr, N, sizeof(addr[0]), cmp_ptr),
                           "spawn %d after the batch got a fresh stack", i);
    }
    for (int i = 0; i < 100 && done_count < 2 * N; i++)
        gt_yield();
    cr_assert_eq(done_count, 2 * N);
}

/* ---- join and detach errors ---- */

Test(sched, join_self_is_edeadlk, .init = start)
{
    cr_assert_eq(gt_join(gt_self(), NULL), EDEADLK);
}

static int join_self_rc = -1;
static void *join_self(void *arg)
{
    (void)arg;
    join_self_rc = gt_join(gt_self(), NULL);
    return NULL;
}

Test(sched, spawned_thread_join_self_is_edeadlk, .init = start)
{
    gt_t *g;

    cr_assert_eq(gt_spawn(&g, NULL, join_self, NULL), 0);
    cr_assert_eq(gt_join(g, NULL), 0);
    cr_assert_eq(join_self_rc, EDEADLK);
}

Test(sched, join_detached_is_einval, .init = start)
{
    struct gt_attr attr = { .detached = true };
    gt_t *g;

    cr_assert_eq(gt_spawn(&g, &attr, count_done, NULL), 0);
    cr_assert_eq(gt_join(g, NULL), EINVAL);     /* before it has run */
    gt_yield();
    cr_assert_eq(done_count, 1);
}

Test(sched, join_after_detach_is_einval, .init = start)
{
    gt_t *g;

    cr_assert_eq(gt_spawn(&g, NULL, count_done, NULL), 0);
    cr_assert_eq(gt_detach(g), 0);
    cr_assert_eq(gt_join(g, NULL), EINVAL);
    cr_assert_eq(gt_detach(g), EINVAL, "second detach accepted");
    gt_yield();
    cr_assert_eq(done_count, 1);
}

Test(sched, double_join_is_einval, .init = start)
{
    gt_t *g;

    cr_assert_eq(gt_spawn(&g, NULL, ret_arg, NULL), 0);
    cr_assert_eq(gt_join(g, NULL), 0);
    cr_assert_eq(gt_join(g, NULL), EINVAL);
    cr_assert_eq(gt_detach(g), EINVAL, "detach after join accepted");
}

static gt_t *target;
static int second_join_rc = -1;

static void *park_until_unparked(void *arg)
{
    (void)arg;
    gt_park("test", NULL);
    return (void *)7;
}

static void *join_target(void *arg)
{
    void *res = NULL;

    (void)arg;
    second_join_rc = gt_join(target, &res);
    return res;
}

Test(sched, second_joiner_is_einval, .init = start)
{
    gt_t *j;
    void *res = NULL;

    cr_assert_eq(gt_spawn(&target, NULL, park_until_unparked, NULL), 0);
    cr_assert_eq(gt_spawn(&j, NULL, join_target, NULL), 0);
    gt_yield();                     /* target parks, j waits in join */
    cr_assert_eq(gt_join(target, NULL), EINVAL);
    gt_unpark(target);
    cr_assert_eq(gt_join(j, &res), 0);
    cr_assert_eq(second_join_rc, 0);
    cr_assert_eq(res, (void *)7);
}

/* ---- gt_exit ---- */

static int after_exit;

static __attribute__((noinline)) void exit_inner(void *res)
{
    gt_exit(res);
}

static __attribute__((noinline)) void exit_middle(void *res)
{
    exit_inner(res);
    after_exit++;
}

static __attribute__((noinline)) void exit_outer(void *res)
{
    exit_middle(res);
    after_exit++;
}

static void *exit_from_nested(void *arg)
{
    (void)arg;
    exit_outer((void *)0x5eed);
    after_exit++;
    return (void *)1;
}

Test(sched, gt_exit_from_nested_call_gives_result_to_joiner, .init = start)
{
    gt_t *g;
    void *res = NULL;

    cr_assert_eq(gt_spawn(&g, NULL, exit_from_nested, NULL), 0);
    cr_assert_eq(gt_join(g, &res), 0);
    cr_assert_eq(res, (void *)0x5eed);
    cr_assert_eq(after_exit, 0, "code after gt_exit ran");
    cr_assert_eq(stats().live, 1);
}

/* ---- errno ---- */

static int errno_seen[2];

static void *errno_keeper(void *arg)
{
    int mine = (int)(uintptr_t)arg;

    errno = mine;
    gt_yield();
    gt_yield();
    errno_seen[mine == EINTR ? 0 : 1] = errno;
    return NULL;
}

Test(sched, errno_is_per_green_thread, .init = start)
{
    gt_t *a, *b;

    cr_assert_eq(gt_spawn(&a, NULL, errno_keeper, (void *)(uintptr_t)EINTR), 0);
    cr_assert_eq(gt_spawn(&b, NULL, errno_keeper, (void *)(uintptr_t)ENOENT), 0);
    errno = EPIPE;
    gt_yield();
    cr_assert_eq(errno, EPIPE, "main's errno lost across a yield");
    cr_assert_eq(gt_join(a, NULL), 0);
    cr_assert_eq(gt_join(b, NULL), 0);
    cr_assert_eq(errno_seen[0], EINTR);
    cr_assert_eq(errno_seen[1], ENOENT);
}

static int first_errno = -1;
static void *read_errno(void *arg)
{
    (void)arg;
    first_errno = errno;
    return NULL;
}

Test(sched, new_thread_starts_with_errno_zero, .init = start)
{
    gt_t *g;

    cr_assert_eq(gt_spawn(&g, NULL, read_errno, NULL), 0);
    errno = EIO;
    cr_assert_eq(gt_join(g, NULL), 0);
    cr_assert_eq(first_errno, 0);
}

/* gt_self_user() is the running thread's gt_user() after every kind of
 * switch: a first run, a yield, a park the hub ends. */
static int user_mismatches;
static void *check_self_user(void *arg)
{
    for (int i = 0; i < 5; i++) {
        user_mismatches += gt_self_user() != gt_user(gt_self());
        if (i == 2)
            gt_sleep(1000000);     /* 1 ms: the hub wakes it */
        else
            gt_yield();
    }
    return arg;
}

Test(sched, self_user_follows_every_switch, .init = start)
{
    gt_t *g[3];

    cr_assert_eq(gt_self_user(), gt_user(gt_self()));
    for (int i = 0; i < 3; i++)
        cr_assert_eq(gt_spawn(&g[i], NULL, check_self_user, NULL), 0);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(gt_join(g[i], NULL), 0);
    cr_assert_eq(user_mismatches, 0);
    cr_assert_eq(gt_self_user(), gt_user(gt_self()), "wrong after the joins");
}

/* ---- park and unpark ---- */

static int park_stage;
static void *park_once(void *arg)
{
    (void)arg;
    park_stage = 1;
    gt_park("test", &park_stage);
    park_stage = 2;
    return NULL;
}

Test(sched, unpark_resumes_parked_thread, .init = start)
{
    gt_t *g;

    cr_assert_eq(gt_spawn(&g, NULL, park_once, NULL), 0);
    gt_yield();
    cr_assert_eq(park_stage, 1);
    gt_yield();
    gt_yield();
    cr_assert_eq(park_stage, 1, "parked thread ran without unpark");
    gt_unpark(g);
    gt_yield();
    cr_assert_eq(park_stage, 2);
    cr_assert_eq(gt_join(g, NULL), 0);
}

Test(sched, unpark_and_parked_report_thread_state, .init = start)
{
    gt_t *g;

    cr_assert_eq(gt_spawn(&g, NULL, park_once, NULL), 0);
    cr_assert_not(gt_parked(g), "runnable thread reported parked");
    cr_assert_not(gt_unpark(g), "unpark of a runnable thread reported a wake");
    gt_yield();
    cr_assert(gt_parked(g));
    cr_assert_not(gt_parked(gt_self()));
    cr_assert_not(gt_unpark(gt_self()));
    cr_assert(gt_unpark(g), "unpark of a parked thread reported no wake");
    cr_assert_not(gt_parked(g));
    cr_assert_not(gt_unpark(g), "second unpark reported a wake");
    cr_assert_eq(gt_join(g, NULL), 0);
    cr_assert_eq(park_stage, 2);
}

Test(sched, unpark_of_runnable_thread_is_noop, .init = start)
{
    gt_t *g;

    cr_assert_eq(gt_spawn(&g, NULL, count_done, NULL), 0);
    gt_unpark(g);                   /* runnable, not parked */
    gt_unpark(g);
    gt_yield();
    cr_assert_eq(done_count, 1);
    gt_yield();                     /* a duplicate queue entry would run it again */
    cr_assert_eq(done_count, 1);
    cr_assert_eq(gt_join(g, NULL), 0);
}

static int self_unparks;
static void *unpark_self_then_yield(void *arg)
{
    (void)arg;
    gt_unpark(gt_self());           /* running: no-op */
    self_unparks++;
    gt_yield();
    self_unparks++;
    return NULL;
}

Test(sched, unpark_of_running_thread_is_noop, .init = start)
{
    gt_t *g;
    uint64_t spawned;

    gt_unpark(gt_self());
    cr_assert_eq(gt_spawn(&g, NULL, unpark_self_then_yield, NULL), 0);
    cr_assert_eq(gt_join(g, NULL), 0);
    cr_assert_eq(self_unparks, 2);
    spawned = stats().spawned;
    /* The scheduler still works normally afterwards. */
    cr_assert_eq(gt_spawn(&g, NULL, count_done, NULL), 0);
    cr_assert_eq(gt_join(g, NULL), 0);
    cr_assert_eq(done_count, 1);
    cr_assert_eq(stats().spawned, spawned + 1);
    cr_assert_eq(stats().live, 1);
}

/* ---- stack reuse and sizes ---- */

Test(sched, hundred_thousand_spawn_join_cycles_reuse_one_stack, .init = start)
{
    gt_t *g, *first = NULL;
    int other = 0;

    for (int i = 0; i < 100000; i++) {
        cr_assert_eq(gt_spawn(&g, NULL, ret_arg, (void *)(uintptr_t)i), 0);
        if (!first)
            first = g;
        else if (g != first)
            other++;
        void *res = NULL;
        cr_assert_eq(gt_join(g, &res), 0);
        if (res != (void *)(uintptr_t)i)
            cr_assert_fail("cycle %d returned %p", i, res);
    }
    cr_assert_eq(other, 0, "%d spawns did not reuse the stack", other);
    cr_assert_eq(stats().spawned, 100000);
    cr_assert_eq(stats().live, 1);
    cr_assert_eq(stats().peak_live, 2);
}

/* Touches `kib` KiB of locals, 1 KiB per frame, top down. */
static __attribute__((noinline)) unsigned use_stack(int kib)
{
    volatile char frame[1000];
    unsigned sum;

    for (size_t i = 0; i < sizeof(frame); i++)
        frame[i] = (char)kib;
    sum = kib > 0 ? use_stack(kib - 1) : 0;
    return sum + (unsigned char)frame[kib % sizeof(frame)];
}

static void *use_stack_thread(void *arg)
{
    return (void *)(uintptr_t)use_stack((int)(uintptr_t)arg);
}

static unsigned expected_sum(int kib)
{
    unsigned s = 0;

    for (int k = 0; k <= kib; k++)
        s += (unsigned char)k;
    return s;
}

Test(sched, attr_stack_size_64k_holds_48k_of_locals, .init = start)
{
    struct gt_attr attr = { .stack_size = 64 * KiB };
    gt_t *g;
    void *res = NULL;

    cr_assert_eq(gt_spawn(&g, &attr, use_stack_thread, (void *)48), 0);
    cr_assert_eq(g->stack.size - g->stack.guard, 64 * KiB);
    cr_assert_eq(gt_join(g, &res), 0);
    cr_assert_eq((unsigned)(uintptr_t)res, expected_sum(48));
}

Test(sched, overflowing_64k_stack_hits_guard, .init = start, .signal = SIGSEGV)
{
    struct gt_attr attr = { .stack_size = 64 * KiB };
    gt_t *g;

    cr_assert_eq(gt_spawn(&g, &attr, use_stack_thread, (void *)100), 0);
    gt_join(g, NULL);
}

Test(sched, attr_guard_size_honoured, .init = start)
{
    struct gt_attr attr = { .stack_size = 64 * KiB, .guard_size = 3 * rt_page_size() + 1 };
    gt_t *g;

    cr_assert_eq(gt_spawn(&g, &attr, ret_arg, NULL), 0);
    cr_assert_eq(g->stack.guard, 4 * rt_page_size());
    cr_assert_eq(gt_join(g, NULL), 0);
}

Test(sched, borrowed_stack_is_used_and_never_cached, .init = start)
{
    static _Alignas(4096) char buf[64 * 1024];
    struct gt_attr attr = { .stack_size = sizeof(buf), .stack = buf };
    struct gt_attr own = { .stack_size = sizeof(buf) };
    gt_t *g;
    void *res = NULL;

    cr_assert_eq(gt_spawn(&g, &attr, use_stack_thread, (void *)32), 0);
    cr_assert((char *)g >= buf && (char *)g < buf + sizeof(buf), "thread not on the given stack");
    cr_assert_eq(gt_join(g, &res), 0);
    cr_assert_eq((unsigned)(uintptr_t)res, expected_sum(32));
    /* The program's memory must not come back as a runtime stack. */
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(gt_spawn(&g, &own, ret_arg, NULL), 0);
        cr_assert((char *)g < buf || (char *)g >= buf + sizeof(buf),
                  "borrowed stack handed out again");
        cr_assert_eq(gt_join(g, NULL), 0);
    }
}

Test(sched, configured_default_stack_size_used)
{
    struct rt_config cfg = { .default_stack_size = 256 * KiB };
    gt_t *g;

    cr_assert_eq(rt_start(&cfg), 0);
    cr_assert_eq(gt_spawn(&g, NULL, ret_arg, NULL), 0);
    cr_assert_eq(g->stack.size - g->stack.guard, 256 * KiB);
    cr_assert_eq(g->stack.guard, rt_page_size());
    cr_assert_eq(gt_join(g, NULL), 0);
}

Test(sched, default_stack_size_from_rlimit_stack)
{
    struct rt_config cfg = { 0 };
    struct rlimit rl;
    gt_t *g;

    cr_assert_eq(getrlimit(RLIMIT_STACK, &rl), 0);
    rl.rlim_cur = 3 * 1024 * KiB;   /* not the 8 MiB fallback */
    cr_assert_eq(setrlimit(RLIMIT_STACK, &rl), 0);
    cr_assert_eq(rt_start(&cfg), 0);
    cr_assert_eq(gt_spawn(&g, NULL, ret_arg, NULL), 0);
    cr_assert_eq(g->stack.size - g->stack.guard, 3 * 1024 * KiB);
    cr_assert_eq(gt_join(g, NULL), 0);
}

/* glibc's default thread stack when RLIMIT_STACK is unlimited. */
Test(sched, unlimited_rlimit_stack_gives_2_mib)
{
    struct rt_config cfg = { 0 };
    struct rlimit rl;
    gt_t *g;

    cr_assert_eq(getrlimit(RLIMIT_STACK, &rl), 0);
    if (rl.rlim_max != RLIM_INFINITY)
        cr_skip_test("hard RLIMIT_STACK is finite");
    rl.rlim_cur = RLIM_INFINITY;
    cr_assert_eq(setrlimit(RLIMIT_STACK, &rl), 0);
    cr_assert_eq(rt_start(&cfg), 0);
    cr_assert_eq(gt_spawn(&g, NULL, ret_arg, NULL), 0);
    cr_assert_eq(g->stack.size - g->stack.guard, 2 * 1024 * KiB);
    cr_assert_eq(gt_join(g, NULL), 0);
}
