/* seed_06_spawn.c - the seed's ways of spawning greenlets, as pthreads.
 *
 * gevent's version spawns foo("Hello", 1) with Greenlet.spawn, foo("I live!",
 * 2) with gevent.spawn (foo sleeps n seconds, then prints the message) and a
 * lambda x: x+1 on 2, and joins all three: "Hello" comes after 1 s, "I live!"
 * after 2 s, and joinall returns after 2 s. Then a Greenlet subclass whose
 * _run prints its message and sleeps n: MyGreenlet("Hi there!", 3) is
 * started and joined.
 *
 * Here every spawn is pthread_create: a function with its arguments in a
 * struct, a function that returns its result (the lambda: its 3 comes back
 * through pthread_join), and the "subclass", a struct that embeds its
 * pthread_t and a run function pointer with start() and join() around them.
 * The seed's seconds are fifths here (0.2, 0.4, 0.6 s). The program prints
 * the seed's lines, "lambda returned 3", and "time: joinall SECONDS" (about
 * 0.4 s: the sleeps overlap, 0.6 s if they did not) and "time: subclass
 * SECONDS" (about 0.6 s).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "seed.h"

/* foo(message, n): each thread is passed its arguments at creation. */
struct foo_args {
    const char *message;
    double n;
};

static void *foo(void *arg)
{
    struct foo_args *a = arg;

    usleep(a->n * 1e6);
    printf("%s\n", a->message);
    return NULL;
}

/* lambda x: x + 1 */
static void *plus_one(void *arg)
{
    return (void *)((long)arg + 1);
}

/* class MyGreenlet(Greenlet), with _run overridden. */
struct my_thread {
    pthread_t thread;
    void (*run)(struct my_thread *self);
    const char *message;
    double n;
};

static void *my_thread_main(void *arg)
{
    struct my_thread *self = arg;

    self->run(self);
    return NULL;
}

static void my_thread_start(struct my_thread *self)
{
    self->thread = spawn(my_thread_main, self);
}

static void my_thread_join(struct my_thread *self)
{
    pthread_join(self->thread, NULL);
}

static void my_run(struct my_thread *self)
{
    printf("%s\n", self->message);
    usleep(self->n * 1e6);
}

int main(void)
{
    struct foo_args hello = { "Hello", 0.2 }, alive = { "I live!", 0.4 };
    struct my_thread g = { .run = my_run, .message = "Hi there!", .n = 0.6 };
    pthread_t thread1, thread2, thread3;
    void *value;
    double start;

    alarm(20);
    start = now_s();
    thread1 = spawn(foo, &hello);
    thread2 = spawn(foo, &alive);
    thread3 = spawn(plus_one, (void *)2L);
    pthread_join(thread1, NULL);        /* gevent.joinall(threads) */
    pthread_join(thread2, NULL);
    pthread_join(thread3, &value);
    printf("time: joinall %.3f\n", now_s() - start);
    printf("lambda returned %ld\n", (long)value);

    start = now_s();
    my_thread_start(&g);
    my_thread_join(&g);
    printf("time: subclass %.3f\n", now_s() - start);
    return 0;
}
