/* diff_vio64.c - preadv2/pwritev2 in a program built with
 * _FILE_OFFSET_BITS=64, whose headers redirect them to preadv64v2 and
 * pwritev64v2: a reader blocked on an empty pipe lets the writer run.
 */
#define _GNU_SOURCE
#define _FILE_OFFSET_BITS 64
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

static int p[2];
static char buf[32];
static ssize_t got;

static void *reader(void *arg)
{
    struct iovec iov = { buf, sizeof(buf) - 1 };

    (void)arg;
    got = preadv2(p[0], &iov, 1, -1, 0);
    return NULL;
}

int main(void)
{
    struct iovec iov = { "through pwritev2", 16 };
    pthread_t t;

    alarm(10);
    if (pipe(p) || pthread_create(&t, NULL, reader, NULL))
        return 1;
    usleep(50000);      /* the reader blocks first */
    printf("pwritev2 wrote %zd bytes\n", pwritev2(p[1], &iov, 1, -1, 0));
    pthread_join(t, NULL);
    printf("preadv2 read %zd bytes: %s\n", got, buf);
    return 0;
}
