/* once.c - pthread_once: one thread runs the routine, the others park.
 *
 * The control word keeps glibc's values (0 not yet, 1 running, 2 done), so a
 * once completed before the runtime started stays done. Threads waiting for
 * any once share one queue: contention on a once is rare and brief, and each
 * waiter rechecks its own word. If the routine is cancelled, the word goes
 * back to 0 and a waiter runs the routine instead, as POSIX asks.
 */
#include "thread_int.h"

enum { ONCE_NOT_YET = 0, ONCE_RUNNING = 1, ONCE_DONE = 2 };

static struct gt_waitq once_waiters;

static void wake_all(void)
{
    struct gt_waiter *w;

    while ((w = gt_waitq_pop(&once_waiters)))
        gt_unpark(w->g);
}

static void once_cancelled(void *once)
{
    *(pthread_once_t *)once = ONCE_NOT_YET;
    wake_all();
}

SHIM_EXPORT int pthread_once(pthread_once_t *once, void (*routine)(void))
{
    struct gt_waiter w;

    if (!rt_green())
        return REAL(pthread_once)(once, routine);
    while (*once != ONCE_NOT_YET) {
        if (*once == ONCE_DONE)
            return 0;
        gt_waitq_push(&once_waiters, &w, gt_self());
        gt_park("pthread_once", once);
        if (gt_waitq_linked(&once_waiters, &w))
            gt_waitq_remove(&once_waiters, &w);
    }
    *once = ONCE_RUNNING;
    pthread_cleanup_push(once_cancelled, once);
    routine();
    pthread_cleanup_pop(0);
    *once = ONCE_DONE;
    wake_all();
    return 0;
}
