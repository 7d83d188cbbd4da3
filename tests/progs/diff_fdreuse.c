/* diff_fdreuse.c - an fd number closed by close_range and then reused.
 *
 * A program reads a regular file (a memfd), closes it with close_range(), and the next
 * pipe it makes gets the same number. A blocking read on that pipe must wait
 * for the data another thread writes 20 ms later, as on any pipe. alarm()
 * bounds the program if the read never returns.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common.h"

static void *write_later(void *arg)
{
    usleep(20000);
    if (write((int)(long)arg, "hello", 5) != 5)
        die("write");
    return NULL;
}

int main(void)
{
    char buf[16];
    pthread_t t;
    ssize_t r;
    int fd, p[2];

    setvbuf(stdout, NULL, _IOLBF, 0);
    alarm(5);
    fd = memfd_create("diff_fdreuse", 0);
    if (fd < 0 || read(fd, buf, sizeof(buf)) != 0)
        die("read file");
    if (close_range((unsigned)fd, (unsigned)fd, 0) < 0)
        die("close_range");
    xpipe(p);
    printf("pipe read end reuses the file's number: %s\n", p[0] == fd ? "yes" : "no");
    t = spawn(write_later, (void *)(long)p[1]);
    r = read(p[0], buf, sizeof(buf));
    join(t);
    printf("blocking read on the pipe: %zd (%.*s)\n", r, r > 0 ? (int)r : 0, buf);
    printf("done\n");
    return 0;
}
