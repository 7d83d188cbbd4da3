/*
 * echo_threads - thread-per-connection TCP echo server for the benchmarks.
 *
 * Usage: echo_threads [STACK_KIB [BUF_BYTES]]     (default 64, 4096)
 *
 * Listens on an ephemeral port of 127.0.0.1, prints "listening on PORT",
 * then accepts forever; every connection gets a detached pthread with a
 * STACK_KIB stack (pthread_attr_setstacksize: 10,000 native threads must
 * fit in memory) that echoes what it receives with blocking recv/send
 * through a BUF_BYTES buffer on its stack, until the peer closes.  It
 * raises its soft RLIMIT_NOFILE to the hard one to hold many connections.
 * The buffer size decides how many stack pages an idle thread touches: a
 * 4 KiB buffer and the frames around it span two.
 *
 * The same design as tests/progs/echo_server.c (the demo's server), with
 * the stack size as an argument and TCP_NODELAY on every connection, as
 * the epoll reference (echo_epoll.c) has.  It knows nothing of greenrun.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static size_t buf_size = 4096;

static void raise_nofile(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* Returns a listening socket on 127.0.0.1 and prints its port. */
static int listen_loopback(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(fd, 4096) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        perror("echo_threads: listen");
        exit(1);
    }
    printf("listening on %d\n", ntohs(a.sin_port));
    fflush(stdout);
    return fd;
}

static void *echo(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[buf_size];
    ssize_t n;

    while ((n = recv(fd, buf, sizeof(buf), 0)) > 0 || (n < 0 && errno == EINTR)) {
        for (ssize_t off = 0; off < n;) {
            ssize_t w = send(fd, buf + off, (size_t)(n - off), MSG_NOSIGNAL);

            if (w < 0 && errno != EINTR)
                goto out;
            off += w > 0 ? w : 0;
        }
    }
out:
    close(fd);
    return NULL;
}

int main(int argc, char **argv)
{
    long kib = argc > 1 ? atol(argv[1]) : 64;
    long bytes = argc > 2 ? atol(argv[2]) : 4096;
    pthread_attr_t attr;
    int lfd, one = 1;

    if (argc > 3 || kib < 16 || bytes < 64 || bytes > kib * 1024 / 2) {
        fprintf(stderr, "usage: echo_threads [STACK_KIB >= 16 [64 <= BUF_BYTES <= half the stack]]\n");
        return 2;
    }
    buf_size = (size_t)bytes;
    raise_nofile();
    lfd = listen_loopback();
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, (size_t)kib * 1024);
    for (;;) {
        pthread_t t;
        int fd = accept(lfd, NULL, NULL), err;

        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE) {
                perror("echo_threads: accept");
                usleep(10000);
            }
            continue;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        err = pthread_create(&t, &attr, echo, (void *)(intptr_t)fd);
        if (err != 0) {
            fprintf(stderr, "echo_threads: pthread_create: %s\n", strerror(err));
            close(fd);
        }
    }
}
