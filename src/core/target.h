/* SPDX-License-Identifier: Apache-2.0 */
/* Typed targets: every target an action names is parsed and normalised as its
 * kind (ip, account, host) exactly as the alert's observables are, measured (how
 * many addresses a prefix covers) and compared in canonical form (protected
 * accounts and hosts match every spelling of a name). Pure; targets come from
 * alerts and are untrusted. Runs in the engine and the CLI (through the governor). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/alert.h"
#include "core/template.h"

/* Longest normalised target of any kind (a host name is the longest). */
#define TARGET_TEXT_MAX BW_ACCOUNT_NAME_MAX

/* Parses s (len bytes) as a target of kind and writes its normalised text to
 * out (outlen >= TARGET_TEXT_MAX + 1): an IP address or prefix as ip_prefix_parse
 * prints it; an account as given (alert_account_name_valid); a host name
 * case-folded (alert_host_name_valid). Returns 0, or -EINVAL when s is not a
 * valid target of that kind (or kind has no syntax: string, none). */
int target_normalise(target_kind kind, const char *s, size_t len, char *out, size_t outlen);

/* How many addresses the prefix covers: 1 for an address, 256 for a /24,
 * saturating at UINT64_MAX (an IPv6 /64 and wider). */
uint64_t ip_prefix_size(const ip_prefix *p);

/* True if prefixes a and b share an address. An IPv4 prefix is compared with an
 * IPv6 one through its v4-mapped form (::ffff:0:0/96), so "::/0" or
 * "::ffff:0.0.0.0/95" overlap a protected 10.0.0.0/8 and the reverse. */
bool ip_prefix_overlaps(const ip_prefix *a, const ip_prefix *b);

/* The first prefix of list[0..n) that t overlaps, or NULL (the protected list
 * is searched for every target: one loop, its comparison inline). */
const ip_prefix *ip_prefix_overlaps_any(const ip_prefix *t, const ip_prefix *list, size_t n);

/* The user part of an account, case-folded, written to out (outlen >=
 * BW_ACCOUNT_NAME_MAX + 1): "CORP\Administrator", "administrator@corp.example"
 * and "Administrator" all give "administrator". */
void account_canonical_user(const char *s, char *out, size_t outlen);

/* An account as protected patterns are matched against it: worked out once per
 * target, compared with every pattern. */
typedef struct account_subject {
        const char *account;
        bool has_domain; /* user@domain or DOMAIN\user */
        char user[BW_ACCOUNT_NAME_MAX + 1];
} account_subject;

void account_subject_init(const char *account, account_subject *ret);

/* True if the protected account pattern (fnmatch(3), case-insensitive) names
 * the account: the pattern and the account are compared whole, then by their
 * user parts, so that a domain never makes an account less protected. */
bool account_pattern_matches(const char *pattern, const account_subject *a);

/* True if the protected host pattern (fnmatch(3), case-insensitive, a trailing
 * dot ignored) names host: whole names first; and a short name (one label) on
 * either side is compared with the other's first label, so that protecting "dc01"
 * protects "dc01.corp.example" and the reverse. */
bool host_pattern_matches(const char *pattern, const char *host);
