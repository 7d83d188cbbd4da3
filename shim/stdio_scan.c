/* stdio_scan.c - fgetc, getc, __uflow, __underflow and fscanf on pipes and
 * sockets, cooperatively.
 *
 * These take their input inside glibc a byte at a time. fgetc and its kin
 * refill the buffer at most once: when it is empty, stdio_fill (stdio.c)
 * parks until glibc's one read(2) cannot block, then glibc's own function
 * runs. __uflow and __underflow are what <stdio.h>'s inline getc_unlocked
 * (and older programs' peeks) call when the buffer is empty: the same. fscanf
 * cannot be cut into steps: it waits, the same way, before it starts, when
 * its first directive must read (nothing buffered; or only white space, for
 * a directive that skips it), then glibc's scanner runs.
 *
 * What can still block the OS thread is a read the scanner makes once it
 * has started: a token split between two sends, the one-byte look-ahead
 * after a number at the very end of what has arrived, trailing white space
 * in the format, more directives than the data holds. A format that starts
 * with %n does not wait. Natively such a call waits for the rest of its
 * input; here every green thread waits with it, for good if the input is to
 * come from one of them. Wrapping __uflow does not reach those reads: the
 * scanner refills through glibc's internal (hidden) __uflow, never through
 * the exported one; and a scanner that parked between its reads would leave
 * glibc's per-OS-thread cleanup chain (its FILE lock's) to the next green
 * thread.
 */
#include <ctype.h>
#include <stdarg.h>
#include <string.h>

#include "stdio_int.h"

/* ---- fgetc and its kin ---- */

struct getc_args {
    int (*real)(FILE *);
    int result;
};

static void getc_body(struct stdio_call *c)
{
    struct getc_args *a = c->args;

    a->result = stdio_fill(c) < 0 ? EOF : a->real(c->fp);
}

static int getc_any(FILE *fp, int (*real)(FILE *), bool locked)
{
    struct getc_args a = { real, EOF };

    if (!rt_green() || (!stdio_busy(fp) && stdio_reads_nothing(fp, 1, -1)) ||
        !stdio_coop(fp, IO_NO_READS))
        return real(fp);
    stdio_run(fp, locked, true, getc_body, &a);
    return a.result;
}

SHIM_EXPORT int fgetc(FILE *fp)
{
    return getc_any(fp, REAL(fgetc), true);
}

SHIM_EXPORT int getc(FILE *fp)
{
    return getc_any(fp, REAL(getc), true);
}

SHIM_EXPORT int fgetc_unlocked(FILE *fp)
{
    return getc_any(fp, REAL(fgetc_unlocked), false);
}

SHIM_EXPORT int getc_unlocked(FILE *fp)
{
    return getc_any(fp, REAL(getc_unlocked), false);
}

/* What getc compiled to with glibc's headers before 2.28. */
SHIM_EXPORT int _IO_getc(FILE *fp)
{
    return getc_any(fp, REAL(getc), true);
}

/* The inline getc_unlocked's refill: called without the FILE lock. */
SHIM_EXPORT int __uflow(FILE *fp)
{
    return getc_any(fp, REAL(__uflow), false);
}

SHIM_EXPORT int __underflow(FILE *fp)
{
    return getc_any(fp, stdio_underflow, false);
}

/* glibc's getchar is getc(stdin). */
SHIM_EXPORT int getchar(void)
{
    return getc_any(stdin, REAL(getc), true);
}

/* ---- fscanf ---- */

typedef int vfscanf_fn(FILE *, const char *, va_list);

/* <stdio.h> does not declare __isoc99_vfscanf, so shim.h cannot list it. */
static vfscanf_fn *isoc99_vfscanf(void)
{
    static void *real;

    return (vfscanf_fn *)stdio_libc(&real, "__isoc99_vfscanf");
}

enum { SCAN_NONE, SCAN_BYTE, SCAN_SKIPS };

/* How the format's first directive reads (glibc's vfscanf-internal.c): not
 * at all (end of format, %n), the next byte whatever it is (a literal, %c,
 * %[), or past white space (white space, %% and every other conversion).
 * `gnu`: %a before s, S or [ is GNU's allocation flag, not a conversion. */
static int first_directive(const char *f, bool gnu)
{
    if (isspace((unsigned char)*f))
        return SCAN_SKIPS;
    if (*f != '%')
        return *f ? SCAN_BYTE : SCAN_NONE;
    f++;
    f += strspn(f, "0123456789$*'I");
    f += strspn(f, "hlqLmzjt");
    if (gnu && *f == 'a' && f[1] && strchr("sS[", f[1]))
        f++;
    switch (*f) {
    case '\0':
    case 'n':
        return SCAN_NONE;
    case 'c':
    case 'C':
    case '[':
        return SCAN_BYTE;
    default:
        return SCAN_SKIPS;
    }
}

/* The scan must read the fd before it can return. */
static bool scan_reads(const FILE *fp, const char *fmt, bool gnu)
{
    int how = first_directive(fmt, gnu);
    const char *p;

    if (how == SCAN_NONE)
        return false;
    if (!stdio_buffered(fp))
        return true;
    if (how == SCAN_BYTE || (fp->_flags & IO_IN_BACKUP))
        return false;
    for (p = fp->_IO_read_ptr; p < fp->_IO_read_end; p++)
        if (!isspace((unsigned char)*p))
            return false;
    return true;
}

struct scan_args {
    vfscanf_fn *real;
    const char *fmt;
    va_list ap;
    bool gnu;
    int result;
};

/* A failed first read makes glibc's scanner return EOF: so does a failed wait. */
static void scan_body(struct stdio_call *c)
{
    struct scan_args *a = c->args;

    if (scan_reads(c->fp, a->fmt, a->gnu) && stdio_prepare_read(c) < 0)
        a->result = EOF;
    else
        a->result = a->real(c->fp, a->fmt, a->ap);
}

static int vfscanf_any(FILE *fp, const char *fmt, va_list ap, bool gnu)
{
    struct scan_args a = { .real = gnu ? REAL(vfscanf) : isoc99_vfscanf(), .fmt = fmt, .gnu = gnu };

    if (!rt_green() || !fmt || (!stdio_busy(fp) && !scan_reads(fp, fmt, gnu)) ||
        !stdio_coop(fp, IO_NO_READS))
        return a.real(fp, fmt, ap);
    va_copy(a.ap, ap);
    stdio_run(fp, true, true, scan_body, &a);
    va_end(a.ap);
    return a.result;
}

/* <stdio.h> renames vfscanf and fscanf to their __isoc99_ versions (C99
 * %a): glibc's own names carry GNU's %as, %aS and %a[. */
int gnu_vfscanf(FILE *fp, const char *fmt, va_list ap) __asm__("vfscanf");
int gnu_fscanf(FILE *fp, const char *fmt, ...) __asm__("fscanf");
int iso_vfscanf(FILE *fp, const char *fmt, va_list ap) __asm__("__isoc99_vfscanf");
int iso_fscanf(FILE *fp, const char *fmt, ...) __asm__("__isoc99_fscanf");

SHIM_EXPORT int gnu_vfscanf(FILE *fp, const char *fmt, va_list ap)
{
    return vfscanf_any(fp, fmt, ap, true);
}

SHIM_EXPORT int iso_vfscanf(FILE *fp, const char *fmt, va_list ap)
{
    return vfscanf_any(fp, fmt, ap, false);
}

SHIM_EXPORT int gnu_fscanf(FILE *fp, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = vfscanf_any(fp, fmt, ap, true);
    va_end(ap);
    return r;
}

SHIM_EXPORT int iso_fscanf(FILE *fp, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = vfscanf_any(fp, fmt, ap, false);
    va_end(ap);
    return r;
}
