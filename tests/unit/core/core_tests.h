/* SPDX-License-Identifier: Apache-2.0 */
/* The groups of the core unit-test binary, one per module, run by test_core.c. */
#pragma once

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

/* 2026-11-22T10:00:00Z: the fixed "now" of every test. */
#define TEST_NOW_MS 1795341600000LL

int alert_tests(void);
int template_tests(void);
int playbook_tests(void);
int governor_tests(void);
int model_replay_tests(void);

/* Asserts a bw_error's code and field. */
#define assert_error(e, want_code, want_field)                                                              \
        do {                                                                                                \
                assert_string_equal((e).code, (want_code));                                                 \
                assert_string_equal((e).field, (want_field));                                               \
        } while (0)
