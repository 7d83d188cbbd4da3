/* overflow.c - a thread that recurses until its 64 KiB stack runs out.
 * Natively it dies of SIGSEGV on its guard page; so must a green thread. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static int recurse(int n)
{
    volatile char frame[1024];

    memset((char *)frame, n, sizeof(frame));
    return n ? recurse(n - 1) + frame[3] : 0;   /* not a tail call */
}

static void *deep(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "deep");
    return (void *)(long)recurse(1 << 20);
}

int main(void)
{
    pthread_attr_t attr;
    pthread_t t;

    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    pthread_create(&t, &attr, deep, NULL);
    pthread_join(t, NULL);
    puts("the stack never ran out");
    return 0;
}
