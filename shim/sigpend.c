/* sigpend.c - signals pended on one green thread, and the waits they end.
 *
 * pthread_kill to another green thread, and a signal the hub took for one
 * (signal.c), pend the signal on the thread with its siginfo: a standard
 * signal once, a real-time one queued (SHIM_SIGQUEUE per thread, then
 * EAGAIN, the kernel's answer when its queue is full). Unless the thread
 * blocks it, the thread is woken (gt_signal): a wait signals may end ends
 * with EINTR, another resumes just long enough to take it. The thread takes
 * its signals on its own stack by raising each again on itself
 * (rt_tgsigqueueinfo keeps the siginfo), so that the kernel runs the
 * handler, or the default action, as for any signal: when a wait signals
 * may end lets go (shim_sig_wait_end), when it unblocks them, when it
 * yields, and in the runtime's on_signal hook for any other wait.
 *
 * The thread records whether the handler that ended its wait had
 * SA_RESTART; shim_sig_wait_end turns that into a restart where signal(7)
 * says the call restarts.
 */
#include <string.h>
#include <sys/syscall.h>

#include "signal_int.h"

int shim_sig_of(const struct shim_siginfo *si)
{
    int sig;

    memcpy(&sig, si->raw, sizeof(sig));
    return sig;
}

int shim_sig_pend(gt_t *g, const struct shim_siginfo *si)
{
    struct shim_thread *t = shim_thread(g);
    int sig = shim_sig_of(si);

    if (sig < SIGRTMIN && (t->sig_pending & shim_sigbit(sig)))
        return 0;                   /* a standard signal is pending once */
    if (t->sig_queued == SHIM_SIGQUEUE)
        return EAGAIN;
    t->sig_queue[t->sig_queued++] = *si;
    t->sig_pending |= shim_sigbit(sig);
    return 0;
}

/* The lowest-numbered of `want`, the first sent of its kind. */
static int take(struct shim_thread *t, uint64_t want, struct shim_siginfo *out)
{
    int i, best = -1, sig;

    for (i = 0; i < t->sig_queued; i++)
        if ((want & shim_sigbit(shim_sig_of(&t->sig_queue[i]))) &&
            (best < 0 || shim_sig_of(&t->sig_queue[i]) < shim_sig_of(&t->sig_queue[best])))
            best = i;
    if (best < 0)
        return 0;
    *out = t->sig_queue[best];
    sig = shim_sig_of(out);
    t->sig_queued--;
    memmove(&t->sig_queue[best], &t->sig_queue[best + 1],
            (size_t)(t->sig_queued - best) * sizeof(*out));
    t->sig_pending &= ~shim_sigbit(sig);
    for (i = 0; i < t->sig_queued; i++)
        if (shim_sig_of(&t->sig_queue[i]) == sig)
            t->sig_pending |= shim_sigbit(sig);
    return sig;
}

int shim_signal_take(uint64_t want, siginfo_t *info)
{
    struct shim_siginfo si;
    int sig = take(shim_self(), want, &si);

    if (sig && info) {
        memset(info, 0, sizeof(*info));
        memcpy(info, si.raw, sizeof(si.raw));
    }
    return sig;
}

void shim_signal_deliver_now(void)
{
    gt_t *self = gt_self();
    struct shim_thread *t = shim_thread(self);
    siginfo_t info;
    int sig;

    while ((t->sig_pending & ~gt_sigmask(self)) &&
           (sig = shim_signal_take(~gt_sigmask(self), &info))) {
        shim_redelivering = sig;
        REAL(syscall)(SYS_rt_tgsigqueueinfo, getpid(), gettid(), sig, &info);
        shim_redelivering = 0;
    }
}

void shim_sig_interrupt(gt_t *g, int sig)
{
    shim_thread(g)->sig_restart = shim_sig_restarts(sig);
    gt_signal(g);
}

int shim_signal_send(gt_t *g, int sig, int code, const union sigval *value)
{
    struct shim_thread *t = shim_thread(g);
    bool blocked = gt_sigmask(g) & shim_sigbit(sig);
    siginfo_t info = { .si_signo = sig, .si_code = code };
    struct shim_siginfo si;
    int err;

    /* No handler of ours: the default action or SIG_IGN is the process's
     * whatever thread takes it, and takes effect at once. */
    if (!blocked && !shim_sig_has_handler(sig))
        return REAL(pthread_kill)(REAL(pthread_self)(), sig);
    info.si_pid = getpid();
    info.si_uid = getuid();
    if (value)
        info.si_value = *value;
    memcpy(si.raw, &info, sizeof(si.raw));
    if ((err = shim_sig_pend(g, &si)))
        return err;
    if (!blocked)
        shim_sig_interrupt(g, sig);
    else if (t->sig_waiting & shim_sigbit(sig))
        gt_signal(g);               /* for its sigwait */
    return 0;
}

bool shim_sig_wait_begin(void)
{
    return gt_signallable(true);
}

int shim_sig_wait_end(bool was, int err, bool restartable)
{
    struct shim_thread *t = shim_self();
    bool restart = t->sig_restart;

    gt_signallable(was);
    t->sig_restart = false;
    shim_signal_deliver();
    return err == EINTR && restartable && restart ? 0 : err;
}
