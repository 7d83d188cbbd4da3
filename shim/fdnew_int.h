/* fdnew_int.h - what the wrappers of calls that create fds share (fdnew.c,
 * open.c, fdlib.c). */
#ifndef GREENRUN_FDNEW_INT_H
#define GREENRUN_FDNEW_INT_H

#include "shim.h"

/* fd is a new number (or -1: the call failed, nothing to do): record what it
 * is, or with FDW_UNKNOWN forget whatever the table held for the number (the
 * next wait on it asks the kernel). Returns fd, errno as the call left it. */
int shim_fd_new(int fd, enum fdw_kind kind, bool nonblock);

/* The number is being closed where no wrapper sees it (inside libc):
 * forget it, errno untouched. */
void shim_fd_gone(int fd);

/* glibc's __fortify_fail, which a shim cannot call: "*** what ***:
 * terminated" on stderr, then abort. */
_Noreturn void shim_fortify_fail(const char *what);

#endif
