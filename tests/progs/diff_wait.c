/* diff_wait.c - the wait family: statuses, error codes, WNOHANG, and threads
 * that keep running while one waits for a child.
 *
 * Checks: waitpid, wait, wait3, wait4 and waitid (P_PID, P_ALL, P_PGID,
 * P_PIDFD, a NULL siginfo, WNOWAIT) report exits, deaths by signal, stops
 * (WUNTRACED, WSTOPPED) and continuations (WCONTINUED) as the kernel does;
 * waitpid(0) and waitpid(-pgid) find a child by process group; ECHILD with no
 * child, for a process that is not a child, and for a child reaped because
 * SIGCHLD is ignored; EINVAL for bad options and a bad idtype or id; WNOHANG
 * answers 0 (and waitid zeroes si_pid) while the child runs; errno is left
 * alone by a successful wait; two threads wait for two children at once; a
 * thread that waits (for one pid, for any child, with waitid) while another
 * ticks every 5 ms: the ticker runs on meanwhile (more than 5 ticks during a
 * 300 ms child); a thread cancelled in waitpid or wait ends as PTHREAD_CANCELED
 * and the child can still be reaped; the waits leave no fd behind (the next
 * fd number is the same before and after).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define CHILD_MS 300

/* A call's result, and its errno when it failed. */
static void show_result(const char *what, long r)
{
    int err = errno;

    if (r < 0)
        printf("%s: -1 %s\n", what, ename(err));
    else
        printf("%s: %ld\n", what, r);
}

static void show_status(const char *what, int st)
{
    if (WIFEXITED(st))
        printf("%s: exited %d\n", what, WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        printf("%s: killed by %s\n", what, sigabbrev_np(WTERMSIG(st)));
    else if (WIFSTOPPED(st))
        printf("%s: stopped by %s\n", what, sigabbrev_np(WSTOPSIG(st)));
    else if (WIFCONTINUED(st))
        printf("%s: continued\n", what);
    else
        printf("%s: status %#x\n", what, st);
}

static void show_info(const char *what, const siginfo_t *si, pid_t pid)
{
    const char *code = si->si_code == CLD_EXITED ? "CLD_EXITED" :
                       si->si_code == CLD_KILLED ? "CLD_KILLED" :
                       si->si_code == CLD_STOPPED ? "CLD_STOPPED" :
                       si->si_code == CLD_CONTINUED ? "CLD_CONTINUED" : "other";

    printf("%s: signo %s, code %s, status %d, pid matches: %s\n", what,
           si->si_signo ? sigabbrev_np(si->si_signo) : "0", code, si->si_status,
           si->si_pid == pid ? "yes" : "no");
}

/* A child that sleeps `ms` and exits with `code`; < 0: dies of -code. */
static pid_t child(int ms, int code)
{
    pid_t pid;

    pid = xfork();
    if (pid == 0) {
        usleep((useconds_t)ms * 1000);
        if (code < 0)
            raise(-code);
        _exit(code);
    }
    return pid;
}

static int next_fd(void)
{
    int fd = dup(0);

    if (fd < 0)
        die("dup");
    close(fd);
    return fd;
}

/* ---- the ticker ---- */

static void ticked_during(const char *what, pid_t (*waiter)(pid_t pid, int *st))
{
    pid_t pid = child(CHILD_MS, 0);
    int before = ticks, st = -1;
    pid_t r = waiter(pid, &st);

    printf("ticker ran during the wait (%s): %s; %s\n", what,
           ticks - before > 5 ? "yes" : "no", r == pid ? "reaped the child" : "wrong pid");
}

static pid_t by_waitpid(pid_t pid, int *st)
{
    return waitpid(pid, st, 0);
}

static pid_t by_wait(pid_t pid, int *st)
{
    (void)pid;
    return wait(st);
}

static pid_t by_waitid(pid_t pid, int *st)
{
    siginfo_t si;

    *st = 0;
    return waitid(P_PID, (id_t)pid, &si, WEXITED) == 0 ? si.si_pid : -1;
}

/* ---- the checks ---- */

static void statuses(void)
{
    struct rusage ru;
    pid_t pid;
    int st, saved;

    pid = child(0, 3);
    errno = EDOM;
    printf("waitpid returns the pid: %s\n", waitpid(pid, &st, 0) == pid ? "yes" : "no");
    saved = errno;
    show_status("waitpid", st);
    printf("errno after a successful wait: %s\n", ename(saved));

    pid = child(0, -SIGKILL);
    printf("wait returns the pid: %s\n", wait(&st) == pid ? "yes" : "no");
    show_status("wait", st);

    pid = child(20, 4);
    memset(&ru, 0, sizeof(ru));
    printf("wait3 returns the pid: %s\n", wait3(&st, 0, &ru) == pid ? "yes" : "no");
    show_status("wait3", st);
    printf("wait3 filled the rusage: %s\n", ru.ru_maxrss > 0 ? "yes" : "no");

    pid = child(20, -SIGTERM);
    memset(&ru, 0, sizeof(ru));
    printf("wait4 returns the pid: %s\n", wait4(pid, &st, 0, &ru) == pid ? "yes" : "no");
    show_status("wait4", st);
    printf("wait4 filled the rusage: %s\n", ru.ru_maxrss > 0 ? "yes" : "no");
    pid = child(10, 0);
    printf("waitpid(NULL status) returns the pid: %s\n",
           waitpid(pid, NULL, 0) == pid ? "yes" : "no");
}

/* A child that stops itself, waits for a byte once continued, then exits. */
static void stops(void)
{
    int p[2], st;
    siginfo_t si;
    pid_t pid;
    char c;

    xpipe(p);
    pid = xfork();
    if (pid == 0) {
        raise(SIGSTOP);
        _exit(read(p[0], &c, 1) == 1 ? 6 : 7);
    }
    waitpid(pid, &st, WUNTRACED);
    show_status("waitpid WUNTRACED", st);
    kill(pid, SIGCONT);
    waitpid(pid, &st, WCONTINUED);
    show_status("waitpid WCONTINUED", st);
    kill(pid, SIGSTOP);
    waitid(P_PID, (id_t)pid, &si, WSTOPPED);
    show_info("waitid WSTOPPED", &si, pid);
    kill(pid, SIGCONT);
    waitid(P_PID, (id_t)pid, &si, WCONTINUED);
    show_info("waitid WCONTINUED", &si, pid);
    if (write(p[1], "x", 1) != 1)
        die("write");
    waitpid(pid, &st, 0);
    show_status("waitpid after the byte", st);
    close(p[0]);
    close(p[1]);
}

static void waitids(void)
{
    siginfo_t si;
    pid_t pid;
    int fd, st;

    pid = child(20, 9);
    show_result("waitid P_PID", waitid(P_PID, (id_t)pid, &si, WEXITED));
    show_info("waitid P_PID", &si, pid);

    pid = child(20, -SIGKILL);
    show_result("waitid P_ALL WNOWAIT", waitid(P_ALL, 0, &si, WEXITED | WNOWAIT));
    show_info("waitid P_ALL WNOWAIT", &si, pid);
    printf("still there for waitpid: %s\n", waitpid(pid, &st, 0) == pid ? "yes" : "no");
    show_status("waitpid after WNOWAIT", st);

    pid = child(20, 1);
    setpgid(pid, pid);
    show_result("waitid P_PGID", waitid(P_PGID, (id_t)pid, &si, WEXITED));
    show_info("waitid P_PGID", &si, pid);

    pid = child(20, 2);
    show_result("waitid NULL siginfo", waitid(P_PID, (id_t)pid, NULL, WEXITED));
    show_result("then waitpid WNOHANG", waitpid(pid, &st, WNOHANG));

    pid = child(20, 5);
    fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd < 0)
        die("pidfd_open");
    show_result("waitid P_PIDFD", waitid(P_PIDFD, (id_t)fd, &si, WEXITED));
    show_info("waitid P_PIDFD", &si, pid);
    close(fd);
}

static void groups(void)
{
    pid_t pid;
    int st;

    pid = child(20, 11);
    printf("waitpid(0) finds a child of our group: %s\n",
           waitpid(0, &st, 0) == pid ? "yes" : "no");
    show_status("waitpid(0)", st);

    pid = child(20, 12);
    setpgid(pid, pid);
    printf("waitpid(-pgid) finds it: %s\n", waitpid(-pid, &st, 0) == pid ? "yes" : "no");
    show_status("waitpid(-pgid)", st);
}

static void errors(void)
{
    struct sigaction ign = { .sa_handler = SIG_IGN }, dfl = { .sa_handler = SIG_DFL };
    siginfo_t si;
    pid_t pid;
    int st;

    show_result("waitpid(-1) without children", waitpid(-1, &st, 0));
    show_result("wait without children", wait(&st));
    show_result("waitpid(1)", waitpid(1, &st, 0));
    show_result("waitid P_ALL without children", waitid(P_ALL, 0, &si, WEXITED));
    show_result("waitpid bad options", waitpid(-1, &st, 0x10000));
    show_result("waitpid WNOWAIT", waitpid(-1, &st, WNOWAIT));
    show_result("waitid no event asked", waitid(P_ALL, 0, &si, 0));
    show_result("waitid P_PID 0", waitid(P_PID, 0, &si, WEXITED));
    show_result("waitid bad idtype", waitid((idtype_t)42, 0, &si, WEXITED));

    sigaction(SIGCHLD, &ign, NULL);
    pid = child(50, 0);
    show_result("waitpid with SIGCHLD ignored", waitpid(pid, &st, 0));
    sigaction(SIGCHLD, &dfl, NULL);
}

static void nohang(void)
{
    siginfo_t si;
    pid_t pid = child(200, 8);
    int st;

    show_result("waitpid WNOHANG while it runs", waitpid(pid, &st, WNOHANG));
    show_result("wait4 WNOHANG while it runs", wait4(-1, &st, WNOHANG, NULL));
    si.si_pid = 12345;
    show_result("waitid WNOHANG while it runs", waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG));
    printf("and si_pid is %d\n", si.si_pid);
    waitpid(pid, &st, 0);
    show_status("then waitpid", st);
}

/* ---- several waiters, cancellation ---- */

struct waiter {
    pid_t pid;
    int st;
    long done_at;
};

static void *wait_one(void *arg)
{
    struct waiter *w = arg;

    if (waitpid(w->pid, &w->st, 0) != w->pid)
        w->st = -1;
    w->done_at = now_ms();
    return NULL;
}

static void two_waiters(void)
{
    struct waiter slow = { .pid = child(200, 21) }, quick = { .pid = child(50, 22) };
    pthread_t a, b;

    pthread_create(&a, NULL, wait_one, &slow);
    pthread_create(&b, NULL, wait_one, &quick);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    show_status("first waiter (slow child)", slow.st);
    show_status("second waiter (quick child)", quick.st);
    printf("the quick child's waiter returned first: %s\n",
           quick.done_at <= slow.done_at ? "yes" : "no");
}

static void *cancelled_wait(void *arg)
{
    int st;

    if (arg)
        waitpid(*(pid_t *)arg, &st, 0);
    else
        wait(&st);
    return (void *)"returned";
}

static void cancel(const char *what, bool one_pid)
{
    pid_t pid = child(5000, 0);
    pthread_t t;
    void *res;
    int st;

    pthread_create(&t, NULL, cancelled_wait, one_pid ? &pid : NULL);
    usleep(50000);
    pthread_cancel(t);
    pthread_join(t, &res);
    printf("%s cancelled: %s\n", what, res == PTHREAD_CANCELED ? "yes" : "no");
    kill(pid, SIGKILL);
    printf("child still there to reap: %s\n", waitpid(pid, &st, 0) == pid ? "yes" : "no");
    show_status("it", st);
}

int main(void)
{
    pthread_t t;
    int fd;

    alarm(20);
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    fd = next_fd();
    statuses();
    stops();
    waitids();
    groups();
    errors();
    nohang();
    two_waiters();
    cancel("waitpid(pid)", true);
    cancel("wait", false);
    t = start_ticker();
    ticked_during("waitpid pid", by_waitpid);
    ticked_during("wait, any child", by_wait);
    ticked_during("waitid P_PID", by_waitid);
    stop_ticker(t);
    printf("no fd left behind: %s\n", next_fd() == fd ? "yes" : "no");
    return 0;
}
