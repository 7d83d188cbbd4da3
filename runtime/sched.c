/* sched.c - the scheduler of one managed OS thread: switching, the run
 * queue, the hub, yielding. Threads are made and ended in thread.c, parked
 * and woken in park.c; their signal masks and the signal hooks are in
 * signal.c.
 *
 * Switching: jump_fcontext(to, from) saves the running context on its own stack
 * and resumes `to`; the resumed side learns where it came from (transfer_t) and
 * stores that context back into the thread it came from. Every resumption goes
 * through rt_resumed(), which is also where a finished detached thread's stack is
 * released: only once we are off it.
 *
 * Scheduling: a FIFO run queue. A thread that parks or yields switches straight
 * to the next runnable one; the hub (hub_main) runs only when nothing is
 * runnable, or when the loop has not been polled for POLL_INTERVAL while threads
 * kept each other busy, so that I/O is never starved by threads that only yield.
 * That poll also waits for the end of a round: until every thread that was
 * runnable at the last poll has had its turn (see poll_due).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "rt_int.h"

#define HUB_STACK_SIZE (256 * 1024)
#define POLL_INTERVAL 1000000       /* ns between loop polls under load */
#define POLL_CHECK_EVERY 64         /* direct switches between clock reads */
#define UNLIMITED_STACK_SIZE (2 * 1024 * 1024)   /* glibc's choice when RLIMIT_STACK is unlimited */

__thread int rt_mode __attribute__((tls_model("initial-exec")));
__thread struct rt_sched *rt_sched __attribute__((tls_model("initial-exec")));
__thread void *rt_self_user __attribute__((tls_model("initial-exec")));

uint64_t rt_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t rt_deadline_after(uint64_t ns)
{
    uint64_t now = rt_now();

    return ns > UINT64_MAX - now ? UINT64_MAX : now + ns;
}

void rt_runq_push(struct rt_runq *q, gt_t *g)
{
    g->round = q->round;
    g->next = NULL;
    if (q->tail)
        q->tail->next = g;
    else
        q->head = g;
    q->tail = g;
}

gt_t *rt_runq_pop(struct rt_runq *q)
{
    gt_t *g = q->head;

    if (g) {
        q->head = g->next;
        if (!q->head)
            q->tail = NULL;
        else        /* the next to run: its struct is on a stack page gone cold */
            __builtin_prefetch(q->head, 1);
    }
    return g;
}


/* Called on the resumed side of every switch. */
void rt_resumed(transfer_t t)
{
    gt_t *from = t.data;

    from->ctx = t.fctx;
    if (from->state == GT_DONE && from->detached)
        rt_release(from);
}


void rt_switch(gt_t *from, gt_t *to)
{
    struct rt_sched *s = rt_sched;
    transfer_t t;

    from->saved_errno = errno;
    if (s->state_len) {
        memcpy(from->state_copy, s->state_addr, s->state_len);
        memcpy(s->state_addr, to->state_copy, s->state_len);
    }
    rt_switch_sigmask(s, to);
    s->current = to;
    rt_self_user = to->user;
    to->state = GT_RUNNING;
    rt_mode = to == &s->hub ? RT_MODE_OFF : RT_MODE_GREEN;
    s->stats.switches++;
    t = jump_fcontext(to->ctx, from);
    rt_resumed(t);
    errno = from->saved_errno;
}

/* Whether the loop is due a poll while threads are runnable: POLL_INTERVAL
 * has passed, and the round is over: every thread queued before the last
 * poll (the threads it woke among them) has had its turn, which the head of
 * the FIFO run queue tells. Polling sooner would not run anyone sooner (what
 * it wakes queues behind them all); under load (a round longer than the
 * interval) it would only take the ready fds in smaller batches, with more
 * epoll_wait calls per request. A round always ends: the queue is FIFO. */
static bool poll_due(struct rt_sched *s)
{
    gt_t *head = s->runq.head;

    return (!head || head->round == s->runq.round) && rt_now() - s->last_poll > POLL_INTERVAL;
}

/* The next thread to run after the current one stops: the head of the run
 * queue, or the hub when nothing is runnable or I/O is due a look. */
gt_t *rt_pick_next(struct rt_sched *s)
{
    gt_t *g;

    if (++s->direct_switches % POLL_CHECK_EVERY == 0 && poll_due(s))
        return &s->hub;
    g = rt_runq_pop(&s->runq);
    return g ? g : &s->hub;
}

/* One round of the hub: poll the loop (blocking only when nothing is
 * runnable), then wake the threads whose deadlines passed. */
static void hub_poll(struct rt_sched *s)
{
    s->stats.hub_runs++;
    if (s->runq.head) {
        uv_run(&s->loop, UV_RUN_NOWAIT);
    } else {
        if (s->outside_waiters == 0)
            rt_deadlock(s);
        rt_loop_wait(s);
    }
    rt_timer_expire(s);
    s->last_poll = rt_now();
    s->direct_switches = 0;
    s->runq.round++;                /* the threads queued so far make a round */
}

static void hub_main(transfer_t t)
{
    struct rt_sched *s = rt_sched;
    gt_t *g;

    rt_resumed(t);
    for (;;) {
        hub_poll(s);
        g = rt_runq_pop(&s->runq);
        if (g)
            rt_switch(&s->hub, g);
    }
}


void gt_yield(void)
{
    struct rt_sched *s = rt_sched;
    gt_t *self = s->current, *next;

    self->state = GT_RUNNABLE;
    rt_runq_push(&s->runq, self);
    next = rt_pick_next(s);
    if (next == self)
        self->state = GT_RUNNING;   /* alone: nothing to switch to */
    else
        rt_switch(self, next);
}

void gt_checkpoint(void)
{
    struct rt_sched *s = rt_sched;
    gt_t *self = s->current;

    if (rt_now() - s->last_poll <= POLL_INTERVAL)
        return;
    self->state = GT_RUNNABLE;
    rt_runq_push(&s->runq, self);
    rt_switch(self, &s->hub);
}

gt_t *gt_self(void)
{
    return rt_sched->current;
}


static size_t default_stack_size(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_STACK, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return UNLIMITED_STACK_SIZE;
    return rl.rlim_cur < RT_MIN_STACK_SIZE ? RT_MIN_STACK_SIZE : rl.rlim_cur;
}


int rt_start(const struct rt_config *cfg)
{
    struct rt_sched *s;
    struct rt_stack st;
    int err;

    if (rt_sched)
        return EBUSY;
    s = calloc(1, sizeof(*s));
    if (!s)
        return ENOMEM;
    s->cfg = *cfg;
    if (!s->cfg.default_stack_size)
        s->cfg.default_stack_size = default_stack_size();
    err = rt_fds_loop_init(&s->loop);
    if (err) {
        free(s);
        return -err;
    }
    uv_timer_init(&s->loop, &s->timer);
    rt_signal_init(s);
    err = rt_stack_alloc(&st, HUB_STACK_SIZE, rt_page_size());
    if (err) {
        uv_loop_close(&s->loop);
        free(s);
        return err;
    }
    s->hub.stack = st;
    s->hub.ctx = make_fcontext(st.base + st.size, st.size - st.guard, hub_main);
    s->hub.stack.base = NULL;       /* never released */
    s->main.state = GT_RUNNING;
    s->main.id = s->next_id = 1;
    s->main.sigmask = s->applied_mask = rt_os_sigmask();
    rt_count_mask(s, s->main.sigmask, 1);
    rt_all_link(s, &s->main);
    s->current = &s->main;
    rt_self_user = s->main.user;
    s->stats.live = s->stats.peak_live = 1;
    s->last_poll = rt_now();
    rt_sched = s;
    rt_mode = RT_MODE_GREEN;
    if (s->cfg.debug)
        rt_overflow_report();
    return 0;
}

void rt_get_stats(struct rt_stats *st)
{
    *st = rt_sched->stats;
}
