/* reqstats: see reqstats.h. The counts live in a chained hash table of (tenant, field) ->
 * unflushed delta under one mutex; an entry whose delta a flush brought back to 0 is freed,
 * so tenants that stop making requests cost no memory. */
#include "reqstats.h"

#include <assert.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "util.h"

#define NBUCKETS 256

typedef struct entry {
    char         *tenant;
    char         *field;
    long long     delta;   /* counted, not yet confirmed by Redis */
    struct entry *next;
} entry_t;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;       /* g_buckets, g_pending */
static pthread_mutex_t g_flush_mu = PTHREAD_MUTEX_INITIALIZER; /* one flush at a time */
static entry_t *g_buckets[NBUCKETS];
static long g_pending;                                         /* entries with delta != 0 */

static unsigned bucket_of(const char *tenant, const char *field)
{
    uint32_t h = 2166136261u; /* FNV-1a over tenant, a separator, field */
    for (const char *s = tenant; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    h = (h ^ 0x1f) * 16777619u;
    for (const char *s = field; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h % NBUCKETS;
}

/* The entry of (tenant, field) and the link pointing at it; NULL when absent. g_mu held. */
static entry_t **find(const char *tenant, const char *field)
{
    entry_t **link = &g_buckets[bucket_of(tenant, field)];
    for (; *link; link = &(*link)->next)
        if (strcmp((*link)->tenant, tenant) == 0 && strcmp((*link)->field, field) == 0)
            return link;
    return NULL;
}

/* Adds n to the delta of (tenant, field), creating the entry. g_mu held. */
static void add(const char *tenant, const char *field, long long n)
{
    entry_t **link = find(tenant, field);
    entry_t *e = link ? *link : NULL;
    if (!e) {
        unsigned b = bucket_of(tenant, field);
        e = xcalloc(1, sizeof *e);
        e->tenant = xstrdup(tenant);
        e->field = xstrdup(field);
        e->next = g_buckets[b];
        g_buckets[b] = e;
    }
    long long before = e->delta;
    e->delta += n;
    g_pending += (e->delta != 0) - (before != 0);
    if (e->delta == 0) {
        link = find(tenant, field);
        *link = e->next;
        free(e->tenant);
        free(e->field);
        free(e);
    }
}

static void count(const char *tenant, const char *field)
{
    pthread_mutex_lock(&g_mu);
    add(tenant, field, 1);
    pthread_mutex_unlock(&g_mu);
}

void reqstats_request(const char *tenant, const char *system, long status)
{
    assert(tenant && system);
    char field[64];
    snprintf(field, sizeof field, "%s_requests_%ld", system, status >= 0 && status <= 999 ? status : 0);
    count(tenant, field);
}

long reqstats_status(const http_resp_t *resp)
{
    if (resp->status > 0)
        return resp->status;
    const char *h = resp->headers.data;
    if (!h || resp->headers.len < 12 || strncmp(h, "HTTP/", 5) != 0)
        return 0;
    const char *sp = memchr(h, ' ', resp->headers.len);
    if (!sp || (size_t)(sp - h) + 4 > resp->headers.len)
        return 0;
    long status = 0;
    for (int i = 1; i <= 3; i++) {
        if (sp[i] < '0' || sp[i] > '9')
            return 0;
        status = status * 10 + (sp[i] - '0');
    }
    return status;
}

void reqstats_response(const char *tenant, const char *system, const http_resp_t *resp)
{
    reqstats_request(tenant, system, reqstats_status(resp));
}

void reqstats_token(const char *tenant, const char *system)
{
    assert(tenant && system);
    char field[64];
    snprintf(field, sizeof field, "token_fetches_%s", system);
    count(tenant, field);
}

long reqstats_pending(void)
{
    pthread_mutex_lock(&g_mu);
    long n = g_pending;
    pthread_mutex_unlock(&g_mu);
    return n;
}

/* ---- flush ------------------------------------------------------------------------------ */

typedef struct {
    char     *tenant;
    char     *field;
    long long delta;
    bool      done;   /* Redis confirmed the HINCRBY */
} sent_t;

/* Copies every non-zero delta (the flush sends these; counting goes on meanwhile). */
static sent_t *snapshot(size_t *n)
{
    pthread_mutex_lock(&g_mu);
    sent_t *s = xcalloc((size_t)g_pending + 1, sizeof *s);
    size_t k = 0;
    for (int b = 0; b < NBUCKETS; b++)
        for (const entry_t *e = g_buckets[b]; e; e = e->next)
            if (e->delta != 0)
                s[k++] = (sent_t){ xstrdup(e->tenant), xstrdup(e->field), e->delta, false };
    pthread_mutex_unlock(&g_mu);
    *n = k;
    return s;
}

int reqstats_flush(rds_t *r)
{
    pthread_mutex_lock(&g_flush_mu);
    size_t n;
    sent_t *s = snapshot(&n);
    size_t appended = 0;
    for (; r && appended < n; appended++) {
        char *key = xasprintf(K_STATS, s[appended].tenant);
        int rc = rds_append(r, "HINCRBY %s %s %lld", key, s[appended].field, s[appended].delta);
        free(key);
        if (rc != 0)
            break;
    }
    size_t confirmed = 0;
    for (size_t i = 0; i < appended; i++) {
        redisReply *rep = rds_get_reply(r);
        s[i].done = rep && rep->type == REDIS_REPLY_INTEGER;
        confirmed += s[i].done;
        if (rep)
            freeReplyObject(rep);
    }
    pthread_mutex_lock(&g_mu);
    for (size_t i = 0; i < n; i++) {
        if (s[i].done)
            add(s[i].tenant, s[i].field, -s[i].delta);
        free(s[i].tenant);
        free(s[i].field);
    }
    pthread_mutex_unlock(&g_mu);
    free(s);
    pthread_mutex_unlock(&g_flush_mu);
    return confirmed == n ? 0 : -1;
}
