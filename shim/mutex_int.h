/* mutex_int.h - what the green and the foreign mutex code share. */
#ifndef GREENRUN_MUTEX_INT_H
#define GREENRUN_MUTEX_INT_H

#include "shim.h"

#define TYPE_MASK 3                 /* PTHREAD_MUTEX_KIND_MASK_NP */
#define KIND_ROBUST 16
#define KIND_PI 32
#define KIND_PP 64
#define KIND_PSHARED 128
#define KIND_FOREIGN (KIND_ROBUST | KIND_PI | KIND_PP | KIND_PSHARED)

/* normal, recursive, errorcheck or adaptive */
static inline int mutex_type(const pthread_mutex_t *m)
{
    return m->__data.__kind & TYPE_MASK;
}

/* mutex_deadline.c: a timed lock about to wait: glibc's answer for the
 * timespec, or 0 and the deadline. */
int mutex_lock_deadline(int kind, clockid_t clk, const struct timespec *t, uint64_t *deadline);

/* mutex_foreign.c */
int mutex_foreign_lock(pthread_mutex_t *m, clockid_t clk, const struct timespec *abstime);
int mutex_foreign_trylock(pthread_mutex_t *m);
int mutex_foreign_unlock(pthread_mutex_t *m);

#endif
