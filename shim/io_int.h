/* io_int.h - what the fd and socket I/O wrappers share (io.c, vio.c, msg.c,
 * send.c, xfer.c, fdnew.c, fd.c), beyond the helpers in shim.h. */
#ifndef GREENRUN_IO_INT_H
#define GREENRUN_IO_INT_H

#include "shim.h"

/* io.c */

/* Whether fd polls ready for `events` (POLLIN, POLLOUT; 0: only errors and
 * hang-ups) right now, asking the kernel. */
bool shim_fd_ready(int fd, short events);

/* shim_wait_fd for a call that is not a cancellation point (sendfile). */
int shim_wait_fd_nocancel(int fd, struct fdw_info *fi, int events, uint64_t *deadline);

/* shim_wait_fd where readiness cannot tell: one pause of a polling loop
 * (shim_backoff; *pause starts at 0), bounded by the same socket timeout. */
int shim_pause_fd(int fd, struct fdw_info *fi, int events, uint64_t *deadline, uint64_t *pause);

/* A write said EAGAIN: wait until fd polls writable, or pause when it does
 * already (a Unix datagram receiver's full queue: nothing polls for it). */
int shim_wait_writable(int fd, struct fdw_info *fi, uint64_t *deadline, uint64_t *pause);

/* Reads on TCP sockets that wait before they try (fdw_read_short): off for
 * good once the process reads urgent data (MSG_OOB: the next report may
 * lack EPOLLPRI while a read still stops at the mark) or gives a socket an
 * upper layer protocol (TCP_ULP: kernel TLS reads stop at a record of
 * another kind) or a receive low-water mark (SO_RCVLOWAT above 1: no
 * report until that much is queued, though a smaller read would return).
 * Process-wide, because dups of the socket have entries of their own and
 * a signal handler may be the reader. */
extern bool shim_drain_off __attribute__((visibility("hidden")));

static inline void shim_drain_stop(void)
{
    __atomic_store_n(&shim_drain_off, true, __ATOMIC_RELAXED);
}

static inline bool shim_drains(const struct fdw_info *fi)
{
    return fi->drains && !__atomic_load_n(&shim_drain_off, __ATOMIC_RELAXED);
}

/* Before a read's first try: on a TCP socket whose last read took all that
 * was queued, and with no news since, wait for news first rather than try
 * in vain (fdw_read_drained). 0, or -1 and errno as shim_wait_fd. */
static inline int shim_read_begin(int fd, struct fdw_info *fi, uint64_t *deadline)
{
    if (shim_drains(fi) && fdw_read_drained(fi))
        return shim_wait_fd(fd, fi, FDW_READ, deadline);
    return 0;
}

/* After a read that consumed what it returned: got < asked bytes means the
 * queue was emptied (fdw_read_short). */
static inline void shim_read_end(struct fdw_info *fi, ssize_t got, size_t asked)
{
    if (shim_drains(fi) && got > 0 && (size_t)got < asked)
        fdw_read_short(fi);
}

/* One attempt at the rest of a write, `done` bytes into it, that does not
 * block. It sets *total, the size of the whole write, once it has succeeded
 * (only then may it read the program's buffer descriptions: a bad pointer
 * must get the kernel's EFAULT, not a crash). */
typedef ssize_t shim_send_fn(int fd, struct fdw_info *fi, size_t done, size_t *total, void *ctx);

/* A blocking write, `done` bytes of which are already written: attempts go
 * on after partial writes, and wait (SO_SNDTIMEO bounding the whole call) on
 * EAGAIN, until everything is written, or an error or the timeout stops it.
 * Returns the bytes written (errno as before) if any, else -1 and errno. */
ssize_t shim_write_all(int fd, struct fdw_info *fi, size_t done, shim_send_fn *attempt, void *ctx);

/* Total length of an iovec array the kernel has accepted. */
size_t shim_iov_len(const struct iovec *iov, size_t cnt);

/* The part of *iov (cnt elements) after its first `done` bytes, as an array
 * to give the kernel: from an element boundary on, the program's own array;
 * inside an element, *part, the rest of that element alone (the next attempt
 * goes on from the following element), so nothing is copied. done == 0
 * leaves *iov unread. Returns the element count and points *iov at it. */
int shim_iov_rest(const struct iovec **iov, int cnt, size_t done, struct iovec *part);

/* Point m's buffers at their rest, `done` bytes in (*part as above). */
void shim_msg_rest(struct msghdr *m, size_t done, struct iovec *part);

/* A socket's own settings, for a new fd on the same socket (dup) or one
 * that inherits them (accept): its timeouts, and its protocol's reads. */
static inline void shim_fd_copy_socket(struct fdw_info *to, const struct fdw_info *from)
{
    to->rcvtimeo = from->rcvtimeo;
    to->sndtimeo = from->sndtimeo;
    to->drains = from->drains;
}

/* fdnew.c */

/* newfd (-1: the call failed) duplicates old: it gets old's table entry, or
 * none if old has none. Returns newfd; errno as the call left it. */
int shim_fd_dup(int old, int newfd);

#endif
