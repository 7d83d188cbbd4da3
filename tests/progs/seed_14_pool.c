/* seed_14_pool.c - the seed's groups and pools.
 *
 * gevent's version: talk(msg) prints msg three times; greenlets for 'bar',
 * 'foo' and 'fizz' are spawned, the first two added to a Group that is
 * joined, then the third: bar bar bar foo foo foo fizz fizz fizz. Then
 * group.map(hello_from, range(3)), where hello_from prints "Size of group 3"
 * and "Hello from Greenlet <id>"; imap(intensive, range(3)), intensive(n)
 * sleeping 3 - n s and returning ('task', n), gives the results in order
 * 0, 1, 2, and imap_unordered in the order they finish: 2, 1, 0. Last, a
 * Pool(2) maps hello_from over range(3), printing "Size of pool 2", "Size
 * of pool 2", "Size of pool 1": a pool of 2 never holds more than 2
 * greenlets, and spawning into a full pool waits for a place.
 *
 * Here a group is an array of pthreads; its size is the threads spawned and
 * not yet joined. map spawns one thread per item and joins them in order,
 * imap gives each result as its thread is joined (in order), imap_unordered
 * takes the results from a list the threads fill as they finish. A pool of
 * N is a group that joins its oldest thread before spawning into a full
 * pool. The seed's seconds are tenths. Besides the seed's lines (a thread's
 * number in place of id()), the program maps a 50 ms sleep over 6 items on
 * a pool of 2 and prints "pool of 2: most running at once: N" and "time:
 * pool-map SECONDS" (3 rounds of 50 ms), and "time: imap SECONDS" and "time:
 * imap_unordered SECONDS" (about 0.3 s each: the sleeps overlap). Under
 * greenrun the sizes come out as in the seed, every run.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "seed.h"

#define MAX_MEMBERS 8

struct group {
    int limit;                  /* a pool's size; 0: a group, no limit */
    pthread_t threads[MAX_MEMBERS];
    int spawned, joined;        /* threads[joined..spawned) are members */
    pthread_mutex_t lock;
    pthread_cond_t finished;    /* a result was added to done[] */
    void *done[MAX_MEMBERS];    /* results in the order they finished */
    int ndone;
    int running, most_running;  /* threads inside their function */
};

struct member {
    struct group *g;
    void *(*fn)(int);
    int arg;
};

static struct group *current;   /* the group hello_from reports on */

static void group_init(struct group *g, int limit)
{
    memset(g, 0, sizeof *g);
    g->limit = limit;
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->finished, NULL);
}

/* len(group): members spawned and not yet joined. */
static int group_len(struct group *g)
{
    int n;

    pthread_mutex_lock(&g->lock);
    n = g->spawned - g->joined;
    pthread_mutex_unlock(&g->lock);
    return n;
}

static void *member_main(void *arg)
{
    struct member m = *(struct member *)arg;
    struct group *g = m.g;
    void *result;

    free(arg);
    pthread_mutex_lock(&g->lock);
    if (++g->running > g->most_running)
        g->most_running = g->running;
    pthread_mutex_unlock(&g->lock);
    result = m.fn(m.arg);
    pthread_mutex_lock(&g->lock);
    g->running--;
    g->done[g->ndone++] = result;
    pthread_cond_signal(&g->finished);
    pthread_mutex_unlock(&g->lock);
    return result;
}

/* Joins the oldest member; returns its result. */
static void *group_join_oldest(struct group *g)
{
    void *result;

    pthread_join(g->threads[g->joined], &result);
    pthread_mutex_lock(&g->lock);
    g->joined++;
    pthread_mutex_unlock(&g->lock);
    return result;
}

/* Spawns fn(arg) in the group; a full pool first joins its oldest member. */
static void group_spawn(struct group *g, void *(*fn)(int), int arg)
{
    struct member *m = malloc(sizeof *m);

    if (g->limit && group_len(g) == g->limit)
        group_join_oldest(g);
    if (!m || g->spawned == MAX_MEMBERS) {
        fprintf(stderr, "group_spawn: out of room\n");
        exit(1);
    }
    *m = (struct member){ g, fn, arg };
    pthread_mutex_lock(&g->lock);
    g->spawned++;
    pthread_mutex_unlock(&g->lock);
    if (pthread_create(&g->threads[g->spawned - 1], NULL, member_main, m)) {
        fprintf(stderr, "group_spawn: cannot start a thread\n");
        exit(1);
    }
}

static void group_join(struct group *g)
{
    while (group_len(g) > 0)
        group_join_oldest(g);
}

static void group_map(struct group *g, void *(*fn)(int), int n)
{
    int i;

    for (i = 0; i < n; i++)
        group_spawn(g, fn, i);
    group_join(g);
}

/* ---- the seed's functions ---- */

static void *talk(int msg)
{
    static const char *const msgs[] = { "bar", "foo", "fizz" };
    int i;

    for (i = 0; i < 3; i++)
        printf("%s\n", msgs[msg]);
    return NULL;
}

static void *hello_from(int n)
{
    printf("Size of %s %d\n", current->limit ? "pool" : "group", group_len(current));
    if (!current->limit)
        printf("Hello from thread %d\n", n);
    return NULL;
}

static void *intensive(int n)
{
    usleep((3 - n) * 100000);
    return (void *)(long)n;
}

static void *nap(int n)
{
    (void)n;
    usleep(50000);
    return NULL;
}

int main(void)
{
    struct group group, pool;
    double start;
    int i;

    alarm(20);
    group_init(&group, 0);
    group_spawn(&group, talk, 0);       /* g1 and g2 joined together... */
    group_spawn(&group, talk, 1);
    group_join(&group);
    group_spawn(&group, talk, 2);       /* ...then g3 */
    group_join(&group);

    group_init(&group, 0);
    current = &group;
    group_map(&group, hello_from, 3);

    printf("Ordered\n");
    group_init(&group, 0);
    start = now_s();
    for (i = 0; i < 3; i++)
        group_spawn(&group, intensive, i);
    for (i = 0; i < 3; i++)
        printf("('task', %ld)\n", (long)group_join_oldest(&group));
    printf("time: imap %.3f\n", now_s() - start);

    printf("Unordered\n");
    group_init(&group, 0);
    start = now_s();
    for (i = 0; i < 3; i++)
        group_spawn(&group, intensive, i);
    pthread_mutex_lock(&group.lock);
    for (i = 0; i < 3; i++) {
        while (group.ndone <= i)
            pthread_cond_wait(&group.finished, &group.lock);
        printf("('task', %ld)\n", (long)group.done[i]);
    }
    pthread_mutex_unlock(&group.lock);
    group_join(&group);
    printf("time: imap_unordered %.3f\n", now_s() - start);

    group_init(&pool, 2);
    current = &pool;
    group_map(&pool, hello_from, 3);

    group_init(&pool, 2);
    start = now_s();
    group_map(&pool, nap, 6);
    printf("time: pool-map %.3f\n", now_s() - start);
    printf("pool of 2: most running at once: %d\n", pool.most_running);
    return 0;
}
