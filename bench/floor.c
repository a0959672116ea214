/* floor: the smallest process that initializes the libraries every ml-connector worker must use
 * (libcurl with OpenSSL, libzmq, hiredis, jansson, libcrypto) and does nothing else. Its
 * resident set is the floor under any worker's RSS on this system. bench/run.sh builds and runs
 * it; it prints VmRSS, RssAnon and RssFile in kB. */
#include <curl/curl.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    CURL *curl = curl_easy_init();
    void *zctx = zmq_ctx_new();
    void *sock = zmq_socket(zctx, ZMQ_DEALER);
    json_t *obj = json_object();
    redisReader *reader = redisReaderCreate();
    EVP_CIPHER_CTX *cipher = EVP_CIPHER_CTX_new();
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS", 5) || !strncmp(line, "RssAnon", 7) || !strncmp(line, "RssFile", 7))
            fputs(line, stdout);
    if (f)
        fclose(f);
    EVP_CIPHER_CTX_free(cipher);
    redisReaderFree(reader);
    json_decref(obj);
    zmq_close(sock);
    zmq_ctx_term(zctx);
    curl_easy_cleanup(curl);
    curl_global_cleanup();
    return 0;
}
