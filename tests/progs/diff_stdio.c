/* diff_stdio.c - stdio on sockets and pipes between threads.
 *
 * Each part has a thread that sends slowly (sleeps between its sends) and a
 * reader using stdio on the other end, or the other way round. Under
 * greenrun they are green threads of one OS thread: a stdio call that
 * blocked the OS thread would stop the other side for good (alarm(20) ends
 * the run then).
 *   1. fgets line by line: lines split across sends, a line longer than the
 *      buffer, a last line without newline; __fgets_chk and
 *      __fgets_unlocked_chk (n larger than the buffer); then feof, ferror
 *   2. getline (an inline calling __getdelim once optimised) and getdelim:
 *      the lines and the buffer sizes glibc grows them to
 *   3. fread_unlocked of 10 bytes, fread of 1 MiB sent in 64 KiB pieces
 *      (glibc reads it straight into the caller's buffer), __fread_chk of
 *      7-byte items up to EOF
 *   4. fgetc and getc to EOF, after an ungetc of a different byte
 *   5. fscanf of numbers sent one send at a time, a literal, a failed
 *      match, %3s, EOF
 *   6. SO_RCVTIMEO: a partial line comes back when the read times out, then
 *      fgets fails with EAGAIN after the timeout
 *   7. a peer reset (TCP, SO_LINGER 0): fgets fails with ECONNRESET, then EOF
 *   8. two threads fgets one FILE while every line arrives in two halves:
 *      each line goes whole to one of them
 *   9. writers on a pipe whose reader is slow: fprintf+fflush, fwrite of
 *      256 KiB, fputs and putc on a fully buffered, a line-buffered, an
 *      unbuffered and a 200 KB-buffered stream, while a third thread ticks
 *      every 5 ms: the ticker runs while the writer waits, the bytes match
 *  10. write errors on a pipe without reader (SIGPIPE ignored): what fputs,
 *      fwrite, fflush and fputc return, ferror and errno
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define BIG (1 << 20)

static void show(const char *label, const char *s)
{
    printf("%s \"", label);
    for (; *s; s++)
        if (*s == '\n')
            printf("\\n");
        else
            putchar(*s);
    printf("\"\n");
}

static void flags(const char *what, FILE *fp)
{
    printf("%s: feof %d ferror %d\n", what, feof(fp) != 0, ferror(fp) != 0);
}

static void xsocketpair(int sv[2])
{
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        die("socketpair");
}

/* ---- a writer thread: sends, each followed by a pause, then closes ---- */

struct step {
    const char *data;
    int pause_ms;
};

struct script {
    int fd;
    const struct step *steps;
};

static void *run_script(void *arg)
{
    struct script *s = arg;

    for (const struct step *st = s->steps; st->data; st++) {
        if (send(s->fd, st->data, strlen(st->data), 0) < 0)
            die("send");
        usleep((useconds_t)st->pause_ms * 1000);
    }
    close(s->fd);
    return NULL;
}

/* The reading end as a FILE, the writer running the script on the other. */
static FILE *scripted(const struct step *steps, struct script *s, pthread_t *t)
{
    int sv[2];
    FILE *fp;

    xsocketpair(sv);
    if (!(fp = fdopen(sv[0], "r")))
        die("fdopen");
    s->fd = sv[1];
    s->steps = steps;
    *t = spawn(run_script, s);
    return fp;
}

/* ---- 1. fgets ---- */

static const struct step lines[] = {
    { "first line\n", 10 },
    { "second ", 10 },
    { "line\nthird", 10 },
    { " line\na line longer than the reader's buffer\n", 10 },
    { "no newline at the end", 0 },
    { NULL, 0 },
};

static void part_fgets(void)
{
    volatile int n = 16;
    struct script s;
    pthread_t t;
    char buf[16], wide[40];
    FILE *fp = scripted(lines, &s, &t);

    while (fgets(buf, sizeof(buf), fp))
        show("fgets:", buf);
    flags("fgets at end", fp);
    fclose(fp);
    pthread_join(t, NULL);

    /* n unknown to the compiler: __fgets_chk, with n no larger than the
     * buffer, then larger (which glibc accepts while the lines fit). */
    for (int i = 0; i < 2; i++) {
        fp = scripted(lines, &s, &t);
        while (i == 0 ? fgets(buf, n, fp) : fgets_unlocked(wide, n * 4, fp))
            show(i == 0 ? "__fgets_chk:" : "__fgets_unlocked_chk:", i == 0 ? buf : wide);
        flags("at end", fp);
        fclose(fp);
        pthread_join(t, NULL);
    }
}

/* ---- 2. getline, getdelim ---- */

static char long_line[202];

static const struct step for_getline[] = {
    { "short\n", 10 },
    { long_line, 10 },
    { "part one, ", 10 },
    { "part two\n", 10 },
    { "tail without newline", 0 },
    { NULL, 0 },
};

static const struct step for_getdelim[] = {
    { "a:b", 10 },
    { "c:", 10 },
    { ":d", 0 },
    { NULL, 0 },
};

static void part_getline(void)
{
    char *line = NULL;
    size_t n = 0;
    ssize_t r;
    struct script s;
    pthread_t t;
    FILE *fp;

    memset(long_line, 'x', 200);
    long_line[200] = '\n';
    fp = scripted(for_getline, &s, &t);
    while ((r = getline(&line, &n, fp)) >= 0)
        printf("getline: %zd bytes, buffer %zu, checksum %016llx\n", r, n,
               (unsigned long long)fnv(FNV0, line, (size_t)r));
    flags("getline at end", fp);
    fclose(fp);
    pthread_join(t, NULL);

    fp = scripted(for_getdelim, &s, &t);
    while (getdelim(&line, &n, ':', fp) >= 0)
        show("getdelim:", line);
    flags("getdelim at end", fp);
    fclose(fp);
    pthread_join(t, NULL);
    free(line);
}

/* ---- 3. fread ---- */

static unsigned char pattern[BIG + 100];

static void *send_pattern(void *arg)
{
    int fd = *(int *)arg;

    for (size_t off = 0; off < sizeof(pattern); off += 65536) {
        size_t len = sizeof(pattern) - off < 65536 ? sizeof(pattern) - off : 65536;

        for (size_t done = 0; done < len;) {
            ssize_t w = send(fd, pattern + off + done, len - done, 0);

            if (w < 0)
                die("send");
            done += (size_t)w;
        }
        usleep(2000);
    }
    close(fd);
    return NULL;
}

static void part_fread(void)
{
    static unsigned char buf[BIG];
    uint64_t h = FNV0;
    volatile size_t items = 20;
    uint32_t x = 12345;
    pthread_t t;
    size_t r;
    int sv[2];
    FILE *fp;

    for (size_t i = 0; i < sizeof(pattern); i++) {
        x = x * 1103515245 + 12345;
        pattern[i] = (unsigned char)(x >> 16);
    }
    xsocketpair(sv);
    if (!(fp = fdopen(sv[0], "r")))
        die("fdopen");
    t = spawn(send_pattern, &sv[1]);
    r = fread_unlocked(buf, 1, 10, fp);
    printf("fread 10: %zu\n", r);
    h = fnv(h, buf, r);
    r = fread(buf, 1, BIG, fp);
    printf("fread 1 MiB: %zu\n", r);
    h = fnv(h, buf, r);
    r = fread(buf, 7, items, fp);   /* __fread_chk */
    printf("fread 7-byte items: %zu\n", r);
    h = fnv(h, buf, r * 7);
    flags("fread at end", fp);
    printf("fread bytes match: %s\n",
           h == fnv(FNV0, pattern, 10 + BIG + 84) ? "yes" : "no");
    fclose(fp);
    pthread_join(t, NULL);
}

/* ---- 4. fgetc ---- */

static const struct step chars[] = {
    { "hello", 10 },
    { " world", 10 },
    { "\n!", 0 },
    { NULL, 0 },
};

static void part_fgetc(void)
{
    char got[64];
    size_t n = 0;
    struct script s;
    pthread_t t;
    int c;
    FILE *fp = scripted(chars, &s, &t);

    c = fgetc(fp);
    printf("fgetc: '%c', ungetc: '%c'\n", c, ungetc('H', fp));
    while ((c = n % 2 ? getc(fp) : fgetc(fp)) != EOF && n < sizeof(got) - 1)
        got[n++] = (char)c;
    got[n] = '\0';
    show("fgetc and getc:", got);
    flags("fgetc at end", fp);
    fclose(fp);
    pthread_join(t, NULL);
}

/* ---- 5. fscanf ---- */

static const struct step numbers[] = {
    { "17\n", 10 },
    { "42 ", 10 },
    { "-5\n", 10 },
    { "value=99\n", 10 },
    { "end", 0 },
    { NULL, 0 },
};

static void part_fscanf(void)
{
    struct script s;
    pthread_t t;
    char word[4];
    int x = 0, r;
    FILE *fp = scripted(numbers, &s, &t);

    for (int i = 0; i < 3; i++) {
        r = fscanf(fp, "%d", &x);
        printf("fscanf %%d: %d, %d\n", r, x);
    }
    r = fscanf(fp, " value=%d", &x);
    printf("fscanf \" value=%%d\": %d, %d\n", r, x);
    r = fscanf(fp, "%d", &x);
    printf("fscanf %%d on a word: %d\n", r);
    r = fscanf(fp, "%3s", word);
    printf("fscanf %%3s: %d, \"%s\"\n", r, word);
    r = fscanf(fp, "%d", &x);
    printf("fscanf at end: %d\n", r);
    flags("fscanf at end", fp);
    fclose(fp);
    pthread_join(t, NULL);
}

/* ---- 6. SO_RCVTIMEO ---- */

static void part_timeout(void)
{
    struct timeval tv = { 0, 100000 };
    char buf[32], *r;
    uint64_t t0, ms;
    int sv[2];
    FILE *fp;

    xsocketpair(sv);
    if (setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
        die("setsockopt");
    if (!(fp = fdopen(sv[0], "r")))
        die("fdopen");
    if (write(sv[1], "abc", 3) != 3)
        die("write");
    r = fgets(buf, sizeof(buf), fp);
    printf("fgets of a partial line: %s, errno %s\n", r ? buf : "NULL", ename(errno));
    flags("after the partial line", fp);
    clearerr(fp);
    errno = 0;
    t0 = now_ms();
    r = fgets(buf, sizeof(buf), fp);
    ms = now_ms() - t0;
    printf("fgets with nothing: %s, errno %s\n", r ? buf : "NULL", ename(errno));
    printf("timed out after >= 100 ms and < 400 ms: %s\n", ms >= 100 && ms < 400 ? "yes" : "no");
    flags("after the timeout", fp);
    fclose(fp);
    close(sv[1]);
}

/* ---- 7. a peer reset ---- */

struct reset {
    int fd, go[2];
};

static void *reset_peer(void *arg)
{
    struct reset *rs = arg;
    struct linger lg = { 1, 0 };
    char c;

    if (send(rs->fd, "line1\npartial", 13, 0) != 13)
        die("send");
    if (read(rs->go[0], &c, 1) != 1)        /* the reader has the line */
        die("read");
    usleep(20000);
    if (setsockopt(rs->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) < 0)
        die("SO_LINGER");
    close(rs->fd);
    return NULL;
}

static void part_reset(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(a);
    struct reset rs;
    char buf[64], *r;
    pthread_t t;
    int l, c;
    FILE *fp;

    if ((l = socket(AF_INET, SOCK_STREAM, 0)) < 0 || bind(l, (struct sockaddr *)&a, len) < 0 ||
        listen(l, 1) < 0 || getsockname(l, (struct sockaddr *)&a, &len) < 0)
        die("listen");
    if ((c = socket(AF_INET, SOCK_STREAM, 0)) < 0 || connect(c, (struct sockaddr *)&a, len) < 0)
        die("connect");
    if ((rs.fd = accept(l, NULL, NULL)) < 0 || pipe(rs.go) < 0)
        die("accept");
    close(l);
    if (!(fp = fdopen(c, "r")))
        die("fdopen");
    t = spawn(reset_peer, &rs);
    r = fgets(buf, sizeof(buf), fp);
    show("fgets before the reset:", r ? buf : "NULL");
    if (write(rs.go[1], "x", 1) != 1)
        die("write");
    errno = 0;
    r = fgets(buf, sizeof(buf), fp);
    printf("fgets at the reset: %s, errno %s\n", r ? buf : "NULL", ename(errno));
    flags("after the reset", fp);
    clearerr(fp);
    r = fgets(buf, sizeof(buf), fp);
    printf("fgets after the reset: %s\n", r ? buf : "NULL");
    flags("then", fp);
    fclose(fp);
    pthread_join(t, NULL);
    close(rs.go[0]);
    close(rs.go[1]);
}

/* ---- 8. two readers of one FILE ---- */

#define HALVES 40

struct shared {
    FILE *fp;
    int seen[HALVES], bad;
};

static void half_line(char *line, size_t size, int i)
{
    snprintf(line, size, "line %02d, sent in two halves\n", i);
}

static void *send_halves(void *arg)
{
    int fd = *(int *)arg;
    char line[64];

    for (int i = 0; i < HALVES; i++) {
        half_line(line, sizeof(line), i);
        if (send(fd, line, 20, 0) != 20)
            die("send");
        usleep(2000);
        if (send(fd, line + 20, strlen(line) - 20, 0) < 0)
            die("send");
        usleep(1000);
    }
    close(fd);
    return NULL;
}

static void *read_lines(void *arg)
{
    struct shared *sh = arg;
    char buf[128], line[64];
    int i;

    while (fgets(buf, sizeof(buf), sh->fp)) {
        if (sscanf(buf, "line %d", &i) == 1 && i >= 0 && i < HALVES)
            half_line(line, sizeof(line), i);
        if (i >= 0 && i < HALVES && strcmp(buf, line) == 0)
            sh->seen[i]++;
        else
            sh->bad++;
    }
    return NULL;
}

static void part_two_readers(void)
{
    struct shared sh = { .bad = 0 };
    pthread_t w, r1, r2;
    int sv[2], once = 1;

    xsocketpair(sv);
    if (!(sh.fp = fdopen(sv[0], "r")))
        die("fdopen");
    w = spawn(send_halves, &sv[1]);
    r1 = spawn(read_lines, &sh);
    r2 = spawn(read_lines, &sh);
    pthread_join(w, NULL);
    pthread_join(r1, NULL);
    pthread_join(r2, NULL);
    for (int i = 0; i < HALVES; i++)
        once &= sh.seen[i] == 1;
    printf("two readers: broken lines %d, every line read once: %s\n", sh.bad, once ? "yes" : "no");
    fclose(sh.fp);
}

/* ---- 9. writers on a full pipe ---- */


static uint64_t sent_hash = FNV0;
static size_t sent_total;

static void sent(const void *p, size_t n)
{
    sent_hash = fnv(sent_hash, p, n);
    sent_total += n;
}

/* Each phase writes well over the pipe's 64 KiB, so the writer waits. */
static void phase(const char *name, FILE *fp, void (*fn)(FILE *))
{
    int t0 = ticks;

    fn(fp);
    if (fflush(fp) != 0)
        die("fflush");
    printf("%s: ticker ran while the writer was blocked: %s\n", name,
           ticks - t0 >= 2 ? "yes" : "no");
}

static void lines_out(FILE *fp, const char *kind, int count, bool flush)
{
    char line[80];

    for (int i = 0; i < count; i++) {
        snprintf(line, sizeof(line), "line %d of the %s stream\n", i, kind);
        sent(line, strlen(line));
        if (flush) {
            fprintf(fp, "line %d of the %s stream\n", i, kind);
            fflush(fp);
        } else if (fputs(line, fp) == EOF)
            die("fputs");
    }
}

static void bytes_out(FILE *fp, size_t n, size_t seed, bool by_putc)
{
    const unsigned char *p = pattern + seed;

    sent(p, n);
    if (!by_putc) {
        if (fwrite(p, 1, n, fp) != n)
            die("fwrite");
        return;
    }
    for (size_t i = 0; i < n; i++)
        if ((i % 2 ? putc(p[i], fp) : fputc(p[i], fp)) == EOF)
            die("putc");
}

static void full_fprintf(FILE *fp) { lines_out(fp, "fully buffered", 5000, true); }
static void full_fwrite(FILE *fp) { bytes_out(fp, 256 << 10, 0, false); }
static void full_fputs_putc(FILE *fp)
{
    lines_out(fp, "fully buffered", 3000, false);
    bytes_out(fp, 100000, 7, true);
}
static void line_mixed(FILE *fp)
{
    lines_out(fp, "line-buffered", 3000, false);
    bytes_out(fp, 100000, 11, false);
    bytes_out(fp, 30000, 13, true);
}
static void unbuffered_mixed(FILE *fp)
{
    bytes_out(fp, 150000, 17, false);
    lines_out(fp, "unbuffered", 1000, false);
    bytes_out(fp, 3000, 19, true);
}
static void big_buffer(FILE *fp) { lines_out(fp, "200 KB-buffered", 10000, false); }

static void part_full_pipe(void)
{
    static char bigbuf[200000];
    /* 4 KiB every 4 ms: about 1 MB/s, so 64 KiB of pipe fill up at once. */
    struct slow_drain d = { .pause_us = 4000, .hash = FNV0 };
    pthread_t tick, reader;
    FILE *full, *line, *unbuf, *big;
    int p[2];

    xpipe(p);
    if (!(full = fdopen(p[1], "w")) || !(line = fdopen(dup(p[1]), "w")) ||
        !(unbuf = fdopen(dup(p[1]), "w")) || !(big = fdopen(dup(p[1]), "w")))
        die("fdopen");
    setvbuf(line, NULL, _IOLBF, 0);
    setvbuf(unbuf, NULL, _IONBF, 0);
    setvbuf(big, bigbuf, _IOFBF, sizeof(bigbuf));
    d.fd = p[0];
    reader = spawn(slow_drain, &d);
    tick = start_ticker();
    phase("fprintf+fflush", full, full_fprintf);
    phase("fwrite 256 KiB", full, full_fwrite);
    phase("fputs+putc", full, full_fputs_putc);
    phase("line-buffered", line, line_mixed);
    phase("unbuffered", unbuf, unbuffered_mixed);
    phase("200 KB buffer", big, big_buffer);
    fclose(full);
    fclose(line);
    fclose(unbuf);
    fclose(big);
    pthread_join(reader, NULL);
    stop_ticker(tick);
    close(p[0]);
    printf("pipe: %zu bytes sent, %zu received, byte-identical: %s\n", sent_total, d.total,
           d.hash == sent_hash && d.total == sent_total ? "yes" : "no");
}

/* ---- 10. write errors ---- */

static void part_write_errors(void)
{
    static char block[10000];
    FILE *full, *line, *unbuf;
    int p[2], r;
    size_t n;

    signal(SIGPIPE, SIG_IGN);
    xpipe(p);
    close(p[0]);
    if (!(full = fdopen(p[1], "w")) || !(line = fdopen(dup(p[1]), "w")) ||
        !(unbuf = fdopen(dup(p[1]), "w")))
        die("fdopen");
    setvbuf(line, NULL, _IOLBF, 0);
    setvbuf(unbuf, NULL, _IONBF, 0);
    memset(block, 'b', sizeof(block));

    r = fputs("hello\n", full);
    printf("full: fputs %d", r);
    errno = 0;
    r = fflush(full);
    printf(", fflush %d %s, ferror %d", r, ename(errno), ferror(full) != 0);
    clearerr(full);
    errno = 0;
    n = fwrite(block, 1, sizeof(block), full);
    printf(", fwrite 10000: %zu %s\n", n, ename(errno));

    errno = 0;
    r = fputs("abc\n", line);
    printf("line-buffered: fputs %d %s", r, ename(errno));
    n = fwrite("abc\n", 1, 4, line);
    printf(", fwrite 4: %zu", n);
    r = fputc('x', line);
    printf(", fputc 'x' %d", r);
    r = fputc('\n', line);
    printf(", fputc '\\n' %d, ferror %d\n", r, ferror(line) != 0);

    errno = 0;
    r = fputc('y', unbuf);
    printf("unbuffered: fputc %d %s", r, ename(errno));
    n = fwrite(block, 1, 10, unbuf);
    printf(", fwrite 10: %zu, ferror %d\n", n, ferror(unbuf) != 0);
    fclose(full);
    fclose(line);
    fclose(unbuf);
    signal(SIGPIPE, SIG_DFL);
}

int main(void)
{
    void (*parts[])(void) = {
        part_fgets, part_getline, part_fread, part_fgetc, part_fscanf, part_timeout,
        part_reset, part_two_readers, part_full_pipe, part_write_errors,
    };

    alarm(20);
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        parts[i]();
        fflush(stdout);             /* a hang shows where it happened */
    }
    return 0;
}
