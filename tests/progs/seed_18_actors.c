/* seed_18_actors.c - the seed's actors: two threads with mailboxes playing
 * ping-pong.
 *
 * gevent's version: an Actor is a Greenlet with an inbox (a Queue) whose run
 * loop gets each message and hands it to receive(). Pinger's receive prints
 * the message and puts 'ping' in pong's inbox; Ponger's prints it and puts
 * 'pong' in ping's; both then sleep 0. ping.inbox.put('start') starts the
 * game: start, ping, pong, ping, pong... forever.
 *
 * Here an actor is a struct with a mailbox (a linked queue under a mutex and
 * a condition variable), a pthread running the loop, and a receive function
 * pointer; sleep 0 is sched_yield(). The game stops after ROUNDS messages:
 * the actor that prints the last one sends "stop" instead, which ends the
 * other's loop, and leaves its own. The program prints the messages and
 * "both actors stopped". The output is the same natively and under
 * greenrun: each message causes the next.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROUNDS 10

struct message {
    struct message *next;
    const char *text;
};

struct actor {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct message *head, **tail;       /* the inbox */
    int running;
    void (*receive)(struct actor *self, const char *message);
};

static struct actor ping, pong;
static int printed;                     /* messages printed, both actors */

static void inbox_put(struct actor *a, const char *text)
{
    struct message *m = malloc(sizeof *m);

    if (!m)
        abort();
    m->next = NULL;
    m->text = text;
    pthread_mutex_lock(&a->lock);
    *a->tail = m;
    a->tail = &m->next;
    pthread_cond_signal(&a->cond);
    pthread_mutex_unlock(&a->lock);
}

static const char *inbox_get(struct actor *a)
{
    struct message *m;
    const char *text;

    pthread_mutex_lock(&a->lock);
    while (!a->head)
        pthread_cond_wait(&a->cond, &a->lock);
    m = a->head;
    a->head = m->next;
    if (!a->head)
        a->tail = &a->head;
    pthread_mutex_unlock(&a->lock);
    text = m->text;
    free(m);
    return text;
}

static void *actor_run(void *arg)
{
    struct actor *self = arg;

    self->running = 1;
    while (self->running)
        self->receive(self, inbox_get(self));
    return NULL;
}

static void actor_init(struct actor *a, void (*receive)(struct actor *, const char *))
{
    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->cond, NULL);
    a->head = NULL;
    a->tail = &a->head;
    a->receive = receive;
}

static void actor_start(struct actor *a)
{
    int err = pthread_create(&a->thread, NULL, actor_run, a);

    if (err) {
        fprintf(stderr, "pthread_create: %s\n", strerror(err));
        exit(1);
    }
}

/* Prints the message and answers `reply` to `to`; after ROUNDS messages,
 * ends the game instead. Only one message is in flight at a time, so
 * `printed` needs no lock. */
static void play(struct actor *self, const char *message, struct actor *to, const char *reply)
{
    if (!strcmp(message, "stop")) {
        self->running = 0;
        return;
    }
    printf("%s\n", message);
    if (++printed == ROUNDS) {
        inbox_put(to, "stop");
        self->running = 0;
    } else {
        inbox_put(to, reply);
    }
    sched_yield();
}

static void pinger_receive(struct actor *self, const char *message)
{
    play(self, message, &pong, "ping");
}

static void ponger_receive(struct actor *self, const char *message)
{
    play(self, message, &ping, "pong");
}

int main(void)
{
    actor_init(&ping, pinger_receive);
    actor_init(&pong, ponger_receive);
    actor_start(&ping);
    actor_start(&pong);
    inbox_put(&ping, "start");
    pthread_join(ping.thread, NULL);    /* gevent.joinall([ping, pong]) */
    pthread_join(pong.thread, NULL);
    printf("both actors stopped\n");
    return 0;
}
