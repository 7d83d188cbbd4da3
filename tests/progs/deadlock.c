/* deadlock.c - two threads that lock two mutexes in opposite orders.
 *
 * Each thread takes its first mutex, sleeps 50 ms so that the other surely
 * holds its own first mutex too, then asks for the other one: neither can go
 * on, and main waits in pthread_join for ever. Run natively it never ends;
 * greenrun should see that nothing can wake any thread and say so.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t b = PTHREAD_MUTEX_INITIALIZER;

struct order {
    pthread_mutex_t *first, *second;
};

static void *lock_both(void *arg)
{
    struct order *o = arg;

    pthread_mutex_lock(o->first);
    usleep(50000);
    pthread_mutex_lock(o->second);      /* never returns */
    pthread_mutex_unlock(o->second);
    pthread_mutex_unlock(o->first);
    return NULL;
}

int main(void)
{
    struct order ab = { &a, &b }, ba = { &b, &a };
    pthread_t t1, t2;
    int err;

    printf("starting two threads that lock a, b and b, a\n");
    if ((err = pthread_create(&t1, NULL, lock_both, &ab)) ||
        (err = pthread_create(&t2, NULL, lock_both, &ba))) {
        fprintf(stderr, "deadlock: pthread_create: %s\n", strerror(err));
        return 1;
    }
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    printf("both threads finished\n");
    return 0;
}
