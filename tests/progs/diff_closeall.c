/* diff_closeall.c - a program that closes every fd it did not open.
 *
 * Daemons do it at start-up: close_range, closefrom, or close() in a loop up
 * to the fd limit. Checked: the first fd a program opens is the lowest free
 * one; each way of closing everything closes the same number of fds as
 * natively (fds the program never opened give EBADF), dup2 onto every number
 * fails or succeeds alike; and afterwards threads still wait on pipes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

static int limit;

/* Opens fds 3..9 (stdio stays), as the program's own. */
static void open_some(void)
{
    for (int i = 0; i < 7; i++)
        if (open("/dev/null", O_RDONLY) < 0)
            perror("open");
}

static int count_open(void)
{
    int n = 0;

    for (int fd = 0; fd < limit; fd++)
        n += fcntl(fd, F_GETFD) >= 0;
    return n;
}

static void *echo(void *arg)
{
    int *p = arg;
    char c;

    while (read(p[0], &c, 1) == 1 && write(p[3], &c, 1) == 1)
        continue;
    return NULL;
}

/* Two threads pass bytes over two pipes. */
static void ping_pong(void)
{
    int p[4], n = 0;
    pthread_t t;
    char c = 'x';

    if (pipe(p) || pipe(p + 2))
        return;
    pthread_create(&t, NULL, echo, p);
    for (int i = 0; i < 100; i++)
        n += write(p[1], &c, 1) == 1 && read(p[2], &c, 1) == 1;
    close(p[1]);
    pthread_join(t, NULL);
    printf("ping-pong after closing everything: %d of 100\n", n);
}

int main(void)
{
    struct rlimit rl;
    int fd, closed = 0, ebadf = 0, dups = 0;

    alarm(20);
    getrlimit(RLIMIT_NOFILE, &rl);
    limit = rl.rlim_cur < 4096 ? (int)rl.rlim_cur : 4096;
    fd = open("/dev/null", O_RDONLY);
    printf("first fd opened: %d\n", fd);
    close(fd);

    open_some();
    printf("close_range(3, ~0): %d\n", close_range(3, ~0U, 0));
    printf("open fds afterwards: %d\n", count_open());

    open_some();
    closefrom(3);
    printf("after closefrom(3): %d open\n", count_open());

    open_some();
    for (fd = 3; fd < limit; fd++) {
        if (close(fd) == 0)
            closed++;
        else if (errno == EBADF)
            ebadf++;
    }
    printf("close() loop: %d closed, %d EBADF\n", closed, ebadf);

    for (fd = 3; fd < limit; fd++)
        if (dup2(0, fd) == fd) {
            dups++;
            close(fd);
        }
    printf("dup2(0, fd) onto free numbers: %s\n", dups >= limit - 64 ? "nearly all" : "few");
    ping_pong();
    return 0;
}
