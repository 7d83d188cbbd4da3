/* diff_flockfile.c - a stdio stream locked with flockfile belongs to one
 * thread until funlockfile.
 *
 * One thread locks stdout, writes the start of a line, sleeps 30 ms and ends
 * the line; main writes its own line 10 ms into that sleep. main's printf must
 * wait for funlockfile, so the two lines never mix.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void *locked_line(void *arg)
{
    (void)arg;
    flockfile(stdout);
    fputs("worker: start of line", stdout);
    usleep(30000);
    fputs(", end of line\n", stdout);
    funlockfile(stdout);
    return NULL;
}

int main(void)
{
    pthread_t t;
    int err;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if ((err = pthread_create(&t, NULL, locked_line, NULL))) {
        fprintf(stderr, "diff_flockfile: pthread_create: %s\n", strerror(err));
        return 1;
    }
    usleep(10000);
    printf("main: a whole line\n");
    pthread_join(t, NULL);
    printf("done\n");
    return 0;
}
