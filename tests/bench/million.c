/*
 * million - start N pthreads (default 1,000,000) that all block on one
 * condition variable, then release them with one broadcast and join them
 * all.
 *
 * Usage: million [N] [STACK_KIB]      (defaults 1000000 and 16)
 *
 * Each thread gets a STACK_KIB stack through pthread_attr_setstacksize, as
 * a real program at this scale would.  Prints key=value lines:
 *   threads, stack_kib, create_s (starting all of them until the last one
 *   waits), release_s (broadcast + joining all), base_rss_kb (before the
 *   first pthread_create), blocked_rss_kb (all N blocked), peak_rss_kb
 *   (VmHWM), bytes_per_thread = (peak - base) / N.
 * Natively N is bounded by pid_max (and memory); under greenrun the
 * threads are green and only memory bounds it.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t go_cond = PTHREAD_COND_INITIALIZER;
static pthread_cond_t all_waiting = PTHREAD_COND_INITIALIZER;
static long waiting, n;
static int go;

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A line of /proc/self/status, in kB. */
static long status_kb(const char *key)
{
    char line[256];
    long v = -1;
    FILE *f = fopen("/proc/self/status", "r");

    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, key, strlen(key)) == 0)
            v = atol(line + strlen(key));
    if (f)
        fclose(f);
    return v;
}

static void *blocked(void *arg)
{
    pthread_mutex_lock(&lock);
    if (++waiting == n)
        pthread_cond_signal(&all_waiting);
    while (!go)
        pthread_cond_wait(&go_cond, &lock);
    pthread_mutex_unlock(&lock);
    return arg;
}

int main(int argc, char **argv)
{
    long kib = argc > 2 ? atol(argv[2]) : 16, base, held, peak;
    pthread_attr_t attr;
    pthread_t *t;
    double t0, t1, t2;

    n = argc > 1 ? atol(argv[1]) : 1000000;
    if (argc > 3 || n <= 0 || kib < 16) {
        fprintf(stderr, "usage: million [N] [STACK_KIB >= 16]\n");
        return 2;
    }
    t = malloc((size_t)n * sizeof(*t));
    if (!t)
        return 1;
    memset(t, 0, (size_t)n * sizeof(*t));       /* count it in the base */
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, (size_t)kib * 1024);
    base = status_kb("VmRSS:");

    t0 = now();
    for (long i = 0; i < n; i++) {
        int err = pthread_create(&t[i], &attr, blocked, NULL);

        if (err != 0) {
            fprintf(stderr, "million: pthread_create #%ld: %s\n", i, strerror(err));
            return 1;
        }
    }
    pthread_mutex_lock(&lock);
    while (waiting < n)
        pthread_cond_wait(&all_waiting, &lock);
    t1 = now();
    held = status_kb("VmRSS:");
    go = 1;
    pthread_cond_broadcast(&go_cond);
    pthread_mutex_unlock(&lock);
    for (long i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    t2 = now();

    printf("threads=%ld\nstack_kib=%ld\ncreate_s=%.2f\nrelease_s=%.2f\n", n, kib,
           t1 - t0, t2 - t1);
    /* The kernel folds VmHWM in lazily: it can lag the VmRSS read above. */
    peak = status_kb("VmHWM:");
    if (peak < held)
        peak = held;
    printf("base_rss_kb=%ld\nblocked_rss_kb=%ld\npeak_rss_kb=%ld\nbytes_per_thread=%.0f\n",
           base, held, peak, (double)(peak - base) * 1024 / (double)n);
    return 0;
}
