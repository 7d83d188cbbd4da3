/* rwlock_shared.c - process-shared reader-writer locks: glibc's own.
 *
 * Another process may hold or wait for such a lock, so its state stays
 * glibc's. A green thread polls glibc's try-operations with a growing pause
 * (shim_backoff), honouring its deadline. glibc recognises its own write
 * lock by OS thread id, which all green threads share, so the green thread
 * that holds one is kept in glibc's unused __pad2. Polling waiters do not
 * register with glibc, so a writer of this process waiting on a shared
 * PREFER_WRITER_NONRECURSIVE lock does not keep out readers of other
 * processes.
 */
#include <errno.h>
#include <unistd.h>

#include "rwlock_int.h"

/* __pad2 first: asking for the thread id is a system call. */
static bool held_by_self(const pthread_rwlock_t *l)
{
    return l->__data.__pad2 == (unsigned long)gt_self() &&
           l->__data.__cur_writer == gettid();
}

/* Call try until it stops saying EBUSY or the deadline passes. */
static int poll_try(pthread_rwlock_t *l, int (*try)(pthread_rwlock_t *), uint64_t deadline)
{
    uint64_t pause = 0;
    int err;

    while ((err = try(l)) == EBUSY)
        if ((err = shim_backoff(&pause, deadline)))
            return err;
    return err;
}

int rwlock_shared_rdlock(pthread_rwlock_t *l, uint64_t deadline)
{
    if (held_by_self(l))
        return EDEADLK;
    return poll_try(l, REAL(pthread_rwlock_tryrdlock), deadline);
}

int rwlock_shared_trywrlock(pthread_rwlock_t *l)
{
    int err = REAL(pthread_rwlock_trywrlock)(l);

    if (err == 0)
        l->__data.__pad2 = (unsigned long)gt_self();
    return err;
}

int rwlock_shared_wrlock(pthread_rwlock_t *l, uint64_t deadline)
{
    if (held_by_self(l))
        return EDEADLK;
    return poll_try(l, rwlock_shared_trywrlock, deadline);
}

int rwlock_shared_unlock(pthread_rwlock_t *l)
{
    if (held_by_self(l))
        l->__data.__pad2 = 0;
    return REAL(pthread_rwlock_unlock)(l);
}
