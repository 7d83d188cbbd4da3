/* select.c - select and pselect wait on the loop for the fds' readiness.
 *
 * Built like poll.c: the real call (pselect with a zero timeout, which is
 * select with a signal mask) answers first; only when nothing is ready does
 * the thread park on every fd of the sets at once, and the real call answers
 * again when it wakes, and once more when the time is up. It works on copies
 * of the program's sets, since an answer of "nothing ready" clears them and
 * the next try needs them; the program's sets are written only when the
 * kernel would write them (a result >= 0), and only as many bytes as it
 * would. An fd of the sets closed while the thread waits is reported ready
 * in each of its sets by the next answer, as the kernel reports a number it
 * finds closed once it waits.
 *
 * select writes the time left into its timeout, as Linux does, whatever the
 * result; pselect leaves its timeout alone (glibc gives the kernel a copy).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mux.h"
#include "thread_int.h"

#define NS_PER_S 1000000000u
#define US_PER_S 1000000
#define SET_WORDS(n) (((size_t)(n) + NFDBITS - 1) / NFDBITS)

/* glibc's own FD_SET range check, under its other exported name. */
long __fdelt_warn(long d);

/* One select: the fds the kernel looks at, and copies of the three sets
 * (NULL where the program gave none). */
struct sel {
    int n;
    size_t bytes;               /* of each set the kernel reads and writes */
    fd_mask *ask[3];            /* what the program asked for */
    fd_mask *got[3];            /* the last answer */
};

/* The kernel looks at no more fds than its fd table has room for, whatever
 * nfds says, and reads and writes no more of the sets. fd_sets hold
 * FD_SETSIZE; beyond that only the table's size (FDSize) tells how much of
 * the program's sets the kernel would read. Not knowing it, believe nfds. */
static int select_nfds(int nfds)
{
    static const char key[] = "\nFDSize:";
    char buf[1024], *p;
    ssize_t len;
    long size;
    int fd;

    if (nfds <= FD_SETSIZE || (fd = REAL(open)("/proc/self/status", O_RDONLY | O_CLOEXEC)) < 0)
        return nfds;
    len = REAL(read)(fd, buf, sizeof(buf) - 1);
    REAL(close)(fd);
    buf[len > 0 ? len : 0] = '\0';
    if (!(p = strstr(buf, key)))
        return nfds;
    size = strtol(p + sizeof(key) - 1, NULL, 10);
    return size > 0 && size < nfds ? (int)size : nfds;
}

static bool fdbit_isset(const fd_mask *set, int fd)
{
    return set && ((unsigned long)set[fd / NFDBITS] >> (fd % NFDBITS)) & 1;
}

static void fdbit_clear(fd_mask *set, int fd)
{
    if (set)
        set[fd / NFDBITS] &= (fd_mask) ~(1UL << (fd % NFDBITS));
}

static void fdbit_set(fd_mask *set, int fd)
{
    set[fd / NFDBITS] |= (fd_mask)(1UL << (fd % NFDBITS));
}

/* What the loop waits for on fd, 0 when the sets do not ask for it.
 * Exceptional conditions are waited for as readability: the loop has no
 * watch for priority data alone (fdw has no such event), so urgent data
 * arriving by itself is seen only when something else wakes the thread or
 * its time is up. */
static int fd_events(const struct sel *c, int fd)
{
    return (fdbit_isset(c->ask[0], fd) || fdbit_isset(c->ask[2], fd) ? FDW_READ : 0) |
           (fdbit_isset(c->ask[1], fd) ? FDW_WRITE : 0);
}

/* One real select that does not wait, on a fresh copy of the sets. An fd
 * the wait dropped is closed: the kernel would refuse it (EBADF), but had it
 * been waiting it would find it closed on its next pass, and report it
 * ready in each set that asks for it. */
static int select_try(struct sel *c, const struct shim_fds *closed, const sigset_t *mask)
{
    static const struct timespec zero;
    int i, k, fd, r;

    for (k = 0; k < 3; k++)
        if (c->ask[k])
            memcpy(c->got[k], c->ask[k], c->bytes);
    for (i = 0; closed && i < closed->n; i++)
        if (!closed->reqs[i].events)
            for (k = 0; k < 3; k++)
                fdbit_clear(c->got[k], closed->reqs[i].fd);
    r = REAL(pselect)(c->n, (fd_set *)c->got[0], (fd_set *)c->got[1], (fd_set *)c->got[2],
                      &zero, mask);
    for (i = 0; r >= 0 && closed && i < closed->n; i++)
        if (!closed->reqs[i].events)
            for (k = 0, fd = closed->reqs[i].fd; k < 3; k++)
                if (fdbit_isset(c->ask[k], fd)) {
                    fdbit_set(c->got[k], fd);
                    r++;
                }
    return r;
}

static int select_waits(struct shim_fds *s, const struct sel *c)
{
    int fd, count = 0, err;

    for (fd = 0; fd < c->n; fd++)
        count += fd_events(c, fd) != 0;
    if ((err = shim_fds_init(s, (size_t)count)))
        return err;
    for (fd = 0; fd < c->n; fd++)
        if (fd_events(c, fd))
            shim_fds_add(s, fd, fd_events(c, fd));
    return 0;
}

/* Answer, and while nothing is ready and time is left, wait and answer
 * again. *err: ENOMEM, ECANCELED or EINTR when the waiting failed. */
static int select_loop(struct sel *c, uint64_t deadline, const sigset_t *mask, int *err)
{
    struct shim_fds set;
    int r;

    if ((r = select_try(c, NULL, mask)) != 0 || (*err = select_waits(&set, c)))
        return r;
    while (!(*err = shim_fds_wait(&set, deadline, mask)) || *err == ETIMEDOUT)
        if ((r = select_try(c, &set, mask)) != 0 || *err == ETIMEDOUT)
            break;
    shim_fds_free(&set);
    return r;
}

static int select_fds(int nfds, fd_set *sets[3], uint64_t deadline, const sigset_t *mask)
{
    fd_mask small[6][SET_WORDS(FD_SETSIZE)], *buf = small[0];
    struct sel c = { .n = select_nfds(nfds) };
    int saved = errno, r, k, err = 0;
    size_t words;

    words = c.n > 0 ? SET_WORDS(c.n) : 0;
    c.bytes = words * sizeof(fd_mask);
    if (words > SET_WORDS(FD_SETSIZE) && !(buf = malloc(6 * c.bytes))) {
        errno = ENOMEM;
        return -1;
    }
    for (k = 0; k < 3; k++)
        if (sets[k]) {
            c.ask[k] = memcpy(buf + 2 * k * words, sets[k], c.bytes);
            c.got[k] = buf + (2 * k + 1) * words;
        }
    r = select_loop(&c, deadline, mask, &err);
    if (r >= 0 && (!err || err == ETIMEDOUT))
        for (k = 0; k < 3; k++)
            if (sets[k])
                memcpy(sets[k], c.got[k], c.bytes);
    if (buf != small[0])
        free(buf);
    if (err == ECANCELED)
        shim_testcancel();
    if (err == ENOMEM || err == EINTR) {
        errno = err;
        return -1;
    }
    return (int)shim_keep_errno(r, saved);
}

/* What Linux writes back into select's timeout: the time left, or zero. */
static void time_left(struct timeval *tv, uint64_t deadline)
{
    uint64_t now = rt_now(), left = deadline > now ? deadline - now : 0;

    tv->tv_sec = (time_t)(left / NS_PER_S);
    tv->tv_usec = (suseconds_t)(left % NS_PER_S / 1000);
}

/* glibc says EINVAL for a negative tv_sec or tv_usec (an int32_t to it)
 * before its cancellation point, and carries whole seconds out of tv_usec,
 * saturating. */
SHIM_EXPORT int select(int nfds, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv)
{
    int32_t us = tv ? (int32_t)tv->tv_usec : 0;
    struct timespec ts;
    uint64_t deadline;
    int ret;

    if (!rt_green() || (tv && (tv->tv_sec < 0 || us < 0)))
        return REAL(select)(nfds, r, w, e, tv);
    shim_mux_begin();
    if (tv && us / US_PER_S > INT64_MAX - tv->tv_sec)
        ts = (struct timespec){ INT64_MAX, NS_PER_S - 1 };
    else if (tv)
        ts = (struct timespec){ tv->tv_sec + us / US_PER_S, (long)(us % US_PER_S) * 1000 };
    if (!shim_timeout(tv ? &ts : NULL, &deadline))
        return REAL(select)(nfds, r, w, e, tv);
    ret = select_fds(nfds, (fd_set *[3]){ r, w, e }, deadline, NULL);
    if (tv)
        time_left(tv, deadline);
    return ret;
}

SHIM_EXPORT int pselect(int nfds, fd_set *r, fd_set *w, fd_set *e, const struct timespec *ts,
                        const sigset_t *mask)
{
    uint64_t deadline;

    if (!rt_green())
        return REAL(pselect)(nfds, r, w, e, ts, mask);
    shim_mux_begin();
    if (!shim_timeout(ts, &deadline))
        return REAL(pselect)(nfds, r, w, e, ts, mask);
    return select_fds(nfds, (fd_set *[3]){ r, w, e }, deadline, mask);
}

/* FD_SET's fortified index check: nothing to make cooperative, and glibc's
 * own answers with its own message ("bit out of range 0 - FD_SETSIZE on
 * fd_set"), which __chk_fail's would not. */
SHIM_EXPORT long __fdelt_chk(long d)
{
    return __fdelt_warn(d);
}
