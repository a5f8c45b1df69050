/* SPDX-License-Identifier: Apache-2.0 */
/* The restricted target template: a path into the alert (`alert.observables.ips`),
 * never code and never string splicing. Pure; input (playbooks) is untrusted. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "core/alert.h"
#include "util/error.h"

typedef enum {
        TEMPLATE_ALERT_SOURCE,   /* alert.source               -> one string */
        TEMPLATE_ALERT_TYPE,     /* alert.type                 -> one string */
        TEMPLATE_ALERT_SEVERITY, /* alert.severity             -> one string */
        TEMPLATE_ALERT_IPS,      /* alert.observables.ips      -> IP list    */
        TEMPLATE_ALERT_ACCOUNTS, /* alert.observables.accounts -> account list */
        TEMPLATE_ALERT_HOSTS,    /* alert.observables.hosts    -> host list  */
        TEMPLATE_ALERT_LABEL,    /* alert.labels.<key>         -> zero or one string */
        _TEMPLATE_PATH_MAX,
} template_path;

/* What a value is; connectors declare which kinds each verb accepts. */
typedef enum {
        TARGET_NONE,
        TARGET_IP,
        TARGET_ACCOUNT,
        TARGET_HOST,
        TARGET_STRING,
        _TARGET_KIND_MAX,
} target_kind;

typedef struct template_expr {
        template_path path;
        char label[BW_LABEL_KEY_MAX + 1]; /* for TEMPLATE_ALERT_LABEL */
        /* What a path that yields a string is declared to be (a step's
         * `targets: {from: alert.labels.src, as: ip}`): its values are then
         * parsed and normalised as that kind. TARGET_NONE: not declared. */
        target_kind as;
} template_expr;

typedef struct template_value {
        target_kind kind;
        char **items; /* normalised strings, owned */
        size_t n;
} template_value;

/* Parses an expression such as "alert.observables.ips" (len bytes, at most
 * BW_TEMPLATE_MAX). Returns 0 or -EINVAL with *err (field left to the caller). */
int template_parse(const char *s, size_t len, template_expr *ret, bw_error *err);

/* The kind of value the expression yields: the path's own, or what a string
 * path was declared to be. */
target_kind template_kind(const template_expr *t);

/* True if the path yields strings (source, type, severity, a label). */
bool template_yields_string(const template_expr *t);

/* "ip" | "account" | "host" | "string" -> 0, else -EINVAL: the kinds a string
 * template may be declared as. */
int target_kind_parse(const char *s, target_kind *ret);

/* The canonical text of an expression (for dry runs and records). */
const char *template_path_name(template_path p);

/* Evaluates t against a; *ret receives copies (caller clears). A declared kind's
 * values are normalised as that kind (core/target.h); a value that is not
 * valid as the kind is kept as it is, for the governor to refuse. Returns 0 or
 * -ENOMEM. */
int template_eval(const template_expr *t, const alert *a, template_value *ret);

void template_value_clear(template_value *v);

const char *target_kind_name(target_kind k);

/* The kind named name ("ip", ...): 0 and *ret, or -EBADMSG. */
int target_kind_from_name(const char *name, target_kind *ret);
