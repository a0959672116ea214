/* mlc-webhook-gw: the HTTP front door for Asana webhooks. This version serves /healthz, which
 * reports whether Redis answers; the webhook endpoints arrive with the back-flow work. */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "httpd.h"
#include "log.h"
#include "redis.h"
#include "util.h"

typedef struct {
    const char     *redis_url;
    pthread_mutex_t lock;
    rds_t          *redis;
} gw_t;

static bool redis_alive(gw_t *gw)
{
    pthread_mutex_lock(&gw->lock);
    if (!gw->redis) {
        char err[128];
        gw->redis = rds_connect(gw->redis_url, err, sizeof err);
    }
    redisReply *rep = gw->redis ? rds_cmd(gw->redis, "PING") : NULL;
    bool ok = rds_ok(rep);
    if (rep)
        freeReplyObject(rep);
    pthread_mutex_unlock(&gw->lock);
    return ok;
}

static void handle(void *ud, const httpd_req_t *req, httpd_resp_t *resp)
{
    gw_t *gw = ud;
    if (strcmp(httpd_path(req), "/healthz") == 0 && strcmp(httpd_method(req), "GET") == 0) {
        bool ok = redis_alive(gw);
        httpd_resp_json(resp, ok ? 200 : 503,
                        ok ? "{\"status\":\"ok\",\"redis\":true}" : "{\"status\":\"degraded\",\"redis\":false}");
        return;
    }
    httpd_resp_json(resp, 404, "{\"error\":\"not found\"}");
}

int main(int argc, char **argv)
{
    int port = (int)env_long("MLC_GW_PORT", 18088);
    const char *bind_addr = env_or("MLC_GW_BIND", "127.0.0.1");
    static const struct option opts[] = { { "port", required_argument, NULL, 'p' },
                                          { "bind", required_argument, NULL, 'b' },
                                          { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
    int c;
    while ((c = getopt_long(argc, argv, "p:b:h", opts, NULL)) != -1) {
        switch (c) {
        case 'p': port = atoi(optarg); break;
        case 'b': bind_addr = optarg; break;
        case 'h':
            printf("usage: mlc-webhook-gw [--port N] [--bind ADDR]\n"
                   "Serves GET /healthz (200 when Redis answers, else 503).\n"
                   "Environment: MLC_GW_PORT (18088), MLC_GW_BIND (127.0.0.1), MLC_REDIS_URL.\n");
            return 0;
        default: return 2;
        }
    }
    log_init("mlc-webhook-gw");
    install_stop_signals();
    gw_t gw = { .redis_url = env_or("MLC_REDIS_URL", DEFAULT_REDIS_URL) };
    pthread_mutex_init(&gw.lock, NULL);
    char err[256];
    httpd_opts_t ho = { .bind_addr = bind_addr, .port = port, .threads = 2, .handler = handle, .ud = &gw };
    httpd_t *h = httpd_start(&ho, err, sizeof err);
    if (!h) {
        mlog(LOG_ERROR, "gw.listen", "%s", err);
        return 1;
    }
    mlog(LOG_INFO, "gw.start", "listening on %s:%d", bind_addr, httpd_port(h));
    while (!g_stop)
        sleep_ms(200);
    httpd_stop(&h);
    rds_destroy(&gw.redis);
    mlog(LOG_INFO, "gw.stop", "stopped");
    return 0;
}
