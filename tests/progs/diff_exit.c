/* diff_exit.c - what happens when a thread ends.
 *
 * Checks: pthread_exit runs the thread's cleanup handlers, innermost first;
 * pthread_cleanup_pop(1) runs one without exiting; thread-specific data
 * destructors run with each thread's own value when it returns or calls
 * pthread_exit; main can pthread_exit while another thread still works, and
 * the process ends with status 0 when that thread is done.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char events[512];
static pthread_key_t key;

static void note(const char *what, long v)
{
    size_t n;

    pthread_mutex_lock(&log_lock);
    n = strlen(events);
    snprintf(events + n, sizeof(events) - n, "%s%s %ld", n ? ", " : "", what, v);
    pthread_mutex_unlock(&log_lock);
}

static void cleanup(void *arg)
{
    note("cleanup", (long)(intptr_t)arg);
}

static void destructor(void *value)
{
    note("destructor", (long)(intptr_t)value);
}

static void *exiting(void *arg)
{
    pthread_setspecific(key, arg);
    pthread_cleanup_push(cleanup, (void *)1);
    pthread_cleanup_push(cleanup, (void *)2);
    pthread_cleanup_push(cleanup, (void *)3);
    pthread_cleanup_pop(1);
    pthread_exit(arg);
    pthread_cleanup_pop(0);
    pthread_cleanup_pop(0);
    return NULL;
}

static void *returning(void *arg)
{
    pthread_setspecific(key, arg);
    return arg;
}

static void run(const char *what, void *(*fn)(void *), intptr_t v)
{
    pthread_t t;
    void *r;

    events[0] = '\0';
    t = spawn(fn, (void *)v);
    r = join(t);
    printf("%s: result %ld; %s\n", what, (long)(intptr_t)r, events[0] ? events : "nothing ran");
}

static void *outlive_main(void *arg)
{
    (void)arg;
    usleep(20000);
    printf("worker finished after main called pthread_exit\n");
    return NULL;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    check(pthread_key_create(&key, destructor), "pthread_key_create");
    run("pthread_exit with 3 cleanup handlers, one popped first", exiting, 10);
    run("return from the thread function", returning, 20);
    spawn(outlive_main, NULL);
    printf("main calls pthread_exit\n");
    pthread_exit(NULL);
}
