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

#include "seed.h"

/* The seed's handle(socket, address). */
static void *handle(void *arg)
{
    static const char hello[] = "Hello from a telnet!\n";
    int fd = (int)(intptr_t)arg;
    char line[16];

    if (send_all(fd, hello, sizeof(hello) - 1) == 0)
        for (int i = 0; i < 5; i++) {
            int n = snprintf(line, sizeof(line), "%d\n", i);

            if (send_all(fd, line, (size_t)n) != 0)
                break;
        }
    close(fd);
    return NULL;
}

int main(int argc, char **argv)
{
    serve_forever(listen_from_args(argc, argv), handle);
}
