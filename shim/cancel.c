/* cancel.c - thread exit, cleanup handlers and deferred cancellation.
 *
 * glibc's pthread_cleanup_push (the C version) sets a jump buffer in the
 * caller's frame and registers it with __pthread_register_cancel; on exit or
 * cancellation glibc jumps into each frame in turn, innermost first, runs the
 * handler there, and __pthread_unwind_next moves on to the next. The shim
 * keeps that chain per green thread (linked through the buffer's private
 * `prev` word, as glibc does) and walks it with longjmp on the thread's own
 * stack, then runs the key destructors and ends the green thread.
 *
 * C++ frames between the handlers are not unwound (their destructors do not
 * run): that takes the forced unwinding glibc does with libgcc_s.
 *
 * Cancellation is deferred: pthread_cancel marks the thread, and the mark
 * acts at the next cancellation point, the shim's blocking calls, which also
 * wake up for it. The asynchronous type acts at the same points: a green
 * thread other than the caller is never running when it is cancelled, so
 * there is nothing to interrupt between them.
 */
#include <errno.h>
#include <setjmp.h>

#include "thread_int.h"

static __pthread_unwind_buf_t **prev_of(__pthread_unwind_buf_t *buf)
{
    return (__pthread_unwind_buf_t **)&buf->__pad[0];
}

/* The buffer holds a jmp_buf's leading fields only, which is all longjmp
 * reads when no signal mask was saved (__sigsetjmp(..., 0) filled it): the
 * compiler's size check does not know that. */
static _Noreturn void jump_to_handler(__pthread_unwind_buf_t *buf)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstringop-overflow"
    longjmp((struct __jmp_buf_tag *)(void *)buf->__cancel_jmp_buf, 1);
#pragma GCC diagnostic pop
}

_Noreturn void shim_thread_exit(void *result)
{
    gt_t *self = gt_self();
    struct shim_thread *t = shim_thread(self);
    __pthread_unwind_buf_t *buf = t->cleanup;

    if (!t->exiting) {
        t->exiting = true;          /* no cancellation from here on */
        t->exit_result = result;
        gt_set_interrupt(self, false);
    }
    if (buf) {
        t->cleanup = *prev_of(buf);
        jump_to_handler(buf);
    }
    gt_exit(t->exit_result);        /* key destructors run in its exit hook */
}

SHIM_EXPORT void __pthread_register_cancel(__pthread_unwind_buf_t *buf)
{
    struct shim_thread *t;

    if (!rt_green()) {
        REAL(__pthread_register_cancel)(buf);
        return;
    }
    t = shim_self();
    *prev_of(buf) = t->cleanup;
    t->cleanup = buf;
}

SHIM_EXPORT void __pthread_unregister_cancel(__pthread_unwind_buf_t *buf)
{
    if (!rt_green()) {
        REAL(__pthread_unregister_cancel)(buf);
        return;
    }
    shim_self()->cleanup = *prev_of(buf);
}

/* A handler has run in its frame: on to the next one out. */
SHIM_EXPORT void __pthread_unwind_next(__pthread_unwind_buf_t *buf)
{
    if (!rt_green())
        REAL(__pthread_unwind_next)(buf);
    shim_thread_exit(NULL);
}

SHIM_EXPORT void pthread_exit(void *result)
{
    if (!rt_green())
        REAL(pthread_exit)(result);
    shim_thread_exit(result);
}

static bool cancel_due(const struct shim_thread *t)
{
    return t->cancel_pending && !t->cancel_disabled && !t->exiting;
}

bool shim_cancel_used;

void shim_testcancel_now(void)
{
    if (cancel_due(shim_self()))
        shim_thread_exit(PTHREAD_CANCELED);
}

bool shim_cancel_point_begin(void)
{
    shim_testcancel();
    return gt_interruptible(true);
}

void shim_cancel_point_end(bool was, int wait_result)
{
    gt_interruptible(was);
    if (wait_result == ECANCELED)
        shim_testcancel();
}

SHIM_EXPORT int pthread_cancel(pthread_t thread)
{
    gt_t *g = (gt_t *)thread;
    struct shim_thread *t;

    if (!rt_green())
        return REAL(pthread_cancel)(thread);
    if (gt_finished(g))
        return 0;                   /* as glibc: nothing left to cancel */
    t = shim_thread(g);
    __atomic_store_n(&shim_cancel_used, true, __ATOMIC_RELAXED);
    t->cancel_pending = true;
    if (cancel_due(t)) {
        gt_set_interrupt(g, true);
        if (g == gt_self() && t->cancel_async)
            shim_thread_exit(PTHREAD_CANCELED);
    }
    return 0;
}

SHIM_EXPORT int pthread_setcancelstate(int state, int *old)
{
    gt_t *self;
    struct shim_thread *t;

    if (!rt_green())
        return REAL(pthread_setcancelstate)(state, old);
    if (state != PTHREAD_CANCEL_ENABLE && state != PTHREAD_CANCEL_DISABLE)
        return EINVAL;
    self = gt_self();
    t = shim_thread(self);
    if (old)
        *old = t->cancel_disabled ? PTHREAD_CANCEL_DISABLE : PTHREAD_CANCEL_ENABLE;
    t->cancel_disabled = state == PTHREAD_CANCEL_DISABLE;
    gt_set_interrupt(self, cancel_due(t));
    if (cancel_due(t) && t->cancel_async)
        shim_thread_exit(PTHREAD_CANCELED);
    return 0;
}

SHIM_EXPORT int pthread_setcanceltype(int type, int *old)
{
    struct shim_thread *t;

    if (!rt_green())
        return REAL(pthread_setcanceltype)(type, old);
    if (type != PTHREAD_CANCEL_DEFERRED && type != PTHREAD_CANCEL_ASYNCHRONOUS)
        return EINVAL;
    t = shim_self();
    if (old)
        *old = t->cancel_async ? PTHREAD_CANCEL_ASYNCHRONOUS : PTHREAD_CANCEL_DEFERRED;
    t->cancel_async = type == PTHREAD_CANCEL_ASYNCHRONOUS;
    if (cancel_due(t) && t->cancel_async)
        shim_thread_exit(PTHREAD_CANCELED);
    return 0;
}

SHIM_EXPORT void pthread_testcancel(void)
{
    if (!rt_green()) {
        REAL(pthread_testcancel)();
        return;
    }
    shim_testcancel();
}
