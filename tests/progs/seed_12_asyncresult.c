/* seed_12_asyncresult.c - the seed's AsyncResult: a future set by one thread
 * after 3 s and read by another.
 *
 * gevent's version spawns setter(), which sleeps 3 s and sets the result to
 * 'Hello!', and waiter(), which prints a.get(): get() blocks until the value
 * is there, and "Hello!" comes out after 3 s.
 *
 * Here the future is a mutex, a condition variable and a value: set() stores
 * the value and broadcasts, get() waits for it. The seed's 3 s are 0.3 s. The
 * program prints the value the waiter got and "time: get SECONDS", when its
 * get() returned (about 0.3 s).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "seed.h"

struct async_result {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    const char *value;          /* NULL until set */
};

static struct async_result a = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL };
static double start;

static void result_set(struct async_result *r, const char *value)
{
    pthread_mutex_lock(&r->lock);
    r->value = value;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

static const char *result_get(struct async_result *r)
{
    const char *value;

    pthread_mutex_lock(&r->lock);
    while (!r->value)
        pthread_cond_wait(&r->cond, &r->lock);
    value = r->value;
    pthread_mutex_unlock(&r->lock);
    return value;
}

static void *setter(void *arg)
{
    (void)arg;
    usleep(300000);
    result_set(&a, "Hello!");
    return NULL;
}

static void *waiter(void *arg)
{
    const char *value;

    (void)arg;
    value = result_get(&a);
    printf("%s\n", value);
    printf("time: get %.3f\n", now_s() - start);
    return NULL;
}

int main(void)
{
    pthread_t t[2];
    int i, err;

    alarm(20);
    start = now_s();
    for (i = 0; i < 2; i++)
        if ((err = pthread_create(&t[i], NULL, i ? waiter : setter, NULL))) {
            fprintf(stderr, "pthread_create: %s\n", strerror(err));
            return 1;
        }
    for (i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    return 0;
}
