/* strmap: see broker_strmap.h. FNV-1a hashing, separate chaining. */
#include "broker_strmap.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

typedef struct entry {
    struct entry *next;
    uint64_t      hash;
    int64_t       val;
    char          key[];
} entry_t;

struct smap {
    entry_t **buckets;
    size_t    nbuckets; /* power of two */
    size_t    count;
};

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

smap_t *smap_new(void)
{
    smap_t *m = xcalloc(1, sizeof *m);
    m->nbuckets = 16;
    m->buckets = xcalloc(m->nbuckets, sizeof *m->buckets);
    return m;
}

void smap_destroy(smap_t **mp)
{
    if (!mp || !*mp)
        return;
    smap_t *m = *mp;
    for (size_t i = 0; i < m->nbuckets; i++)
        for (entry_t *e = m->buckets[i], *next; e; e = next) {
            next = e->next;
            free(e);
        }
    free(m->buckets);
    free(m);
    *mp = NULL;
}

/* The link that points at key's entry, or at the NULL ending its chain. */
static entry_t **find(const smap_t *m, const char *key, uint64_t h)
{
    entry_t **link = &m->buckets[h & (m->nbuckets - 1)];
    while (*link && ((*link)->hash != h || strcmp((*link)->key, key) != 0))
        link = &(*link)->next;
    return link;
}

static void grow(smap_t *m)
{
    size_t n = m->nbuckets * 2;
    entry_t **b = xcalloc(n, sizeof *b);
    for (size_t i = 0; i < m->nbuckets; i++)
        for (entry_t *e = m->buckets[i], *next; e; e = next) {
            next = e->next;
            e->next = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
        }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = n;
}

bool smap_get(const smap_t *m, const char *key, int64_t *val)
{
    entry_t *e = *find(m, key, fnv1a(key));
    if (e && val)
        *val = e->val;
    return e != NULL;
}

void smap_set(smap_t *m, const char *key, int64_t val)
{
    uint64_t h = fnv1a(key);
    entry_t **link = find(m, key, h);
    if (*link) {
        (*link)->val = val;
        return;
    }
    size_t len = strlen(key);
    entry_t *e = xmalloc(sizeof *e + len + 1);
    e->next = NULL;
    e->hash = h;
    e->val = val;
    memcpy(e->key, key, len + 1);
    *link = e;
    if (++m->count > m->nbuckets)
        grow(m);
}

bool smap_del(smap_t *m, const char *key)
{
    entry_t **link = find(m, key, fnv1a(key));
    entry_t *e = *link;
    if (!e)
        return false;
    *link = e->next;
    free(e);
    m->count--;
    return true;
}

size_t smap_count(const smap_t *m) { return m->count; }

size_t smap_filter(smap_t *m, bool (*drop)(void *ud, const char *key, int64_t val), void *ud)
{
    size_t dropped = 0;
    for (size_t i = 0; i < m->nbuckets; i++) {
        entry_t **link = &m->buckets[i];
        while (*link) {
            entry_t *e = *link;
            if (drop(ud, e->key, e->val)) {
                *link = e->next;
                free(e);
                dropped++;
            } else {
                link = &e->next;
            }
        }
    }
    m->count -= dropped;
    return dropped;
}
