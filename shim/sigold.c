/* sigold.c - the BSD and System V signal calls: signal and its variants,
 * sigset, siginterrupt, sigignore, sighold, sigrelse, sigblock, sigsetmask,
 * siggetmask and sigpause.
 *
 * glibc builds them on its internal sigaction, sigprocmask and sigsuspend,
 * which the shim cannot see: they would change the kernel's handler and the
 * OS thread's mask behind the shim's table and the green thread's mask. So
 * they are glibc's code (glibc 2.36: sysdeps/posix/signal.c, sigset.c,
 * sigintr.c, sigignore.c, sighold.c, sigrelse.c, sigpause.c, and
 * signal/sigblock.c, sigsetmask.c, siggetmask.c), calling the shim's
 * sigaction, sigprocmask and sigsuspend instead; those pass straight
 * through where the shim does, so these do too. glibc's set of signals
 * siginterrupt made interrupting is kept here, for signal to read.
 */
#include "signal_int.h"

static uint64_t interrupting;       /* siginterrupt(sig, 1) */

/* The old BSD masks: an int's worth of signals. */
static sigset_t from_old_mask(int mask)
{
    sigset_t set;

    sigemptyset(&set);
    set.__val[0] = (unsigned int)mask;
    return set;
}

static int to_old_mask(const sigset_t *set)
{
    return (int)(unsigned int)set->__val[0];
}

static bool bad_signal(int sig, __sighandler_t handler)
{
    if (handler == SIG_ERR || sig < 1 || sig >= NSIG || shim_sig_internal(sig)) {
        errno = EINVAL;
        return true;
    }
    return false;
}

static __sighandler_t install(int sig, __sighandler_t handler, const sigset_t *mask, int flags)
{
    struct sigaction act = { .sa_handler = handler, .sa_mask = *mask, .sa_flags = flags };
    struct sigaction old;

    if (sigaction(sig, &act, &old) < 0)
        return SIG_ERR;
    return old.sa_handler;
}

/* BSD semantics: the signal blocked in its handler, calls restarted. */
SHIM_EXPORT __sighandler_t bsd_signal(int sig, __sighandler_t handler)
{
    sigset_t mask;

    if (bad_signal(sig, handler))
        return SIG_ERR;
    sigemptyset(&mask);
    sigaddset(&mask, sig);
    return install(sig, handler, &mask, interrupting & shim_sigbit(sig) ? 0 : SA_RESTART);
}

SHIM_EXPORT __sighandler_t signal(int sig, __sighandler_t handler)
{
    return bsd_signal(sig, handler);
}

SHIM_EXPORT __sighandler_t ssignal(int sig, __sighandler_t handler)
{
    return bsd_signal(sig, handler);
}

/* System V semantics: one-shot, not blocked in its handler, interrupting. */
SHIM_EXPORT __sighandler_t __sysv_signal(int sig, __sighandler_t handler)
{
    sigset_t mask;

    if (bad_signal(sig, handler))
        return SIG_ERR;
    sigemptyset(&mask);
    return install(sig, handler, &mask, (SA_ONESHOT | SA_NOMASK | SA_INTERRUPT) & ~SA_RESTART);
}

SHIM_EXPORT __sighandler_t sysv_signal(int sig, __sighandler_t handler)
{
    return __sysv_signal(sig, handler);
}

SHIM_EXPORT int siginterrupt(int sig, int interrupt)
{
    struct sigaction act;

    if (sigaction(sig, NULL, &act) < 0)
        return -1;
    if (interrupt) {
        interrupting |= shim_sigbit(sig);
        act.sa_flags &= ~SA_RESTART;
    } else {
        interrupting &= ~shim_sigbit(sig);
        act.sa_flags |= SA_RESTART;
    }
    return sigaction(sig, &act, NULL) < 0 ? -1 : 0;
}

SHIM_EXPORT int sigignore(int sig)
{
    struct sigaction act = { .sa_handler = SIG_IGN };

    return sigaction(sig, &act, NULL);
}

static int change_one(int how, int sig)
{
    sigset_t set;

    sigemptyset(&set);
    if (sigaddset(&set, sig) < 0)
        return -1;
    return sigprocmask(how, &set, NULL);
}

SHIM_EXPORT int sighold(int sig)
{
    return change_one(SIG_BLOCK, sig);
}

SHIM_EXPORT int sigrelse(int sig)
{
    return change_one(SIG_UNBLOCK, sig);
}

/* SIG_HOLD blocks the signal; another disposition is installed and the
 * signal unblocked. SIG_HOLD comes back when the signal was blocked. */
SHIM_EXPORT __sighandler_t sigset(int sig, __sighandler_t disp)
{
    struct sigaction act = { .sa_handler = disp }, old;
    sigset_t set, oset;

    sigemptyset(&set);
    if (sigaddset(&set, sig) < 0)
        return SIG_ERR;
    if (disp == SIG_HOLD) {
        if (sigprocmask(SIG_BLOCK, &set, &oset) < 0)
            return SIG_ERR;
        if (sigismember(&oset, sig))
            return SIG_HOLD;
        if (sigaction(sig, NULL, &old) < 0)
            return SIG_ERR;
        return old.sa_handler;
    }
    if (sigaction(sig, &act, &old) < 0 || sigprocmask(SIG_UNBLOCK, &set, &oset) < 0)
        return SIG_ERR;
    return sigismember(&oset, sig) ? SIG_HOLD : old.sa_handler;
}

static int change_old_mask(int how, int mask)
{
    sigset_t set = from_old_mask(mask), oset;

    if (sigprocmask(how, &set, &oset) < 0)
        return -1;
    return to_old_mask(&oset);
}

SHIM_EXPORT int sigblock(int mask)
{
    return change_old_mask(SIG_BLOCK, mask);
}

SHIM_EXPORT int sigsetmask(int mask)
{
    return change_old_mask(SIG_SETMASK, mask);
}

SHIM_EXPORT int siggetmask(void)
{
    return change_old_mask(SIG_BLOCK, 0);
}

/* X/Open's sigpause takes a signal to let through, BSD's a whole mask. */
SHIM_EXPORT int __sigpause(int sig_or_mask, int is_sig)
{
    sigset_t set;

    if (is_sig) {
        sigprocmask(SIG_BLOCK, NULL, &set);
        if (sigdelset(&set, sig_or_mask) < 0)
            return -1;
    } else {
        set = from_old_mask(sig_or_mask);
    }
    return sigsuspend(&set);
}

SHIM_EXPORT int __xpg_sigpause(int sig)
{
    return __sigpause(sig, 1);
}

int bsd_sigpause(int mask) __asm__("sigpause");

SHIM_EXPORT int bsd_sigpause(int mask)
{
    return __sigpause(mask, 0);
}
