/* test_stack.c - green thread stacks (runtime/stack.c).
 *
 * Covers: rt_stack_alloc() rounds size and guard up to whole pages and gives
 * page-aligned, writable memory of that size; the guard below the usable part
 * faults on write (MADV_GUARD_INSTALL or the mprotect fallback, either will
 * do), including on a stack taken back from the cache and across a multi-page
 * guard; no guard when asked for none; live stacks do not overlap; a freed stack
 * is handed out again for the same size and guard, never for another size or
 * guard; stacks freed beyond the resident cache bound (whose pages go back to
 * the kernel) come back usable; every field of the returned descriptor is
 * set; requests beyond the address space, SIZE_MAX included, fail.
 *
 * The stack allocator works without rt_start().
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>

#include "rt_int.h"

#define KiB 1024u

static size_t page(void)
{
    return rt_page_size();
}

static char *usable(const struct rt_stack *st)
{
    return st->base + st->guard;
}

static size_t usable_len(const struct rt_stack *st)
{
    return st->size - st->guard;
}

Test(stack, page_size_matches_sysconf)
{
    cr_assert_eq(rt_page_size(), (size_t)sysconf(_SC_PAGESIZE));
}

Test(stack, size_and_guard_round_up_to_pages)
{
    struct rt_stack st;

    cr_assert_eq(rt_stack_alloc(&st, 2 * page() + 1, 1), 0);
    cr_assert_eq(st.guard, page());
    cr_assert_eq(usable_len(&st), 3 * page());
    cr_assert_eq((uintptr_t)st.base % page(), 0, "base %p not page-aligned", (void *)st.base);
}

Test(stack, exact_page_multiple_is_not_grown)
{
    struct rt_stack st;

    cr_assert_eq(rt_stack_alloc(&st, 64 * KiB, page()), 0);
    cr_assert_eq(usable_len(&st), 64 * KiB);
    cr_assert_eq(st.guard, page());
}

Test(stack, usable_part_is_writable_and_keeps_data)
{
    struct rt_stack st;
    char *p;
    size_t n;

    cr_assert_eq(rt_stack_alloc(&st, 100 * KiB, page()), 0);
    p = usable(&st);
    n = usable_len(&st);
    for (size_t i = 0; i < n; i++)
        p[i] = (char)(i * 7 + 3);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(p[i], (char)(i * 7 + 3), "byte %zu lost", i);
}

Test(stack, guard_below_usable_faults, .signal = SIGSEGV)
{
    struct rt_stack st;
    volatile char *p;

    cr_assert_eq(rt_stack_alloc(&st, 64 * KiB, page()), 0);
    usable(&st)[0] = 1;             /* the first usable byte is fine */
    p = (volatile char *)usable(&st) - 1;
    *p = 1;                         /* last byte of the guard */
}

Test(stack, lowest_page_of_multipage_guard_faults, .signal = SIGSEGV)
{
    struct rt_stack st;
    volatile char *p;

    cr_assert_eq(rt_stack_alloc(&st, 64 * KiB, 3 * page()), 0);
    cr_assert_eq(st.guard, 3 * page());
    p = (volatile char *)st.base;
    *p = 1;
}

Test(stack, guard_of_reused_stack_still_faults, .signal = SIGSEGV)
{
    struct rt_stack st, again;
    volatile char *p;

    cr_assert_eq(rt_stack_alloc(&st, 32 * KiB, page()), 0);
    rt_stack_free(&st);
    cr_assert_eq(rt_stack_alloc(&again, 32 * KiB, page()), 0);
    cr_assert_eq(again.base, st.base);
    p = (volatile char *)usable(&again) - 1;
    *p = 1;
}

/* Every field of the returned descriptor is set, whatever it held before: a
 * stale `borrowed` would keep the stack from ever being freed. */
Test(stack, fresh_stack_descriptor_fully_initialised)
{
    struct rt_stack st;

    memset(&st, 0x01, sizeof(st));  /* 0x01: a valid `true` for the bools */
    cr_assert_eq(rt_stack_alloc(&st, 64 * KiB, page()), 0);
    cr_assert_eq(st.guard, page());
    cr_assert_eq(st.size, 64 * KiB + page());
    cr_assert_not(st.borrowed, "fresh stack marked borrowed (left uninitialised)");
}

Test(stack, cached_stack_descriptor_fully_initialised)
{
    struct rt_stack st, again;

    memset(&st, 0, sizeof(st));
    cr_assert_eq(rt_stack_alloc(&st, 64 * KiB, page()), 0);
    st.borrowed = false;
    rt_stack_free(&st);
    memset(&again, 0x01, sizeof(again));
    cr_assert_eq(rt_stack_alloc(&again, 64 * KiB, page()), 0);
    cr_assert_eq(again.base, st.base);
    cr_assert_not(again.borrowed);
}

Test(stack, zero_guard_means_no_guard)
{
    struct rt_stack st;

    cr_assert_eq(rt_stack_alloc(&st, 16 * KiB, 0), 0);
    cr_assert_eq(st.guard, 0);
    cr_assert_eq(st.size, 16 * KiB);
    memset(st.base, 0x5a, st.size);  /* all of it writable */
    cr_assert_eq(st.base[0], 0x5a);
}

Test(stack, request_beyond_address_space_fails)
{
    struct rt_stack st = { 0 };

    cr_assert_neq(rt_stack_alloc(&st, (size_t)1 << 40, page()), 0);   /* > one region */
}

/* SIZE_MAX rounded up to whole pages wraps to 0: it must fail, not hand out a
 * stack with no usable bytes. */
Test(stack, size_max_request_fails_instead_of_wrapping)
{
    struct rt_stack st = { 0 };
    int rc = rt_stack_alloc(&st, SIZE_MAX, page());

    cr_assert_neq(rc, 0, "SIZE_MAX stack allocated: base %p size %zu guard %zu",
                  (void *)st.base, st.size, st.guard);
}

Test(stack, live_stacks_do_not_overlap)
{
    struct rt_stack a, b;

    cr_assert_eq(rt_stack_alloc(&a, 64 * KiB, page()), 0);
    cr_assert_eq(rt_stack_alloc(&b, 64 * KiB, page()), 0);
    cr_assert(a.base + a.size <= b.base || b.base + b.size <= a.base,
              "[%p,+%zu) overlaps [%p,+%zu)", (void *)a.base, a.size, (void *)b.base, b.size);
    memset(usable(&a), 'a', usable_len(&a));
    memset(usable(&b), 'b', usable_len(&b));
    cr_assert_eq(usable(&a)[usable_len(&a) - 1], 'a');
    cr_assert_eq(usable(&a)[0], 'a');
}

Test(stack, freed_stack_reused_for_same_size)
{
    struct rt_stack a, b;

    cr_assert_eq(rt_stack_alloc(&a, 48 * KiB, page()), 0);
    rt_stack_free(&a);
    cr_assert_eq(rt_stack_alloc(&b, 48 * KiB, page()), 0);
    cr_assert_eq(b.base, a.base);
    cr_assert_eq(b.size, a.size);
    cr_assert_eq(b.guard, a.guard);
}

Test(stack, request_rounding_to_same_size_shares_cache)
{
    struct rt_stack a, b;

    cr_assert_eq(rt_stack_alloc(&a, 40 * KiB + 1, page()), 0);
    rt_stack_free(&a);
    cr_assert_eq(rt_stack_alloc(&b, 44 * KiB, page()), 0);  /* same page count */
    cr_assert_eq(b.base, a.base);
}

Test(stack, freed_stack_not_reused_for_other_size)
{
    struct rt_stack a, b, c;

    cr_assert_eq(rt_stack_alloc(&a, 64 * KiB, page()), 0);
    rt_stack_free(&a);
    cr_assert_eq(rt_stack_alloc(&b, 128 * KiB, page()), 0);
    cr_assert_neq(b.base, a.base);
    cr_assert(b.base + b.size <= a.base || a.base + a.size <= b.base,
              "128 KiB stack overlaps the cached 64 KiB one");
    /* The 64 KiB one is still in the cache for its own size. */
    cr_assert_eq(rt_stack_alloc(&c, 64 * KiB, page()), 0);
    cr_assert_eq(c.base, a.base);
}

Test(stack, freed_stack_not_reused_for_other_guard)
{
    struct rt_stack a, b;

    cr_assert_eq(rt_stack_alloc(&a, 64 * KiB, page()), 0);
    rt_stack_free(&a);
    /* Same whole size (guard + usable), split differently. */
    cr_assert_eq(rt_stack_alloc(&b, 64 * KiB - page(), 2 * page()), 0);
    cr_assert_eq(b.size, a.size);
    cr_assert_neq(b.base, a.base);
}

Test(stack, every_freed_stack_comes_back)
{
    enum { N = 8 };
    struct rt_stack st[N], again;
    int seen = 0;

    for (int i = 0; i < N; i++)
        cr_assert_eq(rt_stack_alloc(&st[i], 24 * KiB, page()), 0);
    for (int i = 0; i < N; i++)
        rt_stack_free(&st[i]);
    for (int k = 0; k < N; k++) {
        cr_assert_eq(rt_stack_alloc(&again, 24 * KiB, page()), 0);
        for (int i = 0; i < N; i++)
            if (st[i].base == again.base)
                seen |= 1 << i;
    }
    cr_assert_eq(seen, (1 << N) - 1, "reused set %#x", seen);
}

/* Past the resident bound (256 per size), freed stacks lose their pages: they
 * must still come back, usable, with their guard. */
Test(stack, stacks_beyond_resident_bound_come_back_usable)
{
    enum { N = 300 };
    static struct rt_stack st[N];
    struct rt_stack again;
    size_t n;

    for (int i = 0; i < N; i++) {
        cr_assert_eq(rt_stack_alloc(&st[i], 20 * KiB, page()), 0);
        memset(usable(&st[i]), 0x11, usable_len(&st[i]));
    }
    for (int i = 0; i < N; i++)
        rt_stack_free(&st[i]);
    for (int k = 0; k < N; k++) {
        bool known = false;

        cr_assert_eq(rt_stack_alloc(&again, 20 * KiB, page()), 0);
        for (int i = 0; i < N && !known; i++)
            known = st[i].base == again.base;
        cr_assert(known, "allocation %d carved fresh space with %d cached", k, N);
        n = usable_len(&again);
        memset(usable(&again), 0x22, n);
        cr_assert_eq(usable(&again)[0], 0x22);
        cr_assert_eq(usable(&again)[n - 1], 0x22);
    }
}
