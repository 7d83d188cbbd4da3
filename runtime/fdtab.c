/* fdtab.c - the per-fd table: what each fd the program uses is.
 *
 * Each fd gets an entry on first contact: what kind of file it is (which
 * decides how an operation can be tried without blocking) and the program's
 * own view of O_NONBLOCK. The runtime never leaves O_NONBLOCK set on a
 * program's fd: the flag belongs to the open file description, which other
 * processes may share. An entry also holds the fd's waits (fdw.c).
 *
 * The table is indexed by fd number and grows by doubling; it serves the
 * one managed OS thread and its loop: no locking.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "fdw_int.h"

struct fdw **fdw_table;
size_t fdw_table_len;

struct fdw *fdw_entry_new(int fd, enum fdw_kind kind, bool nonblock)
{
    struct fdw **grown;
    struct fdw *f;
    size_t len;

    if ((size_t)fd >= fdw_table_len) {
        len = fdw_table_len ? fdw_table_len : 256;
        while (len <= (size_t)fd)
            len *= 2;
        grown = realloc(fdw_table, len * sizeof(*grown));
        if (!grown)
            return NULL;
        for (size_t i = fdw_table_len; i < len; i++)
            grown[i] = NULL;
        fdw_table = grown;
        fdw_table_len = len;
    }
    f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->fd = fd;
    f->info.kind = kind;
    f->info.nonblock = nonblock;
    fdw_table[fd] = f;
    return f;
}

void fdw_entries_drop(void)
{
    for (size_t fd = 0; fd < fdw_table_len; fd++) {
        free(fdw_table[fd]);
        fdw_table[fd] = NULL;
    }
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

/* First contact with fd: ask the kernel what it is (out of line, so that
 * fdw_info's common case needs no stack frame). */
static __attribute__((noinline)) struct fdw_info *learn(int fd)
{
    struct fdw *f;
    struct stat st;
    int fl = 0;

    if (fd < 0)
        return NULL;
    RT_CALL_OUT(fl = fstat(fd, &st) == 0 ? fcntl(fd, F_GETFL) : -1);
    if (fl < 0)
        return NULL;                /* bad fd: the real call will say so */
    f = fdw_entry_new(fd, kind_of(st.st_mode), fl & O_NONBLOCK);
    if (!f)
        return NULL;
    if (f->info.kind == FDW_SOCKET) {
        f->info.rcvtimeo = socket_timeout(fd, SO_RCVTIMEO);
        f->info.sndtimeo = socket_timeout(fd, SO_SNDTIMEO);
    }
    return &f->info;
}

struct fdw_info *fdw_info(int fd)
{
    struct fdw *f = fdw_entry(fd);

    return f ? &f->info : learn(fd);
}

struct fdw_info *fdw_peek(int fd)
{
    struct fdw *f = fdw_entry(fd);

    return f ? &f->info : NULL;
}

struct fdw_info *fdw_learn(int fd, enum fdw_kind kind, bool nonblock)
{
    struct fdw *f;

    fdw_forget(fd);                 /* a number we missed the close of */
    f = fdw_entry_new(fd, kind, nonblock);
    return f ? &f->info : NULL;
}
