/* stack.c - green thread stacks.
 *
 * Stacks are carved, bump-pointer style, from large regions reserved with
 * MAP_NORESERVE: address space is cheap, pages are committed only when touched.
 * Each stack starts with a guard. MADV_GUARD_INSTALL (Linux 6.13+) puts guards
 * inside the region without splitting it, so a million stacks stay one VMA;
 * where the kernel refuses it, mprotect(PROT_NONE) does the same job at the
 * cost of one VMA per stack (vm.max_map_count then caps the thread count).
 *
 * Freed stacks are kept for reuse by exact size, still faulted in, because a
 * first-touch page fault costs far more than a switch. Beyond a bound per size,
 * their pages go back to the kernel (MADV_DONTNEED) but the addresses stay
 * cached, on a list of their own: a new thread gets a stack still faulted in
 * whenever there is one, and a cold one only after those (after a burst of
 * exits, the last stacks freed are the cold ones). Only the managed OS thread
 * allocates stacks: no locking.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rt_int.h"

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

#define REGION_SIZE ((size_t)1 << 38)   /* 256 GiB of address space per region */
#define CACHE_RESIDENT 256              /* cached stacks per size kept faulted in */

struct stack_bucket {
    size_t size, guard;
    /* Cached stacks; the list nodes live in the stacks. */
    struct rt_stack *warm;      /* still faulted in */
    struct rt_stack *cold;      /* pages given back to the kernel */
    unsigned warm_count;        /* length of the warm list */
    struct stack_bucket *next;
};

static char *region_next, *region_end;
static struct stack_bucket *buckets;
static bool guard_by_mprotect;

size_t rt_page_size(void)
{
    static size_t page;

    if (!page)
        page = (size_t)sysconf(_SC_PAGESIZE);
    return page;
}

static struct stack_bucket *bucket_for(size_t size, size_t guard)
{
    struct stack_bucket *b;

    for (b = buckets; b; b = b->next)
        if (b->size == size && b->guard == guard)
            return b;
    b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->size = size;
    b->guard = guard;
    b->next = buckets;
    buckets = b;
    return b;
}

static int guard_install(char *addr, size_t len)
{
    if (!guard_by_mprotect) {
        if (madvise(addr, len, MADV_GUARD_INSTALL) == 0)
            return 0;
        if (errno != EINVAL)
            return errno;
        guard_by_mprotect = true;   /* older kernel: fall back for good */
    }
    return mprotect(addr, len, PROT_NONE) == 0 ? 0 : errno;
}

/* Take `size` bytes of fresh address space, reserving a new region if needed. */
static char *region_carve(size_t size)
{
    char *p;

    if (size > REGION_SIZE)
        return NULL;
    if (!region_next || (size_t)(region_end - region_next) < size) {
        p = mmap(NULL, REGION_SIZE, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED)
            return NULL;
        region_next = p;
        region_end = p + REGION_SIZE;
    }
    p = region_next;
    region_next += size;
    return p;
}

/* A stack of at least `size` usable bytes below a guard of `guard` bytes. */
int rt_stack_alloc(struct rt_stack *st, size_t size, size_t guard)
{
    size_t page = rt_page_size();
    struct stack_bucket *b;
    struct rt_stack *cached;
    char *base;
    int err;

    if (size > REGION_SIZE || guard > REGION_SIZE)
        return EAGAIN;              /* what pthread_create says when out of room */
    size = (size + page - 1) & ~(page - 1);
    guard = (guard + page - 1) & ~(page - 1);
    b = bucket_for(size + guard, guard);
    if (!b)
        return ENOMEM;
    if ((cached = b->warm)) {
        b->warm = cached->next;
        b->warm_count--;
    } else if ((cached = b->cold)) {
        b->cold = cached->next;
    }
    if (cached) {
        *st = *cached;
        return 0;
    }
    base = region_carve(size + guard);
    if (!base)
        return EAGAIN;
    err = guard ? guard_install(base, guard) : 0;
    if (err)
        return EAGAIN;
    st->base = base;
    st->size = size + guard;
    st->guard = guard;
    st->next = NULL;
    st->borrowed = false;
    return 0;
}

/* Return a stack to the cache. Its top page holds the cache node, so a stack
 * whose pages go back to the kernel costs one page when it is next used. */
void rt_stack_free(struct rt_stack *st)
{
    struct stack_bucket *b = bucket_for(st->size, st->guard);
    struct rt_stack *node, **list;
    size_t page = rt_page_size();
    char *usable = st->base + st->guard;

    if (!b)
        return;                     /* leak the addresses rather than fail */
    if (b->warm_count < CACHE_RESIDENT) {
        list = &b->warm;
        b->warm_count++;
    } else {
        madvise(usable, st->size - st->guard - page, MADV_DONTNEED);
        list = &b->cold;
    }
    node = (struct rt_stack *)(st->base + st->size - sizeof(*node));
    *node = *st;
    node->next = *list;
    *list = node;
}
