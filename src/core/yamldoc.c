/* SPDX-License-Identifier: Apache-2.0 */
/* Strict YAML documents over libyaml (see yamldoc.h); parses untrusted
 * configuration and playbook files in the parent, the engine and the CLI. */
#include "core/yamldoc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sodium.h>
#include <string.h>

#include "core/actor.h"
#include "core/limits.h"
#include "util/strutil.h"

/* Keys quoted in error paths: longer ones are cut, the path has to stay readable. */
#define YAMLDOC_KEY_SHOWN_MAX 64u

struct yamldoc {
        yaml_document_t doc;
        char file[256];
};

/* A document may hold secrets (the configuration's http headers), so every
 * copy of its text libyaml made is overwritten before it is freed: the
 * parser's buffers, each scalar event, each scalar node. A process forked
 * later (core) then finds none of it in its heap. */
static void parser_close(yaml_parser_t *p) {
        if (p->buffer.start)
                sodium_memzero(p->buffer.start, (size_t)(p->buffer.end - p->buffer.start));
        if (p->raw_buffer.start)
                sodium_memzero(p->raw_buffer.start, (size_t)(p->raw_buffer.end - p->raw_buffer.start));
        yaml_parser_delete(p);
}

void yamldoc_free(yamldoc *d) {
        if (!d)
                return;
        for (yaml_node_t *n = d->doc.nodes.start; n && n < d->doc.nodes.top; n++)
                if (n->type == YAML_SCALAR_NODE && n->data.scalar.value)
                        sodium_memzero(n->data.scalar.value, n->data.scalar.length);
        yaml_document_delete(&d->doc);
        free(d);
}

yaml_node_t *yamldoc_root(yamldoc *d) {
        return yaml_document_get_root_node(&d->doc);
}

int yamldoc_error(const yamldoc *d, const yaml_node_t *node, bw_error *err, const char *code,
                  const char *path, const char *fmt, ...) {
        char msg[sizeof(err->message)];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        unsigned line = node ? (unsigned)node->start_mark.line + 1 : 1;
        unsigned col = node ? (unsigned)node->start_mark.column + 1 : 1;
        return bw_error_set_at(err, d->file, line, col, code, path, "%s", msg);
}

static void key_shown(char *out, size_t outlen, const char *key) {
        size_t i = 0;
        for (; key[i] && i < YAMLDOC_KEY_SHOWN_MAX && i + 1 < outlen; i++) {
                unsigned char c = (unsigned char)key[i];
                out[i] = c > 0x20 && c < 0x7f ? (char)c : '?';
        }
        out[i] = '\0';
}

void yamldoc_path_key(char *out, size_t outlen, const char *parent, const char *key) {
        char shown[YAMLDOC_KEY_SHOWN_MAX + 1];
        key_shown(shown, sizeof(shown), key);
        if (parent && parent[0])
                snprintf(out, outlen, "%s.%s", parent, shown);
        else
                snprintf(out, outlen, "%s", shown);
}

void yamldoc_path_index(char *out, size_t outlen, const char *parent, size_t index) {
        snprintf(out, outlen, "%s[%zu]", parent ? parent : "", index);
}

/* Line and column (1-based) of byte offset off in data. */
static void offset_position(const char *data, size_t len, size_t off, unsigned *ret_line,
                            unsigned *ret_col) {
        unsigned line = 1, col = 1;
        for (size_t i = 0; i < off && i < len; i++) {
                if (data[i] == '\n') {
                        line++;
                        col = 1;
                } else if (((unsigned char)data[i] & 0xC0) != 0x80) {
                        col++;
                }
        }
        *ret_line = line;
        *ret_col = col;
}

static int parser_error(const yaml_parser_t *p, const char *data, size_t len, const char *file,
                        bw_error *err) {
        if (p->error == YAML_MEMORY_ERROR)
                return -ENOMEM;
        unsigned line = (unsigned)p->problem_mark.line + 1, col = (unsigned)p->problem_mark.column + 1;
        /* The reader reports a byte offset instead of a mark. */
        if (p->error == YAML_READER_ERROR)
                offset_position(data, len, p->problem_offset, &line, &col);
        return bw_error_set_at(err, file, line, col, "syntax", NULL, "%s%s%s%s",
                               p->problem ? p->problem : "syntax error", p->context ? " (" : "",
                               p->context ? p->context : "", p->context ? ")" : "");
}

static void parser_open(yaml_parser_t *p, const char *data, size_t len) {
        yaml_parser_set_input_string(p, (const unsigned char *)data, len);
        /* Never guess UTF-16 from a BOM: the files are UTF-8, checked before. */
        yaml_parser_set_encoding(p, YAML_UTF8_ENCODING);
}

/* The event pass runs before the document is built, so limits are enforced
 * before anything is allocated per node, and aliases are seen as such (the
 * document API would silently share the anchored node). */
static int yamldoc_prescan(const char *data, size_t len, const char *file, bw_error *err) {
        yaml_parser_t p;
        if (!yaml_parser_initialize(&p))
                return -ENOMEM;
        parser_open(&p, data, len);
        size_t nodes = 0, depth = 0, docs = 0;
        int r = 0;
        for (bool done = false; !done && r == 0;) {
                yaml_event_t ev;
                if (!yaml_parser_parse(&p, &ev)) {
                        r = parser_error(&p, data, len, file, err);
                        break;
                }
                unsigned line = (unsigned)ev.start_mark.line + 1, col = (unsigned)ev.start_mark.column + 1;
                const yaml_char_t *tag = NULL;
                switch (ev.type) {
                case YAML_STREAM_END_EVENT:
                        done = true;
                        break;
                case YAML_DOCUMENT_START_EVENT:
                        if (++docs > 1)
                                r = bw_error_set_at(err, file, line, col, "invalid", NULL,
                                                    "only one YAML document is allowed");
                        break;
                case YAML_ALIAS_EVENT:
                        r = bw_error_set_at(err, file, line, col, "invalid", NULL,
                                            "aliases are not allowed");
                        break;
                case YAML_SCALAR_EVENT:
                        nodes++;
                        tag = ev.data.scalar.tag;
                        break;
                case YAML_SEQUENCE_START_EVENT:
                        nodes++;
                        depth++;
                        tag = ev.data.sequence_start.tag;
                        break;
                case YAML_MAPPING_START_EVENT:
                        nodes++;
                        depth++;
                        tag = ev.data.mapping_start.tag;
                        break;
                case YAML_SEQUENCE_END_EVENT:
                case YAML_MAPPING_END_EVENT:
                        depth--;
                        break;
                default:
                        break;
                }
                /* Explicit tags would let a file pick types the schema did not ask for. */
                if (r == 0 && tag)
                        r = bw_error_set_at(err, file, line, col, "invalid", NULL,
                                            "explicit tags are not allowed");
                if (r == 0 && depth > BW_YAML_MAX_DEPTH)
                        r = bw_error_set_at(err, file, line, col, "too_deep", NULL,
                                            "nesting deeper than %u levels", BW_YAML_MAX_DEPTH);
                if (r == 0 && nodes > BW_YAML_MAX_NODES)
                        r = bw_error_set_at(err, file, line, col, "too_large", NULL,
                                            "more than %u YAML nodes", BW_YAML_MAX_NODES);
                if (ev.type == YAML_SCALAR_EVENT && ev.data.scalar.value)
                        sodium_memzero(ev.data.scalar.value, ev.data.scalar.length);
                yaml_event_delete(&ev);
        }
        parser_close(&p);
        return r;
}

int yamldoc_load(const char *data, size_t len, const char *file, yamldoc **ret, bw_error *err) {
        const char *fname = file ? file : "";
        if (!utf8_valid(data, len))
                return bw_error_set_at(err, fname, 0, 0, "bad_utf8", NULL,
                                       "the file is not valid UTF-8 or contains a NUL byte");
        int r = yamldoc_prescan(data, len, fname, err);
        if (r < 0)
                return r;

        yamldoc *d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        str_copy(d->file, sizeof(d->file), fname);
        yaml_parser_t p;
        if (!yaml_parser_initialize(&p)) {
                free(d);
                return -ENOMEM;
        }
        parser_open(&p, data, len);
        if (!yaml_parser_load(&p, &d->doc)) {
                /* libyaml has already released the partial document. */
                r = parser_error(&p, data, len, fname, err);
                parser_close(&p);
                free(d);
                return r;
        }
        parser_close(&p);
        if (!yamldoc_root(d)) {
                yamldoc_free(d);
                return bw_error_set_at(err, fname, 1, 1, "invalid", NULL, "the document is empty");
        }
        *ret = d;
        return 0;
}

bool yamldoc_is_null(const yaml_node_t *node) {
        if (!node || node->type != YAML_SCALAR_NODE || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
                return false;
        static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
        const char *v = (const char *)node->data.scalar.value;
        for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
                if (node->data.scalar.length == strlen(nulls[i]) && strcmp(v, nulls[i]) == 0)
                        return true;
        return false;
}

static const char *node_kind(const yaml_node_t *node) {
        switch (node->type) {
        case YAML_SCALAR_NODE:
                return yamldoc_is_null(node) ? "null" : "a scalar";
        case YAML_SEQUENCE_NODE:
                return "a list";
        case YAML_MAPPING_NODE:
                return "a mapping";
        default:
                return "nothing";
        }
}

bool yamldoc_text_valid(const char *s, size_t len) {
        if (!utf8_valid(s, len))
                return false;
        const unsigned char *u = (const unsigned char *)s;
        for (size_t i = 0; i < len; i++) {
                if (u[i] < 0x20 || u[i] == 0x7f)
                        return false;
                /* C1 controls U+0080..U+009F are encoded C2 80..C2 9F. */
                if (u[i] == 0xC2 && i + 1 < len && u[i + 1] <= 0x9F)
                        return false;
        }
        return true;
}

int yamldoc_get_string(const yamldoc *d, const yaml_node_t *node, const char *path, size_t min, size_t max,
                       const char **ret, size_t *ret_len, bw_error *err) {
        if (node->type != YAML_SCALAR_NODE || yamldoc_is_null(node))
                return yamldoc_error(d, node, err, "wrong_type", path, "expected a string, got %s",
                                     node_kind(node));
        const char *v = (const char *)node->data.scalar.value;
        size_t len = node->data.scalar.length;
        if (!utf8_valid(v, len))
                return yamldoc_error(d, node, err, "bad_utf8", path, "not valid UTF-8 or contains NUL");
        if (len < min || len > max)
                return yamldoc_error(d, node, err, "out_of_range", path,
                                     "length %zu is outside [%zu, %zu] bytes", len, min, max);
        *ret = v;
        if (ret_len)
                *ret_len = len;
        return 0;
}

static int copy_out(const char *s, size_t len, char *out, size_t outlen) {
        if (len >= outlen)
                return -ENAMETOOLONG;
        memcpy(out, s, len);
        out[len] = '\0';
        return 0;
}

int yamldoc_get_name(const yamldoc *d, const yaml_node_t *node, const char *path, size_t max,
                     const char *extra, char *out, size_t outlen, bw_error *err) {
        const char *s;
        size_t len;
        int r = yamldoc_get_string(d, node, path, 1, max, &s, &len, err);
        if (r < 0)
                return r;
        if (!str_charset_ok(s, len, max, extra))
                return yamldoc_error(d, node, err, "bad_charset", path, "only [A-Za-z0-9%s] is allowed",
                                     extra ? extra : "");
        return copy_out(s, len, out, outlen);
}

int yamldoc_get_actor(const yamldoc *d, const yaml_node_t *node, const char *path, char *out, size_t outlen,
                      bw_error *err) {
        char name[BW_NAME_MAX + 1];
        int r = yamldoc_get_name(d, node, path, BW_NAME_MAX, ACTOR_NAME_EXTRA, name, sizeof(name), err);
        if (r < 0)
                return r;
        if (actor_name_reserved(name)) {
                char list[128];
                actor_reserved_text(list, sizeof(list));
                return yamldoc_error(d, node, err, "reserved", path,
                                     "'%s' is reserved for Bulwark's own records (reserved: %s)", name,
                                     list);
        }
        return str_copy(out, outlen, name) < 0
                       ? yamldoc_error(d, node, err, "out_of_range", path, "too long")
                       : 0;
}

int yamldoc_get_text(const yamldoc *d, const yaml_node_t *node, const char *path, size_t min, size_t max,
                     char *out, size_t outlen, bw_error *err) {
        const char *s;
        size_t len;
        int r = yamldoc_get_string(d, node, path, min, max, &s, &len, err);
        if (r < 0)
                return r;
        if (!yamldoc_text_valid(s, len))
                return yamldoc_error(d, node, err, "bad_charset", path,
                                     "control characters are not allowed");
        return copy_out(s, len, out, outlen);
}

static bool is_plain_scalar(const yaml_node_t *node) {
        return node->type == YAML_SCALAR_NODE && node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
               !yamldoc_is_null(node);
}

int yamldoc_get_int(const yamldoc *d, const yaml_node_t *node, const char *path, int64_t min, int64_t max,
                    int64_t *ret, bw_error *err) {
        if (!is_plain_scalar(node))
                return yamldoc_error(d, node, err, "wrong_type", path, "expected an integer, got %s",
                                     node_kind(node));
        /* Only an optional '-' and digits: strtoll would also skip leading
         * whitespace. Plain scalars hold no escapes, so there is no NUL inside. */
        const char *v = (const char *)node->data.scalar.value;
        if (strspn(v + (v[0] == '-'), "0123456789") != node->data.scalar.length - (v[0] == '-'))
                return yamldoc_error(d, node, err, "wrong_type", path, "expected a decimal integer");
        /* Parsed over the whole int64 range first, so "-3" where 0.. is allowed is
         * out of range, not a type error. */
        int64_t x;
        int r = parse_int64(v, INT64_MIN, INT64_MAX, &x);
        if (r < 0 && r != -ERANGE)
                return yamldoc_error(d, node, err, "wrong_type", path, "expected a decimal integer");
        if (r < 0 || x < min || x > max)
                return yamldoc_error(d, node, err, "out_of_range", path, "must be within [%lld, %lld]",
                                     (long long)min, (long long)max);
        *ret = x;
        return 0;
}

int yamldoc_get_bool(const yamldoc *d, const yaml_node_t *node, const char *path, bool *ret, bw_error *err) {
        if (is_plain_scalar(node)) {
                const char *v = (const char *)node->data.scalar.value;
                if (strcmp(v, "true") == 0) {
                        *ret = true;
                        return 0;
                }
                if (strcmp(v, "false") == 0) {
                        *ret = false;
                        return 0;
                }
        }
        return yamldoc_error(d, node, err, "wrong_type", path, "expected true or false");
}

int yamldoc_map_foreach(yamldoc *d, yaml_node_t *node, const char *path, size_t max, yamldoc_map_fn fn,
                        void *userdata, bw_error *err) {
        if (node->type != YAML_MAPPING_NODE)
                return yamldoc_error(d, node, err, "wrong_type", path, "expected a mapping, got %s",
                                     node_kind(node));
        yaml_node_pair_t *start = node->data.mapping.pairs.start;
        size_t n = (size_t)(node->data.mapping.pairs.top - start);
        if (n > max)
                return yamldoc_error(d, node, err, "too_large", path, "at most %zu entries", max);
        for (size_t i = 0; i < n; i++) {
                yaml_node_t *k = yaml_document_get_node(&d->doc, start[i].key);
                yaml_node_t *v = yaml_document_get_node(&d->doc, start[i].value);
                if (!k || !v || k->type != YAML_SCALAR_NODE || k->data.scalar.length == 0 ||
                    !utf8_valid((const char *)k->data.scalar.value, k->data.scalar.length))
                        return yamldoc_error(d, k, err, "invalid", path,
                                             "mapping keys must be non-empty strings");
                const char *key = (const char *)k->data.scalar.value;
                size_t klen = k->data.scalar.length;
                char child[YAMLDOC_PATH_MAX];
                yamldoc_path_key(child, sizeof(child), path, key);
                for (size_t j = 0; j < i; j++) {
                        yaml_node_t *prev = yaml_document_get_node(&d->doc, start[j].key);
                        if (prev->data.scalar.length == klen &&
                            memcmp(prev->data.scalar.value, key, klen) == 0)
                                return yamldoc_error(d, k, err, "duplicate_key", child, "duplicate key");
                }
                int r = fn(d, key, k, v, child, userdata, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int yamldoc_seq_foreach(yamldoc *d, yaml_node_t *node, const char *path, size_t min, size_t max,
                        yamldoc_seq_fn fn, void *userdata, bw_error *err) {
        if (node->type != YAML_SEQUENCE_NODE)
                return yamldoc_error(d, node, err, "wrong_type", path, "expected a list, got %s",
                                     node_kind(node));
        yaml_node_item_t *start = node->data.sequence.items.start;
        size_t n = (size_t)(node->data.sequence.items.top - start);
        if (n > max)
                return yamldoc_error(d, node, err, "too_large", path, "at most %zu items", max);
        if (n < min)
                return yamldoc_error(d, node, err, "out_of_range", path, "at least %zu items", min);
        for (size_t i = 0; i < n; i++) {
                char child[YAMLDOC_PATH_MAX];
                yamldoc_path_index(child, sizeof(child), path, i);
                int r = fn(d, i, yaml_document_get_node(&d->doc, start[i]), child, userdata, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

typedef struct fields_ctx {
        const char *const *keys;
        yaml_node_t **values;
} fields_ctx;

/* Appends ", name" (or "name" first) to a list of keys for an error message;
 * a list that does not fit is cut, the message stays useful. */
static void name_append(char *out, size_t outlen, size_t *used, const char *name) {
        int n = snprintf(out + *used, outlen - *used, "%s%s", *used ? ", " : "", name);
        if (n > 0 && (size_t)n < outlen - *used)
                *used += (size_t)n;
}

static int fields_one(yamldoc *d, const char *key, yaml_node_t *key_node, yaml_node_t *value,
                      const char *path, void *userdata, bw_error *err) {
        fields_ctx *c = userdata;
        for (size_t i = 0; c->keys[i]; i++)
                if (strcmp(c->keys[i], key) == 0) {
                        c->values[i] = value;
                        return 0;
                }
        char known[160] = "";
        size_t used = 0;
        for (size_t i = 0; c->keys[i]; i++)
                name_append(known, sizeof(known), &used, c->keys[i]);
        return yamldoc_error(d, key_node, err, "unknown_key", path, "unknown key; expected one of: %s",
                             known);
}

int yamldoc_fields(yamldoc *d, yaml_node_t *node, const char *path, const char *const *keys,
                   yaml_node_t **ret_values, bw_error *err) {
        for (size_t i = 0; keys[i]; i++)
                ret_values[i] = NULL;
        fields_ctx c = {.keys = keys, .values = ret_values};
        /* No entry limit: the first unknown key stops the walk, so the duplicate
         * scan only ever compares known keys. */
        return yamldoc_map_foreach(d, node, path, SIZE_MAX, fields_one, &c, err);
}

yaml_node_t *yamldoc_map_get(yamldoc *d, const yaml_node_t *node, const char *key) {
        if (!node || node->type != YAML_MAPPING_NODE)
                return NULL;
        size_t klen = strlen(key);
        for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top; p++) {
                yaml_node_t *k = yaml_document_get_node(&d->doc, p->key);
                if (k && k->type == YAML_SCALAR_NODE && k->data.scalar.length == klen &&
                    memcmp(k->data.scalar.value, key, klen) == 0)
                        return yaml_document_get_node(&d->doc, p->value);
        }
        return NULL;
}

yaml_node_t *yamldoc_seq_get(yamldoc *d, const yaml_node_t *node, size_t index) {
        if (!node || node->type != YAML_SEQUENCE_NODE ||
            index >= (size_t)(node->data.sequence.items.top - node->data.sequence.items.start))
                return NULL;
        return yaml_document_get_node(&d->doc, node->data.sequence.items.start[index]);
}

int yamldoc_require(const yamldoc *d, const yaml_node_t *parent, const char *path, const char *key,
                    const yaml_node_t *value, bw_error *err) {
        if (value)
                return 0;
        char child[YAMLDOC_PATH_MAX];
        yamldoc_path_key(child, sizeof(child), path, key);
        return yamldoc_error(d, parent, err, "missing", child, "required");
}

typedef struct settings_ctx {
        const setting_spec *table;
        json_t *out;
} settings_ctx;

static int list_item(yamldoc *d, size_t index, yaml_node_t *item, const char *path, void *userdata,
                     bw_error *err) {
        const char *s;
        size_t len;
        int r = yamldoc_get_string(d, item, path, 1, BW_SETTING_LIST_ITEM_MAX, &s, &len, err);
        if (r < 0)
                return r;
        if (!yamldoc_text_valid(s, len))
                return yamldoc_error(d, item, err, "bad_charset", path,
                                     "control characters are not allowed");
        return json_array_append_new(userdata, json_stringn(s, len)) < 0 ? -ENOMEM : 0;
}

static int setting_value(yamldoc *d, const setting_spec *spec, yaml_node_t *value, const char *path,
                         json_t **ret, bw_error *err) {
        int r;
        switch (spec->type) {
        case SETTING_STRING: {
                const char *s;
                size_t len;
                r = yamldoc_get_string(d, value, path, (size_t)spec->min, (size_t)spec->max, &s, &len, err);
                if (r < 0)
                        return r;
                bool ok = spec->charset_extra ? len == 0 || str_charset_ok(s, len, len, spec->charset_extra)
                                              : yamldoc_text_valid(s, len);
                if (!ok)
                        return yamldoc_error(d, value, err, "bad_charset", path, "%s%s",
                                             spec->charset_extra ? "only [A-Za-z0-9] and these are allowed: "
                                                                 : "control characters are not allowed",
                                             spec->charset_extra ? spec->charset_extra : "");
                *ret = json_stringn(s, len);
                break;
        }
        case SETTING_INT: {
                int64_t v;
                r = yamldoc_get_int(d, value, path, spec->min, spec->max, &v, err);
                if (r < 0)
                        return r;
                *ret = json_integer(v);
                break;
        }
        case SETTING_BOOL: {
                bool b;
                r = yamldoc_get_bool(d, value, path, &b, err);
                if (r < 0)
                        return r;
                *ret = json_boolean(b);
                break;
        }
        case SETTING_STRING_LIST: {
                json_t *a = json_array();
                if (!a)
                        return -ENOMEM;
                r = yamldoc_seq_foreach(d, value, path, (size_t)spec->min, (size_t)spec->max, list_item, a,
                                        err);
                if (r < 0) {
                        json_decref(a);
                        return r;
                }
                *ret = a;
                break;
        }
        default:
                return yamldoc_error(d, value, err, "invalid", path, "setting has an unknown type");
        }
        return *ret ? 0 : -ENOMEM;
}

static int settings_one(yamldoc *d, const char *key, yaml_node_t *key_node, yaml_node_t *value,
                        const char *path, void *userdata, bw_error *err) {
        settings_ctx *c = userdata;
        const setting_spec *spec = setting_spec_find(c->table, key);
        if (!spec) {
                char known[160];
                setting_spec_names(c->table, known, sizeof(known));
                return yamldoc_error(d, key_node, err, "unknown_key", path,
                                     "unknown setting; expected one of: %s", known);
        }
        json_t *v = NULL;
        int r = setting_value(d, spec, value, path, &v, err);
        if (r < 0)
                return r;
        return json_object_set_new(c->out, key, v) < 0 ? -ENOMEM : 0;
}

int yamldoc_settings_to_json(yamldoc *d, yaml_node_t *node, const yaml_node_t *where, const char *path,
                             const setting_spec *table, json_t **ret, bw_error *err) {
        size_t n = 0;
        while (table && table[n].name)
                n++;
        settings_ctx c = {.table = table, .out = json_object()};
        if (!c.out)
                return -ENOMEM;
        /* As in yamldoc_fields, unknown keys stop the walk before it can grow. */
        int r = node ? yamldoc_map_foreach(d, node, path, SIZE_MAX, settings_one, &c, err) : 0;
        for (size_t i = 0; r == 0 && i < n; i++)
                if (table[i].required && !json_object_get(c.out, table[i].name))
                        r = yamldoc_require(d, node ? node : where, path, table[i].name, NULL, err);
        if (r < 0) {
                json_decref(c.out);
                return r;
        }
        *ret = c.out;
        return 0;
}
