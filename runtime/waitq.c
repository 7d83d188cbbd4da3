/* waitq.c - FIFO queues of parked green threads.
 *
 * The queue is two pointers kept wherever its owner likes (inside a
 * pthread_mutex_t, say); the nodes live on the waiting threads' stacks, so
 * waiting allocates nothing. A node is linked iff it has a predecessor or is
 * the head; unlinked nodes have both links NULL.
 */
#include "rt_int.h"

void gt_waitq_push(struct gt_waitq *q, struct gt_waiter *w, gt_t *g)
{
    w->g = g;
    w->next = NULL;
    w->prev = q->tail;
    if (q->tail)
        q->tail->next = w;
    else
        q->head = w;
    q->tail = w;
}

void gt_waitq_remove(struct gt_waitq *q, struct gt_waiter *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        q->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        q->tail = w->prev;
    w->next = w->prev = NULL;
}

/* Waiters whose thread stayed behind in a fork's parent (GT_GONE) are
 * dropped on the way: whatever is handed to the one popped (a mutex, a
 * semaphore count) would otherwise go to a thread that never runs. */
struct gt_waiter *gt_waitq_pop(struct gt_waitq *q)
{
    struct gt_waiter *w;

    while ((w = q->head)) {
        gt_waitq_remove(q, w);
        if (w->g->state != GT_GONE)
            break;
    }
    return w;
}

bool gt_waitq_linked(const struct gt_waitq *q, const struct gt_waiter *w)
{
    return w->prev != NULL || q->head == w;
}
