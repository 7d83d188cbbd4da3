/* fdw.c - the per-fd table and readiness waits.
 *
 * Each fd the program uses gets an entry on first contact: what kind of file it
 * is (which decides how an operation can be tried without blocking) and the
 * program's own view of O_NONBLOCK. The runtime never leaves O_NONBLOCK set on
 * a program's fd: the flag belongs to the open file description, which other
 * processes may share.
 *
 * The first time a thread must wait on an fd, the entry gets a uv_poll_t, and
 * it stays registered while the fd lives: libuv 1.44 issues epoll_ctl(DEL) on
 * every uv_poll_start/stop, and a start/stop per operation doubles the CPU cost
 * of a request. Waiters (nodes on their own stacks) hang off the entry; when
 * the loop reports an event nobody wants any more, the watcher narrows to what
 * is still wanted, so a level-triggered fd cannot keep the loop spinning.
 *
 * close, dup2 and friends must call fdw_forget() first: waiters get EBADF, the
 * watcher is stopped before the number can be reused. A fork child starts
 * with an empty table (fdw_fork_child).
 *
 * The table serves the one managed OS thread and its loop: no locking.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "rt_int.h"

struct fdw_node {
    struct fdw_node *next, *prev;
    gt_t *g;
    int events;                 /* FDW_READ | FDW_WRITE wanted */
    bool closed;                /* the fd was forgotten while we waited */
};

struct fdw {
    struct fdw_info info;
    int fd;
    bool polling;               /* `poll` is initialised */
    int armed;                  /* UV_READABLE | UV_WRITABLE being watched */
    struct fdw_node *head, *tail;
    uv_poll_t poll;
};

static struct fdw **table;
static size_t table_len;

static struct fdw *entry(int fd)
{
    return fd >= 0 && (size_t)fd < table_len ? table[fd] : NULL;
}

static struct fdw *entry_new(int fd, enum fdw_kind kind, bool nonblock)
{
    struct fdw **grown;
    struct fdw *f;
    size_t len;

    if ((size_t)fd >= table_len) {
        len = table_len ? table_len : 256;
        while (len <= (size_t)fd)
            len *= 2;
        grown = realloc(table, len * sizeof(*grown));
        if (!grown)
            return NULL;
        for (size_t i = table_len; i < len; i++)
            grown[i] = NULL;
        table = grown;
        table_len = len;
    }
    f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->fd = fd;
    f->info.kind = kind;
    f->info.nonblock = nonblock;
    table[fd] = f;
    return f;
}

static enum fdw_kind kind_of(mode_t mode)
{
    switch (mode & S_IFMT) {
    case S_IFREG:
    case S_IFDIR:
    case S_IFBLK:
        return FDW_PLAIN;
    case S_IFSOCK:
        return FDW_SOCKET;
    case S_IFCHR:
        return FDW_POLLED;          /* ttys: readiness only */
    default:
        return FDW_NOWAIT;          /* pipes, eventfd and other anonymous inodes */
    }
}

static uint64_t socket_timeout(int fd, int opt)
{
    struct timeval tv = { 0, 0 };
    socklen_t len = sizeof(tv);

    if (getsockopt(fd, SOL_SOCKET, opt, &tv, &len) != 0)
        return 0;
    return (uint64_t)tv.tv_sec * 1000000000u + (uint64_t)tv.tv_usec * 1000u;
}

struct fdw_info *fdw_info(int fd)
{
    struct fdw *f = entry(fd);
    struct stat st;
    int fl = 0;

    if (f)
        return &f->info;
    if (fd < 0)
        return NULL;
    RT_CALL_OUT(fl = fstat(fd, &st) == 0 ? fcntl(fd, F_GETFL) : -1);
    if (fl < 0)
        return NULL;                /* bad fd: the real call will say so */
    f = entry_new(fd, kind_of(st.st_mode), fl & O_NONBLOCK);
    if (!f)
        return NULL;
    if (f->info.kind == FDW_SOCKET) {
        f->info.rcvtimeo = socket_timeout(fd, SO_RCVTIMEO);
        f->info.sndtimeo = socket_timeout(fd, SO_SNDTIMEO);
    }
    return &f->info;
}

struct fdw_info *fdw_peek(int fd)
{
    struct fdw *f = entry(fd);

    return f ? &f->info : NULL;
}

struct fdw_info *fdw_learn(int fd, enum fdw_kind kind, bool nonblock)
{
    struct fdw *f;

    fdw_forget(fd);                 /* a number we missed the close of */
    f = entry_new(fd, kind, nonblock);
    return f ? &f->info : NULL;
}

static void on_closed(uv_handle_t *h)
{
    free(h->data);
}

/* An entry taken out of the table: its watcher closes (and frees it) with
 * the loop's next run, before which the number may get a new watcher. */
static void entry_free(struct fdw *f)
{
    if (f->polling)
        RT_CALL_OUT(uv_close((uv_handle_t *)&f->poll, on_closed));
    else
        free(f);
}

void fdw_forget(int fd)
{
    struct fdw *f = entry(fd);
    struct fdw_node *n;

    if (!f)
        return;
    table[fd] = NULL;
    for (n = f->head; n; n = n->next) {
        n->closed = true;
        gt_unpark(n->g);
    }
    entry_free(f);
}

/* After a fork: the waiters are threads that stayed in the parent, and the
 * loop has already been given its own epoll instance (uv_loop_fork), so
 * closing the watchers no longer touches the parent's. */
void fdw_fork_child(void)
{
    for (size_t fd = 0; fd < table_len; fd++) {
        if (table[fd]) {
            entry_free(table[fd]);
            table[fd] = NULL;
        }
    }
}

void fdw_forget_range(unsigned first, unsigned last)
{
    for (size_t fd = first; fd <= last && fd < table_len; fd++)
        fdw_forget((int)fd);
}

static int to_uv(int events)
{
    return (events & FDW_READ ? UV_READABLE : 0) | (events & FDW_WRITE ? UV_WRITABLE : 0);
}

static int from_uv(int events)
{
    return (events & UV_READABLE ? FDW_READ : 0) | (events & UV_WRITABLE ? FDW_WRITE : 0);
}

static void on_poll(uv_poll_t *h, int status, int uv_events);

/* Watch for exactly `events` (libuv replaces the set on every start). */
static void watch(struct fdw *f, int events)
{
    f->armed = events;
    if (events)
        uv_poll_start(&f->poll, to_uv(events), on_poll);
    else
        uv_poll_stop(&f->poll);
}

static void on_poll(uv_poll_t *h, int status, int uv_events)
{
    struct fdw *f = h->data;
    int ready = status < 0 ? FDW_READ | FDW_WRITE : from_uv(uv_events);
    int still_wanted = 0;
    bool woke = false;
    struct fdw_node *n;

    for (n = f->head; n; n = n->next) {
        if ((n->events & ready) && gt_unpark(n->g))
            woke = true;
        else if (gt_parked(n->g))
            still_wanted |= n->events;
    }
    /* Level-triggered: the event is reported again on every poll until the
     * woken thread has run and consumed it. One report with nobody new to wake
     * means the fd is ready with no one waiting (or they were woken already):
     * stop watching what no parked thread waits for. Threads that consume
     * their event before the next poll, the common case, never pay for the
     * re-arm. On an error, stop watching: it would be reported forever. */
    if (status < 0)
        watch(f, 0);
    else if (!woke && (ready & ~still_wanted & f->armed))
        watch(f, still_wanted);
}

/* Make sure the loop watches f for `events`. Returns false when the fd cannot
 * be polled at all (it then behaves as a plain file). */
static bool arm(struct fdw *f, int events)
{
    static const int off = 0;
    int err = 0;

    if (!f->polling) {
        RT_CALL_OUT(err = uv_poll_init(&rt_sched->loop, &f->poll, f->fd));
        if (err) {
            f->info.kind = FDW_PLAIN;
            return false;
        }
        /* uv_poll_init sets O_NONBLOCK; the program's view is what counts. */
        if (!f->info.nonblock)
            RT_CALL_OUT(ioctl(f->fd, FIONBIO, &off));
        f->poll.data = f;
        f->polling = true;
    }
    if ((f->armed & events) != events)
        RT_CALL_OUT(watch(f, f->armed | events));
    return true;
}

static void node_link(struct fdw *f, struct fdw_node *n)
{
    n->next = NULL;
    n->prev = f->tail;
    if (f->tail)
        f->tail->next = n;
    else
        f->head = n;
    f->tail = n;
}

static void node_unlink(struct fdw *f, struct fdw_node *n)
{
    if (n->prev)
        n->prev->next = n->next;
    else
        f->head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        f->tail = n->prev;
}

int fdw_wait_many(const struct fdw_req *reqs, int n, uint64_t deadline)
{
    struct fdw_node small[8], *nodes = small;
    bool ready = false;
    struct fdw *f;
    int i, linked = 0, rc;

    if (n > 8 && !(nodes = malloc((size_t)n * sizeof(*nodes))))
        return ENOMEM;
    for (i = 0; i < n; i++) {
        nodes[i].g = NULL;
        if (!reqs[i].events)
            continue;
        /* A bad fd, or one the loop cannot watch (a regular file), never
         * waits: the real call answers at once. */
        if (!fdw_info(reqs[i].fd) || !(f = entry(reqs[i].fd)) || !arm(f, reqs[i].events)) {
            ready = true;
            continue;
        }
        nodes[i].g = gt_self();
        nodes[i].events = reqs[i].events;
        nodes[i].closed = false;
        node_link(f, &nodes[i]);
        linked++;
    }
    /* With nothing to watch this is a plain sleep, or a wait without end. */
    rc = ready ? 0 : rt_park(deadline, linked || deadline, "fd", reqs);
    for (i = 0; i < n; i++) {
        if (!nodes[i].g)
            continue;
        if (nodes[i].closed)
            rc = EBADF;             /* the entry is gone: nothing to unlink */
        else
            node_unlink(entry(reqs[i].fd), &nodes[i]);
    }
    if (nodes != small)
        free(nodes);
    return rc;
}

int fdw_wait(int fd, int events, uint64_t deadline)
{
    struct fdw_req req = { fd, events };

    return fdw_wait_many(&req, 1, deadline);
}
