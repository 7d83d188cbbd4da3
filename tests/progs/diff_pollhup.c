/* diff_pollhup.c - poll with no events asked for still reports hang-ups.
 *
 * POLLHUP and POLLERR are reported whether asked for or not, so a program can
 * wait for a peer to go away with events = 0. Another thread closes the peer
 * 20 ms into each wait: poll must return it then, not at its timeout (only
 * "at once" or "at the timeout" is printed, never a time). alarm() bounds the
 * program if a call never returns.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define DELAY_US 20000

static const char *events(short ev)
{
    switch (ev) {
    case 0: return "0";
    case POLLHUP: return "POLLHUP";
    case POLLERR: return "POLLERR";
    case POLLHUP | POLLERR: return "POLLERR|POLLHUP";
    default: return "other";
    }
}

static void *close_later(void *arg)
{
    usleep(DELAY_US);
    close((int)(long)arg);
    return NULL;
}

/* Poll fd for nothing while another thread closes peer. */
static void wait_hangup(const char *what, int fd, int peer, int timeout)
{
    struct pollfd f = { fd, 0, 0 };
    long start = now_ms();
    pthread_t t;
    int r;

    t = spawn(close_later, (void *)(long)peer);
    r = poll(&f, 1, timeout);
    if (r < 0)
        die("poll");
    join(t);
    printf("%s, timeout %d: %d, revents %s, %s\n", what, timeout, r, events(f.revents),
           now_ms() - start < timeout / 2 || timeout < 0 ? "at once" : "at the timeout");
}

int main(void)
{
    int p[2], s[2];

    setvbuf(stdout, NULL, _IOLBF, 0);
    alarm(5);
    xpipe(p);
    wait_hangup("pipe read end, writer closes", p[0], p[1], 1000);
    close(p[0]);
    xpipe(p);
    wait_hangup("pipe write end, reader closes", p[1], p[0], 1000);
    close(p[1]);
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, s) < 0)
        die("socketpair");
    wait_hangup("socket, peer closes", s[0], s[1], -1);
    close(s[0]);
    printf("done\n");
    return 0;
}
