/* thread_info.c - what a program can ask or set about a green thread: name,
 * attributes, signal mask, scheduling, CPU affinity and clock.
 *
 * All green threads share one OS thread, so what the kernel keeps per thread
 * is answered for that OS thread: CPU affinity (setting it moves every green
 * thread) and the CPU-time clock. Scheduling policy and priority are kept per
 * green thread and reported back, but the scheduler is FIFO whatever they say.
 * The initial thread's name is the process's name and new threads take their
 * creator's, as natively.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/prctl.h>

#include "signal_int.h"

#define TASK_COMM_LEN 16

static bool is_initial(gt_t *g)
{
    return gt_id(g) == 1;
}

SHIM_EXPORT int pthread_setname_np(pthread_t thread, const char *name)
{
    gt_t *g = (gt_t *)thread;
    int err;

    if (!rt_green())
        return REAL(pthread_setname_np)(thread, name);
    if (strlen(name) >= TASK_COMM_LEN)
        return ERANGE;
    if (is_initial(g) && (err = REAL(pthread_setname_np)(REAL(pthread_self)(), name)))
        return err;
    gt_set_name(g, name);
    return 0;
}

SHIM_EXPORT int pthread_getname_np(pthread_t thread, char *buf, size_t len)
{
    if (!rt_green())
        return REAL(pthread_getname_np)(thread, buf, len);
    if (len < TASK_COMM_LEN)
        return ERANGE;
    snprintf(buf, len, "%s", gt_name((gt_t *)thread));
    return 0;
}

/* The initial thread's name is the process's, as the kernel sees it. */
void shim_name_initial_thread(void)
{
    char comm[TASK_COMM_LEN] = "";

    prctl(PR_GET_NAME, comm);
    gt_set_name(gt_self(), comm);
}

SHIM_EXPORT int pthread_getattr_np(pthread_t thread, pthread_attr_t *attr)
{
    gt_t *g = (gt_t *)thread;
    size_t size, guard;
    void *addr;
    int err;

    if (!rt_green() || !gt_stack(g, &addr, &size, &guard))
        return REAL(pthread_getattr_np)(rt_green() ? REAL(pthread_self)() : thread, attr);
    err = pthread_attr_init(attr);
    if (err)
        return err;
    pthread_attr_setstack(attr, addr, size);
    pthread_attr_setguardsize(attr, guard);
    pthread_attr_setdetachstate(attr, gt_detached(g) ? PTHREAD_CREATE_DETACHED
                                                      : PTHREAD_CREATE_JOINABLE);
    return 0;
}

SHIM_EXPORT int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
    uint64_t mask, cur;

    if (!rt_green())
        return REAL(pthread_sigmask)(how, set, old);
    cur = gt_sigmask(gt_self());
    if (set) {
        mask = shim_sigset_bits(set);
        switch (how) {
        case SIG_BLOCK: mask = cur | mask; break;
        case SIG_UNBLOCK: mask = cur & ~mask; break;
        case SIG_SETMASK: break;
        default: return EINVAL;
        }
    }
    if (old) {
        sigemptyset(old);
        memcpy(old, &cur, sizeof(cur));
    }
    if (set) {
        gt_set_sigmask(shim_blockable(mask));
        shim_signal_deliver();      /* what was pended on it and is now let through */
    }
    return 0;
}

/* A single-threaded program's name for it; the mask is the green thread's
 * all the same, or the runtime would lose track of the OS thread's. */
SHIM_EXPORT int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
    int err;

    if (!rt_green())
        return REAL(sigprocmask)(how, set, old);
    if ((err = pthread_sigmask(how, set, old))) {
        errno = err;
        return -1;
    }
    return 0;
}

/* To itself, the real call on the OS thread: it runs the handler there and
 * then. To another green thread, pended on it (signal.c): its handler runs
 * on that thread's stack, and ends its wait, as the kernel would. glibc
 * refuses its own signals. */
static int send_signal(gt_t *g, int sig, int code, const union sigval *value)
{
    if (sig < 0 || sig >= NSIG || shim_sig_internal(sig))
        return EINVAL;
    if (sig == 0 || gt_finished(g))
        return 0;
    if (g == gt_self())
        return value ? REAL(pthread_sigqueue)(REAL(pthread_self)(), sig, *value)
                     : REAL(pthread_kill)(REAL(pthread_self)(), sig);
    return shim_signal_send(g, sig, code, value);
}

SHIM_EXPORT int pthread_kill(pthread_t thread, int sig)
{
    if (!rt_green())
        return REAL(pthread_kill)(thread, sig);
    return send_signal((gt_t *)thread, sig, SI_TKILL, NULL);
}

SHIM_EXPORT int pthread_sigqueue(pthread_t thread, int sig, const union sigval value)
{
    if (!rt_green())
        return REAL(pthread_sigqueue)(thread, sig, value);
    return send_signal((gt_t *)thread, sig, SI_QUEUE, &value);
}

SHIM_EXPORT int pthread_getschedparam(pthread_t thread, int *policy, struct sched_param *param)
{
    struct shim_thread *t = shim_thread((gt_t *)thread);

    if (!rt_green())
        return REAL(pthread_getschedparam)(thread, policy, param);
    *policy = t->sched_policy;
    param->sched_priority = t->sched_priority;
    return 0;
}

static int check_priority(int policy, int priority)
{
    int lo = sched_get_priority_min(policy), hi = sched_get_priority_max(policy);

    return lo < 0 || priority < lo || priority > hi ? EINVAL : 0;
}

SHIM_EXPORT int pthread_setschedparam(pthread_t thread, int policy, const struct sched_param *param)
{
    struct shim_thread *t = shim_thread((gt_t *)thread);
    int err;

    if (!rt_green())
        return REAL(pthread_setschedparam)(thread, policy, param);
    if ((err = check_priority(policy, param->sched_priority)))
        return err;
    t->sched_policy = policy;
    t->sched_priority = param->sched_priority;
    return 0;
}

SHIM_EXPORT int pthread_setschedprio(pthread_t thread, int priority)
{
    struct shim_thread *t = shim_thread((gt_t *)thread);
    int err;

    if (!rt_green())
        return REAL(pthread_setschedprio)(thread, priority);
    if ((err = check_priority(t->sched_policy, priority)))
        return err;
    t->sched_priority = priority;
    return 0;
}

SHIM_EXPORT int pthread_setaffinity_np(pthread_t thread, size_t size, const cpu_set_t *set)
{
    return REAL(pthread_setaffinity_np)(rt_green() ? REAL(pthread_self)() : thread, size, set);
}

SHIM_EXPORT int pthread_getaffinity_np(pthread_t thread, size_t size, cpu_set_t *set)
{
    return REAL(pthread_getaffinity_np)(rt_green() ? REAL(pthread_self)() : thread, size, set);
}

SHIM_EXPORT int pthread_getcpuclockid(pthread_t thread, clockid_t *clock)
{
    return REAL(pthread_getcpuclockid)(rt_green() ? REAL(pthread_self)() : thread, clock);
}
