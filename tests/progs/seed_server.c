/* seed_server.c - the seed's StreamServer: a TCP server that greets each
 * client and sends it five numbers.
 *
 * gevent's version is StreamServer(('127.0.0.1', 5000), handle): every
 * connection gets a greenlet running handle(socket, address), which sends
 * "Hello from a telnet!\n", then "0\n" to "4\n", and closes; `nc 127.0.0.1
 * 5000` shows those six lines. Many clients are served at once by greenlets
 * on one OS thread.
 *
 * The C port is the plain way to write it: an accept loop and one detached
 * pthread per connection running the same handler with blocking send.
 * Usage: seed_server [PORT] (0 or absent: an ephemeral port). It listens on
 * 127.0.0.1, prints "listening on PORT" and serves until killed. Under
 * greenrun the handler threads are green threads and the process keeps one
 * OS thread however many clients are connected.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int send_all(int fd, const char *text)
{
    size_t len = strlen(text);

    while (len > 0) {
        ssize_t n = send(fd, text, len, MSG_NOSIGNAL);

        if (n < 0)
            return -1;
        text += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The seed's handle(socket, address). */
static void *handle(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char line[16];

    if (send_all(fd, "Hello from a telnet!\n") == 0)
        for (int i = 0; i < 5; i++) {
            snprintf(line, sizeof(line), "%d\n", i);
            if (send_all(fd, line) != 0)
                break;
        }
    close(fd);
    return NULL;
}

int main(int argc, char **argv)
{
    struct sockaddr_in addr = { .sin_family = AF_INET };
    socklen_t len = sizeof(addr);
    pthread_attr_t attr;
    int one = 1;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);

    addr.sin_port = htons((uint16_t)(argc > 1 ? atoi(argv[1]) : 0));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(lfd, 1024) != 0 ||
        getsockname(lfd, (struct sockaddr *)&addr, &len) != 0) {
        perror("seed_server: listening socket");
        return 1;
    }
    printf("listening on %d\n", ntohs(addr.sin_port));
    fflush(stdout);

    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    for (;;) {
        pthread_t t;
        int fd = accept(lfd, NULL, NULL);

        if (fd < 0) {
            perror("seed_server: accept");
            continue;
        }
        if (pthread_create(&t, &attr, handle, (void *)(intptr_t)fd) != 0) {
            fprintf(stderr, "seed_server: pthread_create failed\n");
            close(fd);
        }
    }
}
