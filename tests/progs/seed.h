/* seed.h - the plumbing the tests/progs/seed_*.c programs share, so that each
 * of them shows only its tutorial example: the clock their "time:" lines
 * use, the Threads: count their "os-threads:" lines report, and, for the
 * servers, a loopback listening socket, a send that sends everything and the
 * thread-per-connection accept loop.
 *
 * It includes common.h (die, spawn, join, abs_in...), and like it is all
 * `static inline`: the Makefile builds each program from its one .c file.
 * Include it after `#define _GNU_SOURCE`.
 */
#ifndef SEED_H
#define SEED_H

#include "common.h"

/* ---- what the examples measure ---- */

/* Seconds on the monotonic clock: the "time: NAME SECONDS" lines. */
static inline double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The Threads: line of /proc/self/status: how many OS threads the process
 * has (-1 if it cannot be read). Under greenrun it stays at one while any
 * number of pthreads wait. */
static inline int os_threads(void)
{
    char line[256];
    int n = -1;
    FILE *f = fopen("/proc/self/status", "r");

    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "Threads: %d", &n) == 1)
            break;
    fclose(f);
    return n;
}

/* ---- servers ---- */

/* A listening TCP socket on 127.0.0.1:port (0: a port the kernel picks);
 * *addr gets its address. Dies if any step fails. */
static inline int listen_loopback(int port, struct sockaddr_in *addr)
{
    socklen_t len = sizeof(*addr);
    int one = 1;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);

    *addr = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(lfd, (struct sockaddr *)addr, sizeof(*addr)) != 0 || listen(lfd, 1024) != 0 ||
        getsockname(lfd, (struct sockaddr *)addr, &len) != 0)
        die("listening socket");
    return lfd;
}

/* The servers' command line, `PROG [PORT]` (0 or absent: an ephemeral
 * port): listens on 127.0.0.1 and prints "listening on PORT", the line
 * scripts/lib.sh's gr_start_server waits for. */
static inline int listen_from_args(int argc, char **argv)
{
    struct sockaddr_in addr;
    int lfd = listen_loopback(argc > 1 ? atoi(argv[1]) : 0, &addr);

    printf("listening on %d\n", ntohs(addr.sin_port));
    fflush(stdout);
    return lfd;
}

/* Starts a detached thread; 0, or pthread_create's error. */
static inline int spawn_detached(void *(*fn)(void *), void *arg)
{
    pthread_attr_t attr;
    pthread_t t;
    int err;

    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    err = pthread_create(&t, &attr, fn, arg);
    pthread_attr_destroy(&attr);
    return err;
}

/* The accept loop: each connection gets a detached thread running
 * handle((void *)(intptr_t)fd), which closes fd. A failed accept or
 * pthread_create loses that one connection (said on stderr), not the
 * server. */
static inline _Noreturn void serve_forever(int lfd, void *(*handle)(void *))
{
    for (;;) {
        int fd = accept(lfd, NULL, NULL), err;

        if (fd < 0) {
            fprintf(stderr, "%s: accept: %s\n", program_invocation_short_name, strerror(errno));
            continue;
        }
        if ((err = spawn_detached(handle, (void *)(intptr_t)fd)) != 0) {
            fprintf(stderr, "%s: pthread_create: %s\n", program_invocation_short_name,
                    strerror(err));
            close(fd);
        }
    }
}

/* Sends all of buf with blocking send (MSG_NOSIGNAL: a client that went
 * away is an error, not a SIGPIPE); 0, or -1 with errno. */
static inline int send_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

#endif
