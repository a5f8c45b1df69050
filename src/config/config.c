/* SPDX-License-Identifier: Apache-2.0 */
/* bulwark.yaml into a validated bw_config (see config.h); the file is untrusted.
 * Runs in the daemon's parent at start-up and in the CLI. */
#include "config/config.h"
#include "config/approvals_config.h"
#include "config/governor_config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sodium.h>
#include <string.h>
#include <unistd.h>

#include "connectors/connector.h"
#include "core/limits.h"
#include "util/accounts.h"
#include "util/fileio.h"
#include "util/strutil.h"
#include "core/yamldoc.h"

#define CONFIG_NAME_EXTRA "._-"
#define CONFIG_DEFAULT_LISTEN_ADDRESS "127.0.0.1"
#define CONFIG_DEFAULT_LISTEN_PORT 8080
#define CONFIG_DEFAULT_DATA_DIR "/var/lib/bulwark"
#define CONFIG_DEFAULT_STORE_FILE "bulwark.db"

static const char *const config_keys[] = {"listen",       "data_dir", "store",        "workers",
                                          "queue",        "api",      "playbook_dir", "log_level",
                                          "integrations", "governor", "approvals",    NULL};
enum {
        CK_LISTEN,
        CK_DATA_DIR,
        CK_STORE,
        CK_WORKERS,
        CK_QUEUE,
        CK_API,
        CK_PLAYBOOK_DIR,
        CK_LOG_LEVEL,
        CK_INTEGRATIONS,
        CK_GOVERNOR,
        CK_APPROVALS,
        _CK_MAX
};

static const char *const store_keys[] = {"backend", "path", NULL};
enum { SK_BACKEND, SK_PATH, _SK_MAX };

static const char *const queue_keys[] = {"capacity", NULL};

static const char *const api_keys[] = {"token_file", "max_alert_body", "actor", "actors", NULL};
enum { AK_TOKEN_FILE, AK_MAX_ALERT_BODY, AK_ACTOR, AK_ACTORS, _AK_MAX };

static const char *const actor_keys[] = {"name", "token_file", "roles", NULL};

const char *const actor_role_names[_ROLE_MAX] = {[ROLE_INGEST] = "ingest",
                                                 [ROLE_ANALYST] = "analyst",
                                                 [ROLE_APPROVER] = "approver",
                                                 [ROLE_ADMIN] = "admin"};

static int role_one(yamldoc *d, size_t index, yaml_node_t *item, const char *path, void *userdata,
                    bw_error *err) {
        unsigned *roles = userdata;
        char name[16];
        int r = yamldoc_get_name(d, item, path, sizeof(name) - 1, NULL, name, sizeof(name), err);
        for (unsigned k = 0; r == 0 && k < _ROLE_MAX; k++)
                if (strcmp(name, actor_role_names[k]) == 0) {
                        *roles |= 1u << k;
                        return 0;
                }
        return r < 0 ? r
                     : yamldoc_error(d, item, err, "invalid", path,
                                     "must be ingest, analyst, approver or admin");
}

/* A worker's uid (also its gid) must be no account's or group's of the host:
 * sharing one would let that account reach the worker, or the worker its
 * files. */
static int uid_unowned(const yamldoc *d, const yaml_node_t *at, const char *field, unsigned uid,
                       bw_error *err) {
        char name[64];
        const char *owner = host_id_owner(uid, name, sizeof(name));
        if (!owner)
                return 0;
        return yamldoc_error(d, at, err, "taken", field,
                             "%s %u is the host %s '%s': a worker needs an id no %s has",
                             owner[0] == 'a' ? "uid" : "gid", uid, owner, name, owner);
}

static const char *const integration_keys[] = {"name",     "kind",    "timeout_ms", "uid",
                                               "settings", "staging", NULL};
enum { IK_NAME, IK_KIND, IK_TIMEOUT_MS, IK_UID, IK_SETTINGS, IK_STAGING, _IK_MAX };

static const char *const staging_keys[] = {"verb", "targets", NULL};

static const char *const log_levels[] = {"debug", "info", "warn", "error", NULL};

typedef struct config_ctx {
        bw_config *cfg;
        char base_dir[PATH_MAX]; /* absolute directory of the configuration file */
} config_ctx;

/* --- Paths ----------------------------------------------------------------- */

static int base_dir_of(const char *filename, char *out, size_t outlen) {
        char dir[PATH_MAX] = ".";
        const char *slash = filename ? strrchr(filename, '/') : NULL;
        if (slash) {
                size_t n = slash == filename ? 1 : (size_t)(slash - filename);
                if (n >= sizeof(dir))
                        return -ENAMETOOLONG;
                memcpy(dir, filename, n);
                dir[n] = '\0';
        }
        if (dir[0] == '/')
                return str_copy(out, outlen, dir);
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof(cwd)))
                return -errno;
        int n = strcmp(dir, ".") == 0 ? snprintf(out, outlen, "%s", cwd)
                                      : snprintf(out, outlen, "%s/%s", cwd, dir);
        return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

/* rel made absolute against base ("./" prefixes dropped); absolute paths as given. */
static int path_resolve(const char *base, const char *rel, char *out, size_t outlen) {
        if (rel[0] == '/')
                return str_copy(out, outlen, rel);
        while (rel[0] == '.' && rel[1] == '/')
                rel += 2 + strspn(rel + 2, "/");
        bool root = strcmp(base, "/") == 0;
        int n = rel[0] == '\0' || strcmp(rel, ".") == 0
                        ? snprintf(out, outlen, "%s", base)
                        : snprintf(out, outlen, "%s/%s", root ? "" : base, rel);
        return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

static int get_path(yamldoc *d, const yaml_node_t *node, const char *path, const char *base, char *out,
                    size_t outlen, bw_error *err) {
        char rel[PATH_MAX];
        int r = yamldoc_get_text(d, node, path, 1, sizeof(rel) - 1, rel, sizeof(rel), err);
        if (r < 0)
                return r;
        if (path_resolve(base, rel, out, outlen) < 0)
                return yamldoc_error(d, node, err, "out_of_range", path,
                                     "the resolved path is longer than %zu bytes", outlen - 1);
        return 0;
}

/* --- Scalars --------------------------------------------------------------- */

/* 127.0.0.0/8, ::1, or ::ffff:127.0.0.0/104. */
static bool address_is_loopback(int family, const unsigned char *a) {
        static const unsigned char v6_loopback[16] = {[15] = 1};
        static const unsigned char v4_mapped[12] = {[10] = 0xff, [11] = 0xff};
        if (family == AF_INET)
                return a[0] == 127;
        return memcmp(a, v6_loopback, 16) == 0 || (memcmp(a, v4_mapped, 12) == 0 && a[12] == 127);
}

/* "127.0.0.1:8080" or "[::1]:8080"; names are refused so the daemon never
 * resolves anything at start-up. -EINVAL for anything else, -EPERM for an
 * address beyond loopback (plain HTTP there would carry tokens in clear). */
static int parse_listen(const char *s, char *ret_addr, size_t addrlen, uint16_t *ret_port) {
        char host[INET6_ADDRSTRLEN];
        const char *port;
        int family;
        if (s[0] == '[') {
                const char *end = strstr(s, "]:");
                if (!end || (size_t)(end - s - 1) >= sizeof(host))
                        return -EINVAL;
                memcpy(host, s + 1, (size_t)(end - s - 1));
                host[end - s - 1] = '\0';
                port = end + 2;
                family = AF_INET6;
        } else {
                const char *colon = strrchr(s, ':');
                if (!colon || (size_t)(colon - s) >= sizeof(host))
                        return -EINVAL;
                memcpy(host, s, (size_t)(colon - s));
                host[colon - s] = '\0';
                port = colon + 1;
                family = AF_INET;
        }
        unsigned char bin[16];
        int64_t p;
        if (inet_pton(family, host, bin) != 1 || strspn(port, "0123456789") != strlen(port) ||
            parse_int64(port, 1, 65535, &p) < 0 || !inet_ntop(family, bin, ret_addr, (socklen_t)addrlen))
                return -EINVAL;
        *ret_port = (uint16_t)p;
        return address_is_loopback(family, bin) ? 0 : -EPERM;
}

static int get_unsigned(yamldoc *d, const yaml_node_t *node, const char *path, int64_t min, int64_t max,
                        unsigned *ret, bw_error *err) {
        int64_t v;
        int r = yamldoc_get_int(d, node, path, min, max, &v, err);
        if (r < 0)
                return r;
        *ret = (unsigned)v;
        return 0;
}

/* --- Integrations ---------------------------------------------------------- */

/* The node that check_settings' field ("url", "headers[2]") names, if any. */
static yaml_node_t *settings_field_node(yamldoc *d, yaml_node_t *settings, const char *field) {
        char key[YAMLDOC_PATH_MAX];
        if (!settings || str_copy(key, sizeof(key), field) < 0)
                return NULL;
        char *bracket = strchr(key, '[');
        int64_t index = -1;
        if (bracket) {
                char *close = strchr(bracket, ']');
                if (!close || close[1] != '\0')
                        return NULL;
                *bracket = *close = '\0';
                if (parse_int64(bracket + 1, 0, INT32_MAX, &index) < 0)
                        return NULL;
        }
        yaml_node_t *n = yamldoc_map_get(d, settings, key);
        return index < 0 ? n : yamldoc_seq_get(d, n, (size_t)index);
}

/* check_settings reports a field of the settings object; point at its value. */
static int settings_check(yamldoc *d, const connector_kind *kind, yaml_node_t *settings_node,
                          const yaml_node_t *where, const char *path, const json_t *settings,
                          bw_error *err) {
        bw_error e = {0};
        int r = kind->check_settings(settings, &e);
        if (r >= 0)
                return 0;
        if (r != -EINVAL)
                return r;
        const char *field = e.field;
        if (strncmp(field, "settings.", strlen("settings.")) == 0)
                field += strlen("settings.");
        yaml_node_t *at = field[0] ? settings_field_node(d, settings_node, field) : NULL;
        char fpath[YAMLDOC_PATH_MAX];
        if (field[0])
                yamldoc_path_key(fpath, sizeof(fpath), path, field);
        else
                str_copy(fpath, sizeof(fpath), path);
        return yamldoc_error(d,
                             at              ? at
                             : settings_node ? settings_node
                                             : where,
                             err, e.code[0] ? e.code : "invalid", fpath, "%s", e.message);
}

static int kind_unknown(yamldoc *d, const yaml_node_t *node, const char *path, bw_error *err) {
        char known[160] = "";
        size_t used = 0;
        for (const connector_kind *const *k = connector_kinds(); k && *k; k++) {
                int n = snprintf(known + used, sizeof(known) - used, "%s%s", used ? ", " : "", (*k)->name);
                if (n < 0 || (size_t)n >= sizeof(known) - used)
                        break;
                used += (size_t)n;
        }
        return yamldoc_error(d, node, err, "unknown_kind", path, "not a connector kind; known: %s", known);
}

static int staging_target_one(yamldoc *d, size_t index, yaml_node_t *item, const char *path, void *userdata,
                              bw_error *err) {
        char target[BW_ACCOUNT_NAME_MAX + 1];
        int r = yamldoc_get_name(d, item, path, BW_ACCOUNT_NAME_MAX, "._-:/@", target, sizeof(target), err);
        if (r < 0)
                return r;
        return json_array_append_new(userdata, json_string(target)) < 0 ? -ENOMEM : 0;
}

/* staging: {verb, targets}: the integration is a staging one, and this is the
 * action `bulwark rollback-test` applies and rolls back on it. */
static int parse_staging(yamldoc *d, yaml_node_t *node, const char *path, const connector_kind *kind,
                         integration_config *ic, bw_error *err) {
        yaml_node_t *v[2];
        int r = yamldoc_fields(d, node, path, staging_keys, v, err);
        for (size_t k = 0; r == 0 && k < 2; k++)
                r = yamldoc_require(d, node, path, staging_keys[k], v[k], err);
        char fpath[YAMLDOC_PATH_MAX];
        yamldoc_path_key(fpath, sizeof(fpath), path, "verb");
        if (r == 0)
                r = yamldoc_get_name(d, v[0], fpath, BW_NAME_MAX, "_-", ic->staging_verb,
                                     sizeof(ic->staging_verb), err);
        if (r == 0 && !connector_verb_find(kind, ic->staging_verb))
                r = yamldoc_error(d, v[0], err, "invalid", fpath, "not a verb of %s", kind->name);
        if (r < 0)
                return r;
        ic->staging_targets = json_array();
        if (!ic->staging_targets)
                return -ENOMEM;
        yamldoc_path_key(fpath, sizeof(fpath), path, "targets");
        return yamldoc_seq_foreach(d, v[1], fpath, 1, BW_STAGING_TARGETS_MAX, staging_target_one,
                                   ic->staging_targets, err);
}

static int integration_one(yamldoc *d, size_t index, yaml_node_t *node, const char *path, void *userdata,
                           bw_error *err) {
        bw_config *cfg = userdata;
        integration_config *ic = &cfg->integrations[index];
        yaml_node_t *v[_IK_MAX];
        int r = yamldoc_fields(d, node, path, integration_keys, v, err);
        for (size_t k = IK_NAME; r == 0 && k <= IK_KIND; k++)
                r = yamldoc_require(d, node, path, integration_keys[k], v[k], err);
        if (r < 0)
                return r;
        ic->line = (unsigned)node->start_mark.line + 1;
        ic->col = (unsigned)node->start_mark.column + 1;
        ic->timeout_ms = BW_CONNECTOR_TIMEOUT_MS_DEFAULT;

        char fpath[YAMLDOC_PATH_MAX];
        yamldoc_path_key(fpath, sizeof(fpath), path, "name");
        r = yamldoc_get_name(d, v[IK_NAME], fpath, BW_NAME_MAX, CONFIG_NAME_EXTRA, ic->name,
                             sizeof(ic->name), err);
        if (r < 0)
                return r;
        for (size_t j = 0; j < index; j++)
                if (strcmp(cfg->integrations[j].name, ic->name) == 0)
                        return yamldoc_error(d, v[IK_NAME], err, "duplicate", fpath,
                                             "integration name already used by integrations[%zu]", j);

        yamldoc_path_key(fpath, sizeof(fpath), path, "kind");
        r = yamldoc_get_name(d, v[IK_KIND], fpath, BW_NAME_MAX, CONFIG_NAME_EXTRA, ic->kind,
                             sizeof(ic->kind), err);
        if (r < 0)
                return r;
        const connector_kind *kind = connector_kind_find(ic->kind);
        if (!kind)
                return kind_unknown(d, v[IK_KIND], fpath, err);

        if (v[IK_TIMEOUT_MS]) {
                yamldoc_path_key(fpath, sizeof(fpath), path, "timeout_ms");
                r = get_unsigned(d, v[IK_TIMEOUT_MS], fpath, 1, BW_CONNECTOR_TIMEOUT_MS_MAX, &ic->timeout_ms,
                                 err);
                if (r < 0)
                        return r;
        }

        /* Its worker's own user: BW_WORKER_UID_BASE + its index unless set. */
        ic->uid = BW_WORKER_UID_BASE + (unsigned)index;
        if (v[IK_UID]) {
                yamldoc_path_key(fpath, sizeof(fpath), path, "uid");
                r = get_unsigned(d, v[IK_UID], fpath, 1, BW_WORKER_UID_MAX, &ic->uid, err);
                if (r < 0)
                        return r;
        }
        for (size_t j = 0; j < index; j++)
                if (cfg->integrations[j].uid == ic->uid)
                        return yamldoc_error(
                                d, v[IK_UID] ? v[IK_UID] : node, err, "duplicate", v[IK_UID] ? fpath : path,
                                "uid %u is integrations[%zu]'s: each worker has its own", ic->uid, j);
        if (ic->uid == BW_API_UID)
                return yamldoc_error(
                        d, v[IK_UID] ? v[IK_UID] : node, err, "reserved", v[IK_UID] ? fpath : path,
                        "uid %u is the api process's (BW_API_UID): each worker has its own", ic->uid);
        r = uid_unowned(d, v[IK_UID] ? v[IK_UID] : node, v[IK_UID] ? fpath : path, ic->uid, err);
        if (r < 0)
                return r;

        yamldoc_path_key(fpath, sizeof(fpath), path, "settings");
        json_t *settings = NULL;
        r = yamldoc_settings_to_json(d, v[IK_SETTINGS], node, fpath, kind->settings, &settings, err);
        if (r < 0)
                return r;
        if (kind->check_settings)
                r = settings_check(d, kind, v[IK_SETTINGS], node, fpath, settings, err);
        if (r < 0) {
                json_decref(settings);
                return r;
        }
        ic->settings = settings;
        /* Counted once it owns memory, so config_free releases it. */
        cfg->n_integrations = index + 1;
        if (v[IK_STAGING]) {
                yamldoc_path_key(fpath, sizeof(fpath), path, "staging");
                r = parse_staging(d, v[IK_STAGING], fpath, kind, ic, err);
        }
        return r;
}

static int parse_integrations(yamldoc *d, yaml_node_t *node, bw_config *cfg, bw_error *err) {
        size_t n = node->type == YAML_SEQUENCE_NODE
                           ? (size_t)(node->data.sequence.items.top - node->data.sequence.items.start)
                           : 0;
        if (n > 0 && n <= BW_INTEGRATIONS_MAX) {
                cfg->integrations = calloc(n, sizeof(*cfg->integrations));
                if (!cfg->integrations)
                        return -ENOMEM;
        }
        return yamldoc_seq_foreach(d, node, "integrations", 0, BW_INTEGRATIONS_MAX, integration_one, cfg,
                                   err);
}

/* --- Sections -------------------------------------------------------------- */

static int parse_store(yamldoc *d, yaml_node_t *node, bw_config *cfg, bw_error *err) {
        yaml_node_t *v[_SK_MAX] = {0};
        int r = node ? yamldoc_fields(d, node, "store", store_keys, v, err) : 0;
        if (r < 0)
                return r;
        str_copy(cfg->store_backend, sizeof(cfg->store_backend), "sqlite");
        if (v[SK_BACKEND]) {
                char backend[sizeof(cfg->store_backend)];
                r = yamldoc_get_name(d, v[SK_BACKEND], "store.backend", sizeof(backend) - 1, NULL, backend,
                                     sizeof(backend), err);
                if (r < 0)
                        return r;
                if (strcmp(backend, "sqlite") != 0)
                        return yamldoc_error(d, v[SK_BACKEND], err, "invalid", "store.backend",
                                             "the only backend is sqlite");
        }
        /* A relative store path lives under data_dir, not next to the configuration. */
        if (v[SK_PATH])
                return get_path(d, v[SK_PATH], "store.path", cfg->data_dir, cfg->store_path,
                                sizeof(cfg->store_path), err);
        if (path_resolve(cfg->data_dir, CONFIG_DEFAULT_STORE_FILE, cfg->store_path,
                         sizeof(cfg->store_path)) < 0)
                return yamldoc_error(d, node, err, "out_of_range", "store.path", "data_dir is too long");
        return 0;
}

static int actor_one(yamldoc *d, size_t index, yaml_node_t *node, const char *path, void *userdata,
                     bw_error *err) {
        config_ctx *c = userdata;
        actor_config *a = &c->cfg->actors[index];
        yaml_node_t *v[3];
        int r = yamldoc_fields(d, node, path, actor_keys, v, err);
        for (size_t k = 0; r == 0 && k < 2; k++)
                r = yamldoc_require(d, node, path, actor_keys[k], v[k], err);
        char fpath[YAMLDOC_PATH_MAX];
        yamldoc_path_key(fpath, sizeof(fpath), path, "name");
        if (r == 0)
                r = yamldoc_get_actor(d, v[0], fpath, a->name, sizeof(a->name), err);
        if (r < 0)
                return r;
        bool taken = strcmp(a->name, c->cfg->token_actor) == 0;
        for (size_t j = 0; j < index; j++)
                taken = taken || strcmp(c->cfg->actors[j].name, a->name) == 0;
        if (taken)
                return yamldoc_error(d, v[0], err, "duplicate", fpath, "actor name already used");
        yamldoc_path_key(fpath, sizeof(fpath), path, "token_file");
        r = get_path(d, v[1], fpath, c->base_dir, a->token_file, sizeof(a->token_file), err);
        /* Without roles an actor only reads: every other right is given by name. */
        yamldoc_path_key(fpath, sizeof(fpath), path, "roles");
        if (r == 0 && v[2])
                r = yamldoc_seq_foreach(d, v[2], fpath, 0, _ROLE_MAX, role_one, &a->roles, err);
        if (r == 0)
                c->cfg->n_actors = index + 1;
        return r;
}

static int parse_actors(yamldoc *d, yaml_node_t *node, config_ctx *c, bw_error *err) {
        size_t n = node->type == YAML_SEQUENCE_NODE
                           ? (size_t)(node->data.sequence.items.top - node->data.sequence.items.start)
                           : 0;
        if (n > 0 && n <= BW_ACTORS_MAX) {
                c->cfg->actors = calloc(n, sizeof(*c->cfg->actors));
                if (!c->cfg->actors)
                        return -ENOMEM;
        }
        return yamldoc_seq_foreach(d, node, "api.actors", 0, BW_ACTORS_MAX, actor_one, c, err);
}

static int parse_api(yamldoc *d, yaml_node_t *node, yaml_node_t *root, config_ctx *c, bw_error *err) {
        yaml_node_t *v[_AK_MAX] = {0};
        int r = node ? yamldoc_fields(d, node, "api", api_keys, v, err) : 0;
        if (r < 0)
                return r;
        r = yamldoc_require(d, node ? node : root, "api", "token_file", v[AK_TOKEN_FILE], err);
        if (r < 0)
                return r;
        r = get_path(d, v[AK_TOKEN_FILE], "api.token_file", c->base_dir, c->cfg->token_file,
                     sizeof(c->cfg->token_file), err);
        if (r < 0)
                return r;
        c->cfg->alert_body_max = BW_ALERT_BODY_MAX_DEFAULT;
        if (v[AK_MAX_ALERT_BODY])
                r = get_unsigned(d, v[AK_MAX_ALERT_BODY], "api.max_alert_body", BW_ALERT_BODY_MAX_FLOOR,
                                 BW_ALERT_BODY_MAX_CEILING, &c->cfg->alert_body_max, err);
        str_copy(c->cfg->token_actor, sizeof(c->cfg->token_actor), "admin");
        if (r == 0 && v[AK_ACTOR])
                r = yamldoc_get_actor(d, v[AK_ACTOR], "api.actor", c->cfg->token_actor,
                                      sizeof(c->cfg->token_actor), err);
        if (r == 0 && v[AK_ACTORS])
                r = parse_actors(d, v[AK_ACTORS], c, err);
        return r;
}

static int parse_log_level(yamldoc *d, yaml_node_t *node, bw_config *cfg, bw_error *err) {
        str_copy(cfg->log_level, sizeof(cfg->log_level), "info");
        if (!node)
                return 0;
        char level[sizeof(cfg->log_level)];
        int r = yamldoc_get_name(d, node, "log_level", sizeof(level) - 1, NULL, level, sizeof(level), err);
        for (size_t i = 0; r == 0 && log_levels[i]; i++)
                if (strcmp(level, log_levels[i]) == 0)
                        return str_copy(cfg->log_level, sizeof(cfg->log_level), level);
        return r < 0 ? r
                     : yamldoc_error(d, node, err, "invalid", "log_level",
                                     "must be debug, info, warn or error");
}

static int config_from_doc(yamldoc *d, config_ctx *c, bw_error *err) {
        bw_config *cfg = c->cfg;
        yaml_node_t *root = yamldoc_root(d);
        yaml_node_t *v[_CK_MAX];
        int r = yamldoc_fields(d, root, "", config_keys, v, err);
        if (r < 0)
                return r;

        str_copy(cfg->listen_address, sizeof(cfg->listen_address), CONFIG_DEFAULT_LISTEN_ADDRESS);
        cfg->listen_port = CONFIG_DEFAULT_LISTEN_PORT;
        if (v[CK_LISTEN]) {
                char listen[64];
                r = yamldoc_get_text(d, v[CK_LISTEN], "listen", 1, sizeof(listen) - 1, listen,
                                     sizeof(listen), err);
                if (r < 0)
                        return r;
                r = parse_listen(listen, cfg->listen_address, sizeof(cfg->listen_address), &cfg->listen_port);
                if (r == -EPERM)
                        return yamldoc_error(d, v[CK_LISTEN], err, "insecure", "listen",
                                             "%s is not loopback and the API speaks plain HTTP (tokens in "
                                             "clear): listen on 127.0.0.1 or [::1], behind a TLS proxy on "
                                             "this host for remote clients",
                                             cfg->listen_address);
                if (r < 0)
                        return yamldoc_error(
                                d, v[CK_LISTEN], err, "invalid", "listen",
                                "expected <IPv4>:<port> or [<IPv6>]:<port>, numeric, port 1..65535");
        }

        if (v[CK_DATA_DIR])
                r = get_path(d, v[CK_DATA_DIR], "data_dir", c->base_dir, cfg->data_dir,
                             sizeof(cfg->data_dir), err);
        else
                str_copy(cfg->data_dir, sizeof(cfg->data_dir), CONFIG_DEFAULT_DATA_DIR);
        if (r == 0)
                r = parse_store(d, v[CK_STORE], cfg, err);

        cfg->workers = BW_WORKERS_DEFAULT;
        if (r == 0 && v[CK_WORKERS])
                r = get_unsigned(d, v[CK_WORKERS], "workers", 1, BW_WORKERS_MAX, &cfg->workers, err);

        cfg->queue_capacity = BW_QUEUE_CAPACITY_DEFAULT;
        if (r == 0 && v[CK_QUEUE]) {
                yaml_node_t *q[1];
                r = yamldoc_fields(d, v[CK_QUEUE], "queue", queue_keys, q, err);
                if (r == 0 && q[0])
                        r = get_unsigned(d, q[0], "queue.capacity", 1, BW_QUEUE_CAPACITY_MAX,
                                         &cfg->queue_capacity, err);
        }
        if (r == 0)
                r = parse_api(d, v[CK_API], root, c, err);
        if (r == 0)
                r = yamldoc_require(d, root, "", "playbook_dir", v[CK_PLAYBOOK_DIR], err);
        if (r == 0)
                r = get_path(d, v[CK_PLAYBOOK_DIR], "playbook_dir", c->base_dir, cfg->playbook_dir,
                             sizeof(cfg->playbook_dir), err);
        if (r == 0)
                r = parse_log_level(d, v[CK_LOG_LEVEL], cfg, err);
        if (r == 0 && v[CK_INTEGRATIONS])
                r = parse_integrations(d, v[CK_INTEGRATIONS], cfg, err);
        if (r == 0)
                r = governor_config_parse(d, v[CK_GOVERNOR], cfg, err);
        if (r == 0)
                r = approvals_config_parse(d, v[CK_APPROVALS], cfg, err);
        return r;
}

int config_parse(const char *data, size_t len, const char *filename, bw_config **ret, bw_error *err) {
        if (len > BW_CONFIG_FILE_MAX)
                return bw_error_set_at(err, filename, 0, 0, "too_large", NULL, "larger than %u bytes",
                                       BW_CONFIG_FILE_MAX);
        config_ctx c = {0};
        int r = base_dir_of(filename, c.base_dir, sizeof(c.base_dir));
        if (r < 0)
                return bw_error_set_at(err, filename, 0, 0, "invalid", NULL,
                                       "cannot determine the configuration's directory: %s", strerror(-r));
        yamldoc *d = NULL;
        r = yamldoc_load(data, len, filename, &d, err);
        if (r < 0)
                return r;
        c.cfg = calloc(1, sizeof(*c.cfg));
        r = c.cfg ? governor_policy_init(&c.cfg->governor) : -ENOMEM;
        if (r == 0)
                r = config_from_doc(d, &c, err);
        yamldoc_free(d);
        if (r == 0)
                str_copy(c.cfg->file, sizeof(c.cfg->file), filename ? filename : "");
        if (r < 0) {
                config_free(c.cfg);
                return r;
        }
        *ret = c.cfg;
        return 0;
}

int config_load(const char *path, bw_config **ret, bw_error *err) {
        char *data = NULL;
        size_t len = 0;
        int r = file_read_all(path, BW_CONFIG_FILE_MAX, &data, &len);
        if (r == -EFBIG)
                bw_error_set_at(err, path, 0, 0, "too_large", NULL, "larger than %u bytes",
                                BW_CONFIG_FILE_MAX);
        else if (r < 0)
                bw_error_set_at(err, path, 0, 0, "unreadable", NULL, "%s", strerror(-r));
        if (r < 0)
                return r;
        bw_config *cfg = NULL;
        r = config_parse(data, len, path, &cfg, err);
        sodium_memzero(data, len); /* the text holds the integrations' secrets (yamldoc.c) */
        free(data);
        if (r < 0)
                return r;
        r = config_protect_own_addresses(cfg);
        if (r < 0) {
                bw_error_set_at(err, path, 0, 0, "invalid", "governor.protected.ips",
                                "the host's own addresses could not be protected: %s", strerror(-r));
                config_free(cfg);
                return -EINVAL;
        }
        *ret = cfg;
        return 0;
}

const integration_config *config_integration_find(const bw_config *c, const char *name) {
        for (size_t i = 0; c && i < c->n_integrations; i++)
                if (strcmp(c->integrations[i].name, name) == 0)
                        return &c->integrations[i];
        return NULL;
}

void config_free(bw_config *c) {
        if (!c)
                return;
        for (size_t i = 0; i < c->n_integrations; i++) {
                json_decref(c->integrations[i].settings);
                json_decref(c->integrations[i].staging_targets);
        }
        free(c->integrations);
        free(c->actors);
        governor_policy_clear(&c->governor);
        free(c);
}
