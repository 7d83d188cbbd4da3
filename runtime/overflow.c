/* overflow.c - naming the green thread whose stack overflowed (debug only).
 *
 * A green thread that runs off its stack hits the guard below it and dies of
 * SIGSEGV, as a native thread would. With debugging on, a SIGSEGV handler on
 * an alternate stack (the faulting one has no room left) first says which
 * green thread it was, then puts the default action back and returns: the
 * fault repeats and the process dies exactly as it would have.
 */
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "rt_int.h"

#define ALT_STACK_SIZE (64 * 1024)

static gt_t *guard_owner(struct rt_sched *s, const char *addr)
{
    gt_t *g;

    for (g = s->all; g; g = g->all_next)
        if (g->stack.base && addr >= g->stack.base && addr < g->stack.base + g->stack.guard)
            return g;
    return NULL;
}

static void on_segv(int sig, siginfo_t *si, void *uctx)
{
    struct rt_sched *s = rt_sched;
    char msg[160];
    gt_t *g;
    int n;

    (void)sig;
    (void)uctx;
    if (!s || !(g = guard_owner(s, si->si_addr)))
        return;                     /* not ours: SA_RESETHAND already restored the default */
    n = snprintf(msg, sizeof(msg), "greenrun: stack overflow in green thread %llu%s%s%s "
                 "(stack of %zu bytes)\n", (unsigned long long)g->id,
                 g->name[0] ? " (" : "", g->name, g->name[0] ? ")" : "",
                 g->stack.size - g->stack.guard);
    if (n > 0)
        RT_CALL_OUT(write(STDERR_FILENO, msg, (size_t)n));
}

int rt_overflow_report(void)
{
    struct sigaction sa = { 0 };
    stack_t ss = { 0 };

    ss.ss_sp = malloc(ALT_STACK_SIZE);
    ss.ss_size = ALT_STACK_SIZE;
    if (!ss.ss_sp || sigaltstack(&ss, NULL) != 0)
        return -1;
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    return sigaction(SIGSEGV, &sa, NULL);
}
