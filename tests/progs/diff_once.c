/* diff_once.c - pthread_once under contention, and when the routine does not
 * return.
 *
 * Checks: 16 threads racing on one pthread_once whose routine sleeps 50 ms:
 * the routine runs once, and every caller returns 0 only after it finished;
 * later calls return at once without running it. A routine that ends its
 * thread with pthread_exit, or whose thread is cancelled inside it, leaves the
 * once not done: a caller that was waiting meanwhile, or a later one, runs the
 * routine itself (glibc's cleanup handler resets the control word). The
 * cancelled and exited threads' results are PTHREAD_CANCELED and the
 * pthread_exit value. Once routines may call pthread_once on another control
 * (nested), and a once done in main before any thread exists stays done.
 *
 * Only main prints.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define RACERS 16

/* ---- the race ---- */

static pthread_once_t race_once = PTHREAD_ONCE_INIT;
static atomic_int race_runs, race_done, after_done, start_flag;

static void race_routine(void)
{
    atomic_fetch_add(&race_runs, 1);
    usleep(50000);
    atomic_store(&race_done, 1);
}

static void *racer(void *arg)
{
    (void)arg;
    while (!atomic_load(&start_flag))
        usleep(100);
    if (pthread_once(&race_once, race_routine) != 0)
        return (void *)-1;
    atomic_fetch_add(&after_done, atomic_load(&race_done));
    return NULL;
}

static void check_race(void)
{
    pthread_t t[RACERS];
    long start;
    int r;

    for (int i = 0; i < RACERS; i++)
        t[i] = spawn(racer, NULL);
    usleep(10000);
    atomic_store(&start_flag, 1);
    for (int i = 0; i < RACERS; i++)
        join(t[i]);
    printf("%d threads race on one once: the routine ran %d time(s); %d of %d callers returned "
           "after it finished\n", RACERS, atomic_load(&race_runs), atomic_load(&after_done), RACERS);
    start = now_ms();
    r = pthread_once(&race_once, race_routine);
    printf("a later call: %d, the routine ran %d time(s), returned at once: %s\n", r,
           atomic_load(&race_runs), now_ms() - start < 40 ? "yes" : "no");
}

/* ---- a routine that does not return ---- */

static pthread_once_t exit_once = PTHREAD_ONCE_INIT, cancel_once = PTHREAD_ONCE_INIT;
static atomic_int exit_runs, cancel_runs, in_routine;
static pthread_t waiter_thread;
static const char *cancel_runner;

static void exit_routine(void)
{
    if (atomic_fetch_add(&exit_runs, 1) == 0)
        pthread_exit((void *)7);
}

static void cancel_routine(void)
{
    if (atomic_fetch_add(&cancel_runs, 1) == 0) {
        atomic_store(&in_routine, 1);
        sleep(10);                  /* cancelled here */
        return;
    }
    cancel_runner = pthread_equal(pthread_self(), waiter_thread) ? "waiter" : "another thread";
}

struct caller {
    pthread_once_t *once;
    void (*routine)(void);
    int result;
};

static void *caller(void *arg)
{
    struct caller *c = arg;

    c->result = pthread_once(c->once, c->routine);
    return (void *)1;
}

static void check_exit(void)
{
    struct caller a = { &exit_once, exit_routine, -1 }, b = { &exit_once, exit_routine, -1 };
    void *r;

    r = join(spawn(caller, &a));
    printf("routine calls pthread_exit(7): thread result %s, pthread_once %s\n", result_name(r),
           a.result < 0 ? "did not return" : "returned");
    r = join(spawn(caller, &b));
    printf("  the next caller: pthread_once %d, routine runs %d, thread result %s\n", b.result,
           atomic_load(&exit_runs), result_name(r));
    printf("  a call after that: %d, routine runs %d\n", pthread_once(&exit_once, exit_routine),
           atomic_load(&exit_runs));
}

static void check_cancel(void)
{
    struct caller a = { &cancel_once, cancel_routine, -1 };
    struct caller w = { &cancel_once, cancel_routine, -1 };
    pthread_t ta, tw;
    void *ra, *rw;

    ta = spawn(caller, &a);
    while (!atomic_load(&in_routine))
        usleep(1000);
    tw = spawn(caller, &w);
    waiter_thread = tw;
    usleep(30000);                  /* the waiter waits for the first one */
    printf("routine cancelled while another caller waits: routine runs so far %d, "
           "waiter returned: %s\n", atomic_load(&cancel_runs), w.result < 0 ? "no" : "yes");
    check(pthread_cancel(ta), "pthread_cancel");
    ra = join(ta);
    rw = join(tw);
    printf("  cancelled caller: result %s, pthread_once %s\n", result_name(ra),
           a.result < 0 ? "did not return" : "returned");
    printf("  waiter: pthread_once %d, result %s; routine runs %d, the second by the %s\n",
           w.result, result_name(rw), atomic_load(&cancel_runs), cancel_runner ? cancel_runner : "nobody");
    printf("  a call after that: %d, routine runs %d\n", pthread_once(&cancel_once, cancel_routine),
           atomic_load(&cancel_runs));
}

/* ---- nesting, and a once done before any thread ---- */

static pthread_once_t outer_once = PTHREAD_ONCE_INIT, inner_once = PTHREAD_ONCE_INIT;
static pthread_once_t early_once = PTHREAD_ONCE_INIT;
static int inner_runs, outer_runs, early_runs;

static void inner_routine(void)
{
    inner_runs++;
}

static void outer_routine(void)
{
    outer_runs++;
    pthread_once(&inner_once, inner_routine);
}

static void early_routine(void)
{
    early_runs++;
}

static void *nested_caller(void *arg)
{
    (void)arg;
    pthread_once(&outer_once, outer_routine);
    pthread_once(&inner_once, inner_routine);
    pthread_once(&early_once, early_routine);
    return NULL;
}

static void check_nested(void)
{
    pthread_t t[3];

    for (int i = 0; i < 3; i++)
        t[i] = spawn(nested_caller, NULL);
    for (int i = 0; i < 3; i++)
        join(t[i]);
    printf("nested once in 3 threads: outer ran %d, inner ran %d; once done in main first: ran %d\n",
           outer_runs, inner_runs, early_runs);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    alarm(10);
    pthread_once(&early_once, early_routine);
    check_race();
    check_exit();
    check_cancel();
    check_nested();
    return 0;
}
