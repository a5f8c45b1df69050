/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of config/config.c: defaults, every key, relative paths, and
 * errors with file:line:col for unknown keys, wrong types, ranges, listen
 * addresses, connector kinds and each kind's settings table and checks. */
#include "config_tests.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "core/limits.h"

#define REQUIRED "api: {token_file: token}\nplaybook_dir: playbooks\n"

static void test_defaults(void **state) {
        bw_config *c = config_parse_ok(REQUIRED);
        assert_string_equal(c->file, CONF);
        assert_string_equal(c->listen_address, "127.0.0.1");
        assert_int_equal(c->listen_port, 8080);
        assert_string_equal(c->data_dir, "/var/lib/bulwark");
        assert_string_equal(c->store_backend, "sqlite");
        assert_string_equal(c->store_path, "/var/lib/bulwark/bulwark.db");
        assert_int_equal(c->workers, BW_WORKERS_DEFAULT);
        assert_int_equal(c->queue_capacity, BW_QUEUE_CAPACITY_DEFAULT);
        assert_int_equal(c->alert_body_max, BW_ALERT_BODY_MAX_DEFAULT);
        assert_string_equal(c->token_file, "/etc/bulwark/token");
        assert_string_equal(c->playbook_dir, "/etc/bulwark/playbooks");
        assert_string_equal(c->log_level, "info");
        assert_int_equal(c->n_integrations, 0);
        assert_null(config_integration_find(c, "x"));
        config_free(c);
        config_free(NULL);
}

static const char full_config[] = "listen: \"[::1]:8443\"\n"
                                  "data_dir: ./data\n"
                                  "store:\n"
                                  "  backend: sqlite\n"
                                  "  path: db/main.db\n"
                                  "workers: 8\n"
                                  "queue:\n"
                                  "  capacity: 5000\n"
                                  "api:\n"
                                  "  token_file: /run/secrets/token\n"
                                  "  max_alert_body: 2048\n"
                                  "playbook_dir: /srv/playbooks/\n"
                                  "log_level: debug\n"
                                  "integrations:\n"
                                  "  - name: fw-edge\n"
                                  "    kind: nft\n"
                                  "    timeout_ms: 2000\n"
                                  "    settings:\n"
                                  "      family: ip\n"
                                  "      table: edge\n"
                                  "      create: false\n"
                                  "      default_timeout_s: 3600\n"
                                  "  - name: soc\n"
                                  "    kind: notify\n"
                                  "    uid: 5300\n"
                                  "    settings: {url: \"https://soc.example/hook\"}\n"
                                  "  - name: runner\n"
                                  "    kind: exec\n"
                                  "    settings:\n"
                                  "      program: /usr/local/sbin/disable-user\n"
                                  "      args: [--reason, bulwark]\n";

static void test_every_key(void **state) {
        bw_config *c = config_parse_ok(full_config);
        assert_string_equal(c->listen_address, "::1");
        assert_int_equal(c->listen_port, 8443);
        assert_string_equal(c->data_dir, "/etc/bulwark/data");
        assert_string_equal(c->store_path, "/etc/bulwark/data/db/main.db");
        assert_int_equal(c->workers, 8);
        assert_int_equal(c->queue_capacity, 5000);
        assert_int_equal(c->alert_body_max, 2048);
        assert_string_equal(c->token_file, "/run/secrets/token");
        assert_string_equal(c->playbook_dir, "/srv/playbooks/");
        assert_string_equal(c->log_level, "debug");
        assert_int_equal(c->n_integrations, 3);

        const integration_config *fw = config_integration_find(c, "fw-edge");
        assert_ptr_equal(fw, &c->integrations[0]);
        assert_string_equal(fw->kind, "nft");
        assert_int_equal(fw->timeout_ms, 2000);
        assert_int_equal(fw->line, 15);
        assert_int_equal(fw->col, 5);
        char *s = json_dumps(fw->settings, JSON_COMPACT | JSON_SORT_KEYS);
        assert_string_equal(
                s, "{\"create\":false,\"default_timeout_s\":3600,\"family\":\"ip\",\"table\":\"edge\"}");
        free(s);

        const integration_config *soc = config_integration_find(c, "soc");
        assert_string_equal(soc->kind, "notify");
        assert_int_equal(soc->timeout_ms, BW_CONNECTOR_TIMEOUT_MS_DEFAULT);
        /* Each worker's own user: allocated by index unless set. */
        assert_int_equal(fw->uid, BW_WORKER_UID_BASE);
        assert_int_equal(soc->uid, 5300);
        assert_int_equal(config_integration_find(c, "runner")->uid, BW_WORKER_UID_BASE + 2);
        assert_string_equal(json_string_value(json_object_get(soc->settings, "url")),
                            "https://soc.example/hook");
        const integration_config *runner = config_integration_find(c, "runner");
        assert_int_equal(json_array_size(json_object_get(runner->settings, "args")), 2);
        config_free(c);
}

static void test_relative_to_file(void **state) {
        char cwd[PATH_MAX];
        assert_non_null(getcwd(cwd, sizeof(cwd)));
        static const char yaml[] = "api: {token_file: ./secrets/token}\nplaybook_dir: .\n"
                                   "data_dir: /data\nstore: {path: /abs/x.db}\n";
        bw_config *c = NULL;
        bw_error e;
        assert_int_equal(config_parse(yaml, strlen(yaml), "conf/bulwark.yaml", &c, &e), 0);
        char want[PATH_MAX + 64];
        snprintf(want, sizeof(want), "%s/conf/secrets/token", cwd);
        assert_string_equal(c->token_file, want);
        snprintf(want, sizeof(want), "%s/conf", cwd);
        assert_string_equal(c->playbook_dir, want);
        assert_string_equal(c->store_path, "/abs/x.db");
        config_free(c);

        assert_int_equal(config_parse(yaml, strlen(yaml), "bulwark.yaml", &c, &e), 0);
        snprintf(want, sizeof(want), "%s/secrets/token", cwd);
        assert_string_equal(c->token_file, want);
        config_free(c);
}

static void test_key_errors(void **state) {
        config_expect_error("lissen: 127.0.0.1:80\n" REQUIRED, 1, 1, "unknown_key", "lissen");
        config_expect_error(REQUIRED "store: {backend: sqlite, file: x}\n", 3, 26, "unknown_key",
                            "store.file");
        config_expect_error("api: {token_file: t, tokenfile: u}\nplaybook_dir: p\n", 1, 22, "unknown_key",
                            "api.tokenfile");
        config_expect_error(REQUIRED "workers: 2\nworkers: 3\n", 4, 1, "duplicate_key", "workers");
        config_expect_error("playbook_dir: p\n", 1, 1, "missing", "api.token_file");
        config_expect_error("playbook_dir: p\napi:\n  max_alert_body: 4096\n", 3, 3, "missing",
                            "api.token_file");
        config_expect_error("api: {token_file: t}\n", 1, 1, "missing", "playbook_dir");
        config_expect_error("- a\n", 1, 1, "wrong_type", "");
}

static void test_type_and_range_errors(void **state) {
        config_expect_error(REQUIRED "workers: two\n", 3, 10, "wrong_type", "workers");
        config_expect_error(REQUIRED "workers: \"2\"\n", 3, 10, "wrong_type", "workers");
        config_expect_error(REQUIRED "workers: 0\n", 3, 10, "out_of_range", "workers");
        config_expect_error(REQUIRED "workers: 65\n", 3, 10, "out_of_range", "workers");
        config_expect_error(REQUIRED "queue: {capacity: 0}\n", 3, 19, "out_of_range", "queue.capacity");
        config_expect_error(REQUIRED "queue: {capacity: 10000001}\n", 3, 19, "out_of_range",
                            "queue.capacity");
        config_expect_error(REQUIRED "queue: 5\n", 3, 8, "wrong_type", "queue");
        config_expect_error("api: {token_file: t, max_alert_body: 1023}\nplaybook_dir: p\n", 1, 38,
                            "out_of_range", "api.max_alert_body");
        config_expect_error("api: {token_file: t, max_alert_body: 1048577}\nplaybook_dir: p\n", 1, 38,
                            "out_of_range", "api.max_alert_body");
        config_expect_error("api: {token_file: [t]}\nplaybook_dir: p\n", 1, 19, "wrong_type",
                            "api.token_file");
        config_expect_error(REQUIRED "data_dir: \"a\\tb\"\n", 3, 11, "bad_charset", "data_dir");
        config_expect_error(REQUIRED "store: {backend: pg}\n", 3, 18, "invalid", "store.backend");
        config_expect_error(REQUIRED "log_level: trace\n", 3, 12, "invalid", "log_level");
        config_expect_error(REQUIRED "integrations: {name: x}\n", 3, 15, "wrong_type", "integrations");
}

static void test_governor_section(void **state) {
        bw_config *c = config_parse_ok(REQUIRED);
        assert_int_equal(c->governor.ceiling[TARGET_IP], BW_CEILING_IPS); /* compiled by default */
        assert_int_equal(c->governor.ceiling[TARGET_HOST], BW_CEILING_HOSTS);
        config_free(c);
        c = config_parse_ok(REQUIRED "governor:\n"
                                     "  ceilings: {ips: 10, hosts: 1}\n"
                                     "  protected:\n"
                                     "    ips: [192.0.2.1, \"2001:db8::/32\"]\n"
                                     "    accounts: [administrator, \"break-glass-*\"]\n"
                                     "    hosts: [\"gw-?.corp.example\"]\n");
        assert_int_equal(c->governor.ceiling[TARGET_IP], 10);
        assert_int_equal(c->governor.ceiling[TARGET_ACCOUNT], BW_CEILING_ACCOUNTS);
        assert_int_equal(c->governor.ceiling[TARGET_HOST], 1);
        /* After the built-in never-touch set, which configuration cannot remove. */
        size_t builtin = 0;
        while (governor_never_touch[builtin])
                builtin++;
        assert_true(c->governor.n_protected_ips >= builtin + 2);
        assert_string_equal(c->governor.protected_ips[0].text, "0.0.0.0/8");
        assert_string_equal(c->governor.protected_ips[builtin].text, "192.0.2.1");
        assert_string_equal(c->governor.protected_ips[builtin + 1].text, "2001:db8::/32");
        assert_int_equal(c->governor.n_protected_accounts, 2);
        assert_string_equal(c->governor.protected_accounts[1], "break-glass-*");
        assert_string_equal(c->governor.protected_hosts[0], "gw-?.corp.example");
        config_free(c);

        /* Configuration may lower a compiled ceiling, never raise it. */
        config_expect_error(REQUIRED "governor: {ceilings: {ips: 51}}\n", 3, 28, "out_of_range",
                            "governor.ceilings.ips");
        config_expect_error(REQUIRED "governor: {ceilings: {accounts: 0}}\n", 3, 33, "out_of_range",
                            "governor.ceilings.accounts");
        config_expect_error(REQUIRED "governor: {ceilings: {routers: 1}}\n", 3, 23, "unknown_key",
                            "governor.ceilings.routers");
        config_expect_error(REQUIRED "governor:\n  protected:\n    ips: [10.0.0.1, 10.0.0.300]\n", 5, 21,
                            "invalid", "governor.protected.ips[1]");
        config_expect_error(REQUIRED "governor:\n  protected:\n    accounts: [\"a b\"]\n", 5, 16,
                            "bad_charset", "governor.protected.accounts[0]");

        /* Ceilings of one action kind, which must exist; the lower ceiling applies. */
        c = config_parse_ok(
                REQUIRED "governor:\n  ceilings: {ips: 20}\n  action_ceilings:\n    nft.block: {ips: 5}\n");
        char *six[] = {"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"};
        governor_action a = {.level = 3,
                             .connector = "nft",
                             .verb = "block",
                             .reversible = true,
                             .has_targets = true,
                             .kind = TARGET_IP,
                             .targets = six,
                             .n_targets = 6};
        governor_state none = {0};
        governor_ruling ru;
        assert_int_equal(governor_decide(&c->governor, &a, &none, &ru), GOVERNOR_DENY);
        assert_non_null(strstr(ru.reason, "ceiling of 5 per nft.block"));
        a.verb = "unblock";
        assert_int_equal(governor_decide(&c->governor, &a, &none, &ru), GOVERNOR_ALLOW);
        config_free(c);
        config_expect_error(REQUIRED "governor:\n  action_ceilings:\n    nft.drop: {ips: 5}\n", 5, 5,
                            "invalid", "governor.action_ceilings.nft.drop");
        config_expect_error(REQUIRED "governor:\n  action_ceilings:\n    nft.block: {ips: 60}\n", 5, 22,
                            "out_of_range", "governor.action_ceilings.nft.block.ips");

        /* Rate limits: global or per action kind, per minute, hour and day. */
        c = config_parse_ok(REQUIRED
                            "governor:\n  rate_limits:\n    global: {per_minute: 100, per_day: 5000}\n"
                            "    nft.block: {per_hour: 40}\n");
        assert_int_equal(c->governor.n_rate_limits, 2);
        assert_string_equal(c->governor.rate_limits[0].key, "global");
        assert_int_equal(c->governor.rate_limits[0].per[RATE_PER_MINUTE], 100);
        assert_int_equal(c->governor.rate_limits[0].per[RATE_PER_HOUR], 0);
        assert_int_equal(c->governor.rate_limits[0].per[RATE_PER_DAY], 5000);
        assert_string_equal(c->governor.rate_limits[1].key, "nft.block");
        assert_int_equal(c->governor.rate_limits[1].per[RATE_PER_HOUR], 40);
        config_free(c);
        config_expect_error(REQUIRED "governor:\n  rate_limits:\n    everything: {per_minute: 1}\n", 5, 5,
                            "invalid", "governor.rate_limits.everything");
        config_expect_error(REQUIRED "governor:\n  rate_limits:\n    global: {per_minute: 0}\n", 5, 26,
                            "out_of_range", "governor.rate_limits.global.per_minute");
        config_expect_error(REQUIRED "governor:\n  rate_limits:\n    global: {per_week: 1}\n", 5, 14,
                            "unknown_key", "governor.rate_limits.global.per_week");

        /* Refusals are told to a notify integration, which must be one. */
        c = config_parse_ok(
                REQUIRED
                "integrations:\n  - {name: chat, kind: notify, settings: {url: \"https://c.example/h\"}}\n"
                "governor: {notify: chat}\n");
        assert_string_equal(c->governor_notify, "chat");
        config_free(c);
        config_expect_error(REQUIRED "integrations:\n  - {name: fw, kind: nft}\ngovernor: {notify: fw}\n", 5,
                            20, "invalid", "governor.notify");
}

static void test_listen_errors(void **state) {
        static const char *const bad[] = {
                "localhost:8080", "127.0.0.1:0",   "127.0.0.1:65536", "[::1]8080",
                "::1:8080",       "127.0.0.1",     "127.0.0.1:80a",   "[127.0.0.1]:80",
                "1.2.3:80",       "127.0.0.1:+80", "[::1]:",          "127.0.0.1: 80",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                char yaml[256];
                snprintf(yaml, sizeof(yaml), REQUIRED "listen: \"%s\"\n", bad[i]);
                config_expect_error(yaml, 3, 9, "invalid", "listen");
        }
        /* Plain HTTP beyond loopback would carry bearer tokens in clear. */
        static const char *const exposed[] = {"0.0.0.0:443", "192.0.2.1:8080", "[::]:8080",
                                              "[2001:DB8::0:1]:65535", "[::ffff:192.0.2.1]:80"};
        for (size_t i = 0; i < sizeof(exposed) / sizeof(exposed[0]); i++) {
                char yaml[256];
                snprintf(yaml, sizeof(yaml), REQUIRED "listen: \"%s\"\n", exposed[i]);
                config_expect_error(yaml, 3, 9, "insecure", "listen");
        }
        bw_config *c = config_parse_ok(REQUIRED "listen: 127.0.0.2:443\n");
        assert_string_equal(c->listen_address, "127.0.0.2");
        assert_int_equal(c->listen_port, 443);
        config_free(c);
        c = config_parse_ok(REQUIRED "listen: \"[0::1]:65535\"\n");
        assert_string_equal(c->listen_address, "::1");
        assert_int_equal(c->listen_port, 65535);
        config_free(c);
        c = config_parse_ok(REQUIRED "listen: \"[::ffff:127.0.0.1]:8080\"\n");
        config_free(c);
}

#define INT_HEAD REQUIRED "integrations:\n"

static void test_integration_errors(void **state) {
        config_expect_error(INT_HEAD "  - name: x\n    kind: ldap\n", 5, 11, "unknown_kind",
                            "integrations[0].kind");
        config_expect_error(INT_HEAD "  - kind: nft\n", 4, 5, "missing", "integrations[0].name");
        config_expect_error(INT_HEAD "  - name: x\n", 4, 5, "missing", "integrations[0].kind");
        config_expect_error(INT_HEAD "  - name: bad/name\n    kind: nft\n", 4, 11, "bad_charset",
                            "integrations[0].name");
        config_expect_error(
                INT_HEAD
                "  - {name: a, kind: nft}\n  - {name: a, kind: notify, settings: {url: \"https://x.y\"}}\n",
                5, 12, "duplicate", "integrations[1].name");
        config_expect_error(INT_HEAD "  - {name: a, kind: nft, timeout_ms: 0}\n", 4, 38, "out_of_range",
                            "integrations[0].timeout_ms");
        config_expect_error(INT_HEAD "  - {name: a, kind: nft, timeout_ms: 120001}\n", 4, 38, "out_of_range",
                            "integrations[0].timeout_ms");
        config_expect_error(INT_HEAD "  - {name: a, kind: nft, colour: red}\n", 4, 26, "unknown_key",
                            "integrations[0].colour");
        config_expect_error(INT_HEAD "  - {name: a, kind: nft, uid: 0}\n", 4, 31, "out_of_range",
                            "integrations[0].uid");
        config_expect_error(INT_HEAD "  - {name: a, kind: nft, uid: 60601}\n  - {name: b, kind: nft}\n", 5,
                            5, "duplicate", "integrations[1]");
        config_expect_error(INT_HEAD "  - {name: a, kind: nft}\n  - {name: b, kind: nft, uid: 60600}\n", 5,
                            31, "duplicate", "integrations[1].uid");
        /* An id a host account or group has (Debian's "daemon" user, "kmem" group). */
        config_expect_error(INT_HEAD "  - {name: a, kind: nft, uid: 1}\n", 4, 31, "taken",
                            "integrations[0].uid");
        config_expect_error(INT_HEAD "  - {name: a, kind: nft, uid: 15}\n", 4, 31, "taken",
                            "integrations[0].uid");
        /* The api process's id: a worker sharing it could reach the api process. */
        config_expect_error(INT_HEAD "  - {name: a, kind: nft, uid: 60590}\n", 4, 31, "reserved",
                            "integrations[0].uid");
}

static void test_settings_errors(void **state) {
        /* nft: the kind's table. */
        config_expect_error(INT_HEAD "  - name: fw\n    kind: nft\n    settings:\n      colour: red\n", 7, 7,
                            "unknown_key", "integrations[0].settings.colour");
        config_expect_error(INT_HEAD
                            "  - name: fw\n    kind: nft\n    settings:\n      default_timeout_s: 0\n",
                            7, 26, "out_of_range", "integrations[0].settings.default_timeout_s");
        config_expect_error(INT_HEAD "  - name: fw\n    kind: nft\n    settings:\n      create: yes\n", 7,
                            15, "wrong_type", "integrations[0].settings.create");
        config_expect_error(INT_HEAD
                            "  - name: fw\n    kind: nft\n    settings:\n      table: \"bad table\"\n",
                            7, 14, "bad_charset", "integrations[0].settings.table");
        /* nft: the kind's own check, at the offending value. */
        config_expect_error(
                INT_HEAD "  - name: fw\n    kind: nft\n    settings:\n      table: t\n      family: arp\n",
                8, 15, "invalid", "integrations[0].settings.family");

        /* http: required url, https only, header checks. */
        config_expect_error(INT_HEAD "  - name: api\n    kind: http\n", 4, 5, "missing",
                            "integrations[0].settings.url");
        config_expect_error(INT_HEAD "  - name: api\n    kind: http\n    settings:\n      method: PUT\n", 7,
                            7, "missing", "integrations[0].settings.url");
        config_expect_error(
                INT_HEAD
                "  - name: api\n    kind: http\n    settings:\n      url: http://example.com/hook\n",
                7, 12, "invalid", "integrations[0].settings.url");
        config_expect_error(INT_HEAD
                            "  - name: api\n    kind: http\n    settings:\n      url: https://e.example\n"
                            "      timeout_ms: 999999\n",
                            8, 19, "out_of_range", "integrations[0].settings.timeout_ms");
        config_expect_error(INT_HEAD
                            "  - name: api\n    kind: http\n    settings:\n      url: https://e.example\n"
                            "      headers: [\"X-A: 1\", \"bad header\"]\n",
                            8, 27, "invalid", "integrations[0].settings.headers[1]");
        config_expect_error(INT_HEAD
                            "  - name: api\n    kind: http\n    settings:\n      url: https://e.example\n"
                            "      method: GET\n",
                            8, 15, "invalid", "integrations[0].settings.method");

        /* The loopback exception is allowed only when asked for. */
        bw_config *c = config_parse_ok(
                INT_HEAD "  - name: api\n    kind: http\n    settings:\n"
                         "      url: http://127.0.0.1:9000/hook\n      allow_http_loopback: true\n");
        assert_true(json_is_true(json_object_get(c->integrations[0].settings, "allow_http_loopback")));
        config_free(c);
}

static void test_load_file(void **state) {
        char *dir = test_dir_create();
        test_file_write(dir, "bulwark.yaml", REQUIRED);
        char path[4096];
        snprintf(path, sizeof(path), "%s/bulwark.yaml", dir);
        bw_config *c = NULL;
        bw_error e = {0};
        assert_int_equal(config_load(path, &c, &e), 0);
        char want[4096 + 32];
        snprintf(want, sizeof(want), "%s/token", dir);
        assert_string_equal(c->token_file, want);
        assert_string_equal(c->file, path);
        config_free(c);

        snprintf(path, sizeof(path), "%s/absent.yaml", dir);
        assert_int_equal(config_load(path, &c, &e), -ENOENT);
        assert_string_equal(e.code, "unreadable");
        assert_string_equal(e.file, path);

        /* A file over BW_CONFIG_FILE_MAX is refused before it is parsed. */
        char *big = malloc(BW_CONFIG_FILE_MAX + 2);
        assert_non_null(big);
        memset(big, '#', BW_CONFIG_FILE_MAX + 1);
        big[BW_CONFIG_FILE_MAX + 1] = '\0';
        test_file_write(dir, "big.yaml", big);
        free(big);
        snprintf(path, sizeof(path), "%s/big.yaml", dir);
        assert_int_equal(config_load(path, &c, &e), -EFBIG);
        assert_string_equal(e.code, "too_large");
        test_dir_remove(dir);
}

int config_tests(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_every_key),
                cmocka_unit_test(test_relative_to_file),
                cmocka_unit_test(test_key_errors),
                cmocka_unit_test(test_type_and_range_errors),
                cmocka_unit_test(test_listen_errors),
                cmocka_unit_test(test_governor_section),
                cmocka_unit_test(test_integration_errors),
                cmocka_unit_test(test_settings_errors),
                cmocka_unit_test(test_load_file),
        };
        return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
