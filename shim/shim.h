/* shim.h - what the interposed functions share.
 *
 * Every wrapper has the same shape:
 *
 *     if (!rt_green() || <not a case we make cooperative>)
 *         return REAL(name)(args);            pass-through: exactly libc
 *     fast path: try the operation without blocking
 *     wait: park until the fd is ready, the object is free, the time has come
 *     retry
 *
 * REAL(name) is libc's function, found once with dlsym(RTLD_NEXT). Wrappers can
 * be called before the shim's constructor ran (other libraries' constructors),
 * so REAL resolves on first use too.
 */
#ifndef GREENRUN_SHIM_H
#define GREENRUN_SHIM_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "rt.h"

#define SHIM_EXPORT __attribute__((visibility("default")))

/* Every libc function the shim replaces, and calls through. */
#define SHIM_REAL_FUNCS(X) \
    X(pthread_create) X(pthread_join) X(pthread_detach) X(pthread_exit) \
    X(pthread_self) X(pthread_equal) \
    X(pthread_mutex_lock) X(pthread_mutex_trylock) X(pthread_mutex_unlock) \
    X(pthread_cond_wait) X(pthread_cond_signal) X(pthread_cond_broadcast) \
    X(sleep) X(usleep) X(nanosleep) X(sched_yield) \
    X(read) X(write) X(recv) X(send) X(accept) X(accept4) X(connect) \
    X(setsockopt) X(close) X(close_range) X(closefrom) X(dup2) X(dup3) X(fcntl) X(fcntl64) X(ioctl) X(fclose) X(poll)

int fcntl64(int fd, int cmd, ...);

struct shim_real {
#define X(name) __typeof__(name) *name;
    SHIM_REAL_FUNCS(X)
#undef X
};

extern struct shim_real shim_real;
void shim_real_resolve(void);

#define REAL(name) \
    (__builtin_expect(shim_real.name != NULL, 1) ? shim_real.name \
                                                 : (shim_real_resolve(), shim_real.name))

/* glibc's fortify failure: prints "buffer overflow detected" and aborts. */
_Noreturn void __chk_fail(void);

/* The fd's entry when calls on it should wait cooperatively: it is pollable
 * and the program sees it as blocking. NULL: pass the call through. */
struct fdw_info *shim_blocking_fd(int fd);

/* Wait for readiness before retrying an operation that said EAGAIN. The
 * socket's SO_RCVTIMEO (reads) or SO_SNDTIMEO (writes) bounds the whole call:
 * *deadline starts at 0 and is set on the first wait. On failure set errno
 * (EAGAIN when the timeout expired, as the kernel reports it) and return -1. */
int shim_wait_fd(int fd, struct fdw_info *fi, int events, uint64_t *deadline);

/* libc leaves errno alone when a call succeeds; so must a wrapper whose
 * earlier attempts failed with EAGAIN. */
static inline ssize_t shim_keep_errno(ssize_t r, int saved_errno)
{
    if (r >= 0)
        errno = saved_errno;
    return r;
}

/* One attempt at read/write that does not block, whatever the fd's flags. */
ssize_t shim_read_nowait(int fd, struct fdw_info *fi, void *buf, size_t n);
ssize_t shim_write_nowait(int fd, struct fdw_info *fi, const void *buf, size_t n);

/* Mutex operations on a green mutex, shared with the condition variables. */
int shim_mutex_lock(pthread_mutex_t *m);
int shim_mutex_unlock(pthread_mutex_t *m);
int shim_mutex_is_green(const pthread_mutex_t *m);

#endif
