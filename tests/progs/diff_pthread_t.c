/* diff_pthread_t.c - other pthread functions given the pthread_t of a thread.
 *
 * The value pthread_create stores and pthread_self returns must work with the
 * rest of the pthread API: pthread_setname_np/pthread_getname_np (on itself
 * and on another thread), pthread_kill(t, 0) on a live thread, and
 * pthread_getattr_np, which reports the thread's detach state and at least
 * the stack size it was created with.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

#define STACK (1024 * 1024)

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static int go;

static void describe_self(void)
{
    pthread_attr_t a;
    size_t size = 0;
    int state = -1, r;

    r = pthread_getattr_np(pthread_self(), &a);
    if (r == 0) {
        pthread_attr_getstacksize(&a, &size);
        pthread_attr_getdetachstate(&a, &state);
        pthread_attr_destroy(&a);
    }
    printf("getattr_np(self): %s, %s, stack %s 1 MiB\n", ename(r),
           state == PTHREAD_CREATE_DETACHED ? "detached" : state == PTHREAD_CREATE_JOINABLE
           ? "joinable" : "unknown", size >= STACK ? "at least" : "LESS THAN");
}

static void *worker(void *arg)
{
    char name[16] = "";
    int set, get;

    (void)arg;
    set = pthread_setname_np(pthread_self(), "worker");
    get = pthread_getname_np(pthread_self(), name, sizeof(name));
    printf("setname_np(self) %s, getname_np(self) %s \"%s\"\n", ename(set), ename(get), name);
    describe_self();
    pthread_mutex_lock(&m);
    while (!go)
        pthread_cond_wait(&c, &m);
    pthread_mutex_unlock(&m);
    return NULL;
}

int main(void)
{
    pthread_attr_t a;
    pthread_t t;
    char name[16] = "";
    int err, set, get;

    setvbuf(stdout, NULL, _IOLBF, 0);
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, STACK);
    if ((err = pthread_create(&t, &a, worker, NULL))) {
        fprintf(stderr, "diff_pthread_t: pthread_create: %s\n", strerror(err));
        return 1;
    }
    pthread_attr_destroy(&a);
    usleep(20000);
    printf("pthread_kill(thread, 0): %s\n", ename(pthread_kill(t, 0)));
    set = pthread_setname_np(t, "renamed");
    get = pthread_getname_np(t, name, sizeof(name));
    printf("setname_np(thread) %s, getname_np(thread) %s \"%s\"\n", ename(set), ename(get),
           name);
    pthread_mutex_lock(&m);
    go = 1;
    pthread_cond_signal(&c);
    pthread_mutex_unlock(&m);
    pthread_join(t, NULL);
    printf("done\n");
    return 0;
}
