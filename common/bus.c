/* bus: ZeroMQ producer connection to the broker and the multipart helpers (see bus.h). */
#include "bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "log.h"
#include "util.h"

struct bus {
    void *ctx;
    void *sock;
    int   broker_down; /* the last send timed out: do not wait again until one goes through */
};

bus_t *bus_producer_new(const char *endpoint)
{
    bus_t *b = xcalloc(1, sizeof *b);
    b->ctx = zmq_ctx_new();
    b->sock = b->ctx ? zmq_socket(b->ctx, ZMQ_DEALER) : NULL;
    if (!b->sock) {
        mlog(LOG_ERROR, "bus.socket", "cannot create a ZeroMQ socket: %s", zmq_strerror(errno));
        bus_destroy(&b);
        return NULL;
    }
    /* Queue plenty while the broker restarts; give up sending after the timeout; keep
     * unsent messages a moment on close so a short-lived CLI still delivers. */
    int timeout = (int)env_long("MLC_BUS_SEND_TIMEOUT_MS", 1000), hwm = 100000, linger = 500;
    zmq_setsockopt(b->sock, ZMQ_SNDTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt(b->sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(b->sock, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_connect(b->sock, endpoint) != 0) {
        mlog(LOG_ERROR, "bus.connect", "cannot connect to %s: %s", endpoint,
             zmq_strerror(errno));
        bus_destroy(&b);
        return NULL;
    }
    return b;
}

void bus_destroy(bus_t **bp)
{
    if (!bp || !*bp)
        return;
    bus_t *b = *bp;
    if (b->sock)
        zmq_close(b->sock);
    if (b->ctx)
        zmq_ctx_term(b->ctx); /* waits at most the linger for unsent messages */
    free(b);
    *bp = NULL;
}

/* Sends n frames as one message; flags apply to the first frame (a multipart message is
 * queued whole once its first frame is). 0 or -1 with errno. */
static int send_frames(void *sock, int n, const char *const *frames, const size_t *lens,
                       int flags)
{
    for (int i = 0; i < n; i++) {
        size_t len = lens ? lens[i] : strlen(frames[i]);
        int f = (i == 0 ? flags : 0) | (i + 1 < n ? ZMQ_SNDMORE : 0);
        if (zmq_send(sock, frames[i], len, f) < 0)
            return -1;
    }
    return 0;
}

int zframes_send(void *sock, int n, const char *const *frames, const size_t *lens)
{
    return send_frames(sock, n, frames, lens, 0);
}

/* Sends n ids (1..BUS_PUB_MAX_IDS) as one PUB message; 0 or -1 (logged) when dropped. */
static int publish_one(bus_t *b, const char *service, const char *tenant,
                       const char *const *job_ids, int n)
{
    const char *frames[4 + BUS_PUB_MAX_IDS] = {BUS_PROTO, "PUB", service, tenant};
    memcpy(frames + 4, job_ids, sizeof *job_ids * (size_t)n);
    if (send_frames(b->sock, 4 + n, frames, NULL, b->broker_down ? ZMQ_DONTWAIT : 0) == 0) {
        b->broker_down = 0;
        return 0;
    }
    if (!b->broker_down)
        mlog(LOG_WARN, "bus.drop", "broker not reachable, %d job(s) of %s (%s...) left to the "
             "resync: %s", n, tenant, job_ids[0], zmq_strerror(errno));
    b->broker_down = 1;
    return -1;
}

int bus_publish_many(bus_t *b, const char *service, const char *tenant,
                     const char *const *job_ids, int n)
{
    int rc = 0;
    for (int i = 0; i < n; i += BUS_PUB_MAX_IDS)
        rc |= publish_one(b, service, tenant, job_ids + i,
                          n - i < BUS_PUB_MAX_IDS ? n - i : BUS_PUB_MAX_IDS);
    return rc;
}

int bus_publish(bus_t *b, const char *service, const char *tenant, const char *job_id)
{
    return publish_one(b, service, tenant, &job_id, 1);
}

int zframes_recv(void *sock, char **out, size_t *lens, int max, int flags)
{
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, sock, n == 0 ? flags : 0) < 0) {
            int saved = errno;
            zmq_msg_close(&msg);
            zframes_free(out, n);
            errno = saved;
            return -1;
        }
        more = zmq_msg_more(&msg);
        if (n < max) { /* frames beyond max are read and dropped */
            size_t len = zmq_msg_size(&msg);
            out[n] = xmalloc(len + 1);
            memcpy(out[n], zmq_msg_data(&msg), len);
            out[n][len] = '\0';
            if (lens)
                lens[n] = len;
            n++;
        }
        zmq_msg_close(&msg);
    }
    return n;
}

void zframes_free(char **frames, int n)
{
    for (int i = 0; i < n; i++) {
        free(frames[i]);
        frames[i] = NULL;
    }
}

int job_submit(rds_t *r, bus_t *b, const job_t *j)
{
    int rc = job_enqueue(r, j);
    if (rc == 1 && b)
        bus_publish(b, j->service, j->tenant, j->id); /* logs when it drops */
    return rc;
}
