/* test_drain.c - drained TCP reads (runtime/fdw.c: fdw_read_short,
 * fdw_read_drained).
 *
 * Covers, on a loopback TCP connection whose reading end has `drains` set:
 * a short read marks the fd drained only once the instance watches it for
 * reading; the mark lasts while nothing is reported and goes with the next
 * report; news reported before the short read is dropped with it (the read
 * took that data), so the next wait waits; the peer's end of file or urgent
 * data, once reported, keeps the fd from being marked again; an fd without
 * `drains` is never marked.
 *
 * All of it runs on the main green thread: the peer is the other end of the
 * connection, written to directly.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rt_int.h"

#define MS 1000000ull

static int peer, reader;
static struct fdw_info *fi;

static void start(void)
{
    struct rt_config cfg = { 0 };
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(a);
    int l;

    cr_assert_eq(rt_start(&cfg), 0);
    l = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(l, 0);
    cr_assert_eq(bind(l, (struct sockaddr *)&a, len), 0);
    cr_assert_eq(listen(l, 1), 0);
    cr_assert_eq(getsockname(l, (struct sockaddr *)&a, &len), 0);
    peer = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_eq(connect(peer, (struct sockaddr *)&a, len), 0);
    reader = accept(l, NULL, NULL);
    cr_assert_geq(reader, 0);
    close(l);
    fi = fdw_info(reader);
    cr_assert_not_null(fi);
    fi->drains = true;
}

/* The peer sends s (flags: 0 or MSG_OOB). */
static void send_from_peer(const char *s, int flags)
{
    cr_assert_eq(send(peer, s, strlen(s), flags), (ssize_t)strlen(s));
}

/* A read of up to 100 bytes that must not block: what it returned. */
static ssize_t read_now(void)
{
    char buf[100];

    return recv(reader, buf, sizeof(buf), MSG_DONTWAIT);
}

/* Registers the reader for reading: a wait that times out. */
static void watch_reader(void)
{
    cr_assert_eq(fdw_wait(reader, FDW_READ, rt_now() + MS), ETIMEDOUT);
}

/* Waits for the reader's next report: 0, or ETIMEDOUT after 1 s. */
static int wait_reader(void)
{
    return fdw_wait(reader, FDW_READ, rt_now() + 1000 * MS);
}

Test(drain, short_read_of_an_unwatched_fd_marks_nothing, .init = start)
{
    send_from_peer("a", 0);
    cr_assert_eq(read_now(), 1);
    fdw_read_short(fi);
    cr_assert_not(fdw_read_drained(fi));
}

Test(drain, drained_until_the_next_report, .init = start)
{
    watch_reader();
    send_from_peer("a", 0);
    cr_assert_eq(wait_reader(), 0);
    cr_assert_eq(read_now(), 1);
    fdw_read_short(fi);
    cr_assert(fdw_read_drained(fi));
    cr_assert_eq(fdw_wait(reader, FDW_READ, rt_now() + MS), ETIMEDOUT);
    cr_assert(fdw_read_drained(fi), "a wait that found nothing ended the mark");
    send_from_peer("b", 0);
    cr_assert_eq(wait_reader(), 0);
    cr_assert_not(fdw_read_drained(fi));
    cr_assert_eq(read_now(), 1);
}

Test(drain, news_before_the_short_read_goes_with_it, .init = start)
{
    watch_reader();
    send_from_peer("a", 0);
    gt_sleep(2 * MS);               /* the loop reports it: nobody waits */
    cr_assert_eq(read_now(), 1);
    fdw_read_short(fi);
    cr_assert(fdw_read_drained(fi));
    cr_assert_eq(fdw_wait(reader, FDW_READ, rt_now() + 10 * MS), ETIMEDOUT,
                 "a report about data already read woke the wait");
}

Test(drain, end_of_file_ends_draining, .init = start)
{
    watch_reader();
    send_from_peer("a", 0);
    cr_assert_eq(shutdown(peer, SHUT_WR), 0);
    cr_assert_eq(wait_reader(), 0);
    cr_assert_eq(read_now(), 1);
    fdw_read_short(fi);
    cr_assert_not(fdw_read_drained(fi), "the end of file is still to be read");
    cr_assert_eq(read_now(), 0);
}

Test(drain, urgent_data_ends_draining, .init = start)
{
    watch_reader();
    send_from_peer("a", 0);
    send_from_peer("X", MSG_OOB);
    send_from_peer("b", 0);
    cr_assert_eq(wait_reader(), 0);
    cr_assert_eq(read_now(), 1, "a read stops at the urgent mark");
    fdw_read_short(fi);
    cr_assert_not(fdw_read_drained(fi), "data after the mark is still queued");
    cr_assert_eq(read_now(), 1);
}

Test(drain, fd_without_drains_is_never_marked, .init = start)
{
    fi->drains = false;
    watch_reader();
    send_from_peer("a", 0);
    cr_assert_eq(wait_reader(), 0);
    cr_assert_eq(read_now(), 1);
    fdw_read_short(fi);
    cr_assert_not(fdw_read_drained(fi));
}
