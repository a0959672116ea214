/* log: JSON-lines logging to stderr, one object per line:
 * {"ts":"2026-11-22T11:00:00.123Z","level":"info","proc":"mlc-poller","pid":123,
 *  "event":"poll.page","msg":"...", ...extra fields} */
#ifndef MLC_LOG_H
#define MLC_LOG_H
#include <jansson.h>

enum { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

/* Sets the process name and minimum level (MLC_LOG_LEVEL=debug|info|warn|error, default info). */
void log_init(const char *proc);
/* Logs one line with an event name and a printf-style message. */
void mlog(int level, const char *event, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Logs one line with extra fields; steals the reference to fields (may be NULL). */
void mlog_json(int level, const char *event, json_t *fields, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#endif
