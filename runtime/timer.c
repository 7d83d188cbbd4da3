/* timer.c - deadlines, and how the hub waits on the loop.
 *
 * Parked threads with a deadline sit in a binary min-heap keyed by nanoseconds.
 * One uv_timer_t wakes the loop for the earliest deadline. libuv counts whole
 * milliseconds, so the timer is set to the whole milliseconds left, rounded
 * down (it may fire early, never late); the last sub-millisecond stretch is
 * waited with ppoll() on the loop's backend fd, which takes a timespec, and the
 * loop then runs without blocking. A 100 us sleep thus takes about 100 us.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>

#include "rt_int.h"

#define NS_PER_MS 1000000u

static bool earlier(gt_t *a, gt_t *b)
{
    return a->deadline < b->deadline;
}

static void heap_set(struct rt_sched *s, size_t i, gt_t *g)
{
    s->heap[i] = g;
    g->heap_index = i;
}

static void sift_up(struct rt_sched *s, size_t i)
{
    gt_t *g = s->heap[i];

    while (i > 1 && earlier(g, s->heap[i / 2])) {
        heap_set(s, i, s->heap[i / 2]);
        i /= 2;
    }
    heap_set(s, i, g);
}

static void sift_down(struct rt_sched *s, size_t i)
{
    gt_t *g = s->heap[i];
    size_t child;

    while ((child = 2 * i) <= s->heap_len) {
        if (child < s->heap_len && earlier(s->heap[child + 1], s->heap[child]))
            child++;
        if (!earlier(s->heap[child], g))
            break;
        heap_set(s, i, s->heap[child]);
        i = child;
    }
    heap_set(s, i, g);
}

void rt_timer_insert(struct rt_sched *s, gt_t *g, uint64_t deadline)
{
    gt_t **grown;
    size_t cap;

    if (s->heap_len + 1 >= s->heap_cap) {
        cap = s->heap_cap ? 2 * s->heap_cap : 64;
        grown = realloc(s->heap, cap * sizeof(*grown));
        if (!grown)
            abort();                /* cannot wait without a place in the heap */
        s->heap = grown;
        s->heap_cap = cap;
    }
    g->deadline = deadline;
    heap_set(s, ++s->heap_len, g);
    sift_up(s, s->heap_len);
}

void rt_timer_remove(struct rt_sched *s, gt_t *g)
{
    size_t i = g->heap_index;
    gt_t *last;

    if (!i)
        return;
    g->heap_index = 0;
    last = s->heap[s->heap_len--];
    if (last == g)
        return;
    heap_set(s, i, last);
    sift_down(s, i);
    sift_up(s, last->heap_index);
}

/* Wake every thread whose deadline has passed. */
void rt_timer_expire(struct rt_sched *s)
{
    uint64_t now;
    gt_t *g;

    if (!s->heap_len)
        return;
    now = rt_now();
    while (s->heap_len && s->heap[1]->deadline <= now) {
        g = s->heap[1];
        rt_timer_remove(s, g);
        g->wake_reason = ETIMEDOUT;
        gt_unpark(g);
    }
}

static void on_timer(uv_timer_t *timer)
{
    (void)timer;                    /* waking the loop was the point */
}

/* Block in the loop until I/O arrives or the earliest deadline passes. */
void rt_loop_wait(struct rt_sched *s)
{
    uint64_t now, left;
    struct timespec ts;
    struct pollfd pfd;

    if (!s->heap_len) {
        uv_timer_stop(&s->timer);
        uv_run(&s->loop, UV_RUN_ONCE);
        return;
    }
    now = rt_now();
    left = s->heap[1]->deadline > now ? s->heap[1]->deadline - now : 0;
    if (left >= NS_PER_MS) {
        /* uv_run runs due timers before it polls: if the time ran out in
         * between, the timer has fired and the poll would block without
         * end. Repeating every millisecond bounds that poll. */
        uv_update_time(&s->loop);
        uv_timer_start(&s->timer, on_timer, left / NS_PER_MS, 1);
        uv_run(&s->loop, UV_RUN_ONCE);
        return;
    }
    if (left) {
        ts.tv_sec = 0;
        ts.tv_nsec = (long)left;
        pfd.fd = uv_backend_fd(&s->loop);
        pfd.events = POLLIN;
        ppoll(&pfd, 1, &ts, NULL);
    }
    uv_run(&s->loop, UV_RUN_NOWAIT);
}
