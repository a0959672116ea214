/* schedule: parser for the schedule specs in schedule.h and their next-run math. */
#include "schedule.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MS_PER_MIN  60000LL
#define MS_PER_DAY  86400000LL
#define MS_PER_WEEK (7 * MS_PER_DAY)
#define MAX_WORDS   8

/* A spec split on whitespace; words point into text. */
typedef struct {
    char  text[128];
    char *w[MAX_WORDS];
    int   n;
} words_t;

static int fail(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t err_len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && err_len)
        vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
    return -1;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Parses a decimal integer that is the whole word; false otherwise. */
static bool parse_int(const char *s, long *out)
{
    if (!isdigit((unsigned char)*s))
        return false;
    char *end;
    errno = 0;
    *out = strtol(s, &end, 10);
    return errno == 0 && *end == '\0';
}

/* "HH:MM" with a 1-2 digit hour and a 2 digit minute. */
static int parse_clock(const char *s, int *hour, int *minute, char *err, size_t err_len)
{
    const char *colon = strchr(s, ':');
    char hh[8];
    long h, m;
    if (!colon || colon == s || colon - s > 2 || strlen(colon + 1) != 2)
        return fail(err, err_len, "bad time '%s' (want HH:MM, 24h clock)", s);
    memcpy(hh, s, (size_t)(colon - s));
    hh[colon - s] = '\0';
    if (!parse_int(hh, &h) || !parse_int(colon + 1, &m))
        return fail(err, err_len, "bad time '%s' (want HH:MM, 24h clock)", s);
    if (h > 23)
        return fail(err, err_len, "hour %ld out of range 0-23", h);
    if (m > 59)
        return fail(err, err_len, "minute %ld out of range 0-59", m);
    *hour = (int)h;
    *minute = (int)m;
    return 0;
}

/* "UTC", "UTC+HH:MM" or "UTC-HH:MM" (case-insensitive), offsets up to 14:00. */
static int parse_offset(const char *s, int *offset_min, char *err, size_t err_len)
{
    if (strncasecmp(s, "utc", 3) != 0)
        return fail(err, err_len, "bad UTC offset '%s' (want UTC+HH:MM or UTC-HH:MM)", s);
    if (s[3] == '\0') {
        *offset_min = 0;
        return 0;
    }
    int h, m;
    if ((s[3] != '+' && s[3] != '-') || strlen(s + 4) != 5 || s[6] != ':' ||
        parse_clock(s + 4, &h, &m, NULL, 0) != 0)
        return fail(err, err_len, "bad UTC offset '%s' (want UTC+HH:MM or UTC-HH:MM)", s);
    if (h * 60 + m > 14 * 60)
        return fail(err, err_len, "UTC offset '%s' out of range -14:00..+14:00", s);
    *offset_min = (s[3] == '-' ? -1 : 1) * (h * 60 + m);
    return 0;
}

/* Returns 0 (Sunday) .. 6 (Saturday) for a 3-letter or full English day name, else -1. */
static int parse_weekday(const char *s)
{
    static const char *const full[] = {"sunday",   "monday", "tuesday", "wednesday",
                                       "thursday", "friday", "saturday"};
    for (int d = 0; d < 7; d++)
        if (strcasecmp(s, full[d]) == 0 || (strlen(s) == 3 && strncasecmp(s, full[d], 3) == 0))
            return d;
    return -1;
}

static int parse_every(const words_t *ws, schedule_t *out, char *err, size_t err_len)
{
    long n;
    if (ws->n != 3)
        return fail(err, err_len, "bad schedule: want 'every N minutes' or 'every N seconds'");
    if (!parse_int(ws->w[1], &n))
        return fail(err, err_len, "bad interval '%s': want a whole number", ws->w[1]);
    const char *unit = ws->w[2];
    if (strcasecmp(unit, "minutes") == 0 || strcasecmp(unit, "minute") == 0) {
        if (n < 1 || n > 1440)
            return fail(err, err_len, "every %ld minutes: N out of range 1-1440", n);
        out->every_ms = n * MS_PER_MIN;
    } else if (strcasecmp(unit, "seconds") == 0 || strcasecmp(unit, "second") == 0) {
        if (n < 1 || n > 86400)
            return fail(err, err_len, "every %ld seconds: N out of range 1-86400", n);
        out->every_ms = n * 1000;
    } else {
        return fail(err, err_len, "bad unit '%s': want minutes or seconds", unit);
    }
    out->kind = SCHED_EVERY;
    return 0;
}

int schedule_parse(const char *spec, schedule_t *out, char *err, size_t err_len)
{
    static const char usage[] =
        "want 'every N minutes', 'daily at HH:MM' or 'weekly on DAY at HH:MM', "
        "optionally followed by ' UTC+HH:MM'";
    words_t ws = {.n = 0};
    if (!spec || strlen(spec) >= sizeof ws.text)
        return fail(err, err_len, "bad schedule: empty or too long; %s", usage);
    strcpy(ws.text, spec);
    for (char *save = NULL, *tok = strtok_r(ws.text, " \t\r\n", &save); tok;
         tok = strtok_r(NULL, " \t\r\n", &save)) {
        if (ws.n == MAX_WORDS)
            return fail(err, err_len, "bad schedule '%s': too many words; %s", spec, usage);
        ws.w[ws.n++] = tok;
    }
    if (ws.n == 0)
        return fail(err, err_len, "empty schedule; %s", usage);

    schedule_t s;
    memset(&s, 0, sizeof s);
    if (ws.n >= 2 && strncasecmp(ws.w[ws.n - 1], "utc", 3) == 0) {
        if (parse_offset(ws.w[ws.n - 1], &s.utc_offset_min, err, err_len) != 0)
            return -1;
        ws.n--;
    }

    const char *first = ws.w[0];
    if (strcasecmp(first, "every") == 0) {
        if (parse_every(&ws, &s, err, err_len) != 0)
            return -1;
    } else if (strcasecmp(first, "daily") == 0) {
        if (ws.n != 3 || strcasecmp(ws.w[1], "at") != 0)
            return fail(err, err_len, "bad schedule '%s': want 'daily at HH:MM'", spec);
        if (parse_clock(ws.w[2], &s.hour, &s.minute, err, err_len) != 0)
            return -1;
        s.kind = SCHED_DAILY;
    } else if (strcasecmp(first, "weekly") == 0) {
        if (ws.n != 5 || strcasecmp(ws.w[1], "on") != 0 || strcasecmp(ws.w[3], "at") != 0)
            return fail(err, err_len, "bad schedule '%s': want 'weekly on DAY at HH:MM'", spec);
        s.weekday = parse_weekday(ws.w[2]);
        if (s.weekday < 0)
            return fail(err, err_len, "unknown day '%s' (want mon..sun or a full day name)",
                        ws.w[2]);
        if (parse_clock(ws.w[4], &s.hour, &s.minute, err, err_len) != 0)
            return -1;
        s.kind = SCHED_WEEKLY;
    } else {
        return fail(err, err_len, "bad schedule '%s'; %s", spec, usage);
    }
    *out = s;
    return 0;
}

/* All math runs on "local" ms (UTC shifted by the fixed offset), so slots, midnights and
 * weekdays fall where a person in that zone expects them. */
int64_t schedule_next(const schedule_t *s, int64_t after_ms)
{
    int64_t off = (int64_t)s->utc_offset_min * MS_PER_MIN;
    int64_t local = after_ms + off;
    int64_t next;
    switch (s->kind) {
    case SCHED_EVERY:
        next = (floor_div(local, s->every_ms) + 1) * s->every_ms;
        break;
    case SCHED_DAILY:
        next = floor_div(local, MS_PER_DAY) * MS_PER_DAY +
               (s->hour * 60 + s->minute) * MS_PER_MIN;
        if (next <= local)
            next += MS_PER_DAY;
        break;
    case SCHED_WEEKLY: {
        int64_t day = floor_div(local, MS_PER_DAY);
        int weekday = (int)(((day + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday */
        int ahead = (s->weekday - weekday + 7) % 7;
        next = (day + ahead) * MS_PER_DAY + (s->hour * 60 + s->minute) * MS_PER_MIN;
        if (next <= local)
            next += MS_PER_WEEK;
        break;
    }
    default:
        return -1;
    }
    return next - off;
}
