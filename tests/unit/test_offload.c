/* test_offload.c - work on libuv's thread pool (runtime/offload.c).
 *
 * Covers: the job runs on another OS thread (gettid differs) with rt_mode
 * off there, named "greenrun-pool", the caller's name kept; another green thread keeps running (ticking on 1 ms sleeps)
 * while the job runs, and the job sees it tick; a thread alone waiting on a
 * job is not a deadlock; the caller's errno is untouched by the job's; the
 * pool's threads have every signal blocked while the caller's mask is kept;
 * an interruption while the job runs neither cuts the wait short nor is
 * lost; 64 green threads with a job each, more than the pool has threads,
 * all finish; a job that cannot be queued gives the error at once and does
 * not run.
 *
 * uv_queue_work is wrapped (the runtime objects are linked into this
 * executable, so its definition wins) to make it fail on demand.
 *
 * Green threads never call cr_assert (it longjmps to the test's own stack):
 * they and the jobs record what they saw and the main thread asserts.
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "rt_int.h"

#define MS 1000000ull
#define WAIT_LIMIT (2000 * MS)      /* how long a job waits for what it expects */

static bool fail_queue;

int uv_queue_work(uv_loop_t *loop, uv_work_t *req, uv_work_cb work, uv_after_work_cb after)
{
    static int (*real)(uv_loop_t *, uv_work_t *, uv_work_cb, uv_after_work_cb);

    if (fail_queue)
        return UV_EINVAL;
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "uv_queue_work");
    return real(loop, req, work, after);
}

static void start(void)
{
    struct rt_config cfg = { 0 };

    cr_assert_eq(rt_start(&cfg), 0);
}

/* Pool-thread side: a real sleep, not a green one. */
static void pause_ms(unsigned ms)
{
    struct timespec ts = { 0, (long)ms * 1000000 };

    nanosleep(&ts, NULL);
}

/* ---- where the job runs ---- */

struct where {
    pid_t tid;
    int mode;
    char name[16];
};

static void record_where(void *arg)
{
    struct where *w = arg;

    w->tid = gettid();
    w->mode = rt_mode;
    prctl(PR_GET_NAME, w->name);
}

Test(offload, job_runs_on_another_os_thread_with_mode_off, .init = start, .timeout = 5)
{
    struct where w = { 0, -1, "" };
    char name[16] = "";

    cr_assert_eq(prctl(PR_SET_NAME, "offload-test"), 0);
    cr_assert_eq(rt_offload(record_where, &w), 0);
    cr_assert_neq(w.tid, 0, "the job did not run");
    cr_assert_neq(w.tid, gettid(), "the job ran on the managed thread");
    cr_assert_eq(w.mode, RT_MODE_OFF);
    cr_assert_eq(rt_mode, RT_MODE_GREEN, "the caller's mode was not restored");
    cr_assert_str_eq(w.name, "greenrun-pool");
    prctl(PR_GET_NAME, name);
    cr_assert_str_eq(name, "offload-test", "the caller's name was not restored");
}

/* ---- other green threads run meanwhile ---- */

static atomic_uint ticks;
static atomic_bool stop_ticking;

static void *ticker(void *arg)
{
    (void)arg;
    while (!stop_ticking) {
        gt_sleep(1 * MS);
        ticks++;
    }
    return NULL;
}

/* Waits, on the pool thread, until the ticker has ticked 5 more times. */
static void wait_for_ticks(void *arg)
{
    bool *saw = arg;
    unsigned first = ticks;
    uint64_t t0 = rt_now();

    while (ticks - first < 5 && rt_now() - t0 < WAIT_LIMIT)
        pause_ms(1);
    *saw = ticks - first >= 5;
}

Test(offload, other_green_threads_run_while_the_job_runs, .init = start, .timeout = 5)
{
    bool saw = false;
    gt_t *g;

    cr_assert_eq(gt_spawn(&g, NULL, ticker, NULL), 0);
    cr_assert_eq(rt_offload(wait_for_ticks, &saw), 0);
    cr_assert(saw, "the ticker did not run while the job did");
    stop_ticking = true;
    cr_assert_eq(gt_join(g, NULL), 0);
}

/* ---- no deadlock report ---- */

static void sleep_50ms(void *arg)
{
    (void)arg;
    pause_ms(50);
}

Test(offload, a_thread_alone_waiting_on_a_job_is_no_deadlock, .init = start, .timeout = 5)
{
    uint64_t t0 = rt_now();

    cr_assert_eq(rt_offload(sleep_50ms, NULL), 0);
    cr_assert_geq(rt_now() - t0, 50 * MS);
}

/* ---- errno ---- */

static void set_errno_eio(void *arg)
{
    (void)arg;
    errno = EIO;
}

Test(offload, caller_errno_is_untouched, .init = start, .timeout = 5)
{
    errno = EDOM;
    cr_assert_eq(rt_offload(set_errno_eio, NULL), 0);
    cr_assert_eq(errno, EDOM);
}

/* ---- signal masks ---- */

static void record_mask(void *arg)
{
    sigset_t *mask = arg;

    pthread_sigmask(SIG_SETMASK, NULL, mask);
}

Test(offload, pool_threads_block_every_signal, .init = start, .timeout = 5)
{
    sigset_t none, pool, after;
    int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGUSR1, SIGALRM, SIGPIPE };

    sigemptyset(&none);
    cr_assert_eq(sigprocmask(SIG_SETMASK, &none, NULL), 0);
    cr_assert_eq(rt_offload(record_mask, &pool), 0);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        cr_assert(sigismember(&pool, sigs[i]), "signal %d reaches a pool thread", sigs[i]);
    cr_assert_eq(sigprocmask(SIG_SETMASK, NULL, &after), 0);
    cr_assert_eq(sigismember(&after, SIGINT), 0, "the caller's mask was not restored");
}

/* ---- interruption ---- */

static atomic_bool interrupt_sent;

static void *interrupter(void *arg)
{
    gt_set_interrupt(arg, true);
    interrupt_sent = true;
    return NULL;
}

struct late_job {
    bool saw_interrupt, finished;
};

/* Ends only once the interruption was sent. */
static void wait_for_interrupt(void *arg)
{
    struct late_job *j = arg;
    uint64_t t0 = rt_now();

    while (!interrupt_sent && rt_now() - t0 < WAIT_LIMIT)
        pause_ms(1);
    j->saw_interrupt = interrupt_sent;
    pause_ms(10);
    j->finished = true;
}

Test(offload, interruption_waits_for_the_job_and_stays_marked, .init = start, .timeout = 5)
{
    struct late_job j = { false, false };
    gt_t *g;

    gt_interruptible(true);
    cr_assert_eq(gt_spawn(&g, NULL, interrupter, gt_self()), 0);
    cr_assert_eq(rt_offload(wait_for_interrupt, &j), 0);
    cr_assert(j.saw_interrupt, "the interrupter did not run while the job did");
    cr_assert(j.finished, "rt_offload returned before the job ended");
    cr_assert(gt_interruptible(true), "the interruptible setting was not restored");
    cr_assert_eq(gt_park_until(rt_deadline_after(100 * MS), "test", NULL), ECANCELED,
                 "the interruption was lost");
    gt_interruptible(false);
    cr_assert_eq(gt_join(g, NULL), 0);
}

/* ---- many at once ---- */

#define MANY 64

static atomic_uint jobs_run;

static void count_job(void *arg)
{
    (void)arg;
    pause_ms(2);
    jobs_run++;
}

static void *offload_one(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)rt_offload(count_job, NULL);
}

Test(offload, more_jobs_than_pool_threads_all_finish, .init = start, .timeout = 10)
{
    gt_t *g[MANY];
    void *rc;

    for (int i = 0; i < MANY; i++)
        cr_assert_eq(gt_spawn(&g[i], NULL, offload_one, NULL), 0);
    for (int i = 0; i < MANY; i++) {
        cr_assert_eq(gt_join(g[i], &rc), 0);
        cr_assert_eq((intptr_t)rc, 0);
    }
    cr_assert_eq(jobs_run, MANY);
}

/* ---- a job that cannot be queued ---- */

static void must_not_run(void *arg)
{
    *(bool *)arg = true;
}

Test(offload, queue_failure_is_returned_and_the_job_does_not_run, .init = start, .timeout = 5)
{
    bool ran = false;

    fail_queue = true;
    errno = EDOM;
    cr_assert_eq(rt_offload(must_not_run, &ran), EINVAL);
    cr_assert_eq(errno, EDOM);
    cr_assert_not(ran);
    fail_queue = false;
    cr_assert_eq(rt_offload(must_not_run, &ran), 0);
    cr_assert(ran);
}
