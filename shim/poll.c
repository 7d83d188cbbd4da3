/* poll.c - poll and ppoll wait on the loop for the fds' readiness, not in the
 * kernel; and the fd-set wait every multiplexer shares (mux.h).
 *
 * The real call with a zero timeout answers first; only when nothing is ready
 * does the thread park on every fd at once, and the real call answers again
 * when it wakes, so revents are exactly the kernel's. When the time is up the
 * real call answers once more, as the kernel makes one last pass after its
 * timeout. ppoll's signal mask is passed to each real call, so a signal it
 * unblocks that is already pending interrupts the call as in the kernel, and
 * is the thread's mask while it waits.
 *
 * A program may close an fd another thread is waiting on. The kernel keeps
 * waiting then (the wait holds the file), and on its next pass finds the
 * number closed; so the wait drops the fd and goes on with the others.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mux.h"
#include "signal_int.h"

#define NS_PER_MS 1000000u
#define NS_PER_S 1000000000u

int shim_fds_init(struct shim_fds *s, size_t max)
{
    s->n = 0;
    s->reqs = s->small;
    if (max > SHIM_FDS_SMALL && !(s->reqs = malloc(max * sizeof(*s->reqs))))
        return ENOMEM;
    return 0;
}

void shim_fds_add(struct shim_fds *s, int fd, int events)
{
    s->reqs[s->n++] = (struct fdw_req){ fd, events };
}

void shim_fds_free(struct shim_fds *s)
{
    if (s->reqs != s->small)
        free(s->reqs);
}

/* The kernel never blocks SIGKILL and SIGSTOP, whatever the mask says. */
static uint64_t wait_mask(const sigset_t *mask)
{
    uint64_t bits;

    memcpy(&bits, mask, sizeof(bits));
    return bits & ~((1ULL << (SIGKILL - 1)) | (1ULL << (SIGSTOP - 1)));
}

/* Woken because a waited-on fd was closed or replaced: drop the numbers no
 * longer open. One reopened meanwhile stays, as the kernel's next pass
 * looks at whatever the number names by then. */
static void drop_closed(struct shim_fds *s)
{
    for (int i = 0; i < s->n; i++)
        if (s->reqs[i].events && REAL(fcntl)(s->reqs[i].fd, F_GETFD) < 0)
            s->reqs[i].events = 0;
}

/* Not shim_cancel_point_begin/end: they would end the thread at once, and
 * the caller may hold memory. An interruptible wait reports a cancellation
 * (one already due included) as ECANCELED, and the caller acts on it. A
 * signal always ends the wait (signal(7): never restarted), its handler
 * running under the call's mask. */
int shim_fds_wait(struct shim_fds *s, uint64_t deadline, const sigset_t *mask)
{
    struct shim_thread *t = shim_self();
    uint64_t own = gt_sigmask(gt_self());
    bool was = gt_interruptible(true), sw = shim_sig_wait_begin();
    unsigned handled = t->sig_handled;
    int err = EINTR;

    /* A signal the mask lets through, come since the first answer, is
     * handled as it is set: the call is interrupted. */
    if (mask)
        gt_set_sigmask(wait_mask(mask));
    if (t->sig_handled == handled)
        while ((err = fdw_wait_many(s->reqs, s->n, deadline)) == EBADF)
            drop_closed(s);
    err = shim_sig_wait_end(sw, err, false);
    if (mask)
        gt_set_sigmask(own);
    gt_interruptible(was);
    return err;
}

bool shim_timeout(const struct timespec *ts, uint64_t *deadline)
{
    uint64_t ns;

    *deadline = 0;
    if (!ts)
        return true;
    if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= (long)NS_PER_S ||
        (ts->tv_sec == 0 && ts->tv_nsec == 0))
        return false;
    if ((uint64_t)ts->tv_sec > (UINT64_MAX - NS_PER_S) / NS_PER_S)
        ns = UINT64_MAX;
    else
        ns = (uint64_t)ts->tv_sec * NS_PER_S + (uint64_t)ts->tv_nsec;
    *deadline = rt_deadline_after(ns);
    return true;
}

bool shim_timeout_ms(int ms, uint64_t *deadline)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * NS_PER_MS };

    return shim_timeout(ms < 0 ? NULL : &ts, deadline);
}

/* POLLHUP and POLLERR come unasked; the loop reports them with readability,
 * so an fd polled for nothing else is watched for reading. POLLPRI is
 * waited for as readability too (fdw has no priority event): priority data
 * arriving alone is seen when something else wakes the thread, or at its
 * timeout. */
static int poll_events(short events)
{
    int e = (events & (POLLIN | POLLPRI | POLLRDNORM | POLLRDBAND) ? FDW_READ : 0) |
            (events & (POLLOUT | POLLWRNORM | POLLWRBAND) ? FDW_WRITE : 0);

    return e ? e : FDW_READ;
}

static int poll_fds(struct pollfd *fds, nfds_t n, uint64_t deadline, const sigset_t *mask)
{
    static const struct timespec zero;
    struct shim_fds set;
    int saved = errno, r, err;
    nfds_t i;

    /* This first answer also checks the arguments (EINVAL beyond
     * RLIMIT_NOFILE), so n fits the set. */
    if ((r = REAL(ppoll)(fds, n, &zero, mask)) != 0)
        return r;
    if ((err = shim_fds_init(&set, n)) == 0) {
        for (i = 0; i < n; i++)
            if (fds[i].fd >= 0)
                shim_fds_add(&set, fds[i].fd, poll_events(fds[i].events));
        while (!(err = shim_fds_wait(&set, deadline, mask)) || err == ETIMEDOUT)
            if ((r = REAL(ppoll)(fds, n, &zero, mask)) != 0 || err == ETIMEDOUT)
                break;
        shim_fds_free(&set);
    }
    if (err == ECANCELED)
        shim_testcancel();
    if (err == ENOMEM || err == EINTR) {
        errno = err;
        return -1;
    }
    return (int)shim_keep_errno(r, saved);
}

static int do_poll(struct pollfd *fds, nfds_t n, int timeout)
{
    uint64_t deadline;

    if (!rt_green())
        return REAL(poll)(fds, n, timeout);
    shim_mux_begin();
    if (!shim_timeout_ms(timeout, &deadline))
        return REAL(poll)(fds, n, timeout);
    return poll_fds(fds, n, deadline, NULL);
}

SHIM_EXPORT int poll(struct pollfd *fds, nfds_t n, int timeout)
{
    return do_poll(fds, n, timeout);
}

SHIM_EXPORT int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen)
{
    if (fdslen / sizeof(*fds) < n)
        __chk_fail();
    return do_poll(fds, n, timeout);
}

/* glibc hands the kernel a copy of the timeout: the program's is left alone. */
static int do_ppoll(struct pollfd *fds, nfds_t n, const struct timespec *timeout,
                    const sigset_t *mask)
{
    uint64_t deadline;

    if (!rt_green())
        return REAL(ppoll)(fds, n, timeout, mask);
    shim_mux_begin();
    if (!shim_timeout(timeout, &deadline))
        return REAL(ppoll)(fds, n, timeout, mask);
    return poll_fds(fds, n, deadline, mask);
}

SHIM_EXPORT int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *timeout,
                      const sigset_t *mask)
{
    return do_ppoll(fds, n, timeout, mask);
}

SHIM_EXPORT int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *timeout,
                            const sigset_t *mask, size_t fdslen)
{
    if (fdslen / sizeof(*fds) < n)
        __chk_fail();
    return do_ppoll(fds, n, timeout, mask);
}
