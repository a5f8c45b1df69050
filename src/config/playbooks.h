/* SPDX-License-Identifier: Apache-2.0 */
/* The set of playbooks of a directory, each cross-checked against the
 * configuration (integrations, connector kinds, verbs, target kinds). The files
 * are untrusted; every error is collected, not only the first, so `bulwark
 * playbook lint` can print them all. Runs in the parent at start-up and in the CLI. */
#pragma once

#include <stddef.h>

#include "config/config.h"
#include "core/playbook.h"
#include "util/error.h"

typedef struct playbook_set {
        playbook **items; /* sorted by file name */
        size_t n;
        size_t n_files; /* *.yaml / *.yml files examined, including those that failed */
} playbook_set;

/* Loads every regular *.yaml / *.yml file of dir (sorted by name; at most
 * BW_PLAYBOOKS_MAX files of at most BW_PLAYBOOK_FILE_MAX bytes each), parses it
 * and, when cfg is non-NULL, checks it with playbook_check. Two playbooks with the
 * same name are an error. Up to max_errs errors are stored in errs (further ones
 * are dropped) and their number in *ret_nerrs.
 * Returns 0 and *ret when there was no error; -EINVAL when some file had errors:
 * *ret then still receives the playbooks that passed (so lint can count the
 * files; the caller frees it); -ENOMEM or another negative errno (with an entry
 * in errs when it concerns a file or the directory) otherwise. */
int playbook_set_load(const char *dir, const bw_config *cfg, playbook_set **ret, bw_error *errs,
                      size_t max_errs, size_t *ret_nerrs);

/* Cross-checks p's steps against cfg: the integration exists, its kind is the
 * step's connector, the connector has the verb, and the verb accepts the kind of
 * the step's targets (or no targets). Errors carry p's file and the step's
 * line:col. Returns 0, or -EINVAL with up to max_errs errors in errs and their
 * number in *ret_nerrs. */
int playbook_check(const playbook *p, const bw_config *cfg, bw_error *errs, size_t max_errs,
                   size_t *ret_nerrs);

/* Number of playbook files examined (0 for NULL). */
size_t playbook_set_files(const playbook_set *s);

void playbook_set_free(playbook_set *s);
