/*
 * echo_server - a plain thread-per-connection TCP echo server.
 *
 * Usage: echo_server [PORT]     (PORT 0 or absent = ephemeral)
 *
 * Listens on 127.0.0.1:PORT, prints "listening on PORT" once the socket is
 * ready, then accepts forever.  Every connection gets its own detached
 * pthread (64 KiB stack) that echoes everything it receives until the peer
 * closes or an error occurs.
 *
 * It is deliberately the most ordinary kind of server: blocking sockets,
 * recv/send, one OS thread per client.  It knows nothing about green
 * threads; it is the unmodified program that greenrun is demonstrated and
 * tested against.  SIGTERM/SIGINT keep their default (fatal) disposition.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LISTEN_BACKLOG 4096
#define THREAD_STACK_SIZE (64 * 1024)
#define ECHO_BUF_SIZE 4096

/* Many clients means many descriptors: use everything we are allowed. */
static void raise_nofile_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        perror("echo_server: setrlimit(RLIMIT_NOFILE)");
}

static int parse_port(const char *s)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 0 || v > 65535) {
        fprintf(stderr, "usage: echo_server [PORT]\n");
        exit(2);
    }
    return (int)v;
}

/* Returns the listening socket; exits on failure (nothing to serve). */
static int open_listener(int port, int *bound_port)
{
    struct sockaddr_in addr;
    socklen_t len = sizeof(addr);
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0) {
        perror("echo_server: socket");
        exit(1);
    }
    /* Lets tests restart the server on a fixed port immediately. */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0)
        perror("echo_server: setsockopt(SO_REUSEADDR)");

    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
        perror("echo_server: bind");
        exit(1);
    }
    if (listen(fd, LISTEN_BACKLOG) != 0) {
        perror("echo_server: listen");
        exit(1);
    }
    /* With port 0 the kernel picked one; report the real number. */
    if (getsockname(fd, (struct sockaddr *)&addr, &len) != 0) {
        perror("echo_server: getsockname");
        exit(1);
    }
    *bound_port = ntohs(addr.sin_port);
    return fd;
}

/* Sends all of buf, looping over partial sends.  Returns 0 or -1. */
static int send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        /* MSG_NOSIGNAL: a client that vanished must not kill the server. */
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static void *echo_thread(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[ECHO_BUF_SIZE];

    for (;;) {
        ssize_t n = recv(fd, buf, sizeof(buf), 0);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;      /* EOF or error: either way this client is done */
        if (send_all(fd, buf, (size_t)n) != 0)
            break;
    }
    close(fd);
    return NULL;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/*
 * Hands the connection to a new detached thread.  If no thread can be
 * created the client is dropped rather than served by the accept loop,
 * which must stay free to accept others.
 */
static void spawn_echo_thread(const pthread_attr_t *attr, int fd)
{
    pthread_t tid;
    int err = pthread_create(&tid, attr, echo_thread, (void *)(intptr_t)fd);

    if (err != 0) {
        fprintf(stderr, "echo_server: pthread_create: %s\n", strerror(err));
        close(fd);
    }
}

static void accept_loop(int lfd)
{
    pthread_attr_t attr;

    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    /* Thousands of threads: keep each one's reserved stack small. */
    pthread_attr_setstacksize(&attr, THREAD_STACK_SIZE);

    for (;;) {
        int fd = accept(lfd, NULL, NULL);

        if (fd >= 0) {
            spawn_echo_thread(&attr, fd);
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno == EMFILE || errno == ENFILE) {
            /* Out of descriptors: wait for some clients to leave. */
            sleep_ms(10);
            continue;
        }
        perror("echo_server: accept");
    }
}

int main(int argc, char **argv)
{
    int port = 0;
    int lfd;

    if (argc > 2) {
        fprintf(stderr, "usage: echo_server [PORT]\n");
        return 2;
    }
    if (argc == 2)
        port = parse_port(argv[1]);

    raise_nofile_limit();
    lfd = open_listener(port, &port);
    /* Scripts wait for this exact line to learn the port. */
    printf("listening on %d\n", port);
    fflush(stdout);

    accept_loop(lfd);
    return 0;
}
