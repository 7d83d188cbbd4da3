/* barrier.c - barriers that park the green thread.
 *
 * A process-private barrier keeps glibc's layout (struct pthread_barrier)
 * where it matters, so that pthread_barrier_init stays glibc's own, with its
 * EINVAL for a count of 0:
 *
 *     glibc                    here
 *     in                       threads waiting in the current round
 *     current_round            untouched
 *     count                    the count, never written
 *     shared                   0 = process-private, never written
 *     out, and 12 unused bytes FIFO of the waiting green threads
 *
 * glibc's init leaves the unused bytes as it found them, so the queue means
 * something only while a round has begun: its first thread clears it. The
 * thread that completes a round gets PTHREAD_BARRIER_SERIAL_THREAD, as with
 * glibc (the thread whose arrival number is a multiple of the count), and
 * releases the others at once, so the barrier is ready for the next round
 * before they even run; they never touch it again.
 *
 * pthread_barrier_destroy: glibc's does not fail with EBUSY; while a round is
 * incomplete it waits until the round completes (and then returns 0). So does
 * the green one, queued with the round's threads without being counted.
 *
 * Process-shared barriers keep glibc's protocol on glibc's fields, so that
 * threads of other processes running glibc's code take part in the same
 * rounds: the same counters, and futex wake-ups for the threads of other
 * processes blocked in glibc; a green thread itself waits by polling the
 * counters with a growing pause instead of blocking in the futex.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stddef.h>
#include <sys/syscall.h>

#include "shim.h"

/* glibc's struct pthread_barrier (nptl/internaltypes.h). */
struct glibc_barrier {
    unsigned in;
    unsigned current_round;
    unsigned count;
    int shared;
    unsigned out;
};

struct green_barrier {
    unsigned arrived;
    unsigned current_round;
    unsigned count;
    int shared;
    struct gt_waitq waiters;
};

_Static_assert(sizeof(struct green_barrier) == sizeof(pthread_barrier_t), "barrier layout");
_Static_assert(offsetof(struct green_barrier, count) == offsetof(struct glibc_barrier, count) &&
               offsetof(struct green_barrier, shared) == offsetof(struct glibc_barrier, shared),
               "glibc count and shared offsets");

/* glibc resets the counters of a shared barrier before `in` reaches this. */
#define BARRIER_IN_THRESHOLD (UINT_MAX / 2)


struct barrier_waiter {
    struct gt_waiter link;          /* first: a gt_waiter is a barrier_waiter */
    bool released;
};

static struct green_barrier *green(pthread_barrier_t *b)
{
    return (struct green_barrier *)b;
}

/* ---- process-private barriers ---- */

/* Wait in the queue until the round completes. */
static void wait_round(struct green_barrier *b, const char *what)
{
    struct barrier_waiter w = { .released = false };

    gt_waitq_push(&b->waiters, &w.link, gt_self());
    while (!w.released)
        gt_park(what, b);
}

static int green_wait(struct green_barrier *b)
{
    struct gt_waiter *w;

    if (b->arrived == 0)
        b->waiters = (struct gt_waitq){ NULL, NULL };
    if (++b->arrived < b->count) {
        wait_round(b, "barrier");
        return 0;
    }
    b->arrived = 0;
    while ((w = gt_waitq_pop(&b->waiters))) {
        ((struct barrier_waiter *)w)->released = true;
        gt_unpark(w->g);
    }
    return PTHREAD_BARRIER_SERIAL_THREAD;
}

/* ---- process-shared barriers: glibc's protocol, polled ---- */

/* Wake the threads of other processes blocked on a shared barrier's word. */
static void wake_blocked(unsigned *word)
{
    REAL(syscall)(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* Every thread that enters gets a number (`in`); a thread whose number
 * completes a round advances current_round to it. Numbers are handed out only
 * up to a threshold at the end of a round: later threads wait until the last
 * thread below it to leave (counted by `out`) has reset the barrier. */
static int shared_wait(struct glibc_barrier *b)
{
    uint64_t pause = 0;
    unsigned i, cr, count, max_in;

    for (;;) {
        i = __atomic_add_fetch(&b->in, 1, __ATOMIC_ACQ_REL);
        count = b->count;
        max_in = BARRIER_IN_THRESHOLD - BARRIER_IN_THRESHOLD % count;
        if (i <= max_in)
            break;
        while (__atomic_load_n(&b->in, __ATOMIC_RELAXED) > max_in)
            shim_backoff(&pause, 0);
    }
    cr = __atomic_load_n(&b->current_round, __ATOMIC_RELAXED);
    while (cr + count <= i) {
        if (__atomic_compare_exchange_n(&b->current_round, &cr, i - i % count, true,
                                        __ATOMIC_RELEASE, __ATOMIC_RELAXED)) {
            cr = i - i % count;
            wake_blocked(&b->current_round);
            break;
        }
    }
    pause = 0;
    while (i > cr) {
        shim_backoff(&pause, 0);
        cr = __atomic_load_n(&b->current_round, __ATOMIC_ACQUIRE);
    }
    if (__atomic_add_fetch(&b->out, 1, __ATOMIC_ACQ_REL) == max_in) {
        __atomic_store_n(&b->current_round, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&b->out, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&b->in, 0, __ATOMIC_RELEASE);
        wake_blocked(&b->in);
    }
    return i % count == 0 ? PTHREAD_BARRIER_SERIAL_THREAD : 0;
}

/* glibc's destroy: pretend the reset threshold is reached and wait for the
 * last thread still inside to reset the barrier. */
static int shared_destroy(struct glibc_barrier *b)
{
    uint64_t pause = 0;
    unsigned max_in = BARRIER_IN_THRESHOLD - BARRIER_IN_THRESHOLD % b->count;
    unsigned in = __atomic_load_n(&b->in, __ATOMIC_RELAXED);

    if (__atomic_fetch_add(&b->out, max_in - in, __ATOMIC_RELAXED) < in) {
        while (in != 0) {
            shim_backoff(&pause, 0);
            in = __atomic_load_n(&b->in, __ATOMIC_RELAXED);
        }
    }
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    return 0;
}

/* ---- the interposed functions ---- */

SHIM_EXPORT int pthread_barrier_wait(pthread_barrier_t *b)
{
    if (!rt_green())
        return REAL(pthread_barrier_wait)(b);
    if (green(b)->shared)
        return shared_wait((struct glibc_barrier *)b);
    return green_wait(green(b));
}

SHIM_EXPORT int pthread_barrier_destroy(pthread_barrier_t *b)
{
    if (!rt_green())
        return REAL(pthread_barrier_destroy)(b);
    if (green(b)->shared)
        return shared_destroy((struct glibc_barrier *)b);
    if (green(b)->arrived)
        wait_round(green(b), "barrier being destroyed");
    return 0;
}
