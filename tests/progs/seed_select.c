/* seed_select.c - the seed's example of cooperative select: three threads
 * that each wait, finishing in about the time of the longest wait.
 *
 * Two threads call select on an idle pipe with a 2 s timeout, a third sleeps
 * 1 s. Each notes when it finished; the program prints the order, what the
 * selects returned, and whether everything was over in about 2 s (>= 2 s and
 * < 2.5 s). With real threads the waits overlap, so the answer is yes; under
 * greenrun all three run on one OS thread, and it must still be yes: a select
 * that blocked the OS thread would make it about 5 s.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

static int idle[2];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static const char *finished[3];
static int nfinished;

static void die(const char *what, int err)
{
    fprintf(stderr, "seed_select: %s: %s\n", what, strerror(err));
    exit(1);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void done(const char *what)
{
    pthread_mutex_lock(&lock);
    finished[nfinished++] = what;
    pthread_mutex_unlock(&lock);
}

static void *selector(void *arg)
{
    struct timeval tv = { 2, 0 };
    fd_set rd;
    int r;

    (void)arg;
    FD_ZERO(&rd);
    FD_SET(idle[0], &rd);
    r = select(idle[0] + 1, &rd, NULL, NULL, &tv);
    if (r < 0)
        die("select", errno);
    done(r == 0 ? "select (2 s), timed out" : "select (2 s), returned EARLY");
    return NULL;
}

static void *sleeper(void *arg)
{
    (void)arg;
    sleep(1);
    done("sleep (1 s)");
    return NULL;
}

int main(void)
{
    static const char *const nth[] = { "first", "second", "third" };
    void *(*fns[3])(void *) = { selector, selector, sleeper };
    pthread_t t[3];
    double start, elapsed;
    int i, err;

    alarm(20);
    if (pipe(idle) < 0)
        die("pipe", errno);
    start = now_s();
    for (i = 0; i < 3; i++)
        if ((err = pthread_create(&t[i], NULL, fns[i], NULL)))
            die("pthread_create", err);
    for (i = 0; i < 3; i++)
        if ((err = pthread_join(t[i], NULL)))
            die("pthread_join", err);
    elapsed = now_s() - start;
    for (i = 0; i < 3; i++)
        printf("%s to finish: %s\n", nth[i], finished[i]);
    printf("all finished in about 2 s: %s\n", elapsed >= 2.0 && elapsed < 2.5 ? "yes" : "no");
    return 0;
}
