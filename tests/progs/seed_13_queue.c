/* seed_13_queue.c - the seed's queues: a boss hands out tasks, three workers
 * take them in turn.
 *
 * gevent's first version has the boss put tasks 1..24 with put_nowait on an
 * unbounded queue, then workers steve, john and nancy loop while the queue
 * is not empty: get a task, print "Worker NAME got task N", gevent.sleep(0);
 * then print "Quitting time!". The workers take the tasks in turn: steve 1,
 * john 2, nancy 3, steve 4...
 *
 * Its second version bounds the queue to 3: the boss, running alongside the
 * workers steve, john and bob, blocks in put while the queue is full and
 * prints "Assigned all work in iteration 1" after tasks 1..9 and "... 2"
 * after 10..19; the workers get with a 1 s timeout and print "Quitting time!"
 * when it expires (the Empty exception).
 *
 * Here a queue is a ring buffer under a mutex with two condition variables
 * (not empty, not full); get takes an optional deadline and its timeout is
 * pthread_cond_timedwait's ETIMEDOUT (Empty); gevent.sleep(0) is
 * sched_yield(). The seed's 1 s timeout is 0.1 s. The program prints the
 * seed's lines and "time: quit SECONDS", when the last worker of the second
 * version quit. Under greenrun the order of the lines is the same on every
 * run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "seed.h"

#define CAPACITY 32
#define GET_TIMEOUT_MS 100

struct queue {
    pthread_mutex_t lock;
    pthread_cond_t not_empty, not_full;
    int items[CAPACITY];
    int head, len, maxsize;     /* maxsize <= CAPACITY */
};

static struct queue tasks;

static void queue_init(struct queue *q, int maxsize)
{
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->not_empty, NULL);
    pthread_cond_init(&q->not_full, NULL);
    q->head = q->len = 0;
    q->maxsize = maxsize;
}

static int queue_empty(struct queue *q)
{
    int empty;

    pthread_mutex_lock(&q->lock);
    empty = q->len == 0;
    pthread_mutex_unlock(&q->lock);
    return empty;
}

static void queue_put(struct queue *q, int item)
{
    pthread_mutex_lock(&q->lock);
    while (q->len == q->maxsize)
        pthread_cond_wait(&q->not_full, &q->lock);
    q->items[(q->head + q->len++) % CAPACITY] = item;
    pthread_cond_signal(&q->not_empty);
    pthread_mutex_unlock(&q->lock);
}

/* Gets an item into *item: 0, or ETIMEDOUT (gevent's Empty) once the
 * timeout (ms, < 0: none) passed with the queue empty. */
static int queue_get(struct queue *q, int *item, int timeout_ms)
{
    struct timespec deadline;
    int err = 0;

    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_nsec += (timeout_ms % 1000) * 1000000L;
    deadline.tv_sec += timeout_ms / 1000 + deadline.tv_nsec / 1000000000L;
    deadline.tv_nsec %= 1000000000L;
    pthread_mutex_lock(&q->lock);
    while (q->len == 0 && err != ETIMEDOUT)
        err = timeout_ms < 0 ? pthread_cond_wait(&q->not_empty, &q->lock)
                             : pthread_cond_timedwait(&q->not_empty, &q->lock, &deadline);
    if (q->len > 0) {
        *item = q->items[q->head];
        q->head = (q->head + 1) % CAPACITY;
        q->len--;
        pthread_cond_signal(&q->not_full);
        err = 0;
    }
    pthread_mutex_unlock(&q->lock);
    return err;
}

/* ---- first version: unbounded queue, filled before the workers start ---- */

static void *worker1(void *arg)
{
    int task;

    while (!queue_empty(&tasks)) {
        queue_get(&tasks, &task, -1);
        printf("Worker %s got task %d\n", (const char *)arg, task);
        sched_yield();
    }
    printf("Quitting time!\n");
    return NULL;
}

static void *boss1(void *arg)
{
    int i;

    (void)arg;
    for (i = 1; i < 25; i++)
        queue_put(&tasks, i);   /* never full: put_nowait */
    return NULL;
}

/* ---- second version: a queue of 3, boss and workers together ---- */

static void *worker2(void *arg)
{
    int task;

    while (queue_get(&tasks, &task, GET_TIMEOUT_MS) == 0) {
        printf("Worker %s got task %d\n", (const char *)arg, task);
        sched_yield();
    }
    printf("Quitting time!\n");
    return NULL;
}

static void *boss2(void *arg)
{
    int i;

    (void)arg;
    for (i = 1; i < 10; i++)
        queue_put(&tasks, i);
    printf("Assigned all work in iteration 1\n");
    for (i = 10; i < 20; i++)
        queue_put(&tasks, i);
    printf("Assigned all work in iteration 2\n");
    return NULL;
}

int main(void)
{
    static char *names1[] = { "steve", "john", "nancy" }, *names2[] = { "steve", "john", "bob" };
    pthread_t t[4];
    double start;
    int i;

    alarm(20);
    queue_init(&tasks, CAPACITY);
    pthread_join(spawn(boss1, NULL), NULL);
    for (i = 0; i < 3; i++)
        t[i] = spawn(worker1, names1[i]);
    for (i = 0; i < 3; i++)
        pthread_join(t[i], NULL);

    printf("Bounded queue:\n");
    queue_init(&tasks, 3);
    start = now_s();
    t[0] = spawn(boss2, NULL);
    for (i = 0; i < 3; i++)
        t[i + 1] = spawn(worker2, names2[i]);
    for (i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    printf("time: quit %.3f\n", now_s() - start);
    return 0;
}
