/* crypto: hashing, HMAC, random bytes, hex/base64 and AES-256-GCM credential sealing.
 * All on OpenSSL 3. Nothing here does I/O except master-key loading. */
#ifndef MLC_CRYPTO_H
#define MLC_CRYPTO_H
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define MLC_KEY_LEN 32

/* SHA-256 of data as 64 lowercase hex chars + NUL into out[65]. */
void sha256_hex(const void *data, size_t len, char out[65]);
/* HMAC-SHA256(key, data) as lowercase hex into out[65]. */
void hmac_sha256_hex(const void *key, size_t key_len, const void *data, size_t len, char out[65]);
/* Constant-time comparison of two strings of possibly different lengths; true when equal. */
bool ct_str_equal(const char *a, const char *b);
/* Fills buf with cryptographically secure random bytes; 0 ok, -1 on failure. */
int random_bytes(void *buf, size_t len);
/* Random lowercase hex string of 2*nbytes chars; caller frees. */
char *random_hex(size_t nbytes);

/* hex <-> bytes. hex_encode returns a malloc'd string. hex_decode returns byte count or -1. */
char *hex_encode(const void *data, size_t len);
long hex_decode(const char *hex, uint8_t *out, size_t out_cap);
/* Standard base64 (with padding). encode: malloc'd string. decode: malloc'd bytes and *out_len,
 * NULL on malformed input. */
char *b64_encode(const void *data, size_t len);
uint8_t *b64_decode(const char *s, size_t *out_len);

/* Loads the 32-byte master key: MLC_MASTER_KEY (64 hex chars or base64 of 32 bytes) or the
 * file named by MLC_MASTER_KEY_FILE (same encodings, surrounding whitespace ignored).
 * Returns 0 and fills key, or -1 with a reason in err (>= 128 bytes). */
int master_key_load(uint8_t key[MLC_KEY_LEN], char *err, size_t err_len);

/* Seals plaintext with AES-256-GCM, random 96-bit nonce, aad bound (e.g. "tenant:acme:ifs").
 * Output: "v1:" base64(nonce || ciphertext || tag). Caller frees; NULL on failure. */
char *seal_secret(const uint8_t key[MLC_KEY_LEN], const char *aad, const void *plain, size_t len);
/* Opens a sealed string; returns malloc'd plaintext (NUL-terminated, *len set if non-NULL) or
 * NULL when the key, aad or data do not match (tampering) or the format is wrong. */
char *open_secret(const uint8_t key[MLC_KEY_LEN], const char *aad, const char *sealed, size_t *len);
#endif
