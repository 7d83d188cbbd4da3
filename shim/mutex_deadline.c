/* mutex_deadline.c - the deadline of a timed mutex lock, with glibc's
 * answers for a bad or past timespec (green and foreign mutexes alike). */
#include <errno.h>

#include "mutex_int.h"

#define NS_PER_SEC 1000000000L

static bool bad_nsec(const struct timespec *t)
{
    return t->tv_nsec < 0 || t->tv_nsec >= NS_PER_SEC;
}

/* A timed lock about to wait: glibc's answer for the timespec, or 0 and the
 * deadline. glibc's futex wait takes a time before the epoch as past before
 * the kernel sees a bad tv_nsec; robust and priority-protect mutexes check
 * tv_nsec first; the kernel's FUTEX_LOCK_PI rejects both. */
int mutex_lock_deadline(int kind, clockid_t clk, const struct timespec *t, uint64_t *deadline)
{
    if (kind & KIND_PI) {
        if (t->tv_sec < 0 || bad_nsec(t))
            return EINVAL;
    } else if (kind & (KIND_ROBUST | KIND_PP)) {
        if (bad_nsec(t))
            return EINVAL;
        if (t->tv_sec < 0)
            return ETIMEDOUT;
    } else if (t->tv_sec < 0) {
        return ETIMEDOUT;
    }
    return shim_abs_deadline(clk, t, deadline);     /* EINVAL for a bad tv_nsec */
}
