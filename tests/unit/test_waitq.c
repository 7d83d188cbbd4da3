/* test_waitq.c - wait queues (runtime/waitq.c).
 *
 * Covers: an all-zero queue is a valid empty queue and pops NULL; FIFO order;
 * removal from the head, the middle and the tail; gt_waitq_linked() before a
 * push, after it, after a pop and after a remove; a queue emptied again is
 * all-zero; and, with the scheduler running, parked threads released one by
 * one from a queue resume in the order they queued; pop drops the waiters
 * of threads a fork left in the parent (GT_GONE).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "rt_int.h"

/* Threads for the queue-only tests: never run, only their state is read. */
static struct gt fake[4];
#define G(i) (&fake[i])

static bool all_zero(const struct gt_waitq *q)
{
    static const struct gt_waitq zero;

    return memcmp(q, &zero, sizeof(zero)) == 0;
}

Test(waitq, zeroed_queue_is_empty)
{
    struct gt_waitq q;

    memset(&q, 0, sizeof(q));
    cr_assert_null(gt_waitq_pop(&q));
    cr_assert(all_zero(&q));
}

Test(waitq, pops_in_fifo_order_with_thread_set)
{
    struct gt_waitq q = { 0 };
    struct gt_waiter w[4];

    for (int i = 0; i < 4; i++)
        gt_waitq_push(&q, &w[i], G(i));
    for (int i = 0; i < 4; i++) {
        struct gt_waiter *p = gt_waitq_pop(&q);

        cr_assert_eq(p, &w[i], "pop %d gave node %td", i, p ? p - w : -1);
        cr_assert_eq(p->g, G(i));
    }
    cr_assert_null(gt_waitq_pop(&q));
}

Test(waitq, empty_again_is_all_zero)
{
    struct gt_waitq q = { 0 };
    struct gt_waiter a, b;

    gt_waitq_push(&q, &a, G(0));
    gt_waitq_push(&q, &b, G(1));
    gt_waitq_pop(&q);
    gt_waitq_remove(&q, &b);
    cr_assert(all_zero(&q), "head %p tail %p", (void *)q.head, (void *)q.tail);
}

Test(waitq, remove_from_middle_keeps_order)
{
    struct gt_waitq q = { 0 };
    struct gt_waiter a, b, c;

    gt_waitq_push(&q, &a, G(0));
    gt_waitq_push(&q, &b, G(1));
    gt_waitq_push(&q, &c, G(2));
    gt_waitq_remove(&q, &b);
    cr_assert_eq(gt_waitq_pop(&q), &a);
    cr_assert_eq(gt_waitq_pop(&q), &c);
    cr_assert_null(gt_waitq_pop(&q));
}

Test(waitq, remove_head_and_tail)
{
    struct gt_waitq q = { 0 };
    struct gt_waiter a, b, c;

    gt_waitq_push(&q, &a, G(0));
    gt_waitq_push(&q, &b, G(1));
    gt_waitq_push(&q, &c, G(2));
    gt_waitq_remove(&q, &a);
    gt_waitq_remove(&q, &c);
    cr_assert_eq(q.head, &b);
    cr_assert_eq(q.tail, &b);
    /* Pushing after removing the tail must append after b, not after c. */
    gt_waitq_push(&q, &c, G(2));
    cr_assert_eq(gt_waitq_pop(&q), &b);
    cr_assert_eq(gt_waitq_pop(&q), &c);
    cr_assert_null(gt_waitq_pop(&q));
}

Test(waitq, pop_drops_threads_left_by_fork)
{
    struct gt_waitq q = { 0 };
    struct gt_waiter w[4];

    for (int i = 0; i < 4; i++)
        gt_waitq_push(&q, &w[i], G(i));
    fake[0].state = fake[2].state = fake[3].state = GT_GONE;
    cr_assert_eq(gt_waitq_pop(&q), &w[1]);
    cr_assert_null(gt_waitq_pop(&q));
    cr_assert(all_zero(&q));
    cr_assert_not(gt_waitq_linked(&q, &w[3]));
    fake[0].state = fake[2].state = fake[3].state = GT_RUNNING;
}

Test(waitq, linked_tracks_membership)
{
    struct gt_waitq q = { 0 };
    struct gt_waiter a = { 0 }, b = { 0 }, c = { 0 };

    cr_assert_not(gt_waitq_linked(&q, &a), "zeroed node reported linked");
    gt_waitq_push(&q, &a, G(0));
    gt_waitq_push(&q, &b, G(1));
    gt_waitq_push(&q, &c, G(2));
    cr_assert(gt_waitq_linked(&q, &a), "head not linked");
    cr_assert(gt_waitq_linked(&q, &b), "middle not linked");
    cr_assert(gt_waitq_linked(&q, &c), "tail not linked");

    cr_assert_eq(gt_waitq_pop(&q), &a);
    cr_assert_not(gt_waitq_linked(&q, &a), "popped node still linked");
    cr_assert(gt_waitq_linked(&q, &b), "new head not linked");

    gt_waitq_remove(&q, &c);
    cr_assert_not(gt_waitq_linked(&q, &c), "removed node still linked");
    cr_assert(gt_waitq_linked(&q, &b), "sole node not linked");

    gt_waitq_remove(&q, &b);
    cr_assert_not(gt_waitq_linked(&q, &b), "last removed node still linked");
    cr_assert_null(a.next);
    cr_assert_null(a.prev);
}

/* ---- with the scheduler: parked threads released from a queue ---- */

static struct gt_waitq line;
static char order[8];
static int norder;

static void *queue_and_park(void *arg)
{
    struct gt_waiter w;

    gt_waitq_push(&line, &w, gt_self());
    gt_park("waitq test", &line);
    order[norder++] = (char)(uintptr_t)arg;
    return NULL;
}

Test(waitq, released_waiters_resume_in_queue_order)
{
    struct rt_config cfg = { 0 };
    const char *names = "pqrs";
    gt_t *g[4];
    struct gt_waiter *w;

    cr_assert_eq(rt_start(&cfg), 0);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(gt_spawn(&g[i], NULL, queue_and_park, (void *)(uintptr_t)names[i]), 0);
    gt_yield();                     /* all four queue up and park */
    cr_assert_eq(norder, 0, "a waiter ran without being unparked");
    /* Release them one by one; each must run before the next is released. */
    while ((w = gt_waitq_pop(&line))) {
        gt_unpark(w->g);
        gt_yield();
    }
    for (int i = 0; i < 4; i++)
        cr_assert_eq(gt_join(g[i], NULL), 0);
    cr_assert_str_eq(order, "pqrs");
}
