/* util: small helpers every process needs (time, strings, files). */
#ifndef MLC_UTIL_H
#define MLC_UTIL_H
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* Wall-clock milliseconds since the epoch. */
int64_t now_ms(void);
/* Monotonic milliseconds (for intervals and deadlines). */
int64_t mono_ms(void);
/* Formats epoch milliseconds as "YYYY-MM-DDTHH:MM:SS.mmmZ" into buf (>= 32 bytes); returns buf. */
char *iso8601_ms(int64_t ms, char *buf, size_t len);
/* Formats epoch seconds as "YYYY-MM-DDTHH:MM:SSZ" into buf (>= 24 bytes); returns buf. */
char *iso8601_s(int64_t sec, char *buf, size_t len);
/* Parses "YYYY-MM-DDTHH:MM:SS[.fff][Z|+hh:mm]" or "YYYY-MM-DD"; returns epoch ms, -1 on error. */
int64_t parse_iso8601(const char *s);
/* Sleeps for ms milliseconds / us microseconds (restarts on EINTR unless stop flag set). */
void sleep_ms(int64_t ms);
void sleep_us(int64_t us);

/* Returns a malloc'd copy of s with leading/trailing whitespace removed; NULL if s is NULL. */
char *str_trim_dup(const char *s);
/* Like strdup but aborts on out-of-memory. NULL in -> NULL out. */
char *xstrdup(const char *s);
/* Like asprintf but returns the string (caller frees) and aborts on out-of-memory. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* malloc/calloc/realloc that abort on out-of-memory. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
/* Reads a whole file; returns malloc'd NUL-terminated bytes (length in *len if non-NULL),
 * NULL with errno set on failure. */
char *read_file(const char *path, size_t *len);
/* Environment lookup with default: returns getenv(name) when set and non-empty, else def. */
const char *env_or(const char *name, const char *def);
/* Integer env with default; returns def when unset or not an integer. */
long env_long(const char *name, long def);
/* Returns true when s starts with prefix. */
bool str_starts(const char *s, const char *prefix);
/* Percent-encodes s for a URL query value (RFC 3986 unreserved kept). Caller frees. */
char *url_encode(const char *s);
/* Decodes %XX and '+' (as space when plus_is_space). Caller frees; NULL on malformed input. */
char *url_decode(const char *s, bool plus_is_space);

/* Growable byte buffer. Always NUL-terminated after append. */
typedef struct {
    char  *data;
    size_t len;
    size_t cap;
} buf_t;
void buf_init(buf_t *b);
void buf_append(buf_t *b, const void *data, size_t n);
void buf_appendf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_reset(buf_t *b);   /* len = 0, keeps memory */
void buf_free(buf_t *b);    /* frees memory, safe twice */
/* Hands the data to the caller (who frees it) and resets b to empty. */
char *buf_steal(buf_t *b);

/* Process-wide stop flag set by SIGINT/SIGTERM once install_stop_signals() ran. */
extern volatile int g_stop;
void install_stop_signals(void);
#endif
