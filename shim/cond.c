/* cond.c - condition variables that park the green thread.
 *
 * Private condvars: the queue of waiters takes the first 16 bytes of the
 * program's pthread_cond_t (glibc's __wseq and __g1_start): zero is an empty
 * queue, so PTHREAD_COND_INITIALIZER and pthread_cond_init need no help.
 * glibc keeps the process-shared flag (bit 0) and the clock (bit 1: CLOCK_
 * MONOTONIC, else CLOCK_REALTIME) of pthread_condattr_setclock in __wrefs,
 * which stays untouched and tells timedwait which clock its deadline is on.
 * A waiter queues before it unlocks the mutex, and a signal takes the first
 * waiter off the queue: no signal is lost, and a waiter taken off the queue
 * returns 0 even if its deadline passed meanwhile (it consumed the signal).
 * A timed-out waiter takes itself off the queue.
 *
 * Process-shared condvars keep glibc's implementation, which other processes
 * read and write, but a green thread cannot sleep in it without blocking the
 * OS thread. So a green thread waits by polling: unlock the mutex, park for
 * at most 1 ms (or until its deadline), relock, return. What is guaranteed:
 *   - a waiter that re-checks its predicate under the mutex, as POSIX
 *     requires, never misses a signal: it re-checks at least every 1 ms;
 *   - a signal or broadcast from a green thread of this process wakes the
 *     green waiters of this process at once (they queue on a per-OS-thread
 *     list, FIFO), besides calling glibc's for waiters in other processes;
 *   - timeouts end no earlier than the deadline and about when it passes.
 * What is not: a return is not proof of a signal (POSIX allows spurious
 * wake-ups, and a green waiter has one every 1 ms); our green waiters are not
 * registered in glibc's state, so a signal from another process goes to a
 * waiter glibc knows of, if any, and reaches ours only through their polling.
 * Signal and broadcast call glibc's, which may wait for a moment while
 * waiters of other processes leave an old group (glibc 2.36's g_refs).
 *
 * The mutex may be of any kind: it is unlocked and relocked through
 * shim_mutex_unlock/lock, cooperatively, and an error of either is returned
 * as glibc returns it.
 *
 * The waits are cancellation points, as glibc's: a cancellation acts once
 * the mutex is released (so an errorcheck mutex the caller does not hold
 * gives EPERM first), and the waiter takes the mutex back before its
 * cancellation handlers run. A waiter that a signal took off the queue has
 * consumed it: it returns 0 and leaves the cancellation for the next
 * cancellation point, so the signal is not lost.
 */
#include <errno.h>
#include <stddef.h>

#include "thread_int.h"

#define WREFS_SHARED 1             /* glibc's __PTHREAD_COND_SHARED_MASK */
#define WREFS_MONOTONIC 2          /* __PTHREAD_COND_CLOCK_MONOTONIC_MASK */

#define SHARED_POLL_NS 1000000u

_Static_assert(sizeof(struct gt_waitq) <= offsetof(pthread_cond_t, __data.__wrefs),
               "cond layout");

static unsigned wrefs(const pthread_cond_t *c)
{
    return c->__data.__wrefs;
}

static bool cond_is_green(const pthread_cond_t *c)
{
    return !(wrefs(c) & WREFS_SHARED);
}

static clockid_t cond_clock(const pthread_cond_t *c)
{
    return wrefs(c) & WREFS_MONOTONIC ? CLOCK_MONOTONIC : CLOCK_REALTIME;
}

/* The end of every wait: take the mutex back, then act on a cancellation. */
static int relock(pthread_mutex_t *m, int result)
{
    int err = shim_mutex_lock(m);

    if (result == ECANCELED) {
        shim_testcancel();          /* ends the thread, the mutex held, as glibc */
        result = 0;                 /* no longer due: a spurious wake-up */
    }
    return err ? err : result;
}

/* ---- private condvars ---- */

static struct gt_waitq *waiters(pthread_cond_t *c)
{
    return (struct gt_waitq *)c;
}

static int green_wait(pthread_cond_t *c, pthread_mutex_t *m, uint64_t deadline)
{
    struct gt_waiter w;
    int err, result = 0;
    bool was;

    gt_waitq_push(waiters(c), &w, gt_self());
    err = shim_mutex_unlock(m);
    if (err) {
        gt_waitq_remove(waiters(c), &w);
        return err;
    }
    was = gt_interruptible(true);
    while (gt_waitq_linked(waiters(c), &w)) {
        result = gt_park_until(deadline, "condition variable", c);
        if (result && gt_waitq_linked(waiters(c), &w)) {
            gt_waitq_remove(waiters(c), &w);    /* timed out or cancelled */
            break;
        }
        result = 0;                 /* signalled, maybe just as it timed out */
    }
    gt_interruptible(was);
    return relock(m, result);
}

/* ---- process-shared condvars ---- */

/* A green thread waiting on a process-shared condvar; w first, so that the
 * list's nodes convert back. */
struct shared_waiter {
    struct gt_waiter w;
    const pthread_cond_t *c;
};

static __thread struct gt_waitq shared_waiters;

static int shared_wait(pthread_cond_t *c, pthread_mutex_t *m, uint64_t deadline)
{
    struct shared_waiter sw = { .c = c };
    uint64_t poll = rt_deadline_after(SHARED_POLL_NS);
    int err, result;
    bool was;

    gt_waitq_push(&shared_waiters, &sw.w, gt_self());
    err = shim_mutex_unlock(m);
    if (err) {
        gt_waitq_remove(&shared_waiters, &sw.w);
        return err;
    }
    was = gt_interruptible(true);
    result = gt_park_until(deadline && deadline < poll ? deadline : poll,
                           "process-shared condition variable", c);
    gt_interruptible(was);
    if (!gt_waitq_linked(&shared_waiters, &sw.w)) {
        result = 0;                 /* woken by a signal of this process */
    } else {
        gt_waitq_remove(&shared_waiters, &sw.w);
        if (result != ECANCELED)    /* the poll's end, or the deadline's */
            result = deadline && rt_now() >= deadline ? ETIMEDOUT : 0;
    }
    return relock(m, result);
}

/* Wake this process's green waiters on c: the first, or all. */
static void shared_wake(const pthread_cond_t *c, bool all)
{
    struct gt_waiter *w, *next;

    for (w = shared_waiters.head; w; w = next) {
        next = w->next;
        if (((struct shared_waiter *)w)->c != c)
            continue;
        gt_waitq_remove(&shared_waiters, w);
        gt_unpark(w->g);
        if (!all)
            return;
    }
}

/* ---- the calls ---- */

/* deadline: rt_now() time, 0 = none. */
static int cond_wait(pthread_cond_t *c, pthread_mutex_t *m, uint64_t deadline)
{
    if (cond_is_green(c))
        return green_wait(c, m, deadline);
    return shared_wait(c, m, deadline);
}

SHIM_EXPORT int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
    if (!rt_green())
        return REAL(pthread_cond_wait)(c, m);
    return cond_wait(c, m, 0);
}

/* glibc checks tv_nsec, then clockwait's clock, before anything else. */
SHIM_EXPORT int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
                                       const struct timespec *abstime)
{
    uint64_t deadline;
    int err;

    if (!rt_green())
        return REAL(pthread_cond_timedwait)(c, m, abstime);
    err = shim_abs_deadline(cond_clock(c), abstime, &deadline);
    if (err)
        return err;
    return cond_wait(c, m, deadline);
}

SHIM_EXPORT int pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clk,
                                       const struct timespec *abstime)
{
    uint64_t deadline;
    int err;

    if (!rt_green())
        return REAL(pthread_cond_clockwait)(c, m, clk, abstime);
    err = shim_abs_deadline(clk, abstime, &deadline);
    if (err)
        return err;
    return cond_wait(c, m, deadline);
}

SHIM_EXPORT int pthread_cond_signal(pthread_cond_t *c)
{
    struct gt_waiter *w;

    if (!rt_green())
        return REAL(pthread_cond_signal)(c);
    if (!cond_is_green(c)) {
        shared_wake(c, false);
        return REAL(pthread_cond_signal)(c);
    }
    w = gt_waitq_pop(waiters(c));
    if (w)
        gt_unpark(w->g);
    return 0;
}

SHIM_EXPORT int pthread_cond_broadcast(pthread_cond_t *c)
{
    struct gt_waiter *w;

    if (!rt_green())
        return REAL(pthread_cond_broadcast)(c);
    if (!cond_is_green(c)) {
        shared_wake(c, true);
        return REAL(pthread_cond_broadcast)(c);
    }
    while ((w = gt_waitq_pop(waiters(c))))
        gt_unpark(w->g);
    return 0;
}
