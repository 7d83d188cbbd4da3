/* diff_tls.c - thread-local storage: each thread has its own.
 *
 * Checks: a __thread variable starts at its initial value in every new thread
 * whatever other threads did to theirs, and keeps each thread's own updates
 * while the threads take turns; pthread_setspecific/pthread_getspecific give
 * each thread back its own value.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

#define NTHREADS 4
#define ROUNDS 100

static __thread long tls_counter = 5;
static pthread_key_t key;

struct result {
    long initial, counter;
    intptr_t specific;
};

static void *worker(void *arg)
{
    struct result *r = arg;
    intptr_t id = r->specific;
    int i;

    r->initial = tls_counter;
    tls_counter = 0;
    pthread_setspecific(key, (void *)id);
    for (i = 0; i < ROUNDS; i++) {
        tls_counter += id;
        usleep(100);                /* every thread runs meanwhile */
    }
    r->counter = tls_counter;
    r->specific = (intptr_t)pthread_getspecific(key);
    return NULL;
}

int main(void)
{
    pthread_t t[NTHREADS];
    struct result r[NTHREADS];
    int i;

    setvbuf(stdout, NULL, _IOLBF, 0);
    check(pthread_key_create(&key, NULL), "pthread_key_create");
    tls_counter = 99;               /* main's own copy only */
    pthread_setspecific(key, (void *)(intptr_t)-1);
    for (i = 0; i < NTHREADS; i++) {
        r[i].specific = i + 1;
        t[i] = spawn(worker, &r[i]);
    }
    for (i = 0; i < NTHREADS; i++)
        join(t[i]);
    for (i = 0; i < NTHREADS; i++)
        printf("thread %d: __thread started at %ld, ended at %ld; getspecific %ld\n", i + 1,
               r[i].initial, r[i].counter, (long)r[i].specific);
    printf("main: __thread %ld, getspecific %ld\n", tls_counter,
           (long)(intptr_t)pthread_getspecific(key));
    printf("done\n");
    return 0;
}
