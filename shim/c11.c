/* c11.c - C11 threads (<threads.h>) on the shim's pthreads.
 *
 * glibc 2.34+ implements thrd_*, mtx_*, cnd_*, tss_* and call_once with direct
 * calls to its internal __pthread_* functions, which no LD_PRELOAD library can
 * interpose: unwrapped, a C11 program would block the OS thread in glibc's
 * own mutexes and make OS threads. So each function is written here as glibc
 * 2.36 writes it (sysdeps/pthread/thrd_*.c, mtx_*.c, cnd_*.c, tss_*.c,
 * call_once.c), calling the exported pthread names instead: inside
 * libgreenrun.so those reach the shim's own wrappers. The pthread error code
 * is mapped to a thrd_* result by thrd_err_map, as glibc's thrd_priv.h does.
 *
 * The C11 types are glibc's pthread types under other names (asserted below),
 * so mtx_init, mtx_destroy, cnd_init and cnd_destroy stay glibc's: they are
 * pthread_mutex_init/destroy and pthread_cond_init/destroy, whose results the
 * shim's mutex and condvar layouts accept (mtx_init sets only the kind:
 * PTHREAD_MUTEX_RECURSIVE for mtx_recursive, else PTHREAD_MUTEX_NORMAL).
 *
 * thrd_create: glibc passes ATTR_C11_THREAD to pthread_create, and its thread
 * start calls the int-returning function through its own type and stores the
 * int as the thread's void * result, (void *)(uintptr_t)res; thrd_exit(res)
 * is pthread_exit((void *)(uintptr_t)res) and thrd_join converts back with
 * (int)(uintptr_t). A green thread carries no such mark, so a small heap
 * record takes the function and its argument to a trampoline that makes the
 * same call and the same conversion.
 */
#include <errno.h>
#include <sched.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>

#include "shim.h"

_Static_assert(sizeof(thrd_t) == sizeof(pthread_t), "thrd_t is a pthread_t");
_Static_assert(sizeof(mtx_t) == sizeof(pthread_mutex_t) &&
               alignof(mtx_t) == alignof(pthread_mutex_t), "mtx_t is a pthread_mutex_t");
_Static_assert(sizeof(cnd_t) == sizeof(pthread_cond_t) &&
               alignof(cnd_t) == alignof(pthread_cond_t), "cnd_t is a pthread_cond_t");
_Static_assert(sizeof(tss_t) == sizeof(pthread_key_t), "tss_t is a pthread_key_t");
_Static_assert(sizeof(once_flag) == sizeof(pthread_once_t) &&
               alignof(once_flag) == alignof(pthread_once_t), "once_flag is a pthread_once_t");

/* glibc's thrd_err_map (sysdeps/pthread/thrd_priv.h). */
static int thrd_err_map(int err)
{
    switch (err) {
    case 0:
        return thrd_success;
    case ENOMEM:
        return thrd_nomem;
    case ETIMEDOUT:
        return thrd_timedout;
    case EBUSY:
        return thrd_busy;
    default:
        return thrd_error;
    }
}

/* ---- threads ---- */

struct c11_start {
    thrd_start_t func;
    void *arg;
};

static void *c11_trampoline(void *p)
{
    struct c11_start start = *(struct c11_start *)p;

    free(p);
    return (void *)(uintptr_t)start.func(start.arg);
}

SHIM_EXPORT int thrd_create(thrd_t *thr, thrd_start_t func, void *arg)
{
    struct c11_start *start;
    int err;

    if (!rt_green())
        return REAL(thrd_create)(thr, func, arg);
    start = malloc(sizeof(*start));
    if (!start)
        return thrd_err_map(EAGAIN);    /* glibc's pthread_create out of memory */
    start->func = func;
    start->arg = arg;
    err = pthread_create((pthread_t *)thr, NULL, c11_trampoline, start);
    if (err)
        free(start);
    return thrd_err_map(err);
}

/* glibc stores *res even when the join fails, from a variable the failed
 * join never set; here it is left alone then. */
SHIM_EXPORT int thrd_join(thrd_t thr, int *res)
{
    void *result;
    int err;

    if (!rt_green())
        return REAL(thrd_join)(thr, res);
    err = pthread_join(thr, &result);
    if (err == 0 && res)
        *res = (int)(uintptr_t)result;
    return thrd_err_map(err);
}

SHIM_EXPORT int thrd_detach(thrd_t thr)
{
    if (!rt_green())
        return REAL(thrd_detach)(thr);
    return thrd_err_map(pthread_detach(thr));
}

/* glibc's thrd_exit is this very call; off a green thread the shim's
 * pthread_exit is glibc's, so there is nothing else to pass through to. */
SHIM_EXPORT _Noreturn void thrd_exit(int res)
{
    pthread_exit((void *)(uintptr_t)res);
}

SHIM_EXPORT thrd_t thrd_current(void)
{
    if (!rt_green())
        return REAL(thrd_current)();
    return pthread_self();
}

SHIM_EXPORT int thrd_equal(thrd_t a, thrd_t b)
{
    return a == b;
}

/* glibc sleeps with clock_nanosleep(CLOCK_REALTIME, 0, ...), which reports
 * its error as a result and leaves errno alone: 0, -1 when a signal
 * interrupted the sleep (*remaining then says how much was left), -2 on any
 * other error. */
SHIM_EXPORT int thrd_sleep(const struct timespec *duration, struct timespec *remaining)
{
    int saved_errno = errno, r;

    if (!rt_green())
        return REAL(thrd_sleep)(duration, remaining);
    if (nanosleep(duration, remaining) == 0)
        r = 0;
    else
        r = errno == EINTR ? -1 : -2;
    errno = saved_errno;
    return r;
}

SHIM_EXPORT void thrd_yield(void)
{
    if (!rt_green()) {
        REAL(thrd_yield)();
        return;
    }
    sched_yield();
}

/* ---- mutexes ---- */

SHIM_EXPORT int mtx_lock(mtx_t *m)
{
    if (!rt_green())
        return REAL(mtx_lock)(m);
    return thrd_err_map(pthread_mutex_lock((pthread_mutex_t *)m));
}

SHIM_EXPORT int mtx_timedlock(mtx_t *restrict m, const struct timespec *restrict abstime)
{
    if (!rt_green())
        return REAL(mtx_timedlock)(m, abstime);
    return thrd_err_map(pthread_mutex_timedlock((pthread_mutex_t *)m, abstime));
}

SHIM_EXPORT int mtx_trylock(mtx_t *m)
{
    if (!rt_green())
        return REAL(mtx_trylock)(m);
    return thrd_err_map(pthread_mutex_trylock((pthread_mutex_t *)m));
}

SHIM_EXPORT int mtx_unlock(mtx_t *m)
{
    if (!rt_green())
        return REAL(mtx_unlock)(m);
    return thrd_err_map(pthread_mutex_unlock((pthread_mutex_t *)m));
}

/* ---- condition variables ---- */

SHIM_EXPORT int cnd_wait(cnd_t *c, mtx_t *m)
{
    if (!rt_green())
        return REAL(cnd_wait)(c, m);
    return thrd_err_map(pthread_cond_wait((pthread_cond_t *)c, (pthread_mutex_t *)m));
}

SHIM_EXPORT int cnd_timedwait(cnd_t *restrict c, mtx_t *restrict m,
                              const struct timespec *restrict abstime)
{
    if (!rt_green())
        return REAL(cnd_timedwait)(c, m, abstime);
    return thrd_err_map(pthread_cond_timedwait((pthread_cond_t *)c, (pthread_mutex_t *)m,
                                               abstime));
}

SHIM_EXPORT int cnd_signal(cnd_t *c)
{
    if (!rt_green())
        return REAL(cnd_signal)(c);
    return thrd_err_map(pthread_cond_signal((pthread_cond_t *)c));
}

SHIM_EXPORT int cnd_broadcast(cnd_t *c)
{
    if (!rt_green())
        return REAL(cnd_broadcast)(c);
    return thrd_err_map(pthread_cond_broadcast((pthread_cond_t *)c));
}

/* ---- thread-specific storage ---- */

/* Keys are made and deleted through the shim's pthread_key_create and
 * pthread_key_delete whatever the context: they record every key's
 * destructor and generation for the green threads' own slots, and pass the
 * call on to glibc themselves. glibc's tss_create would bypass that record,
 * and a key made before the runtime started would then be unknown to it. */
SHIM_EXPORT int tss_create(tss_t *key, tss_dtor_t destructor)
{
    return thrd_err_map(pthread_key_create(key, destructor));
}

SHIM_EXPORT void tss_delete(tss_t key)
{
    pthread_key_delete(key);
}

SHIM_EXPORT void *tss_get(tss_t key)
{
    if (!rt_green())
        return REAL(tss_get)(key);
    return pthread_getspecific(key);
}

SHIM_EXPORT int tss_set(tss_t key, void *value)
{
    if (!rt_green())
        return REAL(tss_set)(key, value);
    return thrd_err_map(pthread_setspecific(key, value));
}

/* ---- once ---- */

SHIM_EXPORT void call_once(once_flag *flag, void (*func)(void))
{
    if (!rt_green()) {
        REAL(call_once)(flag, func);
        return;
    }
    pthread_once((pthread_once_t *)flag, func);
}
