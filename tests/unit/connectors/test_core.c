/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the connector registry, the settings tables and checks, the
 * generic action checks and the IPC messages, single and batched (over a real
 * socketpair). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn_test.h"
#include "connectors/connector.h"
#include "connectors/ipc.h"
#include "connectors/kind.h"
#include "core/limits.h"
#include "util/strutil.h"

static void test_registry_kinds_and_verbs(void **state) {
        const char *names[] = {"nft", "http", "exec", "notify"};
        const connector_kind *const *all = connector_kinds();
        size_t n = 0;
        while (all[n])
                n++;
        assert_int_equal(n, 4);
        for (size_t i = 0; i < 4; i++) {
                const connector_kind *k = connector_kind_find(names[i]);
                assert_non_null(k);
                assert_string_equal(k->name, names[i]);
                assert_non_null(k->open);
                assert_non_null(k->close);
                assert_non_null(k->check_settings);
                assert_non_null(k->ops[CONNECTOR_OP_VALIDATE]);
                assert_non_null(k->ops[CONNECTOR_OP_APPLY]);
        }
        assert_null(connector_kind_find("ldap"));
        assert_null(connector_kind_find(NULL));

        const connector_kind *nft = connector_kind_find("nft");
        const connector_verb *block = connector_verb_find(nft, "block");
        assert_non_null(block);
        assert_true(block->reversible);
        assert_int_equal(block->target_kinds, 1u << TARGET_IP);
        assert_non_null(connector_verb_find(nft, "unblock"));
        assert_null(connector_verb_find(nft, "run"));
        const connector_verb *run = connector_verb_find(connector_kind_find("exec"), "run");
        assert_true(run->reversible); /* when its integration pairs snapshot and rollback programs */
        assert_false(connector_action_reversible(connector_kind_find("exec"), NULL, "run"));
        json_t *paired = json_pack("{ss ss ss}", "program", "/bin/true", "snapshot_program", "/bin/true",
                                   "rollback_program", "/bin/true");
        assert_true(connector_action_reversible(connector_kind_find("exec"), paired, "run"));
        json_decref(paired);
        assert_true(connector_kind_find("notify")->inert);
        assert_true(run->target_kinds & (1u << TARGET_NONE));
        assert_true(run->target_kinds & (1u << TARGET_ACCOUNT));
        assert_non_null(connector_verb_find(connector_kind_find("http"), "request"));
        assert_non_null(connector_verb_find(connector_kind_find("notify"), "send"));

        assert_string_equal(connector_op_name(CONNECTOR_OP_VALIDATE), "validate");
        assert_string_equal(connector_op_name(CONNECTOR_OP_ROLLBACK), "rollback");
        assert_string_equal(connector_op_name(_CONNECTOR_OP_MAX), "?");
}

/* Configuration validates against these tables alone: every entry must be complete. */
/* core's copy of an http integration's settings loses its headers (the
 * bytes overwritten, the key gone) and keeps what it answers from. */
static void test_core_forgets_the_secret_settings(void **state) {
        const connector_kind *k = connector_kind_find("http");
        json_t *settings = json_pack("{ss s[ss]}", "url", "https://edr.example/api", "headers",
                                     "X-Api-Key: s3cr3t-value", "X-Other: two");
        json_t *headers = json_incref(json_object_get(settings, "headers"));
        connector_settings_forget_secrets(k, settings);
        assert_null(json_object_get(settings, "headers"));
        assert_string_equal(json_string_value(json_object_get(settings, "url")), "https://edr.example/api");
        const char *first = json_string_value(json_array_get(headers, 0));
        for (size_t i = 0; i < strlen("X-Api-Key: s3cr3t-value"); i++)
                assert_int_equal(first[i], 0);
        json_decref(headers);
        /* A kind without secrets keeps everything. */
        json_t *nft = json_pack("{ss}", "table", "t");
        connector_settings_forget_secrets(connector_kind_find("nft"), nft);
        assert_int_equal(json_object_size(nft), 1);
        json_decref(nft);
        json_decref(settings);
}

static void test_settings_tables_are_complete(void **state) {
        for (const connector_kind *const *k = connector_kinds(); *k; k++) {
                for (const setting_spec *s = (*k)->settings; s->name; s++) {
                        assert_true(s->type < _SETTING_TYPE_MAX);
                        assert_true(s->min <= s->max);
                        assert_non_null(s->help);
                        assert_true(strlen(s->help) > 10);
                        assert_ptr_equal(setting_spec_find((*k)->settings, s->name), s);
                }
        }
        const setting_spec *url = setting_spec_find(connector_kind_find("http")->settings, "url");
        assert_true(url->required);
        assert_non_null(setting_spec_find(connector_kind_find("notify")->settings, "token_file"));
        assert_null(setting_spec_find(connector_kind_find("notify")->settings, "headers"));
        const setting_spec *t = setting_spec_find(connector_kind_find("nft")->settings, "default_timeout_s");
        assert_int_equal(t->min, 1);
        assert_int_equal(t->max, 2592000);
        assert_int_equal(setting_spec_find(connector_kind_find("exec")->settings, "args")->max,
                         BW_EXEC_MAX_ARGS);
}

/* Every verb declares its params in a table of the same kind as the settings
 * (the one source of truth for lint, start-up and VALIDATE). */
static void test_params_tables_are_complete(void **state) {
        for (const connector_kind *const *k = connector_kinds(); *k; k++)
                for (const connector_verb *v = (*k)->verbs; v->name; v++) {
                        assert_non_null(v->params);
                        for (const setting_spec *s = v->params; s->name; s++) {
                                assert_true(s->type == SETTING_STRING || s->type == SETTING_INT ||
                                            s->type == SETTING_BOOL || s->type == SETTING_SCALAR);
                                assert_true(s->min <= s->max);
                                assert_true(s->help && strlen(s->help) > 10);
                                assert_true(strcmp(s->name, SETTING_ANY_NAME) == 0 ||
                                            param_name_valid(s->name, strlen(s->name)));
                        }
                }
        const connector_kind *nft = connector_kind_find("nft");
        const setting_spec *t = setting_spec_find(connector_verb_find(nft, "block")->params, "timeout_s");
        assert_non_null(t);
        assert_int_equal(t->type, SETTING_INT);
        assert_int_equal(t->min, 1);
        assert_int_equal(t->max, BW_NFT_TIMEOUT_S_MAX);
        assert_null(setting_spec_find(connector_verb_find(nft, "unblock")->params, "timeout_s"));
        assert_null(setting_spec_find(connector_verb_find(nft, "block")->params, "reason"));
        /* http, exec and notify pass their params on: any name. */
        const char *passing[][2] = {{"http", "request"}, {"exec", "run"}, {"notify", "send"}};
        for (size_t i = 0; i < 3; i++) {
                const connector_verb *v =
                        connector_verb_find(connector_kind_find(passing[i][0]), passing[i][1]);
                const setting_spec *any = setting_spec_find(v->params, "ticket");
                assert_non_null(any);
                assert_string_equal(any->name, SETTING_ANY_NAME);
                assert_int_equal(any->max, BW_PARAM_VALUE_MAX);
        }
}

/* params_check: unknown names, types, ranges and text, each naming params.<name>. */
static void test_params_check_names_the_param(void **state) {
        const setting_spec *block = connector_verb_find(connector_kind_find("nft"), "block")->params;
        const setting_spec *send = connector_verb_find(connector_kind_find("notify"), "send")->params;
        static const struct {
                bool nft;
                const char *params, *code, *field;
        } cases[] = {
                {true, "{\"timeout_s\":9223372036854775807}", "out_of_range", "params.timeout_s"},
                {true, "{\"timeout_s\":-1}", "out_of_range", "params.timeout_s"},
                {true, "{\"timeout_s\":\"3600\"}", "wrong_type", "params.timeout_s"},
                {true, "{\"timeout_s\":1.5}", "wrong_type", "params.timeout_s"},
                {true, "{\"why\":\"x\"}", "unknown_param", "params.why"},
                {true, "{\"Bad-Name\":1}", "bad_charset", "params"},
                {false, "{\"text\":{\"a\":1}}", "wrong_type", "params.text"},
                {false, "{\"text\":\"a\\u0007b\"}", "bad_charset", "params.text"},
                {false, "[]", "wrong_type", "params"},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                json_t *p = json_loads(cases[i].params, JSON_DECODE_ANY, NULL);
                assert_non_null(p);
                bw_error e = {0};
                assert_int_equal(params_check(cases[i].nft ? block : send, p, &e), -EINVAL);
                assert_string_equal(e.code, cases[i].code);
                assert_string_equal(e.field, cases[i].field);
                json_decref(p);
        }
        json_t *ok = json_pack("{sI}", "timeout_s", (json_int_t)BW_NFT_TIMEOUT_S_MAX);
        assert_int_equal(params_check(block, ok, NULL), 0);
        json_decref(ok);
        ok = json_pack("{ss sI sb}", "text", "hello", "n", (json_int_t)INT64_MIN, "dry", 1);
        assert_int_equal(params_check(send, ok, NULL), 0);
        json_decref(ok);
}

/* The expiry the engine turns into milliseconds never exceeds the table's range:
 * a timeout_s of 2^63-1 (which VALIDATE refuses anyway) is no expiry at all. */
static void test_native_expiry_is_bounded_by_the_tables(void **state) {
        const connector_kind *nft = connector_kind_find("nft");
        json_t *settings = json_object(), *dflt = json_pack("{si}", "default_timeout_s", 60);
        json_t *huge_dflt = json_pack("{sI}", "default_timeout_s", (json_int_t)INT64_MAX);
        static const struct {
                const char *params;
                int64_t want;
        } cases[] = {
                {"{\"timeout_s\":3600}", 3600},
                {"{\"timeout_s\":2592000}", 2592000},
                {"{\"timeout_s\":2592001}", 0},
                {"{\"timeout_s\":9223372036854775807}", 0},
                {"{\"timeout_s\":-5}", 0},
                {"{\"timeout_s\":\"60\"}", 0},
                {"{}", 0},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                json_t *p = json_loads(cases[i].params, 0, NULL);
                assert_int_equal(connector_native_expiry_s(nft, settings, p), cases[i].want);
                json_decref(p);
        }
        json_t *none = json_object();
        assert_int_equal(connector_native_expiry_s(nft, dflt, none), 60);
        assert_int_equal(connector_native_expiry_s(nft, huge_dflt, none), 0);
        assert_int_equal(connector_native_expiry_s(connector_kind_find("http"), dflt, none), 0);
        json_decref(none);
        json_decref(settings);
        json_decref(dflt);
        json_decref(huge_dflt);
}

/* One row of the params table of docs/playbooks.md, from a verb's table entry
 * (s NULL: the verb takes none). */
static void params_doc_row(const connector_kind *k, const connector_verb *v, const setting_spec *s,
                           char *out, size_t outlen) {
        if (!s) {
                snprintf(out, outlen, "| `%s.%s` | — | — | — | — | takes no params |", k->name, v->name);
                return;
        }
        char name[BW_NAME_MAX + 8], range[64];
        if (strcmp(s->name, SETTING_ANY_NAME) == 0)
                snprintf(name, sizeof(name), "any name");
        else
                snprintf(name, sizeof(name), "`%s`", s->name);
        if (s->type == SETTING_INT)
                snprintf(range, sizeof(range), "%lld..%lld", (long long)s->min, (long long)s->max);
        else if (s->type == SETTING_STRING || s->type == SETTING_SCALAR)
                snprintf(range, sizeof(range), "%s%lld..%lld bytes",
                         s->type == SETTING_SCALAR ? "string: " : "", (long long)s->min, (long long)s->max);
        else
                snprintf(range, sizeof(range), "—");
        snprintf(out, outlen, "| `%s.%s` | %s | %s | %s | %s | %s |", k->name, v->name, name,
                 setting_type_name(s->type), range, s->required ? "required" : "optional", s->help);
}

/* docs/playbooks.md lists every verb's params exactly as the tables declare
 * them: a row per entry, and no row the tables do not have. */
static void test_params_doc_matches_the_tables(void **state) {
        const char *dir = getenv("BW_DOCS_DIR");
        assert_non_null(dir);
        char path[4096];
        snprintf(path, sizeof(path), "%s/playbooks.md", dir);
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        static char doc[256 * 1024];
        size_t len = fread(doc, 1, sizeof(doc) - 1, f);
        fclose(f);
        doc[len] = '\0';
        size_t rows = 0;
        for (const connector_kind *const *k = connector_kinds(); *k; k++)
                for (const connector_verb *v = (*k)->verbs; v->name; v++) {
                        const setting_spec *s = v->params;
                        do {
                                char row[1024];
                                params_doc_row(*k, v, s->name ? s : NULL, row, sizeof(row));
                                if (!strstr(doc, row))
                                        fail_msg("docs/playbooks.md lacks the row\n%s", row);
                                rows++;
                        } while (s->name && (++s)->name);
                }
        /* The table's rows are the lines that start with "| `kind.verb` |" under its heading. */
        const char *table = strstr(doc, "| action | param | type | range | required | meaning |");
        assert_non_null(table);
        size_t in_doc = 0;
        for (const char *line = strchr(table, '\n'); line && line[1] == '|'; line = strchr(line + 1, '\n'))
                in_doc += strncmp(line + 1, "| `", 3) == 0;
        assert_int_equal(in_doc, rows);
}

static void test_has_op_follows_settings(void **state) {
        const connector_kind *exec = connector_kind_find("exec");
        json_t *without = json_pack("{ss}", "program", "/bin/true");
        json_t *with = json_pack("{ss ss}", "program", "/bin/true", "verify_program", "/bin/true");
        assert_false(connector_kind_has_op(exec, without, CONNECTOR_OP_VERIFY));
        assert_true(connector_kind_has_op(exec, with, CONNECTOR_OP_VERIFY));
        assert_true(connector_kind_has_op(exec, without, CONNECTOR_OP_APPLY));
        assert_false(connector_kind_has_op(exec, with, CONNECTOR_OP_ROLLBACK));
        assert_true(connector_kind_has_op(connector_kind_find("nft"), without, CONNECTOR_OP_ROLLBACK));
        assert_false(connector_kind_has_op(connector_kind_find("http"), without, CONNECTOR_OP_SNAPSHOT));
        json_decref(without);
        json_decref(with);
}

/* check_settings of kind on JSON text: the return and the field it names. */
static int check(const char *kind, const char *settings, bw_error *err) {
        json_t *s = json_loads(settings, 0, NULL);
        assert_non_null(s);
        memset(err, 0, sizeof(*err));
        int r = connector_kind_find(kind)->check_settings(s, err);
        json_decref(s);
        return r;
}

static void test_http_check_settings(void **state) {
        bw_error err;
        assert_int_equal(check("http", "{\"url\":\"https://edr.example/api\"}", &err), 0);
        assert_int_equal(
                check("http", "{\"url\":\"http://127.0.0.1:8080\",\"allow_http_loopback\":true}", &err), 0);
        assert_int_equal(check("http", "{\"url\":\"http://[::1]:8080\",\"allow_http_loopback\":true}", &err),
                         0);
        /* https only, except loopback when asked for. */
        assert_int_equal(
                check("http", "{\"url\":\"http://192.0.2.1/x\",\"allow_http_loopback\":true}", &err),
                -EINVAL);
        assert_string_equal(err.field, "url");
        assert_non_null(strstr(err.message, "https"));
        assert_int_equal(check("http", "{\"url\":\"http://127.0.0.1:8080\"}", &err), -EINVAL);
        assert_string_equal(err.field, "url");
        assert_int_equal(
                check("http", "{\"url\":\"http://localhost:80\",\"allow_http_loopback\":true}", &err),
                -EINVAL);
        assert_int_equal(check("notify", "{\"url\":\"ftp://files.example/\"}", &err), -EINVAL);
        assert_string_equal(err.field, "url");
        assert_int_equal(check("http", "{\"url\":\"https://user:pw@edr.example/\"}", &err), -EINVAL);
        assert_non_null(strstr(err.message, "token_file"));
        assert_int_equal(check("http", "{\"url\":\"https://edr.example\",\"path\":\"api\"}", &err), -EINVAL);
        assert_string_equal(err.field, "path");
        assert_int_equal(check("http", "{\"url\":\"https://edr.example\",\"method\":\"GET\"}", &err),
                         -EINVAL);
        assert_string_equal(err.field, "method");
        assert_int_equal(check("http", "{\"url\":\"https://e.example\",\"token_file\":\"tok\"}", &err),
                         -EINVAL);
        assert_string_equal(err.field, "token_file");
        assert_int_equal(
                check("http", "{\"url\":\"https://e.example\",\"headers\":[\"X-Tenant: acme\"]}", &err), 0);
        assert_int_equal(
                check("http", "{\"url\":\"https://e.example\",\"headers\":[\"X-A: b\\r\\nX-B: c\"]}", &err),
                -EINVAL);
        assert_string_equal(err.field, "headers");
        assert_int_equal(check("http",
                               "{\"url\":\"https://e.example\",\"headers\":[\"ok: 1\",\"Bad Name: v\"]}",
                               &err),
                         -EINVAL);
        assert_string_equal(err.field, "headers[1]");
        assert_int_equal(
                check("http", "{\"url\":\"https://e.example\",\"headers\":[\"content-length: 5\"]}", &err),
                -EINVAL);
        assert_string_equal(err.field, "headers[0]");
        assert_int_equal(check("http",
                               "{\"url\":\"https://e.example\",\"token_file\":\"/t\","
                               "\"headers\":[\"Authorization: Basic x\"]}",
                               &err),
                         -EINVAL);
        assert_string_equal(err.field, "headers[0]");
        assert_int_equal(check("http", "{\"url\":\"https://e.example\",\"timeout_ms\":0}", &err), -EINVAL);
        assert_string_equal(err.field, "timeout_ms");
        assert_int_equal(check("notify", "{\"url\":\"https://e.example\",\"method\":\"PUT\"}", &err),
                         -EINVAL);
        assert_string_equal(err.field, "method");
        assert_string_equal(err.code, "unknown_key");
        assert_int_equal(check("notify", "{}", &err), -EINVAL);
        assert_string_equal(err.field, "url");
}

static void test_nft_and_exec_check_settings(void **state) {
        bw_error err;
        assert_int_equal(check("nft", "{}", &err), 0);
        assert_int_equal(
                check("nft", "{\"family\":\"ip6\",\"table\":\"fw\",\"default_timeout_s\":60}", &err), 0);
        assert_int_equal(check("nft", "{\"family\":\"arp\"}", &err), -EINVAL);
        assert_string_equal(err.field, "family");
        assert_int_equal(check("nft", "{\"table\":\"9lives\"}", &err), -EINVAL);
        assert_string_equal(err.field, "table");
        assert_int_equal(check("nft", "{\"table\":\"a;flush ruleset\"}", &err), -EINVAL);
        assert_string_equal(err.field, "table");
        assert_int_equal(check("nft", "{\"set_v4\":\"same\",\"set_v6\":\"same\"}", &err), -EINVAL);
        assert_string_equal(err.field, "set_v6");
        assert_int_equal(check("nft", "{\"default_timeout_s\":2592001}", &err), -EINVAL);
        assert_string_equal(err.field, "default_timeout_s");
        assert_int_equal(check("nft", "{\"create\":\"yes\"}", &err), -EINVAL);
        assert_string_equal(err.field, "create");

        assert_int_equal(check("exec", "{\"program\":\"/usr/local/bin/disable\",\"args\":[\"--x\"]}", &err),
                         0);
        assert_int_equal(check("exec", "{\"program\":\"bin/disable\"}", &err), -EINVAL);
        assert_string_equal(err.field, "program");
        assert_int_equal(check("exec", "{\"program\":\"/bin/true\",\"verify_program\":\"check\"}", &err),
                         -EINVAL);
        assert_string_equal(err.field, "verify_program");
        assert_int_equal(check("exec", "{\"args\":[]}", &err), -EINVAL);
        assert_string_equal(err.field, "program");
        assert_string_equal(err.code, "missing");
}

static void test_action_checks_name_the_field(void **state) {
        const connector_kind *exec = connector_kind_find("exec");
        const connector_kind *nft = connector_kind_find("nft");
        connector_result r = {0};
        const char *ok_targets[] = {"alice", NULL};
        test_action *t =
                test_action_new("run", TARGET_ACCOUNT, ok_targets, "{\"reason\":\"x\",\"n\":3,\"b\":true}");
        assert_int_equal(kind_check_action(exec, &t->a, &r), 0);
        assert_int_equal(kind_check_action(nft, &t->a, &r), -EINVAL);
        assert_non_null(strstr(r.detail, "verb"));
        t->a.verb = "block";
        assert_int_equal(kind_check_action(nft, &t->a, &r), -EINVAL);
        assert_non_null(strstr(r.detail, "target_kind"));
        test_action_free(t);

        t = test_action_new("block", TARGET_IP, NULL, NULL);
        assert_int_equal(kind_check_action(nft, &t->a, &r), -EINVAL);
        assert_non_null(strstr(r.detail, "at least one target"));
        test_action_free(t);

        t = test_action_new("run", TARGET_NONE, NULL, "{\"nested\":{\"a\":1}}");
        assert_int_equal(kind_check_action(exec, &t->a, &r), -EINVAL);
        assert_non_null(strstr(r.detail, "params.nested"));
        test_action_free(t);

        const char *ctl[] = {"ok", "bad\nline", NULL};
        t = test_action_new("run", TARGET_STRING, ctl, NULL);
        assert_int_equal(kind_check_action(exec, &t->a, &r), -EINVAL);
        assert_non_null(strstr(r.detail, "targets[1]"));
        t->a.n_targets = 1;
        t->a.idempotency_key = "ABC";
        assert_int_equal(kind_check_action(exec, &t->a, &r), -EINVAL);
        assert_non_null(strstr(r.detail, "idempotency_key"));
        t->a.n_targets = 2;
        test_action_free(t);

        /* VALIDATE turns a rejection into ok = false, never an error. */
        assert_int_equal(kind_validated(-EINVAL, &r), 0);
        assert_int_equal(kind_validated(-ENOMEM, &r), -ENOMEM);
        assert_int_equal(kind_validated(0, &r), 0);
        assert_true(r.ok);
}

static void test_action_json_shape(void **state) {
        const char *targets[] = {"ws-1", "ws-2", NULL};
        test_action *t = test_action_new("request", TARGET_HOST, targets, "{\"reason\":\"malware\"}");
        json_t *j = kind_action_json(&t->a, "bulwark.action");
        assert_non_null(j);
        assert_string_equal(json_object_iter_key(json_object_iter(j)), "event");
        assert_int_equal(json_integer_value(json_object_get(j, "action_id")), 42);
        assert_string_equal(json_string_value(json_object_get(j, "idempotency_key")), TEST_KEY);
        assert_string_equal(json_string_value(json_object_get(j, "verb")), "request");
        assert_string_equal(json_string_value(json_object_get(j, "target_kind")), "host");
        assert_string_equal(json_string_value(json_array_get(json_object_get(j, "targets"), 1)), "ws-2");
        assert_string_equal(json_string_value(json_object_get(json_object_get(j, "params"), "reason")),
                            "malware");
        json_decref(j);
        j = kind_action_json(&t->a, NULL);
        assert_null(json_object_get(j, "event"));
        assert_int_equal(json_object_size(j), 6);
        json_decref(j);
        test_action_free(t);
}

static void test_utf8_scrub(void **state) {
        char s[] = "ok \xc3\xa9 \xff bad \xe2\x82 end\xf0";
        size_t len = sizeof(s) - 1;
        s[2] = '\0';
        kind_utf8_scrub(s, len);
        assert_memory_equal(s, "ok?\xc3\xa9 ? bad ?? end?", len);
}

static void pair(int sv[2]) {
        assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
        int sz = (int)BW_IPC_MSG_MAX;
        assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)), 0);
        assert_int_equal(setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)), 0);
}

static void test_ipc_round_trip(void **state) {
        int sv[2];
        pair(sv);
        json_t *settings = json_pack("{ss}", "url", "https://e.example");
        ipc_init in = {.name = "edr", .kind = "http", .settings = settings, .uid = 60600, .confine = true};
        json_t *init = ipc_init_pack(&in);
        assert_int_equal(ipc_send(sv[0], IPC_INIT, 0, init), 0);
        ipc_msg_type type;
        uint32_t seq;
        json_t *body;
        assert_int_equal(ipc_recv(sv[1], &type, &seq, &body), 0);
        assert_int_equal(type, IPC_INIT);
        ipc_init got;
        assert_int_equal(ipc_init_unpack(body, &got), 0);
        assert_string_equal(got.name, "edr");
        assert_string_equal(got.kind, "http");
        assert_true(json_equal((json_t *)got.settings, settings));
        assert_int_equal(got.uid, 60600);
        assert_true(got.confine);
        json_decref(body);
        json_decref(init);
        json_decref(settings);

        /* A request of about 200 KiB (many targets) crosses in one packet. */
        size_t n = 2000;
        char **targets = calloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++) {
                targets[i] = malloc(101);
                memset(targets[i], 'a' + (int)(i % 26), 100);
                targets[i][100] = '\0';
        }
        test_action *t = test_action_new("run", TARGET_STRING, (const char *const *)targets, "{\"k\":1}");
        json_t *snap = json_pack("{s{s{sb}}}", "elements", "x", "present", 1);
        t->a.snapshot = snap;
        json_t *req;
        assert_int_equal(ipc_request_pack(CONNECTOR_OP_ROLLBACK, &t->a, &req), 0);
        assert_int_equal(ipc_send(sv[0], IPC_REQUEST, 7, req), 0);
        json_decref(req);
        assert_int_equal(ipc_recv(sv[1], &type, &seq, &body), 0);
        assert_int_equal(type, IPC_REQUEST);
        assert_int_equal(seq, 7);
        ipc_request r;
        assert_int_equal(ipc_request_unpack(body, &r), 0);
        json_decref(body);
        assert_int_equal(r.op, CONNECTOR_OP_ROLLBACK);
        assert_int_equal(r.action.action_id, 42);
        assert_string_equal(r.action.verb, "run");
        assert_int_equal(r.action.kind, TARGET_STRING);
        assert_int_equal(r.action.n_targets, n);
        assert_string_equal(r.action.targets[1999], targets[1999]);
        assert_string_equal(r.action.idempotency_key, TEST_KEY);
        assert_true(json_equal((json_t *)r.action.snapshot, snap));
        assert_int_equal(json_integer_value(json_object_get(r.action.params, "k")), 1);
        ipc_request_clear(&r);
        json_decref(snap);
        test_action_free(t);
        for (size_t i = 0; i < n; i++)
                free(targets[i]);
        free(targets);

        connector_result res = {.ok = true, .data = json_pack("{si}", "added", 3)};
        str_copy(res.detail, sizeof(res.detail), "done");
        json_t *reply = ipc_reply_pack(0, &res);
        assert_int_equal(ipc_send(sv[1], IPC_REPLY, 7, reply), 0);
        json_decref(reply);
        connector_result_clear(&res);
        assert_int_equal(ipc_recv(sv[0], &type, &seq, &body), 0);
        int rc = -1;
        assert_int_equal(ipc_reply_unpack(body, &rc, &res), 0);
        json_decref(body);
        assert_int_equal(rc, 0);
        assert_true(res.ok);
        assert_string_equal(res.detail, "done");
        assert_int_equal(json_integer_value(json_object_get(res.data, "added")), 3);
        connector_result_clear(&res);

        bw_error err = {0}, got_err;
        bw_error_set(&err, "untrusted", "program", "writable by others");
        json_t *e = ipc_init_error_pack(-EPERM, &err);
        assert_int_equal(ipc_init_error_unpack(e, &rc, &got_err), 0);
        assert_int_equal(rc, -EPERM);
        assert_string_equal(got_err.field, "program");
        assert_string_equal(got_err.message, "writable by others");
        json_decref(e);
        close(sv[0]);
        close(sv[1]);
}

static void test_ipc_rejects_malformed(void **state) {
        int sv[2];
        pair(sv);
        ipc_msg_type type;
        uint32_t seq;
        json_t *body = NULL;

        /* Bad magic, bad type, a length that disagrees with the packet, not an object. */
        ipc_header h = {.magic = 0xdeadbeef, .type = IPC_REPLY, .seq = 1, .length = 2};
        char pkt[sizeof(h) + 2];
        memcpy(pkt, &h, sizeof(h));
        memcpy(pkt + sizeof(h), "{}", 2);
        assert_int_equal(send(sv[1], pkt, sizeof(pkt), 0), (ssize_t)sizeof(pkt));
        assert_int_equal(ipc_recv(sv[0], &type, &seq, &body), -EBADMSG);
        h = (ipc_header){.magic = IPC_MAGIC, .type = _IPC_MSG_TYPE_MAX, .seq = 1, .length = 2};
        memcpy(pkt, &h, sizeof(h));
        assert_int_equal(send(sv[1], pkt, sizeof(pkt), 0), (ssize_t)sizeof(pkt));
        assert_int_equal(ipc_recv(sv[0], &type, &seq, &body), -EBADMSG);
        h = (ipc_header){.magic = IPC_MAGIC, .type = IPC_REPLY, .seq = 1, .length = 9};
        memcpy(pkt, &h, sizeof(h));
        assert_int_equal(send(sv[1], pkt, sizeof(pkt), 0), (ssize_t)sizeof(pkt));
        assert_int_equal(ipc_recv(sv[0], &type, &seq, &body), -EBADMSG);
        h.length = 2;
        memcpy(pkt, &h, sizeof(h));
        memcpy(pkt + sizeof(h), "[]", 2);
        assert_int_equal(send(sv[1], pkt, sizeof(pkt), 0), (ssize_t)sizeof(pkt));
        assert_int_equal(ipc_recv(sv[0], &type, &seq, &body), -EBADMSG);
        assert_int_equal(send(sv[1], pkt, 3, 0), 3);
        assert_int_equal(ipc_recv(sv[0], &type, &seq, &body), -EBADMSG);

        /* A packet over BW_IPC_MSG_MAX is refused whole, not truncated into use. */
        size_t big = BW_IPC_MSG_MAX + 100;
        char *b = calloc(1, big);
        h = (ipc_header){
                .magic = IPC_MAGIC, .type = IPC_REPLY, .seq = 1, .length = (uint32_t)(big - sizeof(h))};
        memcpy(b, &h, sizeof(h));
        assert_int_equal(send(sv[1], b, big, 0), (ssize_t)big);
        assert_int_equal(ipc_recv(sv[0], &type, &seq, &body), -EMSGSIZE);
        free(b);

        /* The sender refuses to build one. */
        json_t *huge = json_object();
        char *s = malloc(BW_IPC_MSG_MAX);
        memset(s, 'x', BW_IPC_MSG_MAX - 1);
        s[BW_IPC_MSG_MAX - 1] = '\0';
        json_object_set_new(huge, "detail", json_string(s));
        free(s);
        assert_int_equal(ipc_send(sv[1], IPC_REPLY, 1, huge), -EMSGSIZE);
        json_decref(huge);

        /* Strict shapes: an unknown key, a positive rc, a missing field. */
        json_t *extra = json_pack("{si sb ss si}", "rc", 0, "ok", 1, "detail", "", "extra", 1);
        connector_result res;
        int rc;
        assert_int_equal(ipc_reply_unpack(extra, &rc, &res), -EBADMSG);
        json_decref(extra);
        json_t *positive = json_pack("{si sb ss}", "rc", 5, "ok", 1, "detail", "");
        assert_int_equal(ipc_reply_unpack(positive, &rc, &res), -EBADMSG);
        json_decref(positive);
        json_t *missing = json_pack("{s{}}", "action");
        ipc_request r;
        assert_int_equal(ipc_request_unpack(missing, &r), -EBADMSG);
        json_decref(missing);
        json_t *bad_op =
                json_pack("{ss s{sI ss ss s[] s{} ss}}", "op", "explode", "action", "id", (json_int_t)1,
                          "verb", "run", "kind", "none", "targets", "params", "idempotency_key", TEST_KEY);
        assert_int_equal(ipc_request_unpack(bad_op, &r), -EBADMSG);
        json_decref(bad_op);

        /* The packer refuses an action that breaks the contract. */
        test_action *t = test_action_new("run", TARGET_NONE, NULL, NULL);
        t->a.params = NULL;
        json_t *req = NULL;
        assert_int_equal(ipc_request_pack(CONNECTOR_OP_APPLY, &t->a, &req), -EINVAL);
        t->a.params = t->params;
        t->a.kind = _TARGET_KIND_MAX;
        assert_int_equal(ipc_request_pack(CONNECTOR_OP_APPLY, &t->a, &req), -EINVAL);
        assert_null(req);
        test_action_free(t);

        close(sv[1]);
        assert_int_equal(ipc_recv(sv[0], &type, &seq, &body), -ECONNRESET);
        close(sv[0]);
}

/* Three actions of distinct shapes, each with its own id, targets and params. */
static void batch_actions(test_action *t[3]) {
        const char *one[] = {"192.0.2.1", NULL};
        const char *two[] = {"192.0.2.2", "198.51.100.0/24", NULL};
        t[0] = test_action_new("block", TARGET_IP, one, "{\"timeout_s\":60}");
        t[1] = test_action_new("block", TARGET_IP, two, NULL);
        t[2] = test_action_new("unblock", TARGET_IP, NULL, "{\"why\":\"fp\"}");
        for (size_t i = 0; i < 3; i++)
                t[i]->a.action_id = 100 + (int64_t)i;
}

static void test_ipc_batch_round_trip(void **state) {
        int sv[2];
        pair(sv);
        test_action *t[3];
        batch_actions(t);
        json_t *snap = json_pack("{s{s{sb}}}", "elements", "192.0.2.2", "present", 0);
        t[1]->a.snapshot = snap;
        connector_action actions[3] = {t[0]->a, t[1]->a, t[2]->a};
        json_t *req = NULL;
        assert_int_equal(ipc_batch_pack(CONNECTOR_OP_ROLLBACK, actions, 3, &req), 0);
        assert_true(ipc_is_batch(req));
        assert_int_equal(ipc_send(sv[0], IPC_REQUEST, 9, req), 0);
        json_decref(req);
        ipc_msg_type type;
        uint32_t seq;
        json_t *body;
        assert_int_equal(ipc_recv(sv[1], &type, &seq, &body), 0);
        assert_int_equal(type, IPC_REQUEST);
        assert_int_equal(seq, 9);
        ipc_batch b;
        assert_int_equal(ipc_batch_unpack(body, &b), 0);
        json_decref(body);
        assert_int_equal(b.op, CONNECTOR_OP_ROLLBACK);
        assert_int_equal(b.n, 3);
        for (size_t i = 0; i < 3; i++) {
                const connector_action *got = &b.items[i].action;
                assert_int_equal(b.items[i].op, CONNECTOR_OP_ROLLBACK);
                assert_int_equal(got->action_id, 100 + (int64_t)i);
                assert_string_equal(got->verb, t[i]->a.verb);
                assert_int_equal(got->kind, TARGET_IP);
                assert_int_equal(got->n_targets, t[i]->a.n_targets);
                for (size_t k = 0; k < got->n_targets; k++)
                        assert_string_equal(got->targets[k], t[i]->a.targets[k]);
                assert_string_equal(got->idempotency_key, TEST_KEY);
                assert_true(json_equal((json_t *)got->params, t[i]->params));
        }
        assert_true(json_equal((json_t *)b.items[1].action.snapshot, snap));
        assert_null(b.items[0].action.snapshot);
        assert_null(b.items[2].action.snapshot);
        ipc_batch_clear(&b);
        assert_null(b.items);
        assert_int_equal(b.n, 0);
        ipc_batch_clear(NULL);

        /* A single request is not a batch. */
        assert_int_equal(ipc_request_pack(CONNECTOR_OP_APPLY, &actions[0], &req), 0);
        assert_false(ipc_is_batch(req));
        json_decref(req);

        json_decref(snap);
        for (size_t i = 0; i < 3; i++)
                test_action_free(t[i]);
        close(sv[0]);
        close(sv[1]);
}

static void test_ipc_batch_pack_bounds(void **state) {
        const char *ip[] = {"192.0.2.1", NULL};
        test_action *t = test_action_new("block", TARGET_IP, ip, NULL);
        size_t max = BW_CONNECTOR_BATCH_MAX;
        connector_action *many = calloc(max + 1, sizeof(*many));
        assert_non_null(many);
        for (size_t i = 0; i <= max; i++)
                many[i] = t->a;
        json_t *req = NULL;
        assert_int_equal(ipc_batch_pack(CONNECTOR_OP_APPLY, many, 0, &req), -EINVAL);
        assert_int_equal(ipc_batch_pack(CONNECTOR_OP_APPLY, many, max + 1, &req), -EINVAL);
        assert_int_equal(ipc_batch_pack(_CONNECTOR_OP_MAX, many, 1, &req), -EINVAL);
        assert_null(req);
        /* One action that breaks the contract spoils the batch. */
        many[1].params = NULL;
        assert_int_equal(ipc_batch_pack(CONNECTOR_OP_APPLY, many, 3, &req), -EINVAL);
        assert_null(req);
        many[1].params = t->params;

        /* Exactly the maximum goes; the unpacker refuses one more. */
        assert_int_equal(ipc_batch_pack(CONNECTOR_OP_VERIFY, many, max, &req), 0);
        ipc_batch b;
        assert_int_equal(ipc_batch_unpack(req, &b), 0);
        assert_int_equal(b.n, max);
        assert_int_equal(b.op, CONNECTOR_OP_VERIFY);
        assert_string_equal(b.items[max - 1].action.targets[0], "192.0.2.1");
        ipc_batch_clear(&b);
        json_t *list = json_object_get(req, "actions");
        assert_int_equal(json_array_append(list, json_array_get(list, 0)), 0);
        assert_int_equal(ipc_batch_unpack(req, &b), -EBADMSG);
        json_decref(req);
        free(many);
        test_action_free(t);
}

/* A batch body around actions (stolen), with an optional extra key. */
static json_t *batch_body(json_t *actions, const char *extra) {
        json_t *body = json_pack("{ss so}", "op", "apply", "actions", actions);
        assert_non_null(body);
        if (extra)
                assert_int_equal(json_object_set_new(body, extra, json_true()), 0);
        return body;
}

static void expect_batch_refused(json_t *body) {
        ipc_batch b = {0};
        assert_int_equal(ipc_batch_unpack(body, &b), -EBADMSG);
        assert_null(b.items);
        json_decref(body);
}

static void test_ipc_batch_unpack_rejects_malformed(void **state) {
        test_action *t[3];
        batch_actions(t);
        connector_action actions[3] = {t[0]->a, t[1]->a, t[2]->a};
        json_t *good = NULL;
        assert_int_equal(ipc_batch_pack(CONNECTOR_OP_APPLY, actions, 3, &good), 0);
        const json_t *list = json_object_get(good, "actions");

        expect_batch_refused(batch_body(json_object(), NULL));
        expect_batch_refused(batch_body(json_string("x"), NULL));
        expect_batch_refused(batch_body(json_array(), NULL));
        expect_batch_refused(batch_body(json_deep_copy(list), "extra"));
        /* Both shapes at once: a single action smuggled beside the batch. */
        expect_batch_refused(batch_body(json_deep_copy(list), "action"));
        json_t *no_op = json_deep_copy(good);
        json_object_del(no_op, "op");
        expect_batch_refused(no_op);
        json_t *bad_op = json_deep_copy(good);
        json_object_set_new(bad_op, "op", json_string("explode"));
        expect_batch_refused(bad_op);

        /* A bad action anywhere in the list: the last one, so the earlier ones
         * were unpacked and must be released (the sanitizer run checks). */
        json_t *bad = json_deep_copy(list);
        json_object_set_new(json_array_get(bad, 2), "kind", json_string("planet"));
        expect_batch_refused(batch_body(bad, NULL));
        bad = json_deep_copy(list);
        json_array_set_new(json_object_get(json_array_get(bad, 1), "targets"), 1, json_integer(7));
        expect_batch_refused(batch_body(bad, NULL));
        bad = json_deep_copy(list);
        json_object_del(json_array_get(bad, 2), "idempotency_key");
        expect_batch_refused(batch_body(bad, NULL));
        bad = json_deep_copy(list);
        json_object_set_new(json_array_get(bad, 0), "shell", json_string("rm -rf /"));
        expect_batch_refused(batch_body(bad, NULL));
        bad = json_deep_copy(list);
        json_array_set_new(bad, 1, json_string("not an action"));
        expect_batch_refused(batch_body(bad, NULL));

        /* And the untouched body still unpacks. */
        ipc_batch b;
        assert_int_equal(ipc_batch_unpack(good, &b), 0);
        assert_int_equal(b.n, 3);
        ipc_batch_clear(&b);
        json_decref(good);
        for (size_t i = 0; i < 3; i++)
                test_action_free(t[i]);
}

static void test_ipc_batch_reply(void **state) {
        int sv[2];
        pair(sv);
        int rcs[3] = {0, -EINVAL, 0};
        connector_result res[3] = {
                {.ok = true, .data = json_pack("{si}", "added", 1)}, {.ok = false}, {.ok = false}};
        str_copy(res[0].detail, sizeof(res[0].detail), "added 1, already present 0 in inet t");
        str_copy(res[1].detail, sizeof(res[1].detail), "targets[0]: not an IP address");
        str_copy(res[2].detail, sizeof(res[2].detail), "targets[0] (192.0.2.9) is not in the set");
        json_t *reply = ipc_batch_reply_pack(rcs, res, 3);
        assert_non_null(reply);
        assert_int_equal(ipc_send(sv[1], IPC_REPLY, 4, reply), 0);
        json_decref(reply);
        ipc_msg_type type;
        uint32_t seq;
        json_t *body;
        assert_int_equal(ipc_recv(sv[0], &type, &seq, &body), 0);
        assert_int_equal(type, IPC_REPLY);
        int rc = 1, got_rcs[3] = {1, 1, 1};
        connector_result got[3];
        assert_int_equal(ipc_batch_reply_unpack(body, 3, &rc, got_rcs, got), 0);
        assert_int_equal(rc, 0);
        for (size_t i = 0; i < 3; i++) {
                assert_int_equal(got_rcs[i], rcs[i]);
                assert_int_equal(got[i].ok, res[i].ok);
                assert_string_equal(got[i].detail, res[i].detail);
        }
        assert_int_equal(json_integer_value(json_object_get(got[0].data, "added")), 1);
        assert_null(got[1].data);
        for (size_t i = 0; i < 3; i++)
                connector_result_clear(&got[i]);

        /* The results must be exactly one per action. */
        assert_int_equal(ipc_batch_reply_unpack(body, 2, &rc, got_rcs, got), -EBADMSG);
        assert_int_equal(ipc_batch_reply_unpack(body, 4, &rc, got_rcs, got), -EBADMSG);
        json_decref(body);

        /* The batch as a whole failed: rc alone. */
        json_t *whole = json_pack("{si}", "rc", -5);
        rc = 0;
        assert_int_equal(ipc_batch_reply_unpack(whole, 3, &rc, got_rcs, got), 0);
        assert_int_equal(rc, -5);
        json_decref(whole);

        /* rc 0 without results, a positive or out-of-range rc, an extra key, a
         * malformed result after good ones (those are released). */
        const char *bad[] = {
                "{\"rc\":0}",
                "{\"rc\":3}",
                "{\"rc\":-4096}",
                "{\"rc\":0,\"results\":{}}",
                "{\"rc\":-5,\"why\":\"x\"}",
                "{\"rc\":0,\"results\":[{\"rc\":0,\"ok\":true,\"detail\":\"a\",\"data\":{\"k\":1}},"
                "{\"rc\":0,\"ok\":true,\"detail\":\"b\",\"data\":[1]},{\"rc\":0,\"ok\":true}]}",
                "{\"rc\":0,\"results\":[{\"rc\":0,\"ok\":true,\"detail\":\"a\"},"
                "{\"rc\":0,\"ok\":true,\"detail\":\"b\"},{\"rc\":7,\"ok\":true,\"detail\":\"c\"}]}",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                json_t *j = json_loads(bad[i], 0, NULL);
                assert_non_null(j);
                if (ipc_batch_reply_unpack(j, 3, &rc, got_rcs, got) != -EBADMSG)
                        fail_msg("accepted %s", bad[i]);
                json_decref(j);
        }
        for (size_t i = 0; i < 3; i++)
                connector_result_clear(&res[i]);
        close(sv[0]);
        close(sv[1]);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_registry_kinds_and_verbs),
                cmocka_unit_test(test_core_forgets_the_secret_settings),
                cmocka_unit_test(test_settings_tables_are_complete),
                cmocka_unit_test(test_params_tables_are_complete),
                cmocka_unit_test(test_params_check_names_the_param),
                cmocka_unit_test(test_native_expiry_is_bounded_by_the_tables),
                cmocka_unit_test(test_params_doc_matches_the_tables),
                cmocka_unit_test(test_has_op_follows_settings),
                cmocka_unit_test(test_http_check_settings),
                cmocka_unit_test(test_nft_and_exec_check_settings),
                cmocka_unit_test(test_action_checks_name_the_field),
                cmocka_unit_test(test_action_json_shape),
                cmocka_unit_test(test_utf8_scrub),
                cmocka_unit_test(test_ipc_round_trip),
                cmocka_unit_test(test_ipc_rejects_malformed),
                cmocka_unit_test(test_ipc_batch_round_trip),
                cmocka_unit_test(test_ipc_batch_pack_bounds),
                cmocka_unit_test(test_ipc_batch_unpack_rejects_malformed),
                cmocka_unit_test(test_ipc_batch_reply),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
