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

static void die(const char *what)
{
    fprintf(stderr, "diff_fdreuse: %s: %s\n", what, strerror(errno));
    exit(1);
}

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
    if (pipe(p) < 0)
        die("pipe");
    printf("pipe read end reuses the file's number: %s\n", p[0] == fd ? "yes" : "no");
    if ((errno = pthread_create(&t, NULL, write_later, (void *)(long)p[1])))
        die("pthread_create");
    r = read(p[0], buf, sizeof(buf));
    if ((errno = pthread_join(t, NULL)))
        die("pthread_join");
    printf("blocking read on the pipe: %zd (%.*s)\n", r, r > 0 ? (int)r : 0, buf);
    printf("done\n");
    return 0;
}
