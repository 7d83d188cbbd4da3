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

struct gt_waiter *gt_waitq_pop(struct gt_waitq *q)
{
    struct gt_waiter *w = q->head;

    if (w)
        gt_waitq_remove(q, w);
    return w;
}

bool gt_waitq_linked(const struct gt_waitq *q, const struct gt_waiter *w)
{
    return w->prev != NULL || q->head == w;
}
