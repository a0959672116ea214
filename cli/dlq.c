/* dlq: `mlc dlq list [TENANT] [--json]` shows the dead jobs (K_DLQ) with their reason and time
 * of death; `mlc dlq replay TENANT ID|--all` gives dead jobs a new life: each is re-queued in
 * Redis by job_replay (atomic, full attempts again), then published to the broker. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "cli.h"
#include "config.h"
#include "job.h"
#include "keys.h"
#include "util.h"

#define DLQ_USAGE                                                                           \
    "usage: mlc dlq list [TENANT] [--json]\n"                                                \
    "       mlc dlq replay TENANT ID|--all\n"

/* The dead jobs of tenant, newest death first, each with died_ms (its K_DLQ score).
 * NULL on a Redis failure. */
static json_t *dead_jobs(rds_t *r, const char *tenant)
{
    char *key = xasprintf(K_DLQ, tenant);
    redisReply *rep = rds_cmd(r, "ZREVRANGE %s 0 -1 WITHSCORES", key);
    free(key);
    if (!rep || rep->type != REDIS_REPLY_ARRAY) {
        if (rep)
            freeReplyObject(rep);
        return NULL;
    }
    size_t n = rep->elements / 2;
    char **ids = xcalloc(n ? n : 1, sizeof *ids);
    json_t *died = json_object();
    for (size_t i = 0; i < n; i++) {
        ids[i] = rep->element[2 * i]->str;
        json_object_set_new(died, ids[i], json_integer(rds_int(rep->element[2 * i + 1], 0)));
    }
    json_t *jobs = cli_jobs_load(r, tenant, ids, n);
    size_t i;
    json_t *job;
    json_array_foreach(jobs, i, job) {
        const char *id = json_string_value(json_object_get(job, "id"));
        json_object_set(job, "died_ms", json_object_get(died, id ? id : ""));
    }
    json_decref(died);
    free(ids);
    freeReplyObject(rep);
    return jobs;
}

/* `mlc dlq list [TENANT] [--json]`: 0, or 1 after saying what failed. */
static int dlq_list(rds_t *r, const char *tenant, bool json)
{
    json_t *tenants = cli_tenants(r, "dlq list", tenant);
    if (!tenants)
        return 1;
    json_t *all = json_array();
    int rc = 0;
    size_t i;
    json_t *t;
    json_array_foreach(tenants, i, t) {
        json_t *jobs = dead_jobs(r, json_string_value(t));
        if (!jobs) {
            fprintf(stderr, "mlc dlq list: cannot read the dead jobs of %s from Redis\n",
                    json_string_value(t));
            rc = 1;
            break;
        }
        json_array_extend(all, jobs);
        json_decref(jobs);
    }
    if (rc == 0 && json) {
        cli_print_json(json_pack("{s:I, s:O}", "count", (json_int_t)json_array_size(all), "jobs",
                                 all));
    } else if (rc == 0) {
        json_t *job;
        json_array_foreach(all, i, job) {
            char when[32];
            printf("%s  %s  %s %s  died %s, attempt %lld/%lld\n    %s\n",
                   cli_str(job, "tenant", "-"), cli_str(job, "id", "-"),
                   cli_str(job, "type", "-"), cli_str(job, "ref", "-"),
                   cli_when(json_integer_value(json_object_get(job, "died_ms")), when,
                            sizeof when),
                   (long long)json_integer_value(json_object_get(job, "attempt")),
                   (long long)json_integer_value(json_object_get(job, "max_attempts")),
                   cli_str(job, "error", "(no reason recorded)"));
        }
        printf("%zu dead job%s\n", json_array_size(all), json_array_size(all) == 1 ? "" : "s");
    }
    json_decref(all);
    json_decref(tenants);
    return rc;
}

/* Why job id of tenant could not be replayed, on stderr. */
static void explain_refusal(rds_t *r, const char *tenant, const char *id)
{
    char *ids[] = { (char *)id };
    json_t *found = cli_jobs_load(r, tenant, ids, 1);
    const char *state = json_string_value(json_object_get(json_array_get(found, 0), "state"));
    if (!found)
        fprintf(stderr, "mlc dlq replay: cannot read job %s from Redis\n", id);
    else if (!state)
        fprintf(stderr, "mlc dlq replay: tenant %s has no job %s (see `mlc dlq list %s`)\n",
                tenant, id, tenant);
    else
        fprintf(stderr, "mlc dlq replay: job %s of %s is %s, not dead: nothing to replay\n", id,
                tenant, state);
    json_decref(found);
}

/* `mlc dlq replay TENANT ID|--all`: replays (job_replay) then publishes each job. 0, or 1
 * after saying why (unknown tenant or job, a job that is not dead, Redis failure). A job
 * that --all finds replayed or gone meanwhile is skipped silently. */
static int dlq_replay(rds_t *r, const char *tenant, const char *id)
{
    json_t *tenants = cli_tenants(r, "dlq replay", tenant);
    if (!tenants)
        return 1;
    json_decref(tenants);
    json_t *ids;
    if (id) {
        ids = json_pack("[s]", id);
    } else {
        /* Every K_DLQ entry, also one whose hash is gone: job_replay drops such an entry. */
        char *key = xasprintf(K_DLQ, tenant);
        redisReply *rep = rds_cmd(r, "ZRANGE %s 0 -1", key);
        free(key);
        if (!rep || rep->type != REDIS_REPLY_ARRAY) {
            if (rep)
                freeReplyObject(rep);
            fprintf(stderr, "mlc dlq replay: cannot read the dead jobs of %s from Redis\n", tenant);
            return 1;
        }
        ids = json_array();
        for (size_t i = 0; i < rep->elements; i++)
            if (rep->element[i]->str)
                json_array_append_new(ids, json_string(rep->element[i]->str));
        freeReplyObject(rep);
    }
    bus_t *bus = bus_producer_new(env_or("MLC_BROKER_URL", DEFAULT_BROKER_URL));
    long replayed = 0, unpublished = 0;
    int rc = 0;
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v) {
        const char *job_id = json_string_value(v);
        char *service = NULL;
        int got = job_replay(r, tenant, job_id, &service);
        if (got < 0) {
            fprintf(stderr, "mlc dlq replay: Redis failed while replaying %s\n", job_id);
            rc = 1;
            break;
        }
        if (got == 0) {
            if (id) {
                explain_refusal(r, tenant, job_id);
                rc = 1;
            }
            continue; /* --all: replayed or removed meanwhile by someone else */
        }
        replayed++;
        if (!bus || bus_publish(bus, service, tenant, job_id) != 0)
            unpublished++;
        free(service);
    }
    if (replayed || !id)
        printf("replayed %ld dead job%s of %s%s\n", replayed, replayed == 1 ? "" : "s", tenant,
               unpublished ? " (the broker was not reached: it picks them up from Redis)" : "");
    bus_destroy(&bus);
    json_decref(ids);
    return rc;
}

/* `mlc dlq`: 0, 1 on failure (after saying why), 2 usage. */
int cmd_dlq(int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : NULL;
    if (!sub || strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
        fprintf(sub ? stdout : stderr,
                DLQ_USAGE "list: dead jobs, newest first, with the reason (the last error) and\n"
                          "when they died. replay: re-queue dead jobs with their full attempts\n"
                          "(the reason is cleared) and hand them to the workers; ID one job,\n"
                          "--all every dead job of the tenant.\n");
        return sub ? 0 : 2;
    }
    const char *tenant = NULL, *id = NULL;
    bool json = false, all = false;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0 && strcmp(sub, "list") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--all") == 0 && strcmp(sub, "replay") == 0) {
            all = true;
        } else if (argv[i][0] != '-' && !tenant) {
            tenant = argv[i];
        } else if (argv[i][0] != '-' && !id && strcmp(sub, "replay") == 0) {
            id = argv[i];
        } else {
            fprintf(stderr, "mlc dlq %s: unexpected argument %s\n" DLQ_USAGE, sub, argv[i]);
            return 2;
        }
    }
    bool is_list = strcmp(sub, "list") == 0, is_replay = strcmp(sub, "replay") == 0;
    if (!is_list && !is_replay) {
        fprintf(stderr, "mlc dlq: unknown subcommand %s\n" DLQ_USAGE, sub);
        return 2;
    }
    if (is_replay && (!tenant || all == (id != NULL))) {
        fprintf(stderr, "mlc dlq replay: name a tenant and either one job ID or --all\n" DLQ_USAGE);
        return 2;
    }
    rds_t *r = cli_redis();
    if (!r)
        return 1;
    int rc = is_list ? dlq_list(r, tenant, json) : dlq_replay(r, tenant, id);
    rds_destroy(&r);
    return rc;
}
