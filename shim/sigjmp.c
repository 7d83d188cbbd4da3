/* sigjmp.c - longjmp and siglongjmp, which can leave a signal handler.
 *
 * A handler runs with rt_mode off (signal.c); one that jumps out never
 * returns to the trampoline that would turn it back on, so the jump does:
 * it leaves every handler at once, back to program code on the green thread
 * the handler ran on.
 *
 * A jump also sets the OS thread's signal mask behind the runtime's back:
 * glibc's siglongjmp restores the mask sigsetjmp saved, and a handler left
 * by a jump that saved none leaves its own mask (the signal and sa_mask
 * blocked), as natively. Either way the green thread's mask is made that
 * one, so that switches keep it.
 */
#include "signal_int.h"

static void before_jump(struct __jmp_buf_tag *env)
{
    bool left = shim_handler_depth != 0;
    sigset_t now;
    uint64_t mask;

    if (left) {
        shim_handler_depth = 0;
        rt_mode = shim_handler_outer_mode;
    }
    if (!rt_green() || (!left && !env->__mask_was_saved))
        return;
    if (env->__mask_was_saved) {
        mask = shim_sigset_bits(&env->__saved_mask);
    } else {
        REAL(pthread_sigmask)(SIG_BLOCK, NULL, &now);
        mask = shim_sigset_bits(&now);
    }
    mask = shim_blockable(mask);
    gt_set_sigmask(mask);
    /* The runtime may believe the OS thread has that mask already, when a
     * jump cut short its change: make it so. */
    sigemptyset(&now);
    memcpy(&now, &mask, sizeof(mask));
    REAL(pthread_sigmask)(SIG_SETMASK, &now, NULL);
}

SHIM_EXPORT void siglongjmp(sigjmp_buf env, int val)
{
    before_jump(env);
    REAL(siglongjmp)(env, val);
    __builtin_unreachable();
}

SHIM_EXPORT void longjmp(jmp_buf env, int val)
{
    before_jump(env);
    REAL(longjmp)(env, val);
    __builtin_unreachable();
}

SHIM_EXPORT void _longjmp(jmp_buf env, int val)
{
    before_jump(env);
    REAL(_longjmp)(env, val);
    __builtin_unreachable();
}

SHIM_EXPORT void __longjmp_chk(struct __jmp_buf_tag env[1], int val)
{
    before_jump(env);
    REAL(__longjmp_chk)(env, val);
    __builtin_unreachable();
}
