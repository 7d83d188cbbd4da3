/* sched.c - green threads and the scheduler of one managed OS thread.
 *
 * Switching: jump_fcontext(to, from) saves the running context on its own stack
 * and resumes `to`; the resumed side learns where it came from (transfer_t) and
 * stores that context back into the thread it came from. Every resumption goes
 * through resumed(), which is also where a finished detached thread's stack is
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
#include <signal.h>
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
#define MIN_STACK_SIZE 16384        /* PTHREAD_STACK_MIN */

__thread int rt_mode __attribute__((tls_model("initial-exec")));
__thread struct rt_sched *rt_sched __attribute__((tls_model("initial-exec")));

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
    }
    return g;
}

static void all_link(struct rt_sched *s, gt_t *g)
{
    g->all_prev = NULL;
    g->all_next = s->all;
    if (s->all)
        s->all->all_prev = g;
    s->all = g;
}

static void all_unlink(struct rt_sched *s, gt_t *g)
{
    if (g->all_prev)
        g->all_prev->all_next = g->all_next;
    else
        s->all = g->all_next;
    if (g->all_next)
        g->all_next->all_prev = g->all_prev;
}

/* A finished thread nobody will join: its stack can go once we are off it. */
static void release(gt_t *g)
{
    struct rt_stack st = g->stack;

    if (st.base && !st.borrowed)
        rt_stack_free(&st);
}

/* Called on the resumed side of every switch. */
static void resumed(transfer_t t)
{
    gt_t *from = t.data;

    from->ctx = t.fctx;
    if (from->state == GT_DONE && from->detached)
        release(from);
}

/* Count a thread's blocked signals in (+1) or out (-1): a few bits at most,
 * usually none. */
static void count_mask(struct rt_sched *s, uint64_t mask, int dir)
{
    int b;

    for (; mask; mask &= mask - 1) {
        b = __builtin_ctzll(mask);
        if ((s->mask_count[b] += (uint32_t)dir) == 0)
            s->mask_any &= ~(1ULL << b);
        else
            s->mask_any |= 1ULL << b;
    }
    s->mask_live += (uint64_t)(int64_t)dir;
}

/* What every live thread blocks. */
static uint64_t hub_sigmask(struct rt_sched *s)
{
    uint64_t mask = 0, any;
    gt_t *g;
    int b;

    if (s->mask_live != s->stats.live) {     /* a fork child: count again */
        memset(s->mask_count, 0, sizeof(s->mask_count));
        s->mask_any = s->mask_live = 0;
        for (g = s->all; g; g = g->all_next)
            count_mask(s, g->sigmask, 1);
    }
    for (any = s->mask_any; any; any &= any - 1) {
        b = __builtin_ctzll(any);
        if (s->mask_count[b] == s->mask_live)
            mask |= 1ULL << b;
    }
    return mask;
}

/* The OS thread's signal mask follows the green thread that runs; while
 * the hub runs, a signal any thread would take gets through. */
static void switch_sigmask(struct rt_sched *s, gt_t *to)
{
    uint64_t mask = to == &s->hub ? hub_sigmask(s) : to->sigmask;
    sigset_t set;

    if (mask == s->applied_mask)
        return;
    sigemptyset(&set);
    memcpy(&set, &mask, sizeof(mask));
    RT_CALL_OUT(sigprocmask(SIG_SETMASK, &set, NULL));
    s->applied_mask = mask;
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
    switch_sigmask(s, to);
    s->current = to;
    to->state = GT_RUNNING;
    rt_mode = to == &s->hub ? RT_MODE_OFF : RT_MODE_GREEN;
    s->stats.switches++;
    t = jump_fcontext(to->ctx, from);
    resumed(t);
    errno = from->saved_errno;
}

/* Whether the loop is due a poll while threads are runnable: POLL_INTERVAL
 * has passed, and the round is over: every thread queued before the last
 * poll (the threads it woke among them) has had its turn, which the head of
 * the FIFO run queue tells. Polling sooner would not run anyone sooner (what
 * it wakes queues behind them all), but under load (a round longer than the
 * interval) it would find the fds of the threads woken by the last poll
 * still ready, their threads not yet run, and on_poll (fdw.c) would stop
 * watching them: an epoll_ctl DEL, and an ADD at their next wait, per
 * request (an echo server at 1,000 connections: 1.4x the CPU per request
 * of an epoll server before, 1.0-1.2x after). A round always ends: the
 * queue is FIFO. */
static bool poll_due(struct rt_sched *s)
{
    gt_t *head = s->runq.head;

    return (!head || head->round == s->runq.round) && rt_now() - s->last_poll > POLL_INTERVAL;
}

/* The next thread to run after the current one stops: the head of the run
 * queue, or the hub when nothing is runnable or I/O is due a look. */
static gt_t *pick_next(struct rt_sched *s)
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

    resumed(t);
    for (;;) {
        hub_poll(s);
        g = rt_runq_pop(&s->runq);
        if (g)
            rt_switch(&s->hub, g);
    }
}

static void (*on_signal)(void), (*on_notify)(void);

int rt_park(uint64_t deadline, bool outside, const char *what, const void *obj)
{
    struct rt_sched *s = rt_sched;
    gt_t *self = s->current;
    bool note, woke;

    for (;;) {
        if (self->interruptible && self->interrupted)
            return ECANCELED;
        if (deadline && deadline <= rt_now())
            return ETIMEDOUT;
        self->wake_reason = 0;
        self->wait_what = what;
        self->wait_obj = obj;
        if (deadline)
            rt_timer_insert(s, self, deadline);
        if (outside)
            s->outside_waiters++;
        self->state = GT_PARKED;
        rt_switch(self, pick_next(s));
        if (outside)
            s->outside_waiters--;
        note = self->sig_note;
        woke = self->sig_woke;
        self->sig_note = self->sig_woke = false;
        if (note && !self->signallable && on_signal)
            on_signal();
        if (!woke)
            return self->wake_reason;
        if (self->signallable)
            return EINTR;
        /* Resumed only to take signals: the wait goes on. */
    }
}

void rt_signal_hooks(void (*signal_hook)(void), void (*notify_hook)(void))
{
    on_signal = signal_hook;
    on_notify = notify_hook;
}

bool gt_signallable(bool on)
{
    gt_t *self = rt_sched->current;
    bool was = self->signallable;

    self->signallable = on;
    return was;
}

void gt_signal(gt_t *g)
{
    g->sig_note = true;
    if (g->state == GT_PARKED && gt_unpark(g))
        g->sig_woke = true;
}

static void notified(uv_async_t *a)
{
    (void)a;
    if (on_notify)
        on_notify();
}

void rt_notify(void)
{
    if (rt_sched)
        uv_async_send(&rt_sched->notify);
}

gt_t *gt_running(void)
{
    struct rt_sched *s = rt_sched;

    return s && s->current != &s->hub ? s->current : NULL;
}

bool rt_in_hub(void)
{
    struct rt_sched *s = rt_sched;

    return s && s->current == &s->hub;
}

gt_t *gt_next_live(gt_t *g)
{
    return g ? g->all_next : rt_sched->all;
}

void gt_park(const char *what, const void *obj)
{
    rt_park(0, false, what, obj);
}

int gt_park_until(uint64_t deadline, const char *what, const void *obj)
{
    return rt_park(deadline, deadline != 0, what, obj);
}

bool gt_unpark(gt_t *g)
{
    if (g->state != GT_PARKED) {
        /* Runnable only to take signals: this wake-up ends its wait. */
        if (!g->sig_woke)
            return false;
        g->sig_woke = false;
        return true;
    }
    if (g->heap_index)
        rt_timer_remove(rt_sched, g);
    g->state = GT_RUNNABLE;
    rt_runq_push(&rt_sched->runq, g);
    return true;
}

bool gt_parked(const gt_t *g)
{
    return g->state == GT_PARKED;
}

void gt_set_interrupt(gt_t *g, bool on)
{
    g->interrupted = on;
    if (on && g->interruptible && g->state == GT_PARKED) {
        gt_unpark(g);
        g->wake_reason = ECANCELED;
    }
}

bool gt_interruptible(bool on)
{
    gt_t *self = rt_sched->current;
    bool was = self->interruptible;

    self->interruptible = on;
    return was;
}

void gt_yield(void)
{
    struct rt_sched *s = rt_sched;
    gt_t *self = s->current, *next;

    self->state = GT_RUNNABLE;
    rt_runq_push(&s->runq, self);
    next = pick_next(s);
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

int gt_sleep(uint64_t ns)
{
    uint64_t deadline;
    int rc;

    if (ns == 0) {
        gt_yield();
        return 0;
    }
    deadline = rt_deadline_after(ns);
    while ((rc = rt_park(deadline, true, "sleep", NULL)) != ETIMEDOUT)
        if (rc == ECANCELED || rc == EINTR)
            return rc;
    return 0;
}

gt_t *gt_self(void)
{
    return rt_sched->current;
}

uint64_t gt_id(const gt_t *g)
{
    return g->id;
}

bool gt_finished(const gt_t *g)
{
    return g->state == GT_DONE;
}

bool gt_detached(const gt_t *g)
{
    return g->detached;
}

/* Every pthread_create copies its creator's name (as the kernel copies
 * comm): a plain bounded copy, at a fraction of snprintf's cost. */
void gt_set_name(gt_t *g, const char *name)
{
    size_t len = strnlen(name, sizeof(g->name) - 1);

    memmove(g->name, name, len);
    g->name[len] = '\0';
}

const char *gt_name(const gt_t *g)
{
    return g->name;
}

bool gt_stack(const gt_t *g, void **addr, size_t *size, size_t *guard)
{
    if (!g->stack.base)
        return false;
    *addr = g->stack.base + g->stack.guard;
    *size = g->stack.size - g->stack.guard;
    *guard = g->stack.guard;
    return true;
}

uint64_t gt_sigmask(const gt_t *g)
{
    return g->sigmask;
}

void gt_set_sigmask(uint64_t mask)
{
    count_mask(rt_sched, rt_sched->current->sigmask, -1);
    count_mask(rt_sched, mask, 1);
    rt_sched->current->sigmask = mask;
    switch_sigmask(rt_sched, rt_sched->current);
}

void *gt_user(gt_t *g)
{
    return g->user;
}

int rt_thread_state(void *addr, size_t len)
{
    struct rt_sched *s = rt_sched;
    gt_t *g;

    if (len > RT_THREAD_STATE_MAX || s->state_len)
        return EINVAL;
    /* Every thread alive now starts from the state as it is. */
    for (g = s->all; g; g = g->all_next)
        memcpy(g->state_copy, addr, len);
    s->state_addr = addr;
    s->state_len = len;
    return 0;
}

static void gt_entry(transfer_t t)
{
    gt_t *self;

    resumed(t);
    self = rt_sched->current;
    errno = 0;
    gt_exit(self->fn(self->arg));
}

int gt_spawn(gt_t **out, const struct gt_attr *attr, gt_fn fn, void *arg)
{
    struct rt_sched *s = rt_sched;
    size_t size = attr && attr->stack_size ? attr->stack_size : s->cfg.default_stack_size;
    size_t guard = attr && attr->guard_size ? attr->guard_size : rt_page_size();

    if (guard == GT_NO_GUARD)
        guard = 0;
    struct rt_stack st;
    char *top;
    gt_t *g;
    int err;

    if (size < MIN_STACK_SIZE)
        return EINVAL;
    if (attr && attr->stack) {
        st = (struct rt_stack){ .base = attr->stack, .size = size, .borrowed = true };
    } else if ((err = rt_stack_alloc(&st, size, guard))) {
        return err;
    }
    /* The thread's own struct sits at the top of its stack, as glibc's does:
     * one page then holds both it and the first frames. */
    top = st.base + st.size;
    g = (gt_t *)((uintptr_t)(top - sizeof(*g)) & ~(uintptr_t)63);
    memset(g, 0, sizeof(*g));
    g->stack = st;
    g->fn = fn;
    g->arg = arg;
    g->detached = attr && attr->detached;
    g->id = ++s->next_id;
    g->sigmask = s->current->sigmask;
    count_mask(s, g->sigmask, 1);
    if (s->state_len)
        memcpy(g->state_copy, s->state_addr, s->state_len);
    g->ctx = make_fcontext(g, (size_t)((char *)g - (st.base + st.guard)), gt_entry);
    g->state = GT_RUNNABLE;
    all_link(s, g);
    rt_runq_push(&s->runq, g);
    s->stats.spawned++;
    if (++s->stats.live > s->stats.peak_live)
        s->stats.peak_live = s->stats.live;
    *out = g;
    return 0;
}

_Noreturn void gt_exit(void *result)
{
    struct rt_sched *s = rt_sched;
    gt_t *self = s->current;

    if (s->cfg.on_exit)
        s->cfg.on_exit();
    self->result = result;
    self->state = GT_DONE;
    all_unlink(s, self);
    count_mask(s, self->sigmask, -1);
    /* As glibc does: the last thread to finish ends the process. */
    if (--s->stats.live == 0)
        exit(0);
    if (self->joiner)
        gt_unpark(self->joiner);
    rt_switch(self, pick_next(s));
    abort();                        /* a finished thread is never resumed */
}

int gt_join_until(gt_t *g, uint64_t deadline, bool try, void **result)
{
    gt_t *self = rt_sched->current;
    int rc = 0;

    if (g->state != GT_DONE && try)
        return EBUSY;               /* as glibc: before anything else */
    if (g == self)
        return EDEADLK;
    if (g->detached || g->joiner || g->joined)
        return EINVAL;
    g->joiner = self;
    while (g->state != GT_DONE && rc != ETIMEDOUT && rc != ECANCELED)
        rc = rt_park(deadline, deadline != 0, "join", g);
    g->joiner = NULL;
    if (g->state != GT_DONE)
        return rc;
    g->joined = true;
    if (result)
        *result = g->result;
    release(g);
    return 0;
}

int gt_join(gt_t *g, void **result)
{
    return gt_join_until(g, 0, false, result);
}

int gt_detach(gt_t *g)
{
    if (g->detached || g->joined)
        return EINVAL;
    g->detached = true;
    if (g->state == GT_DONE)
        release(g);
    return 0;
}

static size_t default_stack_size(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_STACK, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return UNLIMITED_STACK_SIZE;
    return rl.rlim_cur < MIN_STACK_SIZE ? MIN_STACK_SIZE : rl.rlim_cur;
}

static uint64_t current_sigmask(void)
{
    sigset_t set;
    uint64_t mask = 0;

    sigprocmask(SIG_SETMASK, NULL, &set);
    memcpy(&mask, &set, sizeof(mask));
    return mask;
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
    uv_async_init(&s->loop, &s->notify, notified);
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
    s->main.sigmask = s->applied_mask = current_sigmask();
    count_mask(s, s->main.sigmask, 1);
    all_link(s, &s->main);
    s->current = &s->main;
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
