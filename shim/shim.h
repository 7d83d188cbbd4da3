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

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <netdb.h>
#include <spawn.h>
#include <stdlib.h>
#include <poll.h>
#include <pthread.h>
#include <pty.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/pidfd.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <semaphore.h>
#include <setjmp.h>
#include <signal.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>
#include <utmp.h>

#include "rt.h"

#define SHIM_EXPORT __attribute__((visibility("default")))

/* glibc's cleanup-buffer entry points: pthread.h declares them only for C
 * built without -fexceptions. */
void __pthread_register_cancel(__pthread_unwind_buf_t *buf);
void __pthread_unregister_cancel(__pthread_unwind_buf_t *buf);
_Noreturn void __pthread_unwind_next(__pthread_unwind_buf_t *buf);

/* Every libc function the shim replaces, and calls through, by family. */
#define SHIM_REAL_FUNCS(X) \
    SHIM_REAL_THREAD(X) SHIM_REAL_MUTEX(X) SHIM_REAL_SYNC(X) SHIM_REAL_C11(X) \
    SHIM_REAL_TIME(X) SHIM_REAL_FD(X) SHIM_REAL_IO(X) SHIM_REAL_MUX(X) \
    SHIM_REAL_STDIO(X) SHIM_REAL_PROC(X) SHIM_REAL_DNS(X) SHIM_REAL_SIGNAL(X)

#define SHIM_REAL_THREAD(X) \
    X(pthread_create) X(pthread_join) X(pthread_tryjoin_np) X(pthread_timedjoin_np) \
    X(pthread_clockjoin_np) X(pthread_detach) X(pthread_exit) X(pthread_self) \
    X(pthread_equal) X(pthread_once) X(pthread_key_create) X(pthread_key_delete) \
    X(pthread_getspecific) X(pthread_setspecific) X(pthread_setname_np) \
    X(pthread_getname_np) X(pthread_getattr_np) X(pthread_sigmask) \
    X(pthread_cancel) X(pthread_setcancelstate) X(pthread_setcanceltype) \
    X(pthread_testcancel) X(__pthread_register_cancel) X(__pthread_unregister_cancel) \
    X(__pthread_unwind_next) X(pthread_getcpuclockid) X(pthread_setaffinity_np) \
    X(pthread_getaffinity_np) X(pthread_setschedparam) X(pthread_getschedparam) \
    X(pthread_setschedprio) X(pthread_kill) X(pthread_sigqueue) X(sigprocmask)

#define SHIM_REAL_MUTEX(X) \
    X(pthread_mutex_lock) X(pthread_mutex_trylock) X(pthread_mutex_unlock) \
    X(pthread_mutex_timedlock) X(pthread_mutex_clocklock) X(pthread_mutex_consistent) \
    X(pthread_cond_wait) X(pthread_cond_signal) X(pthread_cond_broadcast) \
    X(pthread_cond_timedwait) X(pthread_cond_clockwait)

#define SHIM_REAL_SYNC(X) \
    X(pthread_rwlock_rdlock) X(pthread_rwlock_wrlock) X(pthread_rwlock_tryrdlock) \
    X(pthread_rwlock_trywrlock) X(pthread_rwlock_timedrdlock) X(pthread_rwlock_timedwrlock) \
    X(pthread_rwlock_clockrdlock) X(pthread_rwlock_clockwrlock) X(pthread_rwlock_unlock) \
    X(sem_wait) X(sem_trywait) X(sem_timedwait) X(sem_clockwait) X(sem_post) \
    X(sem_getvalue) X(pthread_barrier_init) X(pthread_barrier_wait) \
    X(pthread_barrier_destroy) X(pthread_spin_lock) X(pthread_spin_trylock) \
    X(pthread_spin_unlock) X(syscall)

#define SHIM_REAL_C11(X) \
    X(thrd_create) X(thrd_join) X(thrd_detach) X(thrd_exit) X(thrd_current) \
    X(thrd_equal) X(thrd_sleep) X(thrd_yield) X(mtx_lock) X(mtx_timedlock) \
    X(mtx_trylock) X(mtx_unlock) X(cnd_wait) X(cnd_timedwait) X(cnd_signal) \
    X(cnd_broadcast) X(tss_create) X(tss_get) X(tss_set) X(tss_delete) X(call_once)

#define SHIM_REAL_TIME(X) \
    X(sleep) X(usleep) X(nanosleep) X(clock_nanosleep) X(sched_yield)

#define SHIM_REAL_FD(X) \
    X(read) X(write) X(recv) X(send) X(accept) X(accept4) X(connect) \
    X(setsockopt) X(close) X(close_range) X(closefrom) X(dup2) X(dup3) \
    X(fcntl) X(fcntl64) X(ioctl) X(fclose) X(poll)

#define SHIM_REAL_IO(X) \
    X(readv) X(writev) X(pread) X(pwrite) X(pread64) X(pwrite64) X(preadv) \
    X(pwritev) X(preadv64) X(pwritev64) X(preadv2) X(pwritev2) X(recvfrom) \
    X(recvmsg) X(recvmmsg) X(sendto) X(sendmsg) X(sendmmsg) X(sendfile) \
    X(sendfile64) X(splice) X(shutdown) X(socket) X(socketpair) X(pipe) \
    X(pipe2) X(eventfd) X(timerfd_create) X(signalfd) X(dup) X(epoll_create) \
    X(epoll_create1) X(memfd_create) X(open) X(openat) X(openat64) X(tee) X(vmsplice) X(copy_file_range) X(inotify_init) \
    X(inotify_init1) X(fanotify_init) X(pidfd_open) X(pidfd_getfd) \
    X(open_by_handle_at) X(fsopen) X(fsmount) X(fspick) X(open_tree) X(fopen) \
    X(fopen64) X(freopen) X(freopen64) X(tmpfile) X(tmpfile64) X(opendir) \
    X(closedir) X(mkstemp) X(mkstemp64) X(mkostemp) X(mkostemp64) X(mkstemps) \
    X(mkstemps64) X(mkostemps) X(mkostemps64) X(mq_open) X(shm_open) \
    X(posix_openpt) X(getpt) X(openpty) X(login_tty)

#define SHIM_REAL_MUX(X) \
    X(select) X(pselect) X(ppoll) X(epoll_wait) X(epoll_pwait) X(epoll_pwait2)

#define SHIM_REAL_STDIO(X) \
    X(fgets) X(fgets_unlocked) X(fread) X(fread_unlocked) X(getline) X(getdelim) \
    X(fgetc) X(getc) X(getc_unlocked) X(fgetc_unlocked) X(getchar) X(vfscanf) \
    X(fwrite) X(fwrite_unlocked) X(fflush) X(fflush_unlocked) X(fputs) \
    X(fputs_unlocked) X(fputc) X(putc) X(fputc_unlocked) X(putc_unlocked) \
    X(puts) X(__uflow) X(__overflow)

#define SHIM_REAL_PROC(X) \
    X(fork) X(waitpid) X(wait) X(wait3) X(wait4) X(waitid) X(system) X(popen) \
    X(pclose) X(execve) X(execv) X(execvp) X(execvpe) X(execl) X(execlp) \
    X(execle) X(fexecve) X(posix_spawn) X(posix_spawnp)

#define SHIM_REAL_DNS(X) \
    X(getaddrinfo) X(getnameinfo) X(gethostbyname) X(gethostbyname_r) \
    X(gethostbyname2) X(gethostbyname2_r) X(gethostbyaddr) X(gethostbyaddr_r)

#define SHIM_REAL_SIGNAL(X) \
    X(sigaction) X(sigsuspend) X(sigtimedwait) X(sigwaitinfo) X(sigwait) X(pause) \
    X(sigpending) X(siglongjmp) X(longjmp) X(_longjmp) X(__longjmp_chk)

int fcntl64(int fd, int cmd, ...);
/* glibc's fortified longjmp, which its headers do not declare. */
_Noreturn void __longjmp_chk(struct __jmp_buf_tag env[1], int val);

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

/* The runtime deadline (rt_now() time) for an absolute time on CLOCK_REALTIME
 * or CLOCK_MONOTONIC; a time already past gives a deadline that has passed.
 * EINVAL for another clock or a tv_nsec outside [0, 1e9). */
int shim_abs_deadline(clockid_t clock, const struct timespec *abs, uint64_t *deadline);

/* One pause of a polling loop: *pause starts at 0 and grows on each call.
 * ETIMEDOUT once the deadline (0 = none) has passed, ECANCELED when
 * interrupted, else 0: poll again. */
int shim_backoff(uint64_t *pause, uint64_t deadline);

/* glibc's fortify failure: prints "buffer overflow detected" and aborts. */
_Noreturn void __chk_fail(void);

/* The fd's entry when calls on it should wait cooperatively: it is pollable
 * and the program sees it as blocking. NULL: pass the call through. */
struct fdw_info *shim_blocking_fd(int fd);

/* An fd the shim opens for itself (a signalfd, a pidfd): recorded as
 * non-blocking with no program view to keep, or closed when it cannot be
 * (then -1). shim_own_fd_close forgets and closes one, and returns -1. */
int shim_own_fd(int fd);
int shim_own_fd_close(int fd);

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

/* A condition variable wait's unlock and relock, on any kind of mutex (not
 * counted in __nusers, as in glibc); whether glibc's layout is ours. */
int shim_mutex_lock(pthread_mutex_t *m);
int shim_mutex_unlock(pthread_mutex_t *m);
int shim_mutex_is_green(const pthread_mutex_t *m);

#endif
