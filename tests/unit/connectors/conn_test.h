/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the connector unit tests: actions, temporary directories,
 * files, a private network namespace and nftables listings. Test code only. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "connectors/connector.h"

#define TEST_KEY "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* An action with its own copies of everything (free with test_action_free). */
typedef struct test_action {
        connector_action a;
        char **targets;
        json_t *params;
} test_action;

/* targets: NULL-terminated; params: JSON text or NULL for {}. */
test_action *test_action_new(const char *verb, target_kind kind, const char *const *targets,
                             const char *params);
void test_action_free(test_action *t);

/* mkdtemp under /tmp (mode 0700, root-owned: a trusted directory for exec). */
char *test_tmpdir(void);
/* Removes a directory tree made by test_tmpdir and frees the path. */
void test_tmpdir_remove(char *dir);

/* Writes content to dir/name with mode; returns the malloc'ed path. */
char *test_write_file(const char *dir, const char *name, const char *content, mode_t mode);

/* Reads a whole file (NUL-terminated, malloc'ed) or returns NULL. */
char *test_read_file(const char *path);

/* The decimal number at the start of s, up to a newline, a tab or the end
 * (parse_int64 rules); -1 if there is none. */
long long test_number(const char *s);

/* Moves this process into a new, empty network namespace (nft tests must not
 * touch the host's ruleset). Returns 0 or -errno. */
int test_enter_netns(void);

/* The elements of an nftables set as an object "addr" or "addr/len" ->
 * timeout in seconds (0 when none), read with libnftables; NULL if the set
 * cannot be listed. */
json_t *test_nft_elements(const char *family, const char *table, const char *set);

/* Runs one nft command in text form (test setup); returns 0 on success. */
int test_nft_cmd(const char *cmd);

/* Runs argv (PATH lookup) with stdout and stderr on /dev/null. Returns its
 * exit status, or -1 if it could not run. */
int test_run(char *const argv[]);

/* Starts argv in the background with input (or nothing) on stdin, stdout and
 * stderr on /dev/null; returns its pid. */
pid_t test_spawn(char *const argv[], const char *input);

/* Waits (bounded, 30 s) until the process pid has exited; true if it did. */
bool test_wait_exit(pid_t pid);
