/* diff_popen.c - popen, pclose and system: results, statuses, signals, and
 * threads that keep running while one waits for the shell.
 *
 * Checks: popen "r" reads a command's output (read on fileno, and fgets);
 * "w" feeds `cat`, whose output appears before pclose returns; pclose gives
 * the wait status (exit codes, death by signal); modes "rw", "x" and "" give
 * EINVAL, "re"/"we" set FD_CLOEXEC on the stream's fd and "r"/"w" do not; the
 * child of a later popen does not inherit an earlier popen's fd (POSIX); with
 * stdin closed, a "w" popen still feeds the child's stdin; pclose of a stream
 * that popen did not open gives fclose's answer; system returns the wait
 * status ("exit 3", a shell killed by SIGKILL), system(NULL) is non-zero,
 * SIGINT and SIGQUIT are ignored while system runs and restored after, and
 * SIGCHLD is not left blocked; a thread cancelled in system ends as
 * PTHREAD_CANCELED with the shell killed and reaped, and the signals
 * restored; a thread ticking every 5 ms keeps ticking (more than 5 ticks)
 * while another reads "sleep 0.3; echo hi" from popen, waits in pclose for
 * "sleep 0.3", or waits in system("sleep 0.3").
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

static void show_status(const char *what, int st)
{
    if (st == -1)
        printf("%s: -1 %s\n", what, ename(errno));
    else if (WIFEXITED(st))
        printf("%s: exited %d\n", what, WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        printf("%s: killed by %s\n", what, sigabbrev_np(WTERMSIG(st)));
    else
        printf("%s: status %#x\n", what, st);
}

static FILE *xpopen(const char *cmd, const char *mode)
{
    FILE *f;

    fflush(stdout);
    if (!(f = popen(cmd, mode)))
        die("popen");
    return f;
}

/* ---- the ticker ---- */

static const char *ticked(int before)
{
    return ticks - before > 5 ? "yes" : "no";
}

/* ---- the checks ---- */

static void while_ticking(void)
{
    char buf[64];
    size_t len = 0;
    ssize_t n;
    int before;
    FILE *f;

    before = ticks;
    f = xpopen("sleep 0.3; echo hi", "r");
    while (len < sizeof(buf) - 1 && (n = read(fileno(f), buf + len, sizeof(buf) - 1 - len)) > 0)
        len += (size_t)n;
    buf[len] = '\0';
    printf("read from popen: %s", buf);
    printf("ticker ran during the read: %s\n", ticked(before));
    show_status("its pclose", pclose(f));

    f = xpopen("sleep 0.3", "r");
    before = ticks;
    show_status("pclose of sleep 0.3", pclose(f));
    printf("ticker ran during pclose: %s\n", ticked(before));

    fflush(stdout);
    before = ticks;
    show_status("system(\"sleep 0.3\")", system("sleep 0.3"));
    printf("ticker ran during system: %s\n", ticked(before));
}

static void streams(void)
{
    char line[64];
    FILE *f;

    f = xpopen("printf 'one\\ntwo\\n'", "r");
    while (fgets(line, sizeof(line), f))
        printf("fgets from popen: %s", line);
    show_status("pclose", pclose(f));

    f = xpopen("cat", "w");
    fputs("written through popen \"w\" to cat\n", f);
    show_status("pclose of cat", pclose(f));

    show_status("pclose of \"exit 5\"", pclose(xpopen("exit 5", "r")));
    show_status("pclose of a shell killed by SIGKILL", pclose(xpopen("kill -KILL $$", "r")));
}

static void modes(void)
{
    static const char *bad[] = { "rw", "x", "" };
    static const char *good[] = { "r", "re", "w", "we" };
    FILE *f;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        errno = 0;
        f = popen("true", bad[i]);
        printf("popen mode \"%s\": %s %s\n", bad[i], f ? "stream" : "NULL", ename(errno));
        if (f)
            pclose(f);
    }
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        f = xpopen("true", good[i]);
        printf("popen mode \"%s\": FD_CLOEXEC %s\n", good[i],
               fcntl(fileno(f), F_GETFD) & FD_CLOEXEC ? "set" : "clear");
        show_status("its pclose", pclose(f));
    }
}

/* POSIX: a popen child does not keep the fds of streams popen'ed before. */
static void earlier_streams(void)
{
    char cmd[128], line[64] = "";
    FILE *first, *second;

    first = xpopen("cat >/dev/null", "w");
    snprintf(cmd, sizeof(cmd), "test -e /proc/self/fd/%d && echo inherited || echo closed",
             fileno(first));
    second = xpopen(cmd, "r");
    if (!fgets(line, sizeof(line), second))
        die("fgets");
    printf("the earlier popen's fd in the later child: %s", line);
    show_status("pclose of the later", pclose(second));
    show_status("pclose of the earlier", pclose(first));
}

static void not_from_popen(void)
{
    /* Through a pointer the compiler cannot follow: it rejects pclose on
     * fopen's stream, which is what this checks. */
    FILE *(*volatile open_stream)(const char *, const char *) = fopen;
    FILE *f = open_stream("/dev/null", "r");

    if (!f)
        die("fopen");
    printf("pclose of a stream fopen opened: %d\n", pclose(f));
}

static void systems(void)
{
    struct sigaction sa;
    sigset_t mask;

    fflush(stdout);
    show_status("system(\"exit 3\")", system("exit 3"));
    show_status("system of a shell killed by SIGKILL", system("kill -KILL $$"));
    printf("system(NULL) is non-zero: %s\n", system(NULL) ? "yes" : "no");
    sigaction(SIGINT, NULL, &sa);
    printf("SIGINT after system: %s\n", sa.sa_handler == SIG_DFL ? "default" : "not default");
    pthread_sigmask(SIG_SETMASK, NULL, &mask);
    printf("SIGCHLD blocked after system: %s\n", sigismember(&mask, SIGCHLD) ? "yes" : "no");
}

static void *run_system(void *arg)
{
    return (void *)(long)system(arg);
}

static const char *disposition(int sig)
{
    struct sigaction sa;

    sigaction(sig, NULL, &sa);
    return sa.sa_handler == SIG_IGN ? "ignored" : sa.sa_handler == SIG_DFL ? "default" : "caught";
}

static void system_signals(void)
{
    pthread_t t;
    void *res;
    int st;

    fflush(stdout);
    pthread_create(&t, NULL, run_system, "sleep 0.3");
    usleep(100000);
    printf("while system runs: SIGINT %s, SIGQUIT %s\n", disposition(SIGINT),
           disposition(SIGQUIT));
    pthread_join(t, &res);
    show_status("that system", (int)(long)res);
    printf("after: SIGINT %s, SIGQUIT %s\n", disposition(SIGINT), disposition(SIGQUIT));

    pthread_create(&t, NULL, run_system, "sleep 5");
    usleep(100000);
    pthread_cancel(t);
    pthread_join(t, &res);
    printf("system cancelled: %s\n", res == PTHREAD_CANCELED ? "yes" : "no");
    printf("its shell already reaped: %s\n", waitpid(-1, &st, WNOHANG) < 0 && errno == ECHILD ?
           "yes" : "no");
    printf("after the cancel: SIGINT %s, SIGQUIT %s\n", disposition(SIGINT),
           disposition(SIGQUIT));
}

/* With stdin closed the pipe's read end is 0, the number the child needs. */
static void stdin_closed(void)
{
    FILE *f;

    close(0);
    f = xpopen("tr a-z A-Z", "w");
    fputs("fed with stdin closed\n", f);
    show_status("pclose", pclose(f));
}

int main(void)
{
    pthread_t t;

    alarm(20);
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    t = start_ticker();
    while_ticking();
    streams();
    modes();
    earlier_streams();
    not_from_popen();
    systems();
    system_signals();
    stdin_closed();
    stop_ticker(t);
    return 0;
}
