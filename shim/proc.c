/* proc.c - fork, and the wait family waiting cooperatively.
 *
 * fork itself is not wrapped: glibc's fork runs as is, with every atfork
 * handler. The child's runtime is renewed (rt_fork_child: only the forking
 * thread lives on) by shim_fork_child, a pthread_atfork child handler that
 * start-up registers before the program's main (and libuv's handlers) can
 * register theirs: child handlers run in the order they were registered. A
 * wrapper could only act once glibc's fork returns, after every child handler
 * had run: the program's handlers would then run with the parent's threads
 * still queued and its epoll instance still shared, and one that waited (a
 * mutex, a pipe) would switch to a thread that does not exist in the child.
 *
 * A wait first asks the real call with WNOHANG added: the kernel picks the
 * child, fills in the status, rusage or siginfo and says ECHILD or EINVAL
 * exactly as for the blocking call, and a WNOHANG call that finds nothing
 * writes no status and no rusage. Only when it finds nothing does the thread
 * park, then asks again:
 *
 *   - for one process (a pid, or the program's own pidfd) whose exit is all
 *     the call waits for, on a pidfd: it becomes readable when the process
 *     exits. pidfd_open's fd is the runtime's, never the program's: closed,
 *     and out of the fd table, before the call returns or is cancelled;
 *   - otherwise (any child, a process group, stops and continues, or no
 *     pidfd) by polling with shim_backoff's pauses (50 us growing to 1 ms).
 *     A pidfd stays quiet when a child stops or continues; there is no fd for
 *     "any child" (the set of children changes while we wait); and SIGCHLD
 *     belongs to the program, whose handler or SIG_IGN must see every one as
 *     natively.
 *
 * Every wait call is a cancellation point, WNOHANG or not; a cancelled wait
 * leaves the child unreaped, as natively. Limit: a ptrace tracer that waits
 * for one tracee by pid without WUNTRACED, __WALL or __WCLONE waits on its
 * pidfd, which its ptrace stops do not wake: it sees only the exit.
 */
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "proc_int.h"
#include "signal_int.h"

/* Options under which more than an exit ends the wait: stops and
 * continuations, and the ptrace stops tracers wait for with __WALL, __WCLONE. */
#define STOP_EVENTS (WUNTRACED | WCONTINUED | __WALL | __WCLONE)

void shim_fork_child(void)
{
    int err;

    if (rt_green() && (err = rt_fork_child()))
        fprintf(stderr, "greenrun: fork child runs without greenrun: %s\n", strerror(err));
    if (rt_green())
        shim_signal_fork_child();
}

/* One wait call: wait4's arguments (waitpid, wait, wait3 are wait4), or
 * waitid's. */
struct wait_call {
    bool waitid;
    pid_t pid;
    int *status;
    struct rusage *ru;
    idtype_t idtype;
    id_t id;
    siginfo_t *info;
    int options;
};

/* The call with WNOHANG: the pid of the child it reports, 0 when none has
 * changed state yet (the kernel zeroes si_pid then), or -1 and errno. */
static pid_t try_wait(const struct wait_call *c)
{
    siginfo_t own;
    siginfo_t *info = c->info ? c->info : &own;

    if (!c->waitid)
        return REAL(wait4)(c->pid, c->status, c->options | WNOHANG, c->ru);
    if (REAL(waitid)(c->idtype, c->id, info, c->options | WNOHANG) < 0)
        return -1;
    return info->si_pid;
}

/* An fd that becomes readable when the awaited process exits, or -1 (poll).
 * *ours: pidfd_open made it. */
static int exit_fd(const struct wait_call *c, bool *ours)
{
    pid_t pid = c->waitid ? (c->idtype == P_PID ? (pid_t)c->id : 0) : c->pid;
    int fd;

    *ours = false;
    if (c->options & STOP_EVENTS)
        return -1;
    if (c->waitid && c->idtype == P_PIDFD)
        return (int)c->id;
    if (pid <= 0 || (fd = (int)REAL(syscall)(SYS_pidfd_open, pid, 0)) < 0)
        return -1;
    if ((fd = shim_own_fd(fd)) >= 0)
        *ours = true;
    return fd;
}

static int drop_exit_fd(int fd, bool ours)
{
    return ours ? shim_own_fd_close(fd) : -1;
}

static pid_t wait_child(const struct wait_call *c)
{
    int saved = errno, fd, err;
    uint64_t pause = 0;
    bool ours, was, sw;
    pid_t r;

    shim_testcancel();
    if ((r = try_wait(c)) != 0 || (c->options & WNOHANG))
        return (pid_t)shim_keep_errno(r, saved);
    fd = exit_fd(c, &ours);
    do {
        was = shim_cancel_point_begin();
        sw = shim_sig_wait_begin();
        err = fd >= 0 ? fdw_wait(fd, FDW_READ, 0) : shim_backoff(&pause, 0);
        /* EBADF: the program closed the number under us (closefrom, say):
         * it may name something else by now, so it is not ours to close. */
        if (err == ECANCELED || err == EBADF)
            fd = drop_exit_fd(fd, ours && err == ECANCELED);
        /* A signal ends the wait, unless its handler had SA_RESTART. */
        err = shim_sig_wait_end(sw, err, true);
        shim_cancel_point_end(was, err);
        if (err == EINTR) {
            drop_exit_fd(fd, ours);
            errno = EINTR;
            return -1;
        }
    } while ((r = try_wait(c)) == 0);
    drop_exit_fd(fd, ours);
    return (pid_t)shim_keep_errno(r, saved);
}

SHIM_EXPORT pid_t waitpid(pid_t pid, int *status, int options)
{
    if (!rt_green())
        return REAL(waitpid)(pid, status, options);
    return wait_child(&(struct wait_call){ .pid = pid, .status = status, .options = options });
}

SHIM_EXPORT pid_t wait(int *status)
{
    if (!rt_green())
        return REAL(wait)(status);
    return wait_child(&(struct wait_call){ .pid = -1, .status = status });
}

SHIM_EXPORT pid_t wait3(int *status, int options, struct rusage *ru)
{
    if (!rt_green())
        return REAL(wait3)(status, options, ru);
    return wait_child(&(struct wait_call){ .pid = -1, .status = status, .ru = ru,
                                           .options = options });
}

SHIM_EXPORT pid_t wait4(pid_t pid, int *status, int options, struct rusage *ru)
{
    if (!rt_green())
        return REAL(wait4)(pid, status, options, ru);
    return wait_child(&(struct wait_call){ .pid = pid, .status = status, .ru = ru,
                                           .options = options });
}

SHIM_EXPORT int waitid(idtype_t idtype, id_t id, siginfo_t *info, int options)
{
    if (!rt_green())
        return REAL(waitid)(idtype, id, info, options);
    return wait_child(&(struct wait_call){ .waitid = true, .idtype = idtype, .id = id,
                                           .info = info, .options = options }) < 0 ? -1 : 0;
}
