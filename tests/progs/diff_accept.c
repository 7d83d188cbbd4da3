/* diff_accept.c - accept's error codes on sockets that cannot accept.
 *
 * accept fails at once on anything but a listening stream socket: EINVAL on a
 * connected TCP socket, EOPNOTSUPP on a UDP socket, ENOTSOCK on a pipe. A
 * thread blocked in accept on a listener that another thread shuts down gets
 * EINVAL. None of these has a connection to wait for. alarm() bounds the
 * program if a call never returns.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"

static void try_accept(const char *what, int fd)
{
    int r = accept(fd, NULL, NULL), e = errno;

    if (r >= 0)
        printf("accept on %s: a socket\n", what);
    else
        printf("accept on %s: -1 %s\n", what, ename(e));
}

static int listener(struct sockaddr_in *a)
{
    socklen_t len = sizeof(*a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    memset(a, 0, sizeof(*a));
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)a, sizeof(*a)) < 0 || listen(fd, 4) < 0 ||
        getsockname(fd, (struct sockaddr *)a, &len) < 0)
        die("listen");
    return fd;
}

static void *shut_later(void *arg)
{
    usleep(20000);
    if (shutdown((int)(long)arg, SHUT_RDWR) < 0)
        die("shutdown");
    return NULL;
}

static void check_shutdown(void)
{
    struct sockaddr_in a;
    int lfd = listener(&a);
    pthread_t t;

    t = spawn(shut_later, (void *)(long)lfd);
    try_accept("a listener shut down while waiting", lfd);
    join(t);
    close(lfd);
}

static void check_connected(void)
{
    struct sockaddr_in a;
    int lfd = listener(&a), c = socket(AF_INET, SOCK_STREAM, 0);

    if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)) < 0)
        die("connect");
    try_accept("a connected TCP socket", c);
    close(c);
    close(lfd);
}

int main(void)
{
    int p[2], u;

    setvbuf(stdout, NULL, _IOLBF, 0);
    alarm(5);
    check_shutdown();
    check_connected();
    if ((u = socket(AF_INET, SOCK_DGRAM, 0)) < 0)
        die("socket");
    try_accept("a UDP socket", u);
    close(u);
    xpipe(p);
    try_accept("a pipe", p[0]);
    close(p[0]);
    close(p[1]);
    printf("done\n");
    return 0;
}
