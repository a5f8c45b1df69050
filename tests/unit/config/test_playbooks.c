/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of config/playbooks.c: a directory of good and bad playbooks
 * reports every error with file:line:col, cross-checks each step against the
 * configuration, and returns the playbooks sorted by file name. */
#include "config_tests.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config/playbooks.h"
#include "core/limits.h"

static const char good_a[] = "name: block\n"
                             "version: 1\n"
                             "trigger: {type: ssh.bruteforce}\n"
                             "steps:\n"
                             "  - id: block\n"
                             "    action: nft.block\n"
                             "    integration: fw\n"
                             "    targets: alert.observables.ips\n";
static const char good_b[] = "name: tell\n"
                             "version: 1\n"
                             "trigger: {type: t}\n"
                             "steps:\n"
                             "  - {id: tell, action: notify.send, integration: soc}\n";
static const char bad_syntax[] = "name: n\nversion: 1\n  bad indent: x\n";
static const char bad_key[] = "name: d\nversion: 1\ncolour: red\n";
static const char dup_name[] = "# the same name as a.yaml\n"
                               "name: block\n"
                               "version: 2\n"
                               "trigger: {type: t}\n"
                               "steps:\n"
                               "  - {id: s, action: notify.send, integration: soc}\n";
static const char bad_steps[] =
        "name: f\n"
        "version: 1\n"
        "trigger: {type: t}\n"
        "steps:\n"
        "  - {id: s1, action: nft.block, integration: nowhere, targets: alert.observables.ips}\n"
        "  - {id: s2, action: exec.run, integration: fw}\n"
        "  - {id: s3, action: nft.drop, integration: fw, targets: alert.observables.ips}\n"
        "  - {id: s4, action: nft.block, integration: fw, targets: alert.observables.accounts}\n"
        "  - {id: s5, action: nft.block, integration: fw}\n"
        "  - {id: s6, action: exec.run, integration: runner, targets: alert.observables.accounts}\n";

static bw_config *test_config(void) {
        static const char yaml[] =
                "api: {token_file: t}\nplaybook_dir: p\nintegrations:\n"
                "  - {name: fw, kind: nft}\n"
                "  - {name: soc, kind: notify, settings: {url: \"https://soc.example/x\"}}\n"
                "  - {name: runner, kind: exec, settings: {program: /usr/bin/true}}\n";
        bw_config *c = NULL;
        bw_error e;
        assert_int_equal(config_parse(yaml, strlen(yaml), "/etc/bulwark/bulwark.yaml", &c, &e), 0);
        return c;
}

static char *mixed_dir(void) {
        char *dir = test_dir_create();
        test_file_write(dir, "a.yaml", good_a);
        test_file_write(dir, "b.yml", good_b);
        test_file_write(dir, "c.yaml", bad_syntax);
        test_file_write(dir, "d.yaml", bad_key);
        test_file_write(dir, "e.yaml", dup_name);
        test_file_write(dir, "f.yaml", bad_steps);
        /* Not playbooks: another extension, a hidden file, a directory. */
        test_file_write(dir, "notes.txt", "not: [yaml");
        test_file_write(dir, ".swap.yaml", "not: [yaml");
        char sub[4096];
        snprintf(sub, sizeof(sub), "%s/sub.yaml", dir);
        assert_int_equal(mkdir(sub, 0755), 0);
        return dir;
}

static void expect_at(const bw_error *e, const char *dir, const char *file, unsigned line, unsigned col,
                      const char *code, const char *field) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, file);
        assert_string_equal(e->file, path);
        assert_error_at(e, code, field, line, col);
}

static void test_reports_all_errors(void **state) {
        char *dir = mixed_dir();
        bw_config *cfg = test_config();
        bw_error errs[32];
        size_t n = 0;
        playbook_set *s = NULL;
        assert_int_equal(playbook_set_load(dir, cfg, &s, errs, 32, &n), -EINVAL);
        for (size_t i = 0; i < n; i++) {
                char line[1024];
                bw_error_format(&errs[i], line, sizeof(line));
                print_message("%s\n", line);
        }
        assert_int_equal(n, 8);
        expect_at(&errs[0], dir, "c.yaml", 3, 13, "syntax", "");
        expect_at(&errs[1], dir, "d.yaml", 3, 1, "unknown_key", "colour");
        expect_at(&errs[2], dir, "e.yaml", 2, 7, "duplicate", "name");
        expect_at(&errs[3], dir, "f.yaml", 5, 46, "unknown_integration", "steps[0].integration");
        expect_at(&errs[4], dir, "f.yaml", 6, 22, "kind_mismatch", "steps[1].action");
        expect_at(&errs[5], dir, "f.yaml", 7, 22, "unknown_verb", "steps[2].action");
        expect_at(&errs[6], dir, "f.yaml", 8, 59, "bad_target_kind", "steps[3].targets");
        expect_at(&errs[7], dir, "f.yaml", 9, 5, "bad_target_kind", "steps[4].targets");
        /* The set still tells how many files were examined, and holds the good ones. */
        assert_non_null(s);
        assert_int_equal(playbook_set_files(s), 6);
        assert_int_equal(s->n, 2);
        assert_string_equal(s->items[0]->name, "block");
        assert_string_equal(s->items[1]->name, "tell");
        playbook_set_free(s);

        /* The error array is bounded; the outcome still says "invalid". */
        s = NULL;
        assert_int_equal(playbook_set_load(dir, cfg, &s, errs, 2, &n), -EINVAL);
        assert_int_equal(n, 2);
        expect_at(&errs[1], dir, "d.yaml", 3, 1, "unknown_key", "colour");
        playbook_set_free(s);

        /* Without a configuration only the files themselves are checked. */
        s = NULL;
        assert_int_equal(playbook_set_load(dir, NULL, &s, errs, 32, &n), -EINVAL);
        assert_int_equal(n, 3);
        assert_int_equal(s->n, 3);
        assert_string_equal(s->items[2]->name, "f");
        playbook_set_free(s);

        config_free(cfg);
        test_dir_remove(dir);
}

static void test_good_set(void **state) {
        char *dir = test_dir_create();
        test_file_write(dir, "20-tell.yml", good_b);
        test_file_write(dir, "10-block.yaml", good_a);
        bw_config *cfg = test_config();
        bw_error errs[4];
        size_t n = 99;
        playbook_set *s = NULL;
        assert_int_equal(playbook_set_load(dir, cfg, &s, errs, 4, &n), 0);
        assert_int_equal(n, 0);
        assert_int_equal(s->n, 2);
        assert_int_equal(s->n_files, 2);
        /* Sorted by file name, not by playbook name or directory order. */
        assert_string_equal(s->items[0]->name, "block");
        assert_string_equal(s->items[1]->name, "tell");
        char path[4096];
        snprintf(path, sizeof(path), "%s/10-block.yaml", dir);
        assert_string_equal(s->items[0]->file, path);
        playbook_set_free(s);
        playbook_set_free(NULL);
        assert_int_equal(playbook_set_files(NULL), 0);
        config_free(cfg);
        test_dir_remove(dir);
}

static void test_directory_errors(void **state) {
        bw_error errs[4];
        size_t n = 0;
        playbook_set *s = NULL;
        assert_int_equal(playbook_set_load("/nonexistent/bulwark-playbooks", NULL, &s, errs, 4, &n),
                         -ENOENT);
        assert_null(s);
        assert_int_equal(n, 1);
        assert_string_equal(errs[0].file, "/nonexistent/bulwark-playbooks");
        assert_string_equal(errs[0].code, "unreadable");

        char *dir = test_dir_create();
        size_t big = BW_PLAYBOOK_FILE_MAX + 1;
        char *data = malloc(big + 1);
        assert_non_null(data);
        memset(data, '#', big);
        data[big] = '\0';
        test_file_write(dir, "big.yaml", data);
        free(data);
        assert_int_equal(playbook_set_load(dir, NULL, &s, errs, 4, &n), -EINVAL);
        assert_int_equal(n, 1);
        assert_string_equal(errs[0].code, "too_large");
        playbook_set_free(s);
        test_dir_remove(dir);
}

static void test_check_one(void **state) {
        playbook *p = NULL;
        bw_error e;
        assert_int_equal(playbook_parse(bad_steps, strlen(bad_steps), "f.yaml", &p, &e), 0);
        bw_config *cfg = test_config();
        bw_error errs[8];
        size_t n = 0;
        assert_int_equal(playbook_check(p, cfg, errs, 8, &n), -EINVAL);
        assert_int_equal(n, 5);
        assert_string_equal(errs[0].file, "f.yaml");
        assert_non_null(strstr(errs[3].message, "does not accept account targets"));
        assert_non_null(strstr(errs[4].message, "needs targets"));
        assert_int_equal(playbook_check(p, cfg, errs, 1, &n), -EINVAL);
        assert_int_equal(n, 1);
        playbook_free(p);

        assert_int_equal(playbook_parse(good_a, strlen(good_a), "a.yaml", &p, &e), 0);
        assert_int_equal(playbook_check(p, cfg, errs, 8, &n), 0);
        assert_int_equal(n, 0);
        playbook_free(p);
        config_free(cfg);
}

/* Each step's literal params are checked against its verb's table (core/settings.h,
 * beside the kind's settings): unknown names, wrong types and values out of range
 * are errors at the value's file:line:col naming steps[i].params.<name>. A
 * {from: ...} yields a string, so it may only feed a string parameter. */
static const char bad_params[] =
        "name: p\n"
        "version: 1\n"
        "trigger: {type: t}\n"
        "steps:\n"
        "  - id: s0\n"
        "    action: nft.block\n"
        "    integration: fw\n"
        "    targets: alert.observables.ips\n"
        "    params:\n"
        "      timeout_s: 9223372036854775807\n"
        "  - id: s1\n"
        "    action: nft.block\n"
        "    integration: fw\n"
        "    targets: alert.observables.ips\n"
        "    params: {timeout_s: 0}\n"
        "  - {id: s2, action: nft.block, integration: fw, targets: alert.observables.ips,\n"
        "     params: {timeout_s: \"60\"}}\n"
        "  - {id: s3, action: nft.block, integration: fw, targets: alert.observables.ips,\n"
        "     params: {reason: x}}\n"
        "  - {id: s4, action: nft.unblock, integration: fw, targets: alert.observables.ips,\n"
        "     params: {timeout_s: 60}}\n"
        "  - {id: s5, action: nft.block, integration: fw, targets: alert.observables.ips,\n"
        "     params: {timeout_s: {from: alert.labels.ttl}}}\n"
        "  - {id: s6, action: nft.block, integration: fw, targets: alert.observables.ips,\n"
        "     params: {timeout_s: true}}\n"
        "  - {id: s7, action: nft.block, integration: fw, targets: alert.observables.ips,\n"
        "     params: {timeout_s: 2592001}}\n";

static const char good_params[] =
        "name: q\n"
        "version: 1\n"
        "trigger: {type: t}\n"
        "steps:\n"
        "  - {id: s0, action: nft.block, integration: fw, targets: alert.observables.ips,\n"
        "     params: {timeout_s: 2592000}}\n"
        "  - {id: s1, action: nft.block, integration: fw, targets: alert.observables.ips,\n"
        "     params: {timeout_s: 1}}\n"
        "  - {id: s2, action: exec.run, integration: runner, targets: alert.observables.accounts,\n"
        "     params: {ticket: {from: alert.labels.ticket}, n: -5, dry: true}}\n"
        "  - {id: s3, action: notify.send, integration: soc, params: {text: hello}}\n";

static void test_params_checked_against_the_verb(void **state) {
        playbook *p = NULL;
        bw_error e;
        assert_int_equal(playbook_parse(bad_params, strlen(bad_params), "p.yaml", &p, &e), 0);
        bw_config *cfg = test_config();
        bw_error errs[16];
        size_t n = 0;
        assert_int_equal(playbook_check(p, cfg, errs, 16, &n), -EINVAL);
        for (size_t i = 0; i < n; i++) {
                char line[1024];
                bw_error_format(&errs[i], line, sizeof(line));
                print_message("%s\n", line);
        }
        assert_int_equal(n, 8);
        assert_error_at(&errs[0], "out_of_range", "steps[0].params.timeout_s", 10, 18);
        assert_non_null(strstr(errs[0].message, "1..2592000"));
        assert_error_at(&errs[1], "out_of_range", "steps[1].params.timeout_s", 15, 25);
        assert_error_at(&errs[2], "wrong_type", "steps[2].params.timeout_s", 17, 26);
        assert_error_at(&errs[3], "unknown_param", "steps[3].params.reason", 19, 15);
        assert_non_null(strstr(errs[3].message, "timeout_s"));
        assert_error_at(&errs[4], "unknown_param", "steps[4].params.timeout_s", 21, 15);
        assert_error_at(&errs[5], "wrong_type", "steps[5].params.timeout_s", 23, 26);
        assert_non_null(strstr(errs[5].message, "from"));
        assert_error_at(&errs[6], "wrong_type", "steps[6].params.timeout_s", 25, 26);
        assert_error_at(&errs[7], "out_of_range", "steps[7].params.timeout_s", 27, 26);
        for (size_t i = 0; i < n; i++)
                assert_string_equal(errs[i].file, "p.yaml");
        playbook_free(p);

        assert_int_equal(playbook_parse(good_params, strlen(good_params), "q.yaml", &p, &e), 0);
        assert_int_equal(playbook_check(p, cfg, errs, 16, &n), 0);
        assert_int_equal(n, 0);
        playbook_free(p);
        config_free(cfg);
}

int playbooks_tests(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_reports_all_errors),
                cmocka_unit_test(test_good_set),
                cmocka_unit_test(test_directory_errors),
                cmocka_unit_test(test_check_one),
                cmocka_unit_test(test_params_checked_against_the_verb),
        };
        return cmocka_run_group_tests_name("playbooks", tests, NULL, NULL);
}
