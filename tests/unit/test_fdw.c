/* test_fdw.c - the fd table and readiness waits (runtime/fdw.c).
 *
 * Covers: fdw_info() classifies pipes (FDW_NOWAIT), sockets (FDW_SOCKET),
 * regular files and directories (FDW_PLAIN), refuses bad fds (NULL) and
 * reports the program's O_NONBLOCK view; fdw_peek/fdw_learn/fdw_forget keep the
 * table straight; a thread waiting for a pipe to be readable is woken by a
 * writer; a wait with a deadline times out with ETIMEDOUT; fdw_forget() wakes
 * waiters with EBADF, and the fd number can then be reused and waited on;
 * write-readiness waits on a full pipe and a full socket wake when the reader
 * drains; a blocking fd never shows O_NONBLOCK (during or after a wait) and a
 * non-blocking one keeps it; 1,000 ping-pong round trips over a socketpair
 * work with the loop's one poll handle (on fdw's epoll instance) and one
 * registration per fd in that instance, whose events only ever widen;
 * fdw_forget() removes the registration; fdw_wait_many() wakes on whichever
 * fd becomes ready; a read and a write waiter on one socket are woken each by
 * its own event; a hang-up wakes both; two waiters on one fd are both woken;
 * news reported while nobody waited, or to a wait that ended otherwise (a
 * timeout, another fd of the wait forgotten), is kept for the next wait;
 * 10,000 fds ready at once (more than one batch) wake each waiter exactly
 * once; a number closed behind fdw's back whose registration outlives it
 * (EEXIST) or is gone (ENOENT) still waits; a fork child has an instance of
 * its own; threads that only yield do not starve an fd waiter; waiting on a
 * regular file, an unpollable device or a bad fd does not hang.
 *
 * Green threads record what they saw; only the main thread asserts.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rt_int.h"

#define MS 1000000ull

static void start(void)
{
    struct rt_config cfg = { 0 };

    cr_assert_eq(rt_start(&cfg), 0);
}

static bool has_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    cr_assert_geq(fl, 0);
    return fl & O_NONBLOCK;
}

static int temp_file(void)
{
    char path[] = "/tmp/greenrun-fdw-XXXXXX";
    int fd = mkstemp(path);

    cr_assert_geq(fd, 0);
    unlink(path);
    cr_assert_eq(write(fd, "data", 4), 4);
    return fd;
}

/* A closed fd number. */
static int bad_fd(void)
{
    int fd = dup(0);

    cr_assert_geq(fd, 0);
    close(fd);
    return fd;
}

/* ---- classification ---- */

Test(fdw, pipe_is_nowait_and_blocking, .init = start)
{
    int p[2];
    struct fdw_info *fi;

    cr_assert_eq(pipe(p), 0);
    fi = fdw_info(p[0]);
    cr_assert_not_null(fi);
    cr_assert_eq(fi->kind, FDW_NOWAIT);
    cr_assert_not(fi->nonblock);
    cr_assert_eq(fdw_info(p[1])->kind, FDW_NOWAIT);
}

Test(fdw, nonblocking_pipe_reports_nonblock, .init = start)
{
    int p[2];

    cr_assert_eq(pipe2(p, O_NONBLOCK), 0);
    cr_assert(fdw_info(p[0])->nonblock);
    cr_assert(fdw_info(p[1])->nonblock);
}

Test(fdw, socket_is_socket, .init = start)
{
    int s[2];

    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0);
    cr_assert_eq(fdw_info(s[0])->kind, FDW_SOCKET);
    cr_assert_not(fdw_info(s[0])->nonblock);
    cr_assert_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, s), 0);
    cr_assert_eq(fdw_info(s[1])->kind, FDW_SOCKET);
    cr_assert(fdw_info(s[1])->nonblock);
}

Test(fdw, regular_file_and_directory_are_plain, .init = start)
{
    int f = temp_file(), d = open("/tmp", O_RDONLY | O_DIRECTORY);

    cr_assert_geq(d, 0);
    cr_assert_eq(fdw_info(f)->kind, FDW_PLAIN);
    cr_assert_eq(fdw_info(d)->kind, FDW_PLAIN);
}

Test(fdw, bad_fd_has_no_info, .init = start)
{
    int fd = bad_fd();

    cr_assert_null(fdw_info(fd));
    cr_assert_null(fdw_peek(fd), "a bad fd got an entry");
    cr_assert_null(fdw_info(-1));
    cr_assert_null(fdw_peek(-1));
}

Test(fdw, peek_sees_only_known_fds, .init = start)
{
    int p[2];
    struct fdw_info *fi;

    cr_assert_eq(pipe(p), 0);
    cr_assert_null(fdw_peek(p[0]));
    fi = fdw_info(p[0]);
    cr_assert_eq(fdw_peek(p[0]), fi);
    cr_assert_eq(fdw_info(p[0]), fi, "second lookup made a new entry");
    fdw_forget(p[0]);
    cr_assert_null(fdw_peek(p[0]));
}

Test(fdw, learn_records_without_asking_kernel, .init = start)
{
    int p[2];
    struct fdw_info *fi;

    cr_assert_eq(pipe(p), 0);
    cr_assert_eq(fdw_info(p[0])->kind, FDW_NOWAIT);
    fi = fdw_learn(p[0], FDW_SOCKET, true);   /* replaces the stale entry */
    cr_assert_not_null(fi);
    cr_assert_eq(fdw_info(p[0])->kind, FDW_SOCKET);
    cr_assert(fdw_info(p[0])->nonblock);
    cr_assert_not(has_nonblock(p[0]), "fdw_learn touched the fd's flags");
}

Test(fdw, info_lives_beyond_table_growth, .init = start)
{
    int p[2], high;
    struct fdw_info *fi;

    cr_assert_eq(pipe(p), 0);
    fi = fdw_info(p[0]);
    high = fcntl(p[1], F_DUPFD, 900);       /* forces the table to grow */
    cr_assert_geq(high, 900);
    cr_assert_eq(fdw_info(high)->kind, FDW_NOWAIT);
    cr_assert_eq(fdw_peek(p[0]), fi);
    cr_assert_eq(fi->kind, FDW_NOWAIT);
}

/* ---- read waits ---- */

struct wait_rec {
    int fd, events;
    uint64_t deadline;
    int rc;
    bool done;
};

static void *waiter(void *arg)
{
    struct wait_rec *w = arg;

    w->rc = fdw_wait(w->fd, w->events, w->deadline);
    w->done = true;
    return NULL;
}

static void *write_byte(void *arg)
{
    int fd = (int)(intptr_t)arg;

    return (void *)(intptr_t)write(fd, "x", 1);
}

Test(fdw, reader_woken_by_writer_thread, .init = start)
{
    int p[2];
    gt_t *w;
    char c;
    void *res = NULL;

    cr_assert_eq(pipe(p), 0);
    cr_assert_eq(gt_spawn(&w, NULL, write_byte, (void *)(intptr_t)p[1]), 0);
    cr_assert_eq(fdw_wait(p[0], FDW_READ, rt_now() + 1000 * MS), 0);
    cr_assert_eq(gt_join(w, &res), 0);
    cr_assert_eq((intptr_t)res, 1);
    cr_assert_eq(read(p[0], &c, 1), 1);
    cr_assert_eq(c, 'x');
}

Test(fdw, reader_stays_parked_until_data, .init = start)
{
    int p[2];
    struct wait_rec r = { .events = FDW_READ };
    gt_t *g;

    cr_assert_eq(pipe(p), 0);
    r.fd = p[0];
    cr_assert_eq(gt_spawn(&g, NULL, waiter, &r), 0);
    gt_sleep(3 * MS);               /* the hub polls: nothing to read */
    cr_assert_not(r.done, "woken with an empty pipe (rc %d)", r.rc);
    cr_assert_eq(write(p[1], "y", 1), 1);
    cr_assert_eq(gt_join(g, NULL), 0);
    cr_assert_eq(r.rc, 0);
}

Test(fdw, wait_times_out_with_etimedout, .init = start)
{
    int p[2];
    uint64_t t0 = rt_now();

    cr_assert_eq(pipe(p), 0);
    cr_assert_eq(fdw_wait(p[0], FDW_READ, t0 + 3 * MS), ETIMEDOUT);
    cr_assert_geq(rt_now() - t0, 3 * MS);
    cr_assert_lt(rt_now() - t0, 50 * MS);
    cr_assert_eq(rt_sched->heap_len, 0);
}

Test(fdw, forget_wakes_waiter_with_ebadf, .init = start)
{
    int p[2];
    struct wait_rec r = { .events = FDW_READ };
    gt_t *g;

    cr_assert_eq(pipe(p), 0);
    r.fd = p[0];
    cr_assert_eq(gt_spawn(&g, NULL, waiter, &r), 0);
    gt_yield();                     /* it parks on the fd */
    cr_assert_not(r.done);
    fdw_forget(p[0]);
    close(p[0]);
    cr_assert_eq(gt_join(g, NULL), 0);
    cr_assert_eq(r.rc, EBADF);
    cr_assert_null(fdw_peek(p[0]));
}

Test(fdw, forgotten_fd_number_can_be_reused, .init = start)
{
    int p[2], q[2];
    gt_t *w;

    cr_assert_eq(pipe(p), 0);
    cr_assert_eq(gt_spawn(&w, NULL, write_byte, (void *)(intptr_t)p[1]), 0);
    cr_assert_eq(fdw_wait(p[0], FDW_READ, rt_now() + 1000 * MS), 0);
    cr_assert_eq(gt_join(w, NULL), 0);
    fdw_forget(p[0]);
    fdw_forget(p[1]);
    close(p[0]);
    close(p[1]);
    cr_assert_eq(pipe(q), 0);
    cr_assert_eq(q[0], p[0], "fd number not reused; test premise broken");
    cr_assert_eq(gt_spawn(&w, NULL, write_byte, (void *)(intptr_t)q[1]), 0);
    cr_assert_eq(fdw_wait(q[0], FDW_READ, rt_now() + 1000 * MS), 0);
    cr_assert_eq(gt_join(w, NULL), 0);
    cr_assert_eq(fdw_info(q[0])->kind, FDW_NOWAIT);
}

Test(fdw, two_waiters_on_one_fd_both_woken, .init = start)
{
    int p[2];
    struct wait_rec a = { .events = FDW_READ }, b = { .events = FDW_READ };
    gt_t *ga, *gb;

    cr_assert_eq(pipe(p), 0);
    a.fd = b.fd = p[0];
    a.deadline = b.deadline = rt_now() + 1000 * MS;
    cr_assert_eq(gt_spawn(&ga, NULL, waiter, &a), 0);
    cr_assert_eq(gt_spawn(&gb, NULL, waiter, &b), 0);
    gt_yield();
    cr_assert_eq(write(p[1], "z", 1), 1);
    cr_assert_eq(gt_join(ga, NULL), 0);
    cr_assert_eq(gt_join(gb, NULL), 0);
    cr_assert_eq(a.rc, 0);
    cr_assert_eq(b.rc, 0);
}

/* ---- write waits and O_NONBLOCK ---- */

/* Fill a pipe through a second, non-blocking open file description, so the
 * original stays blocking. Returns the bytes written. */
static size_t fill_pipe(int wfd)
{
    char path[64], buf[4096];
    size_t total = 0;
    ssize_t n;
    int nb;

    snprintf(path, sizeof(path), "/proc/self/fd/%d", wfd);
    nb = open(path, O_WRONLY | O_NONBLOCK);
    cr_assert_geq(nb, 0);
    memset(buf, 'f', sizeof(buf));
    for (int i = 0; i < 1000 && (n = write(nb, buf, sizeof(buf))) > 0; i++)
        total += (size_t)n;
    cr_assert_eq(errno, EAGAIN);
    close(nb);
    return total;
}

static void drain(int fd, size_t total)
{
    char buf[4096];
    ssize_t n;

    while (total) {
        n = read(fd, buf, total < sizeof(buf) ? total : sizeof(buf));
        cr_assert_gt(n, 0);
        total -= (size_t)n;
    }
}

/* Fill a socket's send buffer (made small); returns the bytes sent. */
static size_t fill_socket(int fd)
{
    int sz = 4096;
    size_t filled = 0;
    char buf[1024] = { 0 };
    ssize_t n;

    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    for (int i = 0; i < 100000 && (n = send(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0; i++)
        filled += (size_t)n;
    cr_assert_eq(errno, EAGAIN);
    return filled;
}

Test(fdw, writer_on_full_pipe_woken_when_drained, .init = start)
{
    int p[2];
    struct wait_rec w = { .events = FDW_WRITE };
    size_t filled;
    gt_t *g;

    cr_assert_eq(pipe(p), 0);
    cr_assert_eq(fcntl(p[1], F_SETPIPE_SZ, 4096), 4096);
    filled = fill_pipe(p[1]);
    cr_assert_not(has_nonblock(p[1]));
    w.fd = p[1];
    w.deadline = rt_now() + 1000 * MS;
    cr_assert_eq(gt_spawn(&g, NULL, waiter, &w), 0);
    gt_sleep(3 * MS);
    cr_assert_not(w.done, "writer woken while the pipe was full (rc %d)", w.rc);
    drain(p[0], filled);
    cr_assert_eq(gt_join(g, NULL), 0);
    cr_assert_eq(w.rc, 0);
    cr_assert_not(has_nonblock(p[1]), "wait left O_NONBLOCK on the pipe");
}

Test(fdw, writer_on_full_socket_woken_when_drained, .init = start)
{
    int s[2];
    struct wait_rec w = { .events = FDW_WRITE };
    size_t filled;
    gt_t *g;

    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0);
    filled = fill_socket(s[0]);
    w.fd = s[0];
    w.deadline = rt_now() + 1000 * MS;
    cr_assert_eq(gt_spawn(&g, NULL, waiter, &w), 0);
    gt_sleep(3 * MS);
    cr_assert_not(w.done, "writer woken while the socket was full (rc %d)", w.rc);
    drain(s[1], filled);
    cr_assert_eq(gt_join(g, NULL), 0);
    cr_assert_eq(w.rc, 0);
    cr_assert_not(has_nonblock(s[0]));
}

static int flags_seen = -1;
static int watched_pipe[2];

/* Runs while the main thread waits on the read end. */
static void *peek_flags_then_write(void *arg)
{
    (void)arg;
    flags_seen = fcntl(watched_pipe[0], F_GETFL);
    return (void *)(intptr_t)write(watched_pipe[1], "w", 1);
}

Test(fdw, blocking_pipe_never_shows_nonblock, .init = start)
{
    int *p = watched_pipe;
    gt_t *g;

    cr_assert_eq(pipe(p), 0);
    cr_assert_eq(gt_spawn(&g, NULL, peek_flags_then_write, NULL), 0);
    cr_assert_eq(fdw_wait(p[0], FDW_READ, rt_now() + 1000 * MS), 0);
    cr_assert_eq(gt_join(g, NULL), 0);
    cr_assert_geq(flags_seen, 0);
    cr_assert_eq(flags_seen & O_NONBLOCK, 0, "O_NONBLOCK set while a thread waited");
    cr_assert_not(has_nonblock(p[0]), "O_NONBLOCK left set after the wait");
    cr_assert_not(fdw_info(p[0])->nonblock);
}

Test(fdw, nonblocking_pipe_keeps_nonblock_after_wait, .init = start)
{
    int p[2];
    gt_t *w;

    cr_assert_eq(pipe2(p, O_NONBLOCK), 0);
    cr_assert_eq(gt_spawn(&w, NULL, write_byte, (void *)(intptr_t)p[1]), 0);
    cr_assert_eq(fdw_wait(p[0], FDW_READ, rt_now() + 1000 * MS), 0);
    cr_assert_eq(gt_join(w, NULL), 0);
    cr_assert(has_nonblock(p[0]), "the program's O_NONBLOCK was cleared");
    cr_assert(fdw_info(p[0])->nonblock);
}

/* ---- fdw's epoll instance, seen through /proc ---- */

static void find_poll(uv_handle_t *h, void *arg)
{
    uv_os_fd_t *fd = arg;

    if (h->type == UV_POLL && !uv_is_closing(h))
        uv_fileno(h, fd);
}

/* The instance's fd: the one fd the loop polls. */
static int instance_fd(void)
{
    uv_os_fd_t fd = -1;

    uv_walk(&rt_sched->loop, find_poll, &fd);
    cr_assert_geq(fd, 0);
    return fd;
}

/* How many registrations the instance holds; *events: those of fd's (0 if
 * none), without the EPOLLERR and EPOLLHUP the kernel adds to each. */
static int registrations(int fd, uint32_t *events)
{
    char path[64], line[256];
    int tfd, n = 0;
    unsigned ev;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", instance_fd());
    f = fopen(path, "r");
    cr_assert_not_null(f);
    *events = 0;
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "tfd: %d events: %x", &tfd, &ev) != 2)
            continue;
        n++;
        if (tfd == fd)
            *events = ev & ~(uint32_t)(EPOLLERR | EPOLLHUP);
    }
    fclose(f);
    return n;
}

static uint32_t registered(int fd)
{
    uint32_t events;

    registrations(fd, &events);
    return events;
}

static int registration_count(void)
{
    uint32_t events;

    return registrations(-1, &events);
}

/* ---- ping-pong: the registration stays across waits ---- */

enum { ROUNDS = 1000 };
static int pp_errors;

static int io_wait(int fd, int events)
{
    int rc = fdw_wait(fd, events, rt_now() + 1000 * MS);

    if (rc)
        pp_errors++;
    return rc;
}

static int send_int(int fd, int v)
{
    while (send(fd, &v, sizeof(v), MSG_DONTWAIT) != sizeof(v))
        if (errno != EAGAIN || io_wait(fd, FDW_WRITE))
            return -1;
    return 0;
}

static int recv_int(int fd, int *v)
{
    while (recv(fd, v, sizeof(*v), MSG_DONTWAIT) != sizeof(*v))
        if (errno != EAGAIN || io_wait(fd, FDW_READ))
            return -1;
    return 0;
}

static int ping_ok, pong_ok;

static void *ping(void *arg)
{
    int fd = (int)(intptr_t)arg, v;

    for (int i = 0; i < ROUNDS; i++) {
        if (send_int(fd, i) || recv_int(fd, &v))
            return NULL;
        if (v == i + 1)
            ping_ok++;
    }
    return NULL;
}

static void *pong(void *arg)
{
    int fd = (int)(intptr_t)arg, v;

    for (int i = 0; i < ROUNDS; i++) {
        if (recv_int(fd, &v) || send_int(fd, v + 1))
            return NULL;
        if (v == i)
            pong_ok++;
    }
    return NULL;
}

static void count_polls(uv_handle_t *h, void *arg)
{
    int *n = arg;

    if (h->type == UV_POLL && !uv_is_closing(h))
        (*n)++;
}

Test(fdw, thousand_ping_pong_round_trips, .init = start)
{
    int s[2], polls = 0;
    gt_t *a, *b;
    uint64_t t0 = rt_now();

    cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, s), 0);
    cr_assert_eq(gt_spawn(&a, NULL, ping, (void *)(intptr_t)s[0]), 0);
    cr_assert_eq(gt_spawn(&b, NULL, pong, (void *)(intptr_t)s[1]), 0);
    cr_assert_eq(gt_join(a, NULL), 0);
    cr_assert_eq(gt_join(b, NULL), 0);
    cr_assert_eq(pp_errors, 0);
    cr_assert_eq(ping_ok, ROUNDS);
    cr_assert_eq(pong_ok, ROUNDS);
    cr_assert_lt(rt_now() - t0, 2000 * MS);
    uv_walk(&rt_sched->loop, count_polls, &polls);
    cr_assert_eq(polls, 1, "%d poll handles for fdw's one instance", polls);
    cr_assert_eq(registration_count(), 2);
    cr_assert_neq(registered(s[0]) & EPOLLIN, 0);
    cr_assert_neq(registered(s[0]) & EPOLLET, 0);
    cr_assert_not(has_nonblock(s[0]));
    cr_assert_not(has_nonblock(s[1]));
}

/* ---- several fds, several events ---- */

static void *write_second_later(void *arg)
{
    int fd = (int)(intptr_t)arg;

    gt_sleep(2 * MS);
    return (void *)(intptr_t)write(fd, "2", 1);
}

Test(fdw, wait_many_wakes_on_either_fd, .init = start)
{
    int p[2], q[2];
    struct fdw_req reqs[2];
    gt_t *w;
    uint64_t t0 = rt_now();
    char c;

    cr_assert_eq(pipe(p), 0);
    cr_assert_eq(pipe(q), 0);
    reqs[0] = (struct fdw_req){ p[0], FDW_READ };
    reqs[1] = (struct fdw_req){ q[0], FDW_READ };
    cr_assert_eq(gt_spawn(&w, NULL, write_second_later, (void *)(intptr_t)q[1]), 0);
    cr_assert_eq(fdw_wait_many(reqs, 2, t0 + 1000 * MS), 0);
    cr_assert_geq(rt_now() - t0, 2 * MS);
    cr_assert_lt(rt_now() - t0, 500 * MS);
    cr_assert_eq(read(q[0], &c, 1), 1);
    cr_assert_eq(gt_join(w, NULL), 0);
    /* Now the first one. */
    cr_assert_eq(gt_spawn(&w, NULL, write_second_later, (void *)(intptr_t)p[1]), 0);
    cr_assert_eq(fdw_wait_many(reqs, 2, rt_now() + 1000 * MS), 0);
    cr_assert_eq(read(p[0], &c, 1), 1);
    cr_assert_eq(gt_join(w, NULL), 0);
}

Test(fdw, wait_many_times_out, .init = start)
{
    int p[2], q[2];
    struct fdw_req reqs[2];
    uint64_t t0 = rt_now();

    cr_assert_eq(pipe(p), 0);
    cr_assert_eq(pipe(q), 0);
    reqs[0] = (struct fdw_req){ p[0], FDW_READ };
    reqs[1] = (struct fdw_req){ q[0], FDW_READ };
    cr_assert_eq(fdw_wait_many(reqs, 2, t0 + 2 * MS), ETIMEDOUT);
    cr_assert_geq(rt_now() - t0, 2 * MS);
}

Test(fdw, wait_many_beyond_eight_fds, .init = start)
{
    enum { N = 12 };
    int p[N][2];
    struct fdw_req reqs[N];
    gt_t *w;
    char c;

    for (int i = 0; i < N; i++) {
        cr_assert_eq(pipe(p[i]), 0);
        reqs[i] = (struct fdw_req){ p[i][0], FDW_READ };
    }

    cr_assert_eq(gt_spawn(&w, NULL, write_second_later, (void *)(intptr_t)p[N - 1][1]), 0);
    cr_assert_eq(fdw_wait_many(reqs, N, rt_now() + 1000 * MS), 0);
    cr_assert_eq(gt_join(w, NULL), 0);
    cr_assert_eq(read(p[N - 1][0], &c, 1), 1);
    cr_assert_eq(gt_spawn(&w, NULL, write_second_later, (void *)(intptr_t)p[0][1]), 0);
    cr_assert_eq(fdw_wait_many(reqs, N, rt_now() + 1000 * MS), 0, "first fd not seen");
    cr_assert_eq(gt_join(w, NULL), 0);
}

Test(fdw, read_and_write_waiters_woken_by_own_event, .init = start)
{
    int s[2];
    struct wait_rec r = { .events = FDW_READ }, w = { .events = FDW_WRITE };
    size_t filled;
    gt_t *gr, *gw;

    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0);
    filled = fill_socket(s[0]);
    r.fd = w.fd = s[0];
    r.deadline = w.deadline = rt_now() + 1000 * MS;
    cr_assert_eq(gt_spawn(&gr, NULL, waiter, &r), 0);
    cr_assert_eq(gt_spawn(&gw, NULL, waiter, &w), 0);
    gt_sleep(2 * MS);
    cr_assert_not(r.done);
    cr_assert_not(w.done);
    drain(s[1], filled);            /* s[0] becomes writable, not readable */
    cr_assert_eq(gt_join(gw, NULL), 0);
    cr_assert_eq(w.rc, 0);
    gt_sleep(2 * MS);
    cr_assert_not(r.done, "read waiter woken by writability (rc %d)", r.rc);
    cr_assert_eq(send(s[1], "r", 1, 0), 1);
    cr_assert_eq(gt_join(gr, NULL), 0);
    cr_assert_eq(r.rc, 0);
}

Test(fdw, hangup_wakes_read_and_write_waiters, .init = start)
{
    int s[2];
    struct wait_rec r = { .events = FDW_READ }, w = { .events = FDW_WRITE };
    gt_t *gr, *gw;

    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0);
    fill_socket(s[0]);
    r.fd = w.fd = s[0];
    r.deadline = w.deadline = rt_now() + 1000 * MS;
    cr_assert_eq(gt_spawn(&gr, NULL, waiter, &r), 0);
    cr_assert_eq(gt_spawn(&gw, NULL, waiter, &w), 0);
    gt_sleep(2 * MS);
    cr_assert_not(r.done);
    cr_assert_not(w.done);
    close(s[1]);
    cr_assert_eq(gt_join(gr, NULL), 0);
    cr_assert_eq(gt_join(gw, NULL), 0);
    cr_assert_eq(r.rc, 0);
    cr_assert_eq(w.rc, 0);
}

/* ---- the registration: added once, widened, removed by fdw_forget ---- */

Test(fdw, registration_widens_and_goes_with_forget, .init = start)
{
    int s[2];

    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0);
    cr_assert_eq(registered(s[0]), 0, "registered before any wait");
    cr_assert_eq(fdw_wait(s[0], FDW_READ, rt_now() + MS), ETIMEDOUT);
    cr_assert_eq(registered(s[0]), EPOLLIN | EPOLLET);
    cr_assert_eq(fdw_wait(s[0], FDW_WRITE, rt_now() + 1000 * MS), 0);
    cr_assert_eq(registered(s[0]), EPOLLIN | EPOLLOUT | EPOLLET);
    cr_assert_eq(fdw_wait(s[0], FDW_READ, rt_now() + MS), ETIMEDOUT);
    cr_assert_eq(registered(s[0]), EPOLLIN | EPOLLOUT | EPOLLET, "narrowed");
    fdw_forget(s[0]);
    cr_assert_eq(registered(s[0]), 0);
    cr_assert_eq(registration_count(), 0);
}

/* ---- edge-triggered: news is never lost ---- */

Test(fdw, news_while_nobody_waits_is_kept, .init = start)
{
    int p[2];
    uint64_t t0;

    cr_assert_eq(pipe(p), 0);
    cr_assert_eq(fdw_wait(p[0], FDW_READ, rt_now() + MS), ETIMEDOUT);
    cr_assert_eq(write(p[1], "k", 1), 1);
    gt_sleep(2 * MS);               /* the loop reports it: nobody waits */
    t0 = rt_now();
    cr_assert_eq(fdw_wait(p[0], FDW_READ, t0 + 1000 * MS), 0, "the report was lost");
    cr_assert_lt(rt_now() - t0, 500 * MS);
    /* Taken: the next wait waits for news. */
    cr_assert_eq(fdw_wait(p[0], FDW_READ, rt_now() + MS), ETIMEDOUT);
}

static int kept_p[2], kept_q[2], kept_r[2];
static int kept_first = -1, kept_second = -1;

/* Waits on p and q; woken for p, it finds q forgotten first (EBADF, as
 * poll.c then waits again on what is left without trying it). */
static void *wait_p_and_q(void *arg)
{
    struct fdw_req reqs[2] = { { kept_p[0], FDW_READ }, { kept_q[0], FDW_READ } };

    (void)arg;
    kept_first = fdw_wait_many(reqs, 2, rt_now() + 1000 * MS);
    kept_second = fdw_wait(kept_p[0], FDW_READ, rt_now() + 1000 * MS);
    return NULL;
}

/* Woken in the same loop run as wait_p_and_q, and run before it. */
static void *forget_q(void *arg)
{
    (void)arg;
    fdw_wait(kept_r[0], FDW_READ, rt_now() + 1000 * MS);
    fdw_forget(kept_q[0]);
    return NULL;
}

Test(fdw, news_to_a_wait_ended_otherwise_is_kept, .init = start)
{
    gt_t *a, *b;
    uint64_t t0;

    cr_assert_eq(pipe(kept_p), 0);
    cr_assert_eq(pipe(kept_q), 0);
    cr_assert_eq(pipe(kept_r), 0);
    cr_assert_eq(gt_spawn(&b, NULL, forget_q, NULL), 0);
    cr_assert_eq(gt_spawn(&a, NULL, wait_p_and_q, NULL), 0);
    gt_yield();                     /* both park */
    /* epoll reports in the order the events came: r, then p. */
    cr_assert_eq(write(kept_r[1], "r", 1), 1);
    cr_assert_eq(write(kept_p[1], "p", 1), 1);
    t0 = rt_now();
    cr_assert_eq(gt_join(a, NULL), 0);
    cr_assert_eq(gt_join(b, NULL), 0);
    cr_assert_eq(kept_first, EBADF);
    cr_assert_eq(kept_second, 0, "p's report was lost (%d)", kept_second);
    cr_assert_lt(rt_now() - t0, 500 * MS);
}

/* ---- many fds ready at once: more than one batch ---- */

static int many_waits, many_errors;

static void *read_one(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char c;

    while (read(fd, &c, 1) != 1) {
        if (errno != EAGAIN || fdw_wait(fd, FDW_READ, rt_now() + 10000 * MS)) {
            many_errors++;
            return NULL;
        }
        many_waits++;
    }
    return NULL;
}

Test(fdw, ten_thousand_ready_at_once_each_woken_once, .init = start, .timeout = 30)
{
    struct gt_attr attr = { .stack_size = 32768 };
    struct rlimit rl;
    int n = 10000, (*p)[2];
    gt_t **g;

    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    rl.rlim_cur = rl.rlim_max;
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur < (rlim_t)2 * n + 100)
        n = (int)(rl.rlim_cur - 100) / 2;
    cr_assert_gt(n, 2048, "open-file limit %lu too low for two batches",
                 (unsigned long)rl.rlim_cur);
    p = calloc((size_t)n, sizeof(*p));
    g = calloc((size_t)n, sizeof(*g));
    cr_assert(p && g);
    for (int i = 0; i < n; i++) {
        cr_assert_eq(pipe2(p[i], O_NONBLOCK), 0);
        cr_assert_eq(gt_spawn(&g[i], &attr, read_one, (void *)(intptr_t)p[i][0]), 0);
    }
    gt_yield();                     /* all of them park */
    cr_assert_eq(many_waits, 0);
    for (int i = 0; i < n; i++)
        cr_assert_eq(write(p[i][1], "m", 1), 1);
    for (int i = 0; i < n; i++)
        cr_assert_eq(gt_join(g[i], NULL), 0);
    cr_assert_eq(many_errors, 0);
    cr_assert_eq(many_waits, n, "%d waits for %d fds", many_waits, n);
    for (int i = 0; i < n; i++) {
        close(p[i][0]);
        close(p[i][1]);
    }
    free(p);
    free(g);
}

/* ---- numbers closed behind fdw's back ---- */

Test(fdw, stale_registration_of_same_file_still_waits, .init = start)
{
    int p[2], d;
    gt_t *w;

    cr_assert_eq(pipe(p), 0);
    cr_assert_eq(fdw_wait(p[0], FDW_READ, rt_now() + MS), ETIMEDOUT);
    d = dup(p[0]);
    close(p[0]);                    /* the file lives on in d: so does the registration */
    fdw_forget(p[0]);
    cr_assert_eq(dup2(d, p[0]), p[0]);
    cr_assert_eq(gt_spawn(&w, NULL, write_byte, (void *)(intptr_t)p[1]), 0);
    cr_assert_eq(fdw_wait(p[0], FDW_READ, rt_now() + 1000 * MS), 0);    /* ADD: EEXIST */
    cr_assert_eq(gt_join(w, NULL), 0);
}

Test(fdw, number_reused_behind_our_back_still_waits, .init = start)
{
    int p[2], s[2];

    cr_assert_eq(pipe(p), 0);
    cr_assert_eq(fdw_wait(p[0], FDW_READ, rt_now() + MS), ETIMEDOUT);
    close(p[0]);                    /* the registration goes with the file */
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0);
    cr_assert_eq(s[0], p[0], "fd number not reused; test premise broken");
    cr_assert_eq(fdw_wait(s[0], FDW_WRITE, rt_now() + 1000 * MS), 0);  /* MOD: ENOENT */
    cr_assert_eq(registered(s[0]), EPOLLIN | EPOLLOUT | EPOLLET);
}

/* ---- fork ---- */

static int fork_child_err = -1;

static void fork_child(void)
{
    fork_child_err = rt_fork_child();
}

/* The child's instance: new (empty), at the same number, and working. */
static int child_checks(int parent_instance)
{
    int q[2];

    if (fork_child_err != 0 || instance_fd() != parent_instance || registration_count() != 0)
        return 1;
    if (pipe(q) != 0 || write(q[1], "c", 1) != 1)
        return 2;
    if (fdw_wait(q[0], FDW_READ, rt_now() + 1000 * MS) != 0 || !registered(q[0]))
        return 3;
    return 0;
}

Test(fdw, fork_child_has_its_own_instance)
{
    int p[2], status, instance;
    pid_t pid;

    pthread_atfork(NULL, NULL, fork_child);     /* before rt_start, as rt.h asks */
    start();
    cr_assert_eq(pipe(p), 0);
    cr_assert_eq(fdw_wait(p[0], FDW_READ, rt_now() + MS), ETIMEDOUT);
    instance = instance_fd();
    cr_assert_eq(registration_count(), 1);
    pid = fork();
    if (pid == 0)
        _exit(child_checks(instance));
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status));
    cr_assert_eq(WEXITSTATUS(status), 0, "child check %d failed", WEXITSTATUS(status));
    cr_assert_eq(registration_count(), 1, "the child changed the parent's instance");
    cr_assert_neq(registered(p[0]), 0);
}

/* ---- threads that only yield do not starve I/O ---- */

static bool io_done;
static int io_spins;

static void *yield_until_io_done(void *arg)
{
    (void)arg;
    while (!io_done && io_spins < 10000000) {
        io_spins++;
        gt_yield();
    }
    return NULL;
}

static void *wait_then_flag(void *arg)
{
    struct wait_rec *w = arg;

    w->rc = fdw_wait(w->fd, w->events, w->deadline);
    io_done = true;
    return NULL;
}

Test(fdw, busy_yielders_do_not_starve_fd_waiter, .init = start)
{
    int p[2];
    struct wait_rec r = { .events = FDW_READ };
    gt_t *w, *y;
    uint64_t t0;

    cr_assert_eq(pipe(p), 0);
    r.fd = p[0];
    r.deadline = rt_now() + 1000 * MS;
    cr_assert_eq(gt_spawn(&w, NULL, wait_then_flag, &r), 0);
    gt_yield();                     /* it parks on the empty pipe */
    cr_assert_eq(gt_spawn(&y, NULL, yield_until_io_done, NULL), 0);
    cr_assert_eq(write(p[1], "s", 1), 1);
    t0 = rt_now();
    cr_assert_eq(gt_join(y, NULL), 0);
    cr_assert(io_done, "fd waiter never woke while a thread yielded (%d yields)", io_spins);
    cr_assert_lt(rt_now() - t0, 50 * MS);
    cr_assert_eq(gt_join(w, NULL), 0);
    cr_assert_eq(r.rc, 0);
}

/* ---- fds that cannot be watched ---- */

Test(fdw, plain_file_wait_returns_at_once, .init = start)
{
    int f = temp_file();
    uint64_t t0 = rt_now();
    int rc = fdw_wait(f, FDW_READ, t0 + 200 * MS);

    cr_assert_eq(rc, 0, "wait on a regular file gave %d after %llu ns", rc,
                 (unsigned long long)(rt_now() - t0));
    cr_assert_lt(rt_now() - t0, 50 * MS);
}

Test(fdw, plain_file_wait_without_deadline_does_not_hang, .init = start, .timeout = 5)
{
    int f = temp_file();

    cr_assert_eq(fdw_wait(f, FDW_READ | FDW_WRITE, 0), 0);
}

Test(fdw, wait_many_with_plain_file_returns_at_once, .init = start)
{
    int p[2], f = temp_file();
    struct fdw_req reqs[2];
    uint64_t t0 = rt_now();
    int rc;

    cr_assert_eq(pipe(p), 0);
    reqs[0] = (struct fdw_req){ p[0], FDW_READ };   /* never ready */
    reqs[1] = (struct fdw_req){ f, FDW_READ };      /* always ready, as poll() says */
    rc = fdw_wait_many(reqs, 2, t0 + 200 * MS);
    cr_assert_eq(rc, 0, "gave %d after %llu ns", rc, (unsigned long long)(rt_now() - t0));
    cr_assert_lt(rt_now() - t0, 50 * MS);
}

Test(fdw, unpollable_device_wait_returns_at_once, .init = start)
{
    int fd = open("/dev/null", O_RDWR);
    uint64_t t0 = rt_now();
    int rc;

    cr_assert_geq(fd, 0);
    rc = fdw_wait(fd, FDW_WRITE, t0 + 200 * MS);
    cr_assert_eq(rc, 0, "wait on /dev/null gave %d after %llu ns", rc,
                 (unsigned long long)(rt_now() - t0));
    cr_assert_lt(rt_now() - t0, 50 * MS);
    cr_assert_eq(fdw_info(fd)->kind, FDW_PLAIN);
}

Test(fdw, bad_fd_wait_returns_at_once, .init = start)
{
    int fd = bad_fd();
    uint64_t t0 = rt_now();
    int rc = fdw_wait(fd, FDW_READ, t0 + 200 * MS);

    /* rt.h: a bad fd is "no waiting": 0 (retry the call) or EBADF will do. */
    cr_assert(rc == 0 || rc == EBADF, "wait on a bad fd gave %d after %llu ns", rc,
                 (unsigned long long)(rt_now() - t0));
    cr_assert_lt(rt_now() - t0, 50 * MS);
}
