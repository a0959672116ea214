/* asana_gate: see asana_gate.h. */
#include "asana_gate.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

#define SLOT_MS     100
#define SLOTS       600   /* 60 s of slots: the rate window */
#define PEAK_SLOTS  100   /* 10 s of slots: the peak statistic */

/* Request counts per 100 ms slot of the last 60 s (ring), with running sums over the last
 * 60 s and the last 10 s. */
typedef struct {
    int64_t  slot;              /* newest slot counted */
    uint32_t counts[SLOTS];
    int64_t  sum60, sum10;
} window_t;

typedef struct {
    char    *token;
    window_t window;
    int      writes, reads;     /* in flight */
} token_state_t;

struct asana_gate {
    token_state_t    *tokens;
    size_t            ntokens;
    asana_gate_peaks_t peaks;
};

/* Ring index of slot k (k may be negative early in a test clock). */
static size_t ring(int64_t k) { return (size_t)(((k % SLOTS) + SLOTS) % SLOTS); }

/* Moves the window forward to slot, dropping counts that leave the 60-s and 10-s spans.
 * A slot older than the newest counts as the newest (the clock is monotonic anyway). */
static void window_advance(window_t *w, int64_t slot)
{
    if (slot <= w->slot)
        return;
    if (slot - w->slot >= SLOTS) {
        memset(w->counts, 0, sizeof w->counts);
        w->sum60 = w->sum10 = 0;
    } else {
        for (int64_t j = w->slot + 1; j <= slot; j++) {
            w->sum10 -= w->counts[ring(j - PEAK_SLOTS)];
            w->sum60 -= w->counts[ring(j)];
            w->counts[ring(j)] = 0;
        }
    }
    w->slot = slot;
}

static void window_count(window_t *w, int64_t slot)
{
    window_advance(w, slot);
    w->counts[ring(w->slot)]++;
    w->sum60++;
    w->sum10++;
}

/* Milliseconds from now_ms until the 60-s count drops below limit. */
static int64_t window_wait_ms(const window_t *w, int64_t limit, int64_t now_ms)
{
    int64_t left = w->sum60;
    for (int64_t k = w->slot - SLOTS + 1; k <= w->slot; k++) {
        left -= w->counts[ring(k)];
        if (left < limit)
            return (k + SLOTS) * SLOT_MS - now_ms;
    }
    return SLOTS * SLOT_MS;
}

static token_state_t *token_state(asana_gate_t *g, const char *token)
{
    for (size_t i = 0; i < g->ntokens; i++)
        if (strcmp(g->tokens[i].token, token) == 0)
            return &g->tokens[i];
    g->tokens = xrealloc(g->tokens, (g->ntokens + 1) * sizeof *g->tokens);
    token_state_t *t = &g->tokens[g->ntokens++];
    memset(t, 0, sizeof *t);
    t->token = xstrdup(token);
    return t;
}

asana_gate_t *asana_gate_new(void) { return xcalloc(1, sizeof(asana_gate_t)); }

void asana_gate_destroy(asana_gate_t **g)
{
    if (!g || !*g)
        return;
    for (size_t i = 0; i < (*g)->ntokens; i++)
        free((*g)->tokens[i].token);
    free((*g)->tokens);
    free(*g);
    *g = NULL;
}

gate_verdict_t asana_gate_admit(asana_gate_t *g, const char *token, bool write, int64_t now_ms,
                                int rate_per_min, int max_writes, int max_reads,
                                int *retry_after_s)
{
    token_state_t *t = token_state(g, token);
    int64_t slot = now_ms / SLOT_MS;
    window_count(&t->window, slot);
    if (t->window.sum10 > g->peaks.per_10s_max)
        g->peaks.per_10s_max = t->window.sum10;
    if (rate_per_min > 0 && t->window.sum60 > rate_per_min) {
        int64_t ms = window_wait_ms(&t->window, rate_per_min, now_ms);
        *retry_after_s = (int)((ms + 999) / 1000);
        if (*retry_after_s < 1)
            *retry_after_s = 1;
        return GATE_RATE_LIMITED;
    }
    int *in_flight = write ? &t->writes : &t->reads;
    int cap = write ? max_writes : max_reads;
    if (cap > 0 && *in_flight >= cap) {
        *retry_after_s = 1;
        return GATE_TOO_MANY_IN_FLIGHT;
    }
    (*in_flight)++;
    int *peak = write ? &g->peaks.max_in_flight_writes : &g->peaks.max_in_flight_reads;
    if (*in_flight > *peak)
        *peak = *in_flight;
    return GATE_ADMITTED;
}

void asana_gate_release(asana_gate_t *g, const char *token, bool write)
{
    token_state_t *t = token_state(g, token);
    int *in_flight = write ? &t->writes : &t->reads;
    if (*in_flight > 0)
        (*in_flight)--;
}

void asana_gate_peaks(const asana_gate_t *g, asana_gate_peaks_t *out) { *out = g->peaks; }

void asana_gate_reset(asana_gate_t *g)
{
    memset(&g->peaks, 0, sizeof g->peaks);
    for (size_t i = 0; i < g->ntokens; i++)
        memset(&g->tokens[i].window, 0, sizeof g->tokens[i].window);
}
