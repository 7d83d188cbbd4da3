/* diff_exec.c - the exec family and posix_spawn: what the new program gets
 * (arguments, environment, fds) and what the caller gets back.
 *
 * Each new program is /bin/sh printing its $0, its arguments and $GREETING
 * into a pipe, then exiting 4; the caller prints what it read and the exit
 * status. The program's environment has GREETING=from-environ; the calls that
 * take an envp pass GREETING=from-envp instead.
 *
 * Checks: after fork, execve, execv, execvp, execvpe, execl, execlp, execle
 * and fexecve; posix_spawn and posix_spawnp with file actions; vfork then
 * execve, and vfork then _exit; errors the caller sees: ENOENT for a missing
 * file or command, EACCES for a file that is not executable, EINVAL from
 * fexecve on a bad fd, and posix_spawn's error numbers (returned, not in
 * errno).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

#define SCRIPT "echo \"$0 ($#: $*): ${GREETING:-unset}\"; exit 4"

static char *const envp[] = { "GREETING=from-envp", "PATH=/usr/bin:/bin", NULL };

/* Everything readable from fd until end of file, then the child's status. */
static void collect(const char *what, int fd, pid_t pid)
{
    char buf[256];
    size_t len = 0;
    ssize_t n;
    int st;

    while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
        len += (size_t)n;
    buf[len] = '\0';
    close(fd);
    if (waitpid(pid, &st, 0) != pid)
        die("waitpid");
    if (len && buf[len - 1] == '\n')
        buf[--len] = '\0';
    printf("%s: read \"%s\", %s %d\n", what, buf, WIFEXITED(st) ? "exited" : "killed by",
           WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}

/* fork, stdout to a pipe, then `exec` in the child. */
static void after_fork(const char *what, void (*exec)(void))
{
    int p[2];
    pid_t pid;

    xpipe(p);
    pid = xfork();
    if (pid == 0) {
        dup2(p[1], STDOUT_FILENO);
        close(p[0]);
        close(p[1]);
        exec();
        printf("exec failed: %s\n", ename(errno));
        fflush(stdout);
        _exit(127);
    }
    close(p[1]);
    collect(what, p[0], pid);
}

/* argv for `sh -c SCRIPT`, with $0 = name and two arguments. */
#define ARGV(name) ((char *const[]){ (char *)(name), "-c", SCRIPT, (char *)(name), "a", "b", NULL })

static void by_execve(void) { execve("/bin/sh", ARGV("sh-execve"), envp); }
static void by_execv(void) { execv("/bin/sh", ARGV("sh-execv")); }
static void by_execvp(void) { execvp("sh", ARGV("sh-execvp")); }
static void by_execvpe(void) { execvpe("sh", ARGV("sh-execvpe"), envp); }
static void by_execl(void) { execl("/bin/sh", "sh-execl", "-c", SCRIPT, "x", "1", "2", "3", NULL); }
static void by_execlp(void) { execlp("sh", "sh-execlp", "-c", SCRIPT, "x", NULL); }

static void by_execle(void)
{
    execle("/bin/sh", "sh-execle", "-c", SCRIPT, "x", "only", NULL, envp);
}

static void by_fexecve(void)
{
    int fd = open("/bin/sh", O_RDONLY | O_CLOEXEC);

    if (fd >= 0)
        fexecve(fd, ARGV("sh-fexecve"), envp);
}

static void spawned(const char *what, bool search, char *const *env)
{
    posix_spawn_file_actions_t fa;
    int p[2], err;
    pid_t pid;

    xpipe(p);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, p[0]);
    fflush(stdout);
    err = search ? posix_spawnp(&pid, "sh", &fa, NULL, ARGV(what), env)
                 : posix_spawn(&pid, "/bin/sh", &fa, NULL, ARGV(what), env);
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    if (err) {
        printf("%s: %s\n", what, ename(err));
        close(p[0]);
        return;
    }
    collect(what, p[0], pid);
}

/* The vfork child may only exec or _exit: the script writes to the pipe's
 * write end itself. */
static void vforked(void)
{
    char script[128];
    int p[2], st;
    pid_t pid;

    xpipe(p);
    /* By path: the shell's ">&N" takes only one digit. */
    snprintf(script, sizeof(script), "echo \"$0: $GREETING\" >/dev/fd/%d; exit 4", p[1]);
    fflush(stdout);
    if ((pid = vfork()) == 0) {
        execve("/bin/sh", (char *const[]){ "sh-vfork", "-c", script, NULL }, envp);
        _exit(127);
    }
    if (pid < 0)
        die("vfork");
    close(p[1]);
    collect("vfork, execve", p[0], pid);

    if ((pid = vfork()) == 0)
        _exit(3);
    if (waitpid(pid, &st, 0) != pid)
        die("waitpid");
    printf("vfork, _exit(3): exited %d\n", WEXITSTATUS(st));
}

static void show_result(const char *what, int r)
{
    int err = errno;

    printf("%s: %d %s\n", what, r, r < 0 ? ename(err) : "");
}

static void errors(void)
{
    pid_t pid;

    show_result("execve of a missing file", execve("/nonexistent/sh", ARGV("x"), envp));
    show_result("execv of a file that is not executable", execv("/etc/passwd", ARGV("x")));
    show_result("execvp of a missing command", execvp("greenrun-no-such-command", ARGV("x")));
    show_result("execl of a missing file", execl("/nonexistent/sh", "x", NULL));
    show_result("execle of a missing file", execle("/nonexistent/sh", "x", NULL, envp));
    show_result("execlp of a missing command", execlp("greenrun-no-such-command", "x", NULL));
    show_result("fexecve(-1)", fexecve(-1, ARGV("x"), envp));
    printf("posix_spawn of a missing file: %s\n",
           ename(posix_spawn(&pid, "/nonexistent/sh", NULL, NULL, ARGV("x"), envp)));
    printf("posix_spawnp of a missing command: %s\n",
           ename(posix_spawnp(&pid, "greenrun-no-such-command", NULL, NULL, ARGV("x"), envp)));
}

int main(void)
{
    alarm(20);
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    if (setenv("GREETING", "from-environ", 1) < 0)
        die("setenv");
    after_fork("execve", by_execve);
    after_fork("execv", by_execv);
    after_fork("execvp", by_execvp);
    after_fork("execvpe", by_execvpe);
    after_fork("execl", by_execl);
    after_fork("execlp", by_execlp);
    after_fork("execle", by_execle);
    after_fork("fexecve", by_fexecve);
    spawned("posix_spawn", false, envp);
    spawned("posix_spawnp", true, environ);
    vforked();
    errors();
    return 0;
}
