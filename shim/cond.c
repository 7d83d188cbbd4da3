/* cond.c - condition variables that park the green thread.
 *
 * The queue of waiters takes the first 16 bytes of the program's
 * pthread_cond_t (glibc's __wseq and __g1_start): zero is an empty queue, so
 * PTHREAD_COND_INITIALIZER and pthread_cond_init need no help. glibc keeps the
 * clock and process-shared bits in __wrefs, which stays untouched; a
 * process-shared condvar keeps glibc's implementation.
 */
#include <errno.h>
#include <stddef.h>

#include "shim.h"

#define WREFS_OFFSET 36             /* glibc's __wrefs */
#define WREFS_SHARED 1

_Static_assert(sizeof(struct gt_waitq) <= WREFS_OFFSET, "cond layout");

static struct gt_waitq *waiters(pthread_cond_t *c)
{
    return (struct gt_waitq *)c;
}

static bool cond_is_green(const pthread_cond_t *c)
{
    unsigned wrefs = *(const unsigned *)((const char *)c + WREFS_OFFSET);

    return !(wrefs & WREFS_SHARED);
}

SHIM_EXPORT int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
    struct gt_waiter w;
    int err;

    if (!rt_green() || !cond_is_green(c) || !shim_mutex_is_green(m))
        return REAL(pthread_cond_wait)(c, m);
    gt_waitq_push(waiters(c), &w, gt_self());
    err = shim_mutex_unlock(m);
    if (err) {
        gt_waitq_remove(waiters(c), &w);
        return err;
    }
    gt_park("condition variable", c);
    if (gt_waitq_linked(waiters(c), &w))
        gt_waitq_remove(waiters(c), &w);    /* woken otherwise: a spurious wake-up */
    return shim_mutex_lock(m);
}

SHIM_EXPORT int pthread_cond_signal(pthread_cond_t *c)
{
    struct gt_waiter *w;

    if (!rt_green() || !cond_is_green(c))
        return REAL(pthread_cond_signal)(c);
    w = gt_waitq_pop(waiters(c));
    if (w)
        gt_unpark(w->g);
    return 0;
}

SHIM_EXPORT int pthread_cond_broadcast(pthread_cond_t *c)
{
    struct gt_waiter *w;

    if (!rt_green() || !cond_is_green(c))
        return REAL(pthread_cond_broadcast)(c);
    while ((w = gt_waitq_pop(waiters(c))))
        gt_unpark(w->g);
    return 0;
}
