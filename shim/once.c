/* once.c - pthread_once: one thread runs the routine, the others park.
 *
 * The control word keeps glibc's values (0 not yet, 1 running, 2 done), so a
 * once completed before the runtime started stays done. Threads waiting for
 * any once share one queue: contention on a once is rare and brief, and each
 * waiter rechecks its own word.
 *
 * A routine that does not return gives the once back (word 0, waiters woken),
 * so that the next caller runs it, as glibc does. It can leave two ways: by
 * pthread_exit or cancellation, which walk the shim's cleanup chain (a buffer
 * registered here, as pthread_cleanup_push would), or by a C++ exception
 * (std::call_once with a throwing callable), which unwinds through this frame:
 * this file is compiled with -fexceptions so the cleanup attribute runs then.
 */
#include <setjmp.h>

#include "thread_int.h"

enum { ONCE_NOT_YET = 0, ONCE_RUNNING = 1, ONCE_DONE = 2 };

struct once_run {
    pthread_once_t *once;
    __pthread_unwind_buf_t buf;
    bool over;
};

static struct gt_waitq once_waiters;

static void finish(pthread_once_t *once, int value)
{
    struct gt_waiter *w;

    *once = value;
    while ((w = gt_waitq_pop(&once_waiters)))
        gt_unpark(w->g);
}

/* Unwinding by a C++ exception: the registered buffer goes with the frame. */
static void unwound(struct once_run *run)
{
    if (run->over)
        return;
    __pthread_unregister_cancel(&run->buf);
    finish(run->once, ONCE_NOT_YET);
}

static void run_once(pthread_once_t *once, void (*routine)(void))
{
    struct once_run run __attribute__((cleanup(unwound))) = { .once = once };

    /* As pthread_cleanup_push does: the buffer is a jmp_buf without the
     * signal mask, which __sigsetjmp(..., 0) never touches. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstringop-overflow"
    if (__sigsetjmp((struct __jmp_buf_tag *)(void *)run.buf.__cancel_jmp_buf, 0)) {
        run.over = true;            /* pthread_exit or cancellation */
        finish(once, ONCE_NOT_YET);
        __pthread_unwind_next(&run.buf);
    }
#pragma GCC diagnostic pop
    __pthread_register_cancel(&run.buf);
    *once = ONCE_RUNNING;
    routine();
    __pthread_unregister_cancel(&run.buf);
    run.over = true;
    finish(once, ONCE_DONE);
}

SHIM_EXPORT int pthread_once(pthread_once_t *once, void (*routine)(void))
{
    struct gt_waiter w;

    if (!rt_green())
        return REAL(pthread_once)(once, routine);
    while (*once != ONCE_NOT_YET) {
        if (*once == ONCE_DONE)
            return 0;
        gt_waitq_push(&once_waiters, &w, gt_self());
        gt_park("pthread_once", once);
        if (gt_waitq_linked(&once_waiters, &w))
            gt_waitq_remove(&once_waiters, &w);
    }
    run_once(once, routine);
    return 0;
}
