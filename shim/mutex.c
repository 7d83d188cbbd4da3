/* mutex.c - pthread mutexes that park the green thread instead of the OS thread.
 *
 * Green mutexes (normal, recursive, errorcheck, adaptive; private) keep their
 * state in the program's own pthread_mutex_t, laid over glibc's struct
 * __pthread_mutex_s so that its static initialisers (all zero, the kind at
 * offset 16) and pthread_mutex_init/destroy keep working untouched:
 *
 *     glibc          here
 *     __lock         locked: 1 while held
 *     __count        recursion depth of a recursive mutex, counted as glibc
 *                    counts it (1 after the first lock), 0 otherwise
 *     __owner        the owner: where glibc keeps its kernel thread id, the
 *                    low 32 bits of its green thread id (gt_id); only two
 *                    live threads 2^32 creations apart could be confused
 *     __nusers       counted as glibc counts it: +1 per lock, -1 per unlock
 *                    that releases, untouched by condvar waits; glibc's own
 *                    pthread_mutex_destroy reads it to answer EBUSY
 *     __kind         the kind, never written
 *     __list         FIFO of waiting green threads
 *
 * Unlocked, the fields glibc reads hold what glibc's would.
 *
 * Unlock hands the mutex straight to the first waiter: FIFO order makes runs
 * reproducible and no thread starves. A waiter is the owner once an unlock
 * has taken it off the queue; a timed-out waiter takes itself off first, so
 * the mutex is never handed to a thread that has left. glibc lets any thread
 * unlock a normal or adaptive mutex, and its owner relocking it waits for
 * that like any other thread: the owner queues too.
 *
 * Process-shared, robust, priority-inherit and priority-protect mutexes
 * ("foreign") keep glibc's implementation: see mutex_foreign.c.
 *
 * Timed locks check the timespec where glibc does: only when the call would
 * block, and per kind in glibc's order. The deadline is converted to the
 * runtime's monotonic clock at the time of the call.
 */
#include <errno.h>
#include <stddef.h>

#include "mutex_int.h"
#include "thread_int.h"

struct green_mutex {
    int locked;
    unsigned count;
    unsigned owner;
    unsigned nusers;
    int kind;
    short spins, elision;
    struct gt_waitq waiters;
};

#define SAME_OFFSET(ours, glibc) \
    _Static_assert(offsetof(struct green_mutex, ours) == \
                   offsetof(pthread_mutex_t, __data.glibc), "glibc's " #glibc)
SAME_OFFSET(locked, __lock);
SAME_OFFSET(count, __count);
SAME_OFFSET(owner, __owner);
SAME_OFFSET(nusers, __nusers);
SAME_OFFSET(kind, __kind);
SAME_OFFSET(waiters, __list);
_Static_assert(sizeof(struct green_mutex) == sizeof(pthread_mutex_t), "mutex layout");

static struct green_mutex *green(const pthread_mutex_t *m)
{
    return (struct green_mutex *)m;
}

int shim_mutex_is_green(const pthread_mutex_t *m)
{
    return !(green(m)->kind & KIND_FOREIGN);
}

/* ---- green mutexes ---- */

/* `users`: a pthread_mutex_lock/unlock call, counted in __nusers; a condvar
 * wait's unlock and relock are not, as in glibc. */

static bool held_by(const struct green_mutex *m, unsigned id)
{
    return m->locked && m->owner == id;
}

static void take(struct green_mutex *m, unsigned id)
{
    m->locked = 1;
    m->owner = id;
    m->count = (m->kind & TYPE_MASK) == PTHREAD_MUTEX_RECURSIVE;
}

static int recurse(struct green_mutex *m)
{
    if (m->count + 1 == 0)
        return EAGAIN;
    m->count++;
    return 0;
}

/* Unlocked, with no waiter to hand it to. */
static void release(struct green_mutex *m)
{
    m->locked = 0;
    m->owner = 0;
    m->count = 0;
}

/* ---- the uncontended fast path ----
 *
 * An uncontended lock and unlock must cost about what glibc's do (issue 5:
 * within 2 ns of native, where glibc pays two atomic instructions). These
 * two are small enough to be inlined into the exported calls, so that the
 * common case makes no call (the owner's id is in the shim's thread block); any
 * other case (a foreign kind, a held mutex, waiters, a recursive or
 * errorcheck unlock, which checks the owner) returns false and goes on in
 * green_lock/green_unlock (green_lock and green_trylock start with
 * lock_uncontended too, for the calls that do not inline it). */

static inline bool lock_uncontended(pthread_mutex_t *pm, bool users)
{
    struct green_mutex *m = green(pm);

    if (__builtin_expect((m->kind & KIND_FOREIGN) || m->locked, 0))
        return false;
    take(m, shim_self()->id);
    m->nusers += users;
    return true;
}

/* Normal and adaptive mutexes only: anyone may unlock those (see above). */
static inline bool unlock_uncontended(pthread_mutex_t *pm, bool users)
{
    struct green_mutex *m = green(pm);
    int type = m->kind & TYPE_MASK;

    if (__builtin_expect((m->kind & KIND_FOREIGN) || m->waiters.head ||
                         type == PTHREAD_MUTEX_RECURSIVE || type == PTHREAD_MUTEX_ERRORCHECK, 0))
        return false;
    m->nusers -= users;
    release(m);
    return true;
}

/* Queue for the mutex until an unlock hands it over or the deadline (0 =
 * none) passes. Only an unlock takes a waiter off the queue but for the
 * waiter itself, so being off it means owning the mutex, even when the
 * deadline passed meanwhile. */
static int green_wait(struct green_mutex *m, pthread_mutex_t *pm, uint64_t deadline)
{
    struct gt_waiter w;

    gt_waitq_push(&m->waiters, &w, gt_self());
    while (gt_waitq_linked(&m->waiters, &w)) {
        if (gt_park_until(deadline, "mutex", pm) == ETIMEDOUT &&
            gt_waitq_linked(&m->waiters, &w)) {
            gt_waitq_remove(&m->waiters, &w);
            return ETIMEDOUT;
        }
    }
    return 0;
}

static int green_lock(pthread_mutex_t *pm, clockid_t clk, const struct timespec *abstime,
                      bool users)
{
    struct green_mutex *m = green(pm);
    uint64_t deadline = 0;
    int err;

    if (lock_uncontended(pm, users))
        return 0;
    if (held_by(m, shim_self()->id)) {
        switch (mutex_type(pm)) {
        case PTHREAD_MUTEX_RECURSIVE:
            return recurse(m);
        case PTHREAD_MUTEX_ERRORCHECK:
            return EDEADLK;
        default:
            break;                  /* normal, adaptive: wait for an unlock */
        }
    }
    if (abstime) {
        err = mutex_lock_deadline(m->kind, clk, abstime, &deadline);
        if (err)
            return err;
    }
    err = green_wait(m, pm, deadline);
    if (!err)
        m->nusers += users;
    return err;
}

static int green_trylock(pthread_mutex_t *pm)
{
    struct green_mutex *m = green(pm);

    if (lock_uncontended(pm, true))
        return 0;
    if (held_by(m, shim_self()->id) && mutex_type(pm) == PTHREAD_MUTEX_RECURSIVE)
        return recurse(m);
    return EBUSY;
}

static int green_unlock(pthread_mutex_t *pm, bool users)
{
    struct green_mutex *m = green(pm);
    struct gt_waiter *w;
    int type = mutex_type(pm);

    if ((type == PTHREAD_MUTEX_RECURSIVE || type == PTHREAD_MUTEX_ERRORCHECK) &&
        !held_by(m, shim_self()->id))
        return EPERM;
    if (type == PTHREAD_MUTEX_RECURSIVE && --m->count)
        return 0;
    m->nusers -= users;
    w = gt_waitq_pop(&m->waiters);
    if (w) {
        take(m, shim_thread(w->g)->id);
        gt_unpark(w->g);
    } else {
        release(m);
    }
    return 0;
}

/* ---- the calls ---- */

static int timed_lock(pthread_mutex_t *m, clockid_t clk, const struct timespec *abstime,
                      bool users)
{
    if (shim_mutex_is_green(m))
        return green_lock(m, clk, abstime, users);
    return mutex_foreign_lock(m, clk, abstime);
}

/* The unlock and relock of a condvar wait, from a green thread, on any
 * mutex. */
int shim_mutex_lock(pthread_mutex_t *m)
{
    if (lock_uncontended(m, false))
        return 0;
    return timed_lock(m, CLOCK_REALTIME, NULL, false);
}

int shim_mutex_unlock(pthread_mutex_t *m)
{
    if (unlock_uncontended(m, false))
        return 0;
    if (shim_mutex_is_green(m))
        return green_unlock(m, false);
    return mutex_foreign_unlock(m);
}

SHIM_EXPORT int pthread_mutex_lock(pthread_mutex_t *m)
{
    if (!rt_green())
        return REAL(pthread_mutex_lock)(m);
    if (lock_uncontended(m, true))
        return 0;
    return timed_lock(m, CLOCK_REALTIME, NULL, true);
}

SHIM_EXPORT int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *abstime)
{
    if (!rt_green())
        return REAL(pthread_mutex_timedlock)(m, abstime);
    return timed_lock(m, CLOCK_REALTIME, abstime, true);
}

SHIM_EXPORT int pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t clk,
                                        const struct timespec *abstime)
{
    if (!rt_green())
        return REAL(pthread_mutex_clocklock)(m, clk, abstime);
    if (clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC)
        return EINVAL;              /* whatever the mutex's state, as glibc */
    return timed_lock(m, clk, abstime, true);
}

SHIM_EXPORT int pthread_mutex_trylock(pthread_mutex_t *m)
{
    if (!rt_green())
        return REAL(pthread_mutex_trylock)(m);
    if (shim_mutex_is_green(m))
        return green_trylock(m);
    return mutex_foreign_trylock(m);
}

SHIM_EXPORT int pthread_mutex_unlock(pthread_mutex_t *m)
{
    if (!rt_green())
        return REAL(pthread_mutex_unlock)(m);
    if (unlock_uncontended(m, true))
        return 0;
    if (shim_mutex_is_green(m))
        return green_unlock(m, true);
    return mutex_foreign_unlock(m);
}
