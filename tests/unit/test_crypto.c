/* Unit tests for common/crypto.c: known vectors, encodings, master key and sealing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "util.h"

static void test_sha256_vectors(void **state)
{
    (void)state;
    char out[65];
    sha256_hex("", 0, out);
    assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    sha256_hex("abc", 3, out);
    assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha256_hex(m, strlen(m), out);
    assert_string_equal(out, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

/* RFC 4231 test cases 1, 2, 6 and 7 (HMAC-SHA-256 column). */
static void test_hmac_rfc4231(void **state)
{
    (void)state;
    char out[65];
    uint8_t key[131];

    memset(key, 0x0b, 20);
    hmac_sha256_hex(key, 20, "Hi There", 8, out);
    assert_string_equal(out, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");

    hmac_sha256_hex("Jefe", 4, "what do ya want for nothing?", 28, out);
    assert_string_equal(out, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");

    memset(key, 0xaa, sizeof key);
    const char *m6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    hmac_sha256_hex(key, 131, m6, strlen(m6), out);
    assert_string_equal(out, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");

    const char *m7 = "This is a test using a larger than block-size key and a larger than "
                     "block-size data. The key needs to be hashed before being used by the "
                     "HMAC algorithm.";
    hmac_sha256_hex(key, 131, m7, strlen(m7), out);
    assert_string_equal(out, "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

static void test_ct_str_equal(void **state)
{
    (void)state;
    assert_true(ct_str_equal("abc", "abc"));
    assert_true(ct_str_equal("", ""));
    assert_false(ct_str_equal("abc", "abd"));
    assert_false(ct_str_equal("abc", "abcd"));
    assert_false(ct_str_equal("abcd", "abc"));
    assert_false(ct_str_equal("", "a"));
    assert_false(ct_str_equal(NULL, "a"));
    assert_false(ct_str_equal("a", NULL));
}

static void test_random(void **state)
{
    (void)state;
    uint8_t a[32], b[32];
    assert_int_equal(random_bytes(a, sizeof a), 0);
    assert_int_equal(random_bytes(b, sizeof b), 0);
    assert_memory_not_equal(a, b, sizeof a);
    char *h1 = random_hex(16), *h2 = random_hex(16);
    assert_int_equal(strlen(h1), 32);
    assert_int_equal(strspn(h1, "0123456789abcdef"), 32);
    assert_string_not_equal(h1, h2);
    free(h1);
    free(h2);
}

static void test_hex(void **state)
{
    (void)state;
    const uint8_t raw[] = {0x00, 0x01, 0xab, 0xff};
    char *h = hex_encode(raw, sizeof raw);
    assert_string_equal(h, "0001abff");
    uint8_t out[8];
    assert_int_equal(hex_decode(h, out, sizeof out), 4);
    assert_memory_equal(out, raw, 4);
    assert_int_equal(hex_decode("0001ABFF", out, sizeof out), 4);
    assert_memory_equal(out, raw, 4);
    assert_int_equal(hex_decode("abc", out, sizeof out), -1);    /* odd */
    assert_int_equal(hex_decode("zz", out, sizeof out), -1);     /* not hex */
    assert_int_equal(hex_decode(h, out, 3), -1);                 /* too small */
    assert_int_equal(hex_decode("", out, sizeof out), 0);
    free(h);
}

static void test_base64(void **state)
{
    (void)state;
    /* RFC 4648 section 10 vectors. */
    const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *enc[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        char *e = b64_encode(plain[i], strlen(plain[i]));
        assert_string_equal(e, enc[i]);
        free(e);
        size_t n = 99;
        uint8_t *d = b64_decode(enc[i], &n);
        assert_non_null(d);
        assert_int_equal(n, strlen(plain[i]));
        assert_memory_equal(d, plain[i], n);
        free(d);
    }
    const char *bad[] = {"Zg=", "Z===", "Zg==Zg==", "Zm9v!", "Zm 9v", "=Zm9", "Zm=v", "Zh==", "Zm9="};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        uint8_t *d = b64_decode(bad[i], NULL);
        if (d) {
            free(d);
            fail_msg("accepted bad base64 '%s'", bad[i]);
        }
    }
    uint8_t all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    char *e = b64_encode(all, sizeof all);
    size_t n = 0;
    uint8_t *d = b64_decode(e, &n);
    assert_int_equal(n, 256);
    assert_memory_equal(d, all, 256);
    free(d);
    free(e);
}

static const char *KEY_HEX = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

static void test_master_key(void **state)
{
    (void)state;
    uint8_t key[MLC_KEY_LEN], want[MLC_KEY_LEN];
    char err[128];
    for (int i = 0; i < MLC_KEY_LEN; i++)
        want[i] = (uint8_t)i;

    unsetenv("MLC_MASTER_KEY_FILE");
    setenv("MLC_MASTER_KEY", KEY_HEX, 1);
    assert_int_equal(master_key_load(key, err, sizeof err), 0);
    assert_memory_equal(key, want, MLC_KEY_LEN);

    char *b64 = b64_encode(want, MLC_KEY_LEN);
    setenv("MLC_MASTER_KEY", b64, 1);
    memset(key, 0, sizeof key);
    assert_int_equal(master_key_load(key, err, sizeof err), 0);
    assert_memory_equal(key, want, MLC_KEY_LEN);

    setenv("MLC_MASTER_KEY", "deadbeef", 1);
    assert_int_equal(master_key_load(key, err, sizeof err), -1);
    assert_non_null(strstr(err, "MLC_MASTER_KEY"));
    assert_null(strstr(err, "deadbeef")); /* the key material never appears in errors */

    /* From a file, whitespace around ignored. */
    unsetenv("MLC_MASTER_KEY");
    char path[] = "/tmp/mlc-test-key-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    dprintf(fd, "\n  %s \n", b64);
    close(fd);
    setenv("MLC_MASTER_KEY_FILE", path, 1);
    memset(key, 0, sizeof key);
    assert_int_equal(master_key_load(key, err, sizeof err), 0);
    assert_memory_equal(key, want, MLC_KEY_LEN);
    unlink(path);
    free(b64);

    assert_int_equal(master_key_load(key, err, sizeof err), -1);
    assert_non_null(strstr(err, path));
    unsetenv("MLC_MASTER_KEY_FILE");
    assert_int_equal(master_key_load(key, err, sizeof err), -1);
    assert_non_null(strstr(err, "MLC_MASTER_KEY"));
}

static void make_key(uint8_t key[MLC_KEY_LEN])
{
    assert_int_equal(hex_decode(KEY_HEX, key, MLC_KEY_LEN), MLC_KEY_LEN);
}

static void test_seal_roundtrip(void **state)
{
    (void)state;
    uint8_t key[MLC_KEY_LEN];
    make_key(key);
    const char *secret = "client_secret=s3cr3t!";
    char *sealed = seal_secret(key, "tenant:acme:ifs", secret, strlen(secret));
    assert_non_null(sealed);
    assert_true(str_starts(sealed, "v1:"));
    assert_null(strstr(sealed, "s3cr3t"));
    size_t raw_len = 0;
    uint8_t *raw = b64_decode(sealed + 3, &raw_len);
    assert_int_equal(raw_len, 12 + strlen(secret) + 16); /* nonce || ct || tag */
    free(raw);

    size_t len = 0;
    char *plain = open_secret(key, "tenant:acme:ifs", sealed, &len);
    assert_non_null(plain);
    assert_int_equal(len, strlen(secret));
    assert_string_equal(plain, secret);
    free(plain);

    /* A random nonce: the same input never seals to the same string. */
    char *again = seal_secret(key, "tenant:acme:ifs", secret, strlen(secret));
    assert_string_not_equal(again, sealed);
    free(again);
    free(sealed);

    /* Empty plaintext and NULL aad work too. */
    sealed = seal_secret(key, NULL, "", 0);
    plain = open_secret(key, NULL, sealed, &len);
    assert_non_null(plain);
    assert_int_equal(len, 0);
    assert_string_equal(plain, "");
    free(plain);
    free(sealed);
}

static void test_seal_rejects_tampering(void **state)
{
    (void)state;
    uint8_t key[MLC_KEY_LEN], other[MLC_KEY_LEN];
    make_key(key);
    memcpy(other, key, sizeof other);
    other[31] ^= 1;
    const char *aad = "tenant:acme:asana";
    char *sealed = seal_secret(key, aad, "pat-123", 7);

    assert_null(open_secret(other, aad, sealed, NULL));               /* wrong key */
    assert_null(open_secret(key, "tenant:evil:asana", sealed, NULL)); /* wrong aad */
    assert_null(open_secret(key, NULL, sealed, NULL));                /* aad missing */

    /* Flip one bit in each byte of nonce, ciphertext and tag in turn. */
    size_t raw_len = 0;
    uint8_t *raw = b64_decode(sealed + 3, &raw_len);
    for (size_t i = 0; i < raw_len; i++) {
        raw[i] ^= 0x01;
        char *b64 = b64_encode(raw, raw_len);
        char *forged = xasprintf("v1:%s", b64);
        char *p = open_secret(key, aad, forged, NULL);
        if (p)
            fail_msg("tampered byte %zu accepted", i);
        free(forged);
        free(b64);
        raw[i] ^= 0x01;
    }
    /* Truncated blob, wrong version, garbage. */
    char *b64 = b64_encode(raw, 12 + 15);
    char *shorter = xasprintf("v1:%s", b64);
    assert_null(open_secret(key, aad, shorter, NULL));
    free(shorter);
    free(b64);
    free(raw);
    assert_null(open_secret(key, aad, sealed + 3, NULL));
    char *v2 = xstrdup(sealed);
    v2[1] = '2';
    assert_null(open_secret(key, aad, v2, NULL));
    free(v2);
    assert_null(open_secret(key, aad, "v1:!!!!", NULL));
    assert_null(open_secret(key, aad, "v1:", NULL));
    assert_null(open_secret(key, aad, NULL, NULL));

    char *ok = open_secret(key, aad, sealed, NULL);
    assert_string_equal(ok, "pat-123");
    free(ok);
    free(sealed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_vectors), cmocka_unit_test(test_hmac_rfc4231),
        cmocka_unit_test(test_ct_str_equal),   cmocka_unit_test(test_random),
        cmocka_unit_test(test_hex),            cmocka_unit_test(test_base64),
        cmocka_unit_test(test_master_key),     cmocka_unit_test(test_seal_roundtrip),
        cmocka_unit_test(test_seal_rejects_tampering),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
