/* offload.c - running a blocking call on libuv's thread pool.
 *
 * Some calls cannot be made cooperative from the outside: glibc's resolver
 * reaches DNS servers, nscd and the NSS modules through internal calls that
 * never pass through an interposed function. Such a call runs on one of
 * libuv's pool threads (uv_queue_work) while the green thread that made it
 * parks; libuv runs the after-work callback in the hub once the pool thread
 * has signalled the loop's async handle, and that callback unparks it.
 *
 * The pool threads are OS threads the runtime does not manage: rt_mode is zero
 * there, so every function the job calls, wrapped or not, is plain libc. The
 * job that starts the pool creates them, and they take the creating thread's
 * signal mask and name: it is queued with every signal blocked, which keeps
 * the program's process-directed signals off threads the program does not
 * know it has (libuv 1.44 does not mask them), and under the name
 * "greenrun-pool", which tells them apart in ps -L, top -H and
 * /proc/PID/task/TID/comm. libuv has 4 of them (UV_THREADPOOL_SIZE) and
 * keeps them until the process ends.
 *
 * The waiting thread counts as waiting on something outside, as an fd wait
 * does: the job finishing will wake it, so the deadlock detector must not
 * fire meanwhile. The wait cannot be cut short: a job cannot be stopped half
 * way, and the uv_work_t lives on the waiting thread's stack. An interruption
 * (gt_set_interrupt) arriving meanwhile stays marked for the thread's next
 * interruptible wait.
 */
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "rt_int.h"

#define POOL_NAME "greenrun-pool"

struct offload {
    uv_work_t req;
    void (*work)(void *arg);
    void *arg;
    gt_t *waiter;
    bool done;
};

/* The process that started the pool: 0 before the first job, and in a fork
 * child the parent's until the child's first job restarts it. */
static pid_t pool_pid;

/* On a pool thread. */
static void run(uv_work_t *req)
{
    struct offload *o = req->data;

    o->work(o->arg);
}

/* In the hub. The status is UV_ECANCELED only after uv_cancel(), never
 * called: the job has run. */
static void finished(uv_work_t *req, int status)
{
    struct offload *o = req->data;

    (void)status;
    o->done = true;
    gt_unpark(o->waiter);
}

/* uv_queue_work, with the signal mask and name the pool's threads must have
 * when this job is the one that creates them. A uv error code. */
static int queue(struct rt_sched *s, struct offload *o)
{
    pid_t pid = getpid();
    char name[16] = "";
    sigset_t all, mask;
    int err;

    if (pool_pid == pid)
        return uv_queue_work(&s->loop, &o->req, run, finished);
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &mask);
    prctl(PR_GET_NAME, name);
    prctl(PR_SET_NAME, POOL_NAME);
    err = uv_queue_work(&s->loop, &o->req, run, finished);
    prctl(PR_SET_NAME, name);
    sigprocmask(SIG_SETMASK, &mask, NULL);
    if (!err)
        pool_pid = pid;
    return err;
}

int rt_offload(void (*work)(void *arg), void *arg)
{
    struct rt_sched *s = rt_sched;
    struct offload o = { .work = work, .arg = arg, .waiter = s->current };
    bool was;
    int err;

    o.req.data = &o;
    RT_CALL_OUT(err = queue(s, &o));
    if (err)
        return -err;
    was = gt_interruptible(false);
    while (!o.done)                 /* anything else that unparks us is early */
        rt_park(0, true, "thread pool job", &o);
    gt_interruptible(was);
    return 0;
}

static void nothing(uv_work_t *req)
{
    (void)req;
}

/* Stops the pool as libuv's destructor (uv_library_shutdown) would, by
 * joining its threads. In a fork child that has not restarted the pool, the
 * threads stayed behind in the parent, but libuv still counts them, and
 * joining them would crash. Its own fork handler has set the pool to start
 * afresh on the next job: a job that does nothing, on a loop of its own,
 * gives it live threads to join. */
static void pool_stop(void)
{
    static uv_loop_t loop;
    static uv_work_t req;

    if (pool_pid != getpid() && uv_loop_init(&loop) == 0)
        uv_queue_work(&loop, &req, nothing, NULL);
    uv_library_shutdown();
}

/* This destructor runs before libuv's (libuv is a dependency of ours), which
 * then finds the pool stopped: stopped from here with rt_mode off, since
 * libuv's pthread_join and friends, called from the thread that calls
 * exit(), would otherwise reach the shim's wrappers. Jobs still queued or
 * running are waited for. */
__attribute__((destructor)) static void pool_shutdown(void)
{
    if (pool_pid)
        RT_CALL_OUT(pool_stop());
}
