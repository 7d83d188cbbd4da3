/* seed_02_select.c - the seed's cooperative select: three threads that each
 * wait, all done in about the time of the longest wait.
 *
 * gevent's version spawns gr1 and gr2, which print "Started Polling", call
 * select.select([], [], [], 2) and print "Ended Polling", and gr3, which
 * prints "Hey lets do some stuff while the greenlets poll" and sleeps 1 s.
 * The patched select parks its greenlet instead of blocking the process, so
 * gr3 runs while the others poll and everything ends at about 2 s, not 5.
 *
 * Here the three are pthreads calling select(0, NULL, NULL, NULL, 2 s) and
 * sleep(1). The program prints the seed's lines (without the times), then
 * "time: total SECONDS" from start to the last join, and "os-threads: N",
 * the Threads: count of /proc/self/status read by gr3 while the selects
 * wait. Natively each thread is an OS thread; under greenrun all of them
 * share one, and it is still about 2 s: the select does not block the OS
 * thread.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include "seed.h"

static void *poller(void *arg)
{
    struct timeval tv = { 2, 0 };

    (void)arg;
    printf("Started Polling\n");
    if (select(0, NULL, NULL, NULL, &tv) < 0)
        perror("select");
    printf("Ended Polling\n");
    return NULL;
}

static void *worker(void *arg)
{
    (void)arg;
    printf("Hey lets do some stuff while the greenlets poll\n");
    printf("os-threads: %d\n", os_threads());
    sleep(1);
    return NULL;
}

int main(void)
{
    void *(*fns[3])(void *) = { poller, poller, worker };
    pthread_t t[3];
    double start = now_s();
    int i, err;

    alarm(20);
    for (i = 0; i < 3; i++)
        if ((err = pthread_create(&t[i], NULL, fns[i], NULL))) {
            fprintf(stderr, "pthread_create: %s\n", strerror(err));
            return 1;
        }
    for (i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    printf("time: total %.3f\n", now_s() - start);
    return 0;
}
