/* SPDX-License-Identifier: Apache-2.0 */
/* Loading a playbook directory and cross-checking it against the configuration
 * (see playbooks.h); the files are untrusted. Runs in the parent and the CLI. */
#include "config/playbooks.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "connectors/connector.h"
#include "util/fileio.h"
#include "core/yamldoc.h"

/* Errors go to the caller's bounded array; once it is full they are dropped, but
 * the outcome still records that something failed. */
typedef struct errlist {
        bw_error *errs;
        size_t max, n;
        bool failed;
} errlist;

static bw_error *errlist_next(errlist *l) {
        l->failed = true;
        return l->n < l->max ? &l->errs[l->n++] : NULL;
}

/* --- Checks against the configuration -------------------------------------- */

__attribute__((format(printf, 6, 7))) static void step_error(errlist *l, const playbook *p, size_t i,
                                                             const char *what, const char *code,
                                                             const char *fmt, ...) {
        char field[64];
        snprintf(field, sizeof(field), "steps[%zu].%s", i, what);
        char msg[sizeof(l->errs[0].message)];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        const playbook_step *s = &p->steps[i];
        unsigned line = s->at_targets.line, col = s->at_targets.col;
        if (strcmp(what, "action") == 0)
                line = s->at_action.line, col = s->at_action.col;
        else if (strcmp(what, "integration") == 0)
                line = s->at_integration.line, col = s->at_integration.col;
        else if (strcmp(what, "category") == 0)
                line = s->at_category.line, col = s->at_category.col;
        else if (strcmp(what, "duration_s") == 0)
                line = s->at_duration.line, col = s->at_duration.col;
        bw_error_set_at(errlist_next(l), p->file, line, col, code, field, "%s", msg);
}

/* Where param name of step s is: its key (for an unknown name) or its value. */
static void param_position(const playbook_step *s, const char *name, bool key, unsigned *ret_line,
                           unsigned *ret_col) {
        const json_t *at = json_object_get(s->params_at, name);
        size_t k = key ? 0 : 2;
        *ret_line = json_is_array(at) ? (unsigned)json_integer_value(json_array_get(at, k)) : s->line;
        *ret_col = json_is_array(at) ? (unsigned)json_integer_value(json_array_get(at, k + 1)) : s->col;
}

/* A step's params against its verb's table. Literals are checked as VALIDATE
 * will check them; a {from: ...} is known only at render time, but it yields a
 * string, so it may only stand for a parameter that takes one. */
static void check_params(errlist *l, const playbook *p, size_t i, const connector_verb *verb) {
        const playbook_step *s = &p->steps[i];
        const char *name;
        const json_t *v;
        json_object_foreach(s->params, name, v) {
                char field[sizeof(l->errs[0].field)];
                snprintf(field, sizeof(field), "steps[%zu].params.%s", i, name);
                const setting_spec *spec = setting_spec_find(verb->params, name);
                unsigned line, col;
                param_position(s, name, !spec, &line, &col);
                if (!spec) {
                        char known[256];
                        setting_spec_names(verb->params, known, sizeof(known));
                        bw_error_set_at(errlist_next(l), p->file, line, col, "unknown_param", field,
                                        "not a parameter of %s.%s (it takes: %s)", s->connector, s->verb,
                                        known);
                        continue;
                }
                if (json_is_object(v)) {
                        if (spec->type != SETTING_STRING && spec->type != SETTING_SCALAR)
                                bw_error_set_at(errlist_next(l), p->file, line, col, "wrong_type", field,
                                                "{from: ...} yields a string; %s takes a value of type %s",
                                                name, setting_type_name(spec->type));
                        continue;
                }
                bw_error e;
                if (setting_value_check(spec, v, field, &e) < 0)
                        bw_error_set_at(errlist_next(l), p->file, line, col, e.code, field, "%s", e.message);
        }
        for (const setting_spec *spec = verb->params; spec->name; spec++) {
                if (!spec->required || strcmp(spec->name, SETTING_ANY_NAME) == 0 ||
                    json_object_get(s->params, spec->name))
                        continue;
                char field[sizeof(l->errs[0].field)];
                snprintf(field, sizeof(field), "steps[%zu].params.%s", i, spec->name);
                bw_error_set_at(errlist_next(l), p->file, s->line, s->col, "missing", field,
                                "%s.%s requires it", s->connector, s->verb);
        }
}

static void check_step(errlist *l, const playbook *p, size_t i, const bw_config *cfg) {
        const playbook_step *s = &p->steps[i];
        const integration_config *ic = config_integration_find(cfg, s->integration);
        if (!ic) {
                step_error(l, p, i, "integration", "unknown_integration",
                           "no integration named '%s' in the configuration", s->integration);
                return;
        }
        if (strcmp(ic->kind, s->connector) != 0) {
                step_error(l, p, i, "action", "kind_mismatch", "integration '%s' is of kind '%s', not '%s'",
                           ic->name, ic->kind, s->connector);
                return;
        }
        const connector_kind *kind = connector_kind_find(ic->kind);
        const connector_verb *verb = kind ? connector_verb_find(kind, s->verb) : NULL;
        if (!verb) {
                step_error(l, p, i, "action", "unknown_verb", "connector '%s' has no verb '%s'",
                           s->connector, s->verb);
                return;
        }
        check_params(l, p, i, verb);
        if (s->category[0] && !approval_policy_has_category(&cfg->governor.approvals, s->category))
                step_error(l, p, i, "category", "unknown_category",
                           "'%s' is not a built-in category nor one listed in approvals.categories",
                           s->category);
        /* The engine reverts an expiring action through its rollback. */
        if (s->duration_s > 0 && !connector_action_reversible(kind, ic->settings, s->verb))
                step_error(l, p, i, "duration_s", "not_reversible",
                           "%s.%s on integration '%s' cannot be rolled back, so it cannot expire",
                           s->connector, s->verb, ic->name);
        target_kind tk = s->has_targets ? template_kind(&s->targets) : TARGET_NONE;
        if (!governor_targets_typed(tk, kind->inert)) {
                step_error(l, p, i, "targets", "untyped",
                           "%s.%s changes a system: its targets must be declared ip, account or host, not "
                           "string (the governor cannot judge a string)",
                           s->connector, s->verb);
                return;
        }
        if (verb->target_kinds & (1u << tk))
                return;
        if (tk == TARGET_NONE)
                step_error(l, p, i, "targets", "bad_target_kind", "%s.%s needs targets", s->connector,
                           s->verb);
        else
                step_error(l, p, i, "targets", "bad_target_kind", "%s.%s does not accept %s targets",
                           s->connector, s->verb, target_kind_name(tk));
}

static void check_playbook(errlist *l, const playbook *p, const bw_config *cfg) {
        for (size_t i = 0; i < p->n_steps; i++)
                check_step(l, p, i, cfg);
}

int playbook_check(const playbook *p, const bw_config *cfg, bw_error *errs, size_t max_errs,
                   size_t *ret_nerrs) {
        errlist l = {.errs = errs, .max = max_errs};
        check_playbook(&l, p, cfg);
        *ret_nerrs = l.n;
        return l.failed ? -EINVAL : 0;
}

/* --- Directory loading ----------------------------------------------------- */

size_t playbook_set_files(const playbook_set *s) {
        return s ? s->n_files : 0;
}

void playbook_set_free(playbook_set *s) {
        if (!s)
                return;
        for (size_t i = 0; i < s->n; i++)
                playbook_free(s->items[i]);
        free(s->items);
        free(s);
}

static bool is_playbook_name(const char *name) {
        size_t len = strlen(name);
        /* Hidden files are editors' swap and backup files, not playbooks. */
        if (name[0] == '.')
                return false;
        return (len > 5 && strcmp(name + len - 5, ".yaml") == 0) ||
               (len > 4 && strcmp(name + len - 4, ".yml") == 0);
}

static int name_cmp(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static void names_free(char **names, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
}

/* The sorted names of the playbook files of dir. */
static int list_files(const char *dir, errlist *l, char ***ret, size_t *ret_n) {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *dh = dfd >= 0 ? fdopendir(dfd) : NULL;
        if (!dh) {
                int r = -errno;
                if (dfd >= 0)
                        close(dfd);
                return r;
        }
        char **names = calloc(BW_PLAYBOOKS_MAX, sizeof(*names));
        size_t n = 0;
        int r = names ? 0 : -ENOMEM;
        struct dirent *de;
        while (r == 0 && (de = readdir(dh))) {
                if (!is_playbook_name(de->d_name))
                        continue;
                /* Regular files only (a FIFO would block the read); symlinks to
                 * regular files count. The directory is the administrator's. */
                struct stat st;
                if (fstatat(dfd, de->d_name, &st, 0) < 0 || !S_ISREG(st.st_mode))
                        continue;
                if (n == BW_PLAYBOOKS_MAX) {
                        bw_error_set_at(errlist_next(l), dir, 0, 0, "too_large", NULL,
                                        "more than %u playbook files; the rest are ignored",
                                        BW_PLAYBOOKS_MAX);
                        break;
                }
                names[n] = strdup(de->d_name);
                r = names[n] ? 0 : -ENOMEM;
                n += r == 0;
        }
        closedir(dh);
        if (r < 0) {
                names_free(names, n);
                return r;
        }
        qsort(names, n, sizeof(*names), name_cmp);
        *ret = names;
        *ret_n = n;
        return 0;
}

/* Where `name:` is in a file that parsed, for the duplicate-name error. */
static void name_position(const char *data, size_t len, unsigned *ret_line, unsigned *ret_col) {
        yamldoc *d = NULL;
        *ret_line = 1;
        *ret_col = 1;
        if (yamldoc_load(data, len, NULL, &d, NULL) < 0)
                return;
        yaml_node_t *n = yamldoc_map_get(d, yamldoc_root(d), "name");
        if (n) {
                *ret_line = (unsigned)n->start_mark.line + 1;
                *ret_col = (unsigned)n->start_mark.column + 1;
        }
        yamldoc_free(d);
}

/* Reads, parses and checks one file; a playbook that passes joins s. */
static int load_one(const char *path, const bw_config *cfg, playbook_set *s, errlist *l) {
        char *data = NULL;
        size_t len = 0;
        int r = file_read_all(path, BW_PLAYBOOK_FILE_MAX, &data, &len);
        if (r == -EFBIG) {
                bw_error_set_at(errlist_next(l), path, 0, 0, "too_large", NULL, "larger than %u bytes",
                                BW_PLAYBOOK_FILE_MAX);
                return 0;
        }
        if (r < 0) {
                bw_error_set_at(errlist_next(l), path, 0, 0, "unreadable", NULL, "%s", strerror(-r));
                return r == -ENOMEM ? r : 0;
        }
        playbook *p = NULL;
        bw_error e;
        r = playbook_parse(data, len, path, &p, &e);
        if (r == -EINVAL) {
                bw_error *slot = errlist_next(l);
                if (slot)
                        *slot = e;
        }
        bool ok = r == 0;
        for (size_t i = 0; ok && i < s->n; i++) {
                if (strcmp(s->items[i]->name, p->name) != 0)
                        continue;
                unsigned line, col;
                name_position(data, len, &line, &col);
                bw_error_set_at(errlist_next(l), path, line, col, "duplicate", "name",
                                "playbook name '%s' is already used by %s", p->name, s->items[i]->file);
                ok = false;
        }
        free(data);
        if (ok && cfg) {
                bool failed = l->failed;
                l->failed = false;
                check_playbook(l, p, cfg);
                ok = !l->failed;
                l->failed = l->failed || failed;
        }
        if (ok)
                s->items[s->n++] = p;
        else
                playbook_free(p);
        return r == -EINVAL ? 0 : r;
}

int playbook_set_load(const char *dir, const bw_config *cfg, playbook_set **ret, bw_error *errs,
                      size_t max_errs, size_t *ret_nerrs) {
        errlist l = {.errs = errs, .max = max_errs};
        playbook_set *s = NULL;
        char **names = NULL;
        size_t n = 0;
        int r = list_files(dir, &l, &names, &n);
        if (r < 0) {
                bw_error_set_at(errlist_next(&l), dir, 0, 0, "unreadable", NULL, "%s", strerror(-r));
                goto out;
        }
        s = calloc(1, sizeof(*s));
        if (s && n > 0)
                s->items = calloc(n, sizeof(*s->items));
        if (!s || (n > 0 && !s->items)) {
                r = -ENOMEM;
                goto out;
        }
        s->n_files = n;
        for (size_t i = 0; r == 0 && i < n; i++) {
                char path[PATH_MAX];
                size_t dlen = strlen(dir);
                int w = snprintf(path, sizeof(path), "%s%s%s", dir, dlen && dir[dlen - 1] == '/' ? "" : "/",
                                 names[i]);
                if (w < 0 || (size_t)w >= sizeof(path)) {
                        bw_error_set_at(errlist_next(&l), names[i], 0, 0, "too_large", NULL,
                                        "path too long");
                        continue;
                }
                r = load_one(path, cfg, s, &l);
        }
        if (r == 0 && l.failed)
                r = -EINVAL;
out:
        names_free(names, n);
        *ret_nerrs = l.n;
        if (r == 0 || r == -EINVAL) {
                *ret = s;
                return r;
        }
        playbook_set_free(s);
        return r;
}
