/* time.c - turning the program's absolute timeouts into runtime deadlines. */
#include <errno.h>

#include "shim.h"

int shim_abs_deadline(clockid_t clock, const struct timespec *abs, uint64_t *deadline)
{
    struct timespec now;
    int64_t left;

    if (abs->tv_nsec < 0 || abs->tv_nsec >= 1000000000)
        return EINVAL;
    if ((clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC) || clock_gettime(clock, &now) != 0)
        return EINVAL;
    if (abs->tv_sec < now.tv_sec ||
        (abs->tv_sec == now.tv_sec && abs->tv_nsec <= now.tv_nsec)) {
        *deadline = 1;              /* long gone: any wait times out at once */
        return 0;
    }
    if (abs->tv_sec - now.tv_sec > INT64_MAX / 1000000000 - 1) {
        *deadline = UINT64_MAX;
        return 0;
    }
    left = (abs->tv_sec - now.tv_sec) * 1000000000 + (abs->tv_nsec - now.tv_nsec);
    *deadline = rt_deadline_after((uint64_t)left);
    return 0;
}

/* Polling what the loop cannot watch (objects shared with other processes):
 * pauses from 50 us, doubling to 1 ms, so a quick hand-over is seen quickly
 * and a long wait costs a wake-up per millisecond. */
#define BACKOFF_FIRST_NS 50000u
#define BACKOFF_MAX_NS 1000000u

int shim_backoff(uint64_t *pause, uint64_t deadline)
{
    uint64_t now = rt_now(), nap;

    if (deadline && now >= deadline)
        return ETIMEDOUT;
    if (*pause < BACKOFF_FIRST_NS)
        *pause = BACKOFF_FIRST_NS;
    nap = deadline && deadline - now < *pause ? deadline - now : *pause;
    if (*pause < BACKOFF_MAX_NS)
        *pause *= 2;
    return gt_sleep(nap);
}
