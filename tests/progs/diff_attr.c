/* diff_attr.c - pthread_create honours its attribute: a caller-provided stack
 * (pthread_attr_setstack) is the one the thread runs on, reused across
 * threads; a requested stack size is usable; the detach state is kept
 * (detaching again is EINVAL while the thread is alive). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define USER_STACK (256 * 1024)

static char user_stack[USER_STACK] __attribute__((aligned(64)));

static void *where(void *arg)
{
    int local;

    (void)arg;
    return (void *)(uintptr_t)((char *)&local >= user_stack &&
                               (char *)&local < user_stack + USER_STACK);
}

/* Touches most of a 64 KiB stack. */
static void *use_stack(void *arg)
{
    volatile char big[40 * 1024];

    memset((char *)big, 1, sizeof(big));
    return arg;
}

static pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;

/* Waits until main opens the gate, so it is alive while main looks at it. */
static void *wait_gate(void *arg)
{
    pthread_mutex_lock(&gate);
    pthread_mutex_unlock(&gate);
    return arg;
}

int main(void)
{
    pthread_attr_t attr;
    pthread_t t;
    void *res;

    pthread_attr_init(&attr);
    pthread_attr_setstack(&attr, user_stack, USER_STACK);
    for (int i = 0; i < 3; i++) {
        pthread_create(&t, &attr, where, NULL);
        pthread_join(t, &res);
        printf("run %d on the caller's stack: %s\n", i, res ? "yes" : "no");
    }
    pthread_attr_destroy(&attr);

    pthread_create(&t, NULL, where, NULL);
    pthread_join(t, &res);
    printf("default attribute on the caller's stack: %s\n", res ? "yes" : "no");

    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    pthread_create(&t, &attr, use_stack, (void *)7);
    pthread_join(t, &res);
    printf("64 KiB stack, 40 KiB used: result %ld\n", (long)res);

    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_mutex_lock(&gate);
    pthread_create(&t, &attr, wait_gate, NULL);
    printf("created detached: %s\n", pthread_detach(t) == EINVAL ? "detaching again is EINVAL" : "?");
    pthread_mutex_unlock(&gate);
    pthread_attr_destroy(&attr);
    pthread_exit(NULL);             /* the detached thread may still be running */
}
