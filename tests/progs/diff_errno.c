/* diff_errno.c - errno after calls that succeed, having had to wait first.
 *
 * glibc's functions leave errno alone when they succeed. A program that sets
 * errno = 0 before a call and looks at it afterwards (to tell an ambiguous
 * return apart, or by accident) must find it unchanged. Each call below waits
 * for another thread that acts 20 ms later: read, write, recv, send, accept,
 * connect, poll, pthread_mutex_lock, pthread_cond_wait, pthread_join, usleep.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"

#define DELAY_US 20000

/* Print a call's result and the errno it left behind. */
static void show(const char *what, long r, int err)
{
    if (r < 0)
        printf("%s: failed, errno %s\n", what, ename(err));
    else
        printf("%s: %ld, errno %s\n", what, r, ename(err));
}

/* ---- a thread that does one thing 20 ms later ---- */

struct later {
    void (*fn)(struct later *);
    int fd;
    pthread_mutex_t *m;
    pthread_cond_t *c;
    int *flag;
};

static void *run_later(void *arg)
{
    struct later *l = arg;

    usleep(DELAY_US);
    l->fn(l);
    return NULL;
}

static void write_byte(struct later *l)
{
    if (write(l->fd, "x", 1) != 1)
        die("write");
}

static void drain(struct later *l)
{
    static char buf[1 << 20];

    if (read(l->fd, buf, sizeof(buf)) <= 0)
        die("read");
}

/* Hold the mutex for a while (started without the delay). */
static void *hold_mutex(void *arg)
{
    pthread_mutex_t *m = arg;

    pthread_mutex_lock(m);
    usleep(DELAY_US);
    pthread_mutex_unlock(m);
    return NULL;
}

static void signal_it(struct later *l)
{
    pthread_mutex_lock(l->m);
    *l->flag = 1;
    pthread_cond_signal(l->c);
    pthread_mutex_unlock(l->m);
}

static void nothing(struct later *l)
{
    (void)l;
}

static struct sockaddr_in listen_addr(int *lfd)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    *lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (*lfd < 0 || bind(*lfd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        listen(*lfd, 4) < 0 || getsockname(*lfd, (struct sockaddr *)&a, &len) < 0)
        die("listen");
    return a;
}

/* ---- the calls ---- */

static void check_pipe(void)
{
    static char fill[1 << 16];
    struct later l = { write_byte, 0, NULL, NULL, NULL };
    int p[2], e;
    char c;
    ssize_t r;
    pthread_t t;

    xpipe(p);
    l.fd = p[1];
    t = spawn(run_later, &l);
    errno = 0;
    r = read(p[0], &c, 1);
    e = errno;
    join(t);
    show("read that waited", r, e);
    if (write(p[1], fill, sizeof(fill)) != (ssize_t)sizeof(fill))
        die("fill");
    l = (struct later){ drain, p[0], NULL, NULL, NULL };
    t = spawn(run_later, &l);
    errno = 0;
    r = write(p[1], "x", 1);
    e = errno;
    join(t);
    show("write that waited", r, e);
    close(p[0]);
    close(p[1]);
}

static void check_socket(void)
{
    static char fill[4096];
    struct later l = { write_byte, 0, NULL, NULL, NULL };
    int s[2], e;
    char c;
    ssize_t r;
    pthread_t t;

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, s) < 0)
        die("socketpair");
    l.fd = s[1];
    t = spawn(run_later, &l);
    errno = 0;
    r = recv(s[0], &c, 1, 0);
    e = errno;
    join(t);
    show("recv that waited", r, e);
    while (send(s[1], fill, sizeof(fill), MSG_DONTWAIT) > 0)
        ;
    l = (struct later){ drain, s[0], NULL, NULL, NULL };
    t = spawn(run_later, &l);
    errno = 0;
    r = send(s[1], "x", 1, 0);
    e = errno;
    join(t);
    show("send that waited", r, e);
    close(s[0]);
    close(s[1]);
}

static void *connect_later(void *arg)
{
    struct sockaddr_in *a = arg;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    usleep(DELAY_US);
    if (fd < 0 || connect(fd, (struct sockaddr *)a, sizeof(*a)) < 0)
        die("connect");
    return (void *)(intptr_t)fd;
}

static void check_accept_connect(void)
{
    struct sockaddr_in a;
    int lfd, fd, c, r, e;
    void *cr;
    pthread_t t;

    a = listen_addr(&lfd);
    t = spawn(connect_later, &a);
    errno = 0;
    fd = accept(lfd, NULL, NULL);
    e = errno;
    cr = join(t);
    show("accept that waited", fd >= 0 ? 0 : -1, e);
    close(fd);
    close((int)(intptr_t)cr);
    c = socket(AF_INET, SOCK_STREAM, 0);
    errno = 0;
    r = connect(c, (struct sockaddr *)&a, sizeof(a));
    e = errno;
    show("connect to a listener on 127.0.0.1", r, e);
    close(c);
    close(lfd);
}

static void check_poll(void)
{
    struct later l = { write_byte, 0, NULL, NULL, NULL };
    struct pollfd f;
    int p[2], r, e;
    pthread_t t;

    xpipe(p);
    l.fd = p[1];
    f = (struct pollfd){ p[0], POLLIN, 0 };
    t = spawn(run_later, &l);
    errno = 0;
    r = poll(&f, 1, -1);
    e = errno;
    join(t);
    show("poll that waited", r, e);
    close(p[0]);
    close(p[1]);
}

static void check_threads(void)
{
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t c = PTHREAD_COND_INITIALIZER;
    int flag = 0, r, e;
    struct later l = { signal_it, 0, &m, &c, &flag };
    pthread_t t;

    t = spawn(hold_mutex, &m);
    usleep(DELAY_US / 4);
    errno = 0;
    r = pthread_mutex_lock(&m);
    e = errno;
    join(t);
    show("pthread_mutex_lock that waited", r, e);
    t = spawn(run_later, &l);
    errno = 0;
    while (!flag && (r = pthread_cond_wait(&c, &m)) == 0)
        ;
    e = errno;
    pthread_mutex_unlock(&m);
    join(t);
    show("pthread_cond_wait that waited", r, e);
    l.fn = nothing;
    t = spawn(run_later, &l);
    errno = 0;
    r = pthread_join(t, NULL);
    e = errno;
    show("pthread_join that waited", r, e);
    errno = 0;
    r = usleep(DELAY_US);
    e = errno;
    show("usleep", r, e);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    check_threads();
    check_pipe();
    check_socket();
    check_poll();
    check_accept_connect();
    printf("done\n");
    return 0;
}
