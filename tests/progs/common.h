/* common.h - what the tests/progs/diff_*.c programs share: dying on a failed
 * set-up call, threads (and a ticker thread), fork, pipes, shared memory, a
 * loopback TCP pair, errno names and result strings, clocks and deadlines.
 *
 * The Makefile builds each program from its one .c file, so everything here
 * is `static inline`: a program that does not use a helper gets no code and
 * no unused-function warning for it. The programs print only what does not
 * depend on the machine, so the helpers that deal with time return words
 * ("yes", "at once"), never a time. A failed set-up call (not the call under
 * test) ends the program with status 1 and a line on stderr naming the
 * program and the call. Include it after `#define _GNU_SOURCE` (ename and die
 * use glibc's strerrorname_np and program_invocation_short_name).
 */
#ifndef DIFF_COMMON_H
#define DIFF_COMMON_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- set-up calls that must not fail ---- */

static inline void die_err(const char *what, int err)
{
    fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what, strerror(err));
    exit(1);
}

static inline void die(const char *what)
{
    die_err(what, errno);
}

/* For the calls that return an error number (pthread_*). */
static inline void check(int err, const char *what)
{
    if (err)
        die_err(what, err);
}

/* Starts a thread with default attributes; errno is left alone. */
static inline pthread_t spawn(void *(*fn)(void *), void *arg)
{
    pthread_t t;

    check(pthread_create(&t, NULL, fn, arg), "pthread_create");
    return t;
}

/* Joins a thread and gives its result; errno is left alone. */
static inline void *join(pthread_t t)
{
    void *r;

    check(pthread_join(t, &r), "pthread_join");
    return r;
}

/* fork, with stdout flushed first: the child must not print again what the
 * parent had buffered. */
static inline pid_t xfork(void)
{
    pid_t pid;

    fflush(stdout);
    if ((pid = fork()) < 0)
        die("fork");
    return pid;
}

static inline void xpipe(int p[2])
{
    if (pipe(p) < 0)
        die("pipe");
}

static inline void close_pair(int p[2])
{
    close(p[0]);
    close(p[1]);
}

/* A connected TCP pair on 127.0.0.1 (an ephemeral port): sv[0] connected,
 * sv[1] accepted. */
static inline void tcp_pair(int sv[2])
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(a);
    int l = socket(AF_INET, SOCK_STREAM, 0);

    if (l < 0 || bind(l, (struct sockaddr *)&a, len) < 0 || listen(l, 1) < 0 ||
        getsockname(l, (struct sockaddr *)&a, &len) < 0 ||
        (sv[0] = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
        connect(sv[0], (struct sockaddr *)&a, len) < 0 || (sv[1] = accept(l, NULL, NULL)) < 0)
        die("tcp");
    close(l);
}

/* A thread that keeps running: it counts a tick every 5 ms while `ticking`,
 * so that a program can show that the others ran on while one blocked. */
static volatile int ticking __attribute__((unused));
static volatile int ticks __attribute__((unused));

static inline void *ticker(void *arg)
{
    (void)arg;
    while (ticking) {
        usleep(5000);
        ticks++;
    }
    return NULL;
}

static inline pthread_t start_ticker(void)
{
    ticking = 1;
    return spawn(ticker, NULL);
}

static inline void stop_ticker(pthread_t t)
{
    ticking = 0;
    join(t);
}

/* Memory this process shares with the children it forks (zero-filled). */
static inline void *shared_mem(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED)
        die("mmap");
    return p;
}

/* ---- what the programs print ---- */

/* An error number's name ("EAGAIN"), "0" for none. */
static inline const char *ename(int e)
{
    const char *s = strerrorname_np(e);

    return e == 0 ? "0" : s ? s : "unknown";
}

/* A call's result: "N", or "-1 ENAME". Four buffers in turn, so that one
 * printf can show up to four results. */
static inline const char *res(long r, int err)
{
    static char buf[4][64];
    static int i;

    i = (i + 1) % 4;
    if (r < 0)
        snprintf(buf[i], sizeof(buf[i]), "-1 %s", ename(err));
    else
        snprintf(buf[i], sizeof(buf[i]), "%ld", r);
    return buf[i];
}

/* Prints a call's result, and errno's name when it returns -1. */
#define SHOW(what, call) \
    do { \
        errno = 0; \
        ssize_t r_ = (call); \
        printf("%s: %s\n", what, res(r_, errno)); \
    } while (0)

/* What a joined thread returned: a number, or PTHREAD_CANCELED. */
static inline const char *result_name(void *r)
{
    static char buf[32];

    if (r == PTHREAD_CANCELED)
        return "PTHREAD_CANCELED";
    snprintf(buf, sizeof(buf), "%ld", (long)(intptr_t)r);
    return buf;
}

static inline const char *yes(int cond)
{
    return cond ? "yes" : "no";
}

/* Whether an fd is in non-blocking mode, as the program sees it. */
static inline const char *fd_mode(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    return fl < 0 ? "F_GETFL failed" : fl & O_NONBLOCK ? "O_NONBLOCK" : "blocking";
}

/* xorshift64*: the same pseudo-random sequence natively and under greenrun. */
static inline uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545f4914f6cdd1dULL;
}

/* ---- time ---- */

static inline long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static inline uint64_t now_us(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000 + (uint64_t)t.tv_nsec / 1000;
}

static inline void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

/* "yes" if [lo, hi) ms have passed since start (from now_ms()). */
static inline const char *within(long start, long lo, long hi)
{
    long t = now_ms() - start;

    return yes(t >= lo && t < hi);
}

/* How late a timed call may come back and still count as on time: the
 * machine may be busy with other work, and the checks are there to catch a
 * timeout ignored or badly rounded, not scheduling delays. */
#define LATE_MS 300

/* How long a call that started at `start` took, in words that do not depend
 * on the machine: for a timeout of ms > 0, whether it ended in
 * [ms, ms + LATE_MS); for none, whether it came back at once. */
static inline const char *took(long start, long ms)
{
    static char buf[64];
    long t = now_ms() - start;

    if (ms == 0)
        return t < 1000 ? "at once" : "SLOWLY";
    snprintf(buf, sizeof(buf), "waited >= %ld ms and < %ld ms: %s", ms, ms + LATE_MS,
             yes(t >= ms && t < ms + LATE_MS));
    return buf;
}

/* An absolute time `ms` from now on `clock` (negative: in the past). */
static inline struct timespec abs_in(clockid_t clock, long ms)
{
    struct timespec ts;

    clock_gettime(clock, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    } else if (ts.tv_nsec < 0) {
        ts.tv_sec--;
        ts.tv_nsec += 1000000000L;
    }
    return ts;
}

/* FNV-1a, to compare what went through a pipe with what was sent. */
#define FNV0 0xcbf29ce484222325ULL

static inline uint64_t fnv(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;

    while (n--) {
        h ^= *p++;
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* A reader that empties a pipe slowly: 4 KiB, then a pause of pause_us,
 * until end of file; what it read is counted and hashed (start at FNV0). */
struct slow_drain {
    int fd;
    unsigned pause_us;
    size_t total;
    uint64_t hash;
};

static inline void *slow_drain(void *arg)
{
    struct slow_drain *d = arg;
    char buf[4096];
    ssize_t r;

    while ((r = read(d->fd, buf, sizeof(buf))) > 0) {
        d->hash = fnv(d->hash, buf, (size_t)r);
        d->total += (size_t)r;
        usleep(d->pause_us);
    }
    if (r < 0)
        die("read");
    return NULL;
}

#endif
