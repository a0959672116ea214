/* Unit tests for common/schedule.c: parsing and UTC / fixed-offset next-run math. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "schedule.h"
#include "util.h"

static schedule_t parse_ok(const char *spec)
{
    schedule_t s;
    char err[128] = "";
    if (schedule_parse(spec, &s, err, sizeof err) != 0)
        fail_msg("'%s' rejected: %s", spec, err);
    return s;
}

static int64_t at(const char *iso)
{
    int64_t ms = parse_iso8601(iso);
    assert_int_not_equal(ms, -1);
    return ms;
}

/* Asserts that the first run of spec strictly after `after` is `want` (ISO strings). */
static void expect_next(const char *spec, const char *after, const char *want)
{
    schedule_t s = parse_ok(spec);
    int64_t got = schedule_next(&s, at(after));
    char buf[32];
    if (got != at(want))
        fail_msg("%s after %s: got %s, want %s", spec, after, iso8601_ms(got, buf, sizeof buf),
                 want);
}

static void test_parse_forms(void **state)
{
    (void)state;
    schedule_t s = parse_ok("every 5 minutes");
    assert_int_equal(s.kind, SCHED_EVERY);
    assert_int_equal(s.every_ms, 300000);
    assert_int_equal(s.utc_offset_min, 0);
    s = parse_ok("  Every 1 Minute ");
    assert_int_equal(s.every_ms, 60000);
    s = parse_ok("every 1440 minutes");
    assert_int_equal(s.every_ms, 86400000);
    s = parse_ok("every 2 seconds");
    assert_int_equal(s.every_ms, 2000);
    s = parse_ok("daily at 06:30");
    assert_int_equal(s.kind, SCHED_DAILY);
    assert_int_equal(s.hour, 6);
    assert_int_equal(s.minute, 30);
    s = parse_ok("daily at 7:05 UTC+02:00");
    assert_int_equal(s.hour, 7);
    assert_int_equal(s.minute, 5);
    assert_int_equal(s.utc_offset_min, 120);
    s = parse_ok("weekly on mon at 09:00");
    assert_int_equal(s.kind, SCHED_WEEKLY);
    assert_int_equal(s.weekday, 1);
    assert_int_equal(s.hour, 9);
    s = parse_ok("WEEKLY ON Sunday AT 23:59 utc-05:30");
    assert_int_equal(s.weekday, 0);
    assert_int_equal(s.utc_offset_min, -330);
    s = parse_ok("weekly on sat at 00:00 UTC");
    assert_int_equal(s.weekday, 6);
    assert_int_equal(s.utc_offset_min, 0);
}

/* Each bad spec is rejected with a message containing the given words. */
static void test_parse_errors(void **state)
{
    (void)state;
    static const struct {
        const char *spec, *words;
    } cases[] = {
        {"daily at 25:00", "hour 25 out of range 0-23"},
        {"daily at 10:60", "minute 60 out of range 0-59"},
        {"daily at 1000", "bad time '1000'"},
        {"daily at 10:5", "bad time"},
        {"daily 10:00", "daily at HH:MM"},
        {"every 0 minutes", "out of range 1-1440"},
        {"every 1441 minutes", "out of range 1-1440"},
        {"every 0 seconds", "out of range"},
        {"every five minutes", "bad interval 'five'"},
        {"every -5 minutes", "bad interval"},
        {"every 5 hours", "bad unit 'hours'"},
        {"every 5", "every N minutes"},
        {"weekly on funday at 09:00", "unknown day 'funday'"},
        {"weekly on mon 09:00", "weekly on DAY at HH:MM"},
        {"weekly on mon at 24:00", "hour 24 out of range"},
        {"daily at 09:00 UTC+5", "bad UTC offset"},
        {"daily at 09:00 UTC+15:00", "out of range"},
        {"daily at 09:00 utc*01:00", "bad UTC offset"},
        {"hourly", "want 'every N minutes'"},
        {"", "empty schedule"},
        {"   ", "empty schedule"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        schedule_t s;
        char err[256] = "";
        if (schedule_parse(cases[i].spec, &s, err, sizeof err) != -1)
            fail_msg("'%s' accepted", cases[i].spec);
        if (!strstr(err, cases[i].words))
            fail_msg("'%s': message '%s' lacks '%s'", cases[i].spec, err, cases[i].words);
    }
    schedule_t s;
    assert_int_equal(schedule_parse(NULL, &s, NULL, 0), -1);
}

static void test_every_alignment(void **state)
{
    (void)state;
    expect_next("every 5 minutes", "2024-03-10T10:02:13Z", "2024-03-10T10:05:00Z");
    /* Strictly after: exactly on a slot goes to the next slot. */
    expect_next("every 5 minutes", "2024-03-10T10:05:00Z", "2024-03-10T10:10:00Z");
    expect_next("every 5 minutes", "2024-03-10T10:04:59.999Z", "2024-03-10T10:05:00Z");
    expect_next("every 15 minutes", "2024-12-31T23:50:00Z", "2025-01-01T00:00:00Z");
    expect_next("every 1440 minutes", "2024-02-28T12:00:00Z", "2024-02-29T00:00:00Z");
    expect_next("every 10 seconds", "2024-03-10T10:00:05Z", "2024-03-10T10:00:10Z");
    /* Slots are multiples of every_ms since the epoch, so two schedulers agree. */
    schedule_t s = parse_ok("every 7 minutes");
    int64_t a = schedule_next(&s, at("2024-03-10T10:00:00Z"));
    int64_t b = schedule_next(&s, at("2024-03-10T10:00:01Z"));
    assert_int_equal(a, b);
    assert_int_equal(a % (7 * 60000), 0);
    /* With an offset, slots align to local time: hourly at local :00 of UTC+05:30. */
    expect_next("every 60 minutes UTC+05:30", "2024-03-10T10:10:00Z", "2024-03-10T10:30:00Z");
}

static void test_daily(void **state)
{
    (void)state;
    expect_next("daily at 06:30", "2024-03-10T05:00:00Z", "2024-03-10T06:30:00Z");
    expect_next("daily at 06:30", "2024-03-10T06:30:00Z", "2024-03-11T06:30:00Z");
    expect_next("daily at 06:30", "2024-03-10T06:30:00.001Z", "2024-03-11T06:30:00Z");
    expect_next("daily at 00:00", "2024-03-10T00:00:00Z", "2024-03-11T00:00:00Z");
    /* Month, leap-day and year rollover. */
    expect_next("daily at 06:30", "2024-01-31T07:00:00Z", "2024-02-01T06:30:00Z");
    expect_next("daily at 06:30", "2024-02-28T07:00:00Z", "2024-02-29T06:30:00Z");
    expect_next("daily at 06:30", "2023-02-28T07:00:00Z", "2023-03-01T06:30:00Z");
    expect_next("daily at 23:59", "2024-12-31T23:59:30Z", "2025-01-01T23:59:00Z");
    expect_next("daily at 00:15", "2024-12-31T23:00:00Z", "2025-01-01T00:15:00Z");
    /* Fixed offsets: 09:00 at UTC+02:00 is 07:00Z; at UTC-05:00 it is 14:00Z. */
    expect_next("daily at 09:00 UTC+02:00", "2024-03-10T06:00:00Z", "2024-03-10T07:00:00Z");
    expect_next("daily at 09:00 UTC+02:00", "2024-03-10T07:00:00Z", "2024-03-11T07:00:00Z");
    expect_next("daily at 09:00 UTC-05:00", "2024-03-10T15:00:00Z", "2024-03-11T14:00:00Z");
    /* Local day differs from the UTC day: 01:00 at UTC+03:00 is 22:00Z the day before. */
    expect_next("daily at 01:00 UTC+03:00", "2024-03-10T21:00:00Z", "2024-03-10T22:00:00Z");
}

static void test_weekly(void **state)
{
    (void)state;
    /* 2024-01-01 was a Monday. */
    expect_next("weekly on mon at 09:00", "2024-01-01T09:00:00Z", "2024-01-08T09:00:00Z");
    expect_next("weekly on mon at 09:00", "2024-01-01T08:59:59Z", "2024-01-01T09:00:00Z");
    expect_next("weekly on monday at 09:00", "2024-01-03T12:00:00Z", "2024-01-08T09:00:00Z");
    expect_next("weekly on sun at 18:00", "2024-01-01T00:00:00Z", "2024-01-07T18:00:00Z");
    expect_next("weekly on fri at 17:00", "2024-12-28T00:00:00Z", "2025-01-03T17:00:00Z");
    expect_next("weekly on thu at 00:00", "1970-01-01T00:00:00Z", "1970-01-08T00:00:00Z");
    /* Monday 08:00 at UTC+10:00 is Sunday 22:00Z. */
    expect_next("weekly on mon at 08:00 UTC+10:00", "2024-01-01T12:00:00Z",
                "2024-01-07T22:00:00Z");
    expect_next("weekly on mon at 08:00 UTC+10:00", "2024-01-07T22:00:00Z",
                "2024-01-14T22:00:00Z");
    /* Friday 20:00 at UTC-06:00 is Saturday 02:00Z. */
    expect_next("weekly on fri at 20:00 UTC-06:00", "2024-01-05T00:00:00Z",
                "2024-01-06T02:00:00Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_forms), cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_every_alignment), cmocka_unit_test(test_daily),
        cmocka_unit_test(test_weekly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
