/* diff_fork.c - fork from a threaded program: in the child only the forking
 * thread lives on, and it can use threads, sleeps and pipes as any program.
 *
 * Checks, with three other threads running in the parent (a ticker, one
 * blocked reading a pipe, one holding two mutexes while it sleeps): fork from
 * the main thread and from another thread; in the child the parent's other
 * threads never run (the ticker's count stays put); the child creates
 * threads that pass a token 100 times
 * through pipes and sleep, joins them, and forks a grandchild it waits for; a
 * mutex the forking thread held can be unlocked in the child, a normal mutex
 * held by another thread stays locked (trylock gives EBUSY) and an errorcheck
 * one cannot be unlocked (EPERM); a child forked by a thread that then calls
 * pthread_exit ends with status 0 (it was the last thread); the parent gets
 * every child's status from waitpid and its own threads carry on afterwards.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

#define ROUNDS 100

static void show_status(const char *what, int st)
{
    if (WIFEXITED(st))
        printf("%s: exited %d\n", what, WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        printf("%s: killed by %s\n", what, sigabbrev_np(WTERMSIG(st)));
    else
        printf("%s: status %#x\n", what, st);
}

/* ---- the parent's threads ---- */

static int blocked_pipe[2];                 /* a thread waits on it from the start */
static int held_pipe[2];                    /* the holder waits on it */
static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t held_check = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP;
static pthread_mutex_t mine = PTHREAD_MUTEX_INITIALIZER;

static void *blocked_reader(void *arg)
{
    char c = 0;

    (void)arg;
    return read(blocked_pipe[0], &c, 1) == 1 && c == 'p' ? "parent's byte" : "something else";
}

static void *holder(void *arg)
{
    char c;

    (void)arg;
    pthread_mutex_lock(&held);
    pthread_mutex_lock(&held_check);
    if (read(held_pipe[0], &c, 1) != 1)
        die("read");
    pthread_mutex_unlock(&held_check);
    pthread_mutex_unlock(&held);
    return NULL;
}

/* ---- what the child does ---- */

struct relay {
    int in, out;
    int passed;
};

/* Pass a token from in to out ROUNDS times, sleeping a little now and then. */
static void *relay(void *arg)
{
    struct relay *r = arg;
    char c;

    for (int i = 0; i < ROUNDS; i++) {
        if (read(r->in, &c, 1) != 1 || write(r->out, &c, 1) != 1)
            break;
        if (i % 25 == 0)
            usleep(1000);
        r->passed++;
    }
    return NULL;
}

static void child_threads(void)
{
    int ab[2], ba[2];
    struct relay a, b;
    pthread_t ta, tb;

    xpipe(ab);
    xpipe(ba);
    a = (struct relay){ .in = ba[0], .out = ab[1] };
    b = (struct relay){ .in = ab[0], .out = ba[1] };
    ta = spawn(relay, &a);
    tb = spawn(relay, &b);
    if (write(ba[1], "t", 1) != 1)
        die("write");
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    printf("child: two new threads passed the token %d and %d times\n", a.passed, b.passed);
}

static void child_grandchild(void)
{
    pid_t pid;
    int st;

    pid = xfork();
    if (pid == 0) {
        usleep(20000);
        printf("grandchild: running\n");
        fflush(stdout);
        _exit(9);
    }
    if (waitpid(pid, &st, 0) != pid)
        die("waitpid");
    show_status("child: its own child", st);
}

static void child_body(const char *from)
{
    int before = ticks;

    printf("child (forked from %s): running\n", from);
    usleep(50000);
    printf("child: the parent's ticker stopped: %s\n", ticks == before ? "yes" : "no");
    child_threads();
    child_grandchild();
    printf("child: trylock of a mutex another thread holds: %s\n",
           ename(pthread_mutex_trylock(&held)));
    printf("child: unlock of an errorcheck mutex another thread holds: %s\n",
           ename(pthread_mutex_unlock(&held_check)));
    printf("child: unlock of the mutex the forking thread held: %s\n",
           ename(pthread_mutex_unlock(&mine)));
    printf("child: then trylock: %s\n", ename(pthread_mutex_trylock(&mine)));
    pthread_mutex_unlock(&mine);
    fflush(stdout);
}

/* ---- forks ---- */

static pid_t fork_from_here(const char *from, int code)
{
    pid_t pid;

    pthread_mutex_lock(&mine);
    pid = xfork();
    if (pid == 0) {
        child_body(from);
        exit(code);
    }
    pthread_mutex_unlock(&mine);
    return pid;
}

static void *fork_from_thread(void *arg)
{
    pid_t pid;

    (void)arg;
    pid = xfork();
    if (pid == 0) {
        printf("child of a thread: running\n");
        fflush(stdout);
        pthread_exit(NULL);         /* the last thread: the process exits 0 */
    }
    return (void *)(long)pid;
}

static void *fork_and_work(void *arg)
{
    return (void *)(long)fork_from_here(arg, 5);
}

static void parent_wait(const char *what, pid_t pid)
{
    int st;

    if (waitpid(pid, &st, 0) != pid)
        die("waitpid");
    show_status(what, st);
}

int main(void)
{
    pthread_t tick, reader, hold, t;
    void *res;
    int before;

    alarm(20);
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    xpipe(blocked_pipe);
    xpipe(held_pipe);
    tick = start_ticker();
    reader = spawn(blocked_reader, NULL);
    hold = spawn(holder, NULL);
    usleep(30000);

    parent_wait("parent: child forked from main", fork_from_here("main", 7));

    t = spawn(fork_and_work, "another thread");
    pthread_join(t, &res);
    parent_wait("parent: child forked from another thread", (pid_t)(long)res);

    t = spawn(fork_from_thread, NULL);
    pthread_join(t, &res);
    parent_wait("parent: child whose only thread called pthread_exit", (pid_t)(long)res);

    before = ticks;
    usleep(50000);
    printf("parent: ticker still running: %s\n", ticks > before ? "yes" : "no");
    if (write(blocked_pipe[1], "p", 1) != 1 || write(held_pipe[1], "h", 1) != 1)
        die("write");
    pthread_join(reader, &res);
    printf("parent: the blocked reader got the %s\n", (char *)res);
    pthread_join(hold, NULL);
    printf("parent: trylock once the holder let go: %s\n", ename(pthread_mutex_trylock(&held)));
    stop_ticker(tick);
    return 0;
}
