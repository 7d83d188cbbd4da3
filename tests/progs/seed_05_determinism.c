/* seed_05_determinism.c - the seed's determinism example: the same pool run
 * four times gives the same order every time.
 *
 * gevent's version maps echo(i) (sleep 0.001 s, return i) over 0..9 with
 * imap_unordered, four times, first on a multiprocessing Pool(10), then on a
 * gevent Pool(10), and prints whether the four orders were equal: False for
 * the processes (the OS schedules them), True for the greenlets.
 *
 * Here the pool is ten pthreads, one per item, each running echo(i) and
 * appending its result to a list in the order they finish (imap_unordered's
 * order). The program runs that pool four times in one process, prints each
 * run's order ("run N: ...") and then True or False: whether the four were
 * equal. Under greenrun the threads are green threads scheduled FIFO, and it
 * prints True, every time; natively it is the OS's threads, and it usually
 * prints False (it can happen to print True).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define POOL 10
#define RUNS 4

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int results[POOL], nresults;

static int echo(int i)
{
    usleep(1000);
    return i;
}

static void *echo_thread(void *arg)
{
    int r = echo((int)(long)arg);

    pthread_mutex_lock(&lock);
    results[nresults++] = r;
    pthread_mutex_unlock(&lock);
    return NULL;
}

/* imap_unordered(echo, range(POOL)) into run[]. */
static int imap_unordered(int run[POOL])
{
    pthread_t t[POOL];
    int i, err;

    nresults = 0;
    for (i = 0; i < POOL; i++)
        if ((err = pthread_create(&t[i], NULL, echo_thread, (void *)(long)i))) {
            fprintf(stderr, "pthread_create: %s\n", strerror(err));
            return -1;
        }
    for (i = 0; i < POOL; i++)
        pthread_join(t[i], NULL);
    memcpy(run, results, sizeof results);
    return 0;
}

int main(void)
{
    int runs[RUNS][POOL], r, i, same = 1;

    alarm(20);
    for (r = 0; r < RUNS; r++) {
        if (imap_unordered(runs[r]) < 0)
            return 1;
        printf("run %d:", r + 1);
        for (i = 0; i < POOL; i++)
            printf(" %d", runs[r][i]);
        printf("\n");
        same &= !memcmp(runs[r], runs[0], sizeof runs[0]);
    }
    printf("%s\n", same ? "True" : "False");
    return 0;
}
