/* jobs: `mlc jobs [TENANT] [--state S] [--type T] [--limit N] [--json]` and `mlc jobs show
 * TENANT ID [--json]`: the job lifecycle as Redis holds it (K_JOBLOG, the state sets
 * K_QUEUE / K_LEASES / K_RETRY / K_DLQ, the job hashes). Read only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "keys.h"
#include "tenant.h"
#include "util.h"

#define LOAD_BATCH    200
#define DEFAULT_LIMIT 20
#define ERROR_WIDTH   100

#define JOBS_USAGE                                                                          \
    "usage: mlc jobs [TENANT] [--state queued|running|retry|dead|done] [--type T] [--limit N]"\
    " [--json]\n"                                                                            \
    "       mlc jobs show TENANT ID [--json]\n"

static const char *const STATES[] = { "queued", "running", "retry", "dead", "done" };
#define NSTATES (sizeof STATES / sizeof STATES[0])

/* ---- shared with dlq.c (cli.h) ------------------------------------------------------------ */

json_t *cli_tenants(rds_t *r, const char *cmd, const char *tenant)
{
    if (!tenant) {
        int n;
        char **ids = tenant_ids(r, &n);
        json_t *all = json_array();
        for (int i = 0; i < n; i++)
            json_array_append_new(all, json_string(ids[i]));
        tenant_ids_free(ids, n);
        return all;
    }
    redisReply *rep = rds_cmd(r, "SISMEMBER %s %s", K_TENANTS, tenant);
    long long member = rep && rep->type == REDIS_REPLY_INTEGER ? rep->integer : -1;
    if (rep)
        freeReplyObject(rep);
    if (member == 1)
        return json_pack("[s]", tenant);
    if (member == 0)
        fprintf(stderr, "mlc %s: unknown tenant %s (see `mlc tenant list`)\n", cmd, tenant);
    else
        fprintf(stderr, "mlc %s: cannot read the tenants from Redis\n", cmd);
    return NULL;
}

/* True for the hash fields that hold integers. */
static bool numeric_field(const char *k)
{
    size_t n = strlen(k);
    return strcmp(k, "attempt") == 0 || strcmp(k, "max_attempts") == 0 ||
           strcmp(k, "lease_until") == 0 || strcmp(k, "not_before") == 0 ||
           str_starts(k, "children") || (n > 3 && strcmp(k + n - 3, "_ms") == 0);
}

/* A flat HGETALL reply as a JSON object (pure). */
static json_t *job_object(const redisReply *rep)
{
    json_t *o = json_object();
    for (size_t i = 0; i + 1 < rep->elements; i += 2) {
        const char *k = rep->element[i]->str, *v = rep->element[i + 1]->str;
        if (!k || !v)
            continue;
        if (numeric_field(k))
            json_object_set_new(o, k, json_integer(rds_int(rep->element[i + 1], 0)));
        else
            json_object_set_new(o, k, json_string(v));
    }
    return o;
}

json_t *cli_jobs_load(rds_t *r, const char *tenant, char *const *ids, size_t n)
{
    size_t appended = 0;
    for (; appended < n; appended++) {
        char *key = xasprintf(K_JOB, tenant, ids[appended]);
        int rc = rds_append(r, "HGETALL %s", key);
        free(key);
        if (rc != 0)
            break;
    }
    json_t *out = appended == n ? json_array() : NULL;
    for (size_t i = 0; i < appended; i++) {
        redisReply *rep = rds_get_reply(r);
        if (!rep || rep->type != REDIS_REPLY_ARRAY) {
            json_decref(out);
            out = NULL;
            if (!rep)
                break; /* connection lost: the other replies are gone with it */
        } else if (out && rep->elements > 0) {
            json_array_append_new(out, job_object(rep));
        }
        freeReplyObject(rep);
    }
    return out;
}

const char *cli_str(const json_t *o, const char *k, const char *def)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : def;
}

const char *cli_when(int64_t ms, char *buf, size_t len)
{
    if (ms <= 0) {
        snprintf(buf, len, "-");
        return buf;
    }
    int64_t d = ms - now_ms();
    bool future = d > 0;
    long long s = (long long)(future ? d : -d) / 1000;
    char span[32];
    if (s < 120)
        snprintf(span, sizeof span, "%llds", s);
    else if (s < 120 * 60)
        snprintf(span, sizeof span, "%lldm", s / 60);
    else if (s < 48 * 3600)
        snprintf(span, sizeof span, "%lldh", s / 3600);
    else
        snprintf(span, sizeof span, "%lldd", s / 86400);
    snprintf(buf, len, future ? "in %s" : "%s ago", span);
    return buf;
}

/* ---- reading ------------------------------------------------------------------------------ */

typedef struct {
    char  **v;
    size_t  n;
} idlist_t;

static void idlist_free(idlist_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* Appends the members of ZSET key (rev: highest score first) to l. 0, or -1 on failure. */
static int zset_ids(rds_t *r, const char *key, bool rev, idlist_t *l)
{
    redisReply *rep = rds_cmd(r, "%s %s 0 -1", rev ? "ZREVRANGE" : "ZRANGE", key);
    if (!rep || rep->type != REDIS_REPLY_ARRAY) {
        if (rep)
            freeReplyObject(rep);
        return -1;
    }
    l->v = xrealloc(l->v, sizeof *l->v * (l->n + rep->elements + 1));
    for (size_t i = 0; i < rep->elements; i++)
        l->v[l->n++] = rds_str(rep->element[i]);
    freeReplyObject(rep);
    return 0;
}

/* The K_QUEUE keys of tenant (one per service that ever had a queue). 0, or -1. */
static int queue_keys(rds_t *r, const char *tenant, idlist_t *keys)
{
    char *pattern = xasprintf(K_QUEUE, tenant, "*");
    char cursor[32] = "0";
    int rc = 0;
    do {
        redisReply *rep = rds_cmd(r, "SCAN %s MATCH %s COUNT 1000", cursor, pattern);
        if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
            rep->element[1]->type != REDIS_REPLY_ARRAY) {
            if (rep)
                freeReplyObject(rep);
            rc = -1;
            break;
        }
        snprintf(cursor, sizeof cursor, "%s", rep->element[0]->str ? rep->element[0]->str : "0");
        const redisReply *found = rep->element[1];
        keys->v = xrealloc(keys->v, sizeof *keys->v * (keys->n + found->elements + 1));
        for (size_t i = 0; i < found->elements; i++)
            keys->v[keys->n++] = rds_str(found->element[i]);
        freeReplyObject(rep);
    } while (strcmp(cursor, "0") != 0);
    free(pattern);
    return rc;
}

/* The ids a listing walks: every queue (oldest first) for queued, K_LEASES for running,
 * K_RETRY for retry (by due time), K_DLQ newest first for dead, else K_JOBLOG newest first. */
static int source_ids(rds_t *r, const char *tenant, const char *state, idlist_t *ids)
{
    if (state && strcmp(state, "queued") == 0) {
        idlist_t keys = { 0 };
        int rc = queue_keys(r, tenant, &keys);
        for (size_t i = 0; rc == 0 && i < keys.n; i++)
            rc = zset_ids(r, keys.v[i], false, ids);
        idlist_free(&keys);
        return rc;
    }
    bool running = state && strcmp(state, "running") == 0;
    bool retry = state && strcmp(state, "retry") == 0;
    bool dead = state && strcmp(state, "dead") == 0;
    char *key = xasprintf(running ? K_LEASES : retry ? K_RETRY : dead ? K_DLQ : K_JOBLOG, tenant);
    int rc = zset_ids(r, key, !running && !retry, ids);
    free(key);
    return rc;
}

/* ZCARD key, -1 on a Redis failure. */
static long long zcard(rds_t *r, const char *key)
{
    redisReply *rep = rds_cmd(r, "ZCARD %s", key);
    long long n = rep && rep->type == REDIS_REPLY_INTEGER ? rep->integer : -1;
    if (rep)
        freeReplyObject(rep);
    return n;
}

/* How many of the jobs in K_JOBLOG are done (pipelined HGET state). -1 on failure. */
static long long count_done(rds_t *r, const char *tenant, const idlist_t *joblog)
{
    long long done = 0;
    for (size_t at = 0; at < joblog->n; at += 1000) {
        size_t end = at + 1000 < joblog->n ? at + 1000 : joblog->n, appended = at;
        for (; appended < end; appended++) {
            char *key = xasprintf(K_JOB, tenant, joblog->v[appended]);
            int rc = rds_append(r, "HGET %s state", key);
            free(key);
            if (rc != 0)
                break;
        }
        bool ok = appended == end;
        for (size_t i = at; i < appended; i++) {
            redisReply *rep = rds_get_reply(r);
            if (!rep) {
                ok = false;
                break;
            }
            done += rep->type == REDIS_REPLY_STRING && strcmp(rep->str, "done") == 0;
            freeReplyObject(rep);
        }
        if (!ok)
            return -1;
    }
    return done;
}

/* {queued, running, retry, dead, done} of tenant; done counts the jobs of K_JOBLOG (done
 * jobs expire after MLC_JOB_TTL_S). NULL on a Redis failure. */
static json_t *state_counts(rds_t *r, const char *tenant)
{
    idlist_t qkeys = { 0 }, joblog = { 0 };
    long long queued = 0;
    int rc = queue_keys(r, tenant, &qkeys);
    for (size_t i = 0; rc == 0 && i < qkeys.n; i++) {
        long long n = zcard(r, qkeys.v[i]);
        rc = n < 0 ? -1 : 0;
        queued += n;
    }
    idlist_free(&qkeys);
    const char *fmts[] = { K_LEASES, K_RETRY, K_DLQ };
    long long c[3] = { 0 };
    for (int i = 0; rc == 0 && i < 3; i++) {
        char *key = xasprintf(fmts[i], tenant);
        c[i] = zcard(r, key);
        rc = c[i] < 0 ? -1 : 0;
        free(key);
    }
    char *log_key = xasprintf(K_JOBLOG, tenant);
    if (rc == 0)
        rc = zset_ids(r, log_key, true, &joblog);
    free(log_key);
    long long done = rc == 0 ? count_done(r, tenant, &joblog) : -1;
    idlist_free(&joblog);
    if (done < 0)
        return NULL;
    return json_pack("{s:I, s:I, s:I, s:I, s:I}", "queued", (json_int_t)queued, "running",
                     (json_int_t)c[0], "retry", (json_int_t)c[1], "dead", (json_int_t)c[2],
                     "done", (json_int_t)done);
}

typedef struct {
    const char *tenant;
    const char *state;
    const char *type;
    long        limit;
    bool        json;
} jobs_opts_t;


static int64_t int_of(const json_t *job, const char *k)
{
    return (int64_t)json_integer_value(json_object_get(job, k));
}

/* Appends to out up to o->limit jobs of tenant that match the filters. 0, or -1. */
static int list_tenant(rds_t *r, const char *tenant, const jobs_opts_t *o, json_t *out)
{
    idlist_t ids = { 0 };
    if (source_ids(r, tenant, o->state, &ids) != 0) {
        idlist_free(&ids);
        return -1;
    }
    long taken = 0;
    int rc = 0;
    for (size_t at = 0; at < ids.n && taken < o->limit; at += LOAD_BATCH) {
        size_t n = ids.n - at < LOAD_BATCH ? ids.n - at : LOAD_BATCH;
        json_t *batch = cli_jobs_load(r, tenant, ids.v + at, n);
        if (!batch) {
            rc = -1;
            break;
        }
        size_t i;
        json_t *job;
        json_array_foreach(batch, i, job) {
            if (taken >= o->limit)
                break;
            if ((o->state && strcmp(cli_str(job, "state", ""), o->state) != 0) ||
                (o->type && strcmp(cli_str(job, "type", ""), o->type) != 0))
                continue;
            json_array_append(out, job);
            taken++;
        }
        json_decref(batch);
    }
    idlist_free(&ids);
    return rc;
}

/* ---- printing ----------------------------------------------------------------------------- */

/* What the time of a job means in its state: "retry in 4s", "lease ends in 20s", ... */
static void job_when(const json_t *job, char *buf, size_t len)
{
    const char *st = cli_str(job, "state", "");
    char t[32];
    if (strcmp(st, "retry") == 0)
        snprintf(buf, len, "retry %s", cli_when(int_of(job, "not_before"), t, sizeof t));
    else if (strcmp(st, "running") == 0)
        snprintf(buf, len, "lease ends %s", cli_when(int_of(job, "lease_until"), t, sizeof t));
    else
        snprintf(buf, len, "%s %s", strcmp(st, "dead") == 0 ? "died" : st,
                 cli_when(int_of(job, "updated_ms"), t, sizeof t));
}

#define NCOLS 8

/* One table row: columns padded to w, the last (the error) cut at ERROR_WIDTH. */
static void print_row(const int w[NCOLS], char *const cell[NCOLS])
{
    for (int c = 0; c < NCOLS - 1; c++)
        printf("%-*s  ", w[c], cell[c]);
    printf("%.*s\n", ERROR_WIDTH, cell[NCOLS - 1]);
}

/* The jobs as a table with a header, columns as wide as their widest cell. */
static void print_jobs_table(const json_t *jobs)
{
    static char *const head[NCOLS] = { "ID", "TENANT", "TYPE", "REF", "STATE", "TRY", "WHEN",
                                       "ERROR" };
    size_t n = json_array_size(jobs);
    char *(*rows)[NCOLS] = xcalloc(n ? n : 1, sizeof *rows);
    int w[NCOLS];
    for (int c = 0; c < NCOLS; c++)
        w[c] = (int)strlen(head[c]);
    for (size_t i = 0; i < n; i++) {
        const json_t *job = json_array_get(jobs, i);
        char when[64];
        job_when(job, when, sizeof when);
        rows[i][0] = xstrdup(cli_str(job, "id", ""));
        rows[i][1] = xstrdup(cli_str(job, "tenant", ""));
        rows[i][2] = xstrdup(cli_str(job, "type", ""));
        rows[i][3] = xstrdup(cli_str(job, "ref", ""));
        rows[i][4] = xstrdup(cli_str(job, "state", ""));
        rows[i][5] = xasprintf("%lld/%lld", (long long)int_of(job, "attempt"),
                               (long long)int_of(job, "max_attempts"));
        rows[i][6] = xstrdup(when);
        rows[i][7] = xstrdup(cli_str(job, "error", ""));
        for (int c = 0; c < NCOLS; c++)
            if ((int)strlen(rows[i][c]) > w[c])
                w[c] = (int)strlen(rows[i][c]);
    }
    print_row(w, head);
    for (size_t i = 0; i < n; i++) {
        print_row(w, rows[i]);
        for (int c = 0; c < NCOLS; c++)
            free(rows[i][c]);
    }
    free(rows);
}

/* The per-tenant state counts as a table. */
static void print_counts(const json_t *counts)
{
    int w = 6;
    const char *t;
    json_t *c;
    json_object_foreach((json_t *)counts, t, c)
        if ((int)strlen(t) > w)
            w = (int)strlen(t);
    printf("%-*s", w, "TENANT");
    for (size_t s = 0; s < NSTATES; s++)
        printf("  %8s", STATES[s]);
    printf("\n");
    json_object_foreach((json_t *)counts, t, c) {
        printf("%-*s", w, t);
        for (size_t s = 0; s < NSTATES; s++)
            printf("  %8lld", (long long)int_of(c, STATES[s]));
        printf("\n");
    }
}

/* ---- commands ----------------------------------------------------------------------------- */

/* Field order of `jobs show`: the job model's fields, then any other field by name. */
static const char *const SHOW_ORDER[] = {
    "id", "tenant", "service", "type", "ref", "parent", "state", "attempt", "max_attempts",
    "created_ms", "updated_ms", "lease_until", "worker", "not_before", "error", "payload",
    "result", "children", "children_done", "children_dead" };

/* One `jobs show` line; times also as ISO 8601 and relative to now. */
static void print_field(const char *k, const json_t *v)
{
    if (json_is_integer(v)) {
        long long n = (long long)json_integer_value(v);
        bool when = n > 0 && (strcmp(k, "lease_until") == 0 || strcmp(k, "not_before") == 0 ||
                              strstr(k, "_ms"));
        char iso[40], rel[32];
        if (when)
            printf("%-14s %lld  (%s, %s)\n", k, n, iso8601_ms(n, iso, sizeof iso),
                   cli_when(n, rel, sizeof rel));
        else
            printf("%-14s %lld\n", k, n);
    } else {
        printf("%-14s %s\n", k, json_string_value(v));
    }
}

/* `mlc jobs show TENANT ID [--json]` (argv[0] = "show"): 0, 1 unknown tenant / job or Redis
 * failure, 2 usage. */
static int jobs_show(rds_t *r, int argc, char **argv)
{
    const char *tenant = NULL, *id = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (argv[i][0] != '-' && !tenant) {
            tenant = argv[i];
        } else if (argv[i][0] != '-' && !id) {
            id = argv[i];
        } else {
            fprintf(stderr, "mlc jobs show: unexpected argument %s\n" JOBS_USAGE, argv[i]);
            return 2;
        }
    }
    if (!id) {
        fprintf(stderr, JOBS_USAGE);
        return 2;
    }
    json_t *tenants = cli_tenants(r, "jobs show", tenant);
    if (!tenants)
        return 1;
    json_decref(tenants);
    char *ids[] = { (char *)id };
    json_t *found = cli_jobs_load(r, tenant, ids, 1);
    if (!found) {
        fprintf(stderr, "mlc jobs show: cannot read job %s from Redis\n", id);
        return 1;
    }
    json_t *job = json_incref(json_array_get(found, 0));
    json_decref(found);
    if (!job) {
        fprintf(stderr, "mlc jobs show: tenant %s has no job %s (done jobs expire after "
                        "MLC_JOB_TTL_S, default 24 h)\n", tenant, id);
        return 1;
    }
    if (json) {
        cli_print_json(job);
        return 0;
    }
    for (size_t i = 0; i < sizeof SHOW_ORDER / sizeof SHOW_ORDER[0]; i++) {
        json_t *v = json_object_get(job, SHOW_ORDER[i]);
        if (v)
            print_field(SHOW_ORDER[i], v);
        json_object_del(job, SHOW_ORDER[i]);
    }
    const char *k;
    json_t *v;
    json_object_foreach(job, k, v) print_field(k, v);
    json_decref(job);
    return 0;
}

/* Parses the options of `mlc jobs`: 0 ok, 1 --help printed, 2 usage error printed. */
static int jobs_parse(int argc, char **argv, jobs_opts_t *o)
{
    *o = (jobs_opts_t){ .limit = DEFAULT_LIMIT };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--json") == 0) {
            o->json = true;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            printf(JOBS_USAGE
                   "Counts per state per tenant (done: among the newest 10,000 jobs; done jobs\n"
                   "expire after MLC_JOB_TTL_S), then the newest jobs (--state: that state's\n"
                   "set: queued oldest first, retry by due time, dead newest first), at most\n"
                   "--limit per tenant (default %d). `show` prints every field of one job.\n",
                   DEFAULT_LIMIT);
            return 1;
        } else if (strcmp(a, "--state") == 0 && val) {
            o->state = argv[++i];
            size_t s = 0;
            while (s < NSTATES && strcmp(STATES[s], o->state) != 0)
                s++;
            if (s == NSTATES) {
                fprintf(stderr, "mlc jobs: unknown state %s (queued, running, retry, dead, done)\n",
                        o->state);
                return 2;
            }
        } else if (strcmp(a, "--type") == 0 && val) {
            o->type = argv[++i];
        } else if (strcmp(a, "--limit") == 0 && val) {
            char *end;
            o->limit = strtol(argv[++i], &end, 10);
            if (*end || o->limit < 1) {
                fprintf(stderr, "mlc jobs: --limit wants a positive number, not %s\n", argv[i]);
                return 2;
            }
        } else if (a[0] != '-' && !o->tenant) {
            o->tenant = a;
        } else {
            fprintf(stderr, "mlc jobs: unexpected argument %s\n" JOBS_USAGE, a);
            return 2;
        }
    }
    return 0;
}

/* `mlc jobs`: 0, 1 on an unknown tenant or a Redis failure (after saying so), 2 usage. */
int cmd_jobs(int argc, char **argv)
{
    bool show = argc > 1 && strcmp(argv[1], "show") == 0;
    jobs_opts_t o;
    if (!show) {
        int prc = jobs_parse(argc, argv, &o);
        if (prc)
            return prc == 1 ? 0 : 2;
    }
    rds_t *r = cli_redis();
    if (!r)
        return 1;
    if (show) {
        int rc = jobs_show(r, argc - 1, argv + 1);
        rds_destroy(&r);
        return rc;
    }
    json_t *tenants = cli_tenants(r, "jobs", o.tenant);
    if (!tenants) {
        rds_destroy(&r);
        return 1;
    }
    json_t *counts = json_object(), *jobs = json_array();
    int rc = 0;
    size_t i;
    json_t *t;
    json_array_foreach(tenants, i, t) {
        const char *tenant = json_string_value(t);
        json_t *c = state_counts(r, tenant);
        if (!c || list_tenant(r, tenant, &o, jobs) != 0) {
            fprintf(stderr, "mlc jobs: cannot read the jobs of %s from Redis\n", tenant);
            json_decref(c);
            rc = 1;
            break;
        }
        json_object_set_new(counts, tenant, c);
    }
    if (rc == 0 && o.json) {
        cli_print_json(json_pack("{s:O, s:O}", "counts", counts, "jobs", jobs));
    } else if (rc == 0) {
        print_counts(counts);
        printf("\n");
        if (json_array_size(jobs))
            print_jobs_table(jobs);
        else
            printf("no %s%sjobs%s%s\n", o.state ? o.state : "", o.state ? " " : "",
                   o.type ? " of type " : "", o.type ? o.type : "");
    }
    json_decref(counts);
    json_decref(jobs);
    json_decref(tenants);
    rds_destroy(&r);
    return rc;
}
