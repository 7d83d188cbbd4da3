/* dlsym.c - dlsym(RTLD_NEXT, name) from libraries loaded after greenrun.
 *
 * A library that wraps a libc function finds the next definition with
 * dlsym(RTLD_NEXT, name), which searches the objects loaded after the
 * caller. greenrun is preloaded: for every library but the program itself,
 * that search skips greenrun's wrapper and finds libc's function. jemalloc
 * finds pthread_create that way, so its background threads were real OS
 * threads sharing condvars with green threads, each side using its own
 * implementation on the same object.
 *
 * So for a name greenrun defines, dlsym(RTLD_NEXT) from an object loaded
 * after greenrun answers greenrun's function, unless that object defines the
 * name itself: it is then another interposer, which greenrun's wrapper may
 * call as its next definition, and the two would call each other forever.
 *
 * glibc's dlsym looks at its return address to know who calls it, so the
 * real dlsym must be entered by a jump with the caller's return address in
 * place: a few instructions of assembly ask shim_dlsym_pick() first, and
 * either return its answer or jump to libc's dlsym.
 */
#include <dlfcn.h>
#include <link.h>

#include "shim.h"

void *shim_dlsym_pick(void *handle, const char *name, const void *caller);
void *(*shim_real_dlsym)(void *, const char *);

static const char dlsym_missing[] = "greenrun: libc's dlsym not found\n";

/* libc's dlsym, by version: RTLD_NEXT from here finds it, not ours. */
static void resolve_real_dlsym(void)
{
    shim_real_dlsym = dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.34");
    if (!shim_real_dlsym)
        shim_real_dlsym = dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.2.5");
    if (!shim_real_dlsym) {
        write(2, dlsym_missing, sizeof(dlsym_missing) - 1);
        abort();
    }
}

/* The object holding addr, as a link map entry and load base. */
static bool object_of(const void *addr, struct link_map **lm, void **base)
{
    Dl_info info;

    if (!dladdr1(addr, &info, (void **)lm, RTLD_DL_LINKMAP) || !*lm)
        return false;
    *base = info.dli_fbase;
    return true;
}

static bool in_object(const void *sym, const void *base)
{
    Dl_info info;

    return sym && dladdr(sym, &info) && info.dli_fbase == base;
}

static bool loaded_after(const struct link_map *later, const struct link_map *earlier)
{
    for (const struct link_map *l = earlier->l_next; l; l = l->l_next)
        if (l == later)
            return true;
    return false;
}

/* greenrun's own function to answer instead of libc's, or NULL: ask libc.
 * Both lookups here are made from greenrun: the default one finds greenrun's
 * definition unless the program has its own, the next one finds the
 * definition that greenrun's wrapper itself calls. */
void *shim_dlsym_pick(void *handle, const char *name, const void *caller)
{
    struct link_map *self, *from;
    void *self_base, *from_base, *ours;

    if (!shim_real_dlsym)
        resolve_real_dlsym();
    if (handle != RTLD_NEXT || !name ||
        !object_of((const void *)shim_dlsym_pick, &self, &self_base) ||
        !object_of(caller, &from, &from_base) || !loaded_after(from, self))
        return NULL;
    ours = shim_real_dlsym(RTLD_DEFAULT, name);
    if (!in_object(ours, self_base) || in_object(shim_real_dlsym(RTLD_NEXT, name), from_base))
        return NULL;
    return ours;
}

/* dlsym(handle, name): rdi, rsi; the caller's return address at (%rsp). The
 * two pushes keep the arguments and align the stack for the call. */
__asm__(
    "   .text\n"
    "   .globl dlsym\n"
    "   .type dlsym, @function\n"
    "dlsym:\n"
    "   .cfi_startproc\n"
    "   pushq %rdi\n"
    "   .cfi_adjust_cfa_offset 8\n"
    "   pushq %rsi\n"
    "   .cfi_adjust_cfa_offset 8\n"
    "   movq 16(%rsp), %rdx\n"
    "   subq $8, %rsp\n"
    "   .cfi_adjust_cfa_offset 8\n"
    "   call shim_dlsym_pick\n"
    "   addq $8, %rsp\n"
    "   .cfi_adjust_cfa_offset -8\n"
    "   popq %rsi\n"
    "   .cfi_adjust_cfa_offset -8\n"
    "   popq %rdi\n"
    "   .cfi_adjust_cfa_offset -8\n"
    "   testq %rax, %rax\n"
    "   jz 1f\n"
    "   ret\n"
    "1: jmpq *shim_real_dlsym(%rip)\n"
    "   .cfi_endproc\n"
    "   .size dlsym, .-dlsym\n");
