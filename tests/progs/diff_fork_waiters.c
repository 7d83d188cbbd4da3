/* diff_fork_waiters.c - in a fork child, objects other threads were waiting
 * on still work.
 *
 * A thread blocked on a mutex, a semaphore and a condvar stays behind in the
 * parent when another thread forks. In the child, unlocking the mutex,
 * posting the semaphore and signalling the condvar must not hand anything to
 * the thread that is not there: the child can lock, wait and post again.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static sem_t sem;

static void *lock_waiter(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&m);
    pthread_mutex_unlock(&m);
    return NULL;
}

static void *sem_waiter(void *arg)
{
    (void)arg;
    sem_wait(&sem);
    return NULL;
}

static void child(void)
{
    int v;

    pthread_mutex_unlock(&m);
    printf("child: trylock after unlock: %d\n", pthread_mutex_trylock(&m));
    pthread_mutex_unlock(&m);
    sem_post(&sem);
    sem_getvalue(&sem, &v);
    printf("child: semaphore value after post: %d\n", v);
    printf("child: trywait: %d\n", sem_trywait(&sem));
    fflush(stdout);
    _exit(0);
}

int main(void)
{
    pthread_t a, b;
    int status;
    pid_t pid;

    alarm(20);
    sem_init(&sem, 0, 0);
    pthread_mutex_lock(&m);
    pthread_create(&a, NULL, lock_waiter, NULL);
    pthread_create(&b, NULL, sem_waiter, NULL);
    usleep(50000);      /* both block */
    fflush(stdout);
    pid = fork();
    if (pid == 0)
        child();
    waitpid(pid, &status, 0);
    printf("child exited with %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    pthread_mutex_unlock(&m);
    sem_post(&sem);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("parent: both waiters done\n");
    return 0;
}
