/* signal.c - signal handlers under green threads, and who gets EINTR.
 *
 * Every green thread runs on one OS thread, so the kernel delivers every
 * signal there, in whatever context runs: a green thread, or the hub (then
 * usually waiting in epoll_wait). The OS thread's mask follows the running
 * thread; while the hub runs it is what every live thread blocks (the
 * runtime's), so a signal some thread would take always gets through.
 *
 * sigaction installs a trampoline for a program's handler, with the
 * program's mask and flags, keeps the program's action in a table and shows
 * it as the old action (SIG_DFL and SIG_IGN go straight to the kernel). The
 * trampoline:
 *
 *   - on a green thread, runs the handler there and then, in real signal
 *     context, with rt_mode off so that every wrapper it calls passes
 *     straight through. For a process-directed signal the kernel would have
 *     chosen the main thread if it does not block it, else some thread that
 *     does not (here the oldest): when that is another thread, the hub ends
 *     its wait with EINTR, if signals may end it;
 *   - in the hub, runs nothing there (but for a fault in the hub itself): a
 *     handler that leaves by siglongjmp must be on a green thread's stack.
 *     The hub pends the signal on the thread the kernel would have chosen
 *     and wakes it; the thread raises it again on itself (rt_tgsigqueueinfo
 *     keeps its siginfo), so the handler runs on its own stack, and its wait
 *     ends with EINTR if signals may end it (else it waits on).
 *
 * SA_RESETHAND is the trampoline's to do, not the kernel's, so that a signal
 * the hub defers still finds its handler.
 *
 * In signal context nothing of the runtime is touched but rt_notify(): the
 * trampoline fills a record, which the hub reads with every signal blocked.
 * What is pended on a thread, and the waits signals may end, are sigpend.c's.
 */
#include <string.h>

#include "signal_int.h"

#define LANDED_MAX 32

typedef void (*handler_fn)(int, siginfo_t *, void *);

/* The program's handlers, where the kernel has the trampoline. */
static struct action {
    union {
        handler_fn fn;              /* NULL: none */
        __sighandler_t fn1;         /* the same, without SA_SIGINFO */
    };
    int flags;
} actions[NSIG];

/* Signals the trampoline saw, for the hub: `on` is the id of the green
 * thread whose handler ran, 0 when it landed in the hub (nothing ran). */
static struct landed {
    struct shim_siginfo info;
    uint64_t on;
} landed[LANDED_MAX];
static int nlanded;

/* Per OS thread, and reachable from a signal handler without a call. */
__thread int shim_handler_depth __attribute__((tls_model("initial-exec")));
__thread int shim_handler_outer_mode __attribute__((tls_model("initial-exec")));
__thread int shim_redelivering __attribute__((tls_model("initial-exec")));

static void record(const siginfo_t *info, uint64_t on)
{
    int i = __atomic_fetch_add(&nlanded, 1, __ATOMIC_RELAXED);

    if (i < LANDED_MAX) {
        memcpy(landed[i].info.raw, info, SHIM_SIGINFO_KEPT);
        landed[i].on = on;
    }
    rt_notify();
}

/* The kernel's SA_RESETHAND: the disposition is the default from now on,
 * the flags and mask as they were. */
static void reset_to_default(int sig, int flags)
{
    struct sigaction k;

    actions[sig] = (struct action){ { 0 }, 0 };
    REAL(sigaction)(sig, NULL, &k);
    k.sa_handler = SIG_DFL;
    k.sa_flags = flags;
    REAL(sigaction)(sig, &k, NULL);
}

/* Whether sig was sent to the thread it landed on, not to the process: one
 * raised again for its thread, a tgkill from within (raise, pthread_kill to
 * itself), a fault (its handler must run where it happened, even in the
 * hub), a write's SIGPIPE or SIGXFSZ. */
static bool thread_directed(int sig, const siginfo_t *info)
{
    bool ours = info->si_pid == getpid();

    switch (sig) {
    case SIGSEGV: case SIGBUS: case SIGFPE: case SIGILL: case SIGTRAP: case SIGSYS:
        if (info->si_code > 0)
            return true;
        break;
    case SIGPIPE: case SIGXFSZ:
        if (info->si_code == SI_USER && ours)
            return true;
        break;
    }
    return shim_redelivering == sig || (info->si_code == SI_TKILL && ours);
}

static void trampoline(int sig, siginfo_t *info, void *uc)
{
    int saved_errno = errno, mode = rt_mode;
    struct action a = actions[sig];
    gt_t *on = gt_running();
    bool directed = thread_directed(sig, info);

    if (rt_in_hub() && !directed) {
        record(info, 0);
        errno = saved_errno;
        return;
    }
    if (a.flags & SA_RESETHAND)
        reset_to_default(sig, a.flags);
    /* A jump out of the handler returns to the program on this thread. */
    if (!shim_handler_depth++)
        shim_handler_outer_mode = on ? RT_MODE_GREEN : mode;
    rt_mode = RT_MODE_OFF;
    if (a.flags & SA_SIGINFO)
        a.fn(sig, info, uc);
    else if (a.fn)
        a.fn1(sig);
    shim_handler_depth--;
    rt_mode = mode;
    if (on) {
        shim_thread(on)->sig_handled++;
        if (!directed)
            record(info, gt_id(on));
    }
    errno = saved_errno;
}

static int shim_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    bool handler = act && act->sa_handler != SIG_DFL && act->sa_handler != SIG_IGN;
    struct sigaction k, kold;
    sigset_t all, prev;
    int r;

    if (handler) {
        k = *act;
        k.sa_sigaction = trampoline;
        k.sa_flags = (act->sa_flags | SA_SIGINFO) & ~SA_RESETHAND;
    }
    /* The table and the kernel change together, as one for any handler. */
    sigfillset(&all);
    REAL(pthread_sigmask)(SIG_SETMASK, &all, &prev);
    r = REAL(sigaction)(sig, handler ? &k : act, &kold);
    if (r == 0) {
        if (kold.sa_sigaction == trampoline) {
            kold.sa_sigaction = actions[sig].fn;
            kold.sa_flags = (kold.sa_flags & ~(SA_SIGINFO | SA_RESETHAND)) |
                            (actions[sig].flags & (SA_SIGINFO | SA_RESETHAND));
        }
        if (act)
            actions[sig] = handler ? (struct action){ { act->sa_sigaction }, act->sa_flags }
                                   : (struct action){ { 0 }, 0 };
    }
    REAL(pthread_sigmask)(SIG_SETMASK, &prev, NULL);
    if (r == 0 && old)
        *old = kold;
    return r;
}

SHIM_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    if (!rt_green())
        return REAL(sigaction)(sig, act, old);
    return shim_sigaction(sig, act, old);
}

SHIM_EXPORT int __sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    return sigaction(sig, act, old);
}

/* ---- the hub's part ---- */

/* The thread the kernel would give sig: the main thread (the oldest) if it
 * does not block it, else the oldest that does not; NULL if all do. */
static gt_t *chosen(int sig, gt_t **oldest)
{
    gt_t *g, *free = NULL;

    for (g = gt_next_live(NULL); g; g = gt_next_live(g)) {
        *oldest = g;
        if (!(gt_sigmask(g) & shim_sigbit(sig)))
            free = g;
    }
    return free;
}

static void on_notify(void)
{
    struct landed got[LANDED_MAX];
    sigset_t all, prev;
    gt_t *g, *oldest = NULL;
    int n, i, sig;

    sigfillset(&all);
    REAL(pthread_sigmask)(SIG_SETMASK, &all, &prev);
    n = nlanded < LANDED_MAX ? nlanded : LANDED_MAX;
    memcpy(got, landed, (size_t)n * sizeof(*got));
    nlanded = 0;
    REAL(pthread_sigmask)(SIG_SETMASK, &prev, NULL);
    for (i = 0; i < n; i++) {
        sig = shim_sig_of(&got[i].info);
        g = chosen(sig, &oldest);
        if (got[i].on) {
            if (g && gt_id(g) != got[i].on)
                shim_sig_interrupt(g, sig);
        } else if (!g) {
            shim_sig_pend(oldest, &got[i].info);     /* until it unblocks it */
        } else if (shim_sig_pend(g, &got[i].info) == 0) {
            shim_sig_interrupt(g, sig);
        }
    }
}

void shim_signal_fork_child(void)
{
    struct shim_thread *t = shim_self();

    nlanded = 0;
    t->sig_queued = 0;
    t->sig_pending = 0;
}

bool shim_sig_has_handler(int sig)
{
    return actions[sig].fn != NULL;
}

bool shim_sig_restarts(int sig)
{
    return actions[sig].flags & SA_RESTART;
}

__attribute__((constructor)) static void signal_init(void)
{
    rt_signal_hooks(shim_signal_deliver_now, on_notify);
}
