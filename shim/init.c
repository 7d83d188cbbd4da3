/* init.c - start-up: settings, the runtime, and the small greenrun_* API.
 *
 * The constructor adopts the process's initial thread as the first green
 * thread. A bad GREENRUN_* setting stops the program before it starts, with
 * one line naming the variable and what it accepts (exit status 2).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <dlfcn.h>

#include "proc_int.h"
#include "thread_int.h"

#define ENV_PREFIX "GREENRUN_"

extern char **environ;

static _Noreturn void bad_setting(const char *name, const char *value, const char *accepted)
{
    fprintf(stderr, "greenrun: %s=%s: %s\n", name, value, accepted);
    _exit(2);
}

/* A size in bytes with an optional K, M or G suffix (powers of 1024). */
static bool parse_size(const char *s, size_t *out)
{
    char *end;
    unsigned long long v;
    int shift = 0;

    if (*s < '0' || *s > '9')
        return false;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno)
        return false;
    switch (*end) {
    case 'K': case 'k': shift = 10; end++; break;
    case 'M': case 'm': shift = 20; end++; break;
    case 'G': case 'g': shift = 30; end++; break;
    }
    if (*end || v > (~0ULL >> shift))
        return false;
    *out = (size_t)(v << shift);
    return true;
}

static void setting_stack_size(const char *name, const char *v, struct rt_config *cfg)
{
    size_t size;

    if (!parse_size(v, &size) || size < 16384 || size > ((size_t)1 << 30))
        bad_setting(name, v, "expected a stack size from 16K to 1G (bytes, or with a K, M or G suffix)");
    cfg->default_stack_size = size;
}

static bool parse_flag(const char *name, const char *v)
{
    if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0)
        bad_setting(name, v, "expected 0 or 1");
    return v[0] == '1';
}

static void setting_debug(const char *name, const char *v, struct rt_config *cfg)
{
    cfg->debug = parse_flag(name, v);
}

/* Whether programs this one execs run under greenrun too (exec.c). */
static bool inherit = true;

static void setting_inherit(const char *name, const char *v, struct rt_config *cfg)
{
    (void)cfg;                      /* the shim's setting, not the runtime's */
    inherit = parse_flag(name, v);
}

static const struct setting {
    const char *name;
    void (*apply)(const char *name, const char *value, struct rt_config *cfg);
} settings[] = {
    { "GREENRUN_STACK_SIZE", setting_stack_size },
    { "GREENRUN_DEBUG", setting_debug },
    { "GREENRUN_INHERIT", setting_inherit },
};

#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

/* Every GREENRUN_* variable must be one we know: a misspelt setting that is
 * silently ignored is worse than one that stops the program. */
static void read_settings(struct rt_config *cfg)
{
    char **e, name[64];
    const char *eq;
    size_t i, len;

    for (e = environ; e && *e; e++) {
        if (strncmp(*e, ENV_PREFIX, sizeof(ENV_PREFIX) - 1) != 0 || !(eq = strchr(*e, '=')))
            continue;
        len = (size_t)(eq - *e);
        snprintf(name, sizeof(name), "%.*s", (int)len, *e);
        for (i = 0; i < NSETTINGS; i++)
            if (strlen(settings[i].name) == len && !strncmp(settings[i].name, *e, len))
                break;
        if (i == NSETTINGS)
            bad_setting(name, eq + 1, "unknown setting; known: GREENRUN_STACK_SIZE, GREENRUN_DEBUG, "
                        "GREENRUN_INHERIT");
        settings[i].apply(name, eq + 1, cfg);
    }
}

/* The C++ runtime keeps the exception being handled, and the count of those
 * in flight, per OS thread (__cxa_get_globals); each green thread needs its
 * own, or one that yields inside a catch block corrupts another's. */
struct cxa_eh_globals {
    void *caught_exceptions;
    unsigned int uncaught_exceptions;
};

static void keep_cxx_exception_state(void)
{
    struct cxa_eh_globals *(*get_globals)(void);

    get_globals = (struct cxa_eh_globals *(*)(void))dlsym(RTLD_DEFAULT, "__cxa_get_globals");
    if (get_globals)
        rt_thread_state(get_globals(), sizeof(struct cxa_eh_globals));
}

static void report_stats(void)
{
    struct rt_stats st;

    if (!rt_green())
        return;
    rt_get_stats(&st);
    fprintf(stderr, "greenrun: %llu threads spawned, %llu at most alive, "
            "%llu switches, %llu hub runs\n",
            (unsigned long long)st.spawned, (unsigned long long)st.peak_live,
            (unsigned long long)st.switches, (unsigned long long)st.hub_runs);
}

__attribute__((constructor(101))) static void shim_init(void)
{
    struct rt_config cfg = { .on_exit = shim_key_run_destructors };
    int err;

    shim_real_resolve();
    read_settings(&cfg);
    shim_exec_init(inherit);
    /* Before libuv (rt_start) and the program register theirs: in a fork
     * child, the handlers after this one find the child's own runtime. */
    pthread_atfork(NULL, NULL, shim_fork_child);
    err = rt_start(&cfg);
    if (err) {
        fprintf(stderr, "greenrun: cannot start the runtime: %s\n", strerror(err));
        _exit(2);
    }
    shim_self()->id = (unsigned)gt_id(gt_self());
    shim_name_initial_thread();
    keep_cxx_exception_state();
    if (cfg.debug)
        atexit(report_stats);
}

SHIM_EXPORT const char *greenrun_version(void)
{
    return GREENRUN_VERSION;
}

/* 1 when the caller runs as a green thread, 0 otherwise. */
SHIM_EXPORT int greenrun_active(void)
{
    return rt_green();
}
