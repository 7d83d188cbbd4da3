/* test_fds.c - the runtime's own fds (runtime/fds.c).
 *
 * Covers: once the runtime has started, the lowest free fd is the one it
 * was before (the loop's fds and fdw's epoll instance went elsewhere); the
 * loop's epoll fd and fdw's are the runtime's and the program's are not;
 * rt_fd_next_owned() finds the runtime's fds in order and -1 past them;
 * after a fork the child's renewed loop is out of the way too, and fdw's
 * instance in the child is still the runtime's.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rt_int.h"

static int lowest_free(void)
{
    int fd = open("/dev/null", O_RDONLY);

    cr_assert_geq(fd, 0);
    close(fd);
    return fd;
}

static void start(void)
{
    struct rt_config cfg = { 0 };

    cr_assert_eq(rt_start(&cfg), 0);
}

Test(fds, start_leaves_lowest_fd_free)
{
    int before = lowest_free();

    start();
    cr_assert_eq(lowest_free(), before);
}

Test(fds, loop_fd_is_owned_program_fd_is_not)
{
    int fd, backend;

    start();
    backend = rt_sched->loop.backend_fd;
    fd = open("/dev/null", O_RDONLY);
    cr_assert(rt_fd_owned(backend));
    cr_assert_not(rt_fd_owned(fd));
    cr_assert_not(rt_fd_owned(-1));
    cr_assert_gt(backend, fd);
    close(fd);
}

Test(fds, next_owned_walks_in_order)
{
    int fd, prev = -1, n = 0;

    start();
    for (fd = rt_fd_next_owned(0); fd >= 0; fd = rt_fd_next_owned(fd + 1)) {
        cr_assert_gt(fd, prev);
        cr_assert(rt_fd_owned(fd));
        cr_assert_geq(fcntl(fd, F_GETFD), 0, "owned fd %d is open", fd);
        prev = fd;
        n++;
    }
    cr_assert_geq(n, 1);
    cr_assert(rt_fd_owned(rt_sched->loop.backend_fd));
}

static void find_poll(uv_handle_t *h, void *arg)
{
    uv_os_fd_t *fd = arg;

    if (h->type == UV_POLL)
        uv_fileno(h, fd);
}

/* fdw's epoll instance: the one fd the loop polls. */
static int fdw_instance(void)
{
    uv_os_fd_t fd = -1;

    uv_walk(&rt_sched->loop, find_poll, &fd);
    return fd;
}

Test(fds, fdw_instance_is_owned)
{
    int fd;

    start();
    fd = fdw_instance();
    cr_assert_geq(fd, 0);
    cr_assert(rt_fd_owned(fd));
    cr_assert_neq(fd, rt_sched->loop.backend_fd);
}

static int fork_child_err = -1;

static void fork_child(void)
{
    fork_child_err = rt_fork_child();
}

Test(fds, fork_child_loop_is_out_of_the_way)
{
    int before, status;
    pid_t pid;

    pthread_atfork(NULL, NULL, fork_child);     /* before rt_start, as rt.h asks */
    start();
    before = lowest_free();
    pid = fork();
    if (pid == 0)
        _exit(fork_child_err == 0 && lowest_free() == before &&
                      rt_fd_owned(rt_sched->loop.backend_fd) && rt_fd_owned(fdw_instance()) &&
                      fcntl(fdw_instance(), F_GETFD) >= 0 ? 0 : 1);
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
