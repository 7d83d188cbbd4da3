/* seed_09_timeouts.c - the seed's timeouts: waits that give up after 1 s on a
 * thread that would take 2 s.
 *
 * gevent's version runs wait() (gevent.sleep(2)) three times under a 1 s
 * Timeout: thread1.join(timeout=...), thread2.get(timeout=...) and
 * gevent.with_timeout(1, wait); each raises Timeout after 1 s and prints
 * "Thread N timed out".
 *
 * Here the seed's seconds are tenths (give up after 0.1 s on a thread that
 * takes 0.2 s), and the three waits are the usual C ones: a
 * pthread_cond_timedwait for thread 1's "done" flag, a poll() with a
 * timeout on the pipe thread 2 writes its result to, and a sem_timedwait
 * on the semaphore thread 3 posts. Each gives ETIMEDOUT (poll: 0) and the
 * program prints "Thread N timed out" and "time: thread-N SECONDS", how long
 * the wait took (about 0.1 s); it then joins the three threads, which finish
 * after their 0.2 s, and prints "all threads finished".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "seed.h"

#define TIMEOUT_MS 100
#define WAIT_MS 200

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int done1;
static int pipe2_fds[2];
static sem_t sem3;

static void *wait1(void *arg)
{
    (void)arg;
    usleep(WAIT_MS * 1000);
    pthread_mutex_lock(&lock);
    done1 = 1;
    pthread_cond_signal(&cond);
    pthread_mutex_unlock(&lock);
    return NULL;
}

static void *wait2(void *arg)
{
    (void)arg;
    usleep(WAIT_MS * 1000);
    if (write(pipe2_fds[1], "x", 1) != 1)
        perror("write");
    return NULL;
}

static void *wait3(void *arg)
{
    (void)arg;
    usleep(WAIT_MS * 1000);
    sem_post(&sem3);
    return NULL;
}

static void report(int n, int timed_out, double start)
{
    printf(timed_out ? "Thread %d timed out\n" : "Thread %d did NOT time out\n", n);
    printf("time: thread-%d %.3f\n", n, now_s() - start);
}

int main(void)
{
    struct pollfd pfd;
    struct timespec ts;
    pthread_t t[3];
    double start;
    int err, r, i;

    alarm(20);
    if (pipe(pipe2_fds) < 0 || sem_init(&sem3, 0, 0) < 0) {
        perror("pipe/sem_init");
        return 1;
    }

    /* thread1.join(timeout=timer) */
    start = now_s();
    t[0] = spawn(wait1, NULL);
    ts = abs_in(CLOCK_REALTIME, TIMEOUT_MS);   /* cond and sem waits take a deadline */
    pthread_mutex_lock(&lock);
    err = 0;
    while (!done1 && err != ETIMEDOUT)
        err = pthread_cond_timedwait(&cond, &lock, &ts);
    pthread_mutex_unlock(&lock);
    report(1, err == ETIMEDOUT, start);

    /* thread2.get(timeout=timer) */
    start = now_s();
    t[1] = spawn(wait2, NULL);
    pfd.fd = pipe2_fds[0];
    pfd.events = POLLIN;
    r = poll(&pfd, 1, TIMEOUT_MS);
    report(2, r == 0, start);

    /* gevent.with_timeout(1, wait) */
    start = now_s();
    t[2] = spawn(wait3, NULL);
    ts = abs_in(CLOCK_REALTIME, TIMEOUT_MS);
    while ((r = sem_timedwait(&sem3, &ts)) < 0 && errno == EINTR)
        ;
    report(3, r < 0 && errno == ETIMEDOUT, start);

    for (i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    printf("all threads finished\n");
    return 0;
}
