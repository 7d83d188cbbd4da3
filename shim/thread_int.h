/* thread_int.h - the shim's own per-thread state, kept in gt_user(). */
#ifndef GREENRUN_THREAD_INT_H
#define GREENRUN_THREAD_INT_H

#include <limits.h>

#include "shim.h"

#define KEY_BLOCK 32                /* key slots per lazily allocated block */
#define KEY_BLOCKS (PTHREAD_KEYS_MAX / KEY_BLOCK)

struct key_slot {
    void *value;
    unsigned seq;                   /* the key's generation when value was set */
};

/* A signal waiting for its thread: the leading part of its siginfo_t, which
 * holds every field of every kind of signal but a fault's address bounds. */
#define SHIM_SIGINFO_KEPT 48
#define SHIM_SIGQUEUE 4             /* per thread; more real-time ones: EAGAIN */

struct shim_siginfo {
    _Alignas(8) unsigned char raw[SHIM_SIGINFO_KEPT];
};

struct shim_thread {
    unsigned id;                    /* gt_id's low 32 bits: a mutex's owner */
    struct key_slot **keys;         /* KEY_BLOCKS blocks, from the first set */
    __pthread_unwind_buf_t *cleanup;    /* innermost pthread_cleanup_push */
    void *exit_result;              /* pthread_exit's value while cleanup runs */
    bool cancel_disabled, cancel_async, cancel_pending, exiting;
    int sched_policy, sched_priority;   /* reported, not acted on */
    /* Signals (signal.c). */
    unsigned sig_handled;           /* handlers run on or for it: sigsuspend's race */
    bool sig_restart;               /* the handler that ended its wait had SA_RESTART */
    uint64_t sig_waiting;           /* what sigwait waits for, while it waits */
    uint64_t sig_pending;           /* the signals in sig_queue */
    int sig_queued;
    struct shim_siginfo sig_queue[SHIM_SIGQUEUE];
};

_Static_assert(sizeof(struct shim_thread) <= GT_USER_SIZE, "gt_user too small");

static inline struct shim_thread *shim_thread(gt_t *g)
{
    return gt_user(g);
}

/* The calling green thread's: shim_thread(gt_self()) in one load. */
static inline struct shim_thread *shim_self(void)
{
    return gt_self_user();
}

/* thread_info.c */
void shim_name_initial_thread(void);

/* key.c: run the destructors of the calling thread's keys. */
void shim_key_run_destructors(void);

/* cancel.c */
_Noreturn void shim_thread_exit(void *result);
/* Set, for good, by the process's first pthread_cancel. Until then no thread
 * can have a cancellation pending, and shim_testcancel, which every
 * cancellation point calls even on its fast path, costs one load. */
extern bool shim_cancel_used __attribute__((visibility("hidden")));
void shim_testcancel_now(void);

static inline void shim_testcancel(void)
{
    if (__builtin_expect(__atomic_load_n(&shim_cancel_used, __ATOMIC_RELAXED), 0))
        shim_testcancel_now();
}
/* Around a wait that is a cancellation point: returns what to restore. */
bool shim_cancel_point_begin(void);
void shim_cancel_point_end(bool was, int wait_result);

#endif
