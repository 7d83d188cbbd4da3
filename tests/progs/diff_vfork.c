/* diff_vfork.c - vfork children that close fds must not disturb the parent.
 *
 * CPython's subprocess closes every fd above 2 with close_range in a vfork
 * child before it execs. A thread of the parent blocked on a pipe must not
 * notice: its fd is the parent's, closed only in the child. Also: a vfork
 * child that execs, one that _exits with a status, and the parent's other
 * threads still running afterwards.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int pipefd[2];

static void *reader(void *arg)
{
    char buf[16] = "";
    ssize_t n;

    (void)arg;
    n = read(pipefd[0], buf, sizeof(buf) - 1);
    if (n < 0)
        printf("reader: read failed: %s\n", strerror(errno));
    else
        printf("reader: read %zd bytes: %s\n", n, buf);
    return NULL;
}

static int vfork_child(int mode)
{
    int status;
    pid_t pid = vfork();

    if (pid == 0) {
        if (mode == 0) {
            close_range(3, ~0U, 0);
            _exit(7);
        }
        execl("/bin/true", "true", (char *)NULL);
        _exit(127);
    }
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int main(void)
{
    pthread_t t;
    int i;

    alarm(20);
    if (pipe(pipefd) || pthread_create(&t, NULL, reader, NULL))
        return 1;
    usleep(50000);      /* let the reader block */
    for (i = 0; i < 3; i++)
        printf("child that closed fds exited with %d\n", vfork_child(0));
    printf("child that exec'd true exited with %d\n", vfork_child(1));
    if (write(pipefd[1], "hello", 5) != 5)
        return 1;
    pthread_join(t, NULL);
    printf("pipe still open in the parent: %s\n", fcntl(pipefd[0], F_GETFD) >= 0 ? "yes" : "no");
    return 0;
}
