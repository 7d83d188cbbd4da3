/* fds.c - the runtime's own fds, out of the program's way.
 *
 * libuv's loop holds a few fds: its epoll instance, the eventfd that wakes it
 * from the thread pool, the pipe of its SIGCHLD watcher and a process-wide
 * signal lock pipe; fdw.c adds an epoll instance of its own, which the loop
 * watches. A program must not see them: it expects its first open()
 * to return 3, and a daemon that closes every fd it did not open must not
 * close the loop's. So:
 *
 *   - The loop is created (and renewed after a fork) with every free fd
 *     below a floor taken for the moment, so that the kernel, which
 *     always hands out the lowest free number, puts the loop's fds at the
 *     floor and above, far from the numbers a program starts with. The
 *     floor is 112, or lower under a small soft RLIMIT_NOFILE: each
 *     process start and fork child pays one dup and one close per number
 *     below it (a floor near 1024 cost about 0.8 ms each time), and the
 *     numbers above 128 stay free for programs that pick high fds by hand
 *     (shells take 255 and down).
 *   - The fds that appeared at the floor and above are the runtime's
 *     (rt_fd_owned); the shim refuses to close or replace them, with the
 *     EBADF the program would get for an fd it never opened.
 *
 * The loop opens fds only in uv_loop_init and uv_loop_fork (and libuv's fork
 * handler), and fdw only in fdw_loop_init (inside rt_fds_loop_init's fill)
 * and in a fork child (fdw_fork_child, inside the fork fill, where the new
 * instance takes the old one's number), so the set stays exact. libuv closes the old ones with libc's
 * close() itself, with rt_mode off, which the shim passes straight through.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "rt_int.h"

#define FD_FLOOR_MAX 112            /* see above */
#define FD_FLOOR_ROOM 16            /* kept free under the soft limit */
#define OWNED_MAX 64                /* fds tracked from the floor up */

static int fd_floor = -1;           /* -1: not yet placed */
static uint64_t owned;              /* bit i: fd_floor + i is the runtime's */

/* The lowest number the runtime's fds may take. */
static int floor_for_limit(void)
{
    struct rlimit rl;
    rlim_t top = FD_FLOOR_MAX + FD_FLOOR_ROOM;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < top)
        top = rl.rlim_cur;
    return top > FD_FLOOR_ROOM + STDERR_FILENO + 1 ? (int)(top - FD_FLOOR_ROOM)
                                                   : STDERR_FILENO + 1;
}

/* Which of the fds [fd_floor, fd_floor + OWNED_MAX) are open. */
static uint64_t open_above_floor(void)
{
    uint64_t set = 0;

    for (int i = 0; i < OWNED_MAX; i++)
        if (fcntl(fd_floor + i, F_GETFD) >= 0)
            set |= (uint64_t)1 << i;
    return set;
}

/* Take every free fd below the floor; the bitmap says which were taken. */
static void fill_below_floor(uint64_t *taken)
{
    int fd, first = open("/dev/null", O_RDONLY | O_CLOEXEC);

    if (first < 0)
        return;
    if (first >= fd_floor) {
        close(first);
        return;
    }
    taken[first / 64] |= (uint64_t)1 << (first % 64);
    while ((fd = fcntl(first, F_DUPFD_CLOEXEC, 0)) >= 0 && fd < fd_floor)
        taken[fd / 64] |= (uint64_t)1 << (fd % 64);
    if (fd >= 0)
        close(fd);
}

static void release_below_floor(const uint64_t *taken)
{
    for (int fd = 0; fd < fd_floor; fd++)
        if (taken[fd / 64] & (uint64_t)1 << (fd % 64))
            close(fd);
}

/* In a fork child, the fill lasts from rt_fds_loop_fork() until every
 * fork handler of libuv's has run (see below). */
static uint64_t fork_taken[(FD_FLOOR_MAX + 63) / 64];
static uint64_t fork_programs;
static bool fork_filled;

/* libuv renews its process-wide signal lock pipe in a fork child handler of
 * its own, registered by the first uv_loop_init, after the handler that
 * calls rt_fork_child(). So the fill made there is released only by this
 * handler, registered after libuv's, and the new pipe lands high too. */
static void fork_done(void)
{
    if (!fork_filled)
        return;
    fork_filled = false;
    release_below_floor(fork_taken);
    memset(fork_taken, 0, sizeof(fork_taken));
    owned = open_above_floor() & ~fork_programs;
}

int rt_fds_loop_init(uv_loop_t *loop)
{
    uint64_t taken[(FD_FLOOR_MAX + 63) / 64] = { 0 }, programs;
    int err;

    fd_floor = floor_for_limit();
    programs = open_above_floor();
    fill_below_floor(taken);
    err = uv_loop_init(loop);
    if (!err)
        err = fdw_loop_init(loop);
    release_below_floor(taken);
    owned = open_above_floor() & ~programs;
    if (!err && pthread_atfork(NULL, NULL, fork_done))
        err = -ENOMEM;
    return err;
}

int rt_fds_loop_fork(uv_loop_t *loop)
{
    fork_programs = open_above_floor() & ~owned;
    fill_below_floor(fork_taken);
    fork_filled = true;
    return uv_loop_fork(loop);
}

bool rt_fd_owned(int fd)
{
    unsigned i = (unsigned)fd - (unsigned)fd_floor;

    return fd_floor >= 0 && i < OWNED_MAX && (owned >> i & 1);
}

int rt_fd_next_owned(int fd)
{
    uint64_t above;

    if (fd_floor < 0)
        return -1;
    if (fd < fd_floor)
        fd = fd_floor;
    if (fd - fd_floor >= OWNED_MAX)
        return -1;
    above = owned >> (fd - fd_floor);
    return above ? fd + __builtin_ctzll(above) : -1;
}
