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

struct shim_thread {
    struct key_slot *keys[KEY_BLOCKS];
    __pthread_unwind_buf_t *cleanup;    /* innermost pthread_cleanup_push */
    void *exit_result;              /* pthread_exit's value while cleanup runs */
    bool cancel_disabled, cancel_async, cancel_pending, exiting;
    int sched_policy, sched_priority;   /* reported, not acted on */
};

_Static_assert(sizeof(struct shim_thread) <= GT_USER_SIZE, "gt_user too small");

static inline struct shim_thread *shim_thread(gt_t *g)
{
    return gt_user(g);
}

/* thread_info.c */
void shim_name_initial_thread(void);

/* key.c: run the destructors of the calling thread's keys. */
void shim_key_run_destructors(void);

/* cancel.c */
_Noreturn void shim_thread_exit(void *result);
void shim_testcancel(void);
/* Around a wait that is a cancellation point: returns what to restore. */
bool shim_cancel_point_begin(void);
void shim_cancel_point_end(bool was, int wait_result);

#endif
