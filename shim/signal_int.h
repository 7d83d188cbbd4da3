/* signal_int.h - what the signal files (signal.c, sigpend.c, sigjmp.c,
 * sigwait.c, sigold.c) and the waits that signals may end share. */
#ifndef GREENRUN_SIGNAL_INT_H
#define GREENRUN_SIGNAL_INT_H

#include <string.h>

#include "thread_int.h"

#define SHIM_SIGCANCEL 32           /* glibc's own signals */
#define SHIM_SIGSETXID 33

/* glibc's own signals, which programs may not send, catch or block. */
static inline bool shim_sig_internal(int sig)
{
    return sig == SHIM_SIGCANCEL || sig == SHIM_SIGSETXID;
}

static inline uint64_t shim_sigbit(int sig)
{
    return 1ULL << (sig - 1);
}

static inline uint64_t shim_sigset_bits(const sigset_t *set)
{
    uint64_t bits;

    memcpy(&bits, set, sizeof(bits));
    return bits;
}

/* What the kernel and glibc never let a thread block. */
static inline uint64_t shim_blockable(uint64_t mask)
{
    return mask & ~(shim_sigbit(SIGKILL) | shim_sigbit(SIGSTOP) |
                    shim_sigbit(SHIM_SIGCANCEL) | shim_sigbit(SHIM_SIGSETXID));
}

/* Around a wait that signals may end. The end takes the thread's signals
 * (their handlers run here, on its own stack, after the wait let go of
 * what it held) and turns EINTR into 0, "retry", when the call is
 * restartable and the handler that ended the wait had SA_RESTART. */
bool shim_sig_wait_begin(void);
int shim_sig_wait_end(bool was, int err, bool restartable);

/* Run the handlers of the calling thread's pending signals it does not
 * block (pthread_kill, or a signal the hub took for it). The check is
 * inline: sched_yield makes it on every call, and nearly always finds
 * nothing pending. */
void shim_signal_deliver_now(void);

static inline void shim_signal_deliver(void)
{
    if (__builtin_expect(shim_self()->sig_pending != 0, 0))
        shim_signal_deliver_now();
}

/* Pend sig on another green thread, as pthread_kill/pthread_sigqueue. */
int shim_signal_send(gt_t *g, int sig, int code, const union sigval *value);

/* Take one of `want` from the calling thread's pending signals: its number,
 * or 0. */
int shim_signal_take(uint64_t want, siginfo_t *info);

/* signal.c: whether the program has a handler of its own for sig; whether
 * it has SA_RESTART. */
bool shim_sig_has_handler(int sig);
bool shim_sig_restarts(int sig);

/* sigpend.c: a signal's number; pend it on g (0 or EAGAIN); the handler
 * for sig will run on g: end its wait if signals may. */
int shim_sig_of(const struct shim_siginfo *si);
int shim_sig_pend(gt_t *g, const struct shim_siginfo *si);
void shim_sig_interrupt(gt_t *g, int sig);

/* Per OS thread (signal.c): how many handlers run now, and the mode a jump
 * out of them returns to (sigjmp.c); the signal being raised again for the
 * thread it is for (sigpend.c). */
extern __thread int shim_handler_depth __attribute__((tls_model("initial-exec")));
extern __thread int shim_handler_outer_mode __attribute__((tls_model("initial-exec")));
extern __thread int shim_redelivering __attribute__((tls_model("initial-exec")));

/* fork child: no signal is pending in a new process. */
void shim_signal_fork_child(void);

#endif
