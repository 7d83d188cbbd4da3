/* diff_sigprocmask.c - sigprocmask and pthread_sigmask name one mask: what one
 * sets the other reports, in the thread that set it only. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>

static int blocked(int sig)
{
    sigset_t now;

    pthread_sigmask(SIG_BLOCK, NULL, &now);
    return sigismember(&now, sig);
}

static void *other(void *arg)
{
    (void)arg;
    return (void *)(long)blocked(SIGUSR2);
}

int main(void)
{
    sigset_t set;
    pthread_t t;
    void *res;
    int r;

    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    printf("SIGUSR1 blocked by sigprocmask, seen by pthread_sigmask: %d\n", blocked(SIGUSR1));
    errno = 0;
    r = sigprocmask(99, &set, NULL);
    printf("bad how: %d %s\n", r, errno == EINVAL ? "EINVAL" : "?");
    sigaddset(&set, SIGUSR2);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    pthread_create(&t, NULL, other, NULL);
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    sigprocmask(SIG_BLOCK, &set, NULL);
    pthread_join(t, &res);
    printf("SIGUSR2 blocked in a thread created before main blocked it: %ld\n", (long)res);
    printf("SIGUSR2 blocked in main: %d\n", blocked(SIGUSR2));
    return 0;
}
