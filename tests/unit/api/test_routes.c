/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the API route table (api/routes.c): exact paths, the {id}
 * segment's strict parsing, 404 versus 405, and that every route names a
 * permission and only the health probes are public. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "api/http.h"

static void test_exact_and_id_routes(void **state) {
        int64_t id = 0;
        bool known;
        const route *r = routes_match("POST", "/v1/alerts", &id, &known);
        assert_non_null(r);
        assert_int_equal(r->perm, PERM_ALERTS_WRITE);
        assert_int_equal(r->body, BODY_ALERT);
        r = routes_match("GET", "/v1/executions/42", &id, &known);
        assert_non_null(r);
        assert_int_equal(id, 42);
        assert_ptr_equal(r->handle, handle_exec_get);
        r = routes_match("POST", "/v1/recommendations/17/execute", &id, &known);
        assert_non_null(r);
        assert_int_equal(id, 17);
        assert_ptr_equal(r->handle, handle_recommendation_execute);
        assert_null(routes_match("POST", "/v1/recommendations/17/executex", &id, &known));
        assert_null(routes_match("POST", "/v1/recommendations/x/execute", &id, &known));
        assert_null(routes_match("POST", "/v1/recommendations//execute", &id, &known));
        r = routes_match("POST", "/v1/alerts/batch", &id, &known);
        assert_non_null(r);
        assert_int_equal(r->body, BODY_BATCH);
}

static void test_bad_ids_do_not_match(void **state) {
        int64_t id = 0;
        bool known;
        const char *bad[] = {"/v1/alerts/0",   "/v1/alerts/-1", "/v1/alerts/+1",
                             "/v1/alerts/1x",  "/v1/alerts/",   "/v1/alerts/99999999999999999999",
                             "/v1/alerts/1/2", "/v1/alerts/ 1"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                assert_null(routes_match("GET", bad[i], &id, &known));
                assert_false(known);
        }
}

static void test_wrong_method_is_known_path(void **state) {
        int64_t id = 0;
        bool known;
        assert_null(routes_match("DELETE", "/v1/alerts", &id, &known));
        assert_true(known);
        assert_null(routes_match("GET", "/v1/nothing", &id, &known));
        assert_false(known);
}

static void test_only_probes_are_public(void **state) {
        const char *paths[] = {"/v1/alerts",       "/v1/alerts/batch", "/v1/alerts/1",      "/v1/executions",
                               "/v1/executions/1", "/v1/breaker",      "/v1/breaker/reset", "/healthz",
                               "/readyz",          "/metrics"};
        const char *methods[] = {"POST", "POST", "GET", "GET", "GET", "GET", "POST", "GET", "GET", "GET"};
        for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
                int64_t id;
                bool known;
                const route *r = routes_match(methods[i], paths[i], &id, &known);
                assert_non_null(r);
                bool probe = strcmp(paths[i], "/healthz") == 0 || strcmp(paths[i], "/readyz") == 0;
                assert_int_equal(r->perm == PERM_PUBLIC, probe);
        }
}

/* A control byte (0x00-0x1f, 0x7f), raw or %-escaped, names the part of the
 * target it is in; ordinary escapes and text do not. */
static void test_control_bytes_in_a_target_name_its_part(void **state) {
        static const struct {
                const char *raw;
                size_t len;
                const char *field;
        } cases[] = {
                {"/v1/alerts/1%00/x", 17, "path"},
                {"/v1/alerts/1\0/x", 15, "path"},
                {"/v1/alerts/1%0a", 15, "path"},
                {"/v1/alerts/1%0D", 15, "path"},
                {"/v1/alerts/1%1F", 15, "path"},
                {"/v1/alerts/1%7f", 15, "path"},
                {"/v1/alerts/1\t", 13, "path"},
                {"/v1/alerts/1\x7f", 13, "path"},
                {"/v1/alerts/1%%00", 16, "path"},
                {"/v1/executions?limit=1%00", 25, "query"},
                {"/v1/executions?a=b?c%0a", 23, "query"},
                {"/v1/executions?limit=1\0", 23, "query"},
                {"/v1/alerts/%31", 14, NULL},
                {"/v1/alerts/1%2f", 15, NULL},
                {"/v1/alerts/1%20", 15, NULL},
                {"/v1/alerts/1%7e%80%ff", 21, NULL},
                {"/v1/alerts/1%0", 14, NULL},
                {"/v1/alerts/1%", 13, NULL},
                {"/v1/alerts/1%g0", 15, NULL},
                {"/v1/executions?limit=1&before=9", 31, NULL},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const char *got = routes_target_control(cases[i].raw, cases[i].len);
                if (cases[i].field)
                        assert_string_equal(got, cases[i].field);
                else
                        assert_null(got);
        }
}

/* The API refuses to hold an identity under a reserved actor name, whatever
 * its caller checked before. */
static void test_reserved_actor_names_are_refused(void **state) {
        static const char *const names[] = {"bulwark", "Engine", "expiry"};
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                api_actor actor = {
                        .name = names[i], .token = "0123456789abcdef0123456789abcdef", .roles = 0};
                api_options o = {.actors = &actor, .n_actors = 1};
                api_deps deps = {0};
                api *a = NULL;
                assert_int_equal(api_start(&o, &deps, &a), -EINVAL);
                assert_null(a);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_exact_and_id_routes),
                cmocka_unit_test(test_bad_ids_do_not_match),
                cmocka_unit_test(test_wrong_method_is_known_path),
                cmocka_unit_test(test_only_probes_are_public),
                cmocka_unit_test(test_control_bytes_in_a_target_name_its_part),
                cmocka_unit_test(test_reserved_actor_names_are_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
