/*
 * micro - micro benchmarks of the calls greenrun makes cheap (or must not
 * make dearer), as an ordinary pthread program.
 *
 * Usage: micro NAME [ITERATIONS]
 *
 * Prints "ns_per_op=N.NN" (and "ops=N") on stdout, exit 0.  NAME is one of:
 *
 *   yield     two threads calling sched_yield in turn; op = one yield
 *             (on one CPU, natively, one kernel context switch)
 *   create    pthread_create + pthread_join of a thread that returns at once
 *   handoff   a mutex passed back and forth between two threads: each waits
 *             in pthread_mutex_lock until the other unlocks; op = one hand-off
 *   condvar   condition-variable ping-pong between two threads; op = one
 *             round trip (two waits, two signals)
 *   pipe      one byte over a pipe and back between two threads; op = one
 *             round trip
 *   mutex     uncontended pthread_mutex_lock + pthread_mutex_unlock
 *   recv      recv of 64 bytes on a socket that already holds data (the
 *             fast path: no waiting); only the recv calls are timed
 *
 * It knows nothing about greenrun; scripts/bench.sh runs it natively and
 * under scripts/greenrun.  Spinning waits call sched_yield, so that they
 * let the other thread run when all threads share one OS thread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RECV_SIZE 64
#define RECV_BATCH 512          /* 32 KiB queued at a time: fits the buffer */

static long iters;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int turn;                /* condvar: whose move it is */
static atomic_int waiting[2];   /* handoff: thread i is about to lock */
static int pipes[2][2];         /* pipe: [0] ping, [1] pong */

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, int err)
{
    fprintf(stderr, "micro: %s: %s\n", what, strerror(err));
    exit(1);
}

static void start(pthread_t *t, void *(*fn)(void *), void *arg)
{
    int err = pthread_create(t, NULL, fn, arg);

    if (err != 0)
        die("pthread_create", err);
}

/* Runs fn(0) and fn(1) on two threads; returns the elapsed ns. */
static uint64_t run_pair(void *(*fn)(void *))
{
    pthread_t t[2];
    uint64_t t0 = now_ns();

    start(&t[0], fn, (void *)0);
    start(&t[1], fn, (void *)1);
    pthread_join(t[0], NULL);
    pthread_join(t[1], NULL);
    return now_ns() - t0;
}

static void *yield_loop(void *arg)
{
    (void)arg;
    for (long i = 0; i < iters; i++)
        sched_yield();
    return NULL;
}

static void *nothing(void *arg)
{
    return arg;
}

/*
 * Strict alternation: the holder unlocks only once the other thread has
 * announced that it is about to lock, and locks again only once the other
 * has taken the mutex.  So every acquisition takes the mutex over from the
 * other thread, which waits inside pthread_mutex_lock (natively a futex
 * wait that the unlock must wake).
 */
static void *handoff_loop(void *arg)
{
    int me = (int)(intptr_t)arg;

    for (long i = 0; i < iters; i++) {
        atomic_store(&waiting[me], 1);
        pthread_mutex_lock(&lock);
        atomic_store(&waiting[me], 0);
        while (i + 1 < iters && !atomic_load(&waiting[!me]))
            sched_yield();
        pthread_mutex_unlock(&lock);
        while (i + 1 < iters && atomic_load(&waiting[!me]))
            sched_yield();
    }
    return NULL;
}

static void *condvar_loop(void *arg)
{
    int me = (int)(intptr_t)arg;

    pthread_mutex_lock(&lock);
    for (long i = 0; i < iters; i++) {
        while (turn != me)
            pthread_cond_wait(&cond, &lock);
        turn = !me;
        pthread_cond_signal(&cond);
    }
    pthread_mutex_unlock(&lock);
    return NULL;
}

static void *pipe_loop(void *arg)
{
    int me = (int)(intptr_t)arg;
    char c = 'x';

    for (long i = 0; i < iters; i++) {
        if (me == 0 && write(pipes[0][1], &c, 1) != 1)
            die("write", errno);
        if (read(pipes[!me][0], &c, 1) != 1)
            die("read", errno);
        if (me == 1 && write(pipes[1][1], &c, 1) != 1)
            die("write", errno);
    }
    return NULL;
}

static uint64_t bench_create(void)
{
    uint64_t t0 = now_ns();

    for (long i = 0; i < iters; i++) {
        pthread_t t;

        start(&t, nothing, NULL);
        pthread_join(t, NULL);
    }
    return now_ns() - t0;
}

static uint64_t bench_mutex(void)
{
    uint64_t t0 = now_ns();

    for (long i = 0; i < iters; i++) {
        pthread_mutex_lock(&lock);
        pthread_mutex_unlock(&lock);
    }
    return now_ns() - t0;
}

static uint64_t bench_recv(void)
{
    static char buf[RECV_SIZE * RECV_BATCH];
    uint64_t total = 0;
    int sv[2];

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        die("socketpair", errno);
    memset(buf, 'r', sizeof(buf));
    for (long done = 0; done < iters; done += RECV_BATCH) {
        uint64_t t0;

        if (send(sv[0], buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
            die("send", errno);
        t0 = now_ns();
        for (int k = 0; k < RECV_BATCH; k++)
            if (recv(sv[1], buf, RECV_SIZE, 0) != RECV_SIZE)
                die("recv", errno);
        total += now_ns() - t0;
    }
    close(sv[0]);
    close(sv[1]);
    return total;
}

struct bench {
    const char *name;
    long default_iters;
    long ops_per_iter;          /* ops per iteration and thread, for pairs */
    uint64_t (*solo)(void);
    void *(*pair)(void *);
};

static const struct bench benches[] = {
    { "yield", 200000, 2, NULL, yield_loop },
    { "create", 20000, 1, bench_create, NULL },
    { "handoff", 100000, 2, NULL, handoff_loop },
    { "condvar", 100000, 1, NULL, condvar_loop },
    { "pipe", 100000, 1, NULL, pipe_loop },
    { "mutex", 10000000, 1, bench_mutex, NULL },
    { "recv", 1000000, 1, bench_recv, NULL },
};

int main(int argc, char **argv)
{
    const struct bench *b = NULL;
    uint64_t ns;

    for (size_t i = 0; argc >= 2 && i < sizeof(benches) / sizeof(*benches); i++)
        if (strcmp(argv[1], benches[i].name) == 0)
            b = &benches[i];
    if (!b || argc > 3) {
        fprintf(stderr, "usage: micro yield|create|handoff|condvar|pipe|mutex|recv"
                " [ITERATIONS]\n");
        return 2;
    }
    iters = argc == 3 ? atol(argv[2]) : b->default_iters;
    if (iters <= 0) {
        fprintf(stderr, "micro: bad iteration count '%s'\n", argv[2]);
        return 2;
    }
    if (pipe(pipes[0]) != 0 || pipe(pipes[1]) != 0)
        die("pipe", errno);
    ns = b->solo ? b->solo() : run_pair(b->pair);
    printf("ops=%ld\nns_per_op=%.2f\n", iters * b->ops_per_iter,
           (double)ns / (double)(iters * b->ops_per_iter));
    return 0;
}
