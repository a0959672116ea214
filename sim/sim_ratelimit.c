/* sim_ratelimit: see sim_ratelimit.h. Per key a ring of the admission times of the last
 * `rate` requests: a request is admitted when the ring is not full or its oldest entry is at
 * least 60 s old. */
#include "sim_ratelimit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

typedef struct {
    char    *id;
    long     rate;      /* ring capacity */
    int64_t *times;     /* admission times (ms), oldest at head */
    long     head, len;
} window_t;

struct sim_ratelimit {
    pthread_mutex_t mu;
    window_t       *w;
    size_t          n;
};

sim_ratelimit_t *sim_ratelimit_new(void)
{
    sim_ratelimit_t *r = xcalloc(1, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    return r;
}

static void clear_locked(sim_ratelimit_t *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->w[i].id);
        free(r->w[i].times);
    }
    free(r->w);
    r->w = NULL;
    r->n = 0;
}

void sim_ratelimit_destroy(sim_ratelimit_t **r)
{
    if (!r || !*r)
        return;
    clear_locked(*r);
    pthread_mutex_destroy(&(*r)->mu);
    free(*r);
    *r = NULL;
}

void sim_ratelimit_reset(sim_ratelimit_t *r)
{
    pthread_mutex_lock(&r->mu);
    clear_locked(r);
    pthread_mutex_unlock(&r->mu);
}

static window_t *window_for(sim_ratelimit_t *r, const char *key)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->w[i].id, key) == 0)
            return &r->w[i];
    r->w = xrealloc(r->w, (r->n + 1) * sizeof *r->w);
    window_t *w = &r->w[r->n++];
    memset(w, 0, sizeof *w);
    w->id = xstrdup(key);
    return w;
}

long sim_ratelimit_admit(sim_ratelimit_t *r, const char *key, long rate_per_min,
                         int64_t now_ms)
{
    if (rate_per_min <= 0)
        return 0;
    long wait_s = 0;
    pthread_mutex_lock(&r->mu);
    window_t *w = window_for(r, key);
    if (w->rate != rate_per_min) {
        free(w->times);
        w->times = xcalloc((size_t)rate_per_min, sizeof *w->times);
        w->rate = rate_per_min;
        w->head = w->len = 0;
    }
    while (w->len > 0 && w->times[w->head] <= now_ms - 60000) {
        w->head = (w->head + 1) % w->rate;
        w->len--;
    }
    if (w->len < w->rate) {
        w->times[(w->head + w->len) % w->rate] = now_ms;
        w->len++;
    } else {
        int64_t free_at = w->times[w->head] + 60000;
        wait_s = (long)((free_at - now_ms + 999) / 1000);
        if (wait_s < 1)
            wait_s = 1;
    }
    pthread_mutex_unlock(&r->mu);
    return wait_s;
}
