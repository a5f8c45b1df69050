/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of util/yamldoc and config/ (configuration, playbook sets): runs
 * every group; also the helpers the groups share. */
#include "config_tests.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void assert_error_at(const bw_error *e, const char *code, const char *field, unsigned line, unsigned col) {
        if (strcmp(e->code, code) != 0 || strcmp(e->field, field) != 0 || e->line != line || e->col != col)
                fail_msg("want %s %s at %u:%u, got %s %s at %u:%u (%s)", code, field, line, col, e->code,
                         e->field, e->line, e->col, e->message);
}

bw_config *config_parse_ok(const char *yaml) {
        bw_config *c = NULL;
        bw_error e = {0};
        if (config_parse(yaml, strlen(yaml), CONF, &c, &e) != 0)
                fail_msg("%s:%u:%u: %s %s: %s", e.file, e.line, e.col, e.code, e.field, e.message);
        return c;
}

void config_expect_error(const char *yaml, unsigned line, unsigned col, const char *code,
                         const char *field) {
        bw_config *c = NULL;
        bw_error e = {0};
        if (config_parse(yaml, strlen(yaml), CONF, &c, &e) != -EINVAL)
                fail_msg("accepted:\n%s", yaml);
        assert_null(c);
        assert_string_equal(e.file, CONF);
        if (e.line != line || e.col != col || strcmp(e.code, code) != 0 || strcmp(e.field, field) != 0)
                fail_msg("want %u:%u %s %s, got %u:%u %s %s (%s) for:\n%s", line, col, code, field, e.line,
                         e.col, e.code, e.field, e.message, yaml);
}

char *test_dir_create(void) {
        char *dir = strdup("/tmp/bw-unit-config-XXXXXX");
        assert_non_null(dir);
        assert_non_null(mkdtemp(dir));
        return dir;
}

void test_file_write(const char *dir, const char *name, const char *content) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        size_t len = strlen(content);
        assert_int_equal(write(fd, content, len), (ssize_t)len);
        assert_int_equal(close(fd), 0);
}

void test_dir_remove(char *dir) {
        DIR *dh = opendir(dir);
        assert_non_null(dh);
        struct dirent *de;
        while ((de = readdir(dh))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                char path[4096];
                snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
                if (unlink(path) < 0)
                        assert_int_equal(rmdir(path), 0);
        }
        closedir(dh);
        assert_int_equal(rmdir(dir), 0);
        free(dir);
}

int main(void) {
        int failed = 0;
        failed += yamldoc_tests();
        failed += config_tests();
        failed += playbooks_tests();
        failed += approvals_config_tests();
        return failed == 0 ? 0 : 1;
}
