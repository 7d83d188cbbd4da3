/* diff_barrier.c - barriers: results, error codes, rounds, destroy, and a
 * barrier shared with another process.
 *
 * Checks: pthread_barrier_init's EINVAL for a count of 0; a count of 1
 * (every wait is the serial thread); 8 threads x 100 rounds on one barrier,
 * with exactly one PTHREAD_BARRIER_SERIAL_THREAD per round and no thread
 * leaving a round before all 8 arrived; the serial thread is the last to
 * arrive (glibc's choice, made deterministic by the program); destroy while a
 * thread waits does not fail but waits for the round to complete (glibc's
 * behaviour: it never returns EBUSY); init again after destroy; a
 * process-shared barrier used by this process (two threads) and a child
 * (fork) for several rounds, each side arriving last in turn, while another
 * thread of the parent keeps running.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

/* A barrier call's result: an error name, or the serial thread's mark. */
static const char *bname(int r)
{
    return r == PTHREAD_BARRIER_SERIAL_THREAD ? "PTHREAD_BARRIER_SERIAL_THREAD" : ename(r);
}

#define SAY(what, call) printf("%s: %s\n", what, bname(call))

/* What a waiter thread returned: the result of its pthread_barrier_wait. */
static int joined(pthread_t t)
{
    return (int)(intptr_t)join(t);
}

/* ---- calls ---- */

static void check_calls(void)
{
    pthread_barrier_t b;

    SAY("init count 0", pthread_barrier_init(&b, NULL, 0));
    SAY("init count 1", pthread_barrier_init(&b, NULL, 1));
    SAY("wait", pthread_barrier_wait(&b));
    SAY("wait", pthread_barrier_wait(&b));
    SAY("destroy", pthread_barrier_destroy(&b));
}

/* ---- many rounds ---- */

#define THREADS 8
#define ROUNDS 100

static pthread_barrier_t rounds_barrier;
static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;
static int arrived[ROUNDS], serial[ROUNDS], early;

static void *round_runner(void *arg)
{
    int r, got;

    (void)arg;
    for (r = 0; r < ROUNDS; r++) {
        pthread_mutex_lock(&count_lock);
        arrived[r]++;
        pthread_mutex_unlock(&count_lock);
        if (r % 7 == 0)
            sched_yield();
        got = pthread_barrier_wait(&rounds_barrier);
        pthread_mutex_lock(&count_lock);
        early += arrived[r] != THREADS;
        if (got == PTHREAD_BARRIER_SERIAL_THREAD)
            serial[r]++;
        else if (got != 0)
            early += 1000;
        pthread_mutex_unlock(&count_lock);
    }
    return NULL;
}

static void check_rounds(void)
{
    pthread_t t[THREADS];
    int i, exactly_one = 0, total = 0;

    SAY("init count 8", pthread_barrier_init(&rounds_barrier, NULL, THREADS));
    for (i = 0; i < THREADS; i++)
        t[i] = spawn(round_runner, NULL);
    for (i = 0; i < THREADS; i++)
        join(t[i]);
    for (i = 0; i < ROUNDS; i++) {
        exactly_one += serial[i] == 1;
        total += serial[i];
    }
    printf("%d threads x %d rounds: serial threads %d, rounds with exactly one %d, "
           "left a round early %d\n", THREADS, ROUNDS, total, exactly_one, early);
    SAY("destroy", pthread_barrier_destroy(&rounds_barrier));
}

/* ---- the last to arrive is the serial thread ---- */

static pthread_barrier_t order_barrier;

static void *arrive_after(void *arg)
{
    usleep((useconds_t)(intptr_t)arg * 1000);
    return (void *)(intptr_t)pthread_barrier_wait(&order_barrier);
}

static void check_serial_is_last(void)
{
    pthread_t t[3];
    int i;

    pthread_barrier_init(&order_barrier, NULL, 3);
    for (i = 0; i < 3; i++)
        t[i] = spawn(arrive_after, (void *)(intptr_t)(i == 1 ? 80 : 20 * i));
    for (i = 0; i < 3; i++)
        printf("arriving after %d ms: %s\n", i == 1 ? 80 : 20 * i, bname(joined(t[i])));
    pthread_barrier_destroy(&order_barrier);
}

/* ---- destroy while a thread waits ---- */

/* glibc's destroy does not fail with EBUSY: it waits until the threads in
 * the barrier have left, which takes a thread completing the round. The
 * waiter of that round is not looked at: glibc resets the barrier for the
 * destroyer before that thread has seen its round complete, and it may then
 * wait forever (POSIX leaves destroying a barrier in use undefined). */
static pthread_barrier_t doomed, again;
static volatile int destroyed;

static void *doomed_waiter(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&doomed);
    return NULL;
}

static void *destroyer(void *arg)
{
    int r = pthread_barrier_destroy(&doomed);

    (void)arg;
    destroyed = 1;
    return (void *)(intptr_t)r;
}

static void *other_waiter(void *arg)
{
    return (void *)(intptr_t)pthread_barrier_wait(arg);
}

static void *late_waiter(void *arg)
{
    usleep(20000);
    return (void *)(intptr_t)pthread_barrier_wait(arg);
}

static void check_destroy_while_waiting(void)
{
    pthread_t d;
    int mine;

    pthread_barrier_init(&doomed, NULL, 2);
    pthread_detach(spawn(doomed_waiter, NULL));
    usleep(30000);
    d = spawn(destroyer, NULL);
    usleep(100000);
    printf("destroy with a thread waiting: still in destroy after 100 ms: %s\n",
           destroyed ? "no" : "yes");
    mine = pthread_barrier_wait(&doomed);
    printf("a thread completes the round: it gets %s, destroy returns %s\n", bname(mine),
           bname(joined(d)));

    SAY("init count 2", pthread_barrier_init(&again, NULL, 2));
    d = spawn(other_waiter, &again);
    usleep(20000);
    SAY("wait", pthread_barrier_wait(&again));
    printf("other thread: %s\n", bname(joined(d)));
    SAY("destroy", pthread_barrier_destroy(&again));
    SAY("init count 2 again", pthread_barrier_init(&again, NULL, 2));
    d = spawn(late_waiter, &again);
    SAY("wait", pthread_barrier_wait(&again));
    printf("other thread: %s\n", bname(joined(d)));
    SAY("destroy", pthread_barrier_destroy(&again));
}

/* ---- a barrier shared with a child process ---- */

#define SHARED_ROUNDS 4

struct shm {
    pthread_barrier_t b;
    int serial[SHARED_ROUNDS];
};

/* Each of the three parties (2 threads here, the child) arrives last in
 * turn: `who` sleeps 60 ms before the rounds that are its own. */
struct party {
    struct shm *shm;
    int who;
};

static void *party_main(void *arg)
{
    struct party *p = arg;
    int r, got;

    for (r = 0; r < SHARED_ROUNDS; r++) {
        if (r % 3 == p->who)
            usleep(60000);
        got = pthread_barrier_wait(&p->shm->b);
        if (got == PTHREAD_BARRIER_SERIAL_THREAD)
            __atomic_add_fetch(&p->shm->serial[r], 1, __ATOMIC_SEQ_CST);
        else if (got != 0)
            return (void *)1;
    }
    return NULL;
}

static void check_shared(void)
{
    struct shm *shm = shared_mem(sizeof(*shm));
    struct party parties[3];
    pthread_barrierattr_t a;
    pthread_t t[2], tick;
    int i, status, pshared;
    long start;
    pid_t pid;

    for (i = 0; i < 3; i++)
        parties[i] = (struct party){ shm, i };
    pthread_barrierattr_init(&a);
    SAY("shared: setpshared", pthread_barrierattr_setpshared(&a, PTHREAD_PROCESS_SHARED));
    pthread_barrierattr_getpshared(&a, &pshared);
    printf("shared: getpshared %s\n", pshared == PTHREAD_PROCESS_SHARED ? "PTHREAD_PROCESS_SHARED" : "?");
    SAY("shared: init count 0", pthread_barrier_init(&shm->b, &a, 0));
    SAY("shared: init count 3", pthread_barrier_init(&shm->b, &a, 3));
    pthread_barrierattr_destroy(&a);

    pid = xfork();
    if (pid == 0)
        _exit(party_main(&parties[2]) != NULL);
    tick = start_ticker();
    start = now_ms();
    for (i = 0; i < 2; i++)
        t[i] = spawn(party_main, &parties[i]);
    for (i = 0; i < 2; i++)
        if (join(t[i]))
            printf("shared: a wait failed\n");
    stop_ticker(tick);
    printf("shared: %d rounds with 2 threads and a child, each arriving last in turn, "
           "took >= 200 ms: %s, other threads ran meanwhile: %s\n", SHARED_ROUNDS,
           now_ms() - start >= 200 ? "yes" : "no", ticks >= 10 ? "yes" : "no");
    SAY("shared: destroy", pthread_barrier_destroy(&shm->b));
    if (waitpid(pid, &status, 0) != pid)
        die("waitpid");
    printf("shared: child exit status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    printf("shared: serial threads per round:");
    for (i = 0; i < SHARED_ROUNDS; i++)
        printf(" %d", shm->serial[i]);
    printf("\n");
    munmap(shm, sizeof(*shm));
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    alarm(20);
    check_calls();
    check_rounds();
    check_serial_is_last();
    check_destroy_while_waiting();
    check_shared();
    printf("done\n");
    return 0;
}
