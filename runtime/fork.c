/* fork.c - the runtime in the child of a fork.
 *
 * fork copies the whole address space but only the calling OS thread, so in
 * the child the green thread that forked is the only one left, holding a copy
 * of the parent's runtime. rt_fork_child() turns that copy into the child's
 * own runtime:
 *
 *   - The loop. The child's copy of the loop's epoll fd names the parent's
 *     epoll instance: any registration the child added or removed would change
 *     what the parent's loop watches. uv_loop_fork() closes that fd, and the
 *     loop's eventfd and signal pipe, before anything touches them, then
 *     gives the loop new ones; the loop's handles stay valid. It is libuv's
 *     own answer and knows the private fds of whichever libuv is loaded
 *     (later versions add io_uring rings). A brand-new loop would instead
 *     need the old one's fds closed by hand through libuv's internals:
 *     uv_loop_close() refuses a loop that still has handles, and closing the
 *     handles first would epoll_ctl(DEL) on the shared instance.
 *   - The fd table is emptied without waking anyone (its waiters stayed in
 *     the parent), and fdw's own epoll instance, shared with the parent as
 *     the loop's was, is replaced by a new one under the same number (the
 *     loop's watch on it is renewed by uv_loop_fork). Entries and their
 *     registrations come back on demand.
 *   - Every other green thread becomes GT_GONE: never runnable, never
 *     finished. What would wake one (an unlock handing a mutex over, a fd
 *     event) finds nothing to run; a join on one waits for good, as glibc's
 *     join does in a fork child, and the deadlock report says so. Their stacks
 *     stay mapped, as a native fork child keeps the other threads' stacks.
 *   - The run queue, the deadline heap, the count of threads waiting on the
 *     outside, the hub's signal-mask counts and the statistics start from
 *     the one thread alive: the
 *     deadlock detector and "the last thread to finish ends the process" must
 *     count the child's threads, not the parent's.
 *
 * The hub's context is kept: it is parked in its loop (hub_main), the only
 * place it ever switches out, and resumes there with the renewed loop.
 *
 * The renewed loop's fds are kept out of the program's way as the first
 * ones were (fds.c).
 */
#include <string.h>

#include "rt_int.h"

int rt_fork_child(void)
{
    struct rt_sched *s = rt_sched;
    gt_t *self = s->current, *g;
    int err;

    RT_CALL_OUT(err = -rt_fds_loop_fork(&s->loop));
    if (!err)
        err = fdw_fork_child();
    if (err) {
        rt_mode = RT_MODE_OFF;      /* nothing may touch the shared instance */
        return err;
    }
    for (g = s->all; g; g = g->all_next)
        if (g != self)
            g->state = GT_GONE;
    self->all_next = self->all_prev = NULL;
    s->all = self;
    /* The hub's mask counts this thread alone now. */
    memset(s->mask_count, 0, sizeof(s->mask_count));
    s->mask_any = 0;
    rt_count_mask(s, self->sigmask, 1);
    s->runq.head = s->runq.tail = NULL;
    s->heap_len = 0;
    s->outside_waiters = 0;
    s->direct_switches = 0;
    s->last_poll = rt_now();
    s->stats = (struct rt_stats){ .live = 1, .peak_live = 1 };
    return 0;
}
