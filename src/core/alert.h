/* SPDX-License-Identifier: Apache-2.0 */
/* The alert model and its strict parser. Input is untrusted (HTTP bodies); the
 * parser is pure: no I/O, time is passed in. Runs in the api and engine. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/limits.h"
#include "util/error.h"

typedef enum {
        SEVERITY_LOW,
        SEVERITY_MEDIUM,
        SEVERITY_HIGH,
        SEVERITY_CRITICAL,
        _SEVERITY_MAX,
} alert_severity;

/* An IPv4/IPv6 address or network, parsed with inet_pton and normalised: host
 * bits cleared, a full-length prefix printed without "/n". */
typedef struct ip_prefix {
        int family;             /* AF_INET or AF_INET6 */
        unsigned char addr[16]; /* network byte order; 4 bytes used for AF_INET */
        unsigned prefix;        /* 0..32 or 0..128 */
        char text[64];          /* "192.0.2.1", "192.0.2.0/24", "2001:db8::/32" */
} ip_prefix;

typedef struct alert {
        char source[BW_ALERT_NAME_MAX + 1];
        char type[BW_ALERT_NAME_MAX + 1];
        alert_severity severity;
        int64_t observed_at_ms; /* ms since the epoch */
        ip_prefix *ips;
        size_t n_ips;
        char **accounts;
        size_t n_accounts;
        char **hosts;
        size_t n_hosts;
        json_t *labels; /* object: string -> string; never NULL after parse */
        json_t *raw;    /* any JSON value the sender attached, or NULL */
} alert;

/* Parses and validates one alert (JSON text, not necessarily NUL-terminated).
 * now_ms stands in for observed_at when absent and bounds clock skew. Rejects:
 * invalid UTF-8, depth > BW_ALERT_MAX_DEPTH, unknown keys, wrong types, missing
 * required fields (source, type, severity), bad addresses, names outside their
 * character whitelists, lists over their limits, duplicate keys.
 * Returns 0 and *ret (caller frees with alert_free), or -EINVAL with *err naming
 * the field, or -ENOMEM. */
int alert_parse(const char *data, size_t len, int64_t now_ms, alert **ret, bw_error *err);

/* The canonical JSON of a parsed alert (normalised addresses, RFC 3339 UTC
 * observed_at). Returns a new reference or NULL on ENOMEM. */
json_t *alert_to_json(const alert *a);

/* Canonical compact JSON text (what the store keeps). Caller frees. */
char *alert_dump(const alert *a, size_t *ret_len);

void alert_free(alert *a);

const char *alert_severity_name(alert_severity s);
/* "low" | "medium" | "high" | "critical" -> 0, else -EINVAL. */
int alert_severity_parse(const char *s, alert_severity *ret);

/* Parses "192.0.2.1", "2001:db8::1", "192.0.2.0/24" (host bits cleared) with
 * inet_pton. An IPv4-mapped IPv6 address ("::ffff:192.0.2.1", prefix >= 96) is
 * normalised to its IPv4 form, so one host has one spelling (and lands in the
 * IPv4 block set). Returns 0 or -EINVAL. */
int ip_prefix_parse(const char *s, size_t len, ip_prefix *ret);

/* Account names: 1..BW_ACCOUNT_NAME_MAX of [A-Za-z0-9._@$-], not starting with
 * '-' (so a name can never be read as an option by a program), with at most one
 * backslash between a domain and a user (CORP\alice, as Windows writes them). */
bool alert_account_name_valid(const char *s, size_t len);

/* Alert source and type names (and playbook trigger types): 1..BW_ALERT_NAME_MAX
 * of [A-Za-z0-9._:-]. */
bool alert_name_valid(const char *s, size_t len);

/* Label keys (alerts, playbook triggers, templates): 1..BW_LABEL_KEY_MAX of
 * [A-Za-z0-9._-]. */
bool alert_label_key_valid(const char *s, size_t len);

/* Host names: RFC 1123 labels of [A-Za-z0-9-], 1..63 each, no leading or
 * trailing '-', joined by '.', total 1..BW_HOST_NAME_MAX. */
bool alert_host_name_valid(const char *s, size_t len);
