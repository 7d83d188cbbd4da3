/* diff_threadinfo.c - what a program asks or sets about its threads: names,
 * attributes, joins that do not wait forever, signal masks, scheduling,
 * pthread_kill with signal 0.
 *
 * Checks:
 * - names: pthread_setname_np gives ERANGE for 16+ characters,
 *   pthread_getname_np ERANGE for a buffer under 16 bytes; each thread has its
 *   own name, readable by others; a new thread is named after its creator as
 *   the creator was named when it created it (the process's name for threads
 *   main creates before renaming itself), and renaming the creator later does
 *   not rename it.
 * - pthread_getattr_np: the stack size is at least what the creation
 *   attribute asked (and not the default), the stack holds the thread's own
 *   locals, the default size is RLIMIT_STACK; the guard size is what was asked
 *   rounded up to a page (0 stays 0, the default is one page); the detach
 *   state is the creation one, and DETACHED after pthread_detach.
 * - pthread_tryjoin_np: EBUSY while the thread runs (also on itself), then 0
 *   with its result.
 * - pthread_timedjoin_np and pthread_clockjoin_np (CLOCK_REALTIME and
 *   CLOCK_MONOTONIC): ETIMEDOUT after >= 100 ms and < 400 ms, then a later
 *   join works; a deadline already past times out at once; a NULL time waits
 *   for the end. clockjoin with a clock other than those two: EINVAL, even on
 *   a finished thread (which stays joinable). A tv_nsec of 1e9: glibc never
 *   checks it (the kernel refuses the wait and glibc retries until the thread
 *   ends), so join returns 0 with the result; on a finished thread it is 0
 *   too. A negative tv_sec: ETIMEDOUT.
 * - signal masks: per thread (A blocks SIGUSR1, B does not see it blocked, A
 *   still has it after both switched many times), inherited from the creator
 *   at creation; SIGKILL, SIGSTOP and glibc's two internal signals cannot be
 *   blocked; a bad `how` is EINVAL with a set, ignored without.
 * - scheduling: a new thread is SCHED_OTHER priority 0; SCHED_OTHER 0 and
 *   SCHED_BATCH 0 round-trip; SCHED_OTHER 5, a bad policy and setschedprio 3
 *   give EINVAL.
 * - pthread_kill(thread, 0) is 0 for a running and a finished thread;
 *   signal 1000 and glibc's SIGCANCEL (32) are EINVAL.
 * - pthread_getcpuclockid gives a clock that can be read.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

static atomic_int step;

static void wait_step(int s)
{
    while (atomic_load(&step) < s)
        usleep(1000);
}

static void start(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
    check(pthread_create(t, attr, fn, arg), "pthread_create");
}

/* ---- names ---- */

static void own_name(char *buf)
{
    int err = pthread_getname_np(pthread_self(), buf, 16);

    if (err)
        snprintf(buf, 16, "(%s)", ename(err));
}

static char child_name[16], t1_default[16], t1_named[16], t1_renamed[16], t3_name[16];
static int set_long, get_short, set_ok;

static void *child_of_t1(void *arg)
{
    (void)arg;
    own_name(child_name);
    return NULL;
}

static void *t1_thread(void *arg)
{
    char small[15];
    pthread_t child;

    (void)arg;
    own_name(t1_default);
    set_long = pthread_setname_np(pthread_self(), "0123456789abcdef");
    get_short = pthread_getname_np(pthread_self(), small, sizeof(small));
    set_ok = pthread_setname_np(pthread_self(), "worker-one");
    own_name(t1_named);
    start(&child, NULL, child_of_t1, NULL);
    join(child);
    atomic_store(&step, 1);
    wait_step(2);                   /* main renames us */
    own_name(t1_renamed);
    return NULL;
}

static void *t3_thread(void *arg)
{
    (void)arg;
    wait_step(4);                   /* main renamed itself again */
    own_name(t3_name);
    return NULL;
}

static void check_names(void)
{
    char buf[16], main_name[16];
    pthread_t t1, t3;
    int err;

    atomic_store(&step, 0);
    own_name(main_name);
    printf("main's name: %s\n", main_name);
    start(&t1, NULL, t1_thread, NULL);
    wait_step(1);
    printf("t1: default name %s; setname of 16 characters %s; getname into 15 bytes %s; "
           "setname worker-one %s, reads %s\n", t1_default, ename(set_long), ename(get_short),
           ename(set_ok), t1_named);
    printf("  a thread t1 created: %s\n", child_name);
    err = pthread_getname_np(t1, buf, sizeof(buf));
    printf("  main reads t1's name: %s %s; main's own: %s\n", ename(err), buf,
           (own_name(main_name), main_name));
    printf("  main renames t1 to renamed-by-main: %s\n",
           ename(pthread_setname_np(t1, "renamed-by-main")));
    printf("  main renames t1 to 16 characters: %s\n",
           ename(pthread_setname_np(t1, "renamed-by-main!")));
    atomic_store(&step, 2);
    join(t1);
    printf("  t1 reads: %s\n", t1_renamed);

    printf("main renames itself main-thread: %s\n", ename(pthread_setname_np(pthread_self(), "main-thread")));
    start(&t3, NULL, t3_thread, NULL);
    atomic_store(&step, 3);
    usleep(10000);
    printf("  then main-again: %s\n", ename(pthread_setname_np(pthread_self(), "main-again")));
    atomic_store(&step, 4);
    join(t3);
    own_name(main_name);
    printf("  main reads %s; a thread main created as main-thread reads %s\n", main_name, t3_name);
}

/* ---- attributes ---- */

struct attr_report {
    size_t stack_size, guard_size;
    int detach;
    bool local_on_stack;
    bool detach_self;
    atomic_int done;
};

static void *attr_thread(void *arg)
{
    struct attr_report *r = arg;
    pthread_attr_t attr;
    void *addr;
    size_t size;

    if (r->detach_self)
        pthread_detach(pthread_self());
    check(pthread_getattr_np(pthread_self(), &attr), "pthread_getattr_np");
    pthread_attr_getstack(&attr, &addr, &size);
    r->local_on_stack = (char *)&attr >= (char *)addr && (char *)&attr < (char *)addr + size;
    pthread_attr_getstacksize(&attr, &r->stack_size);
    pthread_attr_getguardsize(&attr, &r->guard_size);
    pthread_attr_getdetachstate(&attr, &r->detach);
    pthread_attr_destroy(&attr);
    atomic_store(&r->done, 1);
    return NULL;
}

/* Run attr_thread with an attribute set up by the caller, wait for its report. */
static void attr_run(pthread_attr_t *attr, struct attr_report *r)
{
    pthread_t t;
    int detach = PTHREAD_CREATE_JOINABLE;

    if (attr)
        pthread_attr_getdetachstate(attr, &detach);
    start(&t, attr, attr_thread, r);
    if (detach == PTHREAD_CREATE_JOINABLE && !r->detach_self)
        join(t);
    while (!atomic_load(&r->done))
        usleep(1000);
}

static const char *detach_name(int d)
{
    return d == PTHREAD_CREATE_DETACHED ? "DETACHED" : d == PTHREAD_CREATE_JOINABLE ? "JOINABLE" : "?";
}

static void check_attr(void)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), want = 1 << 20;
    struct rlimit rl;
    pthread_attr_t attr;
    struct attr_report r;
    static const struct { const char *what; size_t size; } guards[] = {
        { "0", 0 }, { "100 bytes", 100 }, { "2 pages", 0 },
    };

    memset(&r, 0, sizeof(r));
    attr_run(NULL, &r);
    getrlimit(RLIMIT_STACK, &rl);
    printf("default attributes: stack size is RLIMIT_STACK: %s, guard one page: %s, %s, "
           "a local lies on the stack: %s\n",
           yes(rl.rlim_cur == RLIM_INFINITY || r.stack_size == rl.rlim_cur), yes(r.guard_size == page),
           detach_name(r.detach), yes(r.local_on_stack));

    memset(&r, 0, sizeof(r));
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, want);
    attr_run(&attr, &r);
    pthread_attr_destroy(&attr);
    printf("stack size 1 MiB asked: reported >= 1 MiB: %s, < 2 MiB: %s, a local lies on the stack: %s\n",
           yes(r.stack_size >= want), yes(r.stack_size < 2 * want), yes(r.local_on_stack));

    for (size_t i = 0; i < sizeof(guards) / sizeof(guards[0]); i++) {
        size_t asked = guards[i].size ? guards[i].size : i == 2 ? 2 * page : 0;

        memset(&r, 0, sizeof(r));
        pthread_attr_init(&attr);
        pthread_attr_setguardsize(&attr, asked);
        attr_run(&attr, &r);
        pthread_attr_destroy(&attr);
        printf("guard size %s asked: reported %zu page(s)%s\n", guards[i].what, r.guard_size / page,
               r.guard_size % page ? " and a part" : "");
    }

    memset(&r, 0, sizeof(r));
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    attr_run(&attr, &r);
    pthread_attr_destroy(&attr);
    printf("created detached: %s\n", detach_name(r.detach));

    memset(&r, 0, sizeof(r));
    r.detach_self = true;
    attr_run(NULL, &r);
    printf("joinable, then pthread_detach(self): %s\n", detach_name(r.detach));
    usleep(10000);                  /* the detached threads are gone */
}

/* ---- joins that do not wait forever ---- */

static void *sleeper(void *arg)
{
    usleep((useconds_t)(intptr_t)arg * 1000);
    return arg;
}

/* The threads that the joins below must find running wait for a byte on this
 * pipe rather than sleep: however late a loaded machine runs the joins, the
 * thread is still there until release() lets it end. */
static int gate[2];

static void *gated(void *arg)
{
    char c;

    if (read(gate[0], &c, 1) != 1)
        die("read");
    return arg;
}

static void release(void)
{
    if (write(gate[1], "x", 1) != 1)
        die("write");
}

static const char *window(long elapsed)
{
    return elapsed >= 100 && elapsed < 400 ? "after >= 100 ms and < 400 ms: yes" : "after >= 100 ms and < 400 ms: NO";
}

/* A thread that has finished: wait until it is gone natively too. */
static void start_finished(pthread_t *t)
{
    start(t, NULL, sleeper, (void *)0);
    usleep(20000);
}

static void check_joins(void)
{
    struct timespec ts;
    pthread_t t;
    void *r = NULL;
    long t0;
    int err, err2;

    xpipe(gate);
    start(&t, NULL, gated, (void *)50);
    err = pthread_tryjoin_np(t, &r);
    err2 = pthread_tryjoin_np(pthread_self(), NULL);
    printf("pthread_tryjoin_np while it runs: %s; on itself: %s\n", ename(err), ename(err2));
    release();
    while ((err = pthread_tryjoin_np(t, &r)) == EBUSY)
        usleep(5000);
    printf("  once it finished: %s, result %ld\n", ename(err), (long)(intptr_t)r);

    start(&t, NULL, gated, (void *)600);
    ts = abs_in(CLOCK_REALTIME, 100);
    t0 = now_ms();
    err = pthread_timedjoin_np(t, &r, &ts);
    printf("pthread_timedjoin_np 100 ms: %s %s\n", ename(err), window(now_ms() - t0));
    ts = abs_in(CLOCK_MONOTONIC, 100);
    t0 = now_ms();
    err = pthread_clockjoin_np(t, &r, CLOCK_MONOTONIC, &ts);
    printf("pthread_clockjoin_np CLOCK_MONOTONIC 100 ms: %s %s\n", ename(err), window(now_ms() - t0));
    ts = abs_in(CLOCK_REALTIME, 100);
    t0 = now_ms();
    err = pthread_clockjoin_np(t, &r, CLOCK_REALTIME, &ts);
    printf("pthread_clockjoin_np CLOCK_REALTIME 100 ms: %s %s\n", ename(err), window(now_ms() - t0));
    ts = abs_in(CLOCK_MONOTONIC, -10);
    t0 = now_ms();
    err = pthread_clockjoin_np(t, &r, CLOCK_MONOTONIC, &ts);
    printf("pthread_clockjoin_np with a deadline past: %s, at once: %s\n", ename(err), yes(now_ms() - t0 < 20));
    ts = (struct timespec){ -1, 0 };
    err = pthread_clockjoin_np(t, &r, CLOCK_MONOTONIC, &ts);
    printf("pthread_clockjoin_np with tv_sec -1: %s\n", ename(err));
    err = pthread_clockjoin_np(t, &r, CLOCK_PROCESS_CPUTIME_ID, &ts);
    printf("pthread_clockjoin_np CLOCK_PROCESS_CPUTIME_ID on a running thread: %s\n", ename(err));
    release();
    ts = abs_in(CLOCK_MONOTONIC, 5000);
    err = pthread_clockjoin_np(t, &r, CLOCK_MONOTONIC, &ts);
    printf("  then with 5 s: %s, result %ld\n", ename(err), (long)(intptr_t)r);

    start(&t, NULL, sleeper, (void *)50);
    err = pthread_clockjoin_np(t, &r, CLOCK_MONOTONIC, NULL);
    printf("pthread_clockjoin_np with no time: %s, result %ld\n", ename(err), (long)(intptr_t)r);

    start_finished(&t);
    ts = abs_in(CLOCK_MONOTONIC, 100);
    err = pthread_clockjoin_np(t, &r, CLOCK_BOOTTIME, &ts);
    printf("pthread_clockjoin_np CLOCK_BOOTTIME on a finished thread: %s\n", ename(err));
    if (err) {                      /* not joined: it still can be */
        err = pthread_join(t, &r);
        printf("  then pthread_join: %s\n", ename(err));
    }

    start_finished(&t);
    ts = (struct timespec){ 0, 1000000000L };
    err = pthread_clockjoin_np(t, &r, CLOCK_MONOTONIC, &ts);
    printf("pthread_clockjoin_np with tv_nsec 1e9 on a finished thread: %s\n", ename(err));
    if (err)
        join(t);

    start(&t, NULL, sleeper, (void *)50);  /* the join only ends when it does */
    r = NULL;
    ts = abs_in(CLOCK_MONOTONIC, 100);
    ts.tv_nsec = 1000000000L;
    err = pthread_clockjoin_np(t, &r, CLOCK_MONOTONIC, &ts);
    printf("pthread_clockjoin_np with tv_nsec 1e9 on a running thread: %s, result %ld\n", ename(err),
           (long)(intptr_t)r);
    if (err)
        join(t);
    close_pair(gate);
}

/* ---- signal masks ---- */

static bool blocked(int sig)
{
    sigset_t cur;

    pthread_sigmask(SIG_SETMASK, NULL, &cur);
    return sigismember(&cur, sig) == 1;
}

static bool a_usr1_before, a_usr1_after, a_usr2, b_usr1, b_usr2, c_usr1;

static void *c_thread(void *arg)
{
    (void)arg;
    c_usr1 = blocked(SIGUSR1);
    return NULL;
}

static void *a_thread(void *arg)
{
    sigset_t set, old;
    pthread_t c;

    (void)arg;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    a_usr1_before = sigismember(&old, SIGUSR1) == 1;
    atomic_store(&step, 1);
    for (int i = 0; i < 10; i++) {
        usleep(1000);
        sched_yield();
    }
    wait_step(2);
    a_usr1_after = blocked(SIGUSR1);
    a_usr2 = blocked(SIGUSR2);
    start(&c, NULL, c_thread, NULL);
    join(c);
    return NULL;
}

static void *b_thread(void *arg)
{
    sigset_t set;

    (void)arg;
    wait_step(1);
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    for (int i = 0; i < 10; i++) {
        usleep(1000);
        sched_yield();
    }
    b_usr1 = blocked(SIGUSR1);
    b_usr2 = blocked(SIGUSR2);
    atomic_store(&step, 2);
    return NULL;
}

static void *fill_thread(void *arg)
{
    sigset_t all, cur;
    char *out = arg;

    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, NULL);
    pthread_sigmask(SIG_SETMASK, NULL, &cur);
    sprintf(out, "SIGUSR1 %d, SIGKILL %d, SIGSTOP %d, 32 %d, 33 %d, SIGRTMIN %d, 64 %d",
            sigismember(&cur, SIGUSR1), sigismember(&cur, SIGKILL), sigismember(&cur, SIGSTOP),
            sigismember(&cur, 32), sigismember(&cur, 33), sigismember(&cur, SIGRTMIN),
            sigismember(&cur, 64));
    return NULL;
}

static void check_sigmask(void)
{
    pthread_t a, b;
    sigset_t set;
    char filled[128];

    atomic_store(&step, 0);
    start(&a, NULL, a_thread, NULL);
    start(&b, NULL, b_thread, NULL);
    join(a);
    join(b);
    printf("A blocks SIGUSR1 (blocked before: %s); B blocks SIGUSR2\n", yes(a_usr1_before));
    printf("  B sees SIGUSR1 blocked: %s, SIGUSR2: %s\n", yes(b_usr1), yes(b_usr2));
    printf("  A after switches sees SIGUSR1 blocked: %s, SIGUSR2: %s\n", yes(a_usr1_after), yes(a_usr2));
    printf("  a thread A creates sees SIGUSR1 blocked: %s; main: %s\n", yes(c_usr1), yes(blocked(SIGUSR1)));

    start(&a, NULL, fill_thread, filled);
    join(a);
    printf("every signal blocked, the mask reads: %s\n", filled);

    sigemptyset(&set);
    printf("pthread_sigmask with how 99: %s; without a set: %s\n",
           ename(pthread_sigmask(99, &set, NULL)), ename(pthread_sigmask(99, NULL, &set)));
}

/* ---- scheduling, pthread_kill, CPU clock ---- */

static void *waiter(void *arg)
{
    (void)arg;
    wait_step(1);
    return NULL;
}

static const char *policy_name(int p)
{
    return p == SCHED_OTHER ? "SCHED_OTHER" : p == SCHED_BATCH ? "SCHED_BATCH" : "other";
}

static void check_sched_kill(void)
{
    struct sched_param sp = { 0 };
    struct timespec ts;
    clockid_t clock;
    pthread_t t;
    int policy = -1, err;

    atomic_store(&step, 0);
    start(&t, NULL, waiter, NULL);
    err = pthread_getschedparam(t, &policy, &sp);
    printf("new thread: getschedparam %s, %s priority %d\n", ename(err), policy_name(policy), sp.sched_priority);
    sp.sched_priority = 0;
    err = pthread_setschedparam(t, SCHED_OTHER, &sp);
    pthread_getschedparam(t, &policy, &sp);
    printf("setschedparam SCHED_OTHER 0: %s, reads %s %d\n", ename(err), policy_name(policy), sp.sched_priority);
    sp.sched_priority = 5;
    err = pthread_setschedparam(t, SCHED_OTHER, &sp);
    pthread_getschedparam(t, &policy, &sp);
    printf("setschedparam SCHED_OTHER 5: %s, reads %s %d\n", ename(err), policy_name(policy), sp.sched_priority);
    sp.sched_priority = 0;
    err = pthread_setschedparam(t, 1234, &sp);
    printf("setschedparam policy 1234: %s\n", ename(err));
    err = pthread_setschedparam(t, SCHED_BATCH, &sp);
    pthread_getschedparam(t, &policy, &sp);
    printf("setschedparam SCHED_BATCH 0: %s, reads %s %d\n", ename(err), policy_name(policy), sp.sched_priority);
    printf("setschedprio 3: %s\n", ename(pthread_setschedprio(t, 3)));

    printf("pthread_kill(running thread, 0): %s; signal 1000: %s; signal 32: %s\n",
           ename(pthread_kill(t, 0)), ename(pthread_kill(t, 1000)), ename(pthread_kill(t, 32)));
    err = pthread_getcpuclockid(t, &clock);
    printf("pthread_getcpuclockid: %s, clock_gettime on it: %d\n", ename(err), clock_gettime(clock, &ts));
    atomic_store(&step, 1);
    usleep(20000);
    printf("pthread_kill(finished thread, 0): %s\n", ename(pthread_kill(t, 0)));
    join(t);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    alarm(10);
    check_attr();
    check_joins();
    check_sigmask();
    check_sched_kill();
    check_names();
    return 0;
}
