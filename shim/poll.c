/* poll.c - poll waits on the loop for the fds' readiness, not in the kernel.
 *
 * The real poll with a zero timeout answers first; only when nothing is ready
 * does the thread park on every fd at once, and the real poll answers again
 * when it wakes, so revents are exactly the kernel's.
 */
#include <errno.h>
#include <stdlib.h>

#include "thread_int.h"

#define NS_PER_MS 1000000u

/* POLLHUP and POLLERR come unasked; the loop reports them with readability,
 * so an fd polled for nothing else is watched for reading. */
static int poll_events(short events)
{
    int e = (events & (POLLIN | POLLPRI | POLLRDNORM | POLLRDBAND) ? FDW_READ : 0) |
            (events & (POLLOUT | POLLWRNORM | POLLWRBAND) ? FDW_WRITE : 0);

    return e ? e : FDW_READ;
}

/* Park until one of the fds may be ready or the deadline passes. */
static int poll_wait(const struct pollfd *fds, nfds_t n, uint64_t deadline)
{
    struct fdw_req small[16], *reqs = small;
    nfds_t i;
    int k = 0, err;

    bool was;

    if (n > 16 && !(reqs = malloc(n * sizeof(*reqs))))
        return ENOMEM;
    for (i = 0; i < n; i++)
        if (fds[i].fd >= 0)
            reqs[k++] = (struct fdw_req){ fds[i].fd, poll_events(fds[i].events) };
    was = shim_cancel_point_begin();
    err = fdw_wait_many(reqs, k, deadline);
    if (reqs != small)
        free(reqs);
    shim_cancel_point_end(was, err);
    return err;
}

static int do_poll(struct pollfd *fds, nfds_t n, int timeout)
{
    uint64_t deadline;
    int saved = errno, r, err;

    if (!rt_green())
        return REAL(poll)(fds, n, timeout);
    shim_testcancel();
    if (timeout == 0)
        return REAL(poll)(fds, n, timeout);
    deadline = timeout > 0 ? rt_deadline_after((uint64_t)timeout * NS_PER_MS) : 0;
    while ((r = REAL(poll)(fds, n, 0)) == 0) {
        err = poll_wait(fds, n, deadline);
        if (err == ETIMEDOUT)
            return (int)shim_keep_errno(0, saved);
        if (err == ENOMEM) {
            errno = ENOMEM;
            return -1;
        }
    }
    return (int)shim_keep_errno(r, saved);
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
