/* exec.c - exec* and posix_spawn*: whether the new program runs under
 * greenrun too (GREENRUN_INHERIT).
 *
 * With GREENRUN_INHERIT=1 (the default) a new program inherits LD_PRELOAD like
 * any other variable: it runs under greenrun as well, and every call here
 * passes straight through. With GREENRUN_INHERIT=0, greenrun removes itself
 * from LD_PRELOAD: from the process environment at start-up (so that
 * environ, main's envp, getenv and what glibc's own system() and popen()
 * pass on no longer name it), and from every environment an exec* or
 * posix_spawn* call passes on, including explicit envp arrays the program
 * built from elsewhere. LD_PRELOAD's other entries stay, joined by ':'; a
 * variable left empty goes. An entry names greenrun when its file name is
 * this library's (the loader splits the list at spaces and colons).
 *
 * The copy of the environment is built on the caller's stack, never with
 * malloc, and nothing here touches the runtime: exec* may be called in the
 * child of a vfork, which shares the parent's memory until it execs.
 *
 * posix_spawn's child (glibc's CLONE_VFORK) calls only glibc's internal
 * functions, never a wrapper; vfork is fork on a green thread (vfork.c).
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include "proc_int.h"

#define PRELOAD "LD_PRELOAD="
#define PRELOAD_LEN (sizeof(PRELOAD) - 1)
#define PRELOAD_SEPARATORS " :"

static bool inherit = true;
static char self_name[NAME_MAX + 1];    /* this library's file name */
static size_t self_len;

/* Whether the LD_PRELOAD entry [entry, entry + len) names this library. */
static bool names_us(const char *entry, size_t len)
{
    const char *slash = memrchr(entry, '/', len);
    const char *base = slash ? slash + 1 : entry;

    return (size_t)(entry + len - base) == self_len && !memcmp(base, self_name, self_len);
}

/* LD_PRELOAD's value without this library, into out (strlen(value) + 1
 * bytes). False when it did not name us: out is then unused. */
static bool preload_without_us(const char *value, char *out)
{
    bool found = false;
    char *o = out;
    size_t len;

    for (const char *p = value; *(p += strspn(p, PRELOAD_SEPARATORS)); p += len) {
        len = strcspn(p, PRELOAD_SEPARATORS);
        if (names_us(p, len)) {
            found = true;
            continue;
        }
        if (o != out)
            *o++ = ':';
        memcpy(o, p, len);
        o += len;
    }
    *o = '\0';
    return found;
}

void shim_exec_init(bool on)
{
    const char *value, *base;
    Dl_info self;

    inherit = on;
    if (inherit || !dladdr((void *)shim_exec_init, &self) || !self.dli_fname)
        return;
    base = strrchr(self.dli_fname, '/');
    base = base ? base + 1 : self.dli_fname;
    self_len = (size_t)snprintf(self_name, sizeof(self_name), "%s", base);
    if (!(value = getenv("LD_PRELOAD")))
        return;
    char rest[strlen(value) + 1];
    if (!preload_without_us(value, rest))
        return;
    if (rest[0])
        setenv("LD_PRELOAD", rest, 1);
    else
        unsetenv("LD_PRELOAD");
}

/* One exec* or posix_spawn* call, but for its environment. */
enum exec_kind { EXEC_PATH, EXEC_SEARCH, EXEC_FD, SPAWN_PATH, SPAWN_SEARCH };

struct exec_call {
    enum exec_kind kind;
    const char *file;
    int fd;
    char *const *argv;
    pid_t *pid;
    const posix_spawn_file_actions_t *actions;
    const posix_spawnattr_t *attr;
};

static int call(const struct exec_call *c, char *const env[])
{
    switch (c->kind) {
    case EXEC_PATH:
        return REAL(execve)(c->file, c->argv, env);
    case EXEC_SEARCH:
        return REAL(execvpe)(c->file, c->argv, env);
    case EXEC_FD:
        return REAL(fexecve)(c->fd, c->argv, env);
    case SPAWN_PATH:
        return REAL(posix_spawn)(c->pid, c->file, c->actions, c->attr, c->argv, env);
    case SPAWN_SEARCH:
        return REAL(posix_spawnp)(c->pid, c->file, c->actions, c->attr, c->argv, env);
    }
    __builtin_unreachable();
}

/* The call with envp, its LD_PRELOAD entries without this library. */
static int call_without_us(const struct exec_call *c, char *const envp[])
{
    size_t n, room = 0, k = 0;

    for (n = 0; envp && envp[n]; n++)
        if (!strncmp(envp[n], PRELOAD, PRELOAD_LEN))
            room += strlen(envp[n]) + 1;
    if (!room)
        return call(c, envp);
    char *env[n + 1], buf[room], *b = buf;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(envp[i], PRELOAD, PRELOAD_LEN) != 0 ||
            !preload_without_us(envp[i] + PRELOAD_LEN, b + PRELOAD_LEN)) {
            env[k++] = envp[i];
        } else if (b[PRELOAD_LEN]) {
            memcpy(b, PRELOAD, PRELOAD_LEN);
            env[k++] = b;
            b += strlen(b) + 1;
        }
    }
    env[k] = NULL;
    return call(c, env);
}

SHIM_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
    if (!rt_green() || inherit)
        return REAL(execve)(path, argv, envp);
    return call_without_us(&(struct exec_call){ EXEC_PATH, .file = path, .argv = argv }, envp);
}

SHIM_EXPORT int execv(const char *path, char *const argv[])
{
    if (!rt_green() || inherit)
        return REAL(execv)(path, argv);
    return call_without_us(&(struct exec_call){ EXEC_PATH, .file = path, .argv = argv }, environ);
}

SHIM_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
    if (!rt_green() || inherit)
        return REAL(execvpe)(file, argv, envp);
    return call_without_us(&(struct exec_call){ EXEC_SEARCH, .file = file, .argv = argv }, envp);
}

SHIM_EXPORT int execvp(const char *file, char *const argv[])
{
    if (!rt_green() || inherit)
        return REAL(execvp)(file, argv);
    return call_without_us(&(struct exec_call){ EXEC_SEARCH, .file = file, .argv = argv },
                           environ);
}

SHIM_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
    if (!rt_green() || inherit)
        return REAL(fexecve)(fd, argv, envp);
    return call_without_us(&(struct exec_call){ EXEC_FD, .fd = fd, .argv = argv }, envp);
}

SHIM_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                            const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
    if (!rt_green() || inherit)
        return REAL(posix_spawn)(pid, path, fa, attr, argv, envp);
    return call_without_us(&(struct exec_call){ SPAWN_PATH, .file = path, .argv = argv,
                                                .pid = pid, .actions = fa, .attr = attr }, envp);
}

SHIM_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
                             const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
    if (!rt_green() || inherit)
        return REAL(posix_spawnp)(pid, file, fa, attr, argv, envp);
    return call_without_us(&(struct exec_call){ SPAWN_SEARCH, .file = file, .argv = argv,
                                                .pid = pid, .actions = fa, .attr = attr }, envp);
}

/* execl, execle, execlp: the arguments after `arg` up to the NULL, counted
 * (1 + how many; -1 and E2BIG past INT_MAX, as glibc) and then collected
 * into argv, as glibc does, on the stack. */
static ptrdiff_t count_args(va_list *ap)
{
    ptrdiff_t argc;

    for (argc = 1; va_arg(*ap, const char *); argc++) {
        if (argc == INT_MAX) {
            errno = E2BIG;
            return -1;
        }
    }
    return argc;
}

/* argv from the list, then exec(target, argv, envp): envp follows the list's
 * NULL for execle, else it is environ. argv lives on this frame, which the
 * exec call runs inside of. */
static int exec_list(int (*exec)(const char *, char *const[], char *const[]),
                     const char *target, const char *arg, va_list ap, bool with_envp)
{
    char *const *envp = environ;
    ptrdiff_t argc;
    va_list list;

    va_copy(list, ap);
    argc = count_args(&list);
    va_end(list);
    if (argc < 0)
        return -1;
    char *argv[argc + 1];
    argv[0] = (char *)arg;
    va_copy(list, ap);
    for (ptrdiff_t i = 1; i <= argc; i++)
        argv[i] = va_arg(list, char *);
    if (with_envp)
        envp = va_arg(list, char *const *);
    va_end(list);
    return exec(target, argv, envp);
}

SHIM_EXPORT int execl(const char *path, const char *arg, ...)
{
    va_list ap;
    int r;

    va_start(ap, arg);
    r = exec_list(execve, path, arg, ap, false);
    va_end(ap);
    return r;
}

SHIM_EXPORT int execlp(const char *file, const char *arg, ...)
{
    va_list ap;
    int r;

    va_start(ap, arg);
    r = exec_list(execvpe, file, arg, ap, false);
    va_end(ap);
    return r;
}

SHIM_EXPORT int execle(const char *path, const char *arg, ...)
{
    va_list ap;
    int r;

    va_start(ap, arg);
    r = exec_list(execve, path, arg, ap, true);
    va_end(ap);
    return r;
}
