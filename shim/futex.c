/* futex.c - raw futexes: syscall(SYS_futex, ...) parks the green thread.
 *
 * Locks built directly on futexes (GLib's GMutex and GCond, libstdc++'s
 * std::atomic<T>::wait, hand-rolled ones) call syscall(SYS_futex) rather than
 * any pthread function; a real FUTEX_WAIT would put the one OS thread, and
 * every green thread with it, to sleep. So `syscall` is interposed, and the
 * four operations such locks are made of -- FUTEX_WAIT, FUTEX_WAIT_BITSET,
 * FUTEX_WAKE, FUTEX_WAKE_BITSET, private or not -- are done here among the
 * green threads the way the kernel does them among OS threads:
 *
 *   - waiters park in FIFO queues hashed by address (the kernel's futex hash
 *     buckets); each waiter remembers its address and bitset;
 *   - a wait fails with EAGAIN if the word does not hold the expected value
 *     at the time of the call, and otherwise ends when woken (0) or at its
 *     timeout (ETIMEDOUT): FUTEX_WAIT's timeout is relative, FUTEX_WAIT_BITSET's
 *     an absolute CLOCK_MONOTONIC time, or CLOCK_REALTIME with
 *     FUTEX_CLOCK_REALTIME, converted to the runtime's clock when called;
 *   - a wake wakes up to `val` waiters on that address whose bitset shares a
 *     bit with its own, oldest first (at least one, as the kernel does for a
 *     `val` of 0 or less), and returns how many it woke.
 *
 * A shared futex (no FUTEX_PRIVATE_FLAG) may live in memory shared with other
 * processes, whose waiters sleep in the kernel and whose wakers call it. A
 * shared wake therefore also passes on a real FUTEX_WAKE for whatever the
 * green waiters did not take, and counts what it woke. The kernel cannot
 * wake a green waiter, so a shared wait, while parked, looks at the word
 * with backoff (POLL_MIN doubling to POLL_MAX) and returns 0 once it changed.
 * Limits of that: another process's wake that leaves the word as it was goes
 * unseen (the wait goes on to its timeout), and green waiters do not count in
 * the result of a wake made by another process.
 *
 * Arguments the kernel rejects -- an unaligned or NULL address, a zero
 * bitset, an invalid timeout, FUTEX_CLOCK_REALTIME on an operation that does
 * not take it -- go to the kernel, which answers with its own error without
 * waiting. Other bad addresses are not checked: where the kernel would say
 * EFAULT, the shim's read of the word faults.
 *
 * Every other futex operation (FUTEX_REQUEUE, FUTEX_CMP_REQUEUE,
 * FUTEX_WAKE_OP, the PI operations...) and every other system call goes to
 * the kernel as it is. Those operations are not cooperative: they neither see
 * nor wake green waiters, and one that sleeps blocks the OS thread.
 *
 * The table belongs to the process, like the runtime's fd table: every green
 * thread runs on the one OS thread the runtime manages. A fork child keeps
 * only the thread that forked, which waits on nothing: the table starts
 * empty there, so that no wake in the child reaches a copy of a parent's
 * thread.
 */
#include <errno.h>
#include <linux/futex.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>

#include "shim.h"

#define BUCKET_BITS 8
#define POLL_MIN 50000u             /* ns: a shared wait's first look at the word */
#define POLL_MAX 1000000u           /* ns: and its slowest */
#define NS_PER_SEC 1000000000u

struct futex_waiter {
    struct gt_waiter link;          /* first: the queue hands back this */
    const uint32_t *uaddr;
    uint32_t bitset;
    bool woken;
};

static struct gt_waitq buckets[1u << BUCKET_BITS];

static struct gt_waitq *bucket(const uint32_t *uaddr)
{
    uint64_t h = ((uintptr_t)uaddr >> 2) * 0x9e3779b97f4a7c15ull;   /* Fibonacci hashing */

    return &buckets[h >> (64 - BUCKET_BITS)];
}

static void forget_waiters(void)
{
    memset(buckets, 0, sizeof(buckets));
}

__attribute__((constructor)) static void futex_init(void)
{
    pthread_atfork(NULL, NULL, forget_waiters);
}

static uint32_t load(const uint32_t *uaddr)
{
    return __atomic_load_n(uaddr, __ATOMIC_SEQ_CST);
}

static bool timespec_valid(const struct timespec *ts)
{
    return ts->tv_sec >= 0 && ts->tv_nsec >= 0 && ts->tv_nsec < (long)NS_PER_SEC;
}

/* A valid timespec in nanoseconds, saturating. */
static uint64_t timespec_ns(const struct timespec *ts)
{
    if ((uint64_t)ts->tv_sec > (UINT64_MAX - NS_PER_SEC) / NS_PER_SEC)
        return UINT64_MAX;
    return (uint64_t)ts->tv_sec * NS_PER_SEC + (uint64_t)ts->tv_nsec;
}

/* The wait's timeout as a runtime deadline: 0 for none. A time already past
 * gives a deadline already past, never 0. */
static uint64_t wait_deadline(int cmd, int op, const struct timespec *ts)
{
    struct timespec clk;
    uint64_t abs, now;

    if (!ts)
        return 0;
    if (cmd == FUTEX_WAIT)
        return rt_deadline_after(timespec_ns(ts));
    clock_gettime(op & FUTEX_CLOCK_REALTIME ? CLOCK_REALTIME : CLOCK_MONOTONIC, &clk);
    abs = timespec_ns(ts);
    now = timespec_ns(&clk);
    return abs <= now ? 1 : rt_deadline_after(abs - now);
}

/* Whether this futex call is one done among green threads: one of the four
 * operations, with arguments the kernel would accept. */
static bool cooperative(const uint32_t *uaddr, int op, const struct timespec *ts,
                        uint32_t bitset)
{
    int cmd = op & FUTEX_CMD_MASK;
    bool wait = cmd == FUTEX_WAIT || cmd == FUTEX_WAIT_BITSET;

    if (cmd != FUTEX_WAIT && cmd != FUTEX_WAIT_BITSET &&
        cmd != FUTEX_WAKE && cmd != FUTEX_WAKE_BITSET)
        return false;
    if ((op & FUTEX_CLOCK_REALTIME) && cmd != FUTEX_WAIT_BITSET)
        return false;               /* ENOSYS */
    if ((cmd == FUTEX_WAIT_BITSET || cmd == FUTEX_WAKE_BITSET) && bitset == 0)
        return false;               /* EINVAL */
    if (wait && ts && !timespec_valid(ts))
        return false;               /* EINVAL */
    return uaddr && (uintptr_t)uaddr % sizeof(uint32_t) == 0;  /* EFAULT, EINVAL */
}

static long futex_wait(const uint32_t *uaddr, uint32_t val, uint64_t deadline,
                       uint32_t bitset, bool shared)
{
    struct futex_waiter w = { .uaddr = uaddr, .bitset = bitset };
    struct gt_waitq *q = bucket(uaddr);
    uint64_t backoff = POLL_MIN, until;
    int r;

    if (load(uaddr) != val) {
        errno = EAGAIN;
        return -1;
    }
    gt_waitq_push(q, &w.link, gt_self());
    for (;;) {
        until = deadline;
        if (shared) {
            uint64_t poll = rt_deadline_after(backoff);

            if (!until || poll < until)
                until = poll;
        }
        r = gt_park_until(until, "futex", uaddr);
        if (w.woken)
            return 0;
        if (r == ETIMEDOUT && until == deadline) {
            gt_waitq_remove(q, &w.link);
            errno = ETIMEDOUT;
            return -1;
        }
        if (shared && load(uaddr) != val) {
            gt_waitq_remove(q, &w.link);    /* changed by another process */
            return 0;
        }
        if (r == ETIMEDOUT)
            backoff = backoff * 2 < POLL_MAX ? backoff * 2 : POLL_MAX;
    }
}

/* Wake up to nr green waiters on uaddr (at least one); how many woke. */
static int wake_green(const uint32_t *uaddr, int nr, uint32_t bitset)
{
    struct gt_waitq *q = bucket(uaddr);
    struct gt_waiter *l, *next;
    int woken = 0;

    for (l = q->head; l; l = next) {
        struct futex_waiter *w = (struct futex_waiter *)l;

        next = l->next;
        if (w->uaddr != uaddr || !(w->bitset & bitset))
            continue;
        gt_waitq_remove(q, l);
        w->woken = true;
        gt_unpark(l->g);
        if (++woken >= nr)
            break;
    }
    return woken;
}

static long futex_wake(const uint32_t *uaddr, int op, int nr, uint32_t bitset)
{
    int woken = wake_green(uaddr, nr, bitset);
    long more;

    if ((op & FUTEX_PRIVATE_FLAG) || (woken > 0 && woken >= nr))
        return woken;
    /* Waiters in other processes sleep in the kernel. With no green waiter
     * this also gives the kernel's error for an address it rejects. */
    more = REAL(syscall)(SYS_futex, uaddr, op, woken ? nr - woken : nr, NULL, NULL, bitset);
    return more < 0 ? more : woken + more;
}

SHIM_EXPORT long syscall(long number, ...)
{
    va_list ap;
    long a[6];
    const uint32_t *uaddr;
    const struct timespec *ts;
    int op, cmd;
    uint32_t bitset;

    va_start(ap, number);
    for (int i = 0; i < 6; i++)
        a[i] = va_arg(ap, long);
    va_end(ap);
    uaddr = (const uint32_t *)a[0];
    op = (int)a[1];
    ts = (const struct timespec *)a[3];
    cmd = op & FUTEX_CMD_MASK;
    bitset = cmd == FUTEX_WAIT_BITSET || cmd == FUTEX_WAKE_BITSET ? (uint32_t)a[5]
                                                                  : FUTEX_BITSET_MATCH_ANY;
    if (!rt_green() || number != SYS_futex || !cooperative(uaddr, op, ts, bitset))
        return REAL(syscall)(number, a[0], a[1], a[2], a[3], a[4], a[5]);
    if (cmd == FUTEX_WAKE || cmd == FUTEX_WAKE_BITSET)
        return futex_wake(uaddr, op, (int)a[2], bitset);
    return futex_wait(uaddr, (uint32_t)a[2], wait_deadline(cmd, op, ts), bitset,
                      !(op & FUTEX_PRIVATE_FLAG));
}
