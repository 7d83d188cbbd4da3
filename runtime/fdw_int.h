/* fdw_int.h - the per-fd table (fdtab.c) and the readiness waits built on
 * it (fdw.c). */
#ifndef GREENRUN_FDW_INT_H
#define GREENRUN_FDW_INT_H

#include "rt_int.h"

/* One waiter on one fd: on the waiter's stack, linked into the entry. */
struct fdw_node {
    struct fdw_node *next, *prev;
    gt_t *g;
    int events;                 /* FDW_READ | FDW_WRITE wanted */
    int fired;                  /* of those, the ones reported to us */
    bool closed;                /* the fd was forgotten while we waited */
};

struct fdw {
    struct fdw_info info;
    int fd;
    int watched;                /* FDW_READ | FDW_WRITE registered */
    int pending;                /* reported, not yet handed to a waiter */
    bool drained;               /* not readable until reported (fdw_read_short) */
    bool no_drain;              /* reported what reads do not use up (fdw.c) */
    struct fdw_node *head, *tail;
};

/* fdw_read_short() and friends are given the info member. */
_Static_assert(offsetof(struct fdw, info) == 0, "info first");

extern struct fdw **fdw_table;
extern size_t fdw_table_len;

static inline struct fdw *fdw_entry(int fd)
{
    return fd >= 0 && (size_t)fd < fdw_table_len ? fdw_table[fd] : NULL;
}

/* fdtab.c: a new entry for fd (none must exist); drop every entry without
 * waking anyone (a fork child). */
struct fdw *fdw_entry_new(int fd, enum fdw_kind kind, bool nonblock);
void fdw_entries_drop(void);

#endif
