/* seed_07_state.c - the seed's greenlet state: a winner and a loser.
 *
 * gevent's version spawns win(), which returns 'You win!', and fail(), which
 * raises Exception('You fail at failing.'); joinall does not raise (the
 * exception stays in its greenlet, which prints a traceback), and then both
 * are started and ready, the winner's value is 'You win!' and the loser's
 * None, the winner is successful and the loser not, and the loser's
 * exception is 'You fail at failing.'.
 *
 * Here a thread's outcome is what pthread_join gives back: win() returns an
 * outcome holding its value; fail() "raises": it prints the exception on
 * stderr and leaves with pthread_exit() and an outcome holding the
 * exception, which goes no further than its own thread. started is
 * pthread_create's success, ready a successful pthread_join, value and
 * exception the joined outcome's, successful having no exception. The output
 * is the same natively and under greenrun.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>

struct outcome {
    const char *value;          /* NULL: None */
    const char *exception;      /* NULL: none raised */
};

static _Noreturn void raise_exception(struct outcome *o, const char *message)
{
    fprintf(stderr, "Traceback (most recent call last):\nException: %s\n", message);
    o->value = NULL;
    o->exception = message;
    pthread_exit(o);
}

static void *win(void *arg)
{
    struct outcome *o = arg;

    o->value = "You win!";
    return o;
}

static void *fail(void *arg)
{
    raise_exception(arg, "You fail at failing.");
}

static const char *py(int b)
{
    return b ? "True" : "False";
}

int main(void)
{
    struct outcome win_out = { 0 }, fail_out = { 0 }, *winner_out = NULL, *loser_out = NULL;
    pthread_t winner, loser;
    int winner_started, loser_started, winner_ready, loser_ready;

    winner_started = pthread_create(&winner, NULL, win, &win_out) == 0;
    loser_started = pthread_create(&loser, NULL, fail, &fail_out) == 0;
    printf("winner started: %s\n", py(winner_started));
    printf("loser started: %s\n", py(loser_started));

    /* joinall: the loser's exception does not come out here. */
    winner_ready = winner_started && pthread_join(winner, (void **)&winner_out) == 0;
    loser_ready = loser_started && pthread_join(loser, (void **)&loser_out) == 0;
    if (!winner_ready || !loser_ready)
        return 1;

    printf("winner value: %s\n", winner_out->value ? winner_out->value : "None");
    printf("loser value: %s\n", loser_out->value ? loser_out->value : "None");
    printf("winner ready: %s\n", py(winner_ready));
    printf("loser ready: %s\n", py(loser_ready));
    printf("winner successful: %s\n", py(!winner_out->exception));
    printf("loser successful: %s\n", py(!loser_out->exception));
    printf("loser exception: %s\n", loser_out->exception);
    return 0;
}
