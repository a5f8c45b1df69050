/* SPDX-License-Identifier: Apache-2.0 */
/* Playbook parsing, trigger matching and step rendering (see playbook.h); the
 * YAML files are untrusted. Runs in the engine and in the CLI (lint, dry run). */
#include "core/playbook.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/strutil.h"
#include "core/yamldoc.h"

#define PLAYBOOK_NAME_EXTRA "._-"
/* connector and verb in "connector.verb": the name charset without the dot
 * that separates them. */
#define PLAYBOOK_ACTION_PART_EXTRA "_-"
#define PLAYBOOK_DESCRIPTION_MAX (sizeof(((playbook *)0)->description) - 1)
/* Domain separation for idempotency keys; bump the version if the encoding changes. */
#define PLAYBOOK_IDEMPOTENCY_TAG "bulwark.idempotency.v1"

/* --- Parsing --------------------------------------------------------------- */

static const char *const playbook_keys[] = {"name",    "version",          "author", "description",
                                            "trigger", "automation_level", "steps",  NULL};
enum { PK_NAME, PK_VERSION, PK_AUTHOR, PK_DESCRIPTION, PK_TRIGGER, PK_LEVEL, PK_STEPS, _PK_MAX };

static const char *const trigger_keys[] = {"type", "min_severity", "labels", "threshold", NULL};
enum { TK_TYPE, TK_MIN_SEVERITY, TK_LABELS, TK_THRESHOLD, _TK_MAX };

static const char *const threshold_keys[] = {"count", "group_by", "window_s", NULL};
enum { HK_COUNT, HK_GROUP_BY, HK_WINDOW_S, _HK_MAX };

static const char *const step_keys[] = {"id",     "action",   "integration", "targets",
                                        "params", "category", "duration_s",  NULL};
enum { SK_ID, SK_ACTION, SK_INTEGRATION, SK_TARGETS, SK_PARAMS, SK_CATEGORY, SK_DURATION_S, _SK_MAX };

static const char *const from_keys[] = {"from", NULL};
static const char *const typed_keys[] = {"from", "as", NULL};

/* Multi-line descriptions are fine; other control characters (terminal escapes
 * in `playbook lint` output) are not. */
static bool description_valid(const char *s, size_t len) {
        size_t start = 0;
        for (size_t i = 0; i <= len; i++) {
                if (i < len && s[i] != '\n' && s[i] != '\t')
                        continue;
                if (i > start && !yamldoc_text_valid(s + start, i - start))
                        return false;
                start = i + 1;
        }
        return true;
}

/* A template expression at node; the template parser's message, our position. */
static int parse_template(yamldoc *d, yaml_node_t *node, const char *path, template_expr *ret,
                          bw_error *err) {
        const char *s;
        size_t len;
        int r = yamldoc_get_string(d, node, path, 1, BW_TEMPLATE_MAX, &s, &len, err);
        if (r < 0)
                return r;
        bw_error terr;
        if (template_parse(s, len, ret, &terr) < 0)
                return yamldoc_error(d, node, err, terr.code, path, "%s", terr.message);
        return 0;
}

/* A step's targets: a template of ips, accounts or hosts, or {from: <template>,
 * as: ip|account|host|string} for a template that yields strings (G1.1: every
 * target is typed, so that the governor can judge it). */
static int parse_targets(yamldoc *d, yaml_node_t *node, const char *path, template_expr *ret,
                         bw_error *err) {
        if (node->type != YAML_MAPPING_NODE) {
                int r = parse_template(d, node, path, ret, err);
                if (r == 0 && template_yields_string(ret))
                        return yamldoc_error(d, node, err, "untyped", path,
                                             "%s yields strings: declare what they are, e.g. {from: %s, as: "
                                             "ip} (ip, account, host or string)",
                                             (const char *)node->data.scalar.value,
                                             (const char *)node->data.scalar.value);
                return r;
        }
        yaml_node_t *v[2];
        int r = yamldoc_fields(d, node, path, typed_keys, v, err);
        for (size_t k = 0; r == 0 && k < 2; k++)
                r = yamldoc_require(d, node, path, typed_keys[k], v[k], err);
        char fpath[YAMLDOC_PATH_MAX];
        yamldoc_path_key(fpath, sizeof(fpath), path, "from");
        if (r == 0)
                r = parse_template(d, v[0], fpath, ret, err);
        if (r == 0 && !template_yields_string(ret))
                return yamldoc_error(d, v[0], err, "invalid", fpath,
                                     "%s is typed already: write it without {from, as}",
                                     (const char *)v[0]->data.scalar.value);
        yamldoc_path_key(fpath, sizeof(fpath), path, "as");
        const char *as;
        if (r == 0)
                r = yamldoc_get_string(d, v[1], fpath, 1, BW_NAME_MAX, &as, NULL, err);
        if (r == 0 && target_kind_parse(as, &ret->as) < 0)
                return yamldoc_error(d, v[1], err, "invalid", fpath,
                                     "must be one of ip, account, host, string");
        return r;
}

static int label_one(yamldoc *d, const char *key, yaml_node_t *key_node, yaml_node_t *value,
                     const char *path, void *userdata, bw_error *err) {
        if (!alert_label_key_valid(key, strlen(key)))
                return yamldoc_error(d, key_node, err, "bad_charset", path,
                                     "a label key is 1..%u characters of [A-Za-z0-9._-]", BW_LABEL_KEY_MAX);
        char v[BW_LABEL_VALUE_MAX + 1];
        int r = yamldoc_get_text(d, value, path, 1, BW_LABEL_VALUE_MAX, v, sizeof(v), err);
        if (r < 0)
                return r;
        return json_object_set_new(userdata, key, json_string(v)) < 0 ? -ENOMEM : 0;
}

/* threshold: {count, group_by, window_s}, all required. */
static int parse_threshold(yamldoc *d, yaml_node_t *node, playbook_trigger *t, bw_error *err) {
        yaml_node_t *v[_HK_MAX];
        int r = yamldoc_fields(d, node, "trigger.threshold", threshold_keys, v, err);
        for (size_t k = 0; r == 0 && k < _HK_MAX; k++)
                r = yamldoc_require(d, node, "trigger.threshold", threshold_keys[k], v[k], err);
        int64_t count;
        if (r == 0)
                r = yamldoc_get_int(d, v[HK_COUNT], "trigger.threshold.count", 1, BW_THRESHOLD_COUNT_MAX,
                                    &count, err);
        if (r == 0)
                r = yamldoc_get_int(d, v[HK_WINDOW_S], "trigger.threshold.window_s", 1,
                                    BW_THRESHOLD_WINDOW_S_MAX, &t->window_s, err);
        if (r == 0)
                r = parse_template(d, v[HK_GROUP_BY], "trigger.threshold.group_by", &t->group_by, err);
        if (r == 0)
                t->count = (unsigned)count;
        return r;
}

static int parse_trigger(yamldoc *d, yaml_node_t *node, playbook_trigger *t, bw_error *err) {
        yaml_node_t *v[_TK_MAX];
        int r = yamldoc_fields(d, node, "trigger", trigger_keys, v, err);
        if (r < 0)
                return r;
        r = yamldoc_require(d, node, "trigger", "type", v[TK_TYPE], err);
        if (r < 0)
                return r;
        const char *type;
        size_t len;
        r = yamldoc_get_string(d, v[TK_TYPE], "trigger.type", 1, BW_ALERT_NAME_MAX, &type, &len, err);
        if (r < 0)
                return r;
        if (!alert_name_valid(type, len))
                return yamldoc_error(d, v[TK_TYPE], err, "bad_charset", "trigger.type",
                                     "an alert type is 1..%u characters of [A-Za-z0-9._:-]",
                                     BW_ALERT_NAME_MAX);
        memcpy(t->type, type, len + 1);
        t->min_severity = SEVERITY_LOW;
        if (v[TK_MIN_SEVERITY]) {
                const char *sev;
                r = yamldoc_get_string(d, v[TK_MIN_SEVERITY], "trigger.min_severity", 1, BW_ALERT_NAME_MAX,
                                       &sev, NULL, err);
                if (r < 0)
                        return r;
                /* yamldoc_get_string has ruled out an embedded NUL. */
                if (alert_severity_parse(sev, &t->min_severity) < 0)
                        return yamldoc_error(d, v[TK_MIN_SEVERITY], err, "invalid", "trigger.min_severity",
                                             "must be one of low, medium, high, critical");
        }
        if (v[TK_LABELS]) {
                r = yamldoc_map_foreach(d, v[TK_LABELS], "trigger.labels", BW_ALERT_MAX_LABELS, label_one,
                                        t->labels, err);
                if (r < 0)
                        return r;
        }
        return v[TK_THRESHOLD] ? parse_threshold(d, v[TK_THRESHOLD], t, err) : 0;
}

/* {from: <expr>}: a reference to one scalar of the alert, resolved at render time. */
static int param_from(yamldoc *d, yaml_node_t *node, const char *path, json_t **ret, bw_error *err) {
        yaml_node_t *v[1];
        int r = yamldoc_fields(d, node, path, from_keys, v, err);
        if (r < 0)
                return r;
        r = yamldoc_require(d, node, path, "from", v[0], err);
        if (r < 0)
                return r;
        char fpath[YAMLDOC_PATH_MAX];
        yamldoc_path_key(fpath, sizeof(fpath), path, "from");
        template_expr t;
        r = parse_template(d, v[0], fpath, &t, err);
        if (r < 0)
                return r;
        if (template_kind(&t) != TARGET_STRING)
                return yamldoc_error(d, v[0], err, "invalid", fpath,
                                     "must name one value: alert.source, alert.type, alert.severity or "
                                     "alert.labels.<key>");
        *ret = json_pack("{s:s%}", "from", (const char *)v[0]->data.scalar.value, v[0]->data.scalar.length);
        return *ret ? 0 : -ENOMEM;
}

/* A literal: YAML 1.2 core-schema typing restricted to what connectors take. A
 * plain scalar that is a decimal integer or true/false is typed; anything else,
 * and every quoted scalar, is a string. */
static int param_literal(yamldoc *d, yaml_node_t *node, const char *path, json_t **ret, bw_error *err) {
        if (node->type != YAML_SCALAR_NODE || yamldoc_is_null(node))
                return yamldoc_error(d, node, err, "wrong_type", path,
                                     "expected a string, an integer, true/false or {from: <template>}");
        const char *s = (const char *)node->data.scalar.value;
        size_t len = node->data.scalar.length;
        if (node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
                /* "2001:db8::1" and "1.5" stay strings; "-12" and "99999999999999999999"
                 * are integers, the second out of range. */
                bool integer = len > (size_t)(s[0] == '-') &&
                               strspn(s + (s[0] == '-'), "0123456789") == len - (s[0] == '-');
                if (integer) {
                        int64_t i;
                        int r = yamldoc_get_int(d, node, path, INT64_MIN, INT64_MAX, &i, err);
                        if (r < 0)
                                return r;
                        *ret = json_integer(i);
                        return *ret ? 0 : -ENOMEM;
                }
                if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0) {
                        *ret = json_boolean(s[0] == 't');
                        return *ret ? 0 : -ENOMEM;
                }
        }
        char v[BW_PARAM_VALUE_MAX + 1];
        int r = yamldoc_get_text(d, node, path, 0, BW_PARAM_VALUE_MAX, v, sizeof(v), err);
        if (r < 0)
                return r;
        *ret = json_string(v);
        return *ret ? 0 : -ENOMEM;
}

static int param_one(yamldoc *d, const char *key, yaml_node_t *key_node, yaml_node_t *value,
                     const char *path, void *userdata, bw_error *err) {
        playbook_step *s = userdata;
        if (!param_name_valid(key, strlen(key)))
                return yamldoc_error(d, key_node, err, "bad_charset", path,
                                     "a parameter name is 1..%u characters of [a-z0-9_]", BW_NAME_MAX);
        json_t *v = NULL;
        int r = value->type == YAML_MAPPING_NODE ? param_from(d, value, path, &v, err)
                                                 : param_literal(d, value, path, &v, err);
        if (r < 0)
                return r;
        if (json_object_set_new(s->params, key, v) < 0)
                return -ENOMEM;
        json_t *at =
                json_pack("[iiii]", (int)key_node->start_mark.line + 1, (int)key_node->start_mark.column + 1,
                          (int)value->start_mark.line + 1, (int)value->start_mark.column + 1);
        return json_object_set_new(s->params_at, key, at) < 0 ? -ENOMEM : 0;
}

static int parse_action(yamldoc *d, yaml_node_t *node, const char *path, playbook_step *s, bw_error *err) {
        char action[2 * BW_NAME_MAX + 2];
        int r = yamldoc_get_name(d, node, path, sizeof(action) - 1, PLAYBOOK_ACTION_PART_EXTRA ".", action,
                                 sizeof(action), err);
        if (r < 0)
                return r;
        char *dot = strchr(action, '.');
        if (dot)
                *dot = '\0';
        if (!dot || !str_charset_ok(action, strlen(action), BW_NAME_MAX, PLAYBOOK_ACTION_PART_EXTRA) ||
            !str_charset_ok(dot + 1, strlen(dot + 1), BW_NAME_MAX, PLAYBOOK_ACTION_PART_EXTRA))
                return yamldoc_error(d, node, err, "invalid", path,
                                     "expected <connector>.<verb>, e.g. nft.block (each 1..%u of "
                                     "[A-Za-z0-9_-])",
                                     BW_NAME_MAX);
        str_copy(s->connector, sizeof(s->connector), action);
        str_copy(s->verb, sizeof(s->verb), dot + 1);
        return 0;
}

static int step_one(yamldoc *d, size_t index, yaml_node_t *node, const char *path, void *userdata,
                    bw_error *err) {
        playbook *p = userdata;
        playbook_step *s = &p->steps[index];
        s->line = (unsigned)node->start_mark.line + 1;
        s->col = (unsigned)node->start_mark.column + 1;
        yaml_node_t *v[_SK_MAX];
        int r = yamldoc_fields(d, node, path, step_keys, v, err);
        for (size_t k = SK_ID; r == 0 && k <= SK_INTEGRATION; k++)
                r = yamldoc_require(d, node, path, step_keys[k], v[k], err);
        if (r < 0)
                return r;

        s->at_action.line = (unsigned)v[SK_ACTION]->start_mark.line + 1;
        s->at_action.col = (unsigned)v[SK_ACTION]->start_mark.column + 1;
        s->at_integration.line = (unsigned)v[SK_INTEGRATION]->start_mark.line + 1;
        s->at_integration.col = (unsigned)v[SK_INTEGRATION]->start_mark.column + 1;
        if (v[SK_TARGETS]) {
                s->at_targets.line = (unsigned)v[SK_TARGETS]->start_mark.line + 1;
                s->at_targets.col = (unsigned)v[SK_TARGETS]->start_mark.column + 1;
        } else {
                s->at_targets.line = s->line;
                s->at_targets.col = s->col;
        }

        char fpath[YAMLDOC_PATH_MAX];
        yamldoc_path_key(fpath, sizeof(fpath), path, "id");
        r = yamldoc_get_name(d, v[SK_ID], fpath, BW_NAME_MAX, PLAYBOOK_NAME_EXTRA, s->id, sizeof(s->id),
                             err);
        if (r < 0)
                return r;
        for (size_t j = 0; j < index; j++)
                if (strcmp(p->steps[j].id, s->id) == 0)
                        return yamldoc_error(d, v[SK_ID], err, "duplicate", fpath,
                                             "step id already used by steps[%zu]", j);

        yamldoc_path_key(fpath, sizeof(fpath), path, "action");
        r = parse_action(d, v[SK_ACTION], fpath, s, err);
        if (r < 0)
                return r;
        yamldoc_path_key(fpath, sizeof(fpath), path, "integration");
        r = yamldoc_get_name(d, v[SK_INTEGRATION], fpath, BW_NAME_MAX, PLAYBOOK_NAME_EXTRA, s->integration,
                             sizeof(s->integration), err);
        if (r < 0)
                return r;
        if (v[SK_TARGETS]) {
                yamldoc_path_key(fpath, sizeof(fpath), path, "targets");
                r = parse_targets(d, v[SK_TARGETS], fpath, &s->targets, err);
                if (r < 0)
                        return r;
                s->has_targets = true;
        }
        if (v[SK_CATEGORY]) {
                yamldoc_path_key(fpath, sizeof(fpath), path, "category");
                s->at_category.line = (unsigned)v[SK_CATEGORY]->start_mark.line + 1;
                s->at_category.col = (unsigned)v[SK_CATEGORY]->start_mark.column + 1;
                r = yamldoc_get_name(d, v[SK_CATEGORY], fpath, BW_NAME_MAX, "_", s->category,
                                     sizeof(s->category), err);
                if (r < 0)
                        return r;
        }
        if (v[SK_DURATION_S]) {
                yamldoc_path_key(fpath, sizeof(fpath), path, "duration_s");
                s->at_duration.line = (unsigned)v[SK_DURATION_S]->start_mark.line + 1;
                s->at_duration.col = (unsigned)v[SK_DURATION_S]->start_mark.column + 1;
                r = yamldoc_get_int(d, v[SK_DURATION_S], fpath, 1, BW_ACTION_DURATION_S_MAX, &s->duration_s,
                                    err);
                if (r < 0)
                        return r;
        }
        s->params = json_object();
        s->params_at = json_object();
        if (!s->params || !s->params_at) {
                json_decref(s->params);
                json_decref(s->params_at);
                return -ENOMEM;
        }
        /* The step is counted once it owns memory, so playbook_free releases it. */
        p->n_steps = index + 1;
        if (v[SK_PARAMS]) {
                yamldoc_path_key(fpath, sizeof(fpath), path, "params");
                return yamldoc_map_foreach(d, v[SK_PARAMS], fpath, BW_PARAMS_MAX, param_one, s, err);
        }
        return 0;
}

static int parse_steps(yamldoc *d, yaml_node_t *node, playbook *p, bw_error *err) {
        /* The size check happens in yamldoc_seq_foreach; allocate for what it allows. */
        size_t n = node->type == YAML_SEQUENCE_NODE
                           ? (size_t)(node->data.sequence.items.top - node->data.sequence.items.start)
                           : 0;
        if (n > 0 && n <= BW_PLAYBOOK_STEPS_MAX) {
                p->steps = calloc(n, sizeof(*p->steps));
                if (!p->steps)
                        return -ENOMEM;
        }
        return yamldoc_seq_foreach(d, node, "steps", 1, BW_PLAYBOOK_STEPS_MAX, step_one, p, err);
}

static int playbook_from_doc(yamldoc *d, playbook *p, bw_error *err) {
        yaml_node_t *root = yamldoc_root(d);
        yaml_node_t *v[_PK_MAX];
        int r = yamldoc_fields(d, root, "", playbook_keys, v, err);
        if (r < 0)
                return r;
        static const size_t required[] = {PK_NAME, PK_VERSION, PK_TRIGGER, PK_STEPS};
        for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
                r = yamldoc_require(d, root, "", playbook_keys[required[i]], v[required[i]], err);
                if (r < 0)
                        return r;
        }
        r = yamldoc_get_name(d, v[PK_NAME], "name", BW_NAME_MAX, PLAYBOOK_NAME_EXTRA, p->name,
                             sizeof(p->name), err);
        if (r < 0)
                return r;
        r = yamldoc_get_int(d, v[PK_VERSION], "version", 1, INT64_MAX, &p->version, err);
        if (r < 0)
                return r;
        if (v[PK_AUTHOR]) {
                r = yamldoc_get_actor(d, v[PK_AUTHOR], "author", p->author, sizeof(p->author), err);
                if (r < 0)
                        return r;
        }
        if (v[PK_DESCRIPTION]) {
                const char *s;
                size_t len;
                r = yamldoc_get_string(d, v[PK_DESCRIPTION], "description", 0, PLAYBOOK_DESCRIPTION_MAX, &s,
                                       &len, err);
                if (r < 0)
                        return r;
                if (!description_valid(s, len))
                        return yamldoc_error(
                                d, v[PK_DESCRIPTION], err, "bad_charset", "description",
                                "control characters other than newline and tab are not allowed");
                memcpy(p->description, s, len);
        }
        r = parse_trigger(d, v[PK_TRIGGER], &p->trigger, err);
        if (r < 0)
                return r;
        p->level = PLAYBOOK_DEFAULT_LEVEL;
        if (v[PK_LEVEL]) {
                int64_t level;
                r = yamldoc_get_int(d, v[PK_LEVEL], "automation_level", LEVEL_ALERT_ONLY,
                                    LEVEL_AUTO_IRREVERSIBLE, &level, err);
                if (r < 0)
                        return r;
                p->level = (automation_level)level;
        }
        return parse_steps(d, v[PK_STEPS], p, err);
}

int playbook_parse(const char *data, size_t len, const char *filename, playbook **ret, bw_error *err) {
        if (sodium_init() < 0)
                return -EIO;
        if (len > BW_PLAYBOOK_FILE_MAX)
                return bw_error_set_at(err, filename, 0, 0, "too_large", NULL,
                                       "a playbook is at most %u bytes", BW_PLAYBOOK_FILE_MAX);
        yamldoc *d = NULL;
        int r = yamldoc_load(data, len, filename, &d, err);
        if (r < 0)
                return r;
        playbook *p = calloc(1, sizeof(*p));
        if (!p) {
                yamldoc_free(d);
                return -ENOMEM;
        }
        str_copy(p->file, sizeof(p->file), filename ? filename : "");
        p->trigger.labels = json_object();
        r = p->trigger.labels ? playbook_from_doc(d, p, err) : -ENOMEM;
        yamldoc_free(d);
        if (r < 0) {
                playbook_free(p);
                return r;
        }
        crypto_generichash(p->digest, sizeof(p->digest), (const unsigned char *)data, len, NULL, 0);
        *ret = p;
        return 0;
}

void playbook_free(playbook *p) {
        if (!p)
                return;
        for (size_t i = 0; i < p->n_steps; i++) {
                json_decref(p->steps[i].params);
                json_decref(p->steps[i].params_at);
        }
        free(p->steps);
        json_decref(p->trigger.labels);
        free(p);
}

/* --- Matching and rendering ------------------------------------------------ */

bool playbook_matches(const playbook *p, const alert *a) {
        if (strcmp(p->trigger.type, a->type) != 0 || a->severity < p->trigger.min_severity)
                return false;
        const char *key;
        json_t *want;
        json_object_foreach(p->trigger.labels, key, want) {
                json_t *have = json_object_get(a->labels, key);
                if (!json_is_string(have) || !json_equal(have, want))
                        return false;
        }
        return true;
}

static int str_ptr_cmp(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int playbook_threshold_key(const playbook *p, const alert *a, char ret[BW_THRESHOLD_KEY_MAX + 1]) {
        template_value v = {.kind = TARGET_NONE};
        int r = template_eval(&p->trigger.group_by, a, &v);
        if (r < 0)
                return r;
        if (v.n == 0) {
                template_value_clear(&v);
                return -ENOENT;
        }
        /* Sorted: the same set of values is the same key whatever the alert's order. */
        qsort(v.items, v.n, sizeof(*v.items), str_ptr_cmp);
        size_t used = 0;
        for (size_t i = 0; i < v.n && r == 0; i++) {
                size_t len = strlen(v.items[i]);
                if (used + len + (i > 0) > BW_THRESHOLD_KEY_MAX)
                        r = -E2BIG;
                else {
                        if (i > 0)
                                ret[used++] = ',';
                        memcpy(ret + used, v.items[i], len);
                        used += len;
                }
        }
        ret[used] = '\0';
        template_value_clear(&v);
        return r;
}

void rendered_action_clear(rendered_action *r) {
        if (!r)
                return;
        template_value_clear(&r->targets);
        json_decref(r->params);
        *r = (rendered_action){.targets = {.kind = TARGET_NONE}};
}

/* Literals are copied; {from} references are resolved. A reference to an absent
 * label leaves the parameter out: the connector's validation then decides
 * whether it was required, instead of receiving an invented value. */
static int render_params(const json_t *params, const alert *a, json_t **ret) {
        json_t *out = json_object();
        if (!out)
                return -ENOMEM;
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)params, key, v) {
                json_t *val = NULL;
                if (json_is_object(v)) {
                        template_expr t;
                        const char *expr = json_string_value(json_object_get(v, "from"));
                        template_value tv;
                        if (!expr || template_parse(expr, strlen(expr), &t, NULL) < 0) {
                                json_decref(out);
                                return -EINVAL;
                        }
                        if (template_eval(&t, a, &tv) < 0) {
                                json_decref(out);
                                return -ENOMEM;
                        }
                        if (tv.n == 0) {
                                template_value_clear(&tv);
                                continue;
                        }
                        val = json_string(tv.items[0]);
                        template_value_clear(&tv);
                } else {
                        val = json_copy(v);
                }
                if (json_object_set_new(out, key, val) < 0) {
                        json_decref(out);
                        return -ENOMEM;
                }
        }
        *ret = out;
        return 0;
}

/* Each field is length-prefixed (8 bytes, big-endian) so no two different
 * field sequences can encode to the same bytes. */
static void hash_field(crypto_generichash_state *st, const void *data, size_t len) {
        unsigned char prefix[8];
        for (size_t i = 0; i < 8; i++)
                prefix[i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
        crypto_generichash_update(st, prefix, sizeof(prefix));
        crypto_generichash_update(st, data, len);
}

static void hash_int(crypto_generichash_state *st, int64_t v) {
        unsigned char b[8];
        for (size_t i = 0; i < 8; i++)
                b[i] = (unsigned char)((uint64_t)v >> (56 - 8 * i));
        hash_field(st, b, sizeof(b));
}

static void hash_str(crypto_generichash_state *st, const char *s) {
        hash_field(st, s, strlen(s));
}

static int idempotency_key(const playbook *p, const playbook_step *s, int64_t alert_id,
                           const template_value *targets, const json_t *params, char out[65]) {
        char *pj = json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS);
        if (!pj)
                return -ENOMEM;
        crypto_generichash_state st;
        crypto_generichash_init(&st, NULL, 0, crypto_generichash_BYTES);
        hash_str(&st, PLAYBOOK_IDEMPOTENCY_TAG);
        hash_int(&st, alert_id);
        hash_str(&st, p->name);
        hash_int(&st, p->version);
        hash_str(&st, s->id);
        hash_str(&st, target_kind_name(targets->kind));
        hash_int(&st, (int64_t)targets->n);
        for (size_t i = 0; i < targets->n; i++)
                hash_str(&st, targets->items[i]);
        hash_str(&st, pj);
        free(pj);
        unsigned char digest[crypto_generichash_BYTES];
        crypto_generichash_final(&st, digest, sizeof(digest));
        sodium_bin2hex(out, 65, digest, sizeof(digest));
        return 0;
}

int playbook_render_step(const playbook *p, size_t i, const alert *a, int64_t alert_id,
                         rendered_action *ret) {
        if (i >= p->n_steps)
                return -EINVAL;
        const playbook_step *s = &p->steps[i];
        rendered_action r = {.step = s, .targets = {.kind = TARGET_NONE}};
        int rc = s->has_targets ? template_eval(&s->targets, a, &r.targets) : 0;
        if (rc == 0)
                rc = render_params(s->params, a, &r.params);
        if (rc == 0)
                rc = idempotency_key(p, s, alert_id, &r.targets, r.params, r.idempotency_key);
        if (rc < 0) {
                rendered_action_clear(&r);
                return rc;
        }
        *ret = r;
        return 0;
}
