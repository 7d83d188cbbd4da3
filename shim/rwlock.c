/* rwlock.c - reader-writer locks that park the green thread.
 *
 * The state lives in the program's own pthread_rwlock_t, laid over glibc's
 * struct __pthread_rwlock_arch_t (x86_64) so that its static initialisers and
 * pthread_rwlock_init/destroy keep working untouched:
 *
 *     glibc                          here
 *     __readers .. __writers_futex   FIFO of waiting readers
 *     __pad3, __pad4                 the writer holding the lock
 *     __cur_writer                   read locks held
 *     __shared                       process-shared flag, never written
 *     __rwelision .. __pad2          FIFO of waiting writers
 *     __flags                        the kind, never written
 *
 * Who goes next follows glibc's kinds. PTHREAD_RWLOCK_PREFER_READER_NP (the
 * default): a reader joins a read-held lock even while writers wait (so
 * recursive read locks never deadlock), and a writer's unlock lets every
 * waiting reader in before the next writer. PTHREAD_RWLOCK_PREFER_WRITER_NP:
 * readers join as before, but a writer's unlock hands the lock to the next
 * writer. PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP: also, a waiting writer
 * keeps new readers out. Writers are served in FIFO order; waiting readers are
 * let in all at once. Ownership is handed to the waiter directly, so a thread
 * that arrives later cannot take the lock from under one already woken.
 *
 * Errors are glibc's: EINVAL for a bad clock or tv_nsec in the timed variants
 * (checked first, even when the lock is free), EDEADLK for rdlock or wrlock by
 * the thread holding the write lock, EBUSY from the try variants (also for the
 * writer itself), EAGAIN when the read-lock count would overflow, ETIMEDOUT.
 * Unlock by a thread that holds nothing releases one read lock if there are
 * any, as glibc's does; on a lock that is free or write-held by another thread
 * glibc would corrupt its counters, here it changes nothing and returns 0.
 *
 * Process-shared rwlocks keep glibc's implementation (rwlock_shared.c).
 */
#include <errno.h>
#include <stddef.h>

#include "rwlock_int.h"

struct green_rwlock {
    struct gt_waitq readers_waiting;
    gt_t *writer;
    unsigned readers;
    int shared;
    struct gt_waitq writers_waiting;
    unsigned kind;
};

_Static_assert(sizeof(struct green_rwlock) <= sizeof(pthread_rwlock_t), "rwlock layout");
_Static_assert(offsetof(struct green_rwlock, shared) ==
               offsetof(pthread_rwlock_t, __data.__shared), "glibc __shared offset");
_Static_assert(offsetof(struct green_rwlock, kind) ==
               offsetof(pthread_rwlock_t, __data.__flags), "glibc __flags offset");

/* glibc counts readers in bits 3..30 of __readers: it refuses the read lock
 * that would make 2^28 of them. */
#define READERS_MAX ((1u << 28) - 1)


struct rw_waiter {
    struct gt_waiter link;          /* first: a gt_waiter is a rw_waiter */
    bool granted;
};

static struct green_rwlock *green(pthread_rwlock_t *l)
{
    return (struct green_rwlock *)l;
}

static bool rwlock_is_green(const pthread_rwlock_t *l)
{
    return l->__data.__shared == 0;
}

/* ---- process-private locks ---- */

/* A PREFER_WRITER_NONRECURSIVE lock keeps new readers out while a writer waits. */
static bool readers_held_back(const struct green_rwlock *rw)
{
    return rw->kind == PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP &&
           rw->writers_waiting.head;
}

static void grant(struct gt_waiter *w)
{
    ((struct rw_waiter *)w)->granted = true;
    gt_unpark(w->g);
}

/* The lock changed: let in whoever may enter now. */
static void hand_over(struct green_rwlock *rw)
{
    struct gt_waiter *w;

    if (rw->writer)
        return;
    if (!rw->readers && rw->writers_waiting.head &&
        (rw->kind != PTHREAD_RWLOCK_PREFER_READER_NP || !rw->readers_waiting.head)) {
        if ((w = gt_waitq_pop(&rw->writers_waiting))) {   /* NULL: all left by a fork */
            rw->writer = w->g;
            grant(w);
            return;
        }
    }
    if (readers_held_back(rw))
        return;
    while ((w = gt_waitq_pop(&rw->readers_waiting))) {
        rw->readers++;
        grant(w);
    }
}

/* Queue on q until the lock is handed over (0) or the deadline passes. */
static int wait_turn(struct green_rwlock *rw, struct gt_waitq *q, uint64_t deadline,
                     const char *what)
{
    struct rw_waiter w = { .granted = false };
    int err;

    gt_waitq_push(q, &w.link, gt_self());
    while (!w.granted) {
        err = gt_park_until(deadline, what, rw);
        if (err && !w.granted) {
            gt_waitq_remove(q, &w.link);
            hand_over(rw);          /* a writer giving up may let readers in */
            return err;
        }
    }
    return 0;
}

static bool may_read(const struct green_rwlock *rw)
{
    return !rw->writer && !readers_held_back(rw);
}

static int green_rdlock(struct green_rwlock *rw, uint64_t deadline)
{
    if (rw->writer == gt_self())
        return EDEADLK;
    if (may_read(rw)) {
        if (rw->readers == READERS_MAX)
            return EAGAIN;
        rw->readers++;
        return 0;
    }
    return wait_turn(rw, &rw->readers_waiting, deadline, "rwlock (read)");
}

static int green_wrlock(struct green_rwlock *rw, uint64_t deadline)
{
    if (rw->writer == gt_self())
        return EDEADLK;
    if (!rw->writer && !rw->readers) {
        rw->writer = gt_self();
        return 0;
    }
    return wait_turn(rw, &rw->writers_waiting, deadline, "rwlock (write)");
}

/* ---- the interposed functions ---- */

/* The timed variants check clock and timespec first, as glibc does, even
 * when the lock is free. */
static int rdlock(pthread_rwlock_t *l, clockid_t clock, const struct timespec *abstime)
{
    uint64_t deadline = 0;
    int err;

    if (abstime && (err = shim_abs_deadline(clock, abstime, &deadline)))
        return err;
    if (!rwlock_is_green(l))
        return rwlock_shared_rdlock(l, deadline);
    return green_rdlock(green(l), deadline);
}

static int wrlock(pthread_rwlock_t *l, clockid_t clock, const struct timespec *abstime)
{
    uint64_t deadline = 0;
    int err;

    if (abstime && (err = shim_abs_deadline(clock, abstime, &deadline)))
        return err;
    if (!rwlock_is_green(l))
        return rwlock_shared_wrlock(l, deadline);
    return green_wrlock(green(l), deadline);
}

SHIM_EXPORT int pthread_rwlock_rdlock(pthread_rwlock_t *l)
{
    if (!rt_green())
        return REAL(pthread_rwlock_rdlock)(l);
    return rdlock(l, CLOCK_REALTIME, NULL);
}

SHIM_EXPORT int pthread_rwlock_timedrdlock(pthread_rwlock_t *l, const struct timespec *abstime)
{
    if (!rt_green())
        return REAL(pthread_rwlock_timedrdlock)(l, abstime);
    return rdlock(l, CLOCK_REALTIME, abstime);
}

SHIM_EXPORT int pthread_rwlock_clockrdlock(pthread_rwlock_t *l, clockid_t clock,
                                           const struct timespec *abstime)
{
    if (!rt_green())
        return REAL(pthread_rwlock_clockrdlock)(l, clock, abstime);
    return rdlock(l, clock, abstime);
}

SHIM_EXPORT int pthread_rwlock_wrlock(pthread_rwlock_t *l)
{
    if (!rt_green())
        return REAL(pthread_rwlock_wrlock)(l);
    return wrlock(l, CLOCK_REALTIME, NULL);
}

SHIM_EXPORT int pthread_rwlock_timedwrlock(pthread_rwlock_t *l, const struct timespec *abstime)
{
    if (!rt_green())
        return REAL(pthread_rwlock_timedwrlock)(l, abstime);
    return wrlock(l, CLOCK_REALTIME, abstime);
}

SHIM_EXPORT int pthread_rwlock_clockwrlock(pthread_rwlock_t *l, clockid_t clock,
                                           const struct timespec *abstime)
{
    if (!rt_green())
        return REAL(pthread_rwlock_clockwrlock)(l, clock, abstime);
    return wrlock(l, clock, abstime);
}

SHIM_EXPORT int pthread_rwlock_tryrdlock(pthread_rwlock_t *l)
{
    struct green_rwlock *rw = green(l);

    if (!rt_green() || !rwlock_is_green(l))
        return REAL(pthread_rwlock_tryrdlock)(l);
    if (!may_read(rw))
        return EBUSY;
    return green_rdlock(rw, 0);
}

SHIM_EXPORT int pthread_rwlock_trywrlock(pthread_rwlock_t *l)
{
    struct green_rwlock *rw = green(l);

    if (!rt_green())
        return REAL(pthread_rwlock_trywrlock)(l);
    if (!rwlock_is_green(l))
        return rwlock_shared_trywrlock(l);
    if (rw->writer || rw->readers)
        return EBUSY;
    rw->writer = gt_self();
    return 0;
}

SHIM_EXPORT int pthread_rwlock_unlock(pthread_rwlock_t *l)
{
    struct green_rwlock *rw = green(l);

    if (!rt_green())
        return REAL(pthread_rwlock_unlock)(l);
    if (!rwlock_is_green(l))
        return rwlock_shared_unlock(l);
    if (rw->writer == gt_self())
        rw->writer = NULL;
    else if (rw->readers)
        rw->readers--;
    else
        return 0;
    hand_over(rw);
    return 0;
}
