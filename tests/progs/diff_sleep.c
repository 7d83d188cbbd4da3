/* diff_sleep.c - sleeps and yields: return values, error codes, and the order
 * in which sleeping threads wake (only "waited at least N ms" is printed,
 * never a time).
 *
 * Checks: nanosleep with tv_nsec = 1e9, tv_nsec < 0 or tv_sec < 0 gives
 * EINVAL; sleep(0), usleep(0) and a zero nanosleep return 0; usleep, nanosleep
 * and sleep wait at least as long as asked, and nanosleep leaves *rem alone
 * when not interrupted; 10 threads created in reverse order sleeping 10..100
 * ms finish in the order of their sleep lengths (the 10 ms steps decide it);
 * sched_yield returns 0, alone and with other threads about.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define NSLEEPERS 10
#define STEP_MS 10

static const char *waited(long start, long at_least_ms)
{
    return now_ms() - start >= at_least_ms ? "waited long enough" : "returned EARLY";
}

static void bad_nanosleep(const char *what, time_t sec, long nsec)
{
    struct timespec ts = { sec, nsec };
    int r = nanosleep(&ts, NULL), e = errno;

    printf("nanosleep %s: %s\n", what, res(r, e));
}

static void check_invalid(void)
{
    bad_nanosleep("tv_nsec 1000000000", 0, 1000000000L);
    bad_nanosleep("tv_nsec -1", 0, -1);
    bad_nanosleep("tv_sec -1", -1, 0);
}

static void check_zero(void)
{
    struct timespec ts = { 0, 0 };
    unsigned s = sleep(0);
    int u = usleep(0), eu = errno;
    int n = nanosleep(&ts, NULL), en = errno;

    printf("sleep(0) %u, usleep(0) %s, nanosleep 0 %s\n", s, res(u, eu), res(n, en));
}

static void check_durations(void)
{
    struct timespec ts = { 0, 20000000L }, rem = { 77, 77 };
    long start = now_ms();
    int r = usleep(20000), e = errno;
    unsigned s;

    printf("usleep(20000): %s, %s\n", res(r, e), waited(start, 20));
    start = now_ms();
    r = nanosleep(&ts, &rem);
    e = errno;
    printf("nanosleep 20 ms: %s, %s, rem %ld.%ld\n", res(r, e), waited(start, 20),
           (long)rem.tv_sec, rem.tv_nsec);
    start = now_ms();
    s = sleep(1);
    printf("sleep(1): %u, %s\n", s, waited(start, 1000));
}

/* ---- sleepers finish in the order of their sleep lengths ---- */

static pthread_mutex_t order_lock = PTHREAD_MUTEX_INITIALIZER;
static int order[NSLEEPERS], finished;

static void *sleeper(void *arg)
{
    int i = (int)(intptr_t)arg;
    long ms = (i + 1) * STEP_MS;
    struct timespec ts = { 0, ms * 1000000L };

    if (i % 2)
        nanosleep(&ts, NULL);
    else
        usleep((useconds_t)(ms * 1000));
    pthread_mutex_lock(&order_lock);
    order[finished++] = i;
    pthread_mutex_unlock(&order_lock);
    return NULL;
}

static void check_order(void)
{
    pthread_t t[NSLEEPERS];
    int i;

    for (i = NSLEEPERS - 1; i >= 0; i--)
        t[i] = spawn(sleeper, (void *)(intptr_t)i);
    for (i = 0; i < NSLEEPERS; i++)
        join(t[i]);
    printf("sleepers created 9..0, sleeping (i+1)*%d ms, finished:", STEP_MS);
    for (i = 0; i < NSLEEPERS; i++)
        printf(" %d", order[i]);
    printf("\n");
}

/* ---- sched_yield ---- */

static void *yielder(void *arg)
{
    int i, bad = 0;

    (void)arg;
    for (i = 0; i < 1000; i++)
        bad += sched_yield() != 0;
    return (void *)(intptr_t)bad;
}

static void check_yield(void)
{
    pthread_t t[4];
    void *r;
    int i, bad = 0, alone = sched_yield();

    for (i = 0; i < 4; i++)
        t[i] = spawn(yielder, NULL);
    for (i = 0; i < 4; i++) {
        r = join(t[i]);
        bad += (int)(intptr_t)r;
    }
    printf("sched_yield: alone %d, 4 threads x 1000 calls, %d not 0\n", alone, bad);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    check_invalid();
    check_zero();
    check_durations();
    check_order();
    check_yield();
    printf("done\n");
    return 0;
}
