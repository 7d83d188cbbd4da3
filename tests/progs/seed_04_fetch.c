/* seed_04_fetch.c - the seed's "fetching in parallel": nine HTTP requests,
 * one after the other and then from nine threads at once.
 *
 * gevent's version (with monkey.patch_socket()) fetches a JSON document
 * from a public web service with urllib2 and prints "Process N: <datetime>"
 * from it; synchronous() fetches 1..9 in a loop, asynchronous() spawns nine
 * greenlets. The synchronous lines come in order and take nine round trips;
 * the asynchronous ones come in any order and take about one.
 *
 * Here the web service is a small HTTP/1.0 server in the program itself, on
 * 127.0.0.1 and a port the kernel picks: an accept thread and a thread per
 * connection, which takes DELAY_MS (0.2 s) to answer each request with
 * {"datetime": "..."}. fetch() is plain socket, connect, write and read. The
 * program prints the seed's lines, "time: sync SECONDS" and "time: async
 * SECONDS" (about 9 x 0.2 s and about 0.2 s), and "os-threads: N", the most
 * OS threads (Threads: of /proc/self/status) a request handler saw. Under
 * greenrun the threads of both sides share one OS thread and the parallel
 * fetches still overlap: connect, read, write, accept and the delay park the
 * calling thread only.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "seed.h"

#define NFETCH 9
#define DELAY_MS 200

static struct sockaddr_in server_addr;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int max_os_threads;

/* Reads until EOF or, with `head_only`, the end of the HTTP head. */
static size_t read_all(int fd, char *buf, size_t size, int head_only)
{
    size_t len = 0;
    ssize_t n;

    while (len < size - 1 && (n = read(fd, buf + len, size - 1 - len)) > 0) {
        len += n;
        buf[len] = '\0';
        if (head_only && strstr(buf, "\r\n\r\n"))
            break;
    }
    buf[len] = '\0';
    return len;
}

static void write_all(int fd, const char *buf, size_t len)
{
    ssize_t n;

    for (; len > 0; buf += n, len -= n)
        if ((n = write(fd, buf, len)) < 0)
            die("write");
}

/* ---- the web service ---- */

static void *handle(void *arg)
{
    int fd = (int)(long)arg, n;
    char req[1024], body[64], resp[256], stamp[32];
    time_t t = time(NULL);
    struct tm tm;

    read_all(fd, req, sizeof req, 1);
    n = os_threads();
    pthread_mutex_lock(&lock);
    if (n > max_os_threads)
        max_os_threads = n;
    pthread_mutex_unlock(&lock);
    usleep(DELAY_MS * 1000);            /* the remote server's load */
    strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", gmtime_r(&t, &tm));
    snprintf(body, sizeof body, "{\"datetime\": \"%s\"}", stamp);
    n = snprintf(resp, sizeof resp,
                 "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n"
                 "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
    write_all(fd, resp, n);
    close(fd);
    return NULL;
}

static void *serve(void *arg)
{
    serve_forever((int)(long)arg, handle);
}

static void start_server(void)
{
    spawn(serve, (void *)(long)listen_loopback(0, &server_addr));
}

/* ---- the client ---- */

static void fetch(int pid)
{
    static const char req[] = "GET /time.json HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    char resp[1024], *datetime;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0)
        die("socket");
    if (connect(fd, (struct sockaddr *)&server_addr, sizeof server_addr) < 0)
        die("connect");
    write_all(fd, req, sizeof req - 1);
    read_all(fd, resp, sizeof resp, 0);
    close(fd);
    datetime = strstr(resp, "\"datetime\": \"");
    if (!datetime)
        printf("Process %d: no datetime in the response\n", pid);
    else
        printf("Process %d: %.19s\n", pid, datetime + 13);
}

static void *fetch_thread(void *arg)
{
    fetch((int)(long)arg);
    return NULL;
}

int main(void)
{
    pthread_t t[NFETCH + 1];
    double start;
    int i;

    alarm(20);
    start_server();

    printf("Synchronous:\n");
    start = now_s();
    for (i = 1; i <= NFETCH; i++)
        fetch(i);
    printf("time: sync %.3f\n", now_s() - start);

    printf("Asynchronous:\n");
    max_os_threads = 0;
    start = now_s();
    for (i = 1; i <= NFETCH; i++)
        t[i] = spawn(fetch_thread, (void *)(long)i);
    for (i = 1; i <= NFETCH; i++)
        pthread_join(t[i], NULL);
    printf("time: async %.3f\n", now_s() - start);
    printf("os-threads: %d\n", max_os_threads);
    return 0;
}
