/* seed_10_monkey.c - the seed's monkey patching: the same program, with
 * socket and select replaced by cooperative versions.
 *
 * gevent's version prints socket.socket and select.select before and after
 * monkey.patch_socket() / patch_select(): first the standard library's own
 * ('socket.socket', a built-in select), then gevent's, which park the
 * calling greenlet instead of blocking the process.
 *
 * A C program cannot patch itself at run time; greenrun patches it from
 * outside, at load time (LD_PRELOAD). The program prints, for socket and
 * select, whether the function it calls is libc's own (the address its
 * code links to, against dlsym() on libc's handle from dlopen("libc.so.6",
 * RTLD_NOLOAD)) and which shared object defines it (dladdr). Then it shows
 * what the patch is for: thread A blocks in select() and then recv() on a
 * socketpair while thread B ticks every 20 ms and sends a byte after its
 * 5th and its 10th tick; A prints after how many ticks each call returned
 * (5 and 10: B ran while A was blocked), and "os-threads: N", the Threads:
 * of /proc/self/status read by B while A is blocked in select. Natively the
 * functions are libc's and A and B are two OS threads; under greenrun they
 * are not libc's, and A and B share one OS thread.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include "seed.h"

#define TICK_US 20000

static int sv[2];
static volatile int b_ticks;    /* written by B only; A reads it after a wake-up */
static int os_threads_seen;

static void show(const char *name, void *linked, void *libc)
{
    Dl_info info;
    const char *from = "?", *slash;

    if (dladdr(linked, &info) && info.dli_fname) {
        slash = strrchr(info.dli_fname, '/');
        from = slash ? slash + 1 : info.dli_fname;
    }
    printf("%s is libc's own: %s\n", name, linked == libc ? "yes" : "no");
    printf("%s comes from: %s\n", name, from);
}

static void *thread_a(void *arg)
{
    fd_set rd;
    char c;

    (void)arg;
    FD_ZERO(&rd);
    FD_SET(sv[0], &rd);
    if (select(sv[0] + 1, &rd, NULL, NULL, NULL) != 1)
        die("select");
    printf("select returned after %d ticks of the other thread\n", b_ticks);
    if (recv(sv[0], &c, 1, 0) != 1)             /* the byte select saw */
        die("recv");
    if (recv(sv[0], &c, 1, 0) != 1)             /* blocks until the next one */
        die("recv");
    printf("recv returned after %d ticks of the other thread\n", b_ticks);
    return NULL;
}

static void *thread_b(void *arg)
{
    (void)arg;
    while (b_ticks < 10) {
        usleep(TICK_US);
        b_ticks++;
        if (b_ticks == 3)
            os_threads_seen = os_threads();
        if ((b_ticks == 5 || b_ticks == 10) && send(sv[1], "x", 1, 0) != 1)
            die("send");
    }
    return NULL;
}

int main(void)
{
    void *libc = dlopen("libc.so.6", RTLD_NOLOAD | RTLD_LAZY);
    pthread_t a, b;
    int err;

    alarm(20);
    if (!libc) {
        fprintf(stderr, "seed_10_monkey: dlopen: %s\n", dlerror());
        return 1;
    }
    show("socket", (void *)&socket, dlsym(libc, "socket"));
    show("select", (void *)&select, dlsym(libc, "select"));

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        die("socketpair");
    if ((err = pthread_create(&a, NULL, thread_a, NULL)) ||
        (err = pthread_create(&b, NULL, thread_b, NULL)))
        die_err("pthread_create", err);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("os-threads: %d\n", os_threads_seen);
    return 0;
}
