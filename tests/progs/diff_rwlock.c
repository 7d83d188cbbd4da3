/* diff_rwlock.c - reader-writer locks: results, error codes, timeouts, and who
 * gets the lock next for each kind glibc offers.
 *
 * Checks: every lock call on a free, read-held and write-held lock (EDEADLK
 * for rdlock/wrlock by the writer, EBUSY from the try variants, EINVAL for a
 * bad tv_nsec or clock even on a free lock, a past or negative deadline
 * taking a free lock but timing out on a held one); timed waits end within
 * 50 ms of their deadline; unlock by a thread that holds nothing; the order in
 * which waiting readers and writers get the lock under
 * PTHREAD_RWLOCK_PREFER_READER_NP (the default), PREFER_WRITER_NP and
 * PREFER_WRITER_NONRECURSIVE_NP (static initialiser and attribute): whether a
 * new reader joins while a writer waits, whether a writer's unlock lets the
 * readers or the next writer in, writers in arrival order, all waiting readers
 * let in together; 4 writers and 4 readers hammering one lock; a
 * process-shared lock used by this process and a child (fork) at once.
 *
 * Every ordering is fixed by the program itself: threads are started one by
 * one with pauses long enough for each to be waiting before the next step.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

static void init_kind(pthread_rwlock_t *l, int kind)
{
    pthread_rwlockattr_t a;

    pthread_rwlockattr_init(&a);
    if (pthread_rwlockattr_setkind_np(&a, kind))
        die_err("pthread_rwlockattr_setkind_np", EINVAL);
    pthread_rwlock_init(l, &a);
    pthread_rwlockattr_destroy(&a);
}

/* ---- who got the lock, in order ---- */

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char order[256];

static void note(const char *who)
{
    pthread_mutex_lock(&log_lock);
    if (order[0])
        strcat(order, " ");
    strcat(order, who);
    pthread_mutex_unlock(&log_lock);
}

static void show(const char *what)
{
    printf("%s: %s\n", what, order);
    order[0] = 0;
}

/* A thread that takes the lock (reading or writing), notes its name, holds
 * the lock for hold_ms and lets go. */
struct actor {
    pthread_rwlock_t *l;
    const char *name;
    int write, hold_ms;
    int result;
};

static void *actor_main(void *arg)
{
    struct actor *a = arg;

    a->result = a->write ? pthread_rwlock_wrlock(a->l) : pthread_rwlock_rdlock(a->l);
    if (a->result)
        return NULL;
    note(a->name);
    usleep((useconds_t)a->hold_ms * 1000);
    pthread_rwlock_unlock(a->l);
    return NULL;
}

/* ---- a thread holding the lock until told to let go ---- */

struct holder {
    pthread_rwlock_t *l;
    int write;
    int state;                      /* 0 starting, 1 holding, 2 release */
    pthread_mutex_t m;
    pthread_cond_t c;
};

static void set_state(struct holder *h, int state)
{
    pthread_mutex_lock(&h->m);
    h->state = state;
    pthread_cond_broadcast(&h->c);
    pthread_mutex_unlock(&h->m);
}

static void await_state(struct holder *h, int state)
{
    pthread_mutex_lock(&h->m);
    while (h->state != state)
        pthread_cond_wait(&h->c, &h->m);
    pthread_mutex_unlock(&h->m);
}

static void *holder_main(void *arg)
{
    struct holder *h = arg;
    int err = h->write ? pthread_rwlock_wrlock(h->l) : pthread_rwlock_rdlock(h->l);

    if (err)
        die_err("holder lock", err);
    set_state(h, 1);
    await_state(h, 2);
    pthread_rwlock_unlock(h->l);
    return NULL;
}

static pthread_t hold(struct holder *h, pthread_rwlock_t *l, int write)
{
    pthread_t t;

    h->l = l;
    h->write = write;
    h->state = 0;
    pthread_mutex_init(&h->m, NULL);
    pthread_cond_init(&h->c, NULL);
    t = spawn(holder_main, h);
    await_state(h, 1);
    return t;
}

static void release(struct holder *h, pthread_t t)
{
    set_state(h, 2);
    join(t);
}

/* ---- calls and error codes ---- */

/* One call per line: the order of the calls is the order of the lines. */
#define SAY(what, call) printf("%s: %s\n", what, ename(call))

static void check_calls(void)
{
    pthread_rwlock_t l = PTHREAD_RWLOCK_INITIALIZER;
    struct timespec bad_ns = abs_in(CLOCK_REALTIME, 100), neg_ns, past, neg_sec = { -1, 0 };
    struct timespec mono = abs_in(CLOCK_MONOTONIC, 100);

    bad_ns.tv_nsec = 1000000000L;
    neg_ns = bad_ns;
    neg_ns.tv_nsec = -1;
    past = abs_in(CLOCK_REALTIME, -1000);

    SAY("rdlock", pthread_rwlock_rdlock(&l));
    SAY("rdlock again", pthread_rwlock_rdlock(&l));
    SAY("tryrdlock", pthread_rwlock_tryrdlock(&l));
    SAY("trywrlock on a read-held lock", pthread_rwlock_trywrlock(&l));
    SAY("timedwrlock on a read-held lock, past deadline", pthread_rwlock_timedwrlock(&l, &past));
    SAY("unlock", pthread_rwlock_unlock(&l));
    SAY("unlock", pthread_rwlock_unlock(&l));
    SAY("unlock", pthread_rwlock_unlock(&l));

    SAY("trywrlock", pthread_rwlock_trywrlock(&l));
    SAY("writer: trywrlock", pthread_rwlock_trywrlock(&l));
    SAY("writer: tryrdlock", pthread_rwlock_tryrdlock(&l));
    SAY("writer: wrlock", pthread_rwlock_wrlock(&l));
    SAY("writer: rdlock", pthread_rwlock_rdlock(&l));
    SAY("writer: timedwrlock past deadline", pthread_rwlock_timedwrlock(&l, &past));
    SAY("writer: clockrdlock CLOCK_MONOTONIC", pthread_rwlock_clockrdlock(&l, CLOCK_MONOTONIC, &mono));
    SAY("writer: timedrdlock tv_nsec 1e9", pthread_rwlock_timedrdlock(&l, &bad_ns));
    SAY("writer: clockwrlock CLOCK_PROCESS_CPUTIME_ID",
        pthread_rwlock_clockwrlock(&l, CLOCK_PROCESS_CPUTIME_ID, &mono));
    SAY("unlock", pthread_rwlock_unlock(&l));

    SAY("free: timedrdlock tv_nsec 1e9", pthread_rwlock_timedrdlock(&l, &bad_ns));
    SAY("free: timedwrlock tv_nsec -1", pthread_rwlock_timedwrlock(&l, &neg_ns));
    SAY("free: clockrdlock CLOCK_THREAD_CPUTIME_ID",
        pthread_rwlock_clockrdlock(&l, CLOCK_THREAD_CPUTIME_ID, &mono));
    SAY("free: clockwrlock CLOCK_BOOTTIME", pthread_rwlock_clockwrlock(&l, CLOCK_BOOTTIME, &mono));
    SAY("free: timedrdlock past deadline", pthread_rwlock_timedrdlock(&l, &past));
    SAY("unlock", pthread_rwlock_unlock(&l));
    SAY("free: timedwrlock tv_sec -1", pthread_rwlock_timedwrlock(&l, &neg_sec));
    SAY("unlock", pthread_rwlock_unlock(&l));
    SAY("free: clockwrlock CLOCK_MONOTONIC", pthread_rwlock_clockwrlock(&l, CLOCK_MONOTONIC, &mono));
    SAY("unlock", pthread_rwlock_unlock(&l));
    SAY("free: clockrdlock CLOCK_REALTIME past deadline",
        pthread_rwlock_clockrdlock(&l, CLOCK_REALTIME, &past));
    SAY("unlock", pthread_rwlock_unlock(&l));
    SAY("destroy", pthread_rwlock_destroy(&l));
}

/* ---- timeouts against another thread's lock ---- */

static void check_timeouts(void)
{
    pthread_rwlock_t l = PTHREAD_RWLOCK_INITIALIZER;
    struct timespec ts, neg_sec = { -1, 0 };
    struct holder h;
    pthread_t t;
    long start;
    int r;

    t = hold(&h, &l, 1);
    SAY("write-held by another thread: tryrdlock", pthread_rwlock_tryrdlock(&l));
    SAY("write-held by another thread: trywrlock", pthread_rwlock_trywrlock(&l));
    start = now_ms();
    ts = abs_in(CLOCK_REALTIME, 100);
    r = pthread_rwlock_timedrdlock(&l, &ts);
    printf("timedrdlock 100 ms: %s, timed out after >= 100 ms and < 400 ms: %s\n", ename(r),
           within(start, 100, 100 + LATE_MS));
    start = now_ms();
    ts = abs_in(CLOCK_MONOTONIC, 100);
    r = pthread_rwlock_clockwrlock(&l, CLOCK_MONOTONIC, &ts);
    printf("clockwrlock CLOCK_MONOTONIC 100 ms: %s, timed out after >= 100 ms and < 400 ms: %s\n",
           ename(r), within(start, 100, 100 + LATE_MS));
    start = now_ms();
    ts = abs_in(CLOCK_REALTIME, -10);
    r = pthread_rwlock_timedwrlock(&l, &ts);
    printf("timedwrlock past deadline: %s, at once (< 300 ms): %s\n", ename(r),
           within(start, 0, LATE_MS));
    start = now_ms();
    r = pthread_rwlock_timedrdlock(&l, &neg_sec);
    printf("timedrdlock tv_sec -1: %s, at once (< 300 ms): %s\n", ename(r), within(start, 0, LATE_MS));
    release(&h, t);

    t = hold(&h, &l, 0);
    start = now_ms();
    ts = abs_in(CLOCK_REALTIME, 100);
    r = pthread_rwlock_timedwrlock(&l, &ts);
    printf("read-held: timedwrlock 100 ms: %s, timed out after >= 100 ms and < 400 ms: %s\n",
           ename(r), within(start, 100, 100 + LATE_MS));
    ts = abs_in(CLOCK_MONOTONIC, 100);
    SAY("read-held: clockrdlock", pthread_rwlock_clockrdlock(&l, CLOCK_MONOTONIC, &ts));
    SAY("unlock", pthread_rwlock_unlock(&l));
    release(&h, t);
    SAY("after the holders: trywrlock", pthread_rwlock_trywrlock(&l));
    SAY("unlock", pthread_rwlock_unlock(&l));
}

/* ---- unlock by a thread that holds nothing ---- */

static void *take_read_and_exit(void *arg)
{
    return (void *)(intptr_t)pthread_rwlock_rdlock(arg);
}

static void check_foreign_unlock(void)
{
    pthread_rwlock_t l = PTHREAD_RWLOCK_INITIALIZER, never_locked = PTHREAD_RWLOCK_INITIALIZER;

    join(spawn(take_read_and_exit, &l));
    SAY("read lock left by an exited thread: trywrlock", pthread_rwlock_trywrlock(&l));
    SAY("unlock by a thread that holds nothing", pthread_rwlock_unlock(&l));
    SAY("then trywrlock", pthread_rwlock_trywrlock(&l));
    SAY("unlock", pthread_rwlock_unlock(&l));
    SAY("unlock of a lock never locked", pthread_rwlock_unlock(&never_locked));
}

/* ---- preference ---- */

static const char *kind_name(int kind)
{
    switch (kind) {
    case PTHREAD_RWLOCK_PREFER_READER_NP: return "PREFER_READER";
    case PTHREAD_RWLOCK_PREFER_WRITER_NP: return "PREFER_WRITER";
    default: return "PREFER_WRITER_NONRECURSIVE";
    }
}

/* A reader arrives while this thread reads and a writer waits. */
static void new_reader_vs_waiting_writer(pthread_rwlock_t *l, const char *kind)
{
    struct actor w = { l, "W", 1, 30, 0 }, r = { l, "R2", 0, 30, 0 };
    struct timespec ts;
    pthread_t tw, tr;
    long start;
    int res;

    pthread_rwlock_rdlock(l);
    tw = spawn(actor_main, &w);
    usleep(50000);
    res = pthread_rwlock_tryrdlock(l);
    printf("%s: tryrdlock while a writer waits: %s\n", kind, ename(res));
    if (res == 0)
        pthread_rwlock_unlock(l);
    start = now_ms();
    ts = abs_in(CLOCK_REALTIME, 60);
    res = pthread_rwlock_timedrdlock(l, &ts);
    printf("%s: timedrdlock 60 ms while a writer waits: %s, within 300 ms of the outcome: %s\n",
           kind, ename(res), res ? within(start, 60, 60 + LATE_MS) : within(start, 0, LATE_MS));
    if (res == 0)
        pthread_rwlock_unlock(l);
    tr = spawn(actor_main, &r);
    usleep(50000);
    note("unlock");
    pthread_rwlock_unlock(l);
    join(tw);
    join(tr);
    show(kind);
}

/* This thread writes; a reader, then a writer queue; who is next? */
static void writer_unlock_hands_to(pthread_rwlock_t *l, const char *kind)
{
    struct actor r = { l, "R", 0, 30, 0 }, w = { l, "W2", 1, 30, 0 };
    pthread_t tr, tw;

    pthread_rwlock_wrlock(l);
    tr = spawn(actor_main, &r);
    usleep(30000);
    tw = spawn(actor_main, &w);
    usleep(30000);
    pthread_rwlock_unlock(l);
    join(tr);
    join(tw);
    show(kind);
}

/* Writers queue one by one behind this thread's write lock. */
static void writers_in_arrival_order(pthread_rwlock_t *l, const char *kind)
{
    struct actor w[3] = { { l, "Wa", 1, 10, 0 }, { l, "Wb", 1, 10, 0 }, { l, "Wc", 1, 10, 0 } };
    pthread_t t[3];
    int i;

    pthread_rwlock_wrlock(l);
    for (i = 0; i < 3; i++) {
        t[i] = spawn(actor_main, &w[i]);
        usleep(20000);
    }
    pthread_rwlock_unlock(l);
    for (i = 0; i < 3; i++)
        join(t[i]);
    show(kind);
}

/* Readers waiting for a writer all get in together. */
static int inside, most_inside;

static void *counting_reader(void *arg)
{
    pthread_rwlock_t *l = arg;
    int i;

    pthread_rwlock_rdlock(l);
    pthread_mutex_lock(&log_lock);
    if (++inside > most_inside)
        most_inside = inside;
    pthread_mutex_unlock(&log_lock);
    for (i = 0; i < 200 && most_inside < 3; i++)
        usleep(1000);
    pthread_mutex_lock(&log_lock);
    inside--;
    pthread_mutex_unlock(&log_lock);
    pthread_rwlock_unlock(l);
    return NULL;
}

static void readers_together(pthread_rwlock_t *l, const char *kind)
{
    pthread_t t[3];
    int i;

    inside = most_inside = 0;
    pthread_rwlock_wrlock(l);
    for (i = 0; i < 3; i++)
        t[i] = spawn(counting_reader, l);
    usleep(30000);
    pthread_rwlock_unlock(l);
    for (i = 0; i < 3; i++)
        join(t[i]);
    printf("%s: 3 waiting readers inside at once after the writer: %s\n", kind,
           most_inside == 3 ? "yes" : "no");
}

static void check_kind(pthread_rwlock_t *l, const char *kind, int arrival_order)
{
    char what[96];

    snprintf(what, sizeof(what), "%s: a reader arrives while one reads and a writer waits", kind);
    new_reader_vs_waiting_writer(l, what);
    snprintf(what, sizeof(what), "%s: a reader then a writer wait for a writer", kind);
    writer_unlock_hands_to(l, what);
    if (arrival_order) {
        snprintf(what, sizeof(what), "%s: three writers wait for a writer", kind);
        writers_in_arrival_order(l, what);
    }
    readers_together(l, kind);
}

static void check_preferences(void)
{
    pthread_rwlock_t dflt = PTHREAD_RWLOCK_INITIALIZER;
    pthread_rwlock_t nonrec = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
    pthread_rwlock_t l;
    int kind;

    check_kind(&dflt, "default (static)", 1);
    check_kind(&nonrec, "WRITER_NONRECURSIVE (static)", 1);
    for (kind = PTHREAD_RWLOCK_PREFER_READER_NP; kind <= PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP;
         kind++) {
        init_kind(&l, kind);
        check_kind(&l, kind_name(kind), 0);
        pthread_rwlock_destroy(&l);
    }
}

/* ---- many threads at once ---- */

#define WRITERS 4
#define READERS 4
#define ROUNDS 2000

static pthread_rwlock_t busy = PTHREAD_RWLOCK_INITIALIZER;
static long shared_a, shared_b, torn, reads_done;

static void *busy_writer(void *arg)
{
    int i;

    (void)arg;
    for (i = 0; i < ROUNDS; i++) {
        if (i % 3 == 0) {
            while (pthread_rwlock_trywrlock(&busy) != 0)
                sched_yield();
        } else {
            pthread_rwlock_wrlock(&busy);
        }
        shared_a++;
        if (i % 16 == 0)
            sched_yield();          /* others must keep out meanwhile */
        shared_b++;
        pthread_rwlock_unlock(&busy);
    }
    return NULL;
}

static void *busy_reader(void *arg)
{
    long a, b, seen = 0;
    int i;

    (void)arg;
    for (i = 0; i < ROUNDS; i++) {
        pthread_rwlock_rdlock(&busy);
        a = shared_a;
        if (i % 16 == 0)
            sched_yield();
        b = shared_b;
        pthread_rwlock_unlock(&busy);
        seen += a != b;
    }
    pthread_mutex_lock(&log_lock);
    torn += seen;
    reads_done += ROUNDS;
    pthread_mutex_unlock(&log_lock);
    return NULL;
}

static void check_busy(void)
{
    pthread_t t[WRITERS + READERS];
    int i;

    for (i = 0; i < WRITERS + READERS; i++)
        t[i] = spawn(i < WRITERS ? busy_writer : busy_reader, NULL);
    for (i = 0; i < WRITERS + READERS; i++)
        join(t[i]);
    printf("%d writers x %d, %d readers x %d: total %ld (expected %d), reads %ld, torn reads %ld\n",
           WRITERS, ROUNDS, READERS, ROUNDS, shared_b, WRITERS * ROUNDS, reads_done, torn);
}

/* ---- a process-shared lock ---- */

struct shm {
    pthread_rwlock_t l;
    int child_writing;
};

static void *shared_reader(void *arg)
{
    struct shm *shm = arg;
    struct timespec ts = abs_in(CLOCK_REALTIME, 100);
    long start = now_ms();
    int r = pthread_rwlock_timedrdlock(&shm->l, &ts);

    printf("shared: another thread of the writer's process: timedrdlock 100 ms %s, "
           "timed out after >= 100 ms and < 400 ms: %s\n", ename(r), within(start, 100, 100 + LATE_MS));
    return NULL;
}

static void check_shared(void)
{
    struct shm *shm = shared_mem(sizeof(*shm));
    pthread_rwlockattr_t a;
    pthread_t tick;
    long start;
    pid_t pid;
    int status, r;

    pthread_rwlockattr_init(&a);
    pthread_rwlockattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_rwlock_init(&shm->l, &a);
    pthread_rwlockattr_destroy(&a);

    SAY("shared: wrlock", pthread_rwlock_wrlock(&shm->l));
    SAY("shared: wrlock again", pthread_rwlock_wrlock(&shm->l));
    SAY("shared: rdlock by the writer", pthread_rwlock_rdlock(&shm->l));
    SAY("shared: trywrlock by the writer", pthread_rwlock_trywrlock(&shm->l));
    SAY("shared: tryrdlock by the writer", pthread_rwlock_tryrdlock(&shm->l));
    join(spawn(shared_reader, shm));
    pid = xfork();
    if (pid == 0) {
        /* the child waits for the parent's write lock, then holds its own */
        if (pthread_rwlock_wrlock(&shm->l) != 0)
            _exit(1);
        shm->child_writing = 1;
        usleep(200000);
        shm->child_writing = 2;
        pthread_rwlock_unlock(&shm->l);
        _exit(0);
    }
    usleep(100000);
    printf("shared: the child waits while the parent writes: %s\n",
           shm->child_writing == 0 ? "yes" : "no");
    SAY("shared: unlock", pthread_rwlock_unlock(&shm->l));
    while (shm->child_writing == 0)
        usleep(1000);
    tick = start_ticker();
    start = now_ms();
    r = pthread_rwlock_rdlock(&shm->l);
    stop_ticker(tick);
    printf("shared: rdlock %s after the child's write lock (>= 100 ms): %s, child done: %s, "
           "other threads ran meanwhile: %s\n", ename(r), within(start, 100, 1000),
           shm->child_writing == 2 ? "yes" : "no", ticks >= 5 ? "yes" : "no");
    SAY("shared: unlock", pthread_rwlock_unlock(&shm->l));
    if (waitpid(pid, &status, 0) != pid)
        die("waitpid");
    printf("shared: child exit status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    munmap(shm, sizeof(*shm));
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    alarm(20);
    check_calls();
    check_timeouts();
    check_foreign_unlock();
    check_preferences();
    check_busy();
    check_shared();
    printf("done\n");
    return 0;
}
