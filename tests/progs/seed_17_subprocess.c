/* seed_17_subprocess.c - the seed's subprocess: a thread keeps running while
 * another waits for a child process.
 *
 * gevent's version spawns cron(), which prints "cron" every 0.2 s, then runs
 * Popen('sleep 1; uname', shell=True) and communicate()s with it: the wait
 * for the child is cooperative, so "cron" comes out about five times during
 * the child's second, then the greenlet is killed and "Linux" printed.
 *
 * Here cron is a pthread printing "cron" every 0.2 s (usleep), the child is
 * popen("sleep 1; uname", "r") read with fgets and closed with pclose, and
 * the kill is pthread_cancel (usleep is a cancellation point). The program
 * prints the seed's lines, "time: child SECONDS" (the popen-to-pclose time,
 * about 1 s) and "os-threads: N", the Threads: of /proc/self/status read by
 * cron while the child runs. Under greenrun cron and the waiting thread
 * share one OS thread, and cron still prints about five times.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "seed.h"

static int os_threads_seen;

static void *cron(void *arg)
{
    int n;

    (void)arg;
    for (n = 0;; n++) {
        printf("cron\n");
        if (n == 2)
            os_threads_seen = os_threads();
        usleep(200000);
    }
    return NULL;
}

int main(void)
{
    char out[256] = "";
    pthread_t g;
    double start;
    FILE *sub;
    int err, status;

    alarm(20);
    if ((err = pthread_create(&g, NULL, cron, NULL))) {
        fprintf(stderr, "pthread_create: %s\n", strerror(err));
        return 1;
    }
    start = now_s();
    sub = popen("sleep 1; uname", "r");
    if (!sub) {
        perror("popen");
        return 1;
    }
    if (!fgets(out, sizeof out, sub))   /* communicate() */
        strcpy(out, "(no output)\n");
    status = pclose(sub);
    printf("time: child %.3f\n", now_s() - start);
    pthread_cancel(g);                  /* g.kill() */
    pthread_join(g, NULL);
    printf("%s", out);
    printf("child status: %d\n", status);
    printf("os-threads: %d\n", os_threads_seen);
    return 0;
}
