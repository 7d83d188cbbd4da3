/* diff_cancel.c - pthread_cancel, cleanup handlers and cancellation state.
 *
 * Checks: a thread blocked in sleep, usleep, read on a pipe, write to a full
 * pipe, recv on a socketpair, accept, poll or pthread_join is cancelled
 * promptly, its result is PTHREAD_CANCELED, its cleanup handlers run
 * innermost first and only once (one already run inline by
 * pthread_cleanup_pop(1) does not run again), and its key destructor runs
 * after them; the fd it waited on still works afterwards, and the thread a
 * cancelled joiner waited for can still be joined. With cancellation disabled
 * a cancel is held (a sleep runs to its end) until cancellation is enabled and
 * a cancellation point is reached: enabling alone does not act on a deferred
 * cancel, pthread_testcancel does, and enabling with the asynchronous type
 * acts at once. A thread cancelled before it first ran starts, and is
 * cancelled at its first cancellation point with its handlers run. A thread
 * with the asynchronous type that cancels itself ends inside pthread_cancel.
 * A cancel already pending acts at a cancellation point that would not block
 * as well (read/write on a regular file, recv with MSG_DONTWAIT, poll with
 * timeout 0, nanosleep refusing its argument: glibc checks before the system
 * call), but not in pthread_tryjoin_np nor in pthread_join on a thread that
 * has already finished (glibc acts only where it would wait).
 * pthread_setcancelstate/type reject bad values with EINVAL (leaving *old
 * alone) and report the old values; pthread_cancel on a finished, unjoined
 * thread returns 0 and leaves its result alone.
 *
 * Only main prints: stdout writes are cancellation points, so the threads
 * record what happens in a log that main prints.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char events[1024];
static pthread_key_t key;
static atomic_int ready;

static void note(const char *fmt, ...)
{
    va_list ap;
    size_t n;

    pthread_mutex_lock(&log_lock);
    n = strlen(events);
    if (n)
        n += (size_t)snprintf(events + n, sizeof(events) - n, ", ");
    va_start(ap, fmt);
    vsnprintf(events + n, sizeof(events) - n, fmt, ap);
    va_end(ap);
    pthread_mutex_unlock(&log_lock);
}

static void cleanup(void *arg)
{
    note("cleanup %s", (const char *)arg);
}

static void destructor(void *value)
{
    note("destructor %s", (const char *)value);
}

static const char *state_name(int s)
{
    return s == PTHREAD_CANCEL_ENABLE ? "ENABLE" : s == PTHREAD_CANCEL_DISABLE ? "DISABLE" : "unset";
}

static const char *type_name(int t)
{
    return t == PTHREAD_CANCEL_DEFERRED ? "DEFERRED"
           : t == PTHREAD_CANCEL_ASYNCHRONOUS ? "ASYNCHRONOUS" : "unset";
}

/* Wait until the thread says it is about to block, then give it time to. */
static void wait_ready(void)
{
    while (!atomic_load(&ready))
        usleep(1000);
    usleep(20000);
}

/* ---- threads blocked in a cancellation point ---- */

enum wait_kind { IN_SLEEP, IN_READ, IN_WRITE, IN_RECV, IN_ACCEPT, IN_POLL, IN_JOIN };

struct blocked {
    const char *name;
    enum wait_kind kind;
    int fd;                         /* what it waits on */
    pthread_t target;               /* IN_JOIN */
};

static void block(struct blocked *b)
{
    char c = 'x';
    struct pollfd p = { .fd = b->fd, .events = POLLIN };

    switch (b->kind) {
    case IN_SLEEP: sleep(10); break;
    case IN_READ: note("read returned %zd", read(b->fd, &c, 1)); break;
    case IN_WRITE: note("write returned %zd", write(b->fd, &c, 1)); break;
    case IN_RECV: note("recv returned %zd", recv(b->fd, &c, 1, 0)); break;
    case IN_ACCEPT: note("accept returned %d", accept(b->fd, NULL, NULL)); break;
    case IN_POLL: note("poll returned %d", poll(&p, 1, -1)); break;
    case IN_JOIN: note("pthread_join returned %s", ename(pthread_join(b->target, NULL))); break;
    }
}

static void *blocked_thread(void *arg)
{
    struct blocked *b = arg;

    pthread_setspecific(key, b->name);
    pthread_cleanup_push(cleanup, "outer");
    pthread_cleanup_push(cleanup, "middle");
    pthread_cleanup_push(cleanup, "inner");
    pthread_cleanup_pop(1);         /* runs "inner" here, and never again */
    atomic_store(&ready, 1);
    block(b);
    note("not reached");
    pthread_cleanup_pop(0);
    pthread_cleanup_pop(0);
    return NULL;
}

static void cancel_blocked(struct blocked *b)
{
    pthread_t t;
    void *r;
    long start;
    int cerr;

    events[0] = '\0';
    atomic_store(&ready, 0);
    t = spawn(blocked_thread, b);
    wait_ready();
    start = now_ms();
    cerr = pthread_cancel(t);
    r = join(t);
    printf("cancel in %s: pthread_cancel %s, result %s, within 1 s: %s\n  %s\n", b->name,
           ename(cerr), result_name(r), now_ms() - start < 1000 ? "yes" : "no", events);
}

/* The fd a cancelled thread waited on still carries data both ways. */
static void still_works(const char *what, int rfd, int wfd)
{
    char c = 0;
    ssize_t w = write(wfd, "y", 1), r = read(rfd, &c, 1);

    printf("  %s still works: write %zd, read %zd '%c'\n", what, w, r, c);
}

static void *target_thread(void *arg)
{
    char c;

    if (read((int)(intptr_t)arg, &c, 1) != 1)
        return (void *)-1;
    return (void *)7;
}

static void cancel_each_wait(void)
{
    struct blocked b;
    int p[2], s[2], lfd, tp[2], fl, err;
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    pthread_t target;
    void *r;
    char buf[4096];

    cancel_blocked(&(struct blocked){ .name = "sleep", .kind = IN_SLEEP });

    if (pipe(p) || socketpair(AF_UNIX, SOCK_STREAM, 0, s))
        die("pipe/socketpair");
    cancel_blocked(&(struct blocked){ .name = "read on a pipe", .kind = IN_READ, .fd = p[0] });
    still_works("the pipe", p[0], p[1]);
    cancel_blocked(&(struct blocked){ .name = "recv on a socketpair", .kind = IN_RECV, .fd = s[0] });
    still_works("the socketpair", s[0], s[1]);
    cancel_blocked(&(struct blocked){ .name = "poll on a pipe", .kind = IN_POLL, .fd = p[0] });
    still_works("the pipe", p[0], p[1]);

    /* Fill the pipe, then a blocking write of one byte waits. */
    fl = fcntl(p[1], F_GETFL);
    fcntl(p[1], F_SETFL, fl | O_NONBLOCK);
    while (write(p[1], buf, sizeof(buf)) > 0)
        ;
    fcntl(p[1], F_SETFL, fl);
    cancel_blocked(&(struct blocked){ .name = "write to a full pipe", .kind = IN_WRITE, .fd = p[1] });
    fl = fcntl(p[0], F_GETFL);
    fcntl(p[0], F_SETFL, fl | O_NONBLOCK);
    while (read(p[0], buf, sizeof(buf)) > 0)
        ;
    fcntl(p[0], F_SETFL, fl);
    still_works("the pipe", p[0], p[1]);

    if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
        bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) || listen(lfd, 4))
        die("listening socket");
    cancel_blocked(&(struct blocked){ .name = "accept", .kind = IN_ACCEPT, .fd = lfd });

    if (pipe(tp))
        die("pipe");
    target = spawn(target_thread, (void *)(intptr_t)tp[0]);
    b = (struct blocked){ .name = "pthread_join", .kind = IN_JOIN, .target = target };
    cancel_blocked(&b);
    if (write(tp[1], "x", 1) != 1)
        die("write");
    err = pthread_join(target, &r);
    printf("  the thread it joined can still be joined: %s, result %s\n", ename(err), result_name(r));

    close(p[0]); close(p[1]); close(s[0]); close(s[1]); close(lfd); close(tp[0]); close(tp[1]);
}

/* ---- cancellation state and type ---- */

static void *disabled_thread(void *arg)
{
    int old = -1, err, r;
    long start;

    pthread_setspecific(key, arg);
    pthread_cleanup_push(cleanup, "disabled");
    err = pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
    note("disable: %s, old %s", ename(err), state_name(old));
    atomic_store(&ready, 1);
    start = now_ms();
    r = usleep(100000);             /* cancelled meanwhile, but not here */
    note("usleep(100 ms) returned %d after >= 100 ms: %s", r, now_ms() - start >= 100 ? "yes" : "no");
    err = pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &old);
    note("enable: %s, old %s", ename(err), state_name(old));
    note("still running after enabling");
    pthread_testcancel();
    note("not reached");
    pthread_cleanup_pop(0);
    return NULL;
}

static void *async_pending_thread(void *arg)
{
    int old = -1, err;

    pthread_setspecific(key, arg);
    pthread_cleanup_push(cleanup, "async");
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
    atomic_store(&ready, 1);
    usleep(100000);
    err = pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &old);
    note("type asynchronous while disabled: %s, old %s", ename(err), type_name(old));
    note("enabling");
    pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
    note("not reached");
    pthread_cleanup_pop(0);
    return NULL;
}

static void *async_self_thread(void *arg)
{
    int old = -1, err;

    pthread_setspecific(key, arg);
    pthread_cleanup_push(cleanup, "self");
    err = pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &old);
    note("type asynchronous: %s, old %s", ename(err), type_name(old));
    pthread_cancel(pthread_self());
    note("not reached");
    pthread_cleanup_pop(0);
    return NULL;
}

static void *before_run_thread(void *arg)
{
    pthread_setspecific(key, arg);
    note("started");
    pthread_cleanup_push(cleanup, "first point");
    sleep(10);
    note("not reached");
    pthread_cleanup_pop(0);
    return NULL;
}

/* Run fn, cancel it once it is ready (or at once), print what happened. */
static void cancel_run(const char *what, void *(*fn)(void *), bool at_once)
{
    pthread_t t;
    void *r;
    int cerr = 0;

    events[0] = '\0';
    atomic_store(&ready, 0);
    t = spawn(fn, (void *)what);
    if (fn != async_self_thread) {
        if (!at_once)
            wait_ready();
        cerr = pthread_cancel(t);
    }
    r = join(t);
    printf("%s: pthread_cancel %s, result %s\n  %s\n", what, ename(cerr), result_name(r), events);
}

/* ---- a pending cancel acts at every cancellation point, blocking or not ---- */

static int file_fd, pipe_fd[2], sock_fd[2];
static pthread_t finished_thread, main_thread;

static long read_file(void) { char c; return read(file_fd, &c, 1); }
static long write_file(void) { return write(file_fd, "z", 1); }
static long read_pipe_with_data(void) { char c; return read(pipe_fd[0], &c, 1); }
static long send_socket(void) { return send(sock_fd[0], "z", 1, 0); }
static long recv_dontwait(void) { char c; return recv(sock_fd[1], &c, 1, MSG_DONTWAIT); }
static long poll_timeout_0(void)
{
    struct pollfd p = { .fd = pipe_fd[0], .events = POLLIN };

    return poll(&p, 1, 0);
}
static long usleep_0(void) { return usleep(0); }
static long nanosleep_bad(void)
{
    struct timespec ts = { 0, 1000000000L };

    return nanosleep(&ts, NULL);
}
static long join_finished(void) { return pthread_join(finished_thread, NULL); }
static long tryjoin_main(void) { return pthread_tryjoin_np(main_thread, NULL); }

struct pending_case {
    const char *name;
    long (*call)(void);
};

static void *pending_thread(void *arg)
{
    const struct pending_case *c = arg;
    long r;

    pthread_cleanup_push(cleanup, "pending");
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
    pthread_cancel(pthread_self());
    pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
    r = c->call();
    note("returned %ld", r);
    pthread_testcancel();
    note("not reached");
    pthread_cleanup_pop(0);
    return NULL;
}

static void *returns_arg(void *arg)
{
    return arg;
}

static int count_tasks(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int n = 0;

    if (!d)
        die("opendir /proc/self/task");
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Until the kernel has reaped the thread just finished: as many OS threads
 * as before it was created (natively it had one of its own). */
static void wait_tasks(int n)
{
    while (count_tasks() > n)
        usleep(1000);
}

static void check_pending(void)
{
    static const struct pending_case cases[] = {
        { "read on a pipe holding data", read_pipe_with_data },
        { "send on a socketpair with room", send_socket },
        { "usleep(0)", usleep_0 },
        { "read on a regular file", read_file },
        { "write to a regular file", write_file },
        { "recv with MSG_DONTWAIT", recv_dontwait },
        { "poll with timeout 0", poll_timeout_0 },
        { "nanosleep with tv_nsec 1e9", nanosleep_bad },
        { "pthread_join on a finished thread (glibc: not when it need not wait)", join_finished },
        { "pthread_tryjoin_np on a running thread (glibc: not a cancellation point)", tryjoin_main },
    };
    char path[] = "/tmp/diff_cancel.XXXXXX";
    void *r;
    int tasks;

    if ((file_fd = mkstemp(path)) < 0 || unlink(path) || write(file_fd, "abc", 3) != 3 ||
        lseek(file_fd, 0, SEEK_SET) != 0)
        die("temporary file");
    if (pipe(pipe_fd) || write(pipe_fd[1], "abcdefghij", 10) != 10 ||
        socketpair(AF_UNIX, SOCK_STREAM, 0, sock_fd))
        die("pipe/socketpair");
    printf("with a cancel pending (the call's result is logged only if it returns):\n");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        events[0] = '\0';
        tasks = count_tasks();
        finished_thread = spawn(returns_arg, NULL);
        wait_tasks(tasks);
        r = join(spawn(pending_thread, (void *)&cases[i]));
        if (cases[i].call != join_finished)
            pthread_join(finished_thread, NULL);
        printf("  %s: result %s; %s\n", cases[i].name, result_name(r), events);
    }
    close(file_fd); close(pipe_fd[0]); close(pipe_fd[1]); close(sock_fd[0]); close(sock_fd[1]);
}

static void check_bad_values(void)
{
    int old, err;

    old = -1;
    err = pthread_setcancelstate(2, &old);
    printf("pthread_setcancelstate(2): %s, old %s\n", ename(err), state_name(old));
    old = -1;
    err = pthread_setcancelstate(-1, &old);
    printf("pthread_setcancelstate(-1): %s, old %s\n", ename(err), state_name(old));
    old = -1;
    err = pthread_setcanceltype(2, &old);
    printf("pthread_setcanceltype(2): %s, old %s\n", ename(err), type_name(old));
    old = -1;
    err = pthread_setcanceltype(-1, &old);
    printf("pthread_setcanceltype(-1): %s, old %s\n", ename(err), type_name(old));

    err = pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
    printf("pthread_setcancelstate(DISABLE): %s, old %s\n", ename(err), state_name(old));
    err = pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
    printf("pthread_setcancelstate(DISABLE) again: %s, old %s\n", ename(err), state_name(old));
    err = pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &old);
    printf("pthread_setcancelstate(ENABLE): %s, old %s\n", ename(err), state_name(old));
    err = pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
    printf("pthread_setcancelstate(ENABLE, NULL): %s\n", ename(err));
    err = pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &old);
    printf("pthread_setcanceltype(ASYNCHRONOUS): %s, old %s\n", ename(err), type_name(old));
    err = pthread_setcanceltype(PTHREAD_CANCEL_DEFERRED, &old);
    printf("pthread_setcanceltype(DEFERRED): %s, old %s\n", ename(err), type_name(old));
    err = pthread_setcanceltype(PTHREAD_CANCEL_DEFERRED, NULL);
    printf("pthread_setcanceltype(DEFERRED, NULL): %s\n", ename(err));
}

static void *finishing_thread(void *arg)
{
    (void)arg;
    atomic_store(&ready, 1);
    return (void *)42;
}

static void check_cancel_finished(void)
{
    pthread_t t;
    void *r;
    int err, cerr;

    atomic_store(&ready, 0);
    t = spawn(finishing_thread, NULL);
    wait_ready();
    cerr = pthread_cancel(t);
    err = pthread_join(t, &r);
    printf("pthread_cancel on a finished thread: %s; join %s, result %s\n", ename(cerr),
           ename(err), result_name(r));
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    main_thread = pthread_self();
    alarm(10);
    check(pthread_key_create(&key, destructor), "pthread_key_create");
    cancel_each_wait();
    cancel_run("cancel while disabled", disabled_thread, false);
    cancel_run("cancel while disabled, then asynchronous type and enable", async_pending_thread, false);
    cancel_run("cancel before the thread first ran", before_run_thread, true);
    cancel_run("asynchronous self-cancel", async_self_thread, false);
    check_pending();
    check_bad_values();
    check_cancel_finished();
    return 0;
}
