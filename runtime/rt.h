/* rt.h - the greenrun runtime: green threads, their scheduler and their waits.
 *
 * One managed OS thread runs many green threads (gt), each on its own fcontext
 * stack, plus one hub context that runs the libuv loop. A green thread runs until
 * it parks (waits for something) or yields; the next runnable one is switched to
 * directly, and the hub runs only when nothing is runnable or when I/O has not
 * been polled for a while.
 *
 * Everything that waits is built from three pieces:
 *   - gt_park() / gt_park_until(): stop running until gt_unpark() or a deadline;
 *   - wait queues (gt_waitq): FIFO lists of parked threads, stored wherever the
 *     caller likes (inside a pthread_mutex_t, say), nodes on the waiters' stacks;
 *   - fd waits (fdw_*): readiness of a file descriptor, from an epoll instance
 *     of the runtime's own (each fd registered once, edge-triggered) that the
 *     loop watches as one fd.
 *
 * The runtime knows nothing about libc interposition. The one thing it shares
 * with its caller is rt_mode: RT_MODE_GREEN while program code runs on a green
 * thread, RT_MODE_OFF everywhere else (the hub, OS threads the runtime does not
 * manage, before start-up, and while the runtime itself calls libuv or libc).
 */
#ifndef GREENRUN_RT_H
#define GREENRUN_RT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum rt_mode { RT_MODE_OFF = 0, RT_MODE_GREEN = 1 };

/* Thread-local, zero (off) in every OS thread the runtime did not adopt. */
extern __thread int rt_mode __attribute__((tls_model("initial-exec")));

static inline bool rt_green(void)
{
    return __builtin_expect(rt_mode == RT_MODE_GREEN, 1);
}

struct rt_config {
    size_t default_stack_size;  /* for threads that do not ask; 0 = RLIMIT_STACK */
    bool debug;                 /* diagnostics on stderr */
    /* Called on a green thread as it exits, before it is marked finished
     * (thread-specific data destructors run there). NULL: nothing. */
    void (*on_exit)(void);
};

/* A block of OS-thread state that each green thread must have its own copy
 * of (the C++ runtime's exception globals, say): saved and restored on every
 * switch. At most RT_THREAD_STATE_MAX bytes; one block. */
#define RT_THREAD_STATE_MAX 32
int rt_thread_state(void *addr, size_t len);

/* Adopt the calling OS thread: its current context becomes the first green
 * thread and a hub is created. Returns 0 or an errno value. */
int rt_start(const struct rt_config *cfg);

/* In the child of a fork made by a green thread, from a pthread_atfork child
 * handler registered before rt_start() (so that it runs before libuv's and
 * the runtime's own, which complete the renewal): the forking thread is the only one left, with a runtime
 * of its own: the loop gets a new epoll instance (the inherited one is the
 * parent's), the fd table and the deadlines start empty, and the other
 * threads never run again. Returns 0, or an errno value when the loop could
 * not be renewed: the child then runs with the runtime off (rt_mode). */
int rt_fork_child(void);

/* The runtime's own fds (its loop's), kept at high numbers out of the
 * program's way: a program must not close or replace them. */
bool rt_fd_owned(int fd);
/* The lowest of them >= fd, or -1. */
int rt_fd_next_owned(int fd);

/* Monotonic clock in nanoseconds. */
uint64_t rt_now(void);
/* The deadline `ns` from now, saturating: a wait that long never ends. */
uint64_t rt_deadline_after(uint64_t ns);

/* ---- green threads ---- */

typedef struct gt gt_t;

struct gt_attr {
    size_t stack_size;          /* 0 = the configured default */
    size_t guard_size;          /* 0 = one page, GT_NO_GUARD = none */
    void *stack;                /* the caller's own stack of stack_size bytes,
                                   used as is (no guard), never freed; or NULL */
    bool detached;
};

#define GT_NO_GUARD SIZE_MAX

typedef void *(*gt_fn)(void *);

/* New threads start with their creator's signal mask and are runnable at
 * once; they first run when the creator parks or yields (FIFO). */
int gt_spawn(gt_t **out, const struct gt_attr *attr, gt_fn fn, void *arg);
gt_t *gt_self(void);
uint64_t gt_id(const gt_t *g);
_Noreturn void gt_exit(void *result);
int gt_join(gt_t *g, void **result);       /* 0, EDEADLK, EINVAL, ECANCELED */
/* Join with a deadline: ETIMEDOUT when it passed (0 = none); `try` gives
 * EBUSY at once when the thread has not finished. */
int gt_join_until(gt_t *g, uint64_t deadline, bool try, void **result);
int gt_detach(gt_t *g);                    /* 0, EINVAL */
bool gt_finished(const gt_t *g);
bool gt_detached(const gt_t *g);
void gt_yield(void);
/* A thread whose calls keep finding their I/O ready never parks, and then
 * neither the hub nor the other threads would ever run. Calls that could
 * have waited call this: when I/O has not been polled for a while, the
 * thread goes through the hub (which polls) to the back of the run queue. */
void gt_checkpoint(void);

/* A thread's name: up to 15 characters, "" until set. */
#define GT_NAME_MAX 16
void gt_set_name(gt_t *g, const char *name);
const char *gt_name(const gt_t *g);

/* The thread's stack: [*addr, *addr + *size), below a guard of *guard bytes.
 * False for the adopted initial thread, whose stack is not the runtime's. */
bool gt_stack(const gt_t *g, void **addr, size_t *size, size_t *guard);

/* Signal mask (the kernel's 64 signals) per green thread: the OS thread's
 * mask follows the running thread, set only when it differs on a switch.
 * While the hub runs it is what every live thread blocks, so that a signal
 * some thread would take reaches the process while all of them wait. */
uint64_t gt_sigmask(const gt_t *g);
void gt_set_sigmask(uint64_t mask);

/* Room for the caller's per-thread data, zeroed at spawn. */
#define GT_USER_SIZE 320
void *gt_user(gt_t *g);

/* gt_user(gt_self()) as one thread-local load, for paths that run on every
 * call (the running thread's block; only meaningful while rt_green()). */
extern __thread void *rt_self_user __attribute__((tls_model("initial-exec")));

static inline void *gt_self_user(void)
{
    return rt_self_user;
}

/* Interruption (the shim builds pthread_cancel on it). gt_set_interrupt(g,
 * true) marks g; while g waits with interruptible waits on, a mark makes the
 * wait end with ECANCELED (at once if already marked). */
void gt_set_interrupt(gt_t *g, bool on);
bool gt_interruptible(bool on);             /* returns the previous setting */

/* Signals (the shim builds their delivery on these). gt_signallable(true)
 * lets signals end the current thread's waits; it returns the previous
 * setting. gt_signal(g) has g take its signals: parked in a wait signals may
 * end, g resumes and the wait ends with EINTR; parked in another wait, g
 * resumes on its own stack just long enough to run the on_signal hook, then
 * waits on (its deadline kept, and a wake-up that came meanwhile counts);
 * runnable, g runs the hook when its park returns, unless that wait was one
 * signals may end (the caller then looks for its signals itself). Not from a
 * signal handler: there, rt_notify() (async-signal-safe) has the hub call the
 * on_notify hook soon. */
void rt_signal_hooks(void (*on_signal)(void), void (*on_notify)(void));
bool gt_signallable(bool on);
void gt_signal(gt_t *g);
void rt_notify(void);
/* The green thread running on this OS thread: NULL in the hub, on OS threads
 * the runtime does not manage and before start-up. Async-signal-safe. */
gt_t *gt_running(void);
/* Whether the hub runs on this OS thread now. Async-signal-safe. */
bool rt_in_hub(void);
/* The live green threads, newest first: gt_next_live(NULL) is the newest. */
gt_t *gt_next_live(gt_t *g);

/* Parking. `what` names the wait in a deadlock report ("mutex 0x...").
 * gt_park_until() returns 0 when unparked, ETIMEDOUT when the deadline (rt_now()
 * time, 0 = none) passed first, ECANCELED when interrupted, EINTR when a
 * signal ended it (gt_signallable). A thread parked
 * with a deadline or on an fd can be woken from outside; one parked without
 * either only by another thread. */
void gt_park(const char *what, const void *obj);
int gt_park_until(uint64_t deadline, const char *what, const void *obj);
/* Make a parked thread runnable; false if it was not parked. */
bool gt_unpark(gt_t *g);
bool gt_parked(const gt_t *g);

/* Sleep for `ns` nanoseconds (0 = yield). 0, or ECANCELED or EINTR when
 * interrupted. */
int gt_sleep(uint64_t ns);

/* ---- wait queues ---- */

struct gt_waiter {
    struct gt_waiter *next, *prev;
    gt_t *g;
};

/* Two pointers, all-zero when empty, so it fits inside zero-initialised storage. */
struct gt_waitq {
    struct gt_waiter *head, *tail;
};

void gt_waitq_push(struct gt_waitq *q, struct gt_waiter *w, gt_t *g);
struct gt_waiter *gt_waitq_pop(struct gt_waitq *q);
void gt_waitq_remove(struct gt_waitq *q, struct gt_waiter *w);
bool gt_waitq_linked(const struct gt_waitq *q, const struct gt_waiter *w);

/* ---- fd waits ---- */

enum fdw_kind {
    FDW_UNKNOWN = 0,
    FDW_PLAIN,      /* regular file, directory, block device, or bad fd: no waiting */
    FDW_SOCKET,     /* socket: MSG_DONTWAIT and RWF_NOWAIT work */
    FDW_NOWAIT,     /* pipe, eventfd, ...: RWF_NOWAIT works */
    FDW_POLLED,     /* tty, FIFO, ...: pollable, but only readiness tells */
};

enum { FDW_READ = 1, FDW_WRITE = 2 };

/* What the runtime knows of one fd; valid until the fd is forgotten. */
struct fdw_info {
    enum fdw_kind kind;
    bool nonblock;              /* the program's own view of O_NONBLOCK */
    uint64_t rcvtimeo, sndtimeo;    /* a socket's SO_RCVTIMEO/SO_SNDTIMEO, ns; 0 = none */
    bool drains;                /* a short read takes all that is queued (TCP) */
};

/* Look up or learn (fstat + F_GETFL on first contact) what an fd is. */
struct fdw_info *fdw_info(int fd);
/* What is known of fd, without asking the kernel; NULL if nothing. */
struct fdw_info *fdw_peek(int fd);
/* Record what is known without asking the kernel (a socket just created). */
struct fdw_info *fdw_learn(int fd, enum fdw_kind kind, bool nonblock);
/* The fd is about to be closed or replaced: wake its waiters with EBADF and
 * stop watching it. */
void fdw_forget(int fd);
void fdw_forget_range(unsigned first, unsigned last);

/* Wait until fd is ready for `events` (FDW_READ/FDW_WRITE) or the deadline (0 =
 * none) passes. Returns 0 when ready (or possibly ready: retry the operation),
 * ETIMEDOUT, EBADF when the fd was closed meanwhile, ECANCELED, or EINTR.
 * Readiness is reported once (edge-triggered): wait only after the operation
 * said it would block (or fdw_read_drained() says it would), and retry it
 * after every 0. */
int fdw_wait(int fd, int events, uint64_t deadline);

/* After a short read on an fd that drains: until the instance reports it
 * readable again, fdw_read_drained() says a read would only find nothing,
 * and the caller may wait before trying (fdw.c). */
void fdw_read_short(struct fdw_info *fi);
bool fdw_read_drained(const struct fdw_info *fi);

/* Wait on several fds at once (poll, select). */
struct fdw_req {
    int fd;
    int events;                 /* FDW_READ | FDW_WRITE */
};
int fdw_wait_many(const struct fdw_req *reqs, int n, uint64_t deadline);

/* ---- work on libuv's thread pool ---- */

/* Run work(arg) on one of libuv's pool threads while the calling green thread
 * parks (on a green thread only). The pool threads are OS threads the runtime
 * does not manage (rt_mode is off there) with every signal blocked. Returns 0
 * once work has returned, or an errno value when the job could not be queued
 * (work did not run). Not interruptible: the thread waits for the job to end. */
int rt_offload(void (*work)(void *arg), void *arg);

/* ---- statistics (GREENRUN_DEBUG) ---- */

struct rt_stats {
    uint64_t spawned, switches, hub_runs, live, peak_live;
};
void rt_get_stats(struct rt_stats *st);

#endif
