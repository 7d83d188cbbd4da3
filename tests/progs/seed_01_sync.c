/* seed_01_sync.c - the seed's "synchronous & asynchronous execution": two
 * functions that hand the CPU to each other explicitly.
 *
 * gevent's version spawns foo and bar, each printing a line, calling
 * gevent.sleep(0) (an explicit switch) and printing a second line; joinall
 * waits for both. The greenlets take turns, so the four lines always come out
 * as
 *     Running in foo
 *     Explicit context to bar
 *     Explicit context switch to foo again
 *     Implicit context switch back to bar
 *
 * Here foo and bar are pthreads and the switch is sched_yield(). Under
 * greenrun both run on one OS thread in FIFO order, so the lines come out in
 * the seed's order on every run. On native threads the two run in parallel
 * and sched_yield() promises nothing about the other thread: the order is
 * whatever the OS scheduler makes of it.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *foo(void *arg)
{
    (void)arg;
    printf("Running in foo\n");
    sched_yield();
    printf("Explicit context switch to foo again\n");
    return NULL;
}

static void *bar(void *arg)
{
    (void)arg;
    printf("Explicit context to bar\n");
    sched_yield();
    printf("Implicit context switch back to bar\n");
    return NULL;
}

int main(void)
{
    void *(*fns[2])(void *) = { foo, bar };
    pthread_t t[2];
    int i, err;

    for (i = 0; i < 2; i++)
        if ((err = pthread_create(&t[i], NULL, fns[i], NULL))) {
            fprintf(stderr, "pthread_create: %s\n", strerror(err));
            return 1;
        }
    for (i = 0; i < 2; i++)       /* gevent.joinall */
        pthread_join(t[i], NULL);
    return 0;
}
