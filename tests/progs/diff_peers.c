/* diff_peers.c - what a blocked thread sees when the other end of its socket
 * or pipe resets, shuts down, closes or stops reading.
 *
 * Checks: a recvmsg blocked on TCP when the peer resets (SO_LINGER 0):
 * ECONNRESET, then EPIPE from sendmsg (SIGPIPE ignored); a readv blocked
 * when the peer shuts down its writing side: end of file, and the reply
 * still gets through; a recv blocked when the program itself shuts the
 * socket down (SHUT_RD, SHUT_RDWR; TCP and Unix): end of file; a writer
 * blocked on a full socket while its reader sleeps 100 ms, then drains (all
 * 8 MiB arrive; the writer was still blocked when the reader woke); a writer
 * blocked on a full pipe whose reader closes: the partial count; with
 * SIGPIPE at its default, in a child process (this program run again):
 * that write kills it (status 141 in a shell), and MSG_NOSIGNAL gives EPIPE
 * instead.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define DELAY_US 30000
#define BULK ((size_t)8 << 20)

static char *data;

static void stream_pair(int tcp, int sv[2])
{
    if (tcp)
        tcp_pair(sv);
    else if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        die("socketpair");
}

/* ---- something done to an fd DELAY_US later ---- */

enum act { RESET, SHUT_WRITE, SHUT_READ, SHUT_BOTH, CLOSE };

struct later {
    int fd;
    enum act act;
};

static void *act_later(void *arg)
{
    struct later *l = arg;
    struct linger lg = { 1, 0 };

    usleep(DELAY_US);
    switch (l->act) {
    case RESET:
        setsockopt(l->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        close(l->fd);
        break;
    case SHUT_WRITE:
        shutdown(l->fd, SHUT_WR);
        break;
    case SHUT_READ:
        shutdown(l->fd, SHUT_RD);
        break;
    case SHUT_BOTH:
        shutdown(l->fd, SHUT_RDWR);
        break;
    case CLOSE:
        close(l->fd);
        break;
    }
    return NULL;
}

static void reset(void)
{
    int sv[2];
    char buf[16];
    struct iovec v = { buf, sizeof(buf) };
    struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };
    struct later l;
    pthread_t t;
    ssize_t n;

    printf("== TCP peer resets\n");
    tcp_pair(sv);
    l = (struct later){ sv[0], RESET };
    t = spawn(act_later, &l);
    n = recvmsg(sv[1], &m, 0);
    printf("recvmsg blocked when the peer resets: %s\n", res(n, errno));
    join(t);
    n = sendmsg(sv[1], &m, 0);
    printf("sendmsg then: %s\n", res(n, errno));
    close(sv[1]);
}

static void half_close(int tcp)
{
    int sv[2];
    char a[4], b[16];
    struct iovec v[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
    struct later l;
    pthread_t t;
    ssize_t n;

    printf("== %s peer shuts down writing\n", tcp ? "TCP" : "Unix");
    stream_pair(tcp, sv);
    l = (struct later){ sv[0], SHUT_WRITE };
    t = spawn(act_later, &l);
    n = readv(sv[1], v, 2);
    printf("readv blocked: %s\n", res(n, errno));
    join(t);
    v[0] = (struct iovec){ "still ", 6 };
    v[1] = (struct iovec){ "open", 4 };
    errno = 0;
    n = writev(sv[1], v, 2);
    printf("writev of the reply: %s\n", res(n, errno));
    n = recv(sv[0], b, 10, MSG_WAITALL);
    printf("the peer reads: %s \"%.*s\"\n", res(n, errno), (int)(n > 0 ? n : 0), b);
    close(sv[0]);
    close(sv[1]);
}

static void own_shutdown(int tcp, enum act how)
{
    int sv[2];
    char buf[16];
    uint64_t t0;
    struct later l;
    pthread_t t;
    ssize_t n;

    stream_pair(tcp, sv);
    l = (struct later){ sv[1], how };
    t = spawn(act_later, &l);
    t0 = now_us();
    n = recv(sv[1], buf, sizeof(buf), 0);
    printf("%s: recv blocked when another thread calls shutdown(%s) on the same socket: %s, %s\n",
           tcp ? "TCP" : "Unix", how == SHUT_READ ? "SHUT_RD" : "SHUT_RDWR", res(n, errno),
           now_us() - t0 >= 25000 ? "after >= 25 ms" : "at once");
    join(t);
    close(sv[0]);
    close(sv[1]);
}

/* ---- a writer blocked while its reader sleeps ---- */

struct writer {
    int fd;
    ssize_t sent;
    volatile int done;
};

static void *bulk_send(void *arg)
{
    struct writer *w = arg;
    struct iovec v[2] = { { data, BULK / 2 }, { data + BULK / 2, BULK / 2 } };
    struct msghdr m = { .msg_iov = v, .msg_iovlen = 2 };

    w->sent = sendmsg(w->fd, &m, 0);
    w->done = 1;
    return NULL;
}

static void stop_reading(int tcp)
{
    int sv[2], bad = 0;
    struct writer w = { 0 };
    static char buf[1 << 16];
    size_t got = 0;
    int blocked;
    pthread_t t;
    ssize_t n;

    stream_pair(tcp, sv);
    w.fd = sv[0];
    t = spawn(bulk_send, &w);
    usleep(100000);
    blocked = !w.done;
    while (got < BULK && (n = recv(sv[1], buf, sizeof(buf), 0)) > 0) {
        bad |= memcmp(buf, data + got, (size_t)n) != 0;
        got += (size_t)n;
    }
    join(t);
    printf("%s: writer still blocked when the reader woke after 100 ms: %s; sent %s, received %zu, "
           "content %s\n",
           tcp ? "TCP" : "Unix", blocked ? "yes" : "no", res(w.sent, errno), got,
           bad ? "differs" : "identical");
    close(sv[0]);
    close(sv[1]);
}

static void *pipe_write(void *arg)
{
    struct writer *w = arg;

    w->sent = write(w->fd, data, 1 << 20);
    if (w->sent < 0)
        w->done = errno;
    return NULL;
}

/* A writer blocked on a full pipe when its reader closes. */
static void reader_closes(void)
{
    int p[2];
    struct writer w = { 0 };
    struct later l;
    pthread_t t, c;

    xpipe(p);
    w.fd = p[1];
    l = (struct later){ p[0], CLOSE };
    t = spawn(pipe_write, &w);
    c = spawn(act_later, &l);
    join(t);
    join(c);
    printf("pipe: write of 1 MiB blocked when the reader closes: %s\n", res(w.sent, w.done));
    errno = 0;
    w.sent = write(p[1], "x", 1);
    printf("then: %s\n", res(w.sent, errno));
    close(p[1]);
}

/* ---- SIGPIPE at its default, in a child ---- */

static int child(const char *what)
{
    int sv[2];
    ssize_t n;

    if (!strcmp(what, "pipe")) {
        reader_closes();        /* dies of SIGPIPE in the blocked write */
        return 0;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        die("socketpair");
    close(sv[1]);
    n = send(sv[0], "x", 1, MSG_NOSIGNAL);
    printf("child: send MSG_NOSIGNAL to a closed peer: %s\n", res(n, errno));
    fflush(stdout);
    n = send(sv[0], "x", 1, 0);
    printf("child: not reached: %s\n", res(n, errno));
    return 0;
}

static void run_child(const char *what)
{
    int st;
    pid_t pid;

    pid = xfork();
    if (pid == 0) {
        execl("/proc/self/exe", "diff_peers", what, (char *)NULL);
        _exit(127);
    }
    if (waitpid(pid, &st, 0) < 0)
        die("waitpid");
    if (WIFSIGNALED(st))
        printf("child (%s): killed by SIG%s (%d in a shell)\n", what, sigabbrev_np(WTERMSIG(st)),
               128 + WTERMSIG(st));
    else
        printf("child (%s): exit status %d\n", what, WEXITSTATUS(st));
}

int main(int argc, char **argv)
{
    alarm(20);
    if (!(data = malloc(BULK)))
        die("malloc");
    for (size_t i = 0; i < BULK; i++)
        data[i] = (char)(i * 131 + i / 4099);
    if (argc > 1)
        return child(argv[1]);
    signal(SIGPIPE, SIG_IGN);
    reset();
    half_close(0);
    half_close(1);
    printf("== the program shuts its own socket down\n");
    for (int tcp = 0; tcp < 2; tcp++) {
        own_shutdown(tcp, SHUT_READ);
        own_shutdown(tcp, SHUT_BOTH);
    }
    printf("== the reader stops reading for a while\n");
    stop_reading(0);
    stop_reading(1);
    printf("== the reader closes (SIGPIPE ignored)\n");
    reader_closes();
    printf("== SIGPIPE at its default, in a child process\n");
    signal(SIGPIPE, SIG_DFL);
    run_child("pipe");
    run_child("socket");
    return 0;
}
