/* diff_futex.c - locks built on raw futexes, syscall(SYS_futex, ...), as GLib
 * and libstdc++ build theirs: results, error codes and effects, never a time
 * or an order that depends on scheduling.
 *
 * Checks: a three-state futex mutex (FUTEX_WAIT_PRIVATE/FUTEX_WAKE_PRIVATE)
 * guarding a checksum for 8 threads x 10,000 iterations, yielding inside the
 * critical section so that others contend; a one-shot event (shared
 * FUTEX_WAIT/FUTEX_WAKE) released to 8 waiters; FUTEX_WAIT and
 * FUTEX_WAIT_BITSET on a word that does not hold the value (EAGAIN); timeouts
 * no earlier than asked and less than 50 ms late: FUTEX_WAIT relative,
 * private and shared, FUTEX_WAIT_BITSET absolute on CLOCK_MONOTONIC and with
 * FUTEX_CLOCK_REALTIME, and at once for a zero or past timeout; wake counts:
 * 0 with no waiter, a wake of 2 with 3 waiters parked for 100 ms wakes 1 or
 * 2, repeated wakes of 0 (which wake one) add up to exactly the 3 waiters;
 * wakes of 1 never wake more; FUTEX_WAKE_BITSET
 * wakes only the waiter whose bitset matches; errno left alone on success;
 * the kernel's errors: EINVAL (unaligned address, zero bitset, invalid
 * timeout), ENOSYS (FUTEX_CLOCK_REALTIME with FUTEX_WAIT, an unknown
 * operation), EFAULT (NULL address; a private wake of NULL is 0), other
 * operations passing through (FUTEX_REQUEUE with nobody waiting: 0,
 * FUTEX_CMP_REQUEUE with the wrong value: EAGAIN); a shared futex in
 * MAP_SHARED memory whose waiter is woken by a forked child.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define NT 8
#define NITER 10000
#define TIMEOUT_MS 100
#define SLACK_MS 50

static long futex(void *uaddr, int op, uint32_t val, const struct timespec *ts, uint32_t bitset)
{
    return syscall(SYS_futex, uaddr, op, val, ts, NULL, bitset);
}

static struct timespec clock_in_ms(clockid_t clk, long ms)
{
    struct timespec ts;

    clock_gettime(clk, &ts);
    ts.tv_nsec += ms * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    return ts;
}

static const char *on_time(long start, long ms)
{
    long took = now_ms() - start;

    return took < ms ? "EARLY" : took >= ms + SLACK_MS ? "LATE" : "on time";
}

/* ---- a futex mutex: 0 free, 1 locked, 2 locked with waiters (Drepper) ---- */

static _Atomic uint32_t mutex_word;

static void fmutex_lock(void)
{
    uint32_t c = 0;

    if (atomic_compare_exchange_strong(&mutex_word, &c, 1))
        return;
    if (c != 2)
        c = atomic_exchange(&mutex_word, 2);
    while (c != 0) {
        futex(&mutex_word, FUTEX_WAIT_PRIVATE, 2, NULL, 0);
        c = atomic_exchange(&mutex_word, 2);
    }
}

static void fmutex_unlock(void)
{
    if (atomic_fetch_sub(&mutex_word, 1) != 1) {
        atomic_store(&mutex_word, 0);
        futex(&mutex_word, FUTEX_WAKE_PRIVATE, 1, NULL, 0);
    }
}

static uint64_t checksum, iterations;

/* Each iteration adds its own term; the sum does not depend on the order in
 * which the threads got the lock, a lost update changes it. */
static uint64_t term(uint64_t id, int i)
{
    return id * 1000003u + (uint64_t)i * (uint64_t)i;
}

static void *mutex_user(void *arg)
{
    uint64_t id = (uint64_t)(uintptr_t)arg;

    for (int i = 0; i < NITER; i++) {
        fmutex_lock();
        uint64_t c = checksum;
        if (i % 50 == 0)
            sched_yield();          /* hold it a while: others must wait */
        checksum = c + term(id, i);
        iterations++;
        fmutex_unlock();
    }
    return NULL;
}

static void check_mutex(void)
{
    pthread_t t[NT];
    uint64_t expect = 0;
    int i, j;

    for (i = 0; i < NT; i++)
        t[i] = spawn(mutex_user, (void *)(uintptr_t)(i + 1));
    for (i = 0; i < NT; i++)
        join(t[i]);
    for (i = 0; i < NT; i++)
        for (j = 0; j < NITER; j++)
            expect += term((uint64_t)(i + 1), j);
    printf("futex mutex, %d threads x %d: %llu iterations, checksum %llu (%s), word free %d\n",
           NT, NITER, (unsigned long long)iterations, (unsigned long long)checksum,
           checksum == expect ? "as expected" : "WRONG", atomic_load(&mutex_word) == 0);
}

/* ---- a one-shot event on a shared futex ---- */

static _Atomic uint32_t event_word;
static atomic_int event_passed;

static void *event_waiter(void *arg)
{
    (void)arg;
    while (atomic_load(&event_word) == 0)
        futex(&event_word, FUTEX_WAIT, 0, NULL, 0);
    atomic_fetch_add(&event_passed, 1);
    return NULL;
}

static void check_event(void)
{
    pthread_t t[NT];
    int i, passed_before;
    long woke;

    for (i = 0; i < NT; i++)
        t[i] = spawn(event_waiter, NULL);
    sleep_ms(20);
    passed_before = atomic_load(&event_passed);
    atomic_store(&event_word, 1);
    woke = futex(&event_word, FUTEX_WAKE, INT_MAX, NULL, 0);
    for (i = 0; i < NT; i++)
        join(t[i]);
    printf("futex event: passed before set %d, wake result >= 0 %d, passed after %d\n",
           passed_before, woke >= 0, atomic_load(&event_passed));
}

/* ---- EAGAIN and timeouts ---- */

static void check_value_and_timeouts(void)
{
    static uint32_t w = 5;
    struct timespec rel = { 0, TIMEOUT_MS * 1000000L }, zero = { 0, 0 }, abs;
    long r, start;
    int e;

    r = futex(&w, FUTEX_WAIT_PRIVATE, 6, NULL, 0), e = errno;
    printf("FUTEX_WAIT_PRIVATE, word 5, expected 6: %s\n", res(r, e));
    r = futex(&w, FUTEX_WAIT, 6, &rel, 0), e = errno;
    printf("FUTEX_WAIT, word 5, expected 6, with a timeout: %s\n", res(r, e));
    r = futex(&w, FUTEX_WAIT_BITSET_PRIVATE, 6, NULL, FUTEX_BITSET_MATCH_ANY), e = errno;
    printf("FUTEX_WAIT_BITSET_PRIVATE, word 5, expected 6: %s\n", res(r, e));

    start = now_ms();
    r = futex(&w, FUTEX_WAIT_PRIVATE, 5, &rel, 0), e = errno;
    printf("FUTEX_WAIT_PRIVATE %d ms relative: %s, %s\n", TIMEOUT_MS, res(r, e),
           on_time(start, TIMEOUT_MS));
    start = now_ms();
    r = futex(&w, FUTEX_WAIT, 5, &rel, 0), e = errno;
    printf("FUTEX_WAIT (shared) %d ms relative: %s, %s\n", TIMEOUT_MS, res(r, e),
           on_time(start, TIMEOUT_MS));
    abs = clock_in_ms(CLOCK_MONOTONIC, TIMEOUT_MS);
    start = now_ms();
    r = futex(&w, FUTEX_WAIT_BITSET_PRIVATE, 5, &abs, FUTEX_BITSET_MATCH_ANY), e = errno;
    printf("FUTEX_WAIT_BITSET_PRIVATE %d ms absolute monotonic: %s, %s\n", TIMEOUT_MS,
           res(r, e), on_time(start, TIMEOUT_MS));
    abs = clock_in_ms(CLOCK_REALTIME, TIMEOUT_MS);
    start = now_ms();
    r = futex(&w, FUTEX_WAIT_BITSET | FUTEX_CLOCK_REALTIME, 5, &abs, FUTEX_BITSET_MATCH_ANY);
    e = errno;
    printf("FUTEX_WAIT_BITSET|FUTEX_CLOCK_REALTIME %d ms absolute realtime: %s, %s\n",
           TIMEOUT_MS, res(r, e), on_time(start, TIMEOUT_MS));

    start = now_ms();
    r = futex(&w, FUTEX_WAIT_PRIVATE, 5, &zero, 0), e = errno;
    printf("FUTEX_WAIT_PRIVATE zero timeout: %s, at once %d\n", res(r, e), now_ms() - start < SLACK_MS);
    start = now_ms();
    r = futex(&w, FUTEX_WAIT_BITSET_PRIVATE, 5, &zero, FUTEX_BITSET_MATCH_ANY), e = errno;
    printf("FUTEX_WAIT_BITSET_PRIVATE at time 0: %s, at once %d\n", res(r, e),
           now_ms() - start < SLACK_MS);
    r = futex(&w, FUTEX_WAIT_BITSET_PRIVATE, 6, &zero, FUTEX_BITSET_MATCH_ANY), e = errno;
    printf("FUTEX_WAIT_BITSET_PRIVATE at time 0, expected 6: %s\n", res(r, e));
}

/* ---- wake counts ---- */

static uint32_t wake_word;
static atomic_int wake_returned, wake_bad;

static void *plain_waiter(void *arg)
{
    long r;

    (void)arg;
    r = futex(&wake_word, FUTEX_WAIT_PRIVATE, 0, NULL, 0);
    if (r != 0)
        atomic_fetch_add(&wake_bad, 1);
    atomic_fetch_add(&wake_returned, 1);
    return NULL;
}

static uint32_t bits_word;
static atomic_int bits_done[2];

static void *bits_waiter(void *arg)
{
    int i = (int)(intptr_t)arg;

    if (futex(&bits_word, FUTEX_WAIT_BITSET_PRIVATE, 0, NULL, 1u << i) != 0)
        atomic_fetch_add(&wake_bad, 1);
    atomic_store(&bits_done[i], 1);
    return NULL;
}

/* Wake nr (1, or 0: the kernel then wakes one too) at a time, with a pause
 * between tries, until `want` have woken; negative if one wake woke more. */
static long wake_until(uint32_t *w, int op, uint32_t nr, uint32_t bitset, long want)
{
    long total = 0, r;
    int tries = 0, over = 0;

    while (total < want && tries++ < 500) {
        r = futex(w, op, nr, NULL, bitset);
        if (r > 1)
            over = 1;
        if (r > 0)
            total += r;
        else
            sleep_ms(2);
    }
    return over ? -total : total;
}

static void check_wake_counts(void)
{
    pthread_t t[3];
    long r;
    int i, e;

    errno = 4242;
    r = futex(&wake_word, FUTEX_WAKE_PRIVATE, 1, NULL, 0);
    printf("FUTEX_WAKE_PRIVATE with nobody waiting: %ld, errno left alone %d\n", r, errno == 4242);
    errno = 4242;
    r = futex(&wake_word, FUTEX_WAKE, INT_MAX, NULL, 0);
    printf("FUTEX_WAKE (shared) with nobody waiting: %ld, errno left alone %d\n", r, errno == 4242);

    for (i = 0; i < 3; i++)
        t[i] = spawn(plain_waiter, NULL);
    sleep_ms(100);
    r = futex(&wake_word, FUTEX_WAKE_PRIVATE, 2, NULL, 0), e = errno;
    printf("FUTEX_WAKE_PRIVATE 2 of 3 waiters parked 100 ms: woke 1 or 2: %s (%s)\n",
           r >= 1 && r <= 2 ? "yes" : "no", r >= 0 ? "no error" : ename(e));
    r += wake_until(&wake_word, FUTEX_WAKE_PRIVATE, 0, 0, 3 - r);
    for (i = 0; i < 3; i++)
        join(t[i]);
    printf("then FUTEX_WAKE_PRIVATE of 0 (one each) until all woke: total %ld, returned %d, bad returns %d\n", r,
           atomic_load(&wake_returned), atomic_load(&wake_bad));

    for (i = 0; i < 2; i++)
        t[i] = spawn(bits_waiter, (void *)(intptr_t)i);
    r = wake_until(&bits_word, FUTEX_WAKE_BITSET_PRIVATE, 1, 2, 1);
    join(t[1]);
    printf("FUTEX_WAKE_BITSET bitset 2: woke %ld, bitset-2 waiter done %d, bitset-1 waiter done %d\n",
           r, atomic_load(&bits_done[1]), atomic_load(&bits_done[0]));
    r = wake_until(&bits_word, FUTEX_WAKE_BITSET_PRIVATE, 1, 1, 1);
    join(t[0]);
    printf("FUTEX_WAKE_BITSET bitset 1: woke %ld, bitset-1 waiter done %d, bad returns %d\n", r,
           atomic_load(&bits_done[0]), atomic_load(&wake_bad));
}

/* ---- the kernel's errors, and operations that pass through ---- */

static void check_errors(void)
{
    static uint32_t w[2] __attribute__((aligned(8)));
    char *unaligned = (char *)w + 1;
    struct timespec bad = { 0, 1000000000L }, neg = { -1, 0 }, zero = { 0, 0 };

    SHOW("FUTEX_WAIT_PRIVATE unaligned", futex(unaligned, FUTEX_WAIT_PRIVATE, 0, &zero, 0));
    SHOW("FUTEX_WAKE_PRIVATE unaligned", futex(unaligned, FUTEX_WAKE_PRIVATE, 1, NULL, 0));
    SHOW("FUTEX_WAKE unaligned", futex(unaligned, FUTEX_WAKE, 1, NULL, 0));
    SHOW("FUTEX_WAIT_BITSET bitset 0", futex(w, FUTEX_WAIT_BITSET_PRIVATE, 0, &zero, 0));
    SHOW("FUTEX_WAKE_BITSET bitset 0", futex(w, FUTEX_WAKE_BITSET_PRIVATE, 1, NULL, 0));
    SHOW("FUTEX_WAIT tv_nsec 1e9", futex(w, FUTEX_WAIT_PRIVATE, 0, &bad, 0));
    SHOW("FUTEX_WAIT tv_nsec 1e9, value differs", futex(w, FUTEX_WAIT_PRIVATE, 1, &bad, 0));
    SHOW("FUTEX_WAIT tv_sec -1", futex(w, FUTEX_WAIT_PRIVATE, 0, &neg, 0));
    SHOW("FUTEX_WAIT_BITSET tv_sec -1", futex(w, FUTEX_WAIT_BITSET, 0, &neg, FUTEX_BITSET_MATCH_ANY));
    SHOW("FUTEX_WAIT|FUTEX_CLOCK_REALTIME", futex(w, FUTEX_WAIT | FUTEX_CLOCK_REALTIME, 0, &zero, 0));
    SHOW("FUTEX_WAKE|FUTEX_CLOCK_REALTIME", futex(w, FUTEX_WAKE | FUTEX_CLOCK_REALTIME, 1, NULL, 0));
    SHOW("futex op 99", futex(w, 99, 0, NULL, 0));
    SHOW("FUTEX_WAIT_PRIVATE on NULL", futex(NULL, FUTEX_WAIT_PRIVATE, 0, &zero, 0));
    SHOW("FUTEX_WAIT on NULL", futex(NULL, FUTEX_WAIT, 0, NULL, 0));
    SHOW("FUTEX_WAKE_PRIVATE on NULL", futex(NULL, FUTEX_WAKE_PRIVATE, 1, NULL, 0));
    SHOW("FUTEX_WAKE on NULL", futex(NULL, FUTEX_WAKE, 1, NULL, 0));
    SHOW("FUTEX_REQUEUE_PRIVATE, nobody waiting",
         syscall(SYS_futex, w, FUTEX_REQUEUE_PRIVATE, 1, (long)INT_MAX, &w[1], 0));
    SHOW("FUTEX_CMP_REQUEUE_PRIVATE, wrong value",
         syscall(SYS_futex, w, FUTEX_CMP_REQUEUE_PRIVATE, 1, (long)INT_MAX, &w[1], 7));
    SHOW("getpid through syscall() is getpid", syscall(SYS_getpid) == getpid());
}

/* ---- a shared futex in MAP_SHARED memory, woken by another process ---- */

static void check_fork(void)
{
    struct timespec limit = { 2, 0 }, pause = { 0, 150 * 1000000L };
    _Atomic uint32_t *word;
    int status;
    pid_t pid;
    long r;
    int e;

    word = shared_mem(4096);
    pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        /* The raw system call: the child's only job is to wake the parent. */
        syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &pause, NULL);
        atomic_store(word, 1);
        syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
        _exit(0);
    }
    r = futex(word, FUTEX_WAIT, 0, &limit, 0), e = errno;
    printf("FUTEX_WAIT on MAP_SHARED memory, woken by a child process: %s, word %u\n",
           res(r, e), (unsigned)atomic_load(word));
    if (waitpid(pid, &status, 0) != pid)
        die("waitpid");
    printf("child exited %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    munmap(word, 4096);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    alarm(10);
    check_mutex();
    check_event();
    check_value_and_timeouts();
    check_wake_counts();
    check_errors();
    check_fork();
    printf("done\n");
    return 0;
}
