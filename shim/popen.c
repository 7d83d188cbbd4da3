/* popen.c - system, popen and pclose, waiting for the child cooperatively.
 *
 * glibc starts these children with posix_spawn (its CLONE_VFORK child holds
 * the caller only until the exec) and then waits for them with internal
 * waitpid calls no wrapper can reach: the OS thread, and with it every green
 * thread, would stop until the child ends. So here are glibc 2.36's own
 * algorithms (sysdeps/posix/system.c, libio/iopopen.c) on the public calls:
 * posix_spawn starts the child, the shim's waitpid waits for it.
 *
 * system: SIGINT and SIGQUIT are ignored while any system() runs (counted:
 * the first one sets, the last one restores), SIGCHLD is blocked in the
 * calling thread while it waits, and the shell starts with the caller's
 * mask and those two signals back at their defaults unless they were
 * ignored. The result is the wait status, 127 << 8 when the shell could not
 * start (errno set), -1 when the wait failed. Cancellation, acting in the
 * wait, kills the child with SIGKILL, reaps it and restores the signals, as
 * glibc's cleanup handler does. system(NULL) runs "exit 0".
 *
 * popen: a pipe whose ends are both close-on-exec (the child's end is
 * dup2'ed onto its stdin or stdout, which clears the flag there); the
 * parent's end keeps the flag only with "e". The stream is fdopen'ed on the
 * parent's end, so fileno gives the pipe as glibc's does. As POSIX asks, the
 * child closes every stream still open from an earlier popen, known from
 * the table of popen'ed streams (stream, fd, pid) that pclose consults.
 *
 * pclose: flush (cooperatively, through the public fflush: glibc's close
 * would flush with an internal write), close, then wait with cancellation
 * disabled, as glibc. Result: -1 if the close or the wait fails, else the
 * wait status if non-zero, else the flush's result. A stream not from popen
 * gets glibc's answer: glibc's pclose is fclose. And since glibc's popen
 * streams wait in their close hook, fclose on one is pclose here too.
 */
#include <paths.h>
#include <string.h>

#include "proc_int.h"

/* ---- system ---- */

static struct sigaction saved_intr, saved_quit;     /* before the first system() */
static int systems_running;

static void restore_signals(void)
{
    if (--systems_running == 0) {
        sigaction(SIGINT, &saved_intr, NULL);
        sigaction(SIGQUIT, &saved_quit, NULL);
    }
}

static void system_cancelled(void *arg)
{
    pid_t pid = *(pid_t *)arg;
    int saved = errno, state;

    kill(pid, SIGKILL);
    errno = saved;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &state);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    pthread_setcancelstate(state, NULL);
    restore_signals();
}

static int run_shell(const char *line)
{
    struct sigaction ignore = { .sa_handler = SIG_IGN };
    sigset_t chld, omask, reset;
    posix_spawnattr_t attr;
    int status = -1, err;
    pid_t pid, r;

    sigemptyset(&ignore.sa_mask);
    if (systems_running++ == 0) {
        sigaction(SIGINT, &ignore, &saved_intr);
        sigaction(SIGQUIT, &ignore, &saved_quit);
    }
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    pthread_sigmask(SIG_BLOCK, &chld, &omask);
    sigemptyset(&reset);
    if (saved_intr.sa_handler != SIG_IGN)
        sigaddset(&reset, SIGINT);
    if (saved_quit.sa_handler != SIG_IGN)
        sigaddset(&reset, SIGQUIT);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setsigmask(&attr, &omask);
    posix_spawnattr_setsigdefault(&attr, &reset);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    err = posix_spawn(&pid, _PATH_BSHELL, NULL, &attr,
                      (char *const[]){ "sh", "-c", (char *)line, NULL }, environ);
    posix_spawnattr_destroy(&attr);
    if (err == 0) {
        pthread_cleanup_push(system_cancelled, &pid);
        while ((r = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
            ;
        if (r != pid)
            status = -1;
        pthread_cleanup_pop(0);
    } else {
        status = W_EXITCODE(127, 0);
    }
    restore_signals();
    pthread_sigmask(SIG_SETMASK, &omask, NULL);
    if (err)
        errno = err;
    return status;
}

SHIM_EXPORT int system(const char *line)
{
    if (!rt_green())
        return REAL(system)(line);
    if (!line)
        return run_shell("exit 0") == 0;
    return run_shell(line);
}

/* ---- popen, pclose ---- */

struct popened {
    FILE *stream;
    int fd;
    bool writing;
    pid_t pid;
    struct popened *next;
};

static struct popened *popened;

/* The table's entry for stream, taken out of it; NULL if none. */
static struct popened *take(FILE *stream)
{
    struct popened **p, *e;

    for (p = &popened; (e = *p); p = &e->next) {
        if (e->stream == stream) {
            *p = e->next;
            return e;
        }
    }
    return NULL;
}

/* glibc's modes: 'r' or 'w' (exactly one of them), 'e' for close-on-exec. */
static bool parse_mode(const char *mode, bool *writing, bool *cloexec)
{
    bool r = false, w = false;

    *cloexec = false;
    for (; *mode; mode++) {
        switch (*mode) {
        case 'r': r = true; break;
        case 'w': w = true; break;
        case 'e': *cloexec = true; break;
        default: return false;
        }
    }
    *writing = w;
    return r != w;
}

/* Start `sh -c command` with its stdin or stdout on the child's end of the
 * pipe, and every other popen'ed stream's fd closed. */
static int spawn_shell(const char *command, int child_end, int child_fd, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    int err;

    posix_spawn_file_actions_init(&fa);
    err = posix_spawn_file_actions_adddup2(&fa, child_end, child_fd);
    for (struct popened *e = popened; e && !err; e = e->next)
        if (e->fd != child_fd)
            err = posix_spawn_file_actions_addclose(&fa, e->fd);
    if (!err)
        err = posix_spawn(pid, _PATH_BSHELL, &fa, NULL,
                          (char *const[]){ "sh", "-c", (char *)command, NULL }, environ);
    posix_spawn_file_actions_destroy(&fa);
    return err;
}

SHIM_EXPORT FILE *popen(const char *command, const char *mode)
{
    struct popened *e;
    int fds[2], parent, child, child_fd, moved, saved = errno;
    bool writing, cloexec;

    if (!rt_green())
        return REAL(popen)(command, mode);
    if (!parse_mode(mode, &writing, &cloexec)) {
        errno = EINVAL;
        return NULL;
    }
    if (!(e = malloc(sizeof(*e))))
        return NULL;
    if (pipe2(fds, O_CLOEXEC) < 0) {
        free(e);
        return NULL;
    }
    parent = fds[writing];
    child = fds[!writing];
    child_fd = writing ? STDIN_FILENO : STDOUT_FILENO;
    if (!(e->stream = fdopen(parent, writing ? "w" : "r"))) {
        close(child);
        close(parent);
        free(e);
        return NULL;
    }
    /* Already the child's number (stdin or stdout was closed): move it, as
     * glibc does, or the child could not drop the close-on-exec flag. */
    if (child == child_fd && (moved = fcntl(child, F_DUPFD_CLOEXEC, 0)) >= 0) {
        close(child);
        child = moved;
    }
    if (child == child_fd || spawn_shell(command, child, child_fd, &e->pid) != 0) {
        close(child);
        fclose(e->stream);
        free(e);
        errno = ENOMEM;             /* glibc's errno for any failure here */
        return NULL;
    }
    close(child);
    if (!cloexec)
        fcntl(parent, F_SETFD, 0);
    e->fd = parent;
    e->writing = writing;
    e->next = popened;
    popened = e;
    errno = saved;
    return e->stream;
}

/* Close a popen'ed stream and wait for its child: pclose, and fclose, which
 * glibc's popen streams route to the same close hook. False when stream
 * did not come from popen. */
bool shim_pclose(FILE *stream, int *result)
{
    struct popened *e;
    int flushed = 0, wstatus, state;
    pid_t r;

    if (!(e = take(stream)))
        return false;
    if (e->writing)
        flushed = fflush(stream);
    if (fclose(stream) != 0) {
        free(e);
        *result = -1;
        return true;
    }
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &state);
    while ((r = waitpid(e->pid, &wstatus, 0)) < 0 && errno == EINTR)
        ;
    pthread_setcancelstate(state, NULL);
    free(e);
    *result = r < 0 ? -1 : wstatus ? wstatus : flushed;
    return true;
}

SHIM_EXPORT int pclose(FILE *stream)
{
    int r;

    if (!rt_green())
        return REAL(pclose)(stream);
    return shim_pclose(stream, &r) ? r : fclose(stream);
}
