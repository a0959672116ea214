/* broker_queue: see broker_queue.h. Services and tenants are few (arrays, linear lookups);
 * ids are many (ring buffers and hash maps). */
#include "broker_queue.h"

#include <stdlib.h>
#include <string.h>

#include "broker_strmap.h"
#include "util.h"

typedef struct {
    char   *name;
    char  **ring;       /* FIFO of ids */
    size_t  head, len, cap;
    smap_t *queued;     /* ids in the ring */
    smap_t *dispatched; /* id -> dispatch ms */
    char   *popped;     /* the id handed out by the last bq_pop (borrowed by the caller) */
} tenant_q_t;

typedef struct {
    char        *name;
    tenant_q_t **tenants;
    size_t       ntenants;
    size_t       cursor;    /* next tenant to serve */
} service_t;

struct bq {
    service_t **services;
    size_t      nservices;
};

bq_t *bq_new(void) { return xcalloc(1, sizeof(bq_t)); }

static void tenant_q_free(tenant_q_t *t)
{
    for (size_t i = 0; i < t->len; i++)
        free(t->ring[(t->head + i) % t->cap]);
    free(t->ring);
    smap_destroy(&t->queued);
    smap_destroy(&t->dispatched);
    free(t->popped);
    free(t->name);
    free(t);
}

void bq_destroy(bq_t **qp)
{
    if (!qp || !*qp)
        return;
    bq_t *q = *qp;
    for (size_t i = 0; i < q->nservices; i++) {
        service_t *s = q->services[i];
        for (size_t k = 0; k < s->ntenants; k++)
            tenant_q_free(s->tenants[k]);
        free(s->tenants);
        free(s->name);
        free(s);
    }
    free(q->services);
    free(q);
    *qp = NULL;
}

static service_t *find_service(const bq_t *q, const char *name)
{
    for (size_t i = 0; i < q->nservices; i++)
        if (!strcmp(q->services[i]->name, name))
            return q->services[i];
    return NULL;
}

static service_t *get_service(bq_t *q, const char *name)
{
    service_t *s = find_service(q, name);
    if (s)
        return s;
    s = xcalloc(1, sizeof *s);
    s->name = xstrdup(name);
    q->services = xrealloc(q->services, sizeof *q->services * (q->nservices + 1));
    q->services[q->nservices++] = s;
    return s;
}

static tenant_q_t *find_tenant(const service_t *s, const char *name)
{
    for (size_t i = 0; s && i < s->ntenants; i++)
        if (!strcmp(s->tenants[i]->name, name))
            return s->tenants[i];
    return NULL;
}

static tenant_q_t *get_tenant(service_t *s, const char *name)
{
    tenant_q_t *t = find_tenant(s, name);
    if (t)
        return t;
    t = xcalloc(1, sizeof *t);
    t->name = xstrdup(name);
    t->queued = smap_new();
    t->dispatched = smap_new();
    s->tenants = xrealloc(s->tenants, sizeof *s->tenants * (s->ntenants + 1));
    s->tenants[s->ntenants++] = t;
    return t;
}

void bq_add_service(bq_t *q, const char *service) { get_service(q, service); }
size_t bq_service_count(const bq_t *q) { return q->nservices; }
const char *bq_service_name(const bq_t *q, size_t i) { return q->services[i]->name; }

/* Appends id (not yet queued) to t's ring. */
static void ring_push(tenant_q_t *t, const char *id)
{
    if (t->len == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **ring = xcalloc(cap, sizeof *ring);
        for (size_t i = 0; i < t->len; i++)
            ring[i] = t->ring[(t->head + i) % t->cap];
        free(t->ring);
        t->ring = ring;
        t->cap = cap;
        t->head = 0;
    }
    t->ring[(t->head + t->len) % t->cap] = xstrdup(id);
    t->len++;
    smap_set(t->queued, id, 1);
    smap_del(t->dispatched, id);
}

int bq_push(bq_t *q, const char *service, const char *tenant, const char *id)
{
    tenant_q_t *t = get_tenant(get_service(q, service), tenant);
    if (smap_get(t->queued, id, NULL))
        return 0;
    ring_push(t, id);
    return 1;
}

int bq_pop(bq_t *q, const char *service, bq_accept_fn accept, void *ud, int64_t now_ms,
           const char **tenant, const char **id)
{
    service_t *s = find_service(q, service);
    for (size_t k = 0; s && k < s->ntenants; k++) {
        size_t i = (s->cursor + k) % s->ntenants;
        tenant_q_t *t = s->tenants[i];
        if (t->len == 0 || !accept(ud, service, t->name))
            continue;
        free(t->popped);
        t->popped = t->ring[t->head];
        t->head = (t->head + 1) % t->cap;
        t->len--;
        smap_del(t->queued, t->popped);
        smap_set(t->dispatched, t->popped, now_ms);
        s->cursor = (i + 1) % s->ntenants;
        *tenant = t->name;
        *id = t->popped;
        return 1;
    }
    return 0;
}

typedef struct {
    int64_t now, redispatch_ms;
} age_t;

static bool dispatched_long_ago(void *ud, const char *key, int64_t at)
{
    const age_t *a = ud;
    (void)key;
    return a->now - at >= a->redispatch_ms;
}

int bq_resync(bq_t *q, const char *service, const char *tenant, char *const *ids, size_t n,
              int64_t now_ms, int64_t redispatch_ms)
{
    tenant_q_t *t = get_tenant(get_service(q, service), tenant);
    int added = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t at;
        if (smap_get(t->queued, ids[i], NULL))
            continue;
        if (smap_get(t->dispatched, ids[i], &at) && now_ms - at < redispatch_ms)
            continue; /* probably on its way to a worker */
        ring_push(t, ids[i]);
        added++;
    }
    age_t a = {now_ms, redispatch_ms};
    smap_filter(t->dispatched, dispatched_long_ago, &a); /* claimed, or queued again above */
    return added;
}

size_t bq_depth(const bq_t *q, const char *service, const char *tenant)
{
    tenant_q_t *t = find_tenant(find_service(q, service), tenant);
    return t ? t->len : 0;
}

void bq_foreach(const bq_t *q, void (*fn)(void *ud, const char *service, const char *tenant,
                                          size_t depth), void *ud)
{
    for (size_t i = 0; i < q->nservices; i++)
        for (size_t k = 0; k < q->services[i]->ntenants; k++)
            fn(ud, q->services[i]->name, q->services[i]->tenants[k]->name,
               q->services[i]->tenants[k]->len);
}
