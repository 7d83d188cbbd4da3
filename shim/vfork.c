/* vfork.c - vfork is fork on green threads.
 *
 * A vfork child shares its parent's memory until it execs or exits: the
 * runtime and rt_mode included. Every wrapper it called would act on the
 * parent's runtime; CPython's subprocess, for one, closes fds with
 * close_range in its vfork child, which would drop the parent's fd table
 * entries and wake their waiters with EBADF. So on a green thread vfork is
 * fork, as POSIX allows: the child gets its own copy of everything and a
 * runtime of its own (shim_fork_child), and the parent, instead of being
 * suspended until the child execs, goes on running its other threads.
 *
 * Elsewhere (the hub, OS threads the runtime does not manage) it is libc's
 * vfork. That child returns on its caller's stack, so no frame may lie between
 * the caller and the real vfork: the child would return through it, and the
 * parent, resumed later, would find it overwritten. Hence a few instructions
 * with no frame of their own: test rt_mode, then jump to fork or to libc's
 * vfork (__vfork, the name glibc also exports it under).
 */
#include "shim.h"

_Static_assert(RT_MODE_GREEN == 1, "vfork's assembly tests rt_mode against 1");

__asm__(
    "   .text\n"
    "   .globl vfork\n"
    "   .type vfork, @function\n"
    "vfork:\n"
    "   .cfi_startproc\n"
    "   movq rt_mode@gottpoff(%rip), %rax\n"
    "   cmpl $1, %fs:(%rax)\n"
    "   jne 1f\n"
    "   jmp fork@PLT\n"
    "1: jmp __vfork@PLT\n"
    "   .cfi_endproc\n"
    "   .size vfork, .-vfork\n");
