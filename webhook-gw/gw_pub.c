/* gw_pub: see gw_pub.h. Two arrays: handlers append to `in` under the lock, the thread swaps
 * it with its empty `out` and sends `out` without the lock, grouped by tenant. */
#include "gw_pub.h"

#include <assert.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "gw_hook.h"
#include "log.h"
#include "util.h"

#define ID_MAX 31

typedef struct {
    char tenant[GWH_TENANT_MAX + 1];
    char id[ID_MAX + 1];
} entry_t;

typedef struct {
    entry_t *v;
    size_t   n, cap;
} vec_t;

/* send_all's scratch arrays, grown as needed: entries sorted by tenant, and the ids of one
 * message. */
typedef struct {
    const entry_t **order;
    const char    **ids;
    size_t          cap;
} send_buf_t;

struct gwp {
    char           *broker_url;
    size_t          max_queued;
    long            linger_us;
    pthread_t       thread;
    pthread_mutex_t lock;
    pthread_cond_t  wake;
    vec_t           in;        /* under lock */
    bool            waiting;   /* the thread sleeps on `wake` (under lock) */
    bool            stop;      /* under lock */
    long            dropped;   /* under lock */
    bool            warned;    /* a drop was logged since the queue last emptied (under lock) */
};

/* Entries by tenant, in push order within a tenant (entries are in one array, so their
 * addresses are that order). */
static int by_tenant(const void *a, const void *b)
{
    const entry_t *x = *(const entry_t *const *)a, *y = *(const entry_t *const *)b;
    int c = strcmp(x->tenant, y->tenant);
    return c ? c : (x > y) - (x < y);
}

/* Sends out's entries on *bus (connected here when NULL; nothing is sent when it cannot be):
 * grouped by tenant, each tenant's ids in push order with bus_publish_many. */
static void send_all(gwp_t *p, bus_t **bus, const vec_t *out, send_buf_t *sb)
{
    if (!*bus)
        *bus = bus_producer_new(p->broker_url);
    if (!*bus)
        return;   /* logged by bus_producer_new; the broker's resync finds the jobs */
    if (sb->cap < out->n) {
        sb->cap = out->n;
        sb->order = xrealloc(sb->order, sb->cap * sizeof *sb->order);
        sb->ids = xrealloc(sb->ids, sb->cap * sizeof *sb->ids);
    }
    for (size_t i = 0; i < out->n; i++)
        sb->order[i] = &out->v[i];
    qsort(sb->order, out->n, sizeof *sb->order, by_tenant);
    size_t i = 0;
    while (i < out->n) {
        const char *tenant = sb->order[i]->tenant;
        int n = 0;
        while (i < out->n && !strcmp(sb->order[i]->tenant, tenant))
            sb->ids[n++] = sb->order[i++]->id;
        bus_publish_many(*bus, "write", tenant, sb->ids, n);   /* logs when it drops */
    }
}

static void *run(void *arg)
{
    gwp_t *p = arg;
    bus_t *bus = NULL;
    vec_t out = { 0 };
    send_buf_t sb = { 0 };
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (p->in.n == 0 && !p->stop) {
            p->waiting = true;
            pthread_cond_wait(&p->wake, &p->lock);
            p->waiting = false;
            if (p->in.n > 0 && !p->stop && p->linger_us > 0) {
                /* Let the batch grow; pushes meanwhile do not signal (waiting is false). */
                pthread_mutex_unlock(&p->lock);
                sleep_us(p->linger_us);
                pthread_mutex_lock(&p->lock);
            }
        }
        if (p->in.n == 0)
            break;   /* stopping, and everything is sent */
        vec_t t = p->in;
        p->in = out;
        out = t;
        p->warned = false;
        pthread_mutex_unlock(&p->lock);
        send_all(p, &bus, &out, &sb);
        out.n = 0;
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    free(out.v);
    free(sb.order);
    free(sb.ids);
    bus_destroy(&bus);
    return NULL;
}

gwp_t *gwp_new(const char *broker_url, size_t max_queued, long linger_us)
{
    gwp_t *p = xcalloc(1, sizeof *p);
    p->broker_url = xstrdup(broker_url);
    p->max_queued = max_queued ? max_queued : 1;
    p->linger_us = linger_us > 0 ? linger_us : 0;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    if (pthread_create(&p->thread, NULL, run, p) != 0) {
        mlog(LOG_ERROR, "gw.pub", "cannot start the publisher thread");
        pthread_cond_destroy(&p->wake);
        pthread_mutex_destroy(&p->lock);
        free(p->broker_url);
        free(p);
        return NULL;
    }
    return p;
}

void gwp_push(gwp_t *p, const char *tenant, const char *job_id)
{
    size_t tl = strlen(tenant), il = strlen(job_id);
    assert(tl <= GWH_TENANT_MAX && il <= ID_MAX);
    pthread_mutex_lock(&p->lock);
    if (p->in.n >= p->max_queued) {
        p->dropped++;
        if (!p->warned)
            mlog(LOG_WARN, "gw.pub_full", "%zu job ids wait for the broker: dropping new ones "
                 "(the broker's resync of the queues finds them)", p->in.n);
        p->warned = true;
    } else {
        if (p->in.n == p->in.cap) {
            p->in.cap = p->in.cap ? 2 * p->in.cap : 256;
            p->in.v = xrealloc(p->in.v, p->in.cap * sizeof *p->in.v);
        }
        entry_t *e = &p->in.v[p->in.n++];
        memcpy(e->tenant, tenant, tl + 1);
        memcpy(e->id, job_id, il + 1);
        if (p->waiting) {
            p->waiting = false;   /* one signal is enough */
            pthread_cond_signal(&p->wake);
        }
    }
    pthread_mutex_unlock(&p->lock);
}

long gwp_dropped(gwp_t *p)
{
    pthread_mutex_lock(&p->lock);
    long n = p->dropped;
    pthread_mutex_unlock(&p->lock);
    return n;
}

void gwp_destroy(gwp_t **pp)
{
    if (!pp || !*pp)
        return;
    gwp_t *p = *pp;
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    free(p->in.v);
    free(p->broker_url);
    free(p);
    *pp = NULL;
}
