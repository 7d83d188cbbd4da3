/* thread.c - pthread_create and friends: every pthread is a green thread.
 *
 * A pthread_t under greenrun is the address of the green thread's gt_t. */
#include <errno.h>

#include "signal_int.h"

/* The stack size the program asked for, or 0 for "the default": glibc
 * reports its default for an attribute that never set one. */
static size_t attr_stack_size(const pthread_attr_t *attr)
{
    pthread_attr_t dflt;
    size_t size = 0, dflt_size = 0;

    pthread_attr_getstacksize(attr, &size);
    if (pthread_getattr_default_np(&dflt) == 0) {
        pthread_attr_getstacksize(&dflt, &dflt_size);
        pthread_attr_destroy(&dflt);
    }
    return size == dflt_size ? 0 : size;
}

/* The stack set with pthread_attr_setstack, or NULL. glibc keeps the top of
 * the stack and reports top - size as its base: top is NULL when unset. */
static void *attr_stack(const pthread_attr_t *attr, size_t *size)
{
    void *base;

    if (pthread_attr_getstack(attr, &base, size) != 0 || (uintptr_t)base + *size == 0)
        return NULL;
    return base;
}

static void attr_to_gt(const pthread_attr_t *attr, struct gt_attr *ga)
{
    int detach = PTHREAD_CREATE_JOINABLE;

    if (!attr)
        return;
    if ((ga->stack = attr_stack(attr, &ga->stack_size)))
        ga->guard_size = 0;
    else
        ga->stack_size = attr_stack_size(attr);
    if (!ga->stack && pthread_attr_getguardsize(attr, &ga->guard_size) == 0 &&
        ga->guard_size == 0)
        ga->guard_size = GT_NO_GUARD;
    pthread_attr_getdetachstate(attr, &detach);
    ga->detached = detach == PTHREAD_CREATE_DETACHED;
}

SHIM_EXPORT int pthread_create(pthread_t *thread, const pthread_attr_t *attr,
                               void *(*start)(void *), void *arg)
{
    struct gt_attr ga = { 0 };
    gt_t *g;
    int err;

    if (!rt_green())
        return REAL(pthread_create)(thread, attr, start, arg);
    attr_to_gt(attr, &ga);
    err = gt_spawn(&g, &ga, start, arg);
    if (err)
        return err;
    shim_thread(g)->id = (unsigned)gt_id(g);
    /* As the kernel does: a new thread starts with its creator's name. */
    gt_set_name(g, gt_name(gt_self()));
    *thread = (pthread_t)g;
    return 0;
}

/* A join that has to wait is a cancellation point; tryjoin never is. */
static int join(pthread_t thread, uint64_t deadline, bool try, void **result)
{
    gt_t *g = (gt_t *)thread;
    bool was;
    int err;

    if (try || gt_finished(g))
        return gt_join_until(g, deadline, try, result);
    was = shim_cancel_point_begin();
    err = gt_join_until(g, deadline, false, result);
    shim_cancel_point_end(was, err);
    return err;
}

SHIM_EXPORT int pthread_join(pthread_t thread, void **result)
{
    if (!rt_green())
        return REAL(pthread_join)(thread, result);
    return join(thread, 0, false, result);
}

SHIM_EXPORT int pthread_tryjoin_np(pthread_t thread, void **result)
{
    if (!rt_green())
        return REAL(pthread_tryjoin_np)(thread, result);
    return join(thread, 0, true, result);
}

SHIM_EXPORT int pthread_clockjoin_np(pthread_t thread, void **result, clockid_t clock,
                                     const struct timespec *abstime)
{
    uint64_t deadline = 0;

    if (!rt_green())
        return REAL(pthread_clockjoin_np)(thread, result, clock, abstime);
    /* As glibc: the clock is checked first, a negative time has passed
     * already, and a bad tv_nsec makes the kernel refuse each timed wait
     * while glibc goes on waiting, that is no deadline at all. */
    if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC)
        return EINVAL;
    if (abstime && abstime->tv_sec < 0)
        return ETIMEDOUT;
    if (abstime && shim_abs_deadline(clock, abstime, &deadline) != 0)
        deadline = 0;
    return join(thread, deadline, false, result);
}

SHIM_EXPORT int pthread_timedjoin_np(pthread_t thread, void **result,
                                     const struct timespec *abstime)
{
    if (!rt_green())
        return REAL(pthread_timedjoin_np)(thread, result, abstime);
    return pthread_clockjoin_np(thread, result, CLOCK_REALTIME, abstime);
}

SHIM_EXPORT int pthread_detach(pthread_t thread)
{
    if (!rt_green())
        return REAL(pthread_detach)(thread);
    return gt_detach((gt_t *)thread);
}

/* A signal handler runs with the mode off, but on the green thread it
 * interrupted: that thread is who it is. */
SHIM_EXPORT pthread_t pthread_self(void)
{
    gt_t *g;

    if (rt_green())
        return (pthread_t)gt_self();
    if (shim_handler_depth && (g = gt_running()))
        return (pthread_t)g;
    return REAL(pthread_self)();
}

SHIM_EXPORT int pthread_equal(pthread_t a, pthread_t b)
{
    return a == b;
}

/* Old binaries still call pthread_yield; glibc's headers now redirect the
 * name to sched_yield, hence the assembler name. */
SHIM_EXPORT int shim_pthread_yield(void) __asm__("pthread_yield");

int shim_pthread_yield(void)
{
    return sched_yield();
}
