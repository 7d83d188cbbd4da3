/* dns.c - name resolution on libuv's thread pool.
 *
 * glibc's resolver reaches /etc/hosts, nscd, the NSS modules and DNS servers
 * through internal calls (__connect, __poll, __recvfrom...) that never pass
 * through the shim: on a green thread they would block the one OS thread and
 * every green thread with it. So each public entry point makes the real call
 * on a pool thread (rt_offload) while the caller parks, and the caller gets
 * exactly what the call gave: the return value, what it wrote through its
 * pointers, errno (EAI_SYSTEM, ERANGE) and h_errno. errno and h_errno are
 * per OS thread: the caller's values travel to the pool thread with the job
 * and the job's come back, so both end as if the call had run in the caller.
 *
 * gethostbyname, gethostbyname2 and gethostbyaddr return glibc's static
 * storage, one per process whichever thread calls: two green threads calling
 * them at once race on it as two native threads do. The resolver's settings
 * (_res, res_init) are per OS thread in glibc: a pool thread has its own,
 * read from /etc/resolv.conf, not the caller's.
 *
 * getaddrinfo with no host name to look up (none, or a numeric address)
 * stays on the caller's thread: servers do that for their listening socket,
 * and it should not start the pool.
 *
 * Cancellation: glibc's entry points do not test for it themselves (POSIX
 * says they "may" be cancellation points), but natively the waits of a DNS
 * or nscd query inside them (__poll, __connect) are, so a thread cancelled
 * while it waits for a DNS server ends there. Here the query runs on a pool
 * thread, which cannot be cancelled: a cancellation requested meanwhile acts
 * at the caller's next cancellation point, once the lookup has finished.
 */
#include <arpa/inet.h>

#include "shim.h"

/* One real call to make on a pool thread. */
struct dns_job {
    void (*call)(struct dns_job *job);
    int err, herr;                  /* errno and h_errno, in and out */
};

static void dns_run(void *arg)
{
    struct dns_job *job = arg;

    errno = job->err;
    h_errno = job->herr;
    job->call(job);
    job->err = errno;
    job->herr = h_errno;
}

/* Make the call as if in the caller, on a pool thread; in the caller itself,
 * blocking, as libc would, when the pool cannot take it. */
static void dns_offload(struct dns_job *job)
{
    job->err = errno;
    job->herr = h_errno;
    if (rt_offload(dns_run, job) != 0)
        dns_run(job);
    errno = job->err;
    h_errno = job->herr;
}

/* ---- getaddrinfo, getnameinfo ---- */

struct addrinfo_job {
    struct dns_job job;
    const char *node, *service;
    const struct addrinfo *hints;
    struct addrinfo **res;
    int rc;
};

static void addrinfo_call(struct dns_job *job)
{
    struct addrinfo_job *j = (struct addrinfo_job *)job;

    j->rc = REAL(getaddrinfo)(j->node, j->service, j->hints, j->res);
}

/* No host to look up (a passive or numeric address, as servers pass for
 * their listening socket): nothing can wait on the network, so the call stays
 * on the green thread and the pool is not started for it. */
static bool nothing_to_resolve(const char *node, const struct addrinfo *hints)
{
    unsigned char addr[sizeof(struct in6_addr)];

    return !node || (hints && (hints->ai_flags & AI_NUMERICHOST)) ||
           inet_pton(AF_INET, node, addr) == 1 || inet_pton(AF_INET6, node, addr) == 1;
}

SHIM_EXPORT int getaddrinfo(const char *node, const char *service,
                            const struct addrinfo *hints, struct addrinfo **res)
{
    struct addrinfo_job j = { .job.call = addrinfo_call, .node = node, .service = service,
                              .hints = hints, .res = res };

    if (!rt_green() || nothing_to_resolve(node, hints))
        return REAL(getaddrinfo)(node, service, hints, res);
    dns_offload(&j.job);
    return j.rc;
}

struct nameinfo_job {
    struct dns_job job;
    const struct sockaddr *sa;
    socklen_t salen, hostlen, servlen;
    char *host, *serv;
    int flags, rc;
};

static void nameinfo_call(struct dns_job *job)
{
    struct nameinfo_job *j = (struct nameinfo_job *)job;

    j->rc = REAL(getnameinfo)(j->sa, j->salen, j->host, j->hostlen, j->serv,
                              j->servlen, j->flags);
}

/* Numbers only, or nothing asked (libzmq formats every address it binds
 * that way): glibc consults neither the resolver nor NSS, so the call stays
 * on the green thread and the pool is not started for it. */
static bool numeric_only(const char *host, socklen_t hostlen, const char *serv,
                         socklen_t servlen, int flags)
{
    return (!host || !hostlen || (flags & NI_NUMERICHOST)) &&
           (!serv || !servlen || (flags & NI_NUMERICSERV));
}

SHIM_EXPORT int getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host,
                            socklen_t hostlen, char *serv, socklen_t servlen, int flags)
{
    struct nameinfo_job j = { .job.call = nameinfo_call, .sa = sa, .salen = salen,
                              .host = host, .hostlen = hostlen, .serv = serv,
                              .servlen = servlen, .flags = flags };

    if (!rt_green() || numeric_only(host, hostlen, serv, servlen, flags))
        return REAL(getnameinfo)(sa, salen, host, hostlen, serv, servlen, flags);
    dns_offload(&j.job);
    return j.rc;
}

/* ---- the gethostby* family ---- */

/* The arguments of any of the six, and both kinds of result. */
struct host_job {
    struct dns_job job;
    const char *name;
    const void *addr;
    socklen_t len;
    int af;
    struct hostent *ret;            /* the _r variants' */
    char *buf;
    size_t buflen;
    struct hostent **result;
    int *h_errnop;
    struct hostent *ent;            /* result of the non-reentrant ones */
    int rc;                         /* result of the _r ones */
};

static void byname_call(struct dns_job *job)
{
    struct host_job *j = (struct host_job *)job;

    j->ent = REAL(gethostbyname)(j->name);
}

SHIM_EXPORT struct hostent *gethostbyname(const char *name)
{
    struct host_job j = { .job.call = byname_call, .name = name };

    if (!rt_green())
        return REAL(gethostbyname)(name);
    dns_offload(&j.job);
    return j.ent;
}

static void byname2_call(struct dns_job *job)
{
    struct host_job *j = (struct host_job *)job;

    j->ent = REAL(gethostbyname2)(j->name, j->af);
}

SHIM_EXPORT struct hostent *gethostbyname2(const char *name, int af)
{
    struct host_job j = { .job.call = byname2_call, .name = name, .af = af };

    if (!rt_green())
        return REAL(gethostbyname2)(name, af);
    dns_offload(&j.job);
    return j.ent;
}

static void byaddr_call(struct dns_job *job)
{
    struct host_job *j = (struct host_job *)job;

    j->ent = REAL(gethostbyaddr)(j->addr, j->len, j->af);
}

SHIM_EXPORT struct hostent *gethostbyaddr(const void *addr, socklen_t len, int type)
{
    struct host_job j = { .job.call = byaddr_call, .addr = addr, .len = len, .af = type };

    if (!rt_green())
        return REAL(gethostbyaddr)(addr, len, type);
    dns_offload(&j.job);
    return j.ent;
}

static void byname_r_call(struct dns_job *job)
{
    struct host_job *j = (struct host_job *)job;

    j->rc = REAL(gethostbyname_r)(j->name, j->ret, j->buf, j->buflen, j->result,
                                  j->h_errnop);
}

SHIM_EXPORT int gethostbyname_r(const char *name, struct hostent *ret, char *buf,
                                size_t buflen, struct hostent **result, int *h_errnop)
{
    struct host_job j = { .job.call = byname_r_call, .name = name, .ret = ret, .buf = buf,
                          .buflen = buflen, .result = result, .h_errnop = h_errnop };

    if (!rt_green())
        return REAL(gethostbyname_r)(name, ret, buf, buflen, result, h_errnop);
    dns_offload(&j.job);
    return j.rc;
}

static void byname2_r_call(struct dns_job *job)
{
    struct host_job *j = (struct host_job *)job;

    j->rc = REAL(gethostbyname2_r)(j->name, j->af, j->ret, j->buf, j->buflen,
                                   j->result, j->h_errnop);
}

SHIM_EXPORT int gethostbyname2_r(const char *name, int af, struct hostent *ret,
                                 char *buf, size_t buflen, struct hostent **result,
                                 int *h_errnop)
{
    struct host_job j = { .job.call = byname2_r_call, .name = name, .af = af, .ret = ret,
                          .buf = buf, .buflen = buflen, .result = result,
                          .h_errnop = h_errnop };

    if (!rt_green())
        return REAL(gethostbyname2_r)(name, af, ret, buf, buflen, result, h_errnop);
    dns_offload(&j.job);
    return j.rc;
}

static void byaddr_r_call(struct dns_job *job)
{
    struct host_job *j = (struct host_job *)job;

    j->rc = REAL(gethostbyaddr_r)(j->addr, j->len, j->af, j->ret, j->buf, j->buflen,
                                  j->result, j->h_errnop);
}

SHIM_EXPORT int gethostbyaddr_r(const void *addr, socklen_t len, int type,
                                struct hostent *ret, char *buf, size_t buflen,
                                struct hostent **result, int *h_errnop)
{
    struct host_job j = { .job.call = byaddr_r_call, .addr = addr, .len = len, .af = type,
                          .ret = ret, .buf = buf, .buflen = buflen, .result = result,
                          .h_errnop = h_errnop };

    if (!rt_green())
        return REAL(gethostbyaddr_r)(addr, len, type, ret, buf, buflen, result,
                                      h_errnop);
    dns_offload(&j.job);
    return j.rc;
}
