/* mux.h - what the multiplexers (poll.c, select.c, epoll.c) share.
 *
 * Each of them answers with the real call and a zero timeout, and when
 * nothing is ready parks on a set of fds until one may be ready or the
 * deadline passes; the real call then answers again. The set and the wait
 * live in poll.c.
 */
#ifndef GREENRUN_MUX_H
#define GREENRUN_MUX_H

#include "thread_int.h"

#define SHIM_FDS_SMALL 16

/* The fds one call waits on. A small set lives in the struct itself. */
struct shim_fds {
    struct fdw_req *reqs;
    int n;
    struct fdw_req small[SHIM_FDS_SMALL];
};

/* Room for up to `max` fds: 0 or ENOMEM. */
int shim_fds_init(struct shim_fds *s, size_t max);
void shim_fds_add(struct shim_fds *s, int fd, int events);
void shim_fds_free(struct shim_fds *s);

/* Park until one of the fds may be ready (0) or the deadline (0 = none)
 * passes (ETIMEDOUT); EINTR when a signal handler ran for the thread
 * meanwhile (a multiplexer is never restarted); ENOMEM. With `mask`, that signal mask is the thread's
 * for the duration of the wait, as the kernel applies pselect's.
 *
 * A cancellation point: ECANCELED when the thread is cancelled meanwhile.
 * The caller then lets go of what it holds (the set included) and calls
 * shim_testcancel(), which does not return: the wait ends that way only
 * when a cancellation is due.
 *
 * An fd the program closes meanwhile is dropped from the set (its events
 * become 0) and the wait goes on without it: the kernel keeps waiting too,
 * and finds the number closed on its next pass, after a wake-up for
 * another fd or the timeout (select then reports it ready in each of its
 * sets, poll says POLLNVAL). */
int shim_fds_wait(struct shim_fds *s, uint64_t deadline, const sigset_t *mask);

/* What every multiplexer does first on a green thread: act on a pending
 * cancellation (they are cancellation points), and let the others run now
 * and then, since a thread whose fds are always ready never parks. */
static inline void shim_mux_begin(void)
{
    shim_testcancel();
    gt_checkpoint();
}

/* A relative timeout as a runtime deadline (NULL: none, 0). False when the
 * real call answers at once without waiting: a zero or invalid timeout. */
bool shim_timeout(const struct timespec *ts, uint64_t *deadline);
/* The same for a timeout in milliseconds, negative for none. */
bool shim_timeout_ms(int ms, uint64_t *deadline);

#endif
