/* schedule: per-flow schedules and their next-run math (pure, no I/O). Specs:
 *   "every N minutes"            (N 1..1440; also "every N seconds" for tests/demo, N >= 1)
 *   "daily at HH:MM"             (24h clock)
 *   "weekly on DAY at HH:MM"     (DAY = mon|tue|wed|thu|fri|sat|sun or full English names,
 *                                 case-insensitive)
 * Times are evaluated in UTC unless the schedule carries a fixed offset suffix
 * " UTC+HH:MM" / " UTC-HH:MM". */
#ifndef MLC_SCHEDULE_H
#define MLC_SCHEDULE_H
#include <stddef.h>
#include <stdint.h>

typedef enum { SCHED_EVERY, SCHED_DAILY, SCHED_WEEKLY } sched_kind_t;

typedef struct {
    sched_kind_t kind;
    int64_t      every_ms;     /* SCHED_EVERY */
    int          hour, minute; /* DAILY / WEEKLY */
    int          weekday;      /* WEEKLY: 0 = Sunday .. 6 = Saturday */
    int          utc_offset_min;
} schedule_t;

/* Parses spec into *out. Returns 0, or -1 with a human message in err (e.g. "hour 25 out of
 * range 0-23"). */
int schedule_parse(const char *spec, schedule_t *out, char *err, size_t err_len);
/* The first run time strictly after after_ms (epoch ms). For SCHED_EVERY runs are aligned to
 * multiples of every_ms since the epoch so several schedulers agree on the slot. */
int64_t schedule_next(const schedule_t *s, int64_t after_ms);
#endif
