/* rwlock_int.h - process-shared rwlocks (rwlock_shared.c), for rwlock.c. */
#ifndef GREENRUN_RWLOCK_INT_H
#define GREENRUN_RWLOCK_INT_H

#include "shim.h"

/* glibc's lock, taken by polling its try-operations until the deadline
 * (0 = none): 0, EDEADLK, ETIMEDOUT, ECANCELED or glibc's error. */
int rwlock_shared_rdlock(pthread_rwlock_t *l, uint64_t deadline);
int rwlock_shared_wrlock(pthread_rwlock_t *l, uint64_t deadline);
int rwlock_shared_trywrlock(pthread_rwlock_t *l);
int rwlock_shared_unlock(pthread_rwlock_t *l);

#endif
