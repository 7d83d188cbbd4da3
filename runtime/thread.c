/* thread.c - green threads: made, ended, joined, and what they carry.
 *
 * A thread's struct gt sits at the top of its own stack, as glibc puts its
 * thread descriptor: one page then holds both it and the first frames. The
 * stack of a finished thread goes back to the cache once it is joined, or at
 * once when detached (from the next thread to run: rt_release() in
 * rt_resumed(), sched.c, since nobody can free the stack they stand on).
 * Every live thread is on one list, for the deadlock report, the signal
 * masks and rt_thread_state().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rt_int.h"

void rt_all_link(struct rt_sched *s, gt_t *g)
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
void rt_release(gt_t *g)
{
    struct rt_stack st = g->stack;

    if (st.base && !st.borrowed)
        rt_stack_free(&st);
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

    rt_resumed(t);
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

    if (size < RT_MIN_STACK_SIZE)
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
    rt_count_mask(s, g->sigmask, 1);
    if (s->state_len)
        memcpy(g->state_copy, s->state_addr, s->state_len);
    g->ctx = make_fcontext(g, (size_t)((char *)g - (st.base + st.guard)), gt_entry);
    g->state = GT_RUNNABLE;
    rt_all_link(s, g);
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
    rt_count_mask(s, self->sigmask, -1);
    /* As glibc does: the last thread to finish ends the process. */
    if (--s->stats.live == 0)
        exit(0);
    if (self->joiner)
        gt_unpark(self->joiner);
    rt_switch(self, rt_pick_next(s));
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
        rc = gt_park_until(deadline, "join", g);
    g->joiner = NULL;
    if (g->state != GT_DONE)
        return rc;
    g->joined = true;
    if (result)
        *result = g->result;
    rt_release(g);
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
        rt_release(g);
    return 0;
}
