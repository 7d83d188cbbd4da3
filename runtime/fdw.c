/* fdw.c - readiness waits on the fds of the table (fdtab.c).
 *
 * Waits go through an epoll instance of fdw's own, one of the runtime's fds
 * (fds.c), which the loop watches through a single uv_poll_t: readable means
 * some fd has news. The poll's callback drains it with one epoll_wait of at
 * most BATCH events per loop run (a full batch leaves the instance readable
 * for the next run) and wakes the waiters of the fds it reports. A fd is
 * registered edge-triggered on its first wait and stays registered until it
 * is forgotten; a wait for an event not yet registered adds it (MOD), and
 * nothing is ever taken away. So a thread that goes recv -> EAGAIN -> wait ->
 * recv costs no epoll_ctl at all once its fd is in, however many fds are ready
 * at once: a level-triggered watch would report fds whose threads were woken
 * but have not run yet, and narrowing it costs a DEL and an ADD per request.
 *
 * Edge-triggered means an event is reported once. One reported while nobody
 * waits for it, or given to a waiter whose wait ended otherwise (a timeout, a
 * signal, another fd of the same wait forgotten), is kept in the entry's
 * `pending`; the next wait for it returns at once and the caller retries the
 * operation, as it would have on a level-triggered report. Every caller tries
 * its operation before it waits, so an edge that came before that try is seen
 * by the try itself.
 *
 * One exception saves a failing try per request: a short read of a TCP byte
 * stream takes all the data queued (the kernel stops short only when the
 * queue is empty, or at urgent data), so after one the fd is `drained`
 * until the instance reports it again, and the next read waits before it
 * tries. News reported before that read was about data the read took, and
 * is dropped. What a read does not use up ends the scheme for the fd, once
 * reported (such fds are watched for it): the peer's end of file or an
 * error, which the read after the data returns, and urgent data, which a
 * read stops short of with more queued.
 *
 * close, dup2 and friends must call fdw_forget() first: waiters get EBADF,
 * the registration is removed before the number can be reused. A number
 * closed without telling us (inside libc) may keep a registration while the
 * file lives on elsewhere (a dup, a child): adding the same file again says
 * EEXIST, a MOD on a number whose file changed says ENOENT, and a stale report
 * wakes at worst a waiter that retries. A fork child gets an empty table and
 * an epoll instance of its own (fdw_fork_child).
 *
 * Everything here serves the one managed OS thread and its loop: no locking.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "fdw_int.h"

#define BATCH 1024                  /* events taken from the instance per loop run */

static int ep = -1;                 /* fdw's epoll instance */
static uv_poll_t ep_poll;           /* the loop's watch on it */

/* Remove fd from the instance, before the number can name another file. */
static void unwatch(struct fdw *f)
{
    if (f->watched)
        RT_CALL_OUT(epoll_ctl(ep, EPOLL_CTL_DEL, f->fd, NULL));
}

void fdw_forget(int fd)
{
    struct fdw *f = fdw_entry(fd);
    struct fdw_node *n;

    if (!f)
        return;
    fdw_table[fd] = NULL;
    for (n = f->head; n; n = n->next) {
        n->closed = true;
        gt_unpark(n->g);
    }
    unwatch(f);
    free(f);
}

void fdw_forget_range(unsigned first, unsigned last)
{
    for (size_t fd = first; fd <= last && fd < fdw_table_len; fd++)
        fdw_forget((int)fd);
}

/* Hand what the instance reported for f to its waiters; what none of them
 * waits for stays pending. Hang-up and error end waits in both directions. */
static void deliver(struct fdw *f, uint32_t epoll_events)
{
    int ready = epoll_events & (EPOLLHUP | EPOLLERR) ? FDW_READ | FDW_WRITE
              : (epoll_events & (EPOLLIN | EPOLLPRI | EPOLLRDHUP) ? FDW_READ : 0) |
                (epoll_events & EPOLLOUT ? FDW_WRITE : 0);
    int taken = 0;
    struct fdw_node *n;

    if (epoll_events & (EPOLLPRI | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        f->no_drain = true;
    if (ready & FDW_READ)
        f->drained = false;

    for (n = f->head; n; n = n->next) {
        if (n->events & ready) {
            n->fired |= n->events & ready;
            taken |= n->events;
            gt_unpark(n->g);
        }
    }
    f->pending |= ready & ~taken;
}

/* The instance has news (the loop calls this from uv_run, in the hub). */
static void drain(uv_poll_t *h, int status, int uv_events)
{
    static struct epoll_event ev[BATCH];
    struct fdw *f;
    int n;

    (void)h, (void)status, (void)uv_events;
    n = epoll_wait(ep, ev, BATCH, 0);
    for (int i = 0; i < n; i++)
        if ((f = fdw_entry(ev[i].data.fd)))
            deliver(f, ev[i].events);
}

static int epoll_new(void)
{
    return epoll_create1(EPOLL_CLOEXEC);
}

int fdw_loop_init(uv_loop_t *loop)
{
    int err;

    if ((ep = epoll_new()) < 0)
        return -errno;
    err = uv_poll_init(loop, &ep_poll, ep);
    if (!err)
        err = uv_poll_start(&ep_poll, UV_READABLE, drain);
    return err;
}

/* After a fork: the waiters are threads that stayed in the parent, and the
 * inherited instance is the parent's, to which nothing may be added or
 * removed. A new one takes its number (dup3 closes the child's reference to
 * the old one atomically), so the loop's watch on that number, renewed by
 * uv_loop_fork, now watches the child's own. */
int fdw_fork_child(void)
{
    int fresh, err = 0;

    RT_CALL_OUT(fresh = epoll_new();
                if (fresh < 0 || dup3(fresh, ep, O_CLOEXEC) < 0)
                    err = errno;
                if (fresh >= 0)
                    close(fresh));
    if (err)
        return err;
    fdw_entries_drop();
    return 0;
}

/* Make sure the instance reports `events` on f: added edge-triggered on the
 * first wait, widened when a wait wants more. Returns false when the fd
 * cannot be watched at all (a regular file: EPERM); it then behaves as a
 * plain file. */
static bool watch(struct fdw *f, int events)
{
    int want = f->watched | events, op = f->watched ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, rc;
    struct epoll_event ev = { .data.fd = f->fd, .events = EPOLLET };

    if (want == f->watched)
        return true;
    if (want & FDW_READ)
        ev.events |= f->info.drains ? EPOLLIN | EPOLLPRI | EPOLLRDHUP : EPOLLIN;
    if (want & FDW_WRITE)
        ev.events |= EPOLLOUT;
    RT_CALL_OUT(rc = epoll_ctl(ep, op, f->fd, &ev);
                /* A registration left by a number closed behind our back. */
                if (rc < 0 && errno == (op == EPOLL_CTL_ADD ? EEXIST : ENOENT))
                    rc = epoll_ctl(ep, op == EPOLL_CTL_ADD ? EPOLL_CTL_MOD : EPOLL_CTL_ADD,
                                   f->fd, &ev));
    if (rc < 0) {
        if (!f->watched)
            f->info.kind = FDW_PLAIN;
        return false;
    }
    f->watched = want;
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
        /* A bad fd, or one the instance cannot watch (a regular file), never
         * waits: the real call answers at once. Neither does one with news
         * nobody has taken yet: the caller's retry takes it. */
        f = (struct fdw *)fdw_info(reqs[i].fd);    /* info first: NULL stays NULL */
        if (!f || !watch(f, reqs[i].events) || (f->pending & reqs[i].events)) {
            if (f)
                f->pending &= ~reqs[i].events;
            ready = true;
            continue;
        }
        nodes[i].g = gt_self();
        nodes[i].events = reqs[i].events;
        nodes[i].fired = 0;
        nodes[i].closed = false;
        node_link(f, &nodes[i]);
        linked++;
    }
    /* With nothing to watch this is a plain sleep, or a wait without end. */
    rc = ready ? 0 : rt_park(deadline, linked || deadline, "fd", reqs);
    for (i = 0; i < n; i++)
        if (nodes[i].g && nodes[i].closed)
            rc = EBADF;             /* the entry is gone: nothing to unlink */
    for (i = 0; i < n; i++) {
        if (!nodes[i].g || nodes[i].closed)
            continue;
        f = fdw_entry(reqs[i].fd);
        node_unlink(f, &nodes[i]);
        /* Only a wait that ends with 0 has the caller retry: otherwise the
         * news it was given waits for the next one. */
        if (rc)
            f->pending |= nodes[i].fired;
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

void fdw_read_short(struct fdw_info *fi)
{
    struct fdw *f = (struct fdw *)fi;

    if (fi->drains && !f->no_drain && (f->watched & FDW_READ)) {
        f->drained = true;
        f->pending &= ~FDW_READ;
    }
}

bool fdw_read_drained(const struct fdw_info *fi)
{
    return ((const struct fdw *)fi)->drained;
}
