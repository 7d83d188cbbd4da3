/* diff_tee.c - tee, vmsplice and copy_file_range between threads over pipes.
 *
 * Checks, on pipes splice has used: tee from an empty pipe waits for the
 * writer thread, copies without consuming, waits for room in a full output
 * pipe, gives 0 at end of file;
 * SPLICE_F_NONBLOCK and a pipe end the program made O_NONBLOCK give EAGAIN
 * at once; tee's errors (a file, a bad fd, the same pipe twice). vmsplice
 * into a full pipe waits for the reader, out of an empty one for the writer,
 * and does so on a pipe the program made O_NONBLOCK too (the kernel ignores
 * it there); with SPLICE_F_NONBLOCK EAGAIN; EPIPE without a reader; its
 * errors. copy_file_range between files (content, offsets), and EINVAL for
 * pipes and sockets, EBADF. F_GETFL shows the program's own flags after.
 * Each wait lets the other threads run (a thread blocking the OS thread
 * would hang the program: alarm).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common.h"

#define DELAY_MS 40
#define PAGE 4096

/* What a thread does to a pipe end DELAY_MS after it starts. */
struct act {
    int fd;
    const char *write;          /* write this, or else */
    size_t read;                /* read this many bytes */
    size_t got;
};

static void *act(void *arg)
{
    struct act *a = arg;
    char buf[PAGE];
    ssize_t n;

    sleep_ms(DELAY_MS);
    if (a->write) {
        if (write(a->fd, a->write, strlen(a->write)) < 0)
            die("write");
        return NULL;
    }
    while (a->got < a->read && (n = read(a->fd, buf, sizeof(buf))) > 0)
        a->got += (size_t)n;
    return NULL;
}

static const char *waited(long t0)
{
    return now_ms() - t0 >= DELAY_MS - 5 ? "after the other thread" : "at once";
}

/* Fill a blocking pipe's write end: made O_NONBLOCK for the filling only. */
static size_t fill(int fd)
{
    static char junk[PAGE];
    size_t n = 0;
    ssize_t r;

    fcntl(fd, F_SETFL, O_NONBLOCK);
    while ((r = write(fd, junk, sizeof(junk))) > 0)
        n += (size_t)r;
    fcntl(fd, F_SETFL, 0);
    return n;
}

static void drain_str(const char *what, int fd)
{
    char buf[64] = "";
    ssize_t n = read(fd, buf, sizeof(buf) - 1);

    printf("%s: %s \"%s\"\n", what, res(n, errno), n > 0 ? buf : "");
}

static void test_tee(void)
{
    struct act a = { 0 };
    int in[2], out[2], file;
    pthread_t t;
    long t0;

    xpipe(in);
    xpipe(out);
    /* Pipes splice has used: the kernel refuses RWF_NOWAIT on them after. */
    if (write(in[1], "s", 1) != 1)
        die("write");
    SHOW("splice between the pipes", splice(in[0], NULL, out[1], NULL, 1, 0));
    drain_str("spliced", out[0]);
    a = (struct act){ .fd = in[1], .write = "hello" };
    t = spawn(act, &a);
    t0 = now_ms();
    SHOW("tee from an empty pipe", tee(in[0], out[1], 100, 0));
    printf("tee waited: %s\n", waited(t0));
    join(t);
    drain_str("tee copied", out[0]);
    drain_str("tee left the input", in[0]);

    if (write(in[1], "again", 5) != 5)
        die("write");
    printf("filled the output: %s\n", yes(fill(out[1]) > 0));
    a = (struct act){ .fd = out[0], .read = PAGE };
    t = spawn(act, &a);
    t0 = now_ms();
    SHOW("tee into a full pipe", tee(in[0], out[1], 100, 0));
    printf("tee waited: %s\n", waited(t0));
    join(t);

    SHOW("tee SPLICE_F_NONBLOCK into a full pipe", tee(in[0], out[1], 100, SPLICE_F_NONBLOCK));
    drain_str("input drained", in[0]);
    close_pair(out);
    xpipe(out);
    SHOW("tee SPLICE_F_NONBLOCK from an empty pipe", tee(in[0], out[1], 100, SPLICE_F_NONBLOCK));
    fcntl(in[0], F_SETFL, O_NONBLOCK);
    t0 = now_ms();
    SHOW("tee from an O_NONBLOCK empty pipe", tee(in[0], out[1], 100, 0));
    printf("it answered: %s, input %s\n", waited(t0), fd_mode(in[0]));
    fcntl(in[0], F_SETFL, 0);

    file = open("/proc/self/exe", O_RDONLY);
    SHOW("tee from a file", tee(file, out[1], 100, 0));
    SHOW("tee from a bad fd", tee(-1, out[1], 100, 0));
    SHOW("tee to a bad fd", tee(in[0], -1, 100, 0));
    SHOW("tee to the same pipe", tee(in[0], in[1], 100, 0));
    SHOW("tee of 0 bytes", tee(in[0], out[1], 0, 0));
    close(file);
    close(in[1]);
    SHOW("tee at end of file", tee(in[0], out[1], 100, 0));
    close(in[0]);
    close_pair(out);
}

static void test_vmsplice(void)
{
    char *page = aligned_alloc(PAGE, PAGE), rbuf[16] = "";
    struct iovec v = { page, PAGE }, rv = { rbuf, sizeof(rbuf) - 1 };
    struct act a;
    int p[2], s[2], file;
    size_t filled;
    pthread_t t;
    long t0;

    memset(page, 'v', PAGE);
    xpipe(p);
    filled = fill(p[1]);
    a = (struct act){ .fd = p[0], .read = filled };
    t = spawn(act, &a);
    t0 = now_ms();
    SHOW("vmsplice into a full pipe", vmsplice(p[1], &v, 1, 0));
    printf("vmsplice waited: %s\n", waited(t0));
    join(t);
    printf("reader got what was there: %s\n", yes(a.got == filled));
    SHOW("what vmsplice put", read(p[0], page, PAGE));

    a = (struct act){ .fd = p[1], .write = "abc" };
    t = spawn(act, &a);
    t0 = now_ms();
    SHOW("vmsplice out of an empty pipe", vmsplice(p[0], &rv, 1, 0));
    printf("vmsplice waited: %s, got \"%s\"\n", waited(t0), rbuf);
    join(t);

    fcntl(p[0], F_SETFL, O_NONBLOCK);
    a = (struct act){ .fd = p[1], .write = "xyz" };
    t = spawn(act, &a);
    t0 = now_ms();
    memset(rbuf, 0, sizeof(rbuf));
    SHOW("vmsplice out of an empty O_NONBLOCK pipe", vmsplice(p[0], &rv, 1, 0));
    printf("vmsplice waited: %s, got \"%s\", %s\n", waited(t0), rbuf, fd_mode(p[0]));
    join(t);
    fcntl(p[0], F_SETFL, 0);

    SHOW("vmsplice SPLICE_F_NONBLOCK, empty", vmsplice(p[0], &rv, 1, SPLICE_F_NONBLOCK));
    fill(p[1]);
    SHOW("vmsplice SPLICE_F_NONBLOCK, full", vmsplice(p[1], &v, 1, SPLICE_F_NONBLOCK));
    SHOW("vmsplice of no segments", vmsplice(p[1], &v, 0, 0));
    SHOW("vmsplice with a bad flag", vmsplice(p[1], &v, 1, 0x100));
    SHOW("vmsplice to a bad fd", vmsplice(-1, &v, 1, 0));
    file = open("/proc/self/exe", O_RDONLY);
    SHOW("vmsplice to a file", vmsplice(file, &v, 1, 0));
    close(file);
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, s) < 0)
        die("socketpair");
    SHOW("vmsplice to a socket", vmsplice(s[0], &v, 1, 0));
    close_pair(s);
    close(p[0]);
    SHOW("vmsplice without a reader", vmsplice(p[1], &v, 1, 0));
    close(p[1]);
    free(page);
}

static void test_copy_file_range(void)
{
    char dir[] = "/tmp/diff_tee.XXXXXX", path[64], buf[32] = "";
    int a, b, p[2], s[2];
    off64_t oa = 2, ob = 0;

    if (!mkdtemp(dir))
        die("mkdtemp");
    snprintf(path, sizeof(path), "%s/a", dir);
    a = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    unlink(path);
    snprintf(path, sizeof(path), "%s/b", dir);
    b = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    unlink(path);
    rmdir(dir);
    if (a < 0 || b < 0 || write(a, "0123456789", 10) != 10)
        die("files");
    SHOW("copy_file_range with offsets", copy_file_range(a, &oa, b, &ob, 5, 0));
    printf("offsets after: %lld %lld\n", (long long)oa, (long long)ob);
    SHOW("pread of the copy", pread(b, buf, sizeof(buf) - 1, 0));
    printf("copy holds \"%s\"\n", buf);
    lseek(a, 0, SEEK_SET);
    lseek(b, 0, SEEK_SET);
    SHOW("copy_file_range at the positions", copy_file_range(a, NULL, b, NULL, 100, 0));
    printf("positions after: %lld %lld\n", (long long)lseek(a, 0, SEEK_CUR),
           (long long)lseek(b, 0, SEEK_CUR));
    SHOW("copy_file_range at end of file", copy_file_range(a, NULL, b, NULL, 100, 0));
    xpipe(p);
    if (write(p[1], "pipe", 4) != 4)
        die("write");
    SHOW("copy_file_range from a pipe", copy_file_range(p[0], NULL, b, NULL, 4, 0));
    SHOW("copy_file_range into a pipe", copy_file_range(a, &oa, p[1], NULL, 4, 0));
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, s) < 0)
        die("socketpair");
    SHOW("copy_file_range into a socket", copy_file_range(a, &oa, s[0], NULL, 4, 0));
    SHOW("copy_file_range from a bad fd", copy_file_range(-1, NULL, b, NULL, 4, 0));
    SHOW("copy_file_range with a bad flag", copy_file_range(a, &oa, b, NULL, 4, 1));
    close_pair(s);
    close_pair(p);
    close(a);
    close(b);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    alarm(20);
    setvbuf(stdout, NULL, _IOLBF, 0);
    test_tee();
    test_vmsplice();
    test_copy_file_range();
    return 0;
}
