/* diff_bigxfer.c - 1 GiB between two threads, over a socketpair (send/recv)
 * and over a pipe (write/read), byte for byte.
 *
 * The writer sends a fixed pseudo-random stream in chunks of pseudo-random
 * sizes (up to 512 KiB); the reader reads into a 128 KiB buffer, compares
 * every byte with the stream and sums it. Both print the byte count and a
 * checksum; the reader also says whether any byte differed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"

#define TOTAL ((size_t)1 << 30)
#define PERIOD ((size_t)1048573)       /* the stream repeats with this (prime) period */
#define MAXCHUNK ((size_t)1 << 19)

static unsigned char pattern[PERIOD + MAXCHUNK];

struct end {
    int fd, sock;
    uint64_t sum;
    size_t bytes;
    int bad;
};

/* The stream from position pos on, for MAXCHUNK bytes (the pattern's end
 * repeats its start). */
static const unsigned char *at(size_t pos)
{
    return pattern + pos % PERIOD;
}

#define SUMMED ((size_t)16 << 20)      /* the checksum covers the stream's start */

/* FNV-1a over what of p[0..n), at stream position pos, lies in the start. */
static uint64_t sum(uint64_t s, size_t pos, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n && pos + i < SUMMED; i++)
        s = (s ^ p[i]) * 0x100000001b3ULL;
    return s;
}

static uint64_t rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void *writer(void *arg)
{
    struct end *e = arg;
    uint64_t seed = 42;
    ssize_t r;

    while (e->bytes < TOTAL) {
        size_t n = 1 + rng(&seed) % MAXCHUNK;
        const unsigned char *p = at(e->bytes);

        if (n > TOTAL - e->bytes)
            n = TOTAL - e->bytes;
        r = e->sock ? send(e->fd, p, n, 0) : write(e->fd, p, n);
        if (r != (ssize_t)n)
            die("write");
        e->sum = sum(e->sum, e->bytes, p, n);
        e->bytes += n;
    }
    close(e->fd);
    return NULL;
}

static void *reader(void *arg)
{
    struct end *e = arg;
    static unsigned char buf[1 << 17];
    ssize_t r;

    while ((r = e->sock ? recv(e->fd, buf, sizeof(buf), 0) : read(e->fd, buf, sizeof(buf))) > 0) {
        if (e->bytes + (size_t)r > TOTAL || memcmp(buf, at(e->bytes), (size_t)r))
            e->bad = 1;
        e->sum = sum(e->sum, e->bytes, buf, (size_t)r);
        e->bytes += (size_t)r;
    }
    if (r < 0)
        die("read");
    return NULL;
}

static void transfer(const char *what, int rfd, int wfd, int sock)
{
    struct end w = { wfd, sock, 0xcbf29ce484222325ULL, 0, 0 };
    struct end r = { rfd, sock, 0xcbf29ce484222325ULL, 0, 0 };
    pthread_t tw, tr;

    tr = spawn(reader, &r);
    tw = spawn(writer, &w);
    join(tw);
    join(tr);
    printf("%s: written %zu, checksum of the first 16 MiB %016llx\n", what, w.bytes,
           (unsigned long long)w.sum);
    printf("%s: read %zu, checksum of the first 16 MiB %016llx, every byte %s\n", what, r.bytes,
           (unsigned long long)r.sum, r.bad ? "NOT as written" : "as written");
    close(rfd);
}

int main(void)
{
    uint64_t seed = 7;
    int sv[2], p[2];

    alarm(20);
    for (size_t i = 0; i + 8 <= PERIOD; i += 8) {
        uint64_t x = rng(&seed);

        memcpy(pattern + i, &x, 8);
    }
    memcpy(pattern + PERIOD, pattern, MAXCHUNK);
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 || pipe(p) < 0)
        die("socketpair");
    transfer("socketpair", sv[1], sv[0], 1);
    transfer("pipe", p[0], p[1], 0);
    return 0;
}
