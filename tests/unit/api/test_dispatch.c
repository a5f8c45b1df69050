/* SPDX-License-Identifier: Apache-2.0 */
/* Core's side of the api process (api/dispatch.c) against a hostile peer: a
 * message a real api process never sends ends the link, before core spends
 * anything on it. The peer is a socketpair driven by the test. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "api/dispatch.h"
#include "connectors/ipc.h"

static bw_metrics metrics;

/* A link served by core, and the api end the test writes to. */
static api_link *link_up(int *ret_peer, api_shared *shared) {
        int sv[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        *shared = (api_shared){.metrics = &metrics, .alert_body_max = BW_ALERT_BODY_MAX_DEFAULT};
        api_link *l = NULL;
        assert_int_equal(api_link_start(sv[0], shared, 1, false, &l), 0);
        *ret_peer = sv[1];
        return l;
}

/* The link ends (core's reader sees the malformed message). */
static void assert_dies(api_link *l, int peer) {
        for (int i = 0; i < 200 && !api_link_dead(l); i++)
                usleep(5000);
        assert_true(api_link_dead(l));
        close(peer);
        api_link_stop(l);
}

static void hello(int peer) {
        sandbox_status st = {.uid = 60590};
        json_t *v = ipc_init_ok_pack(&st);
        assert_int_equal(wire_json_send(peer, WIRE_HELLO, v), 0);
        json_decref(v);
}

/* One REQUEST, as the api process sends it. */
static void send_message(int peer, const wire_request *w) {
        buf out;
        buf_init(&out, BW_WIRE_PAYLOAD_MAX + 64);
        assert_int_equal(wire_request_append(&out, 1, w), 0);
        assert_int_equal(wire_write(peer, out.data, out.len), 0);
        buf_free(&out);
}

/* GET /v1/alerts/{id} (BODY_NONE) with a body of n bytes. */
static void send_request(int peer, size_t n) {
        static char body[BW_SMALL_BODY_MAX + 2];
        memset(body, 'x', sizeof(body));
        const route *r = NULL;
        unsigned index = 0;
        for (; (r = routes_at(index)); index++)
                if (r->body == BODY_NONE && r->perm == PERM_ALERTS_READ)
                        break;
        assert_non_null(r);
        wire_request w = {.route = (uint16_t)index, .path_id = 1, .body = body, .body_len = n};
        send_message(peer, &w);
}

static void test_a_request_before_hello_ends_the_link(void **state) {
        api_shared shared;
        int peer;
        api_link *l = link_up(&peer, &shared);
        send_request(peer, 0);
        assert_dies(l, peer);
}

static void test_a_body_over_its_routes_limit_ends_the_link(void **state) {
        api_shared shared;
        int peer;
        api_link *l = link_up(&peer, &shared);
        hello(peer);
        send_request(peer, BW_SMALL_BODY_MAX + 1);
        assert_dies(l, peer);
}

static void test_a_second_hello_ends_the_link(void **state) {
        api_shared shared;
        int peer;
        api_link *l = link_up(&peer, &shared);
        hello(peer);
        hello(peer);
        assert_dies(l, peer);
}

static void test_an_unknown_route_ends_the_link(void **state) {
        api_shared shared;
        int peer;
        api_link *l = link_up(&peer, &shared);
        hello(peer);
        wire_request w = {.route = 999};
        send_message(peer, &w);
        assert_dies(l, peer);
}

int main(void) {
        metrics_init(&metrics);
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_a_request_before_hello_ends_the_link),
                cmocka_unit_test(test_a_body_over_its_routes_limit_ends_the_link),
                cmocka_unit_test(test_a_second_hello_ends_the_link),
                cmocka_unit_test(test_an_unknown_route_ends_the_link),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
