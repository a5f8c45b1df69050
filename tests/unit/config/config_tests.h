/* SPDX-License-Identifier: Apache-2.0 */
/* The groups of the config unit-test binary (yamldoc, configuration, playbook
 * sets) and the small file helpers they share. */
#pragma once

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "config/config.h"
#include "util/error.h"

int yamldoc_tests(void);
int config_tests(void);
int playbooks_tests(void);
int approvals_config_tests(void);

/* The path configuration texts are parsed as: relative paths resolve under /etc/bulwark. */
#define CONF "/etc/bulwark/bulwark.yaml"

/* Parses yaml as CONF; fails the test with the error when it is refused. */
bw_config *config_parse_ok(const char *yaml);
/* Parses yaml as CONF and asserts it is refused at line:col with code and field. */
void config_expect_error(const char *yaml, unsigned line, unsigned col, const char *code, const char *field);

/* Asserts an error's code, field and 1-based position. */
void assert_error_at(const bw_error *e, const char *code, const char *field, unsigned line, unsigned col);

/* A fresh directory under /tmp (mkdtemp); removed with test_dir_remove. */
char *test_dir_create(void);
/* Writes a file dir/name with content. */
void test_file_write(const char *dir, const char *name, const char *content);
/* Removes dir and everything in it (files and empty subdirectories). */
void test_dir_remove(char *dir);
