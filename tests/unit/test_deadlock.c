/* test_deadlock.c - the deadlock report (runtime/deadlock.c, sched.c hub).
 *
 * Covers: when every green thread is parked with nothing from outside (no fd,
 * no deadline) able to wake it, the runtime exits with status 3 (main parked
 * alone, main and a spawned thread parked, a join cycle, gt_park_until with no
 * deadline); the report on stderr says "deadlock", counts the threads and
 * names each one with what it waits on; the program's buffered stdout is
 * flushed first; and no false alarm: parked threads are left alone while a
 * thread sleeps or waits on an fd that will become ready.
 *
 * The report's text is checked in a forked child whose stderr is a pipe.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rt.h"

#define MS 1000000ull

static void start_quiet(void)
{
    struct rt_config cfg = { 0 };

    cr_redirect_stderr();
    cr_assert_eq(rt_start(&cfg), 0);
}

static void start(void)
{
    struct rt_config cfg = { 0 };

    cr_assert_eq(rt_start(&cfg), 0);
}

static int widget, gadget;

static void *park_on_widget(void *arg)
{
    (void)arg;
    gt_park("widget", &widget);
    return NULL;
}

/* ---- exit status ---- */

Test(deadlock, main_parked_alone_exits_3, .init = start_quiet, .exit_code = 3, .timeout = 5)
{
    gt_park("gadget", &gadget);
    cr_assert_fail("resumed from a park nobody can end");
}

Test(deadlock, all_threads_parked_exits_3, .init = start_quiet, .exit_code = 3, .timeout = 5)
{
    gt_t *g;

    cr_assert_eq(gt_spawn(&g, NULL, park_on_widget, NULL), 0);
    gt_park("gadget", &gadget);
    cr_assert_fail("resumed from a park nobody can end");
}

static gt_t *main_g;
static void *join_main(void *arg)
{
    (void)arg;
    gt_join(main_g, NULL);
    return NULL;
}

Test(deadlock, join_cycle_exits_3, .init = start_quiet, .exit_code = 3, .timeout = 5)
{
    gt_t *g;

    main_g = gt_self();
    cr_assert_eq(gt_spawn(&g, NULL, join_main, NULL), 0);
    gt_join(g, NULL);
    cr_assert_fail("join cycle returned");
}

Test(deadlock, park_until_without_deadline_exits_3, .init = start_quiet, .exit_code = 3, .timeout = 5)
{
    gt_park_until(0, "no deadline", NULL);
    cr_assert_fail("resumed from a park nobody can end");
}

/* ---- the report ---- */

/* Runs `body` in a forked child with stdout and stderr captured; returns the
 * child's wait status and its output (stdout first, then stderr). */
static int run_child(void (*body)(void), char *out, size_t outlen, char *err, size_t errlen)
{
    int po[2], pe[2], status;
    pid_t pid;
    ssize_t n;
    size_t got;

    cr_assert_eq(pipe(po), 0);
    cr_assert_eq(pipe(pe), 0);
    fflush(NULL);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        struct rt_config cfg = { 0 };

        dup2(po[1], 1);
        dup2(pe[1], 2);
        close(po[0]);
        close(pe[0]);
        alarm(5);                   /* a hang must fail, not block the suite */
        if (rt_start(&cfg) != 0)
            _exit(100);
        body();
        _exit(101);                 /* not reached when the runtime exits */
    }
    close(po[1]);
    close(pe[1]);
    for (got = 0; got < errlen - 1 && (n = read(pe[0], err + got, errlen - 1 - got)) > 0;)
        got += (size_t)n;
    err[got] = '\0';
    for (got = 0; got < outlen - 1 && (n = read(po[0], out + got, outlen - 1 - got)) > 0;)
        got += (size_t)n;
    out[got] = '\0';
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    close(po[0]);
    close(pe[0]);
    return status;
}

static void two_parked(void)
{
    gt_t *g;

    printf("buffered output");      /* a pipe: fully buffered, not yet written */
    gt_spawn(&g, NULL, park_on_widget, NULL);
    gt_park("gadget", &gadget);
}

Test(deadlock, report_names_every_thread_and_its_wait, .timeout = 10)
{
    char out[256], err[2048], line[128];
    int status = run_child(two_parked, out, sizeof(out), err, sizeof(err));

    cr_assert(WIFEXITED(status), "child did not exit (status %#x)", status);
    cr_assert_eq(WEXITSTATUS(status), 3, "stderr: %s", err);
    cr_assert_not_null(strstr(err, "deadlock"), "stderr: %s", err);
    cr_assert_not_null(strstr(err, "all 2 green threads"), "stderr: %s", err);
    snprintf(line, sizeof(line), "thread 1: waiting on gadget %p", (void *)&gadget);
    cr_assert_not_null(strstr(err, line), "no \"%s\" in: %s", line, err);
    snprintf(line, sizeof(line), "thread 2: waiting on widget %p", (void *)&widget);
    cr_assert_not_null(strstr(err, line), "no \"%s\" in: %s", line, err);
    cr_assert_str_eq(out, "buffered output", "stdout lost");
}

static void *nothing(void *arg)
{
    return arg;
}

static void joined_thread_not_listed(void)
{
    gt_t *g;

    gt_spawn(&g, NULL, nothing, NULL);
    gt_join(g, NULL);               /* thread 2 is gone */
    gt_spawn(&g, NULL, park_on_widget, NULL);
    gt_park("gadget", &gadget);
}

Test(deadlock, report_leaves_out_finished_threads, .timeout = 10)
{
    char out[64], err[2048];
    int status = run_child(joined_thread_not_listed, out, sizeof(out), err, sizeof(err));

    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 3, "status %#x, stderr: %s", status, err);
    cr_assert_not_null(strstr(err, "all 2 green threads"), "stderr: %s", err);
    cr_assert_null(strstr(err, "thread 2:"), "finished thread listed: %s", err);
    cr_assert_not_null(strstr(err, "thread 3: waiting on widget"), "stderr: %s", err);
}

/* ---- no false alarms ---- */

static gt_t *sleeper_wakes;
static void *sleep_then_unpark(void *arg)
{
    (void)arg;
    gt_sleep(2 * MS);
    gt_unpark(sleeper_wakes);
    return NULL;
}

Test(deadlock, sleeping_thread_is_not_deadlock, .init = start, .timeout = 5)
{
    gt_t *g;

    sleeper_wakes = gt_self();
    cr_assert_eq(gt_spawn(&g, NULL, sleep_then_unpark, NULL), 0);
    gt_park("until the sleeper wakes me", NULL);
    cr_assert_eq(gt_join(g, NULL), 0);
}

static int fd_pipe[2];
static void *wait_fd_then_unpark(void *arg)
{
    (void)arg;
    fdw_wait(fd_pipe[0], FDW_READ, 0);
    gt_unpark(sleeper_wakes);
    return NULL;
}

static void *write_later(void *arg)
{
    (void)arg;
    gt_sleep(2 * MS);
    return (void *)(intptr_t)write(fd_pipe[1], "k", 1);
}

Test(deadlock, fd_waiter_is_not_deadlock, .init = start, .timeout = 5)
{
    gt_t *a, *b;

    sleeper_wakes = gt_self();
    cr_assert_eq(pipe(fd_pipe), 0);
    cr_assert_eq(gt_spawn(&a, NULL, wait_fd_then_unpark, NULL), 0);
    cr_assert_eq(gt_spawn(&b, NULL, write_later, NULL), 0);
    gt_park("until the fd waiter wakes me", NULL);
    cr_assert_eq(gt_join(a, NULL), 0);
    cr_assert_eq(gt_join(b, NULL), 0);
}

static void *wait_fd_only(void *arg)
{
    (void)arg;
    fdw_wait(fd_pipe[0], FDW_READ, 0);
    gt_unpark(sleeper_wakes);
    return NULL;
}

Test(deadlock, only_fd_waiter_left_is_not_deadlock, .init = start, .timeout = 5)
{
    gt_t *a;

    /* The writer is another process: nothing green can wake the waiter. */
    sleeper_wakes = gt_self();
    cr_assert_eq(pipe(fd_pipe), 0);
    if (fork() == 0) {
        usleep(3000);
        _exit(write(fd_pipe[1], "k", 1) == 1 ? 0 : 1);
    }
    cr_assert_eq(gt_spawn(&a, NULL, wait_fd_only, NULL), 0);
    gt_park("until the fd waiter wakes me", NULL);
    cr_assert_eq(gt_join(a, NULL), 0);
    wait(NULL);
}
