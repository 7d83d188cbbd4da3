/* diff_keys.c - thread-specific data: pthread_key_* values and destructors.
 *
 * Checks: each thread sees only its own value of a key, also after switching
 * with other threads, and a new thread starts with NULL; main keeps its own
 * value throughout. At exit (return or pthread_exit) the destructor is called
 * with the thread's value, which getspecific no longer returns; it is not
 * called for a NULL value (never set, or set back to NULL). A destructor that
 * sets a new value gets another round, up to PTHREAD_DESTRUCTOR_ITERATIONS
 * rounds; one that sets another key's value after that key's destructor ran
 * gets that destructor called again in the next round. A destructor may
 * sleep: pthread_join returns after it. A deleted key reads
 * NULL, rejects setspecific and a second delete with EINVAL, and its
 * destructor is not called for values set before the delete; a key created
 * after a delete (glibc reuses the number) reads NULL in every thread that had
 * a value for the old one. Keys out of range: EINVAL / NULL. 200 keys at once
 * in two threads keep their values and get 200 destructor calls each. main's
 * own destructor runs when main calls pthread_exit last.
 *
 * Only main prints (destructors log, main prints the log).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

#define NKEYS 200

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char events[1024];

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

static const char *str(const void *v)
{
    return v ? (const char *)v : "NULL";
}

static void create_key(pthread_key_t *k, void (*destructor)(void *))
{
    check(pthread_key_create(k, destructor), "pthread_key_create");
}

/* ---- values per thread, destructors at exit ---- */

static pthread_key_t key_a;

/* key_a's values: each thread's record, where its destructor call is noted
 * (the two threads end in either order natively). */
struct per_thread {
    const char *name;
    bool use_exit;
    bool initially_null, kept_value;
    char destructed[64];
};

static void destructor_a(void *value)
{
    struct per_thread *p = value;

    snprintf(p->destructed, sizeof(p->destructed), "called with %s's value, getspecific then %s",
             p->name, pthread_getspecific(key_a) ? "not NULL" : "NULL");
}

static void *per_thread(void *arg)
{
    struct per_thread *p = arg;

    p->initially_null = pthread_getspecific(key_a) == NULL;
    pthread_setspecific(key_a, p);
    for (int i = 0; i < 5; i++) {
        usleep(1000);
        sched_yield();
    }
    p->kept_value = pthread_getspecific(key_a) == p;
    if (p->use_exit)
        pthread_exit(NULL);
    return NULL;
}

static void check_values(void)
{
    struct per_thread p[2] = { { .name = "t1" }, { .name = "t2", .use_exit = true } };
    struct per_thread *mine;
    pthread_t t[2];

    for (int i = 0; i < 2; i++)
        t[i] = spawn(per_thread, &p[i]);
    for (int i = 0; i < 2; i++)
        join(t[i]);
    for (int i = 0; i < 2; i++)
        printf("%s (%s): starts with NULL: %s, keeps its own value across switches: %s; "
               "destructor %s\n", p[i].name, p[i].use_exit ? "pthread_exit" : "returns",
               p[i].initially_null ? "yes" : "no", p[i].kept_value ? "yes" : "no",
               p[i].destructed[0] ? p[i].destructed : "not called");
    mine = pthread_getspecific(key_a);
    printf("main's own value after that: %s\n", mine ? mine->name : "NULL");
}

/* ---- destructor rounds ---- */

static pthread_key_t key_always, key_twice, key_d, key_c;
static int calls_always, calls_twice;

static void destructor_always(void *value)
{
    calls_always++;
    pthread_setspecific(key_always, value);
}

static void destructor_twice(void *value)
{
    if (++calls_twice <= 2)
        pthread_setspecific(key_twice, value);
}

static void destructor_d(void *value)
{
    note("d(%s)", str(value));
}

/* key_c was created after key_d: its destructor runs after d's in a round. */
static void destructor_c(void *value)
{
    note("c(%s)", str(value));
    pthread_setspecific(key_d, "set by c");
}

static void *rounds_thread(void *arg)
{
    (void)arg;
    pthread_setspecific(key_always, "always");
    pthread_setspecific(key_twice, "twice");
    pthread_setspecific(key_d, "d");
    pthread_setspecific(key_c, "c");
    return NULL;
}

static void check_rounds(void)
{
    create_key(&key_always, destructor_always);
    create_key(&key_twice, destructor_twice);
    create_key(&key_d, destructor_d);
    create_key(&key_c, destructor_c);
    events[0] = '\0';
    join(spawn(rounds_thread, NULL));
    printf("PTHREAD_DESTRUCTOR_ITERATIONS %d; a destructor that always sets a new value: "
           "called %d times; one that sets it again twice: called %d times\n",
           PTHREAD_DESTRUCTOR_ITERATIONS, calls_always, calls_twice);
    printf("a destructor setting an earlier key's value: %s\n", events);
}

/* ---- NULL values ---- */

static pthread_key_t key_n;

static void destructor_n(void *value)
{
    note("destructor_n(%s)", str(value));
}

static void *null_thread(void *arg)
{
    if (arg) {
        pthread_setspecific(key_n, "x");
        pthread_setspecific(key_n, NULL);
    }
    return NULL;
}

static void check_null(void)
{
    create_key(&key_n, destructor_n);
    events[0] = '\0';
    join(spawn(null_thread, NULL));
    join(spawn(null_thread, "set back to NULL"));
    printf("destructor calls for a never-set value and one set back to NULL: %s\n",
           events[0] ? events : "none");
}

/* ---- a destructor that waits ---- */

static pthread_key_t key_slow;
static atomic_int slow_done;

static void destructor_slow(void *value)
{
    (void)value;
    usleep(20000);
    atomic_store(&slow_done, 1);
}

static void *slow_thread(void *arg)
{
    pthread_setspecific(key_slow, arg);
    return NULL;
}

static void check_slow(void)
{
    create_key(&key_slow, destructor_slow);
    join(spawn(slow_thread, "slow"));
    printf("a destructor that sleeps 20 ms: pthread_join returned after it finished: %s\n",
           atomic_load(&slow_done) ? "yes" : "no");
}

/* ---- deleting keys ---- */

static pthread_key_t key_del;
static atomic_int step;

static void destructor_del(void *value)
{
    note("destructor_del(%s)", str(value));
}

static void wait_step(int s)
{
    while (atomic_load(&step) < s)
        usleep(1000);
}

/* Holds a value for key_del while main deletes it and creates a new key. */
static void *holder_thread(void *arg)
{
    pthread_key_t *again = arg;

    pthread_setspecific(key_del, "held");
    atomic_store(&step, 1);
    wait_step(2);
    note("holder reads the deleted key: %s, the new key: %s", str(pthread_getspecific(key_del)),
         str(pthread_getspecific(*again)));
    return NULL;
}

static void check_delete(void)
{
    pthread_key_t again;
    pthread_t t;

    create_key(&key_del, destructor_del);
    events[0] = '\0';
    t = spawn(holder_thread, &again);
    wait_step(1);
    pthread_setspecific(key_del, "main's");
    printf("pthread_key_delete: %s\n", ename(pthread_key_delete(key_del)));
    printf("  main reads the deleted key: %s\n", str(pthread_getspecific(key_del)));
    printf("  pthread_setspecific on it: %s\n", ename(pthread_setspecific(key_del, "x")));
    printf("  pthread_key_delete again: %s\n", ename(pthread_key_delete(key_del)));
    create_key(&again, destructor_del);
    printf("  a key created after it reads in main: %s\n", str(pthread_getspecific(again)));
    atomic_store(&step, 2);
    join(t);
    printf("  %s\n", events);
    printf("  (no destructor call above for the deleted key's values)\n");
    pthread_key_delete(again);

    printf("keys out of range: setspecific(PTHREAD_KEYS_MAX) %s, setspecific(100000) %s, "
           "getspecific(PTHREAD_KEYS_MAX) %s, key_delete(PTHREAD_KEYS_MAX) %s\n",
           ename(pthread_setspecific(PTHREAD_KEYS_MAX, "x")),
           ename(pthread_setspecific(100000, "x")),
           str(pthread_getspecific(PTHREAD_KEYS_MAX)),
           ename(pthread_key_delete(PTHREAD_KEYS_MAX)));
    printf("never created key %d: setspecific %s, getspecific %s, key_delete %s\n",
           PTHREAD_KEYS_MAX - 1, ename(pthread_setspecific(PTHREAD_KEYS_MAX - 1, "x")),
           str(pthread_getspecific(PTHREAD_KEYS_MAX - 1)),
           ename(pthread_key_delete(PTHREAD_KEYS_MAX - 1)));
}

/* ---- many keys ---- */

static pthread_key_t many[NKEYS];
static atomic_long many_calls, many_sum;

static void destructor_many(void *value)
{
    atomic_fetch_add(&many_calls, 1);
    atomic_fetch_add(&many_sum, (long)(intptr_t)value);
}

static void *many_thread(void *arg)
{
    intptr_t base = (intptr_t)arg;
    long ok = 0;

    for (int i = 0; i < NKEYS; i++) {
        if (pthread_getspecific(many[i]) != NULL)
            return (void *)-1;
        pthread_setspecific(many[i], (void *)(base + i));
        if (i % 50 == 0)
            usleep(1000);
    }
    sched_yield();
    for (int i = 0; i < NKEYS; i++)
        ok += pthread_getspecific(many[i]) == (void *)(base + i);
    return (void *)ok;
}

static void check_many(void)
{
    pthread_t t[2];
    void *r[2];
    long expect = 0;

    for (int i = 0; i < NKEYS; i++)
        create_key(&many[i], destructor_many);
    for (int i = 0; i < 2; i++)
        t[i] = spawn(many_thread, (void *)(intptr_t)((i + 1) * 1000));
    for (int i = 0; i < 2; i++)
        check(pthread_join(t[i], &r[i]), "pthread_join");
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < NKEYS; k++)
            expect += (i + 1) * 1000 + k;
    printf("%d keys: thread 1 read back %ld, thread 2 %ld; %ld destructor calls, values right: %s\n",
           NKEYS, (long)(intptr_t)r[0], (long)(intptr_t)r[1], atomic_load(&many_calls),
           atomic_load(&many_sum) == expect ? "yes" : "no");
    for (int i = 0; i < NKEYS; i++)
        check(pthread_key_delete(many[i]), "pthread_key_delete");
}

static void destructor_main(void *value)
{
    printf("main's destructor called with %s\n", str(value));
}

int main(void)
{
    static struct per_thread main_record = { .name = "main" };
    struct per_thread *mine;
    pthread_key_t key_main;

    setvbuf(stdout, NULL, _IOLBF, 0);
    alarm(10);
    create_key(&key_a, destructor_a);
    create_key(&key_main, destructor_main);
    pthread_setspecific(key_a, &main_record);
    pthread_setspecific(key_main, "main's value");
    check_values();
    check_rounds();
    check_null();
    check_slow();
    check_delete();
    check_many();
    mine = pthread_getspecific(key_a);
    printf("main's values at the end: %s, %s; main calls pthread_exit\n",
           mine ? mine->name : "NULL", str(pthread_getspecific(key_main)));
    pthread_setspecific(key_a, NULL);
    pthread_exit(NULL);
}
