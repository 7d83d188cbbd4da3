/* rt_int.h - runtime internals shared by the files of runtime/. Not for shim/. */
#ifndef GREENRUN_RT_INT_H
#define GREENRUN_RT_INT_H

#include <errno.h>
#include <stdio.h>
#include <uv.h>

#include "rt.h"

/* Boost.Context's fcontext assembly (linked statically from libboost_context.a). */
typedef void *fcontext_t;
typedef struct {
    fcontext_t fctx;
    void *data;
} transfer_t;
transfer_t jump_fcontext(fcontext_t const to, void *vp);
fcontext_t make_fcontext(void *sp, size_t size, void (*fn)(transfer_t));

/* GT_GONE: a thread that stayed in the parent of a fork; in the child it is
 * never runnable and never finishes. */
enum gt_state { GT_RUNNING, GT_RUNNABLE, GT_PARKED, GT_DONE, GT_GONE };

/* A stack carved from the stack region: [base, base + guard) is the guard,
 * [base + guard, base + size) is usable. */
struct rt_stack {
    char *base;
    size_t size;                /* whole slot, guard included */
    size_t guard;
    struct rt_stack *next;      /* cache free list */
    bool borrowed;              /* the program's own memory: never freed */
};

struct gt {
    fcontext_t ctx;             /* saved context while not running */
    enum gt_state state;
    int saved_errno;
    gt_t *next;                 /* run queue link */
    uint64_t round;             /* the run queue's round when it was queued */
    gt_t *all_next, *all_prev;  /* every live thread, for the deadlock report */

    gt_fn fn;
    void *arg;
    void *result;
    gt_t *joiner;               /* thread parked in gt_join on us */
    bool detached, joined;

    struct rt_stack stack;      /* base == NULL: not ours (main thread, hub) */
    uint64_t id;

    /* Timed park: position in the deadline heap (0 = not in it). */
    uint64_t deadline;
    size_t heap_index;
    int wake_reason;            /* 0 or ETIMEDOUT */

    const char *wait_what;      /* for the deadlock report */
    const void *wait_obj;
    bool interruptible, interrupted;
    /* Signals: may end this wait; the thread has signals to take (the
     * on_signal hook); resumed from its park only to take them. */
    bool signallable, sig_note, sig_woke;

    uint64_t sigmask;
    unsigned char state_copy[RT_THREAD_STATE_MAX];
    char name[GT_NAME_MAX];
    _Alignas(16) unsigned char user[GT_USER_SIZE];
};

struct rt_runq {
    gt_t *head, *tail;
    uint64_t round;             /* polls of the loop so far (sched.c: poll_due) */
};

/* Per managed OS thread. */
struct rt_sched {
    gt_t *current;
    gt_t hub;                   /* the hub's context holder */
    gt_t main;                  /* the adopted OS thread's own context */
    struct rt_runq runq;
    gt_t *all;
    uv_loop_t loop;
    uv_timer_t timer;           /* wakes the loop for the earliest deadline */
    unsigned direct_switches;   /* since the hub last polled the loop */
    uint64_t last_poll;

    gt_t **heap;                /* deadline min-heap, 1-based */
    size_t heap_len, heap_cap;
    unsigned outside_waiters;   /* parked threads with waits_outside */

    struct rt_stats stats;
    struct rt_config cfg;
    uint64_t next_id;
    uint64_t applied_mask;      /* the OS thread's signal mask */
    /* For the hub's mask, what every live thread blocks: how many threads
     * block each signal (stats.live: all of them), the signals some thread
     * blocks. */
    uint32_t mask_count[64];
    uint64_t mask_any;
    uv_async_t notify;          /* rt_notify(): a signal handler wakes the hub */
    void *state_addr;           /* rt_thread_state() block, if any */
    size_t state_len;
};

extern __thread struct rt_sched *rt_sched __attribute__((tls_model("initial-exec")));

/* Run `expr` with rt_mode off: the runtime calling libuv or libc from a green
 * thread's stack must reach the real functions, never a wrapper. What it does
 * to errno is the runtime's business, not the program's. */
#define RT_CALL_OUT(expr) \
    do { \
        int rt_saved_mode_ = rt_mode, rt_saved_errno_ = errno; \
        rt_mode = RT_MODE_OFF; \
        expr; \
        rt_mode = rt_saved_mode_; \
        errno = rt_saved_errno_; \
    } while (0)

/* stack.c */
int rt_stack_alloc(struct rt_stack *st, size_t size, size_t guard);
void rt_stack_free(struct rt_stack *st);
size_t rt_page_size(void);

#define RT_MIN_STACK_SIZE 16384     /* PTHREAD_STACK_MIN */

/* sched.c */
void rt_resumed(transfer_t t);
gt_t *rt_pick_next(struct rt_sched *s);
void rt_runq_push(struct rt_runq *q, gt_t *g);
gt_t *rt_runq_pop(struct rt_runq *q);
void rt_switch(gt_t *from, gt_t *to);
_Noreturn void rt_deadlock(struct rt_sched *s);

/* park.c */
int rt_park(uint64_t deadline, bool outside, const char *what, const void *obj);

/* thread.c */
void rt_all_link(struct rt_sched *s, gt_t *g);
void rt_release(gt_t *g);

/* signal.c: the OS thread's mask for the thread switched to; a mask's
 * signals counted in (dir 1) or out (-1) of the hub's; the OS thread's mask
 * now; the notify handle set up; the on_signal hook (NULL: none). */
void rt_apply_sigmask(struct rt_sched *s, gt_t *to);

/* On every switch: between green threads with the mask already applied
 * (nearly always) this costs one comparison, not a call. */
static inline void rt_switch_sigmask(struct rt_sched *s, gt_t *to)
{
    if (to == &s->hub || to->sigmask != s->applied_mask)
        rt_apply_sigmask(s, to);
}

void rt_count_mask(struct rt_sched *s, uint64_t mask, int dir);
uint64_t rt_os_sigmask(void);
void rt_signal_init(struct rt_sched *s);
extern void (*rt_on_signal)(void);

/* overflow.c */
int rt_overflow_report(void);

/* fdw.c: fdw's epoll instance and the loop's watch on it (called while
 * fds.c keeps the low numbers filled, so that it lands with the loop's fds).
 * Returns 0 or a libuv error. */
int fdw_loop_init(uv_loop_t *loop);
/* fdw.c: drop every entry without waking anyone, and give the instance's
 * number a new one of the child's own (a fork child's). Returns 0 or an
 * errno value. */
int fdw_fork_child(void);

/* fds.c: uv_loop_init and uv_loop_fork (in a fork child handler), with the
 * fds they open put at high numbers and recorded as the runtime's. */
int rt_fds_loop_init(uv_loop_t *loop);
int rt_fds_loop_fork(uv_loop_t *loop);

/* timer.c */
void rt_timer_insert(struct rt_sched *s, gt_t *g, uint64_t deadline);
void rt_timer_remove(struct rt_sched *s, gt_t *g);
void rt_timer_expire(struct rt_sched *s);
void rt_loop_wait(struct rt_sched *s);

#define rt_debug(...) \
    do { \
        if (rt_sched && rt_sched->cfg.debug) \
            fprintf(stderr, "greenrun: " __VA_ARGS__); \
    } while (0)

#endif
