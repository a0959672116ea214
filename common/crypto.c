/* crypto: hashing, HMAC, encodings and AES-256-GCM sealing on OpenSSL 3. */
#include "crypto.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "util.h"

#define GCM_NONCE_LEN 12
#define GCM_TAG_LEN   16
#define SEALED_PREFIX "v1:"

static void hex_into(const uint8_t *data, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 15];
    }
    out[2 * len] = '\0';
}

void sha256_hex(const void *data, size_t len, char out[65])
{
    uint8_t md[32];
    unsigned int md_len = 0;
    EVP_Digest(len ? data : "", len, md, &md_len, EVP_sha256(), NULL);
    hex_into(md, sizeof md, out);
}

void hmac_sha256_hex(const void *key, size_t key_len, const void *data, size_t len, char out[65])
{
    uint8_t md[32];
    unsigned int md_len = 0;
    HMAC(EVP_sha256(), key_len ? key : "", (int)key_len, len ? data : (const void *)"", len, md,
         &md_len);
    hex_into(md, sizeof md, out);
}

/* Lengths are not secret (a MAC's hex length is public); contents are compared without an
 * early exit. When lengths differ, a's bytes are still all read so timing depends on the
 * lengths only. */
bool ct_str_equal(const char *a, const char *b)
{
    if (!a || !b)
        return false;
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb) {
        (void)CRYPTO_memcmp(a, a, la);
        return false;
    }
    return CRYPTO_memcmp(a, b, la) == 0;
}

int random_bytes(void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len > 0) {
        int chunk = len > INT_MAX ? INT_MAX : (int)len;
        if (RAND_bytes(p, chunk) != 1)
            return -1;
        p += chunk;
        len -= (size_t)chunk;
    }
    return 0;
}

char *random_hex(size_t nbytes)
{
    uint8_t *raw = xmalloc(nbytes);
    if (random_bytes(raw, nbytes) != 0) {
        free(raw);
        return NULL;
    }
    char *hex = hex_encode(raw, nbytes);
    OPENSSL_cleanse(raw, nbytes);
    free(raw);
    return hex;
}

char *hex_encode(const void *data, size_t len)
{
    char *out = xmalloc(2 * len + 1);
    hex_into(data, len, out);
    return out;
}

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long hex_decode(const char *hex, uint8_t *out, size_t out_cap)
{
    if (!hex)
        return -1;
    size_t n = strlen(hex);
    if (n % 2 || n / 2 > out_cap || n / 2 > LONG_MAX)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hex_nibble(hex[2 * i]), lo = hex_nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return (long)(n / 2);
}

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *b64_encode(const void *data, size_t len)
{
    const uint8_t *in = data;
    char *out = xmalloc((len + 2) / 3 * 4 + 1), *o = out;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        *o++ = b64_alphabet[v >> 18 & 63];
        *o++ = b64_alphabet[v >> 12 & 63];
        *o++ = i + 1 < len ? b64_alphabet[v >> 6 & 63] : '=';
        *o++ = i + 2 < len ? b64_alphabet[v & 63] : '=';
    }
    *o = '\0';
    return out;
}

static int b64_value(char c)
{
    const char *p = c ? strchr(b64_alphabet, c) : NULL;
    return p ? (int)(p - b64_alphabet) : -1;
}

/* Strict: length a multiple of 4, '=' only as the last one or two characters, unused bits
 * zero, so each byte string has exactly one accepted encoding. */
uint8_t *b64_decode(const char *s, size_t *out_len)
{
    if (!s)
        return NULL;
    size_t n = strlen(s);
    if (n % 4)
        return NULL;
    size_t pad = n >= 1 && s[n - 1] == '=' ? (n >= 2 && s[n - 2] == '=' ? 2 : 1) : 0;
    uint8_t *out = xmalloc(n / 4 * 3 + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        bool last = i + 4 == n;
        uint32_t v = 0;
        for (int k = 0; k < 4; k++) {
            int d = last && k >= 4 - (int)pad ? 0 : b64_value(s[i + k]);
            if (d < 0) {
                free(out);
                return NULL;
            }
            v = v << 6 | (uint32_t)d;
        }
        if (last && (v & (pad == 2 ? 0xFFFF : pad == 1 ? 0xFF : 0)) != 0) {
            free(out); /* non-zero padding bits: not canonical */
            return NULL;
        }
        out[o++] = (uint8_t)(v >> 16);
        if (!last || pad < 2)
            out[o++] = (uint8_t)(v >> 8);
        if (!last || pad < 1)
            out[o++] = (uint8_t)v;
    }
    if (out_len)
        *out_len = o;
    return out;
}

/* Decodes a key given as 64 hex chars or base64 of 32 bytes (whitespace around ignored).
 * Returns 0 or -1; source names the origin for the error text, which never holds the key. */
static int decode_key(const char *text, const char *source, uint8_t key[MLC_KEY_LEN], char *err,
                      size_t err_len)
{
    char *trimmed = str_trim_dup(text);
    int rc = -1;
    if (strlen(trimmed) == 2 * MLC_KEY_LEN && hex_decode(trimmed, key, MLC_KEY_LEN) == MLC_KEY_LEN) {
        rc = 0;
    } else {
        size_t n = 0;
        uint8_t *raw = b64_decode(trimmed, &n);
        if (raw && n == MLC_KEY_LEN) {
            memcpy(key, raw, MLC_KEY_LEN);
            rc = 0;
        }
        if (raw) {
            OPENSSL_cleanse(raw, n);
            free(raw);
        }
    }
    if (rc != 0)
        snprintf(err, err_len, "%s is neither 64 hex chars nor base64 of 32 bytes", source);
    OPENSSL_cleanse(trimmed, strlen(trimmed));
    free(trimmed);
    return rc;
}

int master_key_load(uint8_t key[MLC_KEY_LEN], char *err, size_t err_len)
{
    const char *env = env_or("MLC_MASTER_KEY", NULL);
    if (env)
        return decode_key(env, "MLC_MASTER_KEY", key, err, err_len);
    const char *path = env_or("MLC_MASTER_KEY_FILE", NULL);
    if (!path) {
        snprintf(err, err_len, "no master key: set MLC_MASTER_KEY or MLC_MASTER_KEY_FILE");
        return -1;
    }
    size_t len = 0;
    char *text = read_file(path, &len);
    if (!text) {
        snprintf(err, err_len, "cannot read MLC_MASTER_KEY_FILE %s: %s", path, strerror(errno));
        return -1;
    }
    int rc = decode_key(text, "MLC_MASTER_KEY_FILE content", key, err, err_len);
    OPENSSL_cleanse(text, len);
    free(text);
    return rc;
}

/* Runs AES-256-GCM in one direction over in[len] into out (same length). For decryption tag
 * is checked, for encryption it is filled. Returns 0, or -1 on any failure incl. a tag
 * mismatch. */
static int gcm_run(bool encrypt, const uint8_t key[MLC_KEY_LEN], const uint8_t nonce[GCM_NONCE_LEN],
                   const char *aad, const uint8_t *in, size_t len, uint8_t *out,
                   uint8_t tag[GCM_TAG_LEN])
{
    if (len > INT_MAX)
        return -1;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx)
        return -1;
    size_t aad_len = aad ? strlen(aad) : 0;
    int n = 0, ok;
    ok = EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, encrypt) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, GCM_NONCE_LEN, NULL) == 1 &&
         EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, encrypt) == 1 &&
         (aad_len == 0 ||
          EVP_CipherUpdate(ctx, NULL, &n, (const uint8_t *)aad, (int)aad_len) == 1) &&
         (len == 0 || EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1);
    if (ok && !encrypt)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, GCM_TAG_LEN, tag) == 1;
    uint8_t final_block[16];
    ok = ok && EVP_CipherFinal_ex(ctx, final_block, &n) == 1;
    if (ok && encrypt)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, GCM_TAG_LEN, tag) == 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok ? 0 : -1;
}

char *seal_secret(const uint8_t key[MLC_KEY_LEN], const char *aad, const void *plain, size_t len)
{
    size_t total = GCM_NONCE_LEN + len + GCM_TAG_LEN;
    uint8_t *blob = xmalloc(total);
    char *out = NULL;
    if (random_bytes(blob, GCM_NONCE_LEN) == 0 &&
        gcm_run(true, key, blob, aad, plain, len, blob + GCM_NONCE_LEN,
                blob + GCM_NONCE_LEN + len) == 0) {
        char *b64 = b64_encode(blob, total);
        out = xasprintf(SEALED_PREFIX "%s", b64);
        free(b64);
    }
    free(blob);
    return out;
}

char *open_secret(const uint8_t key[MLC_KEY_LEN], const char *aad, const char *sealed, size_t *len)
{
    if (!sealed || !str_starts(sealed, SEALED_PREFIX))
        return NULL;
    size_t blob_len = 0;
    uint8_t *blob = b64_decode(sealed + strlen(SEALED_PREFIX), &blob_len);
    if (!blob)
        return NULL;
    if (blob_len < GCM_NONCE_LEN + GCM_TAG_LEN) {
        free(blob);
        return NULL;
    }
    size_t plain_len = blob_len - GCM_NONCE_LEN - GCM_TAG_LEN;
    char *plain = xmalloc(plain_len + 1);
    if (gcm_run(false, key, blob, aad, blob + GCM_NONCE_LEN, plain_len, (uint8_t *)plain,
                blob + GCM_NONCE_LEN + plain_len) != 0) {
        OPENSSL_cleanse(plain, plain_len);
        free(plain);
        free(blob);
        return NULL;
    }
    free(blob);
    plain[plain_len] = '\0';
    if (len)
        *len = plain_len;
    return plain;
}
