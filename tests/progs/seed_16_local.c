/* seed_16_local.c - the seed's thread locals: values one thread sets that
 * the other does not see.
 *
 * gevent's version: stash = local(); f1 sets stash.x = 1 and prints it; f2
 * sets stash.y = 2, prints it, and finds no stash.x (AttributeError: "x is
 * not local to f2"). The greenlets run in turn: 1, 2, "x is not local to
 * f2".
 *
 * Here the stash is two pthread keys, x and y (pthread_key_create), set with
 * pthread_setspecific; "no attribute" is pthread_getspecific() giving NULL.
 * The program prints the seed's lines. Under greenrun each green thread has
 * its own values, and the lines come in the seed's order.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_key_t stash_x, stash_y;

static void *f1(void *arg)
{
    static int one = 1;

    (void)arg;
    pthread_setspecific(stash_x, &one);
    printf("%d\n", *(int *)pthread_getspecific(stash_x));
    return NULL;
}

static void *f2(void *arg)
{
    static int two = 2;

    (void)arg;
    pthread_setspecific(stash_y, &two);
    printf("%d\n", *(int *)pthread_getspecific(stash_y));
    if (!pthread_getspecific(stash_x))
        printf("x is not local to f2\n");
    return NULL;
}

int main(void)
{
    pthread_t g1, g2;
    int err;

    if (pthread_key_create(&stash_x, NULL) || pthread_key_create(&stash_y, NULL))
        return 1;
    if ((err = pthread_create(&g1, NULL, f1, NULL)) ||
        (err = pthread_create(&g2, NULL, f2, NULL))) {
        fprintf(stderr, "pthread_create: %s\n", strerror(err));
        return 1;
    }
    pthread_join(g1, NULL);
    pthread_join(g2, NULL);
    return 0;
}
