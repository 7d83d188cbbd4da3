/* proc_int.h - what the process family (proc.c, exec.c, popen.c) shares
 * with start-up (init.c) and fclose (fd.c). */
#ifndef GREENRUN_PROC_INT_H
#define GREENRUN_PROC_INT_H

#include "shim.h"

/* proc.c: the pthread_atfork child handler, registered at start-up. */
void shim_fork_child(void);

/* exec.c: GREENRUN_INHERIT. Called once at start-up, after the settings are
 * read: when `inherit` is false, greenrun leaves LD_PRELOAD in the process
 * environment now and in every environment exec* and posix_spawn* pass on. */
void shim_exec_init(bool inherit);

/* popen.c: close a popen'ed stream and wait for its child; *result is
 * pclose's. False (nothing done) for a stream popen did not open. */
bool shim_pclose(FILE *stream, int *result);

#endif
