/* gw_pub against a real ZeroMQ ROUTER socket standing in for the broker: ids pushed from
 * several threads all arrive, once, in PUB messages of one tenant and at most
 * BUS_PUB_MAX_IDS ids, each tenant's in push order; ids pushed within the linger go out
 * together, one message per tenant; a full queue drops and counts; destroy sends what is
 * still queued. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "bus.h"
#include "gw_pub.h"
#include "util.h"

typedef struct {
    void *ctx, *router;
    char  url[64];
} fake_broker_t;

static void broker_open(fake_broker_t *b)
{
    b->ctx = zmq_ctx_new();
    b->router = zmq_socket(b->ctx, ZMQ_ROUTER);
    assert_int_equal(zmq_bind(b->router, "tcp://127.0.0.1:*"), 0);
    size_t len = sizeof b->url;
    assert_int_equal(zmq_getsockopt(b->router, ZMQ_LAST_ENDPOINT, b->url, &len), 0);
    int timeout = 2000;
    zmq_setsockopt(b->router, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
}

static void broker_close(fake_broker_t *b)
{
    zmq_close(b->router);
    zmq_ctx_term(b->ctx);
}

/* What the fake broker received: per message its tenant and id count; per id how often. */
typedef struct {
    int  messages, ids;
    int  max_ids;
    int  seen[2][1000];   /* [tenant a/b][id number] */
    int  last[2];         /* the last id number of each tenant, -1 before the first */
    bool bad;             /* a frame that is not a well-formed PUB */
    bool reordered;       /* a tenant's ids did not arrive in push order */
} received_t;

/* Reads PUB messages until `want` ids arrived or 2 s pass without a message. */
static void receive(fake_broker_t *b, received_t *r, int want)
{
    while (r->ids < want) {
        char *f[5 + BUS_PUB_MAX_IDS + 1];
        int n = zframes_recv(b->router, f, NULL, 5 + BUS_PUB_MAX_IDS + 1, 0);
        if (n < 0)
            return;
        if (n < 6 || strcmp(f[1], BUS_PROTO) || strcmp(f[2], "PUB") || strcmp(f[3], "write")
            || (strcmp(f[4], "ta") && strcmp(f[4], "tb"))) {
            r->bad = true;
        } else {
            int t = f[4][1] == 'b';
            for (int i = 5; i < n; i++) {
                int num = atoi(f[i] + 1);
                if (f[i][0] != (t ? 'b' : 'a') || num < 0 || num >= 1000) {
                    r->bad = true;
                } else {
                    r->seen[t][num]++;
                    r->reordered |= num <= r->last[t];
                    r->last[t] = num;
                }
            }
            r->ids += n - 5;
            if (n - 5 > r->max_ids)
                r->max_ids = n - 5;
            r->messages++;
        }
        zframes_free(f, n);
    }
}

/* Receives and checks that ids a0..a<na-1> of ta and b0..b<nb-1> of tb arrived exactly once
 * and nothing else; returns what was received (static: valid until the next call). */
static const received_t *receive_each_once(fake_broker_t *b, int na, int nb)
{
    static received_t r;
    memset(&r, 0, sizeof r);
    r.last[0] = r.last[1] = -1;
    receive(b, &r, na + nb);
    assert_false(r.bad);
    assert_false(r.reordered);
    assert_int_equal(r.ids, na + nb);
    for (int t = 0; t < 2; t++)
        for (int i = 0; i < (t ? nb : na); i++)
            assert_int_equal(r.seen[t][i], 1);
    return &r;
}

/* Pushes ids <c>0..<c>n-1 of tenant t<c> (c = 'a' or 'b'). */
static void push_ids(gwp_t *p, char c, int n)
{
    char tenant[3] = { 't', c, 0 };
    for (int i = 0; i < n; i++) {
        char id[16];
        snprintf(id, sizeof id, "%c%d", c, i);
        gwp_push(p, tenant, id);
    }
}

typedef struct {
    gwp_t *p;
    char   c;
} pusher_t;

static void *push_400(void *arg)
{
    pusher_t *ps = arg;
    push_ids(ps->p, ps->c, 400);
    return NULL;
}

static void test_every_id_once_in_batches(void **state)
{
    fake_broker_t b;
    broker_open(&b);
    gwp_t *p = gwp_new(b.url, 10000, 2000);
    assert_non_null(p);
    pusher_t ps[2] = { { p, 'a' }, { p, 'b' } };
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, push_400, &ps[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    const received_t *r = receive_each_once(&b, 400, 400);
    assert_true(r->max_ids <= BUS_PUB_MAX_IDS);
    /* 800 ids pushed within a few linger periods: far fewer messages than ids (at least
     * 800 / 64 = 13 of them). */
    assert_true(r->messages >= 13);
    assert_true(r->messages < 200);
    assert_int_equal(gwp_dropped(p), 0);
    gwp_destroy(&p);
    assert_null(p);
    broker_close(&b);
}

static void test_full_queue_drops_and_destroy_flushes(void **state)
{
    fake_broker_t b;
    broker_open(&b);
    /* A long linger: the first push wakes the thread, which then waits 300 ms while the
     * other nine arrive; five fit. */
    gwp_t *p = gwp_new(b.url, 5, 300000);
    sleep_ms(50);   /* the thread reaches its wait */
    push_ids(p, 'a', 10);
    assert_int_equal(gwp_dropped(p), 5);
    gwp_destroy(&p);   /* sends the five queued ones (a0..a4) before it returns */
    assert_int_equal(receive_each_once(&b, 5, 0)->messages, 1);
    broker_close(&b);
}

/* Tenants pushed interleaved within one batch go out as one message per tenant, each in push
 * order. */
static void test_tenants_grouped_in_order(void **state)
{
    fake_broker_t b;
    broker_open(&b);
    gwp_t *p = gwp_new(b.url, 1000, 300000);
    sleep_ms(50);   /* the thread reaches its wait; the first push starts a 300 ms linger */
    for (int i = 0; i < 20; i++) {
        char id[16];
        snprintf(id, sizeof id, "%c%d", i % 2 ? 'b' : 'a', i / 2);
        gwp_push(p, i % 2 ? "tb" : "ta", id);
    }
    gwp_destroy(&p);
    assert_int_equal(receive_each_once(&b, 10, 10)->messages, 2);
    broker_close(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_id_once_in_batches),
        cmocka_unit_test(test_full_queue_drops_and_destroy_flushes),
        cmocka_unit_test(test_tenants_grouped_in_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
