/* race_log.c - four threads race to append their id to a shared log.
 *
 * Each thread appends its id 200 times to a mutex-protected log, doing a
 * little work between appends and calling sched_yield() on some of them. A
 * start gate (a mutex and a condvar) releases the four threads together, so
 * that they really race instead of running one after the other as they are
 * created. The order of the log is whatever the scheduler made of the race:
 * natively it changes from run to run; under greenrun, whose green threads
 * switch only where they yield or wait, in FIFO order, it must be the same
 * in every run (tests/integration/test_determinism.sh runs it 20 times each
 * way).
 *
 * Prints whether the log is complete (800 entries, 200 per thread), the
 * number of places where the log goes from one thread's id to another's (0..
 * 799: 3 would mean the threads ran one after the other, so there was no
 * race to make deterministic), and a 64-bit FNV-1a hash of the log order.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NTHREADS 4
#define NAPPENDS 200

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned char log_ids[NTHREADS * NAPPENDS];
static size_t log_len;

static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_open = PTHREAD_COND_INITIALIZER;
static int gate_is_open;

static void die(const char *what, int err)
{
    fprintf(stderr, "race_log: %s: %s\n", what, strerror(err));
    exit(1);
}

/* A few hundred cycles of arithmetic the compiler cannot remove, different
 * for every thread and step so that the threads drift against each other. */
static void work(unsigned id, unsigned step)
{
    volatile uint32_t x = id * 2654435761u + step;
    unsigned n = 50 + (id * 37 + step * 11) % 150;

    for (unsigned i = 0; i < n; i++)
        x = x * 1103515245u + 12345u;
}

static void *racer(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    int err;

    pthread_mutex_lock(&gate_lock);
    while (!gate_is_open)
        pthread_cond_wait(&gate_open, &gate_lock);
    pthread_mutex_unlock(&gate_lock);

    for (unsigned step = 0; step < NAPPENDS; step++) {
        work(id, step);
        if ((step + id) % 3 == 0)
            sched_yield();
        if ((err = pthread_mutex_lock(&log_lock)) != 0)
            die("pthread_mutex_lock", err);
        log_ids[log_len++] = (unsigned char)id;
        pthread_mutex_unlock(&log_lock);
    }
    return NULL;
}

int main(void)
{
    pthread_t threads[NTHREADS];
    unsigned count[NTHREADS] = { 0 };
    uint64_t hash = 14695981039346656037u;      /* FNV-1a offset basis */
    unsigned switches = 0;
    int complete, err;

    alarm(10);
    for (unsigned i = 0; i < NTHREADS; i++)
        if ((err = pthread_create(&threads[i], NULL, racer, (void *)(uintptr_t)i)) != 0)
            die("pthread_create", err);
    pthread_mutex_lock(&gate_lock);
    gate_is_open = 1;
    pthread_cond_broadcast(&gate_open);
    pthread_mutex_unlock(&gate_lock);
    for (unsigned i = 0; i < NTHREADS; i++)
        if ((err = pthread_join(threads[i], NULL)) != 0)
            die("pthread_join", err);

    for (size_t i = 0; i < log_len; i++) {
        count[log_ids[i]]++;
        if (i > 0 && log_ids[i] != log_ids[i - 1])
            switches++;
        hash = (hash ^ log_ids[i]) * 1099511628211u;    /* FNV-1a prime */
    }
    complete = log_len == NTHREADS * NAPPENDS;
    for (unsigned i = 0; i < NTHREADS; i++)
        complete = complete && count[i] == NAPPENDS;
    printf("log complete (%d entries, %d per thread): %s\n",
           NTHREADS * NAPPENDS, NAPPENDS, complete ? "yes" : "no");
    printf("switches between threads: %u\n", switches);
    printf("hash of the log order: %016llx\n", (unsigned long long)hash);
    return complete ? 0 : 1;
}
