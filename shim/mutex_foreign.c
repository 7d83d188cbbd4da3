/* mutex_foreign.c - process-shared, robust and priority mutexes, cooperatively.
 *
 * Process-shared, robust, priority-inherit and priority-protect mutexes
 * ("foreign": kind bits 16|32|64|128) keep glibc's implementation, which
 * other processes and the kernel read. Locking them polls glibc's trylock
 * with shim_backoff's growing pauses, so the OS thread never blocks; EOWNERDEAD and ENOTRECOVERABLE come from glibc. glibc records
 * their owner by kernel thread id, which every green thread of the OS thread
 * shares, so on its own it would let a second green thread into a recursive
 * mutex, answer EDEADLK to it on an errorcheck one, or let it unlock a robust
 * one. A small per-OS-thread table of the foreign mutexes held by green
 * threads settles those questions before glibc sees them.
 */
#include <errno.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <sys/syscall.h>

#include "mutex_int.h"

/* A foreign mutex held by a green thread of this OS thread (its gt_id: ids
 * are never reused, thread structs are); depth counts recursive locks as
 * glibc's __count does. */
struct held {
    pthread_mutex_t *m;
    uint64_t owner;
    unsigned depth;
};

static __thread struct held *held_tab;
static __thread size_t held_len, held_cap;

static struct held *held_find(const pthread_mutex_t *m)
{
    for (size_t i = 0; i < held_len; i++)
        if (held_tab[i].m == m)
            return &held_tab[i];
    return NULL;
}

static void held_acquired(pthread_mutex_t *m, uint64_t owner)
{
    struct held *h = held_find(m), *grown;
    size_t cap;

    if (h) {
        h->depth++;                 /* a recursive relock by its owner */
        return;
    }
    if (held_len == held_cap) {
        cap = held_cap ? 2 * held_cap : 16;
        grown = realloc(held_tab, cap * sizeof(*grown));
        if (!grown)
            abort();                /* the mutex is ours already: no error to give */
        held_tab = grown;
        held_cap = cap;
    }
    held_tab[held_len++] = (struct held){ m, owner, 1 };
}

static void held_released(struct held *h)
{
    if (--h->depth == 0)
        *h = held_tab[--held_len];
}

int mutex_foreign_trylock(pthread_mutex_t *m)
{
    struct held *h = held_find(m);
    int err;

    if (h && h->owner != gt_id(gt_self()))
        return EBUSY;               /* glibc would take our tid for its owner's */
    err = REAL(pthread_mutex_trylock)(m);
    if (err == 0 || err == EOWNERDEAD)
        held_acquired(m, gt_id(gt_self()));
    return err;
}

/* glibc 2.36's trylock of a robust mutex made unrecoverable takes the lock
 * word and, testing the CAS's old value (0) against its tid where it means
 * the new one, leaves it taken; its lock gives it back. So a lock built on
 * that trylock gives it back too. The word is the kernel's robust futex:
 * owner tid | FUTEX_WAITERS | FUTEX_OWNER_DIED. */
static void give_back_unrecoverable(pthread_mutex_t *m)
{
    int *word = &m->__data.__lock, old;

    if ((m->__data.__kind & KIND_PI) ||
        (__atomic_load_n(word, __ATOMIC_RELAXED) & FUTEX_TID_MASK) != gettid())
        return;
    old = __atomic_exchange_n(word, 0, __ATOMIC_RELEASE);
    if (old & FUTEX_WAITERS)
        REAL(syscall)(SYS_futex, word, FUTEX_WAKE, 1);  /* robust futexes are shared */
}

int mutex_foreign_lock(pthread_mutex_t *m, clockid_t clk, const struct timespec *abstime)
{
    struct held *h = held_find(m);
    uint64_t deadline = 0, pause = 0;
    int err;

    /* glibc's lock says EDEADLK here, where its trylock says EBUSY */
    if (h && h->owner == gt_id(gt_self()) && mutex_type(m) == PTHREAD_MUTEX_ERRORCHECK)
        return EDEADLK;
    while ((err = mutex_foreign_trylock(m)) == EBUSY) {
        if (abstime && !deadline) {
            err = mutex_lock_deadline(m->__data.__kind, clk, abstime, &deadline);
            if (err)
                return err;
        }
        if ((err = shim_backoff(&pause, deadline)))
            return err;
    }
    if (err == ENOTRECOVERABLE)
        give_back_unrecoverable(m);
    return err;
}

/* glibc checks the owner on unlock except for these. */
static bool anyone_may_unlock(const pthread_mutex_t *m)
{
    int type = mutex_type(m);

    return !(m->__data.__kind & (KIND_ROBUST | KIND_PI)) &&
           (type == PTHREAD_MUTEX_NORMAL || type == PTHREAD_MUTEX_ADAPTIVE_NP);
}

int mutex_foreign_unlock(pthread_mutex_t *m)
{
    struct held *h = held_find(m);
    int err;

    if (h && h->owner != gt_id(gt_self()) && !anyone_may_unlock(m))
        return EPERM;
    err = REAL(pthread_mutex_unlock)(m);
    /* ENOTRECOVERABLE: one level of an inconsistent recursive robust mutex */
    if (h && (err == 0 || err == ENOTRECOVERABLE))
        held_released(h);
    return err;
}

