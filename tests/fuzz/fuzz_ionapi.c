/* libFuzzer target for common/ionapi.c, the parser of hostile .ionapi files (not built by
 * default):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Icommon \
 *     tests/fuzz/fuzz_ionapi.c common/ionapi.c common/config.c common/record.c \
 *     common/schedule.c common/util.c common/crypto.c -ljansson -lcrypto -o fuzz_ionapi
 * Input: a document, as a .ionapi file would arrive. Checks: parsing either fails with a message
 * that does not depend on the values of the secrets (cs, sask), or succeeds and then every required member is set, the
 * derived URLs hold no space or control character, start with http(s)://, and the API base ends
 * with "/" + ti. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ionapi.h"
#include "util.h"

static void check_url(const char *url)
{
    if (!url)
        abort();
    if (!str_starts(url, "http://") && !str_starts(url, "https://"))
        abort();
    for (const unsigned char *p = (const unsigned char *)url; *p; p++)
        if (*p <= ' ' || *p == 0x7f)
            abort();
}

/* True when obj's member is a string ionapi_parse accepts as a value (so another accepted
 * value takes the same path through the checks). */
static int plain_value(const json_t *obj, const char *member)
{
    const char *v = json_string_value(json_object_get(obj, member));
    return v && *v && strlen(v) <= IONAPI_MAX_VALUE;
}

/* The message of parsing obj with the secrets replaced by other values: it must equal err, or
 * a secret shaped the message. Only meaningful when both secrets are plain values. */
static void check_secrets_absent(const json_t *obj, const char *err)
{
    if (!plain_value(obj, "cs") || !plain_value(obj, "sask"))
        return;
    json_t *other = json_deep_copy(obj);
    json_object_set_new(other, "cs", json_string("replaced-client-secret"));
    json_object_set_new(other, "sask", json_string("replaced-service-secret"));
    ionapi_t a;
    char again[256] = "";
    if (ionapi_parse(other, "erp.ionapi", &a, again, sizeof again) == 0 || strcmp(err, again) != 0)
        abort();
    json_decref(other);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *obj = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    if (!obj)
        return 0;
    ionapi_t a;
    char err[256] = "";
    if (ionapi_parse(obj, "erp.ionapi", &a, err, sizeof err) != 0) {
        check_secrets_absent(obj, err);
        json_decref(obj);
        return 0;
    }
    if (!a.ti || !a.ci || !a.cs || !a.iu || !a.pu || !a.ot || !a.saak || !a.sask || !a.raw)
        abort();
    char *token = ionapi_token_url(&a), *revoke = ionapi_revoke_url(&a), *base = ionapi_api_base(&a);
    check_url(token);
    check_url(base);
    if (revoke)
        check_url(revoke);
    size_t n = strlen(base), t = strlen(a.ti);
    if (n < t + 1 || base[n - t - 1] != '/' || strcmp(base + n - t, a.ti) != 0)
        abort();
    free(token);
    free(revoke);
    free(base);
    ionapi_free(&a);
    json_decref(obj);
    return 0;
}
