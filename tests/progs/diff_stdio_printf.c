/* diff_stdio_printf.c - the printf family, puts, putchar and the inline
 * getc_unlocked/putc_unlocked on pipes between threads.
 *
 * Under greenrun the threads are green threads of one OS thread: an output
 * call that blocked the OS thread on a full pipe (or an input call on an
 * empty one) would stop the thread that empties (fills) it, for good
 * (alarm(20) ends the run then).
 *   1. stdout made a pipe (dup2) read slowly by another thread: printf,
 *      __printf_chk, vprintf, __vprintf_chk, fprintf, vfprintf, puts,
 *      putchar, putchar_unlocked, the inline putc_unlocked (__overflow),
 *      outputs of 100 KB; the bytes, the return values, a ticker ran
 *   2. buffering seen from the reading end (FIONREAD): line-buffered
 *      (setvbuf _IOLBF), fully buffered (glibc's buffer, a 100-byte one),
 *      unbuffered; puts and printf on a fully buffered stdout
 *   3. dprintf, __dprintf_chk, vdprintf of 300 KB to a slowly read pipe
 *   4. errors: EPIPE (SIGPIPE ignored) from fprintf, printf, puts, putc_unlocked,
 *      dprintf, on each kind of buffering; EBADF (a read-only stream, a
 *      closed fd, dprintf); EILSEQ after the output before it; a wide
 *      stream; errno untouched on success; %n; a fortified %n in a
 *      writable format aborts
 *   5. getc_unlocked (inline: __uflow) and __underflow reading a pipe that
 *      another thread fills slowly
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <wchar.h>

#include "common.h"

int __underflow(FILE *fp);

/* The unfortified entry points, which _FORTIFY_SOURCE would replace. */
static int (*volatile plain_printf)(const char *, ...) = printf;
static int (*volatile plain_fprintf)(FILE *, const char *, ...) = fprintf;
static int (*volatile plain_vprintf)(const char *, va_list) = vprintf;
static int (*volatile plain_vfprintf)(FILE *, const char *, va_list) = vfprintf;
static int (*volatile plain_dprintf)(int, const char *, ...) = dprintf;
static int (*volatile plain_vdprintf)(int, const char *, va_list) = vdprintf;
static int (*volatile plain_putchar)(int) = putchar;
static int (*volatile plain_putchar_unlocked)(int) = putchar_unlocked;

/* Bytes in a pipe, unread. */
static int unread(int fd)
{
    int n = -1;

    if (ioctl(fd, FIONREAD, &n) < 0)
        die("FIONREAD");
    return n;
}

/* What was meant to be written, and what the calls returned. */
static uint64_t want_hash = FNV0;
static size_t want_total;
static long returned;

static void want(const char *fmt, ...)
{
    static char buf[250000];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    want_hash = fnv(want_hash, buf, (size_t)n);
    want_total += (size_t)n;
}

static int my_vprintf(bool plain, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = plain ? plain_vprintf(fmt, ap) : vprintf(fmt, ap);
    va_end(ap);
    return r;
}

static int my_vfprintf(bool plain, FILE *fp, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = plain ? plain_vfprintf(fp, fmt, ap) : vfprintf(fp, fmt, ap);
    va_end(ap);
    return r;
}

static int my_vdprintf(bool plain, int fd, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = plain ? plain_vdprintf(fd, fmt, ap) : vdprintf(fd, fmt, ap);
    va_end(ap);
    return r;
}

static char big[100001];

static void fill_big(void)
{
    for (size_t i = 0; i < sizeof(big) - 1; i++)
        big[i] = (char)('a' + i % 26);
}

/* stdout on the write end of a new pipe; the old stdout is kept. */
static int stdout_to(int fd)
{
    int saved;

    fflush(stdout);
    if ((saved = dup(1)) < 0 || dup2(fd, 1) < 0)
        die("dup2");
    return saved;
}

static void stdout_back(int saved)
{
    fflush(stdout);
    clearerr(stdout);
    if (dup2(saved, 1) < 0)
        die("dup2");
    close(saved);
}

/* ---- 1. stdout on a slowly read pipe ---- */

static void part_stdout(void)
{
    struct slow_drain d = { .pause_us = 300, .hash = FNV0 };
    pthread_t reader, tick;
    int p[2], saved, t0;
    const char *word = "word";

    xpipe(p);
    d.fd = p[0];
    reader = spawn(slow_drain, &d);
    saved = stdout_to(p[1]);
    close(p[1]);
    tick = start_ticker();
    t0 = ticks;
    for (int i = 0; i < 2000; i++) {
        want("printf %d %s %5.2f\n", i, word, i / 7.0);
        returned += printf("printf %d %s %5.2f\n", i, word, i / 7.0);
        want("plain printf %d\n", i);
        returned += plain_printf("plain printf %d\n", i);
        want("vprintf %x\n", i);
        returned += my_vprintf(false, "vprintf %x\n", i);
        want("plain vprintf %o\n", i);
        returned += my_vprintf(true, "plain vprintf %o\n", i);
        want("fprintf %-6d|\n", i);
        returned += fprintf(stdout, "fprintf %-6d|\n", i);
        want("plain fprintf %ld\n", (long)i * 1000003);
        returned += plain_fprintf(stdout, "plain fprintf %ld\n", (long)i * 1000003);
        want("vfprintf %s\n", word);
        returned += my_vfprintf(false, stdout, "vfprintf %s\n", word);
        want("plain vfprintf %c\n", 'A' + i % 26);
        returned += my_vfprintf(true, stdout, "plain vfprintf %c\n", 'A' + i % 26);
        want("puts line %d\n", i);
        char line[32];
        snprintf(line, sizeof(line), "puts line %d", i);
        returned += puts(line);
        want("%c%c%c", 'x', 'y', '\n');
        returned += putchar('x') == 'x';
        returned += plain_putchar('y') == 'y';
        returned += plain_putchar_unlocked('\n') == '\n';
        for (int j = 0; j < 40; j++) {
            want("%c", 'a' + (i + j) % 26);
            returned += putc_unlocked('a' + (i + j) % 26, stdout) == 'a' + (i + j) % 26;
        }
        if (i % 500 == 0) {
            want("%s\n", big);
            returned += printf("%s\n", big);
            want("%.*s|%d\n", 70000, big, i);
            returned += plain_printf("%.*s|%d\n", 70000, big, i);
        }
    }
    stdout_back(saved);
    pthread_join(reader, NULL);
    printf("stdout pipe: %zu bytes sent, byte-identical: %s, return values add up: %s\n",
           want_total, yes(d.total == want_total && d.hash == want_hash),
           yes(returned == (long)want_total));
    printf("stdout pipe: the ticker ran while the writer waited: %s\n", yes(ticks - t0 >= 2));
    stop_ticker(tick);
    close(p[0]);
}

/* ---- 2. buffering ---- */

/* Reads what the pipe holds, so that the next count starts from 0. */
static void empty_pipe(int fd)
{
    char buf[8192];

    for (int n = unread(fd); n > 0; n -= (int)sizeof(buf))
        if (read(fd, buf, n < (int)sizeof(buf) ? (size_t)n : sizeof(buf)) < 0)
            die("read");
}

static void part_buffering(void)
{
    static char small[100];
    FILE *line, *full, *tiny, *unbuf;
    int p[2], r, r2, n, saved;

    xpipe(p);
    if (!(line = fdopen(dup(p[1]), "w")) || !(full = fdopen(dup(p[1]), "w")) ||
        !(tiny = fdopen(dup(p[1]), "w")) || !(unbuf = fdopen(dup(p[1]), "w")))
        die("fdopen");
    setvbuf(line, NULL, _IOLBF, 0);
    setvbuf(tiny, small, _IOFBF, sizeof(small));
    setvbuf(unbuf, NULL, _IONBF, 0);

    r = fprintf(line, "one\ntwo");
    printf("line-buffered: fprintf %d, in the pipe %d", r, unread(p[0]));
    r = fprintf(line, " three\nfour\nfive");
    printf(", fprintf %d, in the pipe %d", r, unread(p[0]));
    r = plain_fprintf(line, "%s", "-six");
    printf(", fprintf %d, in the pipe %d", r, unread(p[0]));
    fflush(line);
    printf(", after fflush %d\n", unread(p[0]));
    empty_pipe(p[0]);

    r = fprintf(full, "%d\n", 12345);
    printf("fully buffered: fprintf %d, in the pipe %d", r, unread(p[0]));
    for (int i = 0; i < 600; i++)
        fprintf(full, "%07d\n", i);
    printf(", after 4806 bytes %d", unread(p[0]));
    fflush(full);
    printf(", after fflush %d\n", unread(p[0]));
    empty_pipe(p[0]);

    r = fprintf(tiny, "%s", "0123456789012345678901234567890123456789");
    printf("100-byte buffer: fprintf %d, in the pipe %d", r, unread(p[0]));
    r = fprintf(tiny, "%.*s", 150, big);
    printf(", fprintf %d, in the pipe %d", r, unread(p[0]));
    r = fprintf(tiny, "%.*s", 350, big);
    printf(", fprintf %d, in the pipe %d\n", r, unread(p[0]));
    fflush(tiny);
    empty_pipe(p[0]);

    r = fprintf(unbuf, "unbuffered %d\n", 42);
    printf("unbuffered: fprintf %d, in the pipe %d\n", r, unread(p[0]));
    empty_pipe(p[0]);

    saved = stdout_to(p[1]);
    r = puts("to stdout");
    r2 = printf("%s", "more");
    n = unread(p[0]);
    stdout_back(saved);
    printf("fully buffered stdout: puts %d, printf %d, in the pipe %d, after fflush %d\n", r, r2,
           n, unread(p[0]));
    fclose(line);
    fclose(full);
    fclose(tiny);
    fclose(unbuf);
    close_pair(p);
}

/* ---- 3. dprintf ---- */

static void part_dprintf(void)
{
    struct slow_drain d = { .pause_us = 300, .hash = FNV0 };
    pthread_t reader, tick;
    int p[2], t0;

    want_hash = FNV0;
    want_total = 0;
    returned = 0;
    xpipe(p);
    d.fd = p[0];
    reader = spawn(slow_drain, &d);
    tick = start_ticker();
    t0 = ticks;
    for (int i = 0; i < 3000; i++) {
        want("dprintf %d\n", i);
        returned += dprintf(p[1], "dprintf %d\n", i);
        want("plain dprintf %d\n", i);
        returned += plain_dprintf(p[1], "plain dprintf %d\n", i);
        want("vdprintf %d\n", i);
        returned += my_vdprintf(false, p[1], "vdprintf %d\n", i);
        want("plain vdprintf %d\n", i);
        returned += my_vdprintf(true, p[1], "plain vdprintf %d\n", i);
    }
    want("%s", big);
    returned += dprintf(p[1], "%s", big);
    want("%s|%s", big, big);
    returned += plain_dprintf(p[1], "%s|%s", big, big);
    close(p[1]);
    pthread_join(reader, NULL);
    printf("dprintf: %zu bytes sent, byte-identical: %s, return values add up: %s\n", want_total,
           yes(d.total == want_total && d.hash == want_hash), yes(returned == (long)want_total));
    printf("dprintf: the ticker ran while the writer waited: %s\n", yes(ticks - t0 >= 2));
    stop_ticker(tick);
    close(p[0]);
}

/* ---- 4. errors ---- */

static void show_err(const char *what, long r, FILE *fp)
{
    printf("  %s: %ld %s", what, r, r < 0 ? ename(errno) : "");
    if (fp)
        printf(" ferror %d", ferror(fp) != 0);
    printf("\n");
}

#define TRY(what, fp, call) \
    do { \
        errno = 0; \
        long r_ = (call); \
        show_err(what, r_, fp); \
    } while (0)

static void part_errors(void)
{
    FILE *full, *line, *unbuf, *ro, *closed;
    int p[2], q[2], saved, n = -1, sent;
    char writable[] = "abc%n|\n";
    pid_t pid;

    signal(SIGPIPE, SIG_IGN);
    xpipe(p);
    close(p[0]);
    if (!(full = fdopen(dup(p[1]), "w")) || !(line = fdopen(dup(p[1]), "w")) ||
        !(unbuf = fdopen(dup(p[1]), "w")))
        die("fdopen");
    setvbuf(line, NULL, _IOLBF, 0);
    setvbuf(unbuf, NULL, _IONBF, 0);
    printf("a pipe without reader:\n");
    TRY("fully buffered fprintf", full, fprintf(full, "%s\n", "hello"));
    TRY("then fflush", full, fflush(full));
    clearerr(full);
    TRY("fully buffered fprintf of 100 KB", full, fprintf(full, "%s", big));
    TRY("line-buffered fprintf", line, fprintf(line, "a%d\nb", 1));
    TRY("line-buffered plain fprintf", line, plain_fprintf(line, "%s", "no newline"));
    TRY("unbuffered fprintf", unbuf, fprintf(unbuf, "%d", 7));
    sent = 0;
    errno = 0;
    for (int i = 0; i < 10000 && putc_unlocked('z', full) != EOF; i++)
        sent++;
    printf("  putc_unlocked: %d bytes taken, then EOF %s ferror %d\n", sent, ename(errno),
           ferror(full) != 0);
    TRY("dprintf", NULL, dprintf(p[1], "%d\n", 5));
    TRY("plain vdprintf", NULL, my_vdprintf(true, p[1], "%s", big));
    saved = stdout_to(p[1]);
    errno = 0;
    int r1 = puts("puts"), e1 = errno;
    errno = 0;
    int r2 = printf("%s", big), e2 = errno, f2 = ferror(stdout) != 0;
    stdout_back(saved);
    printf("  stdout: puts %d %s, printf of 100 KB %d %s ferror %d\n", r1, ename(e1), r2,
           ename(e2), f2);
    fclose(full);
    fclose(line);
    fclose(unbuf);
    close(p[1]);

    printf("EBADF:\n");
    xpipe(p);
    if (!(ro = fdopen(dup(p[0]), "r")) || !(closed = fdopen(dup(p[1]), "w")))
        die("fdopen");
    TRY("fprintf on a read-only stream", ro, fprintf(ro, "%d", 1));
    close(fileno(closed));
    TRY("fprintf on a closed fd", closed, fprintf(closed, "%d", 1));
    TRY("then fflush", closed, fflush(closed));
    TRY("dprintf on a closed fd", NULL, dprintf(fileno(closed), "%d", 1));
    TRY("dprintf on fd -1", NULL, dprintf(-1, "%d", 1));
    fclose(ro);
    fclose(closed);

    printf("more:\n");
    if (!(unbuf = fdopen(dup(p[1]), "w")) || !(full = fdopen(dup(p[1]), "w")))
        die("fdopen");
    setvbuf(unbuf, NULL, _IONBF, 0);
    TRY("unbuffered fprintf of an unconvertible wide string", unbuf,
        fprintf(unbuf, "abc%lsdef", L"\x100"));
    printf("  in the pipe %d\n", unread(p[0]));
    TRY("dprintf of it", NULL, dprintf(p[1], "xy%lc", (wint_t)0x100));
    printf("  in the pipe %d\n", unread(p[0]));
    errno = EDOM;
    r1 = fprintf(unbuf, "%s", "ok");
    printf("  errno after a good fprintf: %s (%d)\n", ename(errno), r1);
    errno = EDOM;
    r1 = dprintf(p[1], "%s", "ok");
    printf("  errno after a good dprintf: %s (%d)\n", ename(errno), r1);
    r1 = plain_fprintf(unbuf, writable, &n);
    printf("  plain fprintf with %%n in a writable format: %d, n %d\n", r1, n);
    r1 = fprintf(full, "%s", "");
    printf("  fprintf of nothing: %d, orientation %d\n", r1, fwide(full, 0));
    fclose(full);
    if (!(full = fdopen(dup(p[1]), "w")))
        die("fdopen");
    fwide(full, 1);
    TRY("fprintf on a wide stream", full, fprintf(full, "%d", 1));
    fclose(full);
    fclose(unbuf);
    close_pair(p);

    /* __fprintf_chk(flag 1) refuses %n in writable memory: glibc aborts. */
    xpipe(q);
    if ((pid = xfork()) == 0) {
        close(q[0]);
        if (!(full = fdopen(q[1], "w")))
            _exit(1);
        fprintf(full, writable, &n);
        fflush(full);
        _exit(0);
    }
    close(q[1]);
    int status;
    if (waitpid(pid, &status, 0) != pid)
        die("waitpid");
    printf("  fortified %%n in a writable format: %s\n",
           WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT ? "aborted" : "not aborted");
    close(q[0]);
    signal(SIGPIPE, SIG_DFL);
}

/* ---- 5. getc_unlocked, __underflow ---- */

static unsigned char pattern[300000];

static void *feed_slowly(void *arg)
{
    int fd = *(int *)arg;

    for (size_t off = 0; off < sizeof(pattern); off += 10000) {
        if (write(fd, pattern + off, 10000) != 10000)
            die("write");
        usleep(1000);
    }
    close(fd);
    return NULL;
}

static void part_getc(void)
{
    uint64_t h = FNV0;
    pthread_t t, tick;
    size_t n = 0;
    uint32_t x = 1;
    int p[2], c, peek, t0;
    FILE *fp;

    for (size_t i = 0; i < sizeof(pattern); i++) {
        x = x * 1103515245 + 12345;
        pattern[i] = (unsigned char)(x >> 16);
    }
    xpipe(p);
    if (!(fp = fdopen(p[0], "r")))
        die("fdopen");
    tick = start_ticker();
    t0 = ticks;
    t = spawn(feed_slowly, &p[1]);
    peek = __underflow(fp);
    printf("__underflow: the first byte: %s\n", yes(peek == pattern[0]));
    while ((c = getc_unlocked(fp)) != EOF) {
        unsigned char b = (unsigned char)c;

        h = fnv(h, &b, 1);
        n++;
    }
    printf("getc_unlocked: %zu bytes, byte-identical: %s, feof %d ferror %d\n", n,
           yes(n == sizeof(pattern) && h == fnv(FNV0, pattern, sizeof(pattern))), feof(fp) != 0,
           ferror(fp) != 0);
    printf("getc_unlocked: the ticker ran while the reader waited: %s\n", yes(ticks - t0 >= 2));
    pthread_join(t, NULL);
    stop_ticker(tick);
    fclose(fp);
}

int main(void)
{
    void (*parts[])(void) = { part_stdout, part_buffering, part_dprintf, part_errors, part_getc };

    alarm(20);
    fill_big();
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        parts[i]();
        fflush(stdout);             /* a hang shows where it happened */
    }
    return 0;
}
