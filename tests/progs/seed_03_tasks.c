/* seed_03_tasks.c - the seed's non-deterministic tasks: run one after the
 * other, they take the sum of their times; spawned together, about the
 * longest one.
 *
 * gevent's version has task(pid) sleep random.randint(0,2)*0.001 s and print
 * "Task N done"; synchronous() runs tasks 1..9 in a loop, asynchronous()
 * spawns tasks 0..9 and joins them. The synchronous lines come in order; the
 * asynchronous ones in an order set by the random sleeps, and the whole
 * asynchronous run takes about the longest sleep (0.002 s), not the sum.
 *
 * Here the sleeps are randint(0,2) * 0.1 s (milliseconds are lost in the
 * noise of a busy machine), with rand() seeded from the clock, and the tasks
 * of the asynchronous run are pthreads. The program prints the seed's lines,
 * then "time: NAME SECONDS" lines: the synchronous run ("sync") and the sum
 * of its sleeps ("sync-sleeps"), the asynchronous run ("async") and its
 * longest sleep ("async-longest"). Natively and under greenrun the
 * asynchronous run must take about its longest sleep: under greenrun the
 * sleeping threads park and the others go on, all on one OS thread.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "seed.h"

#define NTASKS 10

static int task_ms[NTASKS];

static void task(int pid)
{
    usleep(task_ms[pid] * 1000);
    printf("Task %d done\n", pid);
}

static void *task_thread(void *arg)
{
    task((int)(long)arg);
    return NULL;
}

/* random.randint(0, 2) * 0.1 s for every task. */
static void draw_sleeps(void)
{
    int i;

    for (i = 0; i < NTASKS; i++)
        task_ms[i] = (rand() % 3) * 100;
}

int main(void)
{
    pthread_t t[NTASKS];
    double start;
    int i, err, ms;

    alarm(20);
    srand(time(NULL) ^ getpid());

    printf("Synchronous:\n");
    draw_sleeps();
    for (ms = 0, i = 1; i < NTASKS; i++)
        ms += task_ms[i];
    start = now_s();
    for (i = 1; i < NTASKS; i++)
        task(i);
    printf("time: sync %.3f\n", now_s() - start);
    printf("time: sync-sleeps %.3f\n", ms / 1000.0);

    printf("Asynchronous:\n");
    draw_sleeps();
    for (ms = 0, i = 0; i < NTASKS; i++)
        ms = task_ms[i] > ms ? task_ms[i] : ms;
    start = now_s();
    for (i = 0; i < NTASKS; i++)
        if ((err = pthread_create(&t[i], NULL, task_thread, (void *)(long)i))) {
            fprintf(stderr, "pthread_create: %s\n", strerror(err));
            return 1;
        }
    for (i = 0; i < NTASKS; i++)
        pthread_join(t[i], NULL);
    printf("time: async %.3f\n", now_s() - start);
    printf("time: async-longest %.3f\n", ms / 1000.0);
    return 0;
}
