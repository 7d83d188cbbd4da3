/* diff_timeo.c - socket timeouts set with SO_RCVTIMEO and SO_SNDTIMEO.
 *
 * A blocking socket with a receive or send timeout gives up after it: recv,
 * read and accept with nothing to take, and send on a full socket, return -1
 * with EAGAIN once at least the timeout has passed (only "waited long enough"
 * is printed, never a time). alarm() bounds the program if a call never
 * returns.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define TIMEOUT_MS 100

static void set_timeout(int fd, int opt)
{
    struct timeval tv = { 0, TIMEOUT_MS * 1000 };

    if (setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv)) < 0)
        die("setsockopt");
}

static void show(const char *what, long r, int err, long start)
{
    long ms = now_ms() - start;

    if (r < 0)
        printf("%s: -1 %s, %s\n", what, ename(err),
               ms >= TIMEOUT_MS ? "waited long enough" : "returned EARLY");
    else
        printf("%s: %ld\n", what, r);
}

static void check_receive(void)
{
    int s[2], e;
    long start;
    ssize_t r;
    char c;

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, s) < 0)
        die("socketpair");
    set_timeout(s[0], SO_RCVTIMEO);
    start = now_ms();
    r = recv(s[0], &c, 1, 0);
    e = errno;
    show("recv, SO_RCVTIMEO, nothing sent", r, e, start);
    start = now_ms();
    r = read(s[0], &c, 1);
    e = errno;
    show("read, SO_RCVTIMEO, nothing sent", r, e, start);
    close(s[0]);
    close(s[1]);
}

static void check_accept(void)
{
    struct sockaddr_in a;
    int lfd = socket(AF_INET, SOCK_STREAM, 0), r, e;
    long start;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 4) < 0)
        die("listen");
    set_timeout(lfd, SO_RCVTIMEO);
    start = now_ms();
    r = accept(lfd, NULL, NULL);
    e = errno;
    show("accept, SO_RCVTIMEO, nobody connects", r, e, start);
    close(lfd);
}

static void check_send(void)
{
    static char buf[4096];
    int s[2], e;
    long start;
    ssize_t r;

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, s) < 0)
        die("socketpair");
    while (send(s[0], buf, sizeof(buf), MSG_DONTWAIT) > 0)
        ;
    set_timeout(s[0], SO_SNDTIMEO);
    start = now_ms();
    r = send(s[0], buf, sizeof(buf), 0);
    e = errno;
    show("send, SO_SNDTIMEO, socket full", r, e, start);
    start = now_ms();
    r = write(s[0], buf, sizeof(buf));
    e = errno;
    show("write, SO_SNDTIMEO, socket full", r, e, start);
    close(s[0]);
    close(s[1]);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    alarm(5);
    check_receive();
    check_accept();
    check_send();
    printf("done\n");
    return 0;
}
