/* seed_15_semaphore.c - the seed's locks and semaphores: a bounded semaphore
 * of 2 shared by workers.
 *
 * gevent's version: sem = BoundedSemaphore(2); worker1(n) acquires it,
 * prints "Worker n acquired semaphore", sleeps 0 (a switch), releases it and
 * prints "Worker n released semaphore"; worker2 does the same with a `with`
 * block. A pool maps worker1 over 0..1, then worker2 over 3..5. Greenlets
 * run in turn, so the lines are
 *     Worker 0 acquired, Worker 1 acquired, Worker 0 released,
 *     Worker 1 released, Worker 3 acquired, Worker 4 acquired,
 *     Worker 3 released, Worker 4 released, Worker 5 acquired,
 *     Worker 5 released
 * (each "... semaphore"): worker 5 waits until worker 3 releases.
 *
 * Here the semaphore is a POSIX sem_t of 2 (bounded: release checks with
 * sem_getvalue that it never goes above 2, where gevent raises ValueError),
 * the switch is sched_yield(), and the pool's map spawns a thread per item
 * and joins them. The program prints the seed's lines, then "most holders at
 * once: N" (never more than 2) and "semaphore back to: N". Under greenrun
 * the lines come out in the seed's order every run; natively their order
 * varies.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BOUND 2

static sem_t sem;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int holders, most_holders;

static void acquire(void)
{
    while (sem_wait(&sem) < 0)
        ;
    pthread_mutex_lock(&lock);
    if (++holders > most_holders)
        most_holders = holders;
    pthread_mutex_unlock(&lock);
}

static void release(void)
{
    int value;

    pthread_mutex_lock(&lock);
    holders--;
    pthread_mutex_unlock(&lock);
    sem_getvalue(&sem, &value);
    if (value >= BOUND) {
        fprintf(stderr, "ValueError: Semaphore released too many times\n");
        exit(1);
    }
    sem_post(&sem);
}

static void *worker(void *arg)
{
    int n = (int)(long)arg;

    acquire();
    printf("Worker %d acquired semaphore\n", n);
    sched_yield();
    release();
    printf("Worker %d released semaphore\n", n);
    return NULL;
}

/* pool.map(worker, range(first, last)) */
static void map(int first, int last)
{
    pthread_t t[8];
    int i, err;

    for (i = first; i < last; i++)
        if ((err = pthread_create(&t[i - first], NULL, worker, (void *)(long)i))) {
            fprintf(stderr, "pthread_create: %s\n", strerror(err));
            exit(1);
        }
    for (i = first; i < last; i++)
        pthread_join(t[i - first], NULL);
}

int main(void)
{
    int value;

    alarm(20);
    sem_init(&sem, 0, BOUND);
    map(0, 2);                  /* worker1 */
    map(3, 6);                  /* worker2 */
    sem_getvalue(&sem, &value);
    printf("most holders at once: %d\n", most_holders);
    printf("semaphore back to: %d\n", value);
    return 0;
}
