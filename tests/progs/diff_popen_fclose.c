/* diff_popen_fclose.c - fclose on a popen'ed stream waits for the child.
 *
 * glibc's popen streams close through a hook that waits for the child, so
 * fclose returns the wait status as pclose does, and the child is reaped:
 * a later wait finds no child. Meanwhile another thread keeps running.
 */
#define _GNU_SOURCE
/* fclose on a popen stream is the point here. */
#pragma GCC diagnostic ignored "-Wmismatched-dealloc"
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int ticks;

static void *ticker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 5; i++) {
        usleep(20000);
        ticks++;
    }
    return NULL;
}

int main(void)
{
    pthread_t t;
    char line[64] = "";
    FILE *f;
    int r;

    alarm(20);
    pthread_create(&t, NULL, ticker, NULL);
    f = popen("echo hello; sleep 0.3; exit 3", "r");
    if (!f || !fgets(line, sizeof(line), f))
        return 1;
    printf("read: %s", line);
    r = fclose(f);
    printf("fclose: exited %d\n", WIFEXITED(r) ? WEXITSTATUS(r) : -1);
    printf("the other thread ran meanwhile: %s\n", ticks == 5 ? "yes" : "no");
    r = waitpid(-1, NULL, WNOHANG);
    printf("child already reaped: %s\n", r < 0 && errno == ECHILD ? "yes" : "no");
    f = popen("cat >/dev/null; exit 4", "w");
    fputs("data\n", f);
    r = fclose(f);
    printf("fclose of a writer: exited %d\n", WIFEXITED(r) ? WEXITSTATUS(r) : -1);
    pthread_join(t, NULL);
    return 0;
}
