/* key.c - thread-specific data per green thread.
 *
 * Key numbers come from glibc (pthread_key_create is passed through), so keys
 * made before the runtime started and keys made after never collide. The
 * values live in each green thread's own slots, in blocks of KEY_BLOCK
 * allocated on first use (and the table of blocks with the first); a slot remembers the generation of the key it was
 * set under, so a deleted and re-created key reads NULL, as in glibc.
 */
#include <errno.h>
#include <stdlib.h>

#include "thread_int.h"

static struct {
    unsigned seq;                   /* odd while the key exists */
    void (*destructor)(void *);
} keys[PTHREAD_KEYS_MAX];

SHIM_EXPORT int pthread_key_create(pthread_key_t *key, void (*destructor)(void *))
{
    int err = REAL(pthread_key_create)(key, destructor);

    if (err == 0 && *key < PTHREAD_KEYS_MAX) {
        keys[*key].seq |= 1;
        keys[*key].destructor = destructor;
    }
    return err;
}

SHIM_EXPORT int pthread_key_delete(pthread_key_t key)
{
    int err = REAL(pthread_key_delete)(key);

    if (err == 0 && key < PTHREAD_KEYS_MAX && (keys[key].seq & 1))
        keys[key].seq++;
    return err;
}

static struct key_slot *slot(gt_t *g, pthread_key_t key, bool create)
{
    struct shim_thread *t = shim_thread(g);
    struct key_slot **block;

    if (!t->keys && (!create || !(t->keys = calloc(KEY_BLOCKS, sizeof(*t->keys)))))
        return NULL;
    block = &t->keys[key / KEY_BLOCK];
    if (!*block && (!create || !(*block = calloc(KEY_BLOCK, sizeof(**block)))))
        return NULL;
    return &(*block)[key % KEY_BLOCK];
}

SHIM_EXPORT void *pthread_getspecific(pthread_key_t key)
{
    struct key_slot *s;

    if (!rt_green())
        return REAL(pthread_getspecific)(key);
    if (key >= PTHREAD_KEYS_MAX || !(s = slot(gt_self(), key, false)))
        return NULL;
    return s->seq == keys[key].seq ? s->value : NULL;
}

SHIM_EXPORT int pthread_setspecific(pthread_key_t key, const void *value)
{
    struct key_slot *s;

    if (!rt_green())
        return REAL(pthread_setspecific)(key, value);
    if (key >= PTHREAD_KEYS_MAX || !(keys[key].seq & 1))
        return EINVAL;
    if (!(s = slot(gt_self(), key, true)))
        return ENOMEM;
    s->value = (void *)value;
    s->seq = keys[key].seq;
    return 0;
}

/* One round over the thread's keys; true if a destructor ran. */
static bool destructor_round(struct shim_thread *t)
{
    bool ran = false;
    struct key_slot *s;
    void *value;

    for (unsigned k = 0; k < PTHREAD_KEYS_MAX; k++) {
        if (!t->keys[k / KEY_BLOCK]) {
            k += KEY_BLOCK - 1;
            continue;
        }
        s = &t->keys[k / KEY_BLOCK][k % KEY_BLOCK];
        if (!s->value || s->seq != keys[k].seq || !keys[k].destructor)
            continue;
        value = s->value;
        s->value = NULL;
        keys[k].destructor(value);
        ran = true;
    }
    return ran;
}

/* As glibc: up to PTHREAD_DESTRUCTOR_ITERATIONS rounds while destructors set
 * new values, then the slots go. Most threads never set a value: they leave
 * at the first look, as glibc's do (its specific_used flag). */
void shim_key_run_destructors(void)
{
    struct shim_thread *t = shim_self();
    int round = 0;

    if (!t->keys)
        return;
    while (round++ < PTHREAD_DESTRUCTOR_ITERATIONS && destructor_round(t))
        ;
    for (int b = 0; b < KEY_BLOCKS; b++)
        free(t->keys[b]);
    free(t->keys);
    t->keys = NULL;
}
