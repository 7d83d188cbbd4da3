/* test_loopwait.c - the hub's wait for a deadline 1 ms or more away
 * (rt_loop_wait in runtime/timer.c), when the hub is held up for a moment
 * between arming its uv timer and running the loop.
 *
 * That moment is an ordinary event: the OS preempting the thread, or simply a
 * millisecond boundary passing when the timer was armed for 1 ms. libuv 1.44's
 * uv_run(UV_RUN_ONCE) runs due timers *before* it computes the poll timeout,
 * so the timer can fire there and the poll then blocks with no timeout at all
 * as long as any other handle (an fd watcher) is active. The deadline must
 * still be honoured.
 *
 * The delay is injected by wrapping uv_timer_start() (the runtime objects are
 * linked into this executable, so its definition wins): after arming the
 * runtime's timer, it spins until the timer is due.
 *
 * Covers: a sleep and a timed fd wait end on time with a watcher armed on an
 * idle pipe; the same sleep with no watcher (control).
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <errno.h>
#include <unistd.h>

#include "rt_int.h"

#define MS 1000000ull

static bool hold_up_hub;
static unsigned held_up;

int uv_timer_start(uv_timer_t *h, uv_timer_cb cb, uint64_t timeout, uint64_t repeat)
{
    static int (*real)(uv_timer_t *, uv_timer_cb, uint64_t, uint64_t);
    uint64_t until;
    int rc;

    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "uv_timer_start");
    rc = real(h, cb, timeout, repeat);
    if (hold_up_hub && rt_sched && h == &rt_sched->timer) {
        held_up++;
        until = rt_now() + timeout * MS + MS / 10;
        while (rt_now() < until)
            ;                       /* preempted, as far as the loop can tell */
    }
    return rc;
}

static void start(void)
{
    struct rt_config cfg = { 0 };

    cr_assert_eq(rt_start(&cfg), 0);
}

/* Leaves a READ watcher armed on an empty pipe, as any fd the program once
 * waited on stays watched. */
static int arm_idle_watcher(void)
{
    int p[2];

    cr_assert_eq(pipe(p), 0);
    cr_assert_eq(fdw_wait(p[0], FDW_READ, rt_now() + 1 * MS / 2), ETIMEDOUT);
    return p[0];
}

Test(loopwait, control_sleep_without_watcher_ends_on_time, .init = start, .timeout = 2)
{
    uint64_t t0;

    hold_up_hub = true;
    t0 = rt_now();
    gt_sleep(1500 * 1000);
    cr_assert_gt(held_up, 0, "the hub never armed its timer: test premise broken");
    cr_assert_lt(rt_now() - t0, 100 * MS);
}

Test(loopwait, sleep_ends_on_time_with_watcher_armed, .init = start, .timeout = 2)
{
    uint64_t t0;

    arm_idle_watcher();
    hold_up_hub = true;
    t0 = rt_now();
    gt_sleep(1500 * 1000);          /* hangs: the loop polls with no timeout */
    cr_assert_gt(held_up, 0);
    cr_assert_lt(rt_now() - t0, 100 * MS);
}

Test(loopwait, timed_fd_wait_ends_on_time, .init = start, .timeout = 2)
{
    int fd = arm_idle_watcher();
    uint64_t t0;

    hold_up_hub = true;
    t0 = rt_now();
    cr_assert_eq(fdw_wait(fd, FDW_READ, t0 + 5 * MS), ETIMEDOUT);
    cr_assert_gt(held_up, 0);
    cr_assert_lt(rt_now() - t0, 100 * MS);
}
