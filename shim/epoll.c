/* epoll.c - epoll_wait, epoll_pwait and epoll_pwait2 wait on the loop for
 * the program's epoll fd itself.
 *
 * An epoll instance is pollable: it reads as ready exactly when epoll_wait
 * would return events. So, as in poll.c, the real call with a zero timeout
 * answers first; when it has nothing the thread parks until the epoll fd
 * polls readable (the loop's own epoll watches it, one level of nesting
 * more), and the real call answers again, and once more when the time is
 * up. Events are taken from the instance only by the program's own calls,
 * so edge-triggered and one-shot registrations keep their meaning.
 *
 * A program that closes its epoll fd while another thread waits on it: the
 * kernel's wait goes on on the instance it holds; here the thread waits out
 * its timeout and sees no events (those of the closed instance are no
 * longer reachable).
 */
#include <errno.h>

#include "mux.h"
#include "thread_int.h"

/* One real epoll_pwait that does not wait. The kernel looks for signals
 * only when it would wait, which a zero timeout never does: with a mask,
 * ppoll on no fds delivers a pending signal the mask unblocks and says
 * EINTR, as epoll_pwait would have on going to sleep. */
static int epoll_try(int epfd, struct epoll_event *ev, int max, const sigset_t *mask)
{
    static const struct timespec zero;
    int r = REAL(epoll_pwait)(epfd, ev, max, 0, mask);

    if (r == 0 && mask)
        r = REAL(ppoll)(NULL, 0, &zero, mask);
    return r;
}

static int epoll_fd(int epfd, struct epoll_event *ev, int max, uint64_t deadline,
                    const sigset_t *mask)
{
    struct shim_fds set;
    int saved = errno, r, err;

    if ((r = epoll_try(epfd, ev, max, mask)) != 0)
        return r;
    shim_fds_init(&set, 1);         /* one fd: never allocates, never fails */
    shim_fds_add(&set, epfd, FDW_READ);
    do {
        if ((err = shim_fds_wait(&set, deadline, mask)) == ECANCELED)
            shim_testcancel();
        if (err == EINTR) {
            errno = EINTR;
            return -1;
        }
        if (!set.reqs[0].events)    /* closed under us: the wait timed out */
            break;
        r = epoll_try(epfd, ev, max, mask);
    } while (r == 0 && err != ETIMEDOUT);
    return (int)shim_keep_errno(r, saved);
}

SHIM_EXPORT int epoll_wait(int epfd, struct epoll_event *ev, int max, int timeout)
{
    uint64_t deadline;

    if (!rt_green())
        return REAL(epoll_wait)(epfd, ev, max, timeout);
    shim_mux_begin();
    if (!shim_timeout_ms(timeout, &deadline))
        return REAL(epoll_wait)(epfd, ev, max, timeout);
    return epoll_fd(epfd, ev, max, deadline, NULL);
}

SHIM_EXPORT int epoll_pwait(int epfd, struct epoll_event *ev, int max, int timeout,
                            const sigset_t *mask)
{
    uint64_t deadline;

    if (!rt_green())
        return REAL(epoll_pwait)(epfd, ev, max, timeout, mask);
    shim_mux_begin();
    if (!shim_timeout_ms(timeout, &deadline))
        return REAL(epoll_pwait)(epfd, ev, max, timeout, mask);
    return epoll_fd(epfd, ev, max, deadline, mask);
}

SHIM_EXPORT int epoll_pwait2(int epfd, struct epoll_event *ev, int max,
                             const struct timespec *timeout, const sigset_t *mask)
{
    uint64_t deadline;

    if (!rt_green())
        return REAL(epoll_pwait2)(epfd, ev, max, timeout, mask);
    shim_mux_begin();
    if (!shim_timeout(timeout, &deadline))
        return REAL(epoll_pwait2)(epfd, ev, max, timeout, mask);
    return epoll_fd(epfd, ev, max, deadline, mask);
}
