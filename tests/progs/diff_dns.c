/* diff_dns.c - name resolution: getaddrinfo, getnameinfo and the gethostby*
 * family, their results, error codes, errno and h_errno.
 *
 * The machine may have no network: only "localhost", numeric addresses and
 * 127.0.0.1 (all answered from /etc/hosts or without any lookup) are asked.
 * Address lists are printed sorted.
 *
 * Checks: getaddrinfo of localhost:80 (no hints, and SOCK_STREAM with
 * AI_CANONNAME), of numeric IPv4 and IPv6 hosts with AI_NUMERICHOST and
 * AI_NUMERICSERV, and its failures: EAI_NONAME (AI_NUMERICHOST with a name,
 * AI_NUMERICSERV with a service name, neither node nor service), EAI_SERVICE
 * (unknown service), EAI_FAMILY, EAI_BADFLAGS; errno left alone by a numeric
 * lookup that succeeds; getnameinfo of 127.0.0.1:80 numeric and by name,
 * EAI_OVERFLOW for a host buffer too small, EAI_FAMILY for a short address;
 * gethostbyname, gethostbyname2, gethostbyaddr (localhost, a numeric name,
 * 127.0.0.1; a bad address length: EINVAL and NETDB_INTERNAL; a bad family:
 * EAFNOSUPPORT); the _r variants with room, and with a buffer too small
 * (ERANGE, *h_errnop NETDB_INTERNAL, no result); 8 threads doing 50 lookups
 * each agree; a thread ticking every 5 ms keeps ticking while another one
 * does lookups (under greenrun each lookup parks that thread); fork children
 * of the process, one that looks up and one that does not, exit normally.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define MAXLINES 64
#define NTHREADS 8
#define ROUNDS 50
#define MIN_LOOKUPS 20
#define TICKS 3
#define LIMIT_NS 3000000000ull          /* for lookups to see the ticks */
#define UNSET_HERR 12345                /* h_errno values nobody sets */

static const char *gai_name(int rc)
{
    static const struct { int rc; const char *name; } names[] = {
        { 0, "0" }, { EAI_BADFLAGS, "EAI_BADFLAGS" }, { EAI_NONAME, "EAI_NONAME" },
        { EAI_AGAIN, "EAI_AGAIN" }, { EAI_FAIL, "EAI_FAIL" },
        { EAI_FAMILY, "EAI_FAMILY" }, { EAI_SOCKTYPE, "EAI_SOCKTYPE" },
        { EAI_SERVICE, "EAI_SERVICE" }, { EAI_MEMORY, "EAI_MEMORY" },
        { EAI_SYSTEM, "EAI_SYSTEM" }, { EAI_OVERFLOW, "EAI_OVERFLOW" },
        { EAI_NODATA, "EAI_NODATA" }, { EAI_ADDRFAMILY, "EAI_ADDRFAMILY" },
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].rc == rc)
            return names[i].name;
    return "unknown";
}

static const char *herr_name(int h)
{
    switch (h) {
    case NETDB_INTERNAL: return "NETDB_INTERNAL";
    case NETDB_SUCCESS: return "NETDB_SUCCESS";
    case HOST_NOT_FOUND: return "HOST_NOT_FOUND";
    case TRY_AGAIN: return "TRY_AGAIN";
    case NO_RECOVERY: return "NO_RECOVERY";
    case NO_DATA: return "NO_DATA";
    case UNSET_HERR: return "untouched";
    default: return "unknown";
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts lines[0..n) and writes them after `indent`, one a line. */
static void print_sorted(char **lines, size_t n, const char *indent)
{
    qsort(lines, n, sizeof(*lines), cmp_str);
    for (size_t i = 0; i < n; i++) {
        printf("%s%s\n", indent, lines[i]);
        free(lines[i]);
    }
}

static void sockaddr_text(const struct sockaddr *sa, char *out, size_t len)
{
    char addr[INET6_ADDRSTRLEN];

    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

        inet_ntop(AF_INET, &in->sin_addr, addr, sizeof(addr));
        snprintf(out, len, "%s port %u", addr, ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

        inet_ntop(AF_INET6, &in6->sin6_addr, addr, sizeof(addr));
        snprintf(out, len, "[%s] port %u", addr, ntohs(in6->sin6_port));
    } else {
        snprintf(out, len, "family %d", sa->sa_family);
    }
}

/* The result list as sorted text, into buf (for comparing) or printed. */
static void addrinfo_text(const struct addrinfo *res, char *buf, size_t len)
{
    char *lines[MAXLINES], addr[128];
    size_t n = 0, used = 0;

    for (const struct addrinfo *ai = res; ai && n < MAXLINES; ai = ai->ai_next) {
        sockaddr_text(ai->ai_addr, addr, sizeof(addr));
        if (asprintf(&lines[n++], "family %d socktype %d protocol %d %s%s%s", ai->ai_family,
                     ai->ai_socktype, ai->ai_protocol, addr,
                     ai->ai_canonname ? " canonname " : "",
                     ai->ai_canonname ? ai->ai_canonname : "") < 0)
            die("asprintf");
    }
    qsort(lines, n, sizeof(*lines), cmp_str);
    buf[0] = 0;
    for (size_t i = 0; i < n; i++) {
        used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "  %s\n", lines[i]);
        free(lines[i]);
    }
}

static void gai(const char *node, const char *service, int family, int socktype, int flags)
{
    struct addrinfo hints = { .ai_family = family, .ai_socktype = socktype, .ai_flags = flags };
    struct addrinfo *res = NULL;
    char text[8192];
    int rc;

    rc = getaddrinfo(node, service, family || socktype || flags ? &hints : NULL, &res);
    printf("getaddrinfo(%s, %s, family %d socktype %d flags %#x): %s\n",
           node ? node : "NULL", service ? service : "NULL", family, socktype, flags,
           gai_name(rc));
    if (rc == 0) {
        addrinfo_text(res, text, sizeof(text));
        fputs(text, stdout);
        freeaddrinfo(res);
    }
}

static void gni(const char *ip, unsigned port, socklen_t salen, socklen_t hostlen, int flags)
{
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
    char host[NI_MAXHOST] = "", serv[NI_MAXSERV] = "";
    int rc;

    inet_pton(AF_INET, ip, &sin.sin_addr);
    rc = getnameinfo((struct sockaddr *)&sin, salen, host, hostlen, serv, sizeof(serv), flags);
    printf("getnameinfo(%s:%u, salen %u, hostlen %u, flags %#x): %s", ip, port,
           (unsigned)salen, (unsigned)hostlen, flags, gai_name(rc));
    if (rc == 0)
        printf(" host \"%s\" serv \"%s\"", host, serv);
    printf("\n");
}

static void hostent_print(const struct hostent *h)
{
    char *lines[MAXLINES], addr[INET6_ADDRSTRLEN];
    size_t n = 0;

    printf("  name %s addrtype %d length %d\n", h->h_name, h->h_addrtype, h->h_length);
    for (char **a = h->h_aliases; *a && n < MAXLINES; a++)
        if (!(lines[n++] = strdup(*a)))
            die("strdup");
    print_sorted(lines, n, "  alias ");
    n = 0;
    for (char **a = h->h_addr_list; *a && n < MAXLINES; a++) {
        inet_ntop(h->h_addrtype, *a, addr, sizeof(addr));
        if (!(lines[n++] = strdup(addr)))
            die("strdup");
    }
    print_sorted(lines, n, "  address ");
}

/* A non-reentrant call's result: the entry, or errno and h_errno. */
static void hostent_result(const char *call, const struct hostent *h, int err)
{
    if (h) {
        printf("%s: found\n", call);
        hostent_print(h);
    } else {
        printf("%s: NULL errno %s h_errno %s\n", call, ename(err), herr_name(h_errno));
    }
}

/* A reentrant call's result; *result starts as UNTOUCHED. */
static struct hostent untouched;
#define UNTOUCHED (&untouched)

static void hostent_r_result(const char *call, int rc, int err, const struct hostent *result,
                             int herr)
{
    printf("%s: %s", call, ename(rc));
    if (rc != 0)
        printf(" errno %s", ename(err));
    printf(" h_errnop %s result %s\n", herr_name(herr),
           result == UNTOUCHED ? "untouched" : result ? "set" : "NULL");
    if (result && result != UNTOUCHED)
        hostent_print(result);
}

static void byname_r(const char *name, int af, size_t buflen)
{
    struct hostent ret, *result = UNTOUCHED;
    char *buf = malloc(buflen), call[128];
    int herr = UNSET_HERR, rc;

    if (!buf)
        die("malloc");
    errno = 0;
    if (af)
        rc = gethostbyname2_r(name, af, &ret, buf, buflen, &result, &herr);
    else
        rc = gethostbyname_r(name, &ret, buf, buflen, &result, &herr);
    snprintf(call, sizeof(call), "gethostbyname%s_r(%s%s, buflen %zu)", af ? "2" : "", name,
             af == AF_INET ? ", AF_INET" : "", buflen);
    hostent_r_result(call, rc, errno, result, herr);
    free(buf);
}

static void byaddr(const char *ip, socklen_t len)
{
    struct in_addr a;
    struct hostent *h, ret, *result = UNTOUCHED;
    char buf[4096], call[64];
    int herr = UNSET_HERR, rc;

    inet_pton(AF_INET, ip, &a);
    errno = 0;
    h = gethostbyaddr(&a, len, AF_INET);
    snprintf(call, sizeof(call), "gethostbyaddr(%s, len %u)", ip, (unsigned)len);
    hostent_result(call, h, errno);
    errno = 0;
    rc = gethostbyaddr_r(&a, len, AF_INET, &ret, buf, sizeof(buf), &result, &herr);
    snprintf(call, sizeof(call), "gethostbyaddr_r(%s, len %u)", ip, (unsigned)len);
    hostent_r_result(call, rc, errno, result, herr);
}

static void by_name(const char *name, int af)
{
    struct hostent *h;
    char call[128];

    errno = 0;
    h_errno = UNSET_HERR;
    h = af ? gethostbyname2(name, af) : gethostbyname(name);
    snprintf(call, sizeof(call), "gethostbyname%s(%s%s)", af ? "2" : "", name,
             af == AF_INET ? ", AF_INET" : af == AF_UNIX ? ", AF_UNIX" : "");
    hostent_result(call, h, errno);
}

static void errno_kept(void)
{
    struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
    struct addrinfo *res;
    int rc;

    errno = EDOM;
    rc = getaddrinfo("127.0.0.1", "80", &hints, &res);
    printf("numeric getaddrinfo: %s, errno after: %s\n", gai_name(rc), ename(errno));
    if (rc == 0)
        freeaddrinfo(res);
}

/* ---- many threads at once ---- */

static char expected[8192];
static atomic_int mismatches;

static void one_lookup(char *text, size_t len)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_CANONNAME };
    struct addrinfo *res;
    int rc = getaddrinfo("localhost", "80", &hints, &res);

    if (rc != 0) {
        snprintf(text, len, "%s\n", gai_name(rc));
        return;
    }
    addrinfo_text(res, text, len);
    freeaddrinfo(res);
}

static void *lookups(void *arg)
{
    char text[8192], buf[1024];
    struct hostent ret, *result;
    int herr;

    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        one_lookup(text, sizeof(text));
        if (strcmp(text, expected) != 0)
            mismatches++;
        if (gethostbyname_r("localhost", &ret, buf, sizeof(buf), &result, &herr) != 0 ||
            !result || strcmp(result->h_name, "localhost") != 0)
            mismatches++;
    }
    return NULL;
}

static void many_threads(void)
{
    pthread_t t[NTHREADS];

    one_lookup(expected, sizeof(expected));
    for (int i = 0; i < NTHREADS; i++)
        t[i] = spawn(lookups, NULL);
    for (int i = 0; i < NTHREADS; i++)
        join(t[i]);
    printf("%d threads x %d lookups agree: %s\n", NTHREADS, ROUNDS,
           mismatches == 0 ? "yes" : "no");
}

/* ---- a ticker keeps running during lookups ---- */

static unsigned long long now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

/* Looks up until the ticker has ticked TICKS times since the first lookup,
 * and at least MIN_LOOKUPS times; the thread never waits otherwise, so under
 * greenrun the ticker can only run while a lookup has it parked. */
static void *lookups_while_ticking(void *arg)
{
    char text[8192];
    unsigned long long t0 = now_ns();
    int n = 0, first = ticks;
    bool *saw = arg;

    while ((n < MIN_LOOKUPS || ticks - first < TICKS) && now_ns() - t0 < LIMIT_NS) {
        one_lookup(text, sizeof(text));
        n++;
    }
    *saw = ticks - first >= TICKS;
    return NULL;
}

static void ticker_during_lookups(void)
{
    pthread_t tick, look;
    bool saw = false;

    tick = start_ticker();
    look = spawn(lookups_while_ticking, &saw);
    join(look);
    stop_ticker(tick);
    printf("ticker ran during lookups: %s\n", saw ? "yes" : "no");
}

/* ---- fork children of a process that did lookups ---- */

/* The child looks up (or not), then ends with exit(): its exit-time cleanup
 * runs too. */
static void fork_child(bool lookup)
{
    char text[8192];
    int status;
    pid_t pid;

    pid = xfork();
    if (pid == 0) {
        if (lookup) {
            one_lookup(text, sizeof(text));
            printf("lookup in a fork child agrees: %s\n",
                   strcmp(text, expected) == 0 ? "yes" : "no");
        }
        exit(0);
    }
    if (waitpid(pid, &status, 0) != pid)
        die("waitpid");
    if (WIFEXITED(status))
        printf("fork child%s: exit status %d\n", lookup ? " that looked up" : "",
               WEXITSTATUS(status));
    else
        printf("fork child%s: killed by %s\n", lookup ? " that looked up" : "",
               WIFSIGNALED(status) ? sigabbrev_np(WTERMSIG(status)) : "?");
}

int main(void)
{
    alarm(20);
    setvbuf(stdout, NULL, _IOLBF, 0);

    gai("localhost", "80", 0, 0, 0);
    gai("localhost", "80", AF_UNSPEC, SOCK_STREAM, AI_CANONNAME);
    gai("localhost", "http", AF_INET, SOCK_DGRAM, 0);
    gai("127.0.0.1", "8080", 0, SOCK_STREAM, AI_NUMERICHOST | AI_NUMERICSERV);
    gai("::1", "8080", AF_INET6, 0, AI_NUMERICHOST | AI_NUMERICSERV);
    gai("127.0.0.1", NULL, AF_INET6, 0, AI_NUMERICHOST);
    gai("localhost", "80", 0, 0, AI_NUMERICHOST);
    gai("127.0.0.1", "http", 0, SOCK_STREAM, AI_NUMERICSERV);
    gai(NULL, NULL, 0, 0, 0);
    gai("127.0.0.1", "no-such-service", 0, SOCK_STREAM, 0);
    gai("127.0.0.1", "80", 12345, 0, 0);
    gai("127.0.0.1", "80", 0, 0, 0x10000);
    errno_kept();

    gni("127.0.0.1", 80, sizeof(struct sockaddr_in), NI_MAXHOST, NI_NUMERICHOST | NI_NUMERICSERV);
    gni("127.0.0.1", 80, sizeof(struct sockaddr_in), NI_MAXHOST, 0);
    gni("127.0.0.1", 80, sizeof(struct sockaddr_in), 4, 0);
    gni("127.0.0.1", 80, 4, NI_MAXHOST, 0);

    by_name("localhost", 0);
    by_name("127.0.0.1", 0);
    by_name("localhost", AF_INET);
    by_name("localhost", AF_UNIX);
    byaddr("127.0.0.1", sizeof(struct in_addr));
    byaddr("127.0.0.1", 3);
    byname_r("localhost", 0, 4096);
    byname_r("localhost", 0, 8);
    byname_r("localhost", AF_INET, 4096);
    byname_r("localhost", AF_INET, 8);

    many_threads();
    ticker_during_lookups();
    fork_child(false);
    fork_child(true);
    return 0;
}
