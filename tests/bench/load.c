/*
 * load - the benchmarks' epoll load generator for TCP echo servers, which
 * also measures the server process it is given.
 *
 * Usage: load -p PORT -P SERVER_PID [-c CONNS] [-s SIZE] [-w WARMUP]
 *             [-d SECONDS] [-H SECONDS] [-t TIMEOUT]
 *
 * One OS thread, non-blocking sockets to 127.0.0.1:PORT.  Phases:
 *   1. baseline: the server's VmRSS before any connection.
 *   2. connect CONNS connections (from 64 addresses 127.0.1.x) and prime
 *      them: one SIZE-byte message and its echo on every connection, so a
 *      thread-per-connection server has started every thread and each is
 *      back waiting in recv; 1,000 connections at a time (setup_s: how
 *      long it took).  After 0.5 s idle, the server's VmRSS and OS
 *      threads: idle_bytes_per_conn = (idle RSS - baseline) / CONNS.
 *   4. ping-pong on every connection at once (send SIZE bytes, wait for
 *      the whole echo, check it, send the next) for WARMUP seconds, then a
 *      measured window of SECONDS: requests completed in it, their round
 *      trips (p50, p99), and the server's utime+stime from /proc/PID/stat
 *      over the window: cpu_ns_per_req.  Skipped when SECONDS is 0.  The
 *      echoes still in flight at the end are not waited for.
 *   5. hold (-H): "holding N connections", then keep them open SECONDS.
 * Phases 2-4 are bounded by TIMEOUT (default 60 s).  Results go to stdout
 * as key=value lines; exit 0 only with no error and every connection up.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NS 1000000000ull
#define BATCH 1000                      /* connections set up at a time */
#define SOURCES 64                      /* client addresses 127.0.1.0/26 */
#define MAX_EVENTS 1024
#define MAX_SIZE 4096
#define SUB 64                          /* histogram buckets per octave */
#define BUCKETS (40 * SUB)

enum state { CONNECTING, IDLE, BUSY, FAILED };

struct conn {
    int fd;
    enum state state;
    uint32_t sent, rcvd, seq;
    uint64_t t0;
};

static struct conn *c;
static int ep, port, server_pid;
static uint32_t nconns = 100, size = 64, pending, busy, opened;
static double warmup = 1, window = 3, hold, timeout = 60;
static uint64_t deadline, errors, requests, hist[BUCKETS];
static int measuring, pingpong;        /* counting requests / keep sending */

static uint64_t now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static unsigned bucket(uint64_t ns)
{
    unsigned e = 63 - (unsigned)__builtin_clzll(ns | 1), i;

    if (e < 6)
        return (unsigned)ns;                    /* exact below 64 ns */
    i = (e - 5) * SUB + (unsigned)((ns >> (e - 6)) & (SUB - 1));
    return i < BUCKETS ? i : BUCKETS - 1;
}

/* Lower edge of bucket i, in ns. */
static double bucket_ns(unsigned i)
{
    unsigned e = i / SUB + 5;

    return i < SUB ? i : (double)((uint64_t)(SUB + i % SUB) << (e - 6));
}

static double percentile(double p)
{
    uint64_t total = 0, seen = 0;

    for (unsigned i = 0; i < BUCKETS; i++)
        total += hist[i];
    for (unsigned i = 0; i < BUCKETS && total; i++)
        if ((seen += hist[i]) >= (uint64_t)(p * (double)total + 0.5))
            return bucket_ns(i) / 1000;
    return 0;
}

/* The server's VmRSS (kB) or Threads from /proc/PID/status; -1 if gone. */
static long server_status(const char *key)
{
    char path[64], line[256];
    long v = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", server_pid);
    if (!(f = fopen(path, "r")))
        return -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, key, strlen(key)) == 0)
            v = atol(line + strlen(key));
    fclose(f);
    return v;
}

/* The server's utime + stime in clock ticks, from /proc/PID/stat. */
static long long server_ticks(void)
{
    char path[64], buf[1024], *p;
    unsigned long long ut, st;
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%d/stat", server_pid);
    if (!(f = fopen(path, "r")))
        return -1;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* Fields after the command name: state is field 3, utime 14, stime 15. */
    if (!(p = strrchr(buf, ')')) ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
               &ut, &st) != 2)
        return -1;
    return (long long)(ut + st);
}

static void fail(struct conn *k, const char *why)
{
    static int shown;

    if (shown++ < 10)
        fprintf(stderr, "load: connection %ld: %s\n", (long)(k - c), why);
    if (k->state == CONNECTING)
        pending--;
    if (k->state == BUSY)
        busy--;
    close(k->fd);
    k->state = FAILED;
    errors++;
}

static void set_events(struct conn *k, uint32_t events)
{
    struct epoll_event ev = { .events = events, .data.ptr = k };

    epoll_ctl(ep, EPOLL_CTL_MOD, k->fd, &ev);
}

static void fill(struct conn *k, char *buf)
{
    for (uint32_t i = 0; i < size; i++)
        buf[i] = (char)(k->seq * 31 + i + (uint32_t)(k - c));
}

static void send_msg(struct conn *k)
{
    char buf[MAX_SIZE];
    ssize_t n;

    fill(k, buf);
    n = send(k->fd, buf + k->sent, size - k->sent, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR)
        return fail(k, strerror(errno));
    k->sent += n > 0 ? (uint32_t)n : 0;
    set_events(k, EPOLLIN | (k->sent < size ? EPOLLOUT : 0));
}

static void start_msg(struct conn *k)
{
    k->state = BUSY;
    busy++;
    k->sent = k->rcvd = 0;
    k->t0 = now();
    send_msg(k);
}

static void on_data(struct conn *k)
{
    char buf[MAX_SIZE], want[MAX_SIZE];
    ssize_t n = recv(k->fd, buf, size - k->rcvd, 0);

    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0 || k->state != BUSY)
        return fail(k, n == 0 ? "closed by server" : n < 0 ? strerror(errno)
                    : "data while idle");
    fill(k, want);
    if (k->rcvd + (uint32_t)n > k->sent || memcmp(buf, want + k->rcvd, (size_t)n))
        return fail(k, "echo differs from what was sent");
    if ((k->rcvd += (uint32_t)n) < size)
        return;
    if (measuring) {
        hist[bucket(now() - k->t0)]++;
        requests++;
    }
    k->seq++;
    k->state = IDLE;
    busy--;
    if (pingpong)
        start_msg(k);
}

static void on_connected(struct conn *k)
{
    int err = 0;
    socklen_t len = sizeof(err);

    getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err)
        return fail(k, strerror(err));
    pending--;
    k->state = IDLE;
    set_events(k, EPOLLIN);
}

static void open_conn(struct conn *k)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = k };
    int one = 1;

    opened++;
    k->state = CONNECTING;
    pending++;
    k->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (k->fd < 0)
        return fail(k, strerror(errno));
    setsockopt(k->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    /*
     * Spread the clients over SOURCES local addresses: with ~20,000
     * connections from one address the kernel's search for a free port
     * takes most of the time (and TIME_WAITs of earlier runs fill it).
     * IP_BIND_ADDRESS_NO_PORT leaves the port to connect().
     */
    setsockopt(k->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    a.sin_addr.s_addr = htonl(0x7f000100u + (uint32_t)(k - c) % SOURCES);
    if (bind(k->fd, (struct sockaddr *)&a, sizeof(a)) != 0)
        return fail(k, strerror(errno));
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if ((connect(k->fd, (struct sockaddr *)&a, sizeof(a)) != 0 && errno != EINPROGRESS) ||
        epoll_ctl(ep, EPOLL_CTL_ADD, k->fd, &ev) != 0)
        fail(k, strerror(errno));
}

/* One epoll_wait round of at most 10 ms. */
static void poll_once(void)
{
    struct epoll_event evs[MAX_EVENTS];
    int n = epoll_wait(ep, evs, MAX_EVENTS, 10);

    for (int i = 0; i < n; i++) {
        struct conn *k = evs[i].data.ptr;

        if (k->state == CONNECTING)
            on_connected(k);
        else if (k->state == BUSY && (evs[i].events & EPOLLOUT) && k->sent < size)
            send_msg(k);
        else if (k->state != FAILED)
            on_data(k);
    }
}

static int in_time(void)
{
    if (now() < deadline)
        return 1;
    fprintf(stderr, "load: timed out\n");
    return 0;
}

/*
 * Connects BATCH connections and primes them (one message each).  The
 * echo proves the server accepted them, so its accept queue never
 * overflows (an overflow costs a 1 s SYN retransmission).
 */
static void setup_batch(void)
{
    uint32_t first = opened;

    while (opened < nconns && opened - first < BATCH)
        open_conn(&c[opened]);
    while (pending > 0 && in_time())
        poll_once();
    for (uint32_t i = first; i < opened; i++)
        if (c[i].state == IDLE)
            start_msg(&c[i]);
    while (busy > 0 && in_time())
        poll_once();
}

/* Runs the event loop for `secs` seconds (the phase's own clock). */
static void run_for(double secs)
{
    uint64_t end = now() + (uint64_t)(secs * NS);

    while (now() < end)
        poll_once();
}

static void usage(void)
{
    fprintf(stderr, "usage: load -p PORT -P SERVER_PID [-c CONNS] [-s SIZE] [-w WARMUP]"
            " [-d SECONDS] [-H SECONDS] [-t TIMEOUT]\n");
    exit(2);
}

static void parse(int argc, char **argv)
{
    int ch;

    while ((ch = getopt(argc, argv, "p:P:c:s:w:d:H:t:")) != -1) {
        switch (ch) {
        case 'p': port = atoi(optarg); break;
        case 'P': server_pid = atoi(optarg); break;
        case 'c': nconns = (uint32_t)atol(optarg); break;
        case 's': size = (uint32_t)atol(optarg); break;
        case 'w': warmup = atof(optarg); break;
        case 'd': window = atof(optarg); break;
        case 'H': hold = atof(optarg); break;
        case 't': timeout = atof(optarg); break;
        default: usage();
        }
    }
    if (port <= 0 || server_pid <= 0 || nconns == 0 || size == 0 || size > MAX_SIZE ||
        optind != argc)
        usage();
}

int main(int argc, char **argv)
{
    struct rlimit rl;
    long base_kb, idle_kb, idle_threads, rss_kb, threads;
    long long ticks0, ticks1;
    uint64_t t0, t1, t_start, t_up;
    uint32_t up = 0;

    parse(argc, argv);
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    c = calloc(nconns, sizeof(*c));
    ep = epoll_create1(0);
    if (!c || ep < 0)
        return 1;
    deadline = now() + (uint64_t)(timeout * NS);
    base_kb = server_status("VmRSS:");
    t_start = now();

    while (opened < nconns && in_time())
        setup_batch();
    t_up = now();
    run_for(0.5);
    idle_kb = server_status("VmRSS:");
    idle_threads = server_status("Threads:");

    if (window > 0 && busy == 0 && in_time()) {
        pingpong = 1;
        for (uint32_t i = 0; i < nconns; i++)
            if (c[i].state == IDLE)
                start_msg(&c[i]);
        run_for(warmup);
        measuring = 1;
        ticks0 = server_ticks();
        t0 = now();
        run_for(window);
        ticks1 = server_ticks();
        t1 = now();
        measuring = 0;
        rss_kb = server_status("VmRSS:");
        threads = server_status("Threads:");
        printf("requests=%llu\nrps=%.0f\np50_us=%.1f\np99_us=%.1f\n",
               (unsigned long long)requests, (double)requests * NS / (double)(t1 - t0),
               percentile(0.50), percentile(0.99));
        printf("cpu_ns_per_req=%.0f\nrss_kb=%ld\nthreads=%ld\n",
               requests ? (double)(ticks1 - ticks0) * NS / (double)sysconf(_SC_CLK_TCK) /
               (double)requests : 0, rss_kb, threads);
        pingpong = 0;
    }
    /* Messages still in flight after the window are not waited for. */
    for (uint32_t i = 0; i < nconns; i++)
        up += c[i].state == IDLE || c[i].state == BUSY;
    if (hold > 0) {
        printf("holding %u connections\n", up);
        fflush(stdout);
        run_for(hold);
        up = 0;
        for (uint32_t i = 0; i < nconns; i++)
            up += c[i].state == IDLE || c[i].state == BUSY;
    }
    printf("connections=%u\nerrors=%llu\n", up, (unsigned long long)errors);
    printf("setup_s=%.2f\n", (double)(t_up - t_start) / NS);
    printf("base_rss_kb=%ld\nidle_rss_kb=%ld\nidle_threads=%ld\nidle_bytes_per_conn=%.0f\n",
           base_kb, idle_kb, idle_threads, (double)(idle_kb - base_kb) * 1024 / nconns);
    return errors == 0 && up == nconns ? 0 : 1;
}
