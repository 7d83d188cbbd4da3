/* signal.c - signal masks per green thread, and the hooks the shim builds
 * signal delivery on.
 *
 * The OS thread's mask follows the green thread that runs (set on a switch
 * only when it differs). While the hub runs, it is what every live thread
 * blocks, so that a signal some thread would take reaches the process while
 * all of them wait: per-signal counts of the threads that block it keep that
 * cheap, whatever the number of threads.
 *
 * The runtime knows nothing of handlers: gt_signal() has a thread take its
 * signals (the on_signal hook, run on its own stack), and rt_notify(), safe
 * in a signal handler, has the hub call the on_notify hook soon.
 */
#include <signal.h>
#include <string.h>

#include "rt_int.h"

/* Count a thread's blocked signals in (+1) or out (-1): a few bits at most,
 * usually none. */
void rt_count_mask(struct rt_sched *s, uint64_t mask, int dir)
{
    int b;

    for (; mask; mask &= mask - 1) {
        b = __builtin_ctzll(mask);
        if ((s->mask_count[b] += (uint32_t)dir) == 0)
            s->mask_any &= ~(1ULL << b);
        else
            s->mask_any |= 1ULL << b;
    }
}

/* What every live thread blocks. */
static uint64_t hub_sigmask(struct rt_sched *s)
{
    uint64_t mask = 0, any;
    int b;

    for (any = s->mask_any; any; any &= any - 1) {
        b = __builtin_ctzll(any);
        if (s->mask_count[b] == s->stats.live)
            mask |= 1ULL << b;
    }
    return mask;
}

/* The OS thread's signal mask follows the green thread that runs; while
 * the hub runs, a signal any thread would take gets through. rt_switch
 * calls this only when the mask may change (rt_int.h). */
void rt_apply_sigmask(struct rt_sched *s, gt_t *to)
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

void (*rt_on_signal)(void);
static void (*on_notify)(void);

void rt_signal_hooks(void (*signal_hook)(void), void (*notify_hook)(void))
{
    rt_on_signal = signal_hook;
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
    if (g->state == GT_PARKED) {
        gt_unpark(g);
        g->sig_woke = true;
    }
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

uint64_t gt_sigmask(const gt_t *g)
{
    return g->sigmask;
}

void gt_set_sigmask(uint64_t mask)
{
    rt_count_mask(rt_sched, rt_sched->current->sigmask, -1);
    rt_count_mask(rt_sched, mask, 1);
    rt_sched->current->sigmask = mask;
    rt_apply_sigmask(rt_sched, rt_sched->current);
}

uint64_t rt_os_sigmask(void)
{
    sigset_t set;
    uint64_t mask = 0;

    sigprocmask(SIG_SETMASK, NULL, &set);
    memcpy(&mask, &set, sizeof(mask));
    return mask;
}

void rt_signal_init(struct rt_sched *s)
{
    uv_async_init(&s->loop, &s->notify, notified);
}
