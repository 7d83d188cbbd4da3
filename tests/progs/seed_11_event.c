/* seed_11_event.c - the seed's Event: one setter, five waiters, all released
 * together.
 *
 * gevent's version spawns setter(), which prints "A: Hey wait for me, I have
 * to do something", sleeps 3 s, prints "Ok, I'm done" and sets the event,
 * and five waiter()s, which print "I'll wait for you", wait on the event and
 * print "It's about time". Greenlets run in spawn order, so the setter's
 * first line comes first, then the five "I'll wait for you", and after 3 s
 * "Ok, I'm done" and the five "It's about time".
 *
 * Here the event is a flag under a mutex with a condition variable that
 * set() broadcasts, and the seed's 3 s are 0.3 s. The program prints the
 * seed's lines, then "time: set SECONDS" (when the event was set) and
 * "time: first-release SECONDS" and "time: last-release SECONDS" (when the
 * first and the last waiter got past the wait). Under greenrun the lines
 * come in the seed's order every run; natively the threads race for the
 * first lines.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "seed.h"

#define NWAITERS 5

struct event {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int set;
};

static struct event evt = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };
static double start, set_at, released[NWAITERS];
static int nreleased;

static void event_set(struct event *e)
{
    pthread_mutex_lock(&e->lock);
    e->set = 1;
    pthread_cond_broadcast(&e->cond);
    pthread_mutex_unlock(&e->lock);
}

static void event_wait(struct event *e)
{
    pthread_mutex_lock(&e->lock);
    while (!e->set)
        pthread_cond_wait(&e->cond, &e->lock);
    released[nreleased++] = now_s() - start;
    pthread_mutex_unlock(&e->lock);
}

static void *setter(void *arg)
{
    (void)arg;
    printf("A: Hey wait for me, I have to do something\n");
    usleep(300000);
    printf("Ok, I'm done\n");
    set_at = now_s() - start;
    event_set(&evt);
    return NULL;
}

static void *waiter(void *arg)
{
    (void)arg;
    printf("I'll wait for you\n");
    event_wait(&evt);
    printf("It's about time\n");
    return NULL;
}

int main(void)
{
    pthread_t t[1 + NWAITERS];
    double first, last;
    int i, err;

    alarm(20);
    start = now_s();
    for (i = 0; i < 1 + NWAITERS; i++)
        if ((err = pthread_create(&t[i], NULL, i ? waiter : setter, NULL))) {
            fprintf(stderr, "pthread_create: %s\n", strerror(err));
            return 1;
        }
    for (i = 0; i < 1 + NWAITERS; i++)
        pthread_join(t[i], NULL);
    first = last = released[0];
    for (i = 1; i < NWAITERS; i++) {
        first = released[i] < first ? released[i] : first;
        last = released[i] > last ? released[i] : last;
    }
    printf("time: set %.3f\n", set_at);
    printf("time: first-release %.3f\n", first);
    printf("time: last-release %.3f\n", last);
    return 0;
}
