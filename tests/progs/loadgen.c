/*
 * loadgen - a single-threaded epoll load generator for TCP echo servers.
 *
 * Usage: loadgen -p PORT [-c CONNECTIONS] [-n MESSAGES] [-s SIZE]
 *                [-d SECONDS] [-H SECONDS] [-t SECONDS] [-h]
 *
 * It runs natively (one OS thread, non-blocking sockets) so that it can
 * drive thousands of concurrent connections against the server under test
 * without itself being the bottleneck or the thing being tested.
 *
 * Phases:
 *   1. connect: open every connection to 127.0.0.1:PORT with a
 *      non-blocking connect and wait (at most 30 s) until all are
 *      established or have failed.
 *   2. messages: every connection plays ping-pong concurrently: send one
 *      SIZE-byte message, wait for the full echo, check every byte, record
 *      the round-trip latency, send the next.  Either MESSAGES per
 *      connection, or (-d) as many as fit in SECONDS.
 *   3. hold (-H): keep all connections open for SECONDS, after printing
 *      "holding N connections", so a test can inspect the server while it
 *      has every client connected.  A server closing a connection during
 *      the hold counts as an error.
 *
 * Phases 1 and 2 are bounded by the overall timeout (-t, default 120 s);
 * anything unfinished by then counts as a timeout error.
 *
 * Results go to stdout as key=value lines (names are stable, scripts parse
 * them).  Exit status is 0 only if there were no errors and every
 * connection completed its messages.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_SEC 1000000000ULL
#define CONNECT_PHASE_LIMIT_NS (30 * NS_PER_SEC)
#define MAX_PENDING_CONNECTS 1024   /* limits SYN bursts at the listener */
#define MAX_EVENTS 1024
#define IO_CHUNK (64 * 1024)
#define MAX_CONNECTIONS 1000000
#define MAX_SIZE (16 * 1024 * 1024)
#define MAX_DIAGNOSTICS 20        /* stderr lines; the counters say the rest */

/* Log-linear latency histogram: 2^SUB_BITS buckets per power of two. */
#define SUB_BITS 7
#define SUB_COUNT (1 << SUB_BITS)
#define HIST_BUCKETS ((64 - SUB_BITS + 1) * SUB_COUNT)

enum conn_state {
    C_UNOPENED,
    C_CONNECTING,
    C_READY,        /* established, no message in flight yet */
    C_BUSY,         /* a message is being sent or echoed */
    C_DONE,         /* all messages completed; kept open for the hold */
    C_FAILED,       /* closed after an error */
};

enum fail_kind { F_CONNECT, F_IO, F_MISMATCH, F_TIMEOUT };

struct conn {
    int fd;
    uint8_t state;
    uint32_t events;    /* current epoll interest set */
    uint32_t seq;       /* sequence number of the current message */
    uint32_t sent;      /* bytes of the current message sent so far */
    uint32_t rcvd;      /* bytes of its echo received and verified */
    uint64_t t_start;   /* when the current message was started */
};

struct options {
    int port;
    uint32_t conns;
    uint64_t msgs;
    uint32_t size;
    double duration;    /* 0 = fixed message count */
    double hold;
    double timeout;
};

struct stats {
    uint32_t established;
    uint32_t done;
    uint64_t connect_errors;
    uint64_t io_errors;
    uint64_t mismatches;
    uint64_t timeouts;
    uint64_t requests;
    uint64_t bytes;
    uint64_t hist[HIST_BUCKETS];
};

/* All run state lives here so the phases can be short functions. */
static struct {
    struct options opt;
    struct stats st;
    struct conn *c;
    int ep;
    uint32_t opened;
    uint32_t pending;       /* connects in flight */
    uint32_t busy;          /* connections with a message in flight */
    uint64_t deadline;      /* overall timeout for connect + messages */
    uint64_t stop_at;       /* -d: start no new message after this */
    uint8_t *txbuf;
    uint8_t *rxbuf;
    uint8_t *expbuf;
} g;

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* Error details on stderr, capped so 10000 failures do not flood it. */
__attribute__((format(printf, 1, 2)))
static void diag(const char *fmt, ...)
{
    static unsigned count;
    va_list ap;

    if (count++ >= MAX_DIAGNOSTICS) {
        if (count == MAX_DIAGNOSTICS + 1)
            fprintf(stderr, "loadgen: further errors not shown\n");
        return;
    }
    fputs("loadgen: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void usage(FILE *f)
{
    fprintf(f,
        "usage: loadgen -p PORT [-c CONNECTIONS=1000] [-n MESSAGES=100]\n"
        "               [-s SIZE=64] [-d SECONDS] [-H SECONDS] [-t SECONDS]\n"
        "  -p PORT         echo server port on 127.0.0.1\n"
        "  -c CONNECTIONS  concurrent connections\n"
        "  -n MESSAGES     ping-pong messages per connection\n"
        "  -s SIZE         message size in bytes\n"
        "  -d SECONDS      run for a duration instead of -n messages\n"
        "  -H SECONDS      hold all connections open this long at the end\n"
        "  -t SECONDS      overall timeout for connect + messages (120)\n"
        "  -h              this help\n");
}

static uint64_t parse_uint(const char *s, uint64_t min, uint64_t max)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || *s == '-' ||
        v < min || v > max) {
        fprintf(stderr, "loadgen: bad number '%s' (want %llu..%llu)\n", s,
                (unsigned long long)min, (unsigned long long)max);
        exit(2);
    }
    return v;
}

static double parse_seconds(const char *s)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v >= 0) || v > 1e6) {
        fprintf(stderr, "loadgen: bad duration '%s'\n", s);
        exit(2);
    }
    return v;
}

static void parse_args(int argc, char **argv)
{
    int ch;

    g.opt = (struct options){ .port = -1, .conns = 1000, .msgs = 100,
                              .size = 64, .timeout = 120 };
    while ((ch = getopt(argc, argv, "p:c:n:s:d:H:t:h")) != -1) {
        switch (ch) {
        case 'p': g.opt.port = (int)parse_uint(optarg, 1, 65535); break;
        case 'c': g.opt.conns = (uint32_t)parse_uint(optarg, 1,
                                                     MAX_CONNECTIONS); break;
        case 'n': g.opt.msgs = parse_uint(optarg, 1, UINT32_MAX); break;
        case 's': g.opt.size = (uint32_t)parse_uint(optarg, 1, MAX_SIZE);
                  break;
        case 'd': g.opt.duration = parse_seconds(optarg); break;
        case 'H': g.opt.hold = parse_seconds(optarg); break;
        case 't': g.opt.timeout = parse_seconds(optarg); break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); exit(2);
        }
    }
    if (optind != argc || g.opt.port < 0) {
        usage(stderr);
        exit(2);
    }
}

static void raise_nofile_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        perror("loadgen: setrlimit(RLIMIT_NOFILE)");
}

/* ---- message content --------------------------------------------------- */

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/*
 * Byte i of message (id, seq).  The first 8 bytes spell out the connection
 * id and sequence number (little endian) so a stray echo is easy to read in
 * a dump; the rest is a hash of (id, seq, position) so that any misrouted,
 * reordered or stale byte is caught.  Computed on demand, so no connection
 * needs to keep its message in memory.
 */
static void pattern_fill(uint32_t id, uint32_t seq, uint64_t off,
                         uint8_t *buf, size_t len)
{
    uint64_t key = ((uint64_t)id << 32) | seq;
    uint64_t word = 0;
    uint64_t word_idx = UINT64_MAX;

    for (size_t k = 0; k < len; k++) {
        uint64_t i = off + k;

        if (i < 4) {
            buf[k] = (uint8_t)(id >> (8 * i));
        } else if (i < 8) {
            buf[k] = (uint8_t)(seq >> (8 * (i - 4)));
        } else {
            if (i / 8 != word_idx) {
                word_idx = i / 8;
                word = mix64(key ^ mix64(word_idx));
            }
            buf[k] = (uint8_t)(word >> (8 * (i % 8)));
        }
    }
}

/* ---- latency histogram --------------------------------------------------- */

static unsigned hist_index(uint64_t v)
{
    unsigned e;

    if (v < SUB_COUNT)
        return (unsigned)v;             /* exact below 2^SUB_BITS */
    e = 63 - (unsigned)__builtin_clzll(v);
    return (e - SUB_BITS + 1) * SUB_COUNT +
           (unsigned)((v >> (e - SUB_BITS)) & (SUB_COUNT - 1));
}

/* Midpoint of bucket idx, i.e. within 1/2^(SUB_BITS+1) of any member. */
static double hist_value(unsigned idx)
{
    unsigned e;
    uint64_t sub, width;

    if (idx < SUB_COUNT)
        return idx;
    e = idx / SUB_COUNT + SUB_BITS - 1;
    sub = idx % SUB_COUNT;
    width = 1ULL << (e - SUB_BITS);
    return (double)((SUB_COUNT + sub) * width) + (double)(width - 1) / 2.0;
}

static void hist_record(uint64_t ns)
{
    g.st.hist[hist_index(ns)]++;
}

/* Percentile (in per mille) in ns, nearest-rank; 0 if nothing recorded. */
static double hist_percentile(unsigned permille)
{
    uint64_t total = 0, rank, seen = 0;

    for (unsigned i = 0; i < HIST_BUCKETS; i++)
        total += g.st.hist[i];
    if (total == 0)
        return 0;
    rank = (total * permille + 999) / 1000;
    if (rank < 1)
        rank = 1;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += g.st.hist[i];
        if (seen >= rank)
            return hist_value(i);
    }
    return 0;
}

/* ---- connection bookkeeping ----------------------------------------------- */

static void set_events(uint32_t id, uint32_t events)
{
    struct conn *c = &g.c[id];
    struct epoll_event ev = { .events = events, .data.u32 = id };

    if (c->events == events)
        return;
    if (epoll_ctl(g.ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
        perror("loadgen: epoll_ctl(MOD)");
    c->events = events;
}

static void conn_fail(uint32_t id, enum fail_kind kind)
{
    struct conn *c = &g.c[id];

    if (c->state == C_CONNECTING)
        g.pending--;
    if (c->state == C_BUSY)
        g.busy--;
    if (c->fd >= 0)
        close(c->fd);   /* also removes it from the epoll set */
    c->fd = -1;
    c->state = C_FAILED;
    switch (kind) {
    case F_CONNECT: g.st.connect_errors++; break;
    case F_IO: g.st.io_errors++; break;
    case F_MISMATCH: g.st.mismatches++; break;
    case F_TIMEOUT: g.st.timeouts++; break;
    }
}

static void conn_open(uint32_t id)
{
    struct conn *c = &g.c[id];
    struct sockaddr_in addr = { .sin_family = AF_INET };
    struct epoll_event ev = { .events = EPOLLOUT, .data.u32 = id };
    int one = 1;

    g.opened++;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        diag("socket: %s", strerror(errno));
        conn_fail(id, F_CONNECT);
        return;
    }
    /* Small ping-pong messages must not wait for Nagle. */
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    addr.sin_port = htons((uint16_t)g.opt.port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 &&
        errno != EINPROGRESS) {
        diag("connect: %s", strerror(errno));
        conn_fail(id, F_CONNECT);
        return;
    }
    /* Even an immediate success is reported through EPOLLOUT. */
    c->state = C_CONNECTING;
    c->events = EPOLLOUT;
    g.pending++;
    if (epoll_ctl(g.ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
        perror("loadgen: epoll_ctl(ADD)");
        conn_fail(id, F_CONNECT);
    }
}

static void on_connect_event(uint32_t id)
{
    struct conn *c = &g.c[id];
    int err = 0;
    socklen_t len = sizeof(err);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
    if (err != 0) {
        diag("connect: %s", strerror(err));
        conn_fail(id, F_CONNECT);
        return;
    }
    g.pending--;
    g.st.established++;
    c->state = C_READY;
    /* Idle but watched, so a server that drops us is noticed. */
    set_events(id, EPOLLIN | EPOLLRDHUP);
}

/* ---- ping-pong ------------------------------------------------------------- */

static void conn_send(uint32_t id)
{
    struct conn *c = &g.c[id];

    while (c->sent < g.opt.size) {
        size_t len = g.opt.size - c->sent;
        ssize_t n;

        if (len > IO_CHUNK)
            len = IO_CHUNK;
        pattern_fill(id, c->seq, c->sent, g.txbuf, len);
        n = send(c->fd, g.txbuf, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            conn_fail(id, F_IO);
            return;
        }
        c->sent += (uint32_t)n;
    }
    set_events(id, EPOLLIN | (c->sent < g.opt.size ? EPOLLOUT : 0));
}

static void conn_start_message(uint32_t id)
{
    struct conn *c = &g.c[id];

    c->sent = 0;
    c->rcvd = 0;
    c->t_start = now_ns();
    conn_send(id);
}

static void conn_finish_message(uint32_t id)
{
    struct conn *c = &g.c[id];
    uint64_t t = now_ns();

    hist_record(t - c->t_start);
    g.st.requests++;
    g.st.bytes += g.opt.size;
    c->seq++;
    if (c->seq < g.opt.msgs && !(g.stop_at && t >= g.stop_at)) {
        conn_start_message(id);
        return;
    }
    c->state = C_DONE;
    g.busy--;
    g.st.done++;
    set_events(id, EPOLLIN | EPOLLRDHUP);
}

static int verify_chunk(uint32_t id, const uint8_t *buf, size_t len)
{
    struct conn *c = &g.c[id];
    size_t k = 0;

    pattern_fill(id, c->seq, c->rcvd, g.expbuf, len);
    if (memcmp(buf, g.expbuf, len) == 0)
        return 0;
    while (buf[k] == g.expbuf[k])
        k++;
    diag("conn %u msg %u byte %llu: got 0x%02x, want 0x%02x", id, c->seq,
         (unsigned long long)(c->rcvd + k), buf[k], g.expbuf[k]);
    return -1;
}

static void conn_recv(uint32_t id)
{
    struct conn *c = &g.c[id];
    size_t want = g.opt.size - c->rcvd;
    ssize_t n;

    if (want > IO_CHUNK)
        want = IO_CHUNK;
    n = recv(c->fd, g.rxbuf, want, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    if (n <= 0) {
        diag("conn %u: %s", id, n == 0 ? "closed by server" : strerror(errno));
        conn_fail(id, F_IO);
        return;
    }
    /* An echo can never run ahead of what was sent. */
    if (c->rcvd + (uint32_t)n > c->sent ||
        verify_chunk(id, g.rxbuf, (size_t)n) != 0) {
        conn_fail(id, F_MISMATCH);
        return;
    }
    c->rcvd += (uint32_t)n;
    if (c->rcvd == g.opt.size)
        conn_finish_message(id);
}

/* Readable while no message is in flight: the server closed or babbled. */
static void conn_check_idle(uint32_t id)
{
    struct conn *c = &g.c[id];
    ssize_t n = recv(c->fd, g.rxbuf, 1, 0);

    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    diag("conn %u: %s while idle", id, n > 0 ? "unexpected data"
         : n == 0 ? "closed by server" : strerror(errno));
    conn_fail(id, n > 0 ? F_MISMATCH : F_IO);
}

static void dispatch(uint32_t id, uint32_t events)
{
    struct conn *c = &g.c[id];

    switch (c->state) {
    case C_CONNECTING:
        on_connect_event(id);
        break;
    case C_BUSY:
        if (events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP))
            conn_recv(id);
        if (c->state == C_BUSY && (events & EPOLLOUT))
            conn_send(id);
        break;
    case C_READY:
    case C_DONE:
        conn_check_idle(id);
        break;
    default:
        break;
    }
}

/* One epoll_wait round, waiting at most until `until` (ns, monotonic). */
static void poll_once(uint64_t until)
{
    struct epoll_event evs[MAX_EVENTS];
    uint64_t now = now_ns();
    int ms = until > now ? (int)((until - now + 999999) / 1000000) : 0;
    int n;

    if (ms > 100)
        ms = 100;   /* re-check phase conditions regularly */
    n = epoll_wait(g.ep, evs, MAX_EVENTS, ms);
    if (n < 0 && errno != EINTR) {
        perror("loadgen: epoll_wait");
        exit(1);
    }
    for (int i = 0; i < n; i++)
        dispatch(evs[i].data.u32, evs[i].events);
}

/* ---- phases ------------------------------------------------------------------ */

static void connect_phase(void)
{
    uint64_t until = now_ns() + CONNECT_PHASE_LIMIT_NS;

    if (until > g.deadline)
        until = g.deadline;
    while (g.opened < g.opt.conns || g.pending > 0) {
        while (g.opened < g.opt.conns && g.pending < MAX_PENDING_CONNECTS)
            conn_open(g.opened);
        if (now_ns() >= until)
            break;
        poll_once(until);
    }
    for (uint32_t id = 0; id < g.opt.conns; id++) {
        if (g.c[id].state == C_CONNECTING)
            conn_fail(id, F_TIMEOUT);
        else if (g.c[id].state == C_UNOPENED)
            g.st.timeouts++;
    }
}

/* Returns the wall time of the phase in ns. */
static uint64_t message_phase(void)
{
    uint64_t start = now_ns();

    if (g.opt.duration > 0)
        g.stop_at = start + (uint64_t)(g.opt.duration * NS_PER_SEC);
    for (uint32_t id = 0; id < g.opt.conns; id++) {
        if (g.c[id].state != C_READY)
            continue;
        g.c[id].state = C_BUSY;
        g.busy++;
        conn_start_message(id);
    }
    while (g.busy > 0 && now_ns() < g.deadline)
        poll_once(g.deadline);
    for (uint32_t id = 0; id < g.opt.conns; id++)
        if (g.c[id].state == C_BUSY)
            conn_fail(id, F_TIMEOUT);
    return now_ns() - start;
}

static void hold_phase(void)
{
    uint64_t until = now_ns() + (uint64_t)(g.opt.hold * NS_PER_SEC);
    uint32_t open = 0;

    for (uint32_t id = 0; id < g.opt.conns; id++)
        if (g.c[id].state == C_DONE)
            open++;
    printf("holding %u connections\n", open);
    fflush(stdout);
    while (now_ns() < until)
        poll_once(until);
}

static void close_all(void)
{
    for (uint32_t id = 0; id < g.opt.conns; id++)
        if (g.c[id].fd >= 0)
            close(g.c[id].fd);
}

static uint64_t total_errors(void)
{
    return g.st.connect_errors + g.st.io_errors + g.st.mismatches +
           g.st.timeouts;
}

static void report(uint64_t phase_ns)
{
    double secs = (double)phase_ns / NS_PER_SEC;

    printf("connections=%u\n", g.st.established);
    printf("errors=%llu\n", (unsigned long long)total_errors());
    printf("requests=%llu\n", (unsigned long long)g.st.requests);
    printf("seconds=%.3f\n", secs);
    printf("rps=%llu\n", (unsigned long long)(secs > 0 ?
           (double)g.st.requests / secs : 0));
    printf("p50_us=%.1f\n", hist_percentile(500) / 1000.0);
    printf("p99_us=%.1f\n", hist_percentile(990) / 1000.0);
    printf("bytes=%llu\n", (unsigned long long)g.st.bytes);
    /* Breakdown of errors=, for diagnosis. */
    printf("connect_errors=%llu\n", (unsigned long long)g.st.connect_errors);
    printf("io_errors=%llu\n", (unsigned long long)g.st.io_errors);
    printf("mismatches=%llu\n", (unsigned long long)g.st.mismatches);
    printf("timeouts=%llu\n", (unsigned long long)g.st.timeouts);
    fflush(stdout);
}

static void setup(void)
{
    size_t chunk = g.opt.size < IO_CHUNK ? g.opt.size : IO_CHUNK;

    raise_nofile_limit();
    g.c = calloc(g.opt.conns, sizeof(*g.c));
    g.txbuf = malloc(chunk);
    g.rxbuf = malloc(chunk);
    g.expbuf = malloc(chunk);
    if (!g.c || !g.txbuf || !g.rxbuf || !g.expbuf) {
        fprintf(stderr, "loadgen: out of memory\n");
        exit(1);
    }
    for (uint32_t id = 0; id < g.opt.conns; id++)
        g.c[id].fd = -1;
    g.ep = epoll_create1(EPOLL_CLOEXEC);
    if (g.ep < 0) {
        perror("loadgen: epoll_create1");
        exit(1);
    }
}

int main(int argc, char **argv)
{
    uint64_t phase_ns;

    parse_args(argc, argv);
    if (g.opt.duration > 0)
        g.opt.msgs = UINT64_MAX;    /* the clock decides, not a count */
    setup();
    g.deadline = now_ns() + (uint64_t)(g.opt.timeout * NS_PER_SEC);

    connect_phase();
    phase_ns = message_phase();
    if (g.opt.hold > 0 && g.st.done > 0)
        hold_phase();
    close_all();
    report(phase_ns);
    return total_errors() == 0 && g.st.done == g.opt.conns ? 0 : 1;
}
