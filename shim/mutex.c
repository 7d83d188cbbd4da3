/* mutex.c - pthread mutexes that park the green thread instead of the OS thread.
 *
 * The state lives in the program's own pthread_mutex_t, laid over glibc's
 * struct __pthread_mutex_s so that its static initialisers (all zero, the kind
 * at offset 16) and pthread_mutex_init/destroy keep working untouched:
 *
 *     glibc          here
 *     __lock         locked: 1 while held
 *     __count        recursion depth beyond the first lock
 *     __owner+__nusers  the owning green thread (8 bytes, aligned)
 *     __kind         the kind, never written
 *     __list         FIFO of waiting green threads
 *
 * Unlock hands the mutex straight to the first waiter: FIFO order makes runs
 * reproducible and no thread starves. Process-shared, robust and priority
 * mutexes keep glibc's own implementation.
 */
#include <errno.h>
#include <stddef.h>

#include "shim.h"

struct green_mutex {
    int locked;
    unsigned count;
    gt_t *owner;
    int kind;
    short spins, elision;
    struct gt_waitq waiters;
};

_Static_assert(sizeof(struct green_mutex) == sizeof(pthread_mutex_t), "mutex layout");
_Static_assert(offsetof(struct green_mutex, kind) == 16, "glibc __kind offset");

#define KIND_MASK 3                 /* PTHREAD_MUTEX_KIND_MASK_NP */
#define KIND_FOREIGN (16 | 32 | 64 | 128)   /* robust, PI, PP, process-shared */

static struct green_mutex *green(const pthread_mutex_t *m)
{
    return (struct green_mutex *)m;
}

int shim_mutex_is_green(const pthread_mutex_t *m)
{
    return !(green(m)->kind & KIND_FOREIGN);
}

/* The mutex is ours already: what the kind says to do about it. */
static int relock(struct green_mutex *m, pthread_mutex_t *pm)
{
    switch (m->kind & KIND_MASK) {
    case PTHREAD_MUTEX_RECURSIVE:
        if (m->count + 1 == 0)
            return EAGAIN;
        m->count++;
        return 0;
    case PTHREAD_MUTEX_ERRORCHECK:
        return EDEADLK;
    default:
        gt_park("mutex it already holds", pm);  /* as glibc: never returns */
        return EDEADLK;
    }
}

int shim_mutex_lock(pthread_mutex_t *pm)
{
    struct green_mutex *m = green(pm);
    struct gt_waiter w;
    gt_t *self = gt_self();

    if (!m->owner) {
        m->owner = self;
        m->locked = 1;
        return 0;
    }
    if (m->owner == self)
        return relock(m, pm);
    gt_waitq_push(&m->waiters, &w, self);
    while (m->owner != self)
        gt_park("mutex", pm);
    return 0;
}

int shim_mutex_unlock(pthread_mutex_t *pm)
{
    struct green_mutex *m = green(pm);
    struct gt_waiter *w;
    int kind = m->kind & KIND_MASK;

    if (kind != PTHREAD_MUTEX_NORMAL && kind != PTHREAD_MUTEX_ADAPTIVE_NP &&
        m->owner != gt_self())
        return EPERM;
    if (m->count) {
        m->count--;
        return 0;
    }
    w = gt_waitq_pop(&m->waiters);
    if (w) {
        m->owner = w->g;
        gt_unpark(w->g);
    } else {
        m->owner = NULL;
        m->locked = 0;
    }
    return 0;
}

SHIM_EXPORT int pthread_mutex_lock(pthread_mutex_t *m)
{
    if (!rt_green() || !shim_mutex_is_green(m))
        return REAL(pthread_mutex_lock)(m);
    return shim_mutex_lock(m);
}

SHIM_EXPORT int pthread_mutex_trylock(pthread_mutex_t *pm)
{
    struct green_mutex *m = green(pm);

    if (!rt_green() || !shim_mutex_is_green(pm))
        return REAL(pthread_mutex_trylock)(pm);
    if (!m->owner)
        return shim_mutex_lock(pm);
    if (m->owner == gt_self() && (m->kind & KIND_MASK) == PTHREAD_MUTEX_RECURSIVE)
        return relock(m, pm);
    return EBUSY;
}

SHIM_EXPORT int pthread_mutex_unlock(pthread_mutex_t *m)
{
    if (!rt_green() || !shim_mutex_is_green(m))
        return REAL(pthread_mutex_unlock)(m);
    return shim_mutex_unlock(m);
}
