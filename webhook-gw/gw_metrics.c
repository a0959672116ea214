/* gw_metrics: see gw_metrics.h. Rows are appended, never removed: a row's name is written
 * before the row count is published (release), so readers scanning up to the count
 * (acquire) see complete names without a lock. */
#include "gw_metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_hook.h"
#include "log.h"
#include "util.h"

static const char *const OUTCOME_NAMES[GWM_N_OUTCOMES] = {
    "accepted", "duplicate", "bad_signature", "too_large",
    "malformed", "heartbeat", "handshake_accepted", "handshake_refused"
};

/* Upper bounds of the latency buckets, in microseconds (rendered in seconds). */
static const int64_t BUCKETS_US[] = { 250, 500, 1000, 2500, 5000, 10000, 25000, 50000,
                                      100000, 250000, 500000, 1000000, 2500000 };
#define N_BUCKETS ((int)(sizeof BUCKETS_US / sizeof BUCKETS_US[0]))

typedef struct {
    char                  tenant[GWH_TENANT_MAX + 1];
    atomic_uint_fast64_t  outcomes[GWM_N_OUTCOMES];
    atomic_uint_fast64_t  enqueued;
} row_t;

struct gwm {
    row_t               *rows;
    int                  cap;
    atomic_int           nrows;
    pthread_mutex_t      add_lock;
    bool                 full_logged;
    atomic_uint_fast64_t bucket[N_BUCKETS + 1];   /* non-cumulative, last = beyond the bounds */
    atomic_uint_fast64_t sum_us;
};

gwm_t *gwm_new(int max_tenants)
{
    gwm_t *m = xcalloc(1, sizeof *m);
    m->cap = max_tenants > 0 ? max_tenants : 1;
    m->rows = xcalloc((size_t)m->cap, sizeof *m->rows);
    pthread_mutex_init(&m->add_lock, NULL);
    return m;
}

void gwm_destroy(gwm_t **m)
{
    if (!*m)
        return;
    pthread_mutex_destroy(&(*m)->add_lock);
    free((*m)->rows);
    free(*m);
    *m = NULL;
}

static row_t *find(gwm_t *m, const char *tenant, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(m->rows[i].tenant, tenant) == 0)
            return &m->rows[i];
    return NULL;
}

/* The tenant's row, created on first use; NULL when the table is full. */
static row_t *row_of(gwm_t *m, const char *tenant)
{
    row_t *r = find(m, tenant, atomic_load_explicit(&m->nrows, memory_order_acquire));
    if (r)
        return r;
    pthread_mutex_lock(&m->add_lock);
    int n = atomic_load_explicit(&m->nrows, memory_order_relaxed);
    r = find(m, tenant, n);
    if (!r && n < m->cap) {
        r = &m->rows[n];
        snprintf(r->tenant, sizeof r->tenant, "%s", tenant);
        atomic_store_explicit(&m->nrows, n + 1, memory_order_release);
    } else if (!r && !m->full_logged) {
        m->full_logged = true;
        mlog(LOG_WARN, "gw.metrics_full", "more than %d tenants: further ones are not counted", m->cap);
    }
    pthread_mutex_unlock(&m->add_lock);
    return r;
}

void gwm_delivery(gwm_t *m, const char *tenant, gwm_outcome_t outcome)
{
    row_t *r = row_of(m, tenant);
    if (r && outcome >= 0 && outcome < GWM_N_OUTCOMES)
        atomic_fetch_add_explicit(&r->outcomes[outcome], 1, memory_order_relaxed);
}

void gwm_enqueued(gwm_t *m, const char *tenant, long n)
{
    row_t *r = n > 0 ? row_of(m, tenant) : NULL;
    if (r)
        atomic_fetch_add_explicit(&r->enqueued, (uint_fast64_t)n, memory_order_relaxed);
}

void gwm_latency(gwm_t *m, int64_t usec)
{
    if (usec < 0)
        usec = 0;
    int i = 0;
    while (i < N_BUCKETS && usec > BUCKETS_US[i])
        i++;
    atomic_fetch_add_explicit(&m->bucket[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->sum_us, (uint_fast64_t)usec, memory_order_relaxed);
}

char *gwm_render(gwm_t *m)
{
    buf_t b;
    buf_init(&b);
    int n = atomic_load_explicit(&m->nrows, memory_order_acquire);
    buf_appendf(&b, "# HELP mlc_webhook_deliveries_total Webhook requests per tenant by outcome.\n"
                    "# TYPE mlc_webhook_deliveries_total counter\n");
    for (int i = 0; i < n; i++)
        for (int o = 0; o < GWM_N_OUTCOMES; o++)
            buf_appendf(&b, "mlc_webhook_deliveries_total{tenant=\"%s\",outcome=\"%s\"} %llu\n",
                        m->rows[i].tenant, OUTCOME_NAMES[o],
                        (unsigned long long)atomic_load(&m->rows[i].outcomes[o]));
    buf_appendf(&b, "# HELP mlc_webhook_events_enqueued_total New events recorded per tenant.\n"
                    "# TYPE mlc_webhook_events_enqueued_total counter\n");
    for (int i = 0; i < n; i++)
        buf_appendf(&b, "mlc_webhook_events_enqueued_total{tenant=\"%s\"} %llu\n", m->rows[i].tenant,
                    (unsigned long long)atomic_load(&m->rows[i].enqueued));
    buf_appendf(&b, "# HELP mlc_webhook_request_seconds Time to answer a webhook request.\n"
                    "# TYPE mlc_webhook_request_seconds histogram\n");
    uint64_t cum = 0;
    for (int i = 0; i < N_BUCKETS; i++) {
        cum += atomic_load(&m->bucket[i]);
        buf_appendf(&b, "mlc_webhook_request_seconds_bucket{le=\"%g\"} %llu\n",
                    (double)BUCKETS_US[i] / 1e6, (unsigned long long)cum);
    }
    uint64_t count = cum + atomic_load(&m->bucket[N_BUCKETS]);
    buf_appendf(&b, "mlc_webhook_request_seconds_bucket{le=\"+Inf\"} %llu\n"
                    "mlc_webhook_request_seconds_sum %.6f\n"
                    "mlc_webhook_request_seconds_count %llu\n",
                (unsigned long long)count, (double)atomic_load(&m->sum_us) / 1e6,
                (unsigned long long)count);
    return buf_steal(&b);
}
