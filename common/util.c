/* util: time, strings, buffers, files, environment and the stop flag. */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

volatile int g_stop = 0;

/* ---- time ---------------------------------------------------------------------------- */

static int64_t clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t now_ms(void) { return clock_ms(CLOCK_REALTIME); }
int64_t mono_ms(void) { return clock_ms(CLOCK_MONOTONIC); }

/* Splits epoch ms into whole seconds and a millisecond part in 0..999 (floor, so dates
 * before 1970 format correctly). */
static void split_ms(int64_t ms, time_t *sec, int *frac)
{
    int64_t s = ms / 1000, f = ms % 1000;
    if (f < 0) {
        f += 1000;
        s -= 1;
    }
    *sec = (time_t)s;
    *frac = (int)f;
}

char *iso8601_ms(int64_t ms, char *buf, size_t len)
{
    time_t sec;
    int frac;
    struct tm tm;
    split_ms(ms, &sec, &frac);
    gmtime_r(&sec, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
    return buf;
}

char *iso8601_s(int64_t sec, char *buf, size_t len)
{
    time_t t = (time_t)sec;
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return buf;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dim[m - 1];
}

/* Reads exactly n digits at *p into *out and advances *p; false when a non-digit is met. */
static bool take_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return true;
}

int64_t parse_iso8601(const char *s)
{
    if (!s)
        return -1;
    const char *p = s;
    int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0, off_min = 0;
    if (!take_digits(&p, 4, &y) || *p++ != '-' || !take_digits(&p, 2, &mo) || *p++ != '-' ||
        !take_digits(&p, 2, &d))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
        return -1;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (!take_digits(&p, 2, &h) || *p++ != ':' || !take_digits(&p, 2, &mi) ||
            *p++ != ':' || !take_digits(&p, 2, &sec))
            return -1;
        if (h > 23 || mi > 59 || sec > 60) /* 60: leap second, folded into the next minute */
            return -1;
        if (*p == '.') {
            p++;
            int digits = 0;
            while (isdigit((unsigned char)*p)) {
                if (digits < 3)
                    ms = ms * 10 + (*p - '0');
                digits++;
                p++;
            }
            if (digits == 0)
                return -1;
            for (; digits < 3; digits++)
                ms *= 10;
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p++ == '-' ? -1 : 1, oh, om;
            if (!take_digits(&p, 2, &oh))
                return -1;
            if (*p == ':')
                p++;
            if (!take_digits(&p, 2, &om) || oh > 23 || om > 59)
                return -1;
            off_min = sign * (oh * 60 + om);
        }
    }
    if (*p != '\0')
        return -1;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
                   (int64_t)off_min * 60;
    if (secs < 0)
        return -1;
    return secs * 1000 + ms;
}

void sleep_us(int64_t us)
{
    if (us <= 0)
        return;
    struct timespec req = {.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000L}, rem;
    while (nanosleep(&req, &rem) == -1 && errno == EINTR && !g_stop)
        req = rem;
}

void sleep_ms(int64_t ms)
{
    sleep_us(ms * 1000);
}

/* ---- memory and strings --------------------------------------------------------------- */

static void *oom_check(void *p)
{
    if (!p) {
        static const char msg[] = "fatal: out of memory\n";
        ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
        (void)w;
        abort();
    }
    return p;
}

void *xmalloc(size_t n) { return oom_check(malloc(n ? n : 1)); }
void *xcalloc(size_t n, size_t size) { return oom_check(calloc(n ? n : 1, size ? size : 1)); }
void *xrealloc(void *p, size_t n) { return oom_check(realloc(p, n ? n : 1)); }

char *xstrdup(const char *s) { return s ? oom_check(strdup(s)) : NULL; }

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *out = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&out, fmt, ap);
    va_end(ap);
    return oom_check(n < 0 ? NULL : out);
}

char *str_trim_dup(const char *s)
{
    if (!s)
        return NULL;
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    char *out = xmalloc(n + 1);
    memcpy(out, s, n);
    out[n] = '\0';
    return out;
}

bool str_starts(const char *s, const char *prefix)
{
    return s && prefix && strncmp(s, prefix, strlen(prefix)) == 0;
}

char *url_encode(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    if (!s)
        return NULL;
    size_t n = strlen(s);
    char *out = xmalloc(3 * n + 1), *o = out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

static int hex_val(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* %00 counts as malformed: it would silently truncate the C string. */
char *url_decode(const char *s, bool plus_is_space)
{
    if (!s)
        return NULL;
    char *out = xmalloc(strlen(s) + 1), *o = out;
    for (const char *p = s; *p; p++) {
        if (*p == '%') {
            int hi = hex_val(p[1]), lo = hi < 0 ? -1 : hex_val(p[2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                free(out);
                return NULL;
            }
            *o++ = (char)(hi << 4 | lo);
            p += 2;
        } else if (*p == '+' && plus_is_space) {
            *o++ = ' ';
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return out;
}

/* ---- buffers -------------------------------------------------------------------------- */

void buf_init(buf_t *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

/* Makes room for extra more bytes plus the terminating NUL. */
static void buf_reserve(buf_t *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
}

void buf_append(buf_t *b, const void *data, size_t n)
{
    buf_reserve(b, n);
    if (n)
        memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void buf_appendf(buf_t *b, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n > 0) {
        buf_reserve(b, (size_t)n);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    } else {
        buf_reserve(b, 0);
        b->data[b->len] = '\0';
    }
    va_end(ap2);
}

void buf_reset(buf_t *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void buf_free(buf_t *b)
{
    free(b->data);
    buf_init(b);
}

char *buf_steal(buf_t *b)
{
    buf_reserve(b, 0);
    b->data[b->len] = '\0';
    char *d = b->data;
    buf_init(b);
    return d;
}

/* ---- files and environment ------------------------------------------------------------ */

char *read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    buf_t b;
    buf_init(&b);
    buf_reserve(&b, 4096);
    for (;;) {
        if (b.cap - b.len < 2)
            buf_reserve(&b, b.cap);
        ssize_t r = read(fd, b.data + b.len, b.cap - b.len - 1);
        if (r == 0)
            break;
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int saved = errno;
            close(fd);
            buf_free(&b);
            errno = saved;
            return NULL;
        }
        b.len += (size_t)r;
    }
    close(fd);
    b.data[b.len] = '\0';
    if (len)
        *len = b.len;
    return b.data;
}

const char *env_or(const char *name, const char *def)
{
    const char *v = getenv(name);
    return v && *v ? v : def;
}

long env_long(const char *name, long def)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return def;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    while (isspace((unsigned char)*end))
        end++;
    return errno || end == v || *end ? def : n;
}

/* ---- stop flag ------------------------------------------------------------------------ */

static void on_stop_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

/* No SA_RESTART: blocking calls (zmq_poll, read, nanosleep) return EINTR so loops see g_stop
 * promptly. */
void install_stop_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}
