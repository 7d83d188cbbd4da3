/* spin.c - spinlocks that yield while they spin.
 *
 * A green thread spinning on a lock held by another green thread of the same
 * OS thread would spin forever: the holder never runs again. So a contended
 * pthread_spin_lock yields to the other green threads between attempts.
 *
 * The lock stays glibc's int, taken and released by glibc's own code
 * (pthread_spin_trylock, pthread_spin_unlock, pthread_spin_init and
 * pthread_spin_destroy are not wrapped): the holder may just as well be a
 * thread of another process sharing the memory, and nothing in the int says
 * which kind of lock it is. Every SLEEP_EVERY attempts the spinner sleeps a
 * little instead of yielding, so that a lock held across a long wait (or by
 * another process) does not keep the OS thread busy when nothing else runs.
 */
#include <errno.h>

#include "shim.h"

#define SLEEP_EVERY 64
#define SLEEP_NS 50000u

SHIM_EXPORT int pthread_spin_lock(pthread_spinlock_t *l)
{
    unsigned attempts = 0;

    if (!rt_green())
        return REAL(pthread_spin_lock)(l);
    while (REAL(pthread_spin_trylock)(l) == EBUSY) {
        if (++attempts % SLEEP_EVERY == 0)
            gt_sleep(SLEEP_NS);
        else
            gt_yield();
    }
    return 0;
}
