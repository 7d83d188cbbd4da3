/* deadlock.c - the report printed when no green thread can ever run again.
 *
 * The hub calls rt_deadlock() when nothing is runnable and no parked thread
 * waits on anything from outside (an fd, a deadline): every live thread waits
 * on another one. Like Go's "all goroutines are asleep", say so, name each
 * thread and what it waits on, and exit rather than hang.
 */
#include <stdio.h>
#include <unistd.h>

#include "rt_int.h"

#define RT_DEADLOCK_STATUS 3

_Noreturn void rt_deadlock(struct rt_sched *s)
{
    gt_t *g;

    fprintf(stderr, "greenrun: deadlock: all %llu green threads are blocked "
            "and nothing can wake them\n", (unsigned long long)s->stats.live);
    for (g = s->all; g; g = g->all_next)
        fprintf(stderr, "greenrun:   thread %llu%s%s%s: waiting on %s %p\n",
                (unsigned long long)g->id, g->name[0] ? " (" : "", g->name,
                g->name[0] ? ")" : "", g->wait_what ? g->wait_what : "?", g->wait_obj);
    /* The program's buffered output must not be lost; its atexit handlers
     * cannot run, as they might wait on the very threads that are stuck. */
    fflush(NULL);
    _exit(RT_DEADLOCK_STATUS);
}
