/* park.c - stopping a green thread until something wakes it: a wait of
 * its own (gt_park, with a deadline, interruptible by cancellation or a
 * signal) and the wake-up (gt_unpark). A parked thread is off the run
 * queue; waking puts it at the tail. Whoever parks switches straight to
 * the next runnable thread (rt_pick_next, sched.c). */
#include <errno.h>

#include "rt_int.h"

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
        rt_switch(self, rt_pick_next(s));
        if (outside)
            s->outside_waiters--;
        note = self->sig_note;
        woke = self->sig_woke;
        self->sig_note = self->sig_woke = false;
        if (note && !self->signallable && rt_on_signal)
            rt_on_signal();
        if (!woke)
            return self->wake_reason;
        if (self->signallable)
            return EINTR;
        /* Resumed only to take signals: the wait goes on. */
    }
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
