/* diff_msg.c - the socket message calls between threads: recvfrom, recvmsg,
 * recvmmsg, sendto, sendmsg, sendmmsg (and recv, send, __recvfrom_chk) on
 * UDP over IPv4 and IPv6, Unix datagram and stream sockets, and TCP.
 *
 * Checks: a recvfrom waiting for a datagram sent 30 ms later, and the
 * sender's address; recvmsg scattering a datagram, MSG_TRUNC; recvmmsg
 * waiting for every message, with MSG_WAITFORONE, with a timeout that is
 * checked after each message only (and written back), an invalid timeout;
 * sendmmsg of datagrams and of stream messages bigger than the socket
 * buffer; a blocking sendmsg of 1 MiB with an fd attached (all of it sent,
 * the fd received once); MSG_WAITALL filling the buffer on stream sockets
 * (recv and recvmsg), cut short by end of file, and taking one datagram on
 * UDP; MSG_PEEK, and MSG_PEEK|MSG_WAITALL, which waits on TCP but not on a
 * Unix stream socket; MSG_DONTWAIT; blocking sendto on an unconnected Unix
 * datagram socket to a receiver whose queue is full (it waits until the
 * receiver reads); SO_RCVTIMEO and SO_SNDTIMEO bounding recvmsg, recvmmsg,
 * readv, sendmsg and sendto, and F_GETFL after them; the errors EBADF,
 * ENOTSOCK, ENOTCONN, EDESTADDRREQ, EMSGSIZE, EISCONN, EPIPE (SIGPIPE
 * ignored), EINVAL, EFAULT.
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
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define DELAY_US 30000

static const char *waited(uint64_t t0)
{
    return now_us() - t0 >= 25000 ? "after >= 25 ms" : "at once";
}

/* ---- sockets ---- */

static socklen_t loopback(int family, struct sockaddr_storage *a)
{
    memset(a, 0, sizeof(*a));
    if (family == AF_INET6) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)a;

        a6->sin6_family = AF_INET6;
        a6->sin6_addr = in6addr_loopback;
        return sizeof(*a6);
    }
    ((struct sockaddr_in *)a)->sin_family = AF_INET;
    ((struct sockaddr_in *)a)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sizeof(struct sockaddr_in);
}

/* A socket of `type` bound to the loopback address; its address in *a. */
static int bound(int family, int type, struct sockaddr_storage *a, socklen_t *len)
{
    int fd = socket(family, type, 0);

    *len = loopback(family, a);
    if (fd < 0 || bind(fd, (struct sockaddr *)a, *len) < 0 ||
        getsockname(fd, (struct sockaddr *)a, len) < 0)
        die("bind");
    return fd;
}

/* ---- a writer that sends pieces with pauses ---- */

struct pieces {
    int fd, gap_us;             /* before each piece */
    const char *p[4];           /* NULL-terminated; "" = shutdown(SHUT_WR) */
};

static void *send_pieces(void *arg)
{
    struct pieces *w = arg;

    for (int i = 0; w->p[i]; i++) {
        usleep(w->gap_us);
        if (!*w->p[i])
            shutdown(w->fd, SHUT_WR);
        else if (send(w->fd, w->p[i], strlen(w->p[i]), 0) < 0)
            die("send");
    }
    return NULL;
}

/* ---- UDP ---- */

struct dgrams {
    int fd, n, gap_us[4];       /* before each datagram */
    struct sockaddr_storage to;
    socklen_t len;
};

static void *send_dgrams(void *arg)
{
    struct dgrams *d = arg;
    char m[24];

    for (int i = 0; i < d->n; i++) {
        usleep(d->gap_us[i]);
        snprintf(m, sizeof(m), "dgram %d", i);
        if (sendto(d->fd, m, strlen(m), 0, (struct sockaddr *)&d->to, d->len) < 0)
            die("sendto");
    }
    return NULL;
}

static volatile size_t len_of_100 = 100;

/* Drop what is queued on a datagram socket. */
static void flush(int fd)
{
    char buf[64];

    while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
        ;
}

static void udp(int family)
{
    struct sockaddr_storage ra, sa, from;
    socklen_t rlen, slen, flen = sizeof(from);
    int r = bound(family, SOCK_DGRAM, &ra, &rlen), s = bound(family, SOCK_DGRAM, &sa, &slen);
    struct dgrams d = { s, 1, { DELAY_US }, ra, rlen };
    char buf[100], a[4], b[4];
    struct iovec v[2] = { { a, 4 }, { b, 4 } };
    struct msghdr m = {
        .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = v, .msg_iovlen = 2
    };
    uint64_t t0 = now_us();
    pthread_t t = spawn(send_dgrams, &d);
    ssize_t n;

    printf("== UDP over %s\n", family == AF_INET6 ? "IPv6" : "IPv4");
    n = recvfrom(r, buf, len_of_100, 0, (struct sockaddr *)&from, &flen);
    join(t);
    printf("recvfrom: %s \"%.*s\" %s, from the sender: %s\n", res(n, errno), (int)(n > 0 ? n : 0),
           buf, waited(t0), flen == slen && !memcmp(&from, &sa, slen) ? "yes" : "no");

    if (sendto(s, "0123456789", 10, 0, (struct sockaddr *)&ra, rlen) != 10)
        die("sendto");
    n = recvmsg(r, &m, 0);
    printf("recvmsg of 10 into 4+4: %s \"%.4s\" \"%.4s\" MSG_TRUNC %s, from the sender: %s\n",
           res(n, errno), a, b, m.msg_flags & MSG_TRUNC ? "set" : "clear",
           m.msg_namelen == slen && !memcmp(&from, &sa, slen) ? "yes" : "no");
    if (sendto(s, "0123456789", 10, 0, (struct sockaddr *)&ra, rlen) != 10)
        die("sendto");
    SHOW("recv MSG_PEEK 4", recv(r, buf, 4, MSG_PEEK));
    SHOW("recv MSG_TRUNC into 4", recv(r, buf, 4, MSG_TRUNC));
    SHOW("recv MSG_DONTWAIT, nothing queued", recv(r, buf, 4, MSG_DONTWAIT));
    SHOW("recv MSG_ERRQUEUE, nothing queued", recv(r, buf, 4, MSG_ERRQUEUE));
    SHOW("recvmsg MSG_ERRQUEUE, nothing queued", recvmsg(r, &m, MSG_ERRQUEUE));

    d.n = 1;
    t = spawn(send_dgrams, &d);
    t0 = now_us();
    SHOW("recv MSG_WAITALL of 100 (one datagram of 7 comes)", recv(r, buf, 100, MSG_WAITALL));
    join(t);
    SHOW("sendto without an address, unconnected", sendto(s, "x", 1, 0, NULL, 0));
    SHOW("sendto of 70000 bytes", sendto(s, malloc(70000), 70000, 0, (struct sockaddr *)&ra, rlen));
    close(r);
    close(s);
}

/* ---- recvmmsg, sendmmsg ---- */

static void mmsg(void)
{
    struct sockaddr_storage ra, sa;
    socklen_t rlen, slen;
    int r = bound(AF_INET, SOCK_DGRAM, &ra, &rlen), s = bound(AF_INET, SOCK_DGRAM, &sa, &slen);
    struct dgrams d = { s, 3, { 20000, 20000, 20000 }, ra, rlen };
    char bufs[4][16];
    struct iovec v[4];
    struct mmsghdr vec[4];
    struct timespec tmo;
    uint64_t t0;
    pthread_t t;
    int n;

    printf("== recvmmsg, sendmmsg\n");
    memset(vec, 0, sizeof(vec));
    for (int i = 0; i < 4; i++) {
        v[i] = (struct iovec){ bufs[i], sizeof(bufs[i]) };
        vec[i].msg_hdr.msg_iov = &v[i];
        vec[i].msg_hdr.msg_iovlen = 1;
    }
    t = spawn(send_dgrams, &d);
    t0 = now_us();
    n = recvmmsg(r, vec, 3, 0, NULL);
    printf("recvmmsg of 3, sent 20 ms apart: %s %s", res(n, errno),
           now_us() - t0 >= 55000 ? "after all three" : "early");
    for (int i = 0; i < n; i++)
        printf(" \"%.*s\"", (int)vec[i].msg_len, bufs[i]);
    printf("\n");
    join(t);

    d = (struct dgrams){ s, 3, { DELAY_US, DELAY_US, DELAY_US }, ra, rlen };
    t = spawn(send_dgrams, &d);
    n = recvmmsg(r, vec, 3, MSG_WAITFORONE, NULL);
    printf("recvmmsg MSG_WAITFORONE of 3, sent 30 ms apart: %s\n", res(n, errno));
    join(t);
    flush(r);

    /* The timeout is checked after each message: the third, 100 ms after
     * the timeout expired, still ends the call. */
    d = (struct dgrams){ s, 3, { 10000, 10000, 200000 }, ra, rlen };
    tmo = (struct timespec){ 0, 100000000 };
    t = spawn(send_dgrams, &d);
    t0 = now_us();
    n = recvmmsg(r, vec, 4, 0, &tmo);
    printf("recvmmsg of 4, timeout 100 ms, 3 sent at 10, 20, 220 ms: %s, %s, "
           "timeout left %ld.%09ld\n",
           res(n, errno), now_us() - t0 >= 200000 ? "after the third" : "early",
           (long)tmo.tv_sec, tmo.tv_nsec);
    join(t);
    flush(r);

    for (int i = 0; i < 4; i++)
        if (sendto(s, "q", 1, 0, (struct sockaddr *)&ra, rlen) != 1)
            die("sendto");
    tmo = (struct timespec){ 10, 0 };
    n = recvmmsg(r, vec, 4, 0, &tmo);
    printf("recvmmsg of 4 queued, timeout 10 s: %s, timeout left in (9, 10] s: %s\n", res(n, errno),
           tmo.tv_sec == 9 || (tmo.tv_sec == 10 && tmo.tv_nsec == 0) ? "yes" : "no");
    tmo = (struct timespec){ 0, 2000000000 };
    SHOW("recvmmsg with tv_nsec 2e9", recvmmsg(r, vec, 4, 0, &tmo));
    flush(r);
    SHOW("recvmmsg of 0", recvmmsg(r, vec, 0, 0, NULL));
    SHOW("recvmmsg on fd -1", recvmmsg(-1, vec, 4, 0, NULL));
    SHOW("recvmmsg MSG_DONTWAIT, nothing queued", recvmmsg(r, vec, 4, MSG_DONTWAIT, NULL));

    for (int i = 0; i < 3; i++) {
        v[i] = (struct iovec){ "abc", 3 };
        vec[i].msg_hdr.msg_name = &ra;
        vec[i].msg_hdr.msg_namelen = rlen;
    }
    n = sendmmsg(s, vec, 3, 0);
    printf("sendmmsg of 3 datagrams: %s, lengths %u %u %u\n", res(n, errno), vec[0].msg_len,
           vec[1].msg_len, vec[2].msg_len);
    close(r);
    close(s);
}

/* ---- stream sockets: big sendmsg with an fd, sendmmsg, WAITALL, PEEK ---- */

struct drain {
    int fd;
    size_t got, fds;
    int passed;                 /* the last fd received */
    unsigned char sum;
};

static void *drain(void *arg)
{
    struct drain *d = arg;
    static char buf[100000];
    char ctl[CMSG_SPACE(sizeof(int))];
    struct iovec v = { buf, sizeof(buf) };
    struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };
    ssize_t n;

    usleep(DELAY_US);
    do {
        m.msg_control = ctl;
        m.msg_controllen = sizeof(ctl);
        if ((n = recvmsg(d->fd, &m, 0)) < 0)
            die("recvmsg");
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
            if (c->cmsg_type == SCM_RIGHTS) {
                memcpy(&d->passed, CMSG_DATA(c), sizeof(int));
                d->fds++;
            }
        for (ssize_t i = 0; i < n; i++)
            d->sum = (unsigned char)(d->sum * 31 + buf[i]);
        d->got += (size_t)n;
    } while (n > 0);
    return NULL;
}

static unsigned char sum_of(const char *p, size_t n, unsigned char sum)
{
    while (n--)
        sum = (unsigned char)(sum * 31 + *p++);
    return sum;
}

static void stream(void)
{
    size_t big = 1 << 20;
    char *data = malloc(4 << 20), buf[64], a[10], b[20];
    int sv[2], tv[2], p[2];
    char ctl[CMSG_SPACE(sizeof(int))];
    struct iovec v[3] = { { data, big / 2 }, { data + big / 2, big / 2 } };
    struct msghdr m = {
        .msg_iov = v, .msg_iovlen = 2, .msg_control = ctl, .msg_controllen = sizeof(ctl)
    };
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    struct drain d = { 0 };
    struct mmsghdr vec[3];
    struct pieces w;
    uint64_t t0;
    pthread_t t;
    ssize_t n;

    printf("== stream sockets\n");
    if (!data || pipe(p) < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        die("setup");
    for (size_t i = 0; i < 4 << 20; i++)
        data[i] = (char)(i * 7 + i / 1000);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &p[0], sizeof(int));
    d.fd = sv[1];
    t = spawn(drain, &d);
    SHOW("sendmsg of 1 MiB and an fd, reader 30 ms late", sendmsg(sv[0], &m, 0));
    vec[0] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &v[0], .msg_iovlen = 1 } };
    vec[1] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &v[1], .msg_iovlen = 1 } };
    vec[2] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &v[2], .msg_iovlen = 1 } };
    v[0] = (struct iovec){ data, 10 };
    v[1] = (struct iovec){ data + 10, 3 << 20 };
    v[2] = (struct iovec){ data + 10 + (3 << 20), 10 };
    n = sendmmsg(sv[0], vec, 3, 0);
    printf("sendmmsg of 10 B, 3 MiB, 10 B: %s, lengths %u %u %u\n", res(n, errno), vec[0].msg_len,
           vec[1].msg_len, vec[2].msg_len);
    shutdown(sv[0], SHUT_WR);
    join(t);
    printf("reader: %zu bytes, content %s, %zu fd received\n", d.got,
           d.sum == sum_of(data, 20 + (3 << 20), sum_of(data, big, 0)) ? "identical" : "differs",
           d.fds);
    if (write(p[1], "via the fd", 10) != 10)
        die("write");
    SHOW("read from the fd received", read(d.passed, buf, sizeof(buf)));
    close(sv[0]);
    close(sv[1]);

    for (int tcp = 0; tcp < 2; tcp++) {
        printf("-- %s\n", tcp ? "TCP" : "Unix stream");
        if (tcp)
            tcp_pair(tv);
        else if (socketpair(AF_UNIX, SOCK_STREAM, 0, tv) < 0)
            die("socketpair");
        w = (struct pieces){ tv[0], DELAY_US, { "0123456789", "abcdefghij", "ABCDEFGHIJ", NULL } };
        t = spawn(send_pieces, &w);
        memset(buf, 0, sizeof(buf));
        SHOW("recv MSG_WAITALL of 30, sent in 3 pieces", recv(tv[1], buf, 30, MSG_WAITALL));
        printf("got \"%s\"\n", buf);
        join(t);
        t = spawn(send_pieces, &w);
        v[0] = (struct iovec){ a, 10 };
        v[1] = (struct iovec){ b, 20 };
        m = (struct msghdr){ .msg_iov = v, .msg_iovlen = 2 };
        n = recvmsg(tv[1], &m, MSG_WAITALL);
        printf("recvmsg MSG_WAITALL into 10+20: %s \"%.10s\" \"%.20s\"\n", res(n, errno), a, b);
        join(t);
        w = (struct pieces){ tv[0], 80000, { "01234", "56789", NULL } };
        t = spawn(send_pieces, &w);
        usleep(120000);
        t0 = now_us();
        n = recv(tv[1], buf, 10, MSG_PEEK | MSG_WAITALL);
        printf("recv MSG_PEEK|MSG_WAITALL of 10, 5 queued, 5 more 40 ms later: %s %s\n",
               res(n, errno), waited(t0));
        join(t);
        SHOW("recv MSG_WAITALL of 10 then", recv(tv[1], buf, 10, MSG_WAITALL));
        SHOW("recv MSG_OOB, none sent", recv(tv[1], buf, 10, MSG_OOB));
        w = (struct pieces){ tv[0], 80000, { "01234", "", NULL } };
        t = spawn(send_pieces, &w);
        usleep(120000);
        t0 = now_us();
        n = recv(tv[1], buf, 10, MSG_PEEK | MSG_WAITALL);
        printf("recv MSG_PEEK|MSG_WAITALL of 10, 5 queued, end of file 40 ms later: %s %s\n",
               res(n, errno), waited(t0));
        join(t);
        SHOW("recv MSG_WAITALL of 10, cut short by end of file", recv(tv[1], buf, 10, MSG_WAITALL));
        SHOW("recv at end of file", recv(tv[1], buf, 10, 0));
        if (!tcp) {
            SHOW("sendto with an address, connected",
                 sendto(tv[1], "x", 1, 0, (struct sockaddr *)&(struct sockaddr_un){ AF_UNIX, "" },
                        sizeof(sa_family_t) + 1));
            close(tv[0]);
            SHOW("send to a closed peer (SIGPIPE ignored)", send(tv[1], "x", 1, 0));
        } else {
            close(tv[0]);
        }
        close(tv[1]);
    }
    free(data);
}

/* ---- Unix datagram: a blocking sendto to a full receiver ---- */

struct udgram {
    int fd;
    struct sockaddr_un to;
    int sent;
};

static void *flood(void *arg)
{
    struct udgram *u = arg;
    char m[1000] = { 0 };

    for (int i = 0; i < 40; i++)
        if (sendto(u->fd, m, sizeof(m), 0, (struct sockaddr *)&u->to, sizeof(u->to)) == sizeof(m))
            u->sent++;
    return NULL;
}

static void unix_dgram(void)
{
    struct udgram u = { .to = { AF_UNIX, "" } };
    int r, got = 0, sent_before;
    char buf[2000];
    pthread_t t;

    printf("== Unix datagram\n");
    snprintf(u.to.sun_path + 1, sizeof(u.to.sun_path) - 1, "diff_msg.%d", (int)getpid());
    if ((r = socket(AF_UNIX, SOCK_DGRAM, 0)) < 0 || (u.fd = socket(AF_UNIX, SOCK_DGRAM, 0)) < 0 ||
        bind(r, (struct sockaddr *)&u.to, sizeof(u.to)) < 0)
        die("unix dgram");
    t = spawn(flood, &u);
    usleep(DELAY_US);
    sent_before = u.sent;
    while (got < 40 && recv(r, buf, sizeof(buf), 0) > 0)
        got++;
    join(t);
    printf("40 sendto to a receiver that reads after 30 ms: %d sent before it read "
           "(queue full), %d sent, %d received\n",
           sent_before, u.sent, got);
    SHOW("sendto of 300000 bytes",
         sendto(u.fd, malloc(300000), 300000, 0, (struct sockaddr *)&u.to, sizeof(u.to)));
    close(r);
    close(u.fd);
}

/* ---- SO_RCVTIMEO and SO_SNDTIMEO bound the waits ---- */

static const char *timed(uint64_t t0)
{
    uint64_t us = now_us() - t0;

    return us >= 100000 && us < 400000 ? "after >= 100 ms and < 400 ms" : "out of bounds";
}

static void timeouts(void)
{
    struct timeval tv = { 0, 100000 };
    static char big[1 << 20];
    char buf[8];
    struct iovec v = { buf, sizeof(buf) };
    struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };
    struct mmsghdr vec = { .msg_hdr = m };
    int sv[2];
    uint64_t t0;
    ssize_t n;

    printf("== timeouts of 100 ms\n");
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 ||
        setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
        setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
        die("setsockopt");
    t0 = now_us();
    n = recvmsg(sv[1], &m, 0);
    printf("recvmsg: %s %s\n", res(n, errno), timed(t0));
    t0 = now_us();
    n = recvmmsg(sv[1], &vec, 1, 0, NULL);
    printf("recvmmsg: %s %s\n", res(n, errno), timed(t0));
    t0 = now_us();
    n = readv(sv[1], &v, 1);
    printf("readv: %s %s\n", res(n, errno), timed(t0));
    while (send(sv[0], big, sizeof(big), MSG_DONTWAIT) > 0)
        ;
    t0 = now_us();
    n = sendmsg(sv[0], &m, 0);
    printf("sendmsg on a full socket: %s %s\n", res(n, errno), timed(t0));
    t0 = now_us();
    n = sendto(sv[0], big, sizeof(big), 0, NULL, 0);
    printf("sendto on a full socket: %s %s\n", res(n, errno), timed(t0));
    printf("F_GETFL: %s %s\n", fcntl(sv[0], F_GETFL) & O_NONBLOCK ? "O_NONBLOCK" : "blocking",
           fcntl(sv[1], F_GETFL) & O_NONBLOCK ? "O_NONBLOCK" : "blocking");
    close(sv[0]);
    close(sv[1]);
}

static void errors(void)
{
    int p[2], s = socket(AF_INET, SOCK_STREAM, 0), us = socket(AF_UNIX, SOCK_STREAM, 0);
    char buf[8];
    struct iovec v = { buf, sizeof(buf) };
    struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };

    printf("== errors\n");
    if (pipe(p) < 0 || s < 0 || us < 0)
        die("setup");
    SHOW("recvfrom on fd -1", recvfrom(-1, buf, 8, 0, NULL, NULL));
    SHOW("sendmsg on fd -1", sendmsg(-1, &m, 0));
    SHOW("recvmsg on a pipe", recvmsg(p[0], &m, 0));
    SHOW("sendto on a pipe", sendto(p[1], buf, 8, 0, NULL, 0));
    SHOW("recvmmsg on a pipe", recvmmsg(p[0], &(struct mmsghdr){ .msg_hdr = m }, 1, 0, NULL));
    SHOW("sendmmsg on a pipe", sendmmsg(p[1], &(struct mmsghdr){ .msg_hdr = m }, 1, 0));
    SHOW("recv on an unconnected TCP socket", recv(s, buf, 8, 0));
    SHOW("recvmsg on an unconnected Unix stream socket", recvmsg(us, &m, 0));
    SHOW("sendmsg on an unconnected Unix stream socket", sendmsg(us, &m, 0));
    SHOW("recvmsg with a NULL msghdr", recvmsg(us, NULL, 0));
}

int main(void)
{
    alarm(20);
    signal(SIGPIPE, SIG_IGN);
    udp(AF_INET);
    udp(AF_INET6);
    mmsg();
    stream();
    unix_dgram();
    timeouts();
    errors();
    return 0;
}
