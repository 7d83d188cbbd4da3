/* diff_spin.c - spinlocks: results, mutual exclusion, and a lock held across
 * a yield and a sleep while other threads spin on it.
 *
 * Checks: pthread_spin_init (private and shared), trylock's EBUSY, lock,
 * unlock, destroy; one thread holding the lock across sched_yield and a 50 ms
 * usleep while 4 others spin on it (under greenrun the spinners must let the
 * holder run, or this never finishes), none of them getting in before it lets
 * go; 4 threads x 5000 increments with yields inside the critical section; a
 * process-shared spinlock held 100 ms by a child process (fork) while this
 * process spins on it and another of its threads keeps running.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define SAY(what, call) printf("%s: %s\n", what, ename(call))

static void check_calls(void)
{
    pthread_spinlock_t l, s;

    SAY("init private", pthread_spin_init(&l, PTHREAD_PROCESS_PRIVATE));
    SAY("trylock", pthread_spin_trylock(&l));
    SAY("trylock again", pthread_spin_trylock(&l));
    SAY("unlock", pthread_spin_unlock(&l));
    SAY("lock", pthread_spin_lock(&l));
    SAY("trylock", pthread_spin_trylock(&l));
    SAY("unlock", pthread_spin_unlock(&l));
    SAY("destroy", pthread_spin_destroy(&l));
    SAY("init shared", pthread_spin_init(&s, PTHREAD_PROCESS_SHARED));
    SAY("lock", pthread_spin_lock(&s));
    SAY("unlock", pthread_spin_unlock(&s));
    SAY("destroy", pthread_spin_destroy(&s));
}

/* ---- held across a yield and a sleep ---- */

#define CONTENDERS 4
#define CONTENDER_ROUNDS 1000

static pthread_spinlock_t held;
static volatile int holding, released, got_in_early;
static long count;

static void *holder(void *arg)
{
    int i;

    (void)arg;
    pthread_spin_lock(&held);
    holding = 1;
    for (i = 0; i < 10; i++)
        sched_yield();
    usleep(50000);
    count++;
    released = 1;
    pthread_spin_unlock(&held);
    return NULL;
}

static void *contender(void *arg)
{
    int i;

    (void)arg;
    for (i = 0; i < CONTENDER_ROUNDS; i++) {
        pthread_spin_lock(&held);
        if (!released)
            got_in_early = 1;
        count++;
        pthread_spin_unlock(&held);
    }
    return NULL;
}

static void check_held_across_sleep(void)
{
    pthread_t h, t[CONTENDERS];
    long start = now_ms();
    int i;

    pthread_spin_init(&held, PTHREAD_PROCESS_PRIVATE);
    h = spawn(holder, NULL);
    while (!holding)
        usleep(1000);
    for (i = 0; i < CONTENDERS; i++)
        t[i] = spawn(contender, NULL);
    join(h);
    for (i = 0; i < CONTENDERS; i++)
        join(t[i]);
    printf("held across sched_yield and usleep(50 ms) while %d threads spin: count %ld "
           "(expected %d), got in before the release: %s, took >= 50 ms: %s\n", CONTENDERS,
           count, 1 + CONTENDERS * CONTENDER_ROUNDS, got_in_early ? "yes" : "no",
           now_ms() - start >= 50 ? "yes" : "no");
    pthread_spin_destroy(&held);
}

/* ---- mutual exclusion ---- */

#define WORKERS 4
#define INCREMENTS 5000

static pthread_spinlock_t counter_lock;
static long counter_a, counter_b, mismatched;

static void *worker(void *arg)
{
    int i;

    (void)arg;
    for (i = 0; i < INCREMENTS; i++) {
        if (i % 2)
            pthread_spin_lock(&counter_lock);
        else
            while (pthread_spin_trylock(&counter_lock) != 0)
                sched_yield();
        counter_a++;
        if (i % 100 == 0)
            sched_yield();
        mismatched += counter_a != counter_b + 1;
        counter_b++;
        pthread_spin_unlock(&counter_lock);
    }
    return NULL;
}

static void check_exclusion(void)
{
    pthread_t t[WORKERS];
    int i;

    pthread_spin_init(&counter_lock, PTHREAD_PROCESS_PRIVATE);
    for (i = 0; i < WORKERS; i++)
        t[i] = spawn(worker, NULL);
    for (i = 0; i < WORKERS; i++)
        join(t[i]);
    printf("%d threads x %d increments: %ld (expected %d), seen inconsistent %ld\n", WORKERS,
           INCREMENTS, counter_b, WORKERS * INCREMENTS, mismatched);
    pthread_spin_destroy(&counter_lock);
}

/* ---- a spinlock shared with a child process ---- */

struct shm {
    pthread_spinlock_t l;
    volatile int child_holds;
};

static void check_shared(void)
{
    struct shm *shm = shared_mem(sizeof(*shm));
    pthread_t tick;
    long start;
    pid_t pid;
    int status, r;

    SAY("shared: init", pthread_spin_init(&shm->l, PTHREAD_PROCESS_SHARED));
    pid = xfork();
    if (pid == 0) {
        pthread_spin_lock(&shm->l);
        shm->child_holds = 1;
        usleep(100000);
        shm->child_holds = 2;
        pthread_spin_unlock(&shm->l);
        _exit(0);
    }
    while (shm->child_holds == 0)
        usleep(1000);
    SAY("shared: trylock while the child holds it", pthread_spin_trylock(&shm->l));
    tick = start_ticker();
    start = now_ms();
    r = pthread_spin_lock(&shm->l);
    stop_ticker(tick);
    printf("shared: lock %s after the child let go: %s, waited (>= 50 ms): %s, "
           "other threads ran meanwhile: %s\n", ename(r), shm->child_holds == 2 ? "yes" : "no",
           now_ms() - start >= 50 ? "yes" : "no", ticks >= 5 ? "yes" : "no");
    SAY("shared: unlock", pthread_spin_unlock(&shm->l));
    if (waitpid(pid, &status, 0) != pid)
        die("waitpid");
    printf("shared: child exit status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    pthread_spin_destroy(&shm->l);
    munmap(shm, sizeof(*shm));
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    alarm(20);
    check_calls();
    check_held_across_sleep();
    check_exclusion();
    check_shared();
    printf("done\n");
    return 0;
}
