/* diff_signal_action.c - what sigaction and the BSD and System V calls show
 * and set: old and new actions (handler, flags, mask), SIG_IGN and SIG_DFL,
 * SA_RESETHAND, signal, sysv_signal, siginterrupt, sigset with SIG_HOLD,
 * sighold, sigrelse, sigignore, sigblock, sigsetmask, siggetmask, and
 * their answers to bad signals.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

static volatile sig_atomic_t hits;

static void on_signal(int sig)
{
    (void)sig;
    hits++;
}

static void on_info(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    hits += si->si_signo == sig;
}

static const char *name(void (*h)(int))
{
    union { void (*h)(int); void (*info)(int, siginfo_t *, void *); } u = { h };

    return h == SIG_DFL ? "SIG_DFL" : h == SIG_IGN ? "SIG_IGN" : h == SIG_ERR ? "SIG_ERR" :
           h == SIG_HOLD ? "SIG_HOLD" : h == on_signal ? "on_signal" :
           u.info == on_info ? "on_info" : "?";
}

static void show(const char *what, int sig)
{
    struct sigaction sa;
    int f;

    sigaction(sig, NULL, &sa);
    f = sa.sa_flags;
    printf("%s: %s%s%s%s%s%s, mask has USR2 %d\n", what, name(sa.sa_handler),
           f & SA_SIGINFO ? " SIGINFO" : "", f & SA_RESTART ? " RESTART" : "",
           f & SA_RESETHAND ? " RESETHAND" : "", f & SA_NODEFER ? " NODEFER" : "",
           f & SA_ONSTACK ? " ONSTACK" : "", sigismember(&sa.sa_mask, SIGUSR2));
}

static int blocked(int sig)
{
    sigset_t now;

    sigprocmask(SIG_BLOCK, NULL, &now);
    return sigismember(&now, sig);
}

static const char *err(void)
{
    return errno == EINVAL ? "EINVAL" : strerror(errno);
}

int main(void)
{
    struct sigaction sa, old;
    void (*prev)(int);
    int r;

    show("initial", SIGUSR1);
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_info;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaddset(&sa.sa_mask, SIGUSR2);
    r = sigaction(SIGUSR1, &sa, &old);
    printf("sigaction: %d, old %s\n", r, name(old.sa_handler));
    show("installed", SIGUSR1);
    raise(SIGUSR1);
    printf("raise ran it: %d\n", (int)hits);
    sa.sa_handler = SIG_IGN;
    sa.sa_flags = 0;
    sigaction(SIGUSR1, &sa, &old);
    printf("replaced, old %s%s\n", name(old.sa_handler), old.sa_flags & SA_SIGINFO ? " SIGINFO" : "");
    show("ignored", SIGUSR1);
    raise(SIGUSR1);
    printf("ignored, ran: %d\n", (int)hits);

    hits = 0;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGUSR1, &sa, NULL);
    show("one-shot", SIGUSR1);
    raise(SIGUSR1);
    printf("one-shot ran: %d\n", (int)hits);
    show("after one-shot", SIGUSR1);

    prev = signal(SIGUSR1, on_signal);
    printf("signal: old %s\n", name(prev));
    show("signal", SIGUSR1);
    siginterrupt(SIGUSR1, 1);
    show("siginterrupt 1", SIGUSR1);
    signal(SIGUSR1, on_signal);
    show("signal after siginterrupt", SIGUSR1);
    siginterrupt(SIGUSR1, 0);
    show("siginterrupt 0", SIGUSR1);

    hits = 0;
    prev = sysv_signal(SIGUSR1, on_signal);
    printf("sysv_signal: old %s\n", name(prev));
    show("sysv_signal", SIGUSR1);
    raise(SIGUSR1);
    printf("sysv ran: %d\n", (int)hits);
    show("after sysv", SIGUSR1);

    signal(SIGUSR1, on_signal);
    prev = sigset(SIGUSR1, SIG_HOLD);
    printf("sigset hold: old %s, blocked %d\n", name(prev), blocked(SIGUSR1));
    prev = sigset(SIGUSR1, SIG_HOLD);
    printf("sigset hold again: %s\n", name(prev));
    prev = sigset(SIGUSR1, SIG_DFL);
    printf("sigset dfl: %s, blocked %d\n", name(prev), blocked(SIGUSR1));
    show("after sigset", SIGUSR1);

    sighold(SIGUSR2);
    printf("sighold: blocked %d\n", blocked(SIGUSR2));
    sigrelse(SIGUSR2);
    printf("sigrelse: blocked %d\n", blocked(SIGUSR2));
    sigignore(SIGUSR2);
    show("sigignore", SIGUSR2);

    r = sigblock((1 << (SIGUSR1 - 1)) | (1 << (SIGHUP - 1)));
    printf("sigblock: old %#x, now %#x\n", r, siggetmask());
    r = sigsetmask(1 << (SIGINT - 1));
    printf("sigsetmask: old %#x, now %#x\n", r, siggetmask());
    sigsetmask(0);

    sa.sa_handler = on_signal;
    errno = 0;
    r = sigaction(SIGKILL, &sa, NULL);
    printf("sigaction SIGKILL: %d %s\n", r, err());
    errno = 0;
    r = sigaction(0, &sa, NULL);
    printf("sigaction 0: %d %s\n", r, err());
    errno = 0;
    r = sigaction(65, NULL, &old);
    printf("sigaction 65: %d %s\n", r, err());
    errno = 0;
    prev = signal(32, on_signal);
    printf("signal 32: %s %s\n", name(prev), err());
    errno = 0;
    prev = signal(SIGUSR1, SIG_ERR);
    printf("signal SIG_ERR: %s %s\n", name(prev), err());
    errno = 0;
    r = sighold(99);
    printf("sighold 99: %d %s\n", r, err());
    errno = 0;
    prev = sigset(0, SIG_DFL);
    printf("sigset 0: %s %s\n", name(prev), err());
    errno = 0;
    r = siginterrupt(99, 1);
    printf("siginterrupt 99: %d %s\n", r, err());
    return 0;
}
