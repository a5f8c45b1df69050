/* SPDX-License-Identifier: Apache-2.0 */
/* The restricted target template (see template.h): a closed set of paths into the
 * alert, parsed strictly from untrusted playbooks; pure, used by engine and CLI. */
#include "core/template.h"

#include "core/target.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define TEMPLATE_LABEL_PREFIX "alert.labels."

static const char *const path_names[_TEMPLATE_PATH_MAX] = {
        [TEMPLATE_ALERT_SOURCE] = "alert.source",
        [TEMPLATE_ALERT_TYPE] = "alert.type",
        [TEMPLATE_ALERT_SEVERITY] = "alert.severity",
        [TEMPLATE_ALERT_IPS] = "alert.observables.ips",
        [TEMPLATE_ALERT_ACCOUNTS] = "alert.observables.accounts",
        [TEMPLATE_ALERT_HOSTS] = "alert.observables.hosts",
        [TEMPLATE_ALERT_LABEL] = "alert.labels",
};

static const target_kind path_kinds[_TEMPLATE_PATH_MAX] = {
        [TEMPLATE_ALERT_SOURCE] = TARGET_STRING,    [TEMPLATE_ALERT_TYPE] = TARGET_STRING,
        [TEMPLATE_ALERT_SEVERITY] = TARGET_STRING,  [TEMPLATE_ALERT_IPS] = TARGET_IP,
        [TEMPLATE_ALERT_ACCOUNTS] = TARGET_ACCOUNT, [TEMPLATE_ALERT_HOSTS] = TARGET_HOST,
        [TEMPLATE_ALERT_LABEL] = TARGET_STRING,
};

static const char *const kind_names[_TARGET_KIND_MAX] = {
        [TARGET_NONE] = "none", [TARGET_IP] = "ip",         [TARGET_ACCOUNT] = "account",
        [TARGET_HOST] = "host", [TARGET_STRING] = "string",
};

int template_parse(const char *s, size_t len, template_expr *ret, bw_error *err) {
        /* Comparisons below use len, never strlen: the text is not trusted to be a
         * C string of that length (an embedded NUL must not truncate it). */
        if (len == 0 || len > BW_TEMPLATE_MAX)
                return bw_error_set(err, "invalid", NULL, "a template is 1..%u bytes", BW_TEMPLATE_MAX);
        for (size_t p = 0; p < _TEMPLATE_PATH_MAX; p++) {
                if (p == TEMPLATE_ALERT_LABEL)
                        continue;
                if (strlen(path_names[p]) == len && memcmp(s, path_names[p], len) == 0) {
                        *ret = (template_expr){.path = (template_path)p};
                        return 0;
                }
        }
        size_t plen = strlen(TEMPLATE_LABEL_PREFIX);
        if (len > plen && memcmp(s, TEMPLATE_LABEL_PREFIX, plen) == 0) {
                if (!alert_label_key_valid(s + plen, len - plen))
                        return bw_error_set(err, "invalid", NULL,
                                            "a label key is 1..%u characters of [A-Za-z0-9._-]",
                                            BW_LABEL_KEY_MAX);
                template_expr t = {.path = TEMPLATE_ALERT_LABEL};
                memcpy(t.label, s + plen, len - plen);
                *ret = t;
                return 0;
        }
        return bw_error_set(err, "invalid", NULL,
                            "not a template: expected alert.source, alert.type, alert.severity, "
                            "alert.observables.ips|accounts|hosts or alert.labels.<key>");
}

bool template_yields_string(const template_expr *t) {
        return t->path < _TEMPLATE_PATH_MAX && path_kinds[t->path] == TARGET_STRING;
}

target_kind template_kind(const template_expr *t) {
        if (template_yields_string(t) && t->as != TARGET_NONE)
                return t->as;
        return t->path < _TEMPLATE_PATH_MAX ? path_kinds[t->path] : TARGET_NONE;
}

int target_kind_parse(const char *s, target_kind *ret) {
        static const target_kind declarable[] = {TARGET_IP, TARGET_ACCOUNT, TARGET_HOST, TARGET_STRING};
        for (size_t i = 0; i < sizeof(declarable) / sizeof(declarable[0]); i++)
                if (strcmp(s, kind_names[declarable[i]]) == 0) {
                        *ret = declarable[i];
                        return 0;
                }
        return -EINVAL;
}

const char *template_path_name(template_path p) {
        return p < _TEMPLATE_PATH_MAX ? path_names[p] : "?";
}

const char *target_kind_name(target_kind k) {
        return k < _TARGET_KIND_MAX ? kind_names[k] : "?";
}

int target_kind_from_name(const char *name, target_kind *ret) {
        for (unsigned k = 0; k < _TARGET_KIND_MAX; k++)
                if (strcmp(kind_names[k], name) == 0) {
                        *ret = (target_kind)k;
                        return 0;
                }
        return -EBADMSG;
}

void template_value_clear(template_value *v) {
        if (!v)
                return;
        for (size_t i = 0; i < v->n; i++)
                free(v->items[i]);
        free(v->items);
        *v = (template_value){.kind = TARGET_NONE};
}

/* Appends a copy of s to v (whose items array was sized by the caller), in the
 * normal form of v's kind when it has one. */
static int value_push(template_value *v, const char *s, bool normalise) {
        char canon[TARGET_TEXT_MAX + 1];
        if (normalise && target_normalise(v->kind, s, strlen(s), canon, sizeof(canon)) == 0)
                s = canon;
        char *c = strdup(s);
        if (!c)
                return -ENOMEM;
        v->items[v->n++] = c;
        return 0;
}

int template_eval(const template_expr *t, const alert *a, template_value *ret) {
        const char *one = NULL;
        size_t n = 0;
        switch (t->path) {
        case TEMPLATE_ALERT_SOURCE:
                one = a->source;
                break;
        case TEMPLATE_ALERT_TYPE:
                one = a->type;
                break;
        case TEMPLATE_ALERT_SEVERITY:
                one = alert_severity_name(a->severity);
                break;
        case TEMPLATE_ALERT_LABEL:
                /* An absent label yields no value rather than an error: triggers
                 * may match alerts that do not carry every label. */
                one = json_string_value(json_object_get(a->labels, t->label));
                break;
        case TEMPLATE_ALERT_IPS:
                n = a->n_ips;
                break;
        case TEMPLATE_ALERT_ACCOUNTS:
                n = a->n_accounts;
                break;
        case TEMPLATE_ALERT_HOSTS:
                n = a->n_hosts;
                break;
        default:
                return -EINVAL;
        }
        if (one)
                n = 1;

        template_value v = {.kind = template_kind(t)};
        if (n > 0) {
                v.items = calloc(n, sizeof(*v.items));
                if (!v.items)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                const char *s = one;
                if (t->path == TEMPLATE_ALERT_IPS)
                        s = a->ips[i].text;
                else if (t->path == TEMPLATE_ALERT_ACCOUNTS)
                        s = a->accounts[i];
                else if (t->path == TEMPLATE_ALERT_HOSTS)
                        s = a->hosts[i];
                if (value_push(&v, s, template_yields_string(t)) < 0) {
                        template_value_clear(&v);
                        return -ENOMEM;
                }
        }
        *ret = v;
        return 0;
}
