/* sleep.c - sleeps park the green thread; sched_yield switches to the next. */
#include <errno.h>
#include <sched.h>

#include "thread_int.h"

/* A valid relative timespec in nanoseconds, saturating. */
static uint64_t timespec_ns(const struct timespec *ts)
{
    if ((uint64_t)ts->tv_sec > (UINT64_MAX - 999999999u) / 1000000000u)
        return UINT64_MAX;
    return (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
}

/* Sleeps are cancellation points. */
static void sleep_ns(uint64_t ns)
{
    bool was = shim_cancel_point_begin();

    shim_cancel_point_end(was, gt_sleep(ns));
}

SHIM_EXPORT int nanosleep(const struct timespec *req, struct timespec *rem)
{
    if (!rt_green())
        return REAL(nanosleep)(req, rem);
    shim_testcancel();
    if (!req) {
        errno = EFAULT;             /* what the system call says */
        return -1;
    }
    if (req->tv_nsec < 0 || req->tv_nsec >= 1000000000 || req->tv_sec < 0) {
        errno = EINVAL;
        return -1;
    }
    sleep_ns(timespec_ns(req));
    return 0;
}

/* Returns an error number, not -1 and errno. CLOCK_BOOTTIME's relative
 * sleeps run on the monotonic clock (they differ only across a suspend);
 * other clocks, and absolute BOOTTIME sleeps, get the real call. */
SHIM_EXPORT int clock_nanosleep(clockid_t clock, int flags, const struct timespec *req,
                                struct timespec *rem)
{
    bool absolute = flags & TIMER_ABSTIME;
    uint64_t deadline, now;
    int err;

    if (!rt_green())
        return REAL(clock_nanosleep)(clock, flags, req, rem);
    shim_testcancel();
    if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC &&
        (clock != CLOCK_BOOTTIME || absolute))
        return REAL(clock_nanosleep)(clock, flags, req, rem);
    if (req->tv_nsec < 0 || req->tv_nsec >= 1000000000 || (!absolute && req->tv_sec < 0))
        return EINVAL;
    if (!absolute) {
        sleep_ns(timespec_ns(req));
        return 0;
    }
    if ((err = shim_abs_deadline(clock, req, &deadline)))
        return err;
    now = rt_now();
    if (deadline > now)
        sleep_ns(deadline - now);
    return 0;
}

SHIM_EXPORT unsigned sleep(unsigned seconds)
{
    if (!rt_green())
        return REAL(sleep)(seconds);
    sleep_ns((uint64_t)seconds * 1000000000u);
    return 0;
}

SHIM_EXPORT int usleep(useconds_t usec)
{
    if (!rt_green())
        return REAL(usleep)(usec);
    sleep_ns((uint64_t)usec * 1000u);
    return 0;
}

SHIM_EXPORT int sched_yield(void)
{
    if (!rt_green())
        return REAL(sched_yield)();
    gt_yield();
    return 0;
}
