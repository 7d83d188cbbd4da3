/* real.c - libc's own versions of the functions the shim replaces. */
#include <dlfcn.h>
#include <stdlib.h>

#include "shim.h"

struct shim_real shim_real;

static const char real_missing[] = "greenrun: libc function not found\n";

/* Fill the whole table at once. Safe to repeat: every lookup gives the same
 * answer, so concurrent callers at start-up can only write equal values. */
void shim_real_resolve(void)
{
#define X(name) \
    shim_real.name = (__typeof__(name) *)dlsym(RTLD_NEXT, #name); \
    if (!shim_real.name) { \
        write(2, real_missing, sizeof(real_missing) - 1); \
        abort(); \
    }
    SHIM_REAL_FUNCS(X)
#undef X
}
