/* seed_08_shutdown.c - the seed's program shutdown: SIGQUIT ends a program
 * whose only thread sleeps 1000 s, promptly and cleanly.
 *
 * gevent's version installs gevent.signal(SIGQUIT, gevent.kill), spawns
 * run_forever() (gevent.sleep(1000)) and joins it: SIGQUIT kills the
 * greenlet, the join returns and the program exits, where a greenlet that
 * failed to yield would hold the process up as a zombie to be killed from
 * outside.
 *
 * Here the main thread blocks SIGQUIT, starts a server thread and joins it.
 * The server thread unblocks SIGQUIT (so the process-directed signal goes to
 * it), whose handler only sets a flag, installed without SA_RESTART: the
 * signal interrupts its sleep(1000), it sees the flag and returns, the join
 * returns and main exits 0. The program prints "server: sleeping 1000 s"
 * (flushed: the test sends SIGQUIT once it has seen it), "server: SIGQUIT,
 * leaving" and "main: joined the server, exiting".
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t quit;

static void on_sigquit(int sig)
{
    (void)sig;
    quit = 1;
}

static void *run_forever(void *arg)
{
    sigset_t set;

    (void)arg;
    sigemptyset(&set);
    sigaddset(&set, SIGQUIT);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    printf("server: sleeping 1000 s\n");
    fflush(stdout);
    while (!quit)
        sleep(1000);
    printf("server: SIGQUIT, leaving\n");
    return NULL;
}

int main(void)
{
    struct sigaction sa;
    sigset_t set;
    pthread_t thread;
    int err;

    alarm(20);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigquit;      /* no SA_RESTART: the sleep is interrupted */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGQUIT, &sa, NULL);
    sigemptyset(&set);
    sigaddset(&set, SIGQUIT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    if ((err = pthread_create(&thread, NULL, run_forever, NULL))) {
        fprintf(stderr, "pthread_create: %s\n", strerror(err));
        return 1;
    }
    pthread_join(thread, NULL);
    printf("main: joined the server, exiting\n");
    return 0;
}
