/* seed_zmq.c - the seed's ZeroMQ example: a REQ/REP pair in two threads.
 *
 * gevent's version spawns two greenlets sharing one zmq.Context: a "server"
 * with a REQ socket bound to tcp://127.0.0.1:5000 sends "Hello" nine times and
 * waits for each answer, a "client" with a REP socket receives and answers
 * "World". send and recv are blocking calls; gevent_zeromq makes them switch
 * greenlets instead, so the two print "Switched to Server for N" and "Switched
 * to Client for N" alternately on one OS thread.
 *
 * The C port is the same program on libzmq and two pthreads. It binds to an
 * ephemeral port (tcp://127.0.0.1:*) rather than 5000. libzmq itself runs an
 * I/O thread and a reaper thread (pthread_create), each in an epoll loop,
 * and wakes them through eventfds; zmq_send/zmq_recv block on those eventfds
 * with poll. Under greenrun all of that runs as green threads on one OS
 * thread. Each round trip is followed by a 100 ms pause so that an observer
 * sampling /proc can watch the context while it is busy; the program itself
 * reports, at round 5, how many OS threads the process has (from
 * /proc/self/status), a number the test compares natively and under
 * greenrun. The nine round trips and their order (strictly alternating, as
 * REQ/REP demands) are the deterministic output.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "seed.h"

#define ROUNDS 9

static void *context;
static char endpoint[256];
static pthread_mutex_t bound_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t bound_cond = PTHREAD_COND_INITIALIZER;
static int bound;

/* common.h's die, with libzmq's messages for its own error numbers. */
static void die_zmq(const char *what)
{
    fprintf(stderr, "seed_zmq: %s: %s\n", what, zmq_strerror(zmq_errno()));
    exit(1);
}

static void recv_text(void *sock, char *buf, size_t size)
{
    int n = zmq_recv(sock, buf, size - 1, 0);

    if (n < 0)
        die_zmq("zmq_recv");
    buf[(size_t)n < size - 1 ? (size_t)n : size - 1] = '\0';
}

/* The seed's "server": the REQ side, bound first. */
static void *server(void *arg)
{
    void *sock = zmq_socket(context, ZMQ_REQ);
    size_t len = sizeof(endpoint);
    char reply[16];

    (void)arg;
    if (!sock || zmq_bind(sock, "tcp://127.0.0.1:*") != 0)
        die_zmq("server bind");
    if (zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, endpoint, &len) != 0)
        die_zmq("ZMQ_LAST_ENDPOINT");
    pthread_mutex_lock(&bound_lock);
    bound = 1;
    pthread_cond_signal(&bound_cond);
    pthread_mutex_unlock(&bound_lock);

    for (int request = 1; request <= ROUNDS; request++) {
        if (zmq_send(sock, "Hello", 5, 0) != 5)
            die_zmq("server send");
        printf("Switched to Server for %d\n", request);
        fflush(stdout);
        recv_text(sock, reply, sizeof(reply));
        if (strcmp(reply, "World") != 0) {
            fprintf(stderr, "seed_zmq: server got \"%s\"\n", reply);
            exit(1);
        }
        if (request == 5)
            printf("OS threads while the context runs: %s\n",
                   os_threads() == 1 ? "1" : "more than 1");
        usleep(100 * 1000);
    }
    zmq_close(sock);
    return NULL;
}

/* The seed's "client": the REP side, connecting once the server is bound. */
static void *client(void *arg)
{
    void *sock = zmq_socket(context, ZMQ_REP);
    char request_text[16];

    (void)arg;
    pthread_mutex_lock(&bound_lock);
    while (!bound)
        pthread_cond_wait(&bound_cond, &bound_lock);
    pthread_mutex_unlock(&bound_lock);
    if (!sock || zmq_connect(sock, endpoint) != 0)
        die_zmq("client connect");

    for (int request = 1; request <= ROUNDS; request++) {
        recv_text(sock, request_text, sizeof(request_text));
        if (strcmp(request_text, "Hello") != 0) {
            fprintf(stderr, "seed_zmq: client got \"%s\"\n", request_text);
            exit(1);
        }
        printf("Switched to Client for %d\n", request);
        fflush(stdout);
        if (zmq_send(sock, "World", 5, 0) != 5)
            die_zmq("client send");
    }
    zmq_close(sock);
    return NULL;
}

int main(void)
{
    pthread_t publisher, subscriber;

    alarm(20);
    context = zmq_ctx_new();
    if (!context)
        die_zmq("zmq_ctx_new");
    if (pthread_create(&publisher, NULL, server, NULL) != 0 ||
        pthread_create(&subscriber, NULL, client, NULL) != 0) {
        fprintf(stderr, "seed_zmq: pthread_create failed\n");
        return 1;
    }
    pthread_join(publisher, NULL);
    pthread_join(subscriber, NULL);
    if (zmq_ctx_term(context) != 0)
        die_zmq("zmq_ctx_term");
    printf("%d round trips done\n", ROUNDS);
    return 0;
}
