/* synclog: see synclog.h. */
#include "synclog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "util.h"

const int64_t SYNCLOG_BOUNDS_MS[SYNCLOG_NBOUNDS] = { 100, 250, 500, 1000, 2500, 5000, 10000,
                                                     30000, 60000, 300000 };

int synclog_bucket(int64_t ms)
{
    int i = 0;
    while (i < SYNCLOG_NBOUNDS && ms > SYNCLOG_BOUNDS_MS[i])
        i++;
    return i;
}

/* The histogram field of bucket i: "le_<ms>", or "le_inf" for the last. */
static void bucket_field(int i, char out[32])
{
    if (i < SYNCLOG_NBOUNDS)
        snprintf(out, 32, "le_%lld", (long long)SYNCLOG_BOUNDS_MS[i]);
    else
        snprintf(out, 32, "le_inf");
}

int synclog_append(rds_t *r, const char *tenant, const char *flow, const synclog_run_t *run)
{
    char *log_key = xasprintf(K_SYNC_LOG, tenant, flow);
    char *hist_key = xasprintf(K_SYNC_HIST, tenant, flow);
    char field[32];
    bucket_field(synclog_bucket(run->duration_ms), field);
    int n = 0;
    n += rds_append(r, "XADD %s MAXLEN ~ %d * finished_ms %lld records %ld changed %ld "
                       "duration_ms %lld ok %d", log_key, SYNCLOG_MAXLEN,
                    (long long)run->finished_ms, run->records, run->changed,
                    (long long)run->duration_ms, run->ok ? 1 : 0) == 0;
    n += rds_append(r, "HINCRBY %s %s 1", hist_key, field) == 0;
    n += rds_append(r, "HINCRBY %s sum_ms %lld", hist_key, (long long)run->duration_ms) == 0;
    int rc = n == 3 ? 0 : -1;
    rc |= rds_drain(r, n);
    free(log_key);
    free(hist_key);
    return rc;
}

/* Fills run from the field/value array of one stream entry (missing fields stay 0). */
static void parse_entry(const redisReply *fields, synclog_run_t *run)
{
    memset(run, 0, sizeof *run);
    for (size_t i = 0; fields->type == REDIS_REPLY_ARRAY && i + 1 < fields->elements; i += 2) {
        const char *k = fields->element[i]->str, *v = fields->element[i + 1]->str;
        if (!k || !v)
            continue;
        long long x = strtoll(v, NULL, 10);
        if (strcmp(k, "finished_ms") == 0)
            run->finished_ms = x;
        else if (strcmp(k, "records") == 0)
            run->records = (long)x;
        else if (strcmp(k, "changed") == 0)
            run->changed = (long)x;
        else if (strcmp(k, "duration_ms") == 0)
            run->duration_ms = x;
        else if (strcmp(k, "ok") == 0)
            run->ok = x != 0;
    }
}

int synclog_read(rds_t *r, const char *tenant, const char *flow, int max, synclog_run_t **runs)
{
    *runs = NULL;
    char *key = xasprintf(K_SYNC_LOG, tenant, flow);
    redisReply *rep = rds_cmd(r, "XREVRANGE %s + - COUNT %d", key, max > 0 ? max : 1);
    free(key);
    if (!rds_ok(rep) || rep->type != REDIS_REPLY_ARRAY) {
        if (rep)
            freeReplyObject(rep);
        return -1;
    }
    int n = 0;
    if (rep->elements)
        *runs = xcalloc(rep->elements, sizeof **runs);
    /* Newest first in the reply: fill from the end so the result is oldest first. */
    for (size_t i = 0; i < rep->elements; i++) {
        const redisReply *e = rep->element[i];
        if (e->type == REDIS_REPLY_ARRAY && e->elements == 2)
            parse_entry(e->element[1], &(*runs)[rep->elements - 1 - (size_t)n++]);
    }
    if (n < (int)rep->elements)   /* malformed entries left holes at the front */
        memmove(*runs, *runs + (rep->elements - (size_t)n), (size_t)n * sizeof **runs);
    freeReplyObject(rep);
    return n;
}

int synclog_hist_read(rds_t *r, const char *tenant, const char *flow,
                      uint64_t counts[SYNCLOG_NBOUNDS + 1], int64_t *sum_ms)
{
    memset(counts, 0, (SYNCLOG_NBOUNDS + 1) * sizeof *counts);
    *sum_ms = 0;
    char *key = xasprintf(K_SYNC_HIST, tenant, flow);
    redisReply *rep = rds_cmd(r, "HGETALL %s", key);
    free(key);
    int rc = rds_ok(rep) && rep->type == REDIS_REPLY_ARRAY ? 0 : -1;
    for (size_t i = 0; rc == 0 && i + 1 < rep->elements; i += 2) {
        const char *k = rep->element[i]->str;
        long long v = strtoll(rep->element[i + 1]->str ? rep->element[i + 1]->str : "0", NULL, 10);
        if (!k)
            continue;
        if (strcmp(k, "sum_ms") == 0) {
            *sum_ms = v;
            continue;
        }
        char field[32];
        for (int b = 0; b <= SYNCLOG_NBOUNDS; b++) {
            bucket_field(b, field);
            if (strcmp(k, field) == 0 && v > 0)
                counts[b] = (uint64_t)v;
        }
    }
    if (rep)
        freeReplyObject(rep);
    return rc;
}
