/* sem.c - semaphores that park the green thread.
 *
 * An unnamed process-private semaphore (sem_init(s, 0, v)) keeps glibc's
 * layout, struct new_sem, so that sem_init, sem_destroy, sem_getvalue and
 * sem_trywait stay glibc's own and need no wrapper:
 *
 *     glibc                        here
 *     data, low 32 bits: value     the value
 *     data, high 32 bits: nwaiters green threads waiting
 *     private                      0 = process-private, never written
 *     pad                          untouched
 *     (the 16 bytes after new_sem) FIFO of waiting green threads
 *
 * sem_init leaves the unused bytes as it found them, so the queue means
 * something only while nwaiters is not zero: the first waiter clears it.
 * nwaiters counts the queue's waiters, or more in a fork child: the waiters
 * that stayed in the parent are dropped from the queue only when reached.
 * glibc's sem_trywait takes a token with a compare-and-swap on the whole of
 * data when the low half is not zero, which is exactly right here too.
 *
 * sem_post hands its token straight to the first waiter instead of raising
 * the value, so waiters are served in FIFO order and a thread arriving later
 * cannot take the token from under one already woken; the value rises only
 * when nobody waits, and sem_post then fails with EOVERFLOW at SEM_VALUE_MAX.
 * The timed waits check their arguments first as glibc does (the clock and
 * tv_nsec), even when a token is there to take; only a wait that would block
 * times out. sem_wait and sem_timedwait are cancellation points, sem_clockwait
 * only where it blocks, as in glibc.
 *
 * Process-shared semaphores (pshared != 0, and every sem_open semaphore) keep
 * glibc's implementation, sem_post included, so that other processes see the
 * tokens and are woken: a green thread waits by polling sem_trywait with a
 * growing pause, honouring its deadline.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>

#include "signal_int.h"

struct green_sem {
    unsigned value;
    unsigned nwaiters;
    int private;
    int pad;
    struct gt_waitq waiters;
};

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "value in the low half of data");
_Static_assert(sizeof(struct green_sem) == sizeof(sem_t), "sem_t layout");
_Static_assert(offsetof(struct green_sem, private) == 8, "glibc new_sem.private offset");


struct sem_waiter {
    struct gt_waiter link;          /* first: a gt_waiter is a sem_waiter */
    bool granted;
};

static struct green_sem *green(sem_t *s)
{
    return (struct green_sem *)s;
}

/* glibc's new_sem.private: FUTEX_PRIVATE (0) or FUTEX_SHARED. */
static bool sem_is_green(sem_t *s)
{
    return green(s)->private == 0;
}

/* Take a token if there is one, without waiting; errno stays as it was. */
static bool take_token(sem_t *s)
{
    int saved_errno = errno;

    if (sem_is_green(s)) {
        if (!green(s)->value)
            return false;
        green(s)->value--;
        return true;
    }
    if (REAL(sem_trywait)(s) == 0)
        return true;
    errno = saved_errno;
    return false;
}

/* Queue for the next sem_post, until the deadline (0 = none). */
static int green_block(struct green_sem *s, uint64_t deadline)
{
    struct sem_waiter w = { .granted = false };
    int err;

    if (!s->nwaiters)
        s->waiters = (struct gt_waitq){ NULL, NULL };
    gt_waitq_push(&s->waiters, &w.link, gt_self());
    s->nwaiters++;
    while (!w.granted) {
        err = gt_park_until(deadline, "semaphore", s);
        if (err && !w.granted) {
            gt_waitq_remove(&s->waiters, &w.link);
            s->nwaiters--;
            return err;
        }
    }
    return 0;
}

/* A semaphore other processes may post: poll sem_trywait. */
static int shared_block(sem_t *s, uint64_t deadline)
{
    uint64_t pause = 0;
    int err;

    do {
        if ((err = shim_backoff(&pause, deadline)))
            return err;
    } while (!take_token(s));
    return 0;
}

/* No token was there: wait for one. A cancellation point. A signal ends
 * the wait, which goes on after a handler with SA_RESTART when it has no
 * timeout: glibc waits on a futex, and that is what the kernel does. */
static int wait_token(sem_t *s, uint64_t deadline)
{
    bool was = shim_cancel_point_begin(), sw, restart;
    int err;

    do {
        sw = shim_sig_wait_begin();
        err = sem_is_green(s) ? green_block(green(s), deadline) : shared_block(s, deadline);
        restart = err == EINTR;
        err = shim_sig_wait_end(sw, err, !deadline);
    } while (restart && !err && !take_token(s));
    shim_cancel_point_end(was, err);
    if (err) {
        errno = err;
        return -1;
    }
    return 0;
}

SHIM_EXPORT int sem_wait(sem_t *s)
{
    if (!rt_green())
        return REAL(sem_wait)(s);
    shim_testcancel();
    if (take_token(s))
        return 0;
    return wait_token(s, 0);
}

SHIM_EXPORT int sem_timedwait(sem_t *s, const struct timespec *abstime)
{
    uint64_t deadline;
    int err;

    if (!rt_green())
        return REAL(sem_timedwait)(s, abstime);
    err = shim_abs_deadline(CLOCK_REALTIME, abstime, &deadline);
    if (err) {
        errno = err;
        return -1;
    }
    shim_testcancel();
    if (take_token(s))
        return 0;
    return wait_token(s, deadline);
}

/* Unlike sem_timedwait, glibc's acts on cancellation only when it blocks. */
SHIM_EXPORT int sem_clockwait(sem_t *s, clockid_t clock, const struct timespec *abstime)
{
    uint64_t deadline;
    int err;

    if (!rt_green())
        return REAL(sem_clockwait)(s, clock, abstime);
    err = shim_abs_deadline(clock, abstime, &deadline);
    if (err) {
        errno = err;
        return -1;
    }
    if (take_token(s))
        return 0;
    return wait_token(s, deadline);
}

SHIM_EXPORT int sem_post(sem_t *ps)
{
    struct green_sem *s = green(ps);
    struct gt_waiter *w;

    if (!rt_green() || !sem_is_green(ps))
        return REAL(sem_post)(ps);
    if (s->nwaiters && (w = gt_waitq_pop(&s->waiters))) {
        s->nwaiters--;
        ((struct sem_waiter *)w)->granted = true;
        gt_unpark(w->g);
        return 0;
    }
    /* The queue is empty; a count left over was of threads that a fork left
     * behind in the parent (gt_waitq_pop drops them). */
    s->nwaiters = 0;
    if (s->value == SEM_VALUE_MAX) {
        errno = EOVERFLOW;
        return -1;
    }
    s->value++;
    return 0;
}
