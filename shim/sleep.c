/* sleep.c - sleeps park the green thread; sched_yield switches to the next.
 *
 * A signal always ends a sleep (signal(7): never restarted): nanosleep and
 * a relative clock_nanosleep report the time left, sleep the whole seconds
 * left, as glibc computes them from nanosleep's.
 */
#include <errno.h>
#include <sched.h>

#include "signal_int.h"

/* A valid relative timespec in nanoseconds, saturating. */
static uint64_t timespec_ns(const struct timespec *ts)
{
    if ((uint64_t)ts->tv_sec > (UINT64_MAX - 999999999u) / 1000000000u)
        return UINT64_MAX;
    return (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
}

/* Sleeps are cancellation points. 0, or EINTR with the time left in *rem
 * (if not NULL). */
static int sleep_ns(uint64_t ns, struct timespec *rem)
{
    uint64_t deadline = rem ? rt_deadline_after(ns) : 0, now;
    bool was = shim_cancel_point_begin(), sw = shim_sig_wait_begin();
    int err = shim_sig_wait_end(sw, gt_sleep(ns), false);

    shim_cancel_point_end(was, err);
    if (err != EINTR)
        return 0;
    if (rem) {
        now = rt_now();
        ns = deadline > now ? deadline - now : 0;
        rem->tv_sec = (time_t)(ns / 1000000000u);
        rem->tv_nsec = (long)(ns % 1000000000u);
    }
    return EINTR;
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
    if (sleep_ns(timespec_ns(req), rem)) {
        errno = EINTR;
        return -1;
    }
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
    if (!absolute)
        return sleep_ns(timespec_ns(req), rem);
    if ((err = shim_abs_deadline(clock, req, &deadline)))
        return err;
    now = rt_now();
    return deadline > now ? sleep_ns(deadline - now, NULL) : 0;
}

/* errno is EINTR after an interrupted sleep, as glibc leaves it. */
SHIM_EXPORT unsigned sleep(unsigned seconds)
{
    struct timespec rem;

    if (!rt_green())
        return REAL(sleep)(seconds);
    if (sleep_ns((uint64_t)seconds * 1000000000u, &rem)) {
        errno = EINTR;
        return (unsigned)rem.tv_sec;
    }
    return 0;
}

SHIM_EXPORT int usleep(useconds_t usec)
{
    if (!rt_green())
        return REAL(usleep)(usec);
    if (sleep_ns((uint64_t)usec * 1000u, NULL)) {
        errno = EINTR;
        return -1;
    }
    return 0;
}

/* A thread that only yields takes the signals pended on it here. */
SHIM_EXPORT int sched_yield(void)
{
    if (!rt_green())
        return REAL(sched_yield)();
    gt_yield();
    shim_signal_deliver();
    return 0;
}
