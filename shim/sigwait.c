/* sigwait.c - waiting for signals: sigwait, sigwaitinfo, sigtimedwait,
 * sigsuspend and pause; and sigpending.
 *
 * sigtimedwait first takes what is pending: a signal pended on the thread
 * by pthread_kill (the shim's, thread-directed), then the kernel's, with a
 * real zero-timeout sigtimedwait. Otherwise the thread parks on a signalfd
 * for the set, which polls readable when one of its signals is pending for
 * the OS thread or the process (those waited for are normally blocked by
 * every thread, so they stay pending in the kernel), and a pthread_kill of
 * one of them wakes the wait; then it looks again. The signalfd is the
 * shim's, kept below the runtime's own fds and far from the numbers the
 * program uses, and closed before the call returns.
 *
 * sigsuspend sets the thread's mask, so that a pending signal it lets
 * through is handled right there as the kernel would; if a handler ran for
 * the thread meanwhile (it counts them), it returns at once, else it parks
 * until a signal ends the wait. That is the race-free pattern shells use
 * (block SIGCHLD, check, sigsuspend with it unblocked).
 */
#include "mux.h"
#include "signal_int.h"

#define SIGFD_BELOW 32              /* the signalfd's distance below the runtime's fds */

static int open_sigfd(const sigset_t *set)
{
    int fd = REAL(signalfd)(-1, set, SFD_NONBLOCK | SFD_CLOEXEC), floor = rt_fd_next_owned(0), high;

    if (fd >= 0 && floor > SIGFD_BELOW + fd &&
        (high = REAL(fcntl)(fd, F_DUPFD_CLOEXEC, floor - SIGFD_BELOW)) >= 0) {
        REAL(close)(fd);
        fd = high;
    }
    return shim_own_fd(fd);
}

/* One signal of `set`, until the deadline (0 = none); `once`: do not wait. */
static int wait_signal(const sigset_t *set, siginfo_t *info, uint64_t deadline, bool once)
{
    static const struct timespec zero;
    struct shim_thread *t = shim_self();
    uint64_t want = shim_blockable(shim_sigset_bits(set));
    int saved = errno, fd = -1, err = 0, r;
    bool was, sw;

    for (;;) {
        if ((r = shim_signal_take(want, info)))
            break;
        if ((r = REAL(sigtimedwait)(set, info, &zero)) >= 0 || errno != EAGAIN)
            break;
        if (once || err == ETIMEDOUT || err == EINTR) {
            errno = err == EINTR ? EINTR : EAGAIN;
            break;
        }
        if (fd < 0 && (fd = open_sigfd(set)) < 0)
            break;
        t->sig_waiting = want;
        was = shim_cancel_point_begin();
        sw = shim_sig_wait_begin();
        err = fdw_wait(fd, FDW_READ, deadline);
        t->sig_waiting = 0;
        if (err == EBADF)
            fd = -1;                /* the program closed it: the number is not ours */
        if (err == ECANCELED)
            fd = shim_own_fd_close(fd);
        err = shim_sig_wait_end(sw, err, false);
        shim_cancel_point_end(was, err);
    }
    shim_own_fd_close(fd);
    return r >= 0 ? (int)shim_keep_errno(r, saved) : r;
}

SHIM_EXPORT int sigtimedwait(const sigset_t *set, siginfo_t *info, const struct timespec *timeout)
{
    uint64_t deadline = 0;
    bool wait = true;

    if (!rt_green())
        return REAL(sigtimedwait)(set, info, timeout);
    shim_testcancel();
    if (timeout) {
        if (timeout->tv_sec < 0 || timeout->tv_nsec < 0 || timeout->tv_nsec >= 1000000000) {
            errno = EINVAL;         /* the kernel checks before it looks */
            return -1;
        }
        wait = shim_timeout(timeout, &deadline);
    }
    return wait_signal(set, info, deadline, !wait);
}

SHIM_EXPORT int sigwaitinfo(const sigset_t *set, siginfo_t *info)
{
    if (!rt_green())
        return REAL(sigwaitinfo)(set, info);
    shim_testcancel();
    return wait_signal(set, info, 0, false);
}

/* As glibc's: sigtimedwait until it is not interrupted. */
SHIM_EXPORT int sigwait(const sigset_t *set, int *sig)
{
    siginfo_t si;
    int r;

    if (!rt_green())
        return REAL(sigwait)(set, sig);
    do
        r = sigtimedwait(set, &si, NULL);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return errno;
    *sig = r;
    return 0;
}

static int suspend(uint64_t mask)
{
    gt_t *self = gt_self();
    struct shim_thread *t = shim_thread(self);
    uint64_t own = gt_sigmask(self);
    unsigned before = t->sig_handled;
    bool was = shim_cancel_point_begin(), sw = shim_sig_wait_begin();
    int err = 0;

    gt_set_sigmask(shim_blockable(mask));
    shim_signal_deliver();
    while (t->sig_handled == before && err != EINTR && err != ECANCELED)
        err = gt_park_until(UINT64_MAX, "sigsuspend", NULL);
    shim_sig_wait_end(sw, err, false);
    gt_set_sigmask(own);
    shim_cancel_point_end(was, err);
    errno = EINTR;
    return -1;
}

SHIM_EXPORT int sigsuspend(const sigset_t *set)
{
    if (!rt_green())
        return REAL(sigsuspend)(set);
    return suspend(shim_sigset_bits(set));
}

SHIM_EXPORT int __sigsuspend(const sigset_t *set)
{
    return sigsuspend(set);
}

SHIM_EXPORT int pause(void)
{
    if (!rt_green())
        return REAL(pause)();
    return suspend(gt_sigmask(gt_self()));
}

/* The kernel's answer, and what is pended on the thread that it blocks. */
SHIM_EXPORT int sigpending(sigset_t *set)
{
    gt_t *self;
    uint64_t bits;
    int r;

    if (!rt_green())
        return REAL(sigpending)(set);
    if ((r = REAL(sigpending)(set)) != 0)
        return r;
    self = gt_self();
    bits = shim_sigset_bits(set) | (shim_thread(self)->sig_pending & gt_sigmask(self));
    memcpy(set, &bits, sizeof(bits));
    return r;
}
