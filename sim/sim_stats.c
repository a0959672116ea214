/* sim_stats: see sim_stats.h. A meter is a ring of 60 one-second buckets; the sum of the
 * buckets younger than 60 s is the current window, and its maximum is kept. For the 10-s
 * figure it also keeps the times of the requests of the last 10 s (a growable ring): the
 * busiest 10-s window ends at some request, so counting the window that ends at each new
 * request finds the exact maximum. */
#include "sim_stats.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define WINDOW10_MS 10000

typedef struct {
    int64_t  second[60];
    uint32_t count[60];
    long     max60;
    int64_t *recent;        /* times (ms) of the requests of the last 10 s, oldest at head */
    size_t   cap, head, len;
    long     max10;
} meter_t;

typedef struct {
    char   *id;
    long    requests;
    meter_t meter;
} requester_t;

struct sim_stats {
    pthread_mutex_t    mu;
    const char *const *counter_names;
    const char        *per_name;
    json_t            *requests;   /* label -> count */
    json_t            *counters;   /* name -> count */
    long               total;
    meter_t            meter;
    requester_t       *requesters;
    size_t             nrequesters;
    int64_t            since_ms;
};

static long meter_window(const meter_t *m, int64_t sec)
{
    long sum = 0;
    for (int i = 0; i < 60; i++)
        if (m->second[i] > sec - 60 && m->second[i] <= sec)
            sum += m->count[i];
    return sum;
}

/* Records a request at t in the 10-s ring and updates max10. Times are taken before the
 * stats lock, so a thread can arrive with a time slightly older than the last one: it is
 * counted at the last time (the ring stays ordered). */
static void window10_add(meter_t *m, int64_t t)
{
    if (m->len && t < m->recent[(m->head + m->len - 1) % m->cap])
        t = m->recent[(m->head + m->len - 1) % m->cap];
    while (m->len && m->recent[m->head] <= t - WINDOW10_MS) {
        m->head = (m->head + 1) % m->cap;
        m->len--;
    }
    if (m->len == m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 64;
        int64_t *n = xcalloc(ncap, sizeof *n);
        for (size_t i = 0; i < m->len; i++)
            n[i] = m->recent[(m->head + i) % m->cap];
        free(m->recent);
        m->recent = n;
        m->cap = ncap;
        m->head = 0;
    }
    m->recent[(m->head + m->len) % m->cap] = t;
    m->len++;
    if ((long)m->len > m->max10)
        m->max10 = (long)m->len;
}

/* Frees the meter's ring and zeroes it. */
static void meter_clear(meter_t *m)
{
    free(m->recent);
    memset(m, 0, sizeof *m);
}

static void meter_add(meter_t *m, int64_t now_ms)
{
    window10_add(m, now_ms);
    int64_t sec = now_ms / 1000;
    int slot = (int)(sec % 60);
    if (m->second[slot] != sec) {
        m->second[slot] = sec;
        m->count[slot] = 0;
    }
    m->count[slot]++;
    long w = meter_window(m, sec);
    if (w > m->max60)
        m->max60 = w;
}

static json_t *meter_json(const meter_t *m, int64_t now_ms, json_t *into)
{
    json_object_set_new(into, "max_rate_60s", json_integer(m->max60));
    json_object_set_new(into, "max_10s", json_integer(m->max10));
    json_object_set_new(into, "last_60s", json_integer(meter_window(m, now_ms / 1000)));
    return into;
}

static void reset_locked(sim_stats_t *s, int64_t now_ms)
{
    json_decref(s->requests);
    json_decref(s->counters);
    s->requests = json_object();
    s->counters = json_object();
    for (int i = 0; s->counter_names[i]; i++)
        json_object_set_new(s->counters, s->counter_names[i], json_integer(0));
    for (size_t i = 0; i < s->nrequesters; i++) {
        free(s->requesters[i].id);
        meter_clear(&s->requesters[i].meter);
    }
    free(s->requesters);
    s->requesters = NULL;
    s->nrequesters = 0;
    s->total = 0;
    meter_clear(&s->meter);
    s->since_ms = now_ms;
}

sim_stats_t *sim_stats_new(const char *const *counters, const char *per_name)
{
    sim_stats_t *s = xcalloc(1, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    s->counter_names = counters;
    s->per_name = per_name;
    reset_locked(s, now_ms());
    return s;
}

void sim_stats_destroy(sim_stats_t **s)
{
    if (!s || !*s)
        return;
    reset_locked(*s, 0);
    json_decref((*s)->requests);
    json_decref((*s)->counters);
    pthread_mutex_destroy(&(*s)->mu);
    free(*s);
    *s = NULL;
}

static void bump(json_t *obj, const char *key, long n)
{
    json_t *v = json_object_get(obj, key);
    json_object_set_new(obj, key, json_integer((v ? json_integer_value(v) : 0) + n));
}

void sim_stats_request(sim_stats_t *s, const char *method, const char *label, int status,
                       const char *requester, int64_t now_ms)
{
    char key[256];
    snprintf(key, sizeof key, "%s %s %d", method, label, status);
    pthread_mutex_lock(&s->mu);
    bump(s->requests, key, 1);
    s->total++;
    meter_add(&s->meter, now_ms);
    if (requester) {
        requester_t *c = NULL;
        for (size_t i = 0; i < s->nrequesters && !c; i++)
            if (strcmp(s->requesters[i].id, requester) == 0)
                c = &s->requesters[i];
        if (!c) {
            s->requesters = xrealloc(s->requesters, (s->nrequesters + 1) * sizeof *s->requesters);
            c = &s->requesters[s->nrequesters++];
            memset(c, 0, sizeof *c);
            c->id = xstrdup(requester);
        }
        c->requests++;
        meter_add(&c->meter, now_ms);
    }
    pthread_mutex_unlock(&s->mu);
}

void sim_stats_add(sim_stats_t *s, const char *counter, long n)
{
    pthread_mutex_lock(&s->mu);
    bump(s->counters, counter, n);
    pthread_mutex_unlock(&s->mu);
}

json_t *sim_stats_json(sim_stats_t *s, int64_t now_ms)
{
    pthread_mutex_lock(&s->mu);
    json_t *j = json_object();
    json_object_set_new(j, "requests", json_deep_copy(s->requests));
    json_object_set_new(j, "total", json_integer(s->total));
    json_object_update(j, s->counters);
    meter_json(&s->meter, now_ms, j);
    json_t *requesters = json_object();
    for (size_t i = 0; i < s->nrequesters; i++)
        json_object_set_new(requesters, s->requesters[i].id,
                            meter_json(&s->requesters[i].meter, now_ms,
                                       json_pack("{s:I}", "requests",
                                                 (json_int_t)s->requesters[i].requests)));
    json_object_set_new(j, s->per_name, requesters);
    char since[40];
    json_object_set_new(j, "since", json_string(iso8601_ms(s->since_ms, since, sizeof since)));
    pthread_mutex_unlock(&s->mu);
    return j;
}

void sim_stats_reset(sim_stats_t *s, int64_t now_ms)
{
    pthread_mutex_lock(&s->mu);
    reset_locked(s, now_ms);
    pthread_mutex_unlock(&s->mu);
}
