/* seed_http.c - the seed's WSGI servers: a page, a chunked stream and long
 * polling, from one thread-per-connection HTTP/1.1 server.
 *
 * gevent's versions are three pywsgi applications:
 *   - "/"       the WSGIServer page "<p>Hello World</p>", which the seed
 *               benchmarks with `ab -n 10000 -c 100`: one greenlet per
 *               connection, all on one OS thread;
 *   - "/stream" the pywsgi generator that yields "<p>Hello" and "World</p>":
 *               no length in the headers, Transfer-Encoding: chunked, each
 *               chunk sent as it is produced;
 *   - "/poll"   long polling: a producer greenlet puts "Hello World" on a
 *               queue every second, and each request waits on the queue with
 *               a 5 s timeout (gevent.queue.Empty on timeout).
 *
 * The C port is one ordinary server: an accept loop and one detached pthread
 * per connection reading requests with blocking recv and answering them
 * with blocking send, keeping the connection open as HTTP/1.1 says (and
 * HTTP/1.0 with "Connection: keep-alive", as `ab -k` asks). "/stream" sends
 * its two chunks with a 0.3 s pause before the second and before the end,
 * so a client sees the first before the rest exists. "/poll" waits on a
 * mutex+condvar queue with pthread_cond_timedwait: a producer thread puts
 * "Hello World N" every 0.1 s and a request waits at most 0.5 s (the seed's
 * 1 s and 5 s, shortened), answering the JSON string, or [] on timeout. Each
 * item goes to exactly one request. Under greenrun every connection's thread,
 * the producer and the waits are green: one OS thread serves them all.
 *
 * Usage: seed_http [PORT] (0 or absent: an ephemeral port); it listens on
 * 127.0.0.1, prints "listening on PORT" and serves until killed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "seed.h"

#define PRODUCE_EVERY_US (100 * 1000)
#define POLL_TIMEOUT_NS (500 * 1000 * 1000L)
#define STREAM_PAUSE_US (300 * 1000)

/* ---- the long-polling queue: unbounded, FIFO, any number of waiters ---- */

struct item {
    struct item *next;
    char text[32];
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t nonempty;
    struct item *head, **tail;
} data_source = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL,
                  &data_source.head };

static void *producer(void *arg)
{
    (void)arg;
    for (unsigned n = 1;; n++) {
        struct item *it = calloc(1, sizeof(*it));

        if (it) {
            snprintf(it->text, sizeof(it->text), "Hello World %u", n);
            pthread_mutex_lock(&data_source.lock);
            *data_source.tail = it;
            data_source.tail = &it->next;
            pthread_cond_signal(&data_source.nonempty);
            pthread_mutex_unlock(&data_source.lock);
        }
        usleep(PRODUCE_EVERY_US);
    }
    return NULL;
}

/* Takes the oldest item, waiting up to POLL_TIMEOUT_NS; NULL on timeout. */
static struct item *data_source_get(void)
{
    struct timespec deadline;
    struct item *it;
    int rc = 0;

    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_nsec += POLL_TIMEOUT_NS;
    deadline.tv_sec += deadline.tv_nsec / 1000000000L;
    deadline.tv_nsec %= 1000000000L;
    pthread_mutex_lock(&data_source.lock);
    while (!data_source.head && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&data_source.nonempty, &data_source.lock, &deadline);
    it = data_source.head;
    if (it) {
        data_source.head = it->next;
        if (!data_source.head)
            data_source.tail = &data_source.head;
    }
    pthread_mutex_unlock(&data_source.lock);
    return it;
}

/* ---- HTTP ---- */

static int respond(int fd, const char *status, const char *type, const char *body,
                   int keep_alive)
{
    char msg[1024];
    int n = snprintf(msg, sizeof(msg),
                     "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: %s\r\n\r\n%s",
                     status, type, strlen(body), keep_alive ? "keep-alive" : "close", body);

    return send_all(fd, msg, (size_t)n);
}

static int chunk(int fd, const char *data)
{
    char msg[256];
    int n = snprintf(msg, sizeof(msg), "%zx\r\n%s\r\n", strlen(data), data);

    return send_all(fd, msg, (size_t)n);
}

/* The pywsgi generator: each yield is a chunk, sent when it is produced. */
static int stream(int fd, int keep_alive)
{
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                     "Transfer-Encoding: chunked\r\nConnection: %s\r\n\r\n",
                     keep_alive ? "keep-alive" : "close");

    if (send_all(fd, head, (size_t)n) != 0 || chunk(fd, "<p>Hello") != 0)
        return -1;
    usleep(STREAM_PAUSE_US);
    if (chunk(fd, "World</p>") != 0)
        return -1;
    usleep(STREAM_PAUSE_US);
    return send_all(fd, "0\r\n\r\n", 5);
}

static int long_poll(int fd, int keep_alive)
{
    struct item *it = data_source_get();
    char body[64];

    if (it)
        snprintf(body, sizeof(body), "\"%s\"\n", it->text);
    else
        snprintf(body, sizeof(body), "[]\n");
    free(it);
    return respond(fd, "200 OK", "application/json", body, keep_alive);
}

/* Reads one request head into buf (which may already hold *have bytes).
 * Returns its length including the blank line, 0 at EOF, -1 on error. */
static ssize_t read_head(int fd, char *buf, size_t size, size_t *have)
{
    for (;;) {
        char *end;
        ssize_t n;

        buf[*have] = '\0';
        end = strstr(buf, "\r\n\r\n");
        if (end)
            return end + 4 - buf;
        if (*have + 1 >= size)
            return -1;
        n = recv(fd, buf + *have, size - 1 - *have, 0);
        if (n <= 0)
            return n;
        *have += (size_t)n;
    }
}

/* Does the head carry header NAME with a value containing WORD? */
static int header_has(const char *head, const char *name, const char *word)
{
    size_t len = strlen(name);

    for (const char *line = strstr(head, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
        if (strncasecmp(line + 2, name, len) == 0 && line[2 + len] == ':') {
            const char *eol = strstr(line + 2, "\r\n");
            const char *hit = strcasestr(line + 2 + len, word);

            return hit && hit < eol;
        }
    }
    return 0;
}

static void *connection(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[8192];
    size_t have = 0;

    for (;;) {
        char method[8], path[256], version[16];
        ssize_t head = read_head(fd, buf, sizeof(buf), &have);
        int keep_alive, rc;

        if (head <= 0 || sscanf(buf, "%7s %255s %15s", method, path, version) != 3)
            break;
        path[strcspn(path, "?")] = '\0';
        keep_alive = strcmp(version, "HTTP/1.1") == 0 ? !header_has(buf, "Connection", "close")
                                                      : header_has(buf, "Connection", "keep-alive");
        if (strcmp(method, "GET") != 0)
            rc = respond(fd, "405 Method Not Allowed", "text/plain", "GET only\n", keep_alive);
        else if (strcmp(path, "/") == 0)
            rc = respond(fd, "200 OK", "text/html", "<p>Hello World</p>", keep_alive);
        else if (strcmp(path, "/stream") == 0)
            rc = stream(fd, keep_alive);
        else if (strcmp(path, "/poll") == 0)
            rc = long_poll(fd, keep_alive);
        else
            rc = respond(fd, "404 Not Found", "text/plain", "not found\n", keep_alive);
        if (rc != 0 || !keep_alive)
            break;
        /* GET has no body: whatever follows the head is the next request. */
        have -= (size_t)head;
        memmove(buf, buf + head, have);
    }
    close(fd);
    return NULL;
}

int main(int argc, char **argv)
{
    int lfd = listen_from_args(argc, argv), err;

    if ((err = spawn_detached(producer, NULL)) != 0)
        die_err("pthread_create", err);
    serve_forever(lfd, connection);
}
