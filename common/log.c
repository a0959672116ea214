/* log: JSON-lines to stderr. Each line is built completely in memory and handed to the
 * kernel under a mutex, so lines from several threads never interleave. */
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "util.h"

static const char *const level_names[] = {"debug", "info", "warn", "error"};
static char proc_name[64];
static atomic_int min_level = LOG_INFO;
static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;

void log_init(const char *proc)
{
    snprintf(proc_name, sizeof proc_name, "%s", proc ? proc : "mlc");
    const char *lvl = env_or("MLC_LOG_LEVEL", "info");
    int level = LOG_INFO;
    for (int i = LOG_DEBUG; i <= LOG_ERROR; i++)
        if (strcasecmp(lvl, level_names[i]) == 0)
            level = i;
    if (strcasecmp(lvl, "warning") == 0)
        level = LOG_WARN;
    atomic_store(&min_level, level);
}

/* A JSON string for s; bytes that are not valid UTF-8 become '?' so a line is never lost. */
static json_t *json_text(const char *s)
{
    json_t *j = json_string(s);
    if (j)
        return j;
    char *copy = xstrdup(s);
    for (char *p = copy; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    j = json_string(copy);
    free(copy);
    return j;
}

/* Writes all of data to stderr, retrying partial writes; errors are dropped (nowhere to
 * report them). */
static void write_line(const char *data, size_t len)
{
    pthread_mutex_lock(&write_lock);
    while (len > 0) {
        ssize_t w = write(STDERR_FILENO, data, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        data += w;
        len -= (size_t)w;
    }
    pthread_mutex_unlock(&write_lock);
}

/* Builds and writes one line. Core fields come first; extra fields never replace them.
 * Steals fields. */
static void emit(int level, const char *event, json_t *fields, const char *fmt, va_list ap)
{
    if (level < LOG_DEBUG || level > LOG_ERROR)
        level = LOG_ERROR;
    if (level < atomic_load(&min_level)) {
        json_decref(fields);
        return;
    }
    char ts[32], *msg = NULL;
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    json_t *line = json_object();
    json_object_set_new(line, "ts", json_string(iso8601_ms(now_ms(), ts, sizeof ts)));
    json_object_set_new(line, "level", json_string(level_names[level]));
    json_object_set_new(line, "proc", json_text(proc_name[0] ? proc_name : "mlc"));
    json_object_set_new(line, "pid", json_integer(getpid()));
    json_object_set_new(line, "event", json_text(event ? event : ""));
    json_object_set_new(line, "msg", json_text(msg ? msg : ""));
    free(msg);
    if (json_is_object(fields))
        json_object_update_missing(line, fields);
    json_decref(fields);

    char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(line);
    if (!text)
        return;
    size_t n = strlen(text);
    char *out = realloc(text, n + 2);
    if (!out) {
        free(text);
        return;
    }
    out[n] = '\n';
    out[n + 1] = '\0';
    write_line(out, n + 1);
    free(out);
}

void mlog(int level, const char *event, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit(level, event, NULL, fmt, ap);
    va_end(ap);
}

void mlog_json(int level, const char *event, json_t *fields, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit(level, event, fields, fmt, ap);
    va_end(ap);
}
