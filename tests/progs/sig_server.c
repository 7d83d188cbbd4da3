/* sig_server.c - a threaded echo server that SIGTERM or SIGQUIT shuts down
 * cleanly (tests/integration/test_signals.sh).
 *
 * The main thread accepts, on 127.0.0.1 and a port the kernel picks
 * ("listening on PORT"), and starts a thread per connection that echoes
 * lines. The connection threads block SIGTERM and SIGQUIT, so the signal
 * goes to the main thread, whose handler (no SA_RESTART) notes it and
 * writes to a self-pipe: main's poll on the listener and the pipe wakes,
 * it stops accepting, shuts the connections down (their reads see EOF),
 * joins every thread and prints "shutdown by SIGxxx: joined N threads".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CONN 64

static volatile sig_atomic_t stop_sig;
static int wake[2];

static void on_stop(int sig)
{
    int saved = errno;

    stop_sig = sig;
    (void)!write(wake[1], "s", 1);
    errno = saved;
}

static void *serve(void *arg)
{
    int fd = (int)(long)arg;
    char buf[256];
    ssize_t n;

    while ((n = read(fd, buf, sizeof(buf))) > 0)
        if (write(fd, buf, (size_t)n) != n)
            break;
    return NULL;
}

int main(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(a);
    struct sigaction sa;
    pthread_t threads[MAX_CONN];
    int fds[MAX_CONN], n = 0, lfd, fd;
    sigset_t stops, old;

    alarm(60);
    (void)!pipe(wake);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGQUIT, &sa, NULL);
    sigemptyset(&stops);
    sigaddset(&stops, SIGTERM);
    sigaddset(&stops, SIGQUIT);
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 16) < 0) {
        perror("listen");
        return 1;
    }
    getsockname(lfd, (struct sockaddr *)&a, &len);
    printf("listening on %d\n", ntohs(a.sin_port));
    fflush(stdout);
    while (!stop_sig) {
        struct pollfd p[2] = { { lfd, POLLIN, 0 }, { wake[0], POLLIN, 0 } };

        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            perror("poll");
            return 1;
        }
        if (!(p[0].revents & POLLIN) || n == MAX_CONN || (fd = accept(lfd, NULL, NULL)) < 0)
            continue;
        /* The connection threads leave the stop signals to main. */
        pthread_sigmask(SIG_BLOCK, &stops, &old);
        if (pthread_create(&threads[n], NULL, serve, (void *)(long)fd) == 0)
            fds[n++] = fd;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    close(lfd);
    for (int i = 0; i < n; i++)
        shutdown(fds[i], SHUT_RDWR);
    for (int i = 0; i < n; i++) {
        pthread_join(threads[i], NULL);
        close(fds[i]);
    }
    printf("shutdown by %s: joined %d threads\n", stop_sig == SIGTERM ? "SIGTERM" : "SIGQUIT", n);
    return 0;
}
