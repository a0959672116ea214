/* prom: see prom.h. Each family keeps its own buffer of sample lines; render concatenates
 * them under the HELP/TYPE headers. */
#include "prom.h"

#include <assert.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

typedef struct {
    char       *name;
    char       *help;
    prom_type_t type;
    buf_t       samples;
} family_t;

struct prom {
    family_t *fam;
    int       n, cap;
};

static const char *const TYPE_NAMES[] = { "counter", "gauge", "histogram" };

prom_t *prom_new(void)
{
    return xcalloc(1, sizeof(prom_t));
}

void prom_destroy(prom_t **p)
{
    if (!*p)
        return;
    for (int i = 0; i < (*p)->n; i++) {
        free((*p)->fam[i].name);
        free((*p)->fam[i].help);
        buf_free(&(*p)->fam[i].samples);
    }
    free((*p)->fam);
    free(*p);
    *p = NULL;
}

/* True for [a-zA-Z_:][a-zA-Z0-9_:]* (metric names; colon_ok false for label names). */
static bool name_ok(const char *s, bool colon_ok)
{
    if (!s || !*s || (*s >= '0' && *s <= '9'))
        return false;
    for (; *s; s++) {
        bool alpha = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_';
        if (!alpha && !(*s >= '0' && *s <= '9') && !(colon_ok && *s == ':'))
            return false;
    }
    return true;
}

static family_t *find(const prom_t *p, const char *name)
{
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->fam[i].name, name) == 0)
            return &p->fam[i];
    return NULL;
}

void prom_family(prom_t *p, const char *name, prom_type_t type, const char *help)
{
    assert(name_ok(name, true));
    if (find(p, name))
        return;
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 16;
        p->fam = xrealloc(p->fam, (size_t)p->cap * sizeof *p->fam);
    }
    family_t *f = &p->fam[p->n++];
    f->name = xstrdup(name);
    f->help = xstrdup(help ? help : "");
    f->type = type;
    buf_init(&f->samples);
}

/* Appends s with backslash and newline escaped, and the double quote too when quote. */
static void append_escaped(buf_t *b, const char *s, bool quote)
{
    for (; s && *s; s++) {
        if (*s == '\\')
            buf_append(b, "\\\\", 2);
        else if (*s == '\n')
            buf_append(b, "\\n", 2);
        else if (quote && *s == '"')
            buf_append(b, "\\\"", 2);
        else
            buf_append(b, s, 1);
    }
}

/* The shortest of %.15g / %.17g that reads back as v; NaN, +Inf, -Inf as Prometheus spells
 * them. */
static void format_value(double v, char out[32])
{
    if (isnan(v))
        snprintf(out, 32, "NaN");
    else if (isinf(v))
        snprintf(out, 32, v > 0 ? "+Inf" : "-Inf");
    else {
        snprintf(out, 32, "%.15g", v);
        if (strtod(out, NULL) != v)
            snprintf(out, 32, "%.17g", v);
    }
}

/* Appends name{labels[,le="..."]} value\n. le NULL: no le label. */
static void append_line(buf_t *b, const char *name, const char *suffix, const char *const *labels,
                        const char *le, double value)
{
    buf_appendf(b, "%s%s", name, suffix);
    bool any = (labels && labels[0]) || le;
    if (any)
        buf_append(b, "{", 1);
    bool first = true;
    for (int i = 0; labels && labels[i]; i += 2) {
        assert(name_ok(labels[i], false));
        buf_appendf(b, "%s%s=\"", first ? "" : ",", labels[i]);
        append_escaped(b, labels[i + 1], true);
        buf_append(b, "\"", 1);
        first = false;
    }
    if (le)
        buf_appendf(b, "%sle=\"%s\"", first ? "" : ",", le);
    if (any)
        buf_append(b, "}", 1);
    char v[32];
    format_value(value, v);
    buf_appendf(b, " %s\n", v);
}

void prom_sample(prom_t *p, const char *name, const char *const *labels, double value)
{
    family_t *f = find(p, name);
    assert(f && f->type != PROM_HISTOGRAM);
    append_line(&f->samples, name, "", labels, NULL, value);
}

void prom_histogram(prom_t *p, const char *name, const char *const *labels, int nbounds,
                    const double *bounds, const uint64_t *counts, double sum)
{
    family_t *f = find(p, name);
    assert(f && f->type == PROM_HISTOGRAM && nbounds >= 0);
    uint64_t cum = 0;
    char le[32];
    for (int i = 0; i < nbounds; i++) {
        cum += counts[i];
        format_value(bounds[i], le);
        append_line(&f->samples, name, "_bucket", labels, le, (double)cum);
    }
    cum += counts[nbounds];
    append_line(&f->samples, name, "_bucket", labels, "+Inf", (double)cum);
    append_line(&f->samples, name, "_sum", labels, NULL, sum);
    append_line(&f->samples, name, "_count", labels, NULL, (double)cum);
}

char *prom_render(const prom_t *p)
{
    buf_t b;
    buf_init(&b);
    for (int i = 0; i < p->n; i++) {
        const family_t *f = &p->fam[i];
        if (!f->samples.len)
            continue;
        buf_appendf(&b, "# HELP %s ", f->name);
        append_escaped(&b, f->help, false);
        buf_appendf(&b, "\n# TYPE %s %s\n", f->name, TYPE_NAMES[f->type]);
        buf_append(&b, f->samples.data, f->samples.len);
    }
    return buf_steal(&b);
}
