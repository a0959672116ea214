/* libFuzzer target for common/jsonscan.c (not built by default):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Icommon \
 *     tests/fuzz/fuzz_jsonscan.c common/jsonscan.c common/util.c -ljansson -o fuzz_jsonscan
 * Input: byte 0 picks the chunking, byte 1 the path, the rest is the document. Checks:
 *  - feeding the document whole or in chunks gives the same items, scalars, result and error;
 *  - when jansson accepts the document (nesting shallowly, no NUL byte), jsonscan accepts it and
 *    every item it hands out is a JSON value jansson accepts. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonscan.h"
#include "util.h"

static const char *const PATHS[] = {"value", "results.records", "Items", ""};

typedef struct {
    buf_t log;
    int   bad_item; /* an item jansson rejects */
} transcript_t;

static int on_item(void *ud, const char *json, size_t len)
{
    transcript_t *t = ud;
    buf_appendf(&t->log, "I%zu:", len);
    buf_append(&t->log, json, len);
    json_t *v = json_loadb(json, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (!v)
        t->bad_item = 1;
    json_decref(v);
    return 0;
}

static void on_scalar(void *ud, const char *path, const char *raw, size_t len)
{
    transcript_t *t = ud;
    buf_appendf(&t->log, "S%s=%zu:", path, len);
    buf_append(&t->log, raw, len);
}

/* Scans doc in chunks whose sizes cycle through 1..seed%13+1 (seed 0: whole). */
static int run(const char *path, const uint8_t *doc, size_t len, unsigned seed, transcript_t *t)
{
    jscan_t *s = jscan_new(path, on_item, on_scalar, t);
    if (!s)
        abort();
    int rc = 0;
    unsigned step = 0;
    for (size_t off = 0; off < len && rc == 0;) {
        size_t chunk = seed ? (step++ % (seed % 13 + 1)) + 1 : len;
        if (chunk > len - off)
            chunk = len - off;
        rc = jscan_feed(s, (const char *)doc + off, chunk);
        off += chunk;
    }
    if (rc == 0)
        rc = jscan_finish(s);
    buf_appendf(&t->log, "R%d:%s", rc, jscan_error(s));
    jscan_destroy(&s);
    return rc;
}

static size_t count_openers(const uint8_t *d, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += d[i] == '[' || d[i] == '{';
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned seed = data[0];
    const char *path = PATHS[data[1] % (sizeof PATHS / sizeof PATHS[0])];
    const uint8_t *doc = data + 2;
    size_t len = size - 2;

    transcript_t whole = {0}, chunked = {0};
    buf_init(&whole.log);
    buf_init(&chunked.log);
    int rc = run(path, doc, len, 0, &whole);
    run(path, doc, len, seed ? seed : 1, &chunked);
    if (whole.log.len != chunked.log.len || memcmp(whole.log.data, chunked.log.data, whole.log.len))
        abort();

    /* jansson stops at a NUL byte as if the input ended there: compare only without one. */
    if (count_openers(doc, len) < 500 && !memchr(doc, 0, len)) {
        json_t *v = json_loadb((const char *)doc, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        if (v && (rc != 0 || whole.bad_item))
            abort();
        json_decref(v);
    }
    buf_free(&whole.log);
    buf_free(&chunked.log);
    return 0;
}
