/* SPDX-License-Identifier: Apache-2.0 */
/* The playbook model, its YAML parser, trigger matching and step rendering.
 * Pure (bytes in, structs out); playbook files are untrusted. Errors carry
 * file:line:col. Runs in the engine and in the CLI (lint, dry run). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/alert.h"
#include "core/limits.h"
#include "core/template.h"
#include "util/error.h"

/* Graduated automation (seed practice, "Automation Levels"). */
typedef enum {
        LEVEL_ALERT_ONLY = 1, /* record and notify, no action */
        LEVEL_RECOMMEND = 2,  /* actions stored as a recommendation (the default) */
        LEVEL_AUTO_REVERSIBLE = 3,
        LEVEL_AUTO_IRREVERSIBLE = 4,
} automation_level;

#define PLAYBOOK_DEFAULT_LEVEL LEVEL_RECOMMEND

typedef struct playbook_step {
        char id[BW_NAME_MAX + 1];
        char connector[BW_NAME_MAX + 1];   /* "nft" from action "nft.block" */
        char verb[BW_NAME_MAX + 1];        /* "block" */
        char integration[BW_NAME_MAX + 1]; /* name of a configured integration */
        bool has_targets;
        template_expr targets;
        /* Object: name -> literal string/integer/boolean, or {"from": "<expr>"}
         * where expr is a scalar template (source, type, severity, label). */
        json_t *params;
        /* Object: each params name -> [key line, key col, value line, value col],
         * so the checks against the verb's table (config/playbooks.c) point at it. */
        json_t *params_at;
        /* A high-risk category ("data_deletion", ...): the action then always needs
         * an approval. "" = none declared (configuration may still classify it). */
        char category[BW_NAME_MAX + 1];
        /* > 0: the engine reverts the action this long after it was applied. */
        int64_t duration_s;
        unsigned line, col; /* position of the step in its file */
        /* Positions of the values cross-checked against the configuration later
         * (config/playbooks.c), so those errors point at the value itself. */
        struct {
                unsigned line, col;
        } at_action, at_integration, at_targets, at_category, at_duration;
} playbook_step;

typedef struct playbook_trigger {
        char type[BW_ALERT_NAME_MAX + 1]; /* exact alert type to match */
        alert_severity min_severity;      /* default SEVERITY_LOW */
        json_t *labels;                   /* object: every key must equal; may be empty */
        /* Threshold (count > 0): the playbook runs once count alerts sharing the
         * value of group_by arrive within window_s of the first. */
        unsigned count;
        template_expr group_by;
        int64_t window_s;
} playbook_trigger;

typedef struct playbook {
        char file[256];
        char name[BW_NAME_MAX + 1];
        int64_t version; /* >= 1 */
        char author[BW_NAME_MAX + 1];
        char description[512];
        playbook_trigger trigger;
        automation_level level;
        playbook_step *steps;
        size_t n_steps;
        unsigned char digest[32]; /* BLAKE2b-256 of the exact file bytes */
} playbook;

/* Parses one playbook. filename is used only in errors and records. Unknown keys,
 * wrong types, out-of-range values, bad action/template syntax and duplicate step
 * ids are errors with file:line:col. Does not check integrations (see
 * playbook_check in config/playbooks.h). Returns 0 and *ret (free with
 * playbook_free) or -EINVAL with *err, or -ENOMEM. */
int playbook_parse(const char *data, size_t len, const char *filename, playbook **ret, bw_error *err);

void playbook_free(playbook *p);

/* The threshold key of alert a: the group_by value(s), sorted and joined by ','.
 * Returns 0 with ret (at most BW_THRESHOLD_KEY_MAX bytes), -ENOENT when the alert
 * has no such value, -E2BIG when the key is too long. */
int playbook_threshold_key(const playbook *p, const alert *a, char ret[BW_THRESHOLD_KEY_MAX + 1]);

/* True if a satisfies p's trigger (type, minimum severity, every label). */
bool playbook_matches(const playbook *p, const alert *a);

/* One step rendered for one alert: the concrete action to run. */
typedef struct rendered_action {
        const playbook_step *step;
        template_value targets;   /* kind TARGET_NONE and n == 0 if the step has none */
        json_t *params;           /* object of literal values, "from" references resolved */
        char idempotency_key[65]; /* hex BLAKE2b-256 of alert id, playbook, version, step, targets, params */
} rendered_action;

/* Renders step i of p for alert a (id alert_id). Returns 0 and fills *ret (clear
 * with rendered_action_clear) or -ENOMEM. */
int playbook_render_step(const playbook *p, size_t i, const alert *a, int64_t alert_id,
                         rendered_action *ret);

void rendered_action_clear(rendered_action *r);
