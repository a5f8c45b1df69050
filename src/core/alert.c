/* SPDX-License-Identifier: Apache-2.0 */
/* The strict alert parser and its canonical JSON (see alert.h); input is
 * untrusted HTTP bodies, parsed in the api and re-read from the store by the engine. */
#include "core/alert.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/strutil.h"
#include "core/yamldoc.h"

#define ALERT_NAME_EXTRA "._:-"
#define ALERT_ACCOUNT_EXTRA "._@$-"
#define ALERT_LABEL_KEY_EXTRA "._-"
/* Keys echoed in "unknown_field" errors: enough to recognise a typo. */
#define ALERT_KEY_SHOWN_MAX 64u

static const char *const severity_names[_SEVERITY_MAX] = {
        [SEVERITY_LOW] = "low",
        [SEVERITY_MEDIUM] = "medium",
        [SEVERITY_HIGH] = "high",
        [SEVERITY_CRITICAL] = "critical",
};

const char *alert_severity_name(alert_severity s) {
        return s < _SEVERITY_MAX ? severity_names[s] : "?";
}

int alert_severity_parse(const char *s, alert_severity *ret) {
        for (size_t i = 0; i < _SEVERITY_MAX; i++)
                if (strcmp(s, severity_names[i]) == 0) {
                        *ret = (alert_severity)i;
                        return 0;
                }
        return -EINVAL;
}

bool alert_account_name_valid(const char *s, size_t len) {
        if (!str_charset_ok(s, len, BW_ACCOUNT_NAME_MAX, ALERT_ACCOUNT_EXTRA "\\") || s[0] == '-')
                return false;
        /* At most one backslash, between a domain and a user: CORP\alice. */
        const char *back = memchr(s, '\\', len);
        return !back ||
               (back > s && back < s + len - 1 && !memchr(back + 1, '\\', len - (size_t)(back - s) - 1));
}

bool alert_name_valid(const char *s, size_t len) {
        return str_charset_ok(s, len, BW_ALERT_NAME_MAX, ALERT_NAME_EXTRA);
}

bool alert_label_key_valid(const char *s, size_t len) {
        return str_charset_ok(s, len, BW_LABEL_KEY_MAX, ALERT_LABEL_KEY_EXTRA);
}

bool alert_host_name_valid(const char *s, size_t len) {
        if (len == 0 || len > BW_HOST_NAME_MAX)
                return false;
        size_t start = 0;
        for (size_t i = 0; i <= len; i++) {
                if (i < len && s[i] != '.') {
                        if (!str_charset_ok(s + i, 1, 1, "-"))
                                return false;
                        continue;
                }
                size_t label = i - start;
                if (label == 0 || label > 63 || s[start] == '-' || s[i - 1] == '-')
                        return false;
                start = i + 1;
        }
        return true;
}

/* --- IP prefixes ----------------------------------------------------------- */

static const unsigned char v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int ip_prefix_parse(const char *s, size_t len, ip_prefix *ret) {
        char addr[INET6_ADDRSTRLEN + 8];
        if (len == 0 || len >= sizeof(addr) || memchr(s, '\0', len))
                return -EINVAL;
        memcpy(addr, s, len);
        addr[len] = '\0';

        ip_prefix p = {0};
        char *slash = strchr(addr, '/');
        if (slash)
                *slash = '\0';
        if (strchr(addr, ':')) {
                p.family = AF_INET6;
                p.prefix = 128;
        } else {
                p.family = AF_INET;
                p.prefix = 32;
        }
        if (inet_pton(p.family, addr, p.addr) != 1)
                return -EINVAL;
        if (slash) {
                const char *d = slash + 1;
                /* Strict decimal: no sign, no leading zero, no spaces. */
                if (!d[0] || strlen(d) > 3 || strspn(d, "0123456789") != strlen(d) || (d[0] == '0' && d[1]))
                        return -EINVAL;
                int64_t v;
                if (parse_int64(d, 0, p.prefix, &v) < 0)
                        return -EINVAL;
                p.prefix = (unsigned)v;
        }
        if (p.family == AF_INET6 && p.prefix >= 96 && memcmp(p.addr, v4_mapped, sizeof(v4_mapped)) == 0) {
                memmove(p.addr, p.addr + 12, 4);
                memset(p.addr + 4, 0, 12);
                p.family = AF_INET;
                p.prefix -= 96;
        }
        unsigned bits = p.family == AF_INET ? 32 : 128;
        for (unsigned i = p.prefix; i < bits; i++)
                p.addr[i / 8] &= (unsigned char)~(0x80u >> (i % 8));

        char text[INET6_ADDRSTRLEN];
        if (!inet_ntop(p.family, p.addr, text, sizeof(text)))
                return -EINVAL;
        if (p.prefix == bits)
                snprintf(p.text, sizeof(p.text), "%s", text);
        else
                snprintf(p.text, sizeof(p.text), "%s/%u", text, p.prefix);
        *ret = p;
        return 0;
}

/* --- Time ------------------------------------------------------------------ */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
        y -= m <= 2;
        int64_t era = (y >= 0 ? y : y - 399) / 400;
        int64_t yoe = y - era * 400;
        int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
        int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
        z += 719468;
        int64_t era = (z >= 0 ? z : z - 146096) / 146097;
        int64_t doe = z - era * 146097;
        int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        int64_t mp = (5 * doy + 2) / 153;
        *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
        *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
        *y = yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y) {
        return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Reads n decimal digits at s[*pos]. */
static bool digits(const char *s, size_t len, size_t *pos, size_t n, unsigned *ret) {
        unsigned v = 0;
        if (len - *pos < n)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[*pos + i];
                if (c < '0' || c > '9')
                        return false;
                v = v * 10 + (unsigned)(c - '0');
        }
        *pos += n;
        *ret = v;
        return true;
}

static bool expect(const char *s, size_t len, size_t *pos, const char *one_of) {
        if (*pos >= len || !strchr(one_of, s[*pos]) || s[*pos] == '\0')
                return false;
        (*pos)++;
        return true;
}

/* RFC 3339 date-time: 2026-11-22T10:00:00Z, with optional fraction and offset. */
static int rfc3339_parse(const char *s, size_t len, int64_t *ret_ms) {
        size_t pos = 0;
        unsigned year, mon, day, hour, min, sec, off_h = 0, off_m = 0, ms = 0;
        if (!digits(s, len, &pos, 4, &year) || !expect(s, len, &pos, "-") ||
            !digits(s, len, &pos, 2, &mon) || !expect(s, len, &pos, "-") || !digits(s, len, &pos, 2, &day) ||
            !expect(s, len, &pos, "Tt") || !digits(s, len, &pos, 2, &hour) || !expect(s, len, &pos, ":") ||
            !digits(s, len, &pos, 2, &min) || !expect(s, len, &pos, ":") || !digits(s, len, &pos, 2, &sec))
                return -EINVAL;
        if (pos < len && s[pos] == '.') {
                pos++;
                size_t first = pos;
                unsigned scale = 100;
                while (pos < len && s[pos] >= '0' && s[pos] <= '9' && pos - first < 9) {
                        ms += (unsigned)(s[pos] - '0') * scale;
                        scale /= 10;
                        pos++;
                }
                if (pos == first)
                        return -EINVAL;
        }
        int sign = 0;
        if (pos < len && (s[pos] == 'Z' || s[pos] == 'z')) {
                pos++;
        } else if (pos < len && (s[pos] == '+' || s[pos] == '-')) {
                sign = s[pos] == '+' ? 1 : -1;
                pos++;
                if (!digits(s, len, &pos, 2, &off_h) || !expect(s, len, &pos, ":") ||
                    !digits(s, len, &pos, 2, &off_m))
                        return -EINVAL;
        } else {
                return -EINVAL;
        }
        static const unsigned mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        if (pos != len || mon < 1 || mon > 12 || day < 1 ||
            day > mdays[mon - 1] + (mon == 2 && is_leap(year)) || hour > 23 || min > 59 ||
            sec > 60 /* leap second */ || off_h > 23 || off_m > 59)
                return -EINVAL;
        int64_t secs = days_from_civil(year, mon, day) * 86400 + hour * 3600 + min * 60 + sec;
        secs -= (int64_t)sign * (off_h * 3600 + off_m * 60);
        *ret_ms = secs * 1000 + ms;
        return 0;
}

/* "2026-11-22T10:00:00.000Z" */
static void rfc3339_format(int64_t ms, char *out, size_t outlen) {
        int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
        int64_t frac = ms - secs * 1000;
        int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
        int64_t rem = secs - days * 86400;
        int64_t y;
        unsigned m, d;
        civil_from_days(days, &y, &m, &d);
        snprintf(out, outlen, "%04lld-%02u-%02uT%02u:%02u:%02u.%03uZ", (long long)y, m, d,
                 (unsigned)(rem / 3600), (unsigned)(rem / 60 % 60), (unsigned)(rem % 60), (unsigned)frac);
}

/* --- Parser ---------------------------------------------------------------- */

/* Nesting is checked on the bytes before jansson sees them: jansson recurses up
 * to 2048 levels, which is far more than an alert needs. */
static bool depth_ok(const char *data, size_t len, unsigned max) {
        unsigned depth = 0;
        bool in_string = false, escaped = false;
        for (size_t i = 0; i < len; i++) {
                char c = data[i];
                if (in_string) {
                        if (escaped)
                                escaped = false;
                        else if (c == '\\')
                                escaped = true;
                        else if (c == '"')
                                in_string = false;
                        continue;
                }
                if (c == '"') {
                        in_string = true;
                } else if (c == '[' || c == '{') {
                        if (++depth > max)
                                return false;
                } else if ((c == ']' || c == '}') && depth > 0) {
                        depth--;
                }
        }
        return true;
}

/* A key as it may appear in an error: printable ASCII, cut to a readable length. */
static void key_shown(char *out, size_t outlen, const char *prefix, const char *key) {
        if (!key[0]) {
                /* The empty key still needs a visible name in the error. */
                snprintf(out, outlen, "%s\"\"", prefix);
                return;
        }
        char shown[ALERT_KEY_SHOWN_MAX + 1];
        size_t i = 0;
        for (; key[i] && i < ALERT_KEY_SHOWN_MAX; i++) {
                unsigned char c = (unsigned char)key[i];
                shown[i] = c > 0x20 && c < 0x7f ? (char)c : '?';
        }
        shown[i] = '\0';
        snprintf(out, outlen, "%s%s", prefix, shown);
}

/* One open container on the way to a byte of the body. */
typedef struct json_frame {
        bool object;
        bool has_key;                      /* object: the current member's key was read */
        size_t index;                      /* array: the current element */
        char key[ALERT_KEY_SHOWN_MAX + 1]; /* object: the current key's bytes, cut */
} json_frame;

/* Appends the field path of the innermost value (or key) frames lead to:
 * ".key" for an object with a current key, "[i]" for an array. */
static void frames_path(const json_frame *f, size_t depth, char *out, size_t outlen) {
        size_t used = 0;
        out[0] = '\0';
        for (size_t k = 0; k < depth && used < outlen; k++) {
                char part[ALERT_KEY_SHOWN_MAX + 8];
                if (f[k].object && f[k].has_key)
                        key_shown(part, sizeof(part), used ? "." : "", f[k].key);
                else if (!f[k].object)
                        snprintf(part, sizeof(part), "[%zu]", f[k].index);
                else
                        break; /* where a key should start */
                int n = snprintf(out + used, outlen - used, "%s", part);
                used = n < 0 ? outlen : used + (size_t)n;
        }
}

/* The field that holds byte bad of the body (the first one utf8_valid refuses):
 * jansson refuses invalid UTF-8 without saying where, so a small tokenizer walks
 * the valid prefix data[0..bad), tracking the open containers and the current
 * key or index of each. One pass; at most BW_ALERT_MAX_DEPTH containers (deeper
 * bodies were refused before); keys cut to ALERT_KEY_SHOWN_MAX bytes. A bad byte
 * inside a key names that key, read on to its closing quote. */
static void bad_utf8_field(const char *data, size_t len, size_t bad, char *out, size_t outlen) {
        json_frame f[BW_ALERT_MAX_DEPTH];
        size_t depth = 0, key_len = 0, i = 0;
        bool in_string = false, in_key = false, escaped = false;
        for (; i < bad; i++) {
                char c = data[i];
                json_frame *top = depth ? &f[depth - 1] : NULL;
                if (in_string) {
                        if (!escaped && c == '"') {
                                in_string = false;
                                if (in_key) {
                                        top->key[key_len] = '\0';
                                        top->has_key = true;
                                        in_key = false;
                                }
                                continue;
                        }
                        escaped = !escaped && c == '\\';
                        if (in_key && key_len < ALERT_KEY_SHOWN_MAX)
                                top->key[key_len++] = c;
                        continue;
                }
                if (c == '{' || c == '[') {
                        if (depth == BW_ALERT_MAX_DEPTH)
                                break;
                        f[depth++] = (json_frame){.object = c == '{'};
                } else if ((c == '}' || c == ']') && depth > 0) {
                        depth--;
                } else if (c == ',' && top) {
                        top->has_key = top->object ? false : top->has_key;
                        top->index += !top->object;
                } else if (c == '"') {
                        in_string = true;
                        escaped = false;
                        in_key = top && top->object && !top->has_key;
                        key_len = 0;
                }
        }
        if (in_key) {
                for (; i < len && key_len < ALERT_KEY_SHOWN_MAX && (escaped || data[i] != '"'); i++) {
                        escaped = !escaped && data[i] == '\\';
                        f[depth - 1].key[key_len++] = data[i];
                }
                f[depth - 1].key[key_len] = '\0';
                f[depth - 1].has_key = true;
        }
        frames_path(f, depth, out, outlen);
}

static int parse_name(const json_t *v, const char *field, char *out, size_t outlen, bw_error *err) {
        if (!json_is_string(v))
                return bw_error_set(err, "invalid", field, "must be a string");
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        if (!alert_name_valid(s, len))
                return bw_error_set(err, "invalid", field, "must be 1..%u characters of [A-Za-z0-9._:-]",
                                    BW_ALERT_NAME_MAX);
        return str_copy(out, outlen, s) < 0 ? -EINVAL : 0;
}

static int field_source(alert *a, json_t *v, int64_t now_ms, bw_error *err) {
        return parse_name(v, "source", a->source, sizeof(a->source), err);
}

static int field_type(alert *a, json_t *v, int64_t now_ms, bw_error *err) {
        return parse_name(v, "type", a->type, sizeof(a->type), err);
}

static int field_severity(alert *a, json_t *v, int64_t now_ms, bw_error *err) {
        if (!json_is_string(v) || alert_severity_parse(json_string_value(v), &a->severity) < 0)
                return bw_error_set(err, "invalid", "severity",
                                    "must be one of low, medium, high, critical");
        return 0;
}

static int field_observed_at(alert *a, json_t *v, int64_t now_ms, bw_error *err) {
        int64_t ms;
        if (!json_is_string(v) || rfc3339_parse(json_string_value(v), json_string_length(v), &ms) < 0)
                return bw_error_set(err, "invalid", "observed_at",
                                    "must be an RFC 3339 time such as 2026-11-22T10:00:00Z");
        int64_t skew = BW_ALERT_MAX_CLOCK_SKEW_S * 1000;
        if (ms < now_ms - skew || ms > now_ms + skew)
                return bw_error_set(err, "invalid", "observed_at", "more than %lld days away from now",
                                    BW_ALERT_MAX_CLOCK_SKEW_S / 86400);
        a->observed_at_ms = ms;
        return 0;
}

/* One observable list: its name, limit, and how an item is checked and stored. */
typedef struct observable_spec {
        const char *name;
        size_t max;
        /* Validates item s (len bytes) and stores it at index *n of a's list unless
         * an equal one is already there; field names the item for errors. */
        int (*add)(alert *a, const char *s, size_t len, const char *field, bw_error *err);
        /* Allocates a's list for up to n items. */
        int (*alloc)(alert *a, size_t n);
} observable_spec;

static int ips_alloc(alert *a, size_t n) {
        a->ips = calloc(n, sizeof(*a->ips));
        return a->ips ? 0 : -ENOMEM;
}

static int ips_add(alert *a, const char *s, size_t len, const char *field, bw_error *err) {
        ip_prefix p;
        if (ip_prefix_parse(s, len, &p) < 0)
                return bw_error_set(err, "invalid", field, "not an IPv4/IPv6 address or prefix");
        for (size_t i = 0; i < a->n_ips; i++)
                if (strcmp(a->ips[i].text, p.text) == 0)
                        return 0;
        a->ips[a->n_ips++] = p;
        return 0;
}

static int names_alloc(char ***list, size_t n) {
        *list = calloc(n, sizeof(**list));
        return *list ? 0 : -ENOMEM;
}

/* Appends a copy of s to list unless it is already there (duplicates fold). */
static int names_add(char **list, size_t *n, const char *s, size_t len) {
        for (size_t i = 0; i < *n; i++)
                if (strlen(list[i]) == len && memcmp(list[i], s, len) == 0)
                        return 0;
        char *c = strndup(s, len);
        if (!c)
                return -ENOMEM;
        list[(*n)++] = c;
        return 0;
}

static int accounts_alloc(alert *a, size_t n) {
        return names_alloc(&a->accounts, n);
}

static int accounts_add(alert *a, const char *s, size_t len, const char *field, bw_error *err) {
        if (!alert_account_name_valid(s, len))
                return bw_error_set(err, "invalid", field,
                                    "an account is 1..%u characters of [A-Za-z0-9._@$-] (one backslash may "
                                    "follow a domain), not starting with '-'",
                                    BW_ACCOUNT_NAME_MAX);
        return names_add(a->accounts, &a->n_accounts, s, len);
}

static int hosts_alloc(alert *a, size_t n) {
        return names_alloc(&a->hosts, n);
}

static int hosts_add(alert *a, const char *s, size_t len, const char *field, bw_error *err) {
        if (!alert_host_name_valid(s, len))
                return bw_error_set(err, "invalid", field, "not an RFC 1123 host name");
        /* Host names compare case-insensitively: store one spelling. */
        char lower[BW_HOST_NAME_MAX + 1];
        for (size_t i = 0; i < len; i++)
                lower[i] = (char)tolower((unsigned char)s[i]);
        return names_add(a->hosts, &a->n_hosts, lower, len);
}

static const observable_spec observable_specs[] = {
        {"ips", BW_ALERT_MAX_IPS, ips_add, ips_alloc},
        {"accounts", BW_ALERT_MAX_ACCOUNTS, accounts_add, accounts_alloc},
        {"hosts", BW_ALERT_MAX_HOSTS, hosts_add, hosts_alloc},
};

static int observable_list(alert *a, const observable_spec *spec, json_t *v, bw_error *err) {
        char field[128];
        snprintf(field, sizeof(field), "observables.%s", spec->name);
        if (!json_is_array(v))
                return bw_error_set(err, "invalid", field, "must be a list of strings");
        size_t n = json_array_size(v);
        if (n > spec->max)
                return bw_error_set(err, "too_large", field, "at most %zu items", spec->max);
        if (n == 0)
                return 0;
        int r = spec->alloc(a, n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                json_t *item = json_array_get(v, i);
                snprintf(field, sizeof(field), "observables.%s[%zu]", spec->name, i);
                if (!json_is_string(item))
                        return bw_error_set(err, "invalid", field, "must be a string");
                r = spec->add(a, json_string_value(item), json_string_length(item), field, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int field_observables(alert *a, json_t *v, int64_t now_ms, bw_error *err) {
        if (!json_is_object(v))
                return bw_error_set(err, "invalid", "observables", "must be an object");
        const char *key;
        json_t *item;
        json_object_foreach(v, key, item) {
                bool known = false;
                for (size_t i = 0; i < sizeof(observable_specs) / sizeof(observable_specs[0]); i++)
                        known = known || strcmp(key, observable_specs[i].name) == 0;
                if (!known) {
                        char field[128];
                        key_shown(field, sizeof(field), "observables.", key);
                        return bw_error_set(err, "unknown_field", field, "expected ips, accounts or hosts");
                }
        }
        for (size_t i = 0; i < sizeof(observable_specs) / sizeof(observable_specs[0]); i++) {
                item = json_object_get(v, observable_specs[i].name);
                if (item) {
                        int r = observable_list(a, &observable_specs[i], item, err);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int field_labels(alert *a, json_t *v, int64_t now_ms, bw_error *err) {
        if (!json_is_object(v))
                return bw_error_set(err, "invalid", "labels", "must be an object of strings");
        if (json_object_size(v) > BW_ALERT_MAX_LABELS)
                return bw_error_set(err, "too_large", "labels", "at most %u labels", BW_ALERT_MAX_LABELS);
        const char *key;
        json_t *item;
        json_object_foreach(v, key, item) {
                char field[128];
                key_shown(field, sizeof(field), "labels.", key);
                if (!alert_label_key_valid(key, strlen(key)))
                        return bw_error_set(err, "invalid", field,
                                            "a label key is 1..%u characters of [A-Za-z0-9._-]",
                                            BW_LABEL_KEY_MAX);
                if (!json_is_string(item))
                        return bw_error_set(err, "invalid", field, "must be a string");
                size_t len = json_string_length(item);
                if (len == 0 || len > BW_LABEL_VALUE_MAX ||
                    !yamldoc_text_valid(json_string_value(item), len))
                        return bw_error_set(
                                err, "invalid", field,
                                "a label value is 1..%u bytes of text without control characters",
                                BW_LABEL_VALUE_MAX);
        }
        json_decref(a->labels);
        a->labels = json_incref(v);
        return 0;
}

static int field_raw(alert *a, json_t *v, int64_t now_ms, bw_error *err) {
        a->raw = json_incref(v);
        return 0;
}

static const struct alert_field {
        const char *name;
        bool required;
        int (*parse)(alert *a, json_t *v, int64_t now_ms, bw_error *err);
} alert_fields[] = {
        {"source", true, field_source},
        {"type", true, field_type},
        {"severity", true, field_severity},
        {"observed_at", false, field_observed_at},
        {"observables", false, field_observables},
        {"labels", false, field_labels},
        {"raw", false, field_raw},
};

#define ALERT_N_FIELDS (sizeof(alert_fields) / sizeof(alert_fields[0]))

static int alert_from_json(alert *a, json_t *root, int64_t now_ms, bw_error *err) {
        if (!json_is_object(root))
                return bw_error_set(err, "invalid", "", "must be a JSON object");
        const char *key;
        json_t *v;
        json_object_foreach(root, key, v) {
                bool known = false;
                for (size_t i = 0; i < ALERT_N_FIELDS; i++)
                        known = known || strcmp(key, alert_fields[i].name) == 0;
                if (!known) {
                        char field[128];
                        key_shown(field, sizeof(field), "", key);
                        return bw_error_set(err, "unknown_field", field, "not a field of an alert");
                }
        }
        for (size_t i = 0; i < ALERT_N_FIELDS; i++) {
                v = json_object_get(root, alert_fields[i].name);
                if (!v) {
                        if (alert_fields[i].required)
                                return bw_error_set(err, "missing", alert_fields[i].name, "required");
                        continue;
                }
                int r = alert_fields[i].parse(a, v, now_ms, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Errors about the body as a whole (nesting, JSON syntax) have an empty field;
 * all others, invalid UTF-8 included, name the field's path. Nesting is checked
 * first: it bounds the tokenizer that locates invalid UTF-8. */
int alert_parse(const char *data, size_t len, int64_t now_ms, alert **ret, bw_error *err) {
        if (!depth_ok(data, len, BW_ALERT_MAX_DEPTH))
                return bw_error_set(err, "too_deep", "", "JSON nested deeper than %u levels",
                                    BW_ALERT_MAX_DEPTH);
        size_t valid = utf8_valid_prefix(data, len);
        if (valid < len) {
                char field[sizeof(err->field)];
                bad_utf8_field(data, len, valid, field, sizeof(field));
                return bw_error_set(err, "bad_utf8", field, "not valid UTF-8 (byte %zu)", valid);
        }
        json_error_t jerr;
        json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!root) {
                if (json_error_code(&jerr) == json_error_out_of_memory)
                        return -ENOMEM;
                return bw_error_set(err, "invalid", "", "invalid JSON at line %d column %d: %s", jerr.line,
                                    jerr.column, jerr.text);
        }
        alert *a = calloc(1, sizeof(*a));
        int r = a ? 0 : -ENOMEM;
        if (r == 0) {
                a->observed_at_ms = now_ms;
                a->labels = json_object();
                r = a->labels ? alert_from_json(a, root, now_ms, err) : -ENOMEM;
        }
        json_decref(root);
        if (r < 0) {
                alert_free(a);
                return r;
        }
        *ret = a;
        return 0;
}

void alert_free(alert *a) {
        if (!a)
                return;
        free(a->ips);
        for (size_t i = 0; i < a->n_accounts; i++)
                free(a->accounts[i]);
        free(a->accounts);
        for (size_t i = 0; i < a->n_hosts; i++)
                free(a->hosts[i]);
        free(a->hosts);
        json_decref(a->labels);
        json_decref(a->raw);
        free(a);
}

/* --- Canonical form -------------------------------------------------------- */

static json_t *string_array(const char *(*item)(const alert *a, size_t i), const alert *a, size_t n) {
        json_t *arr = json_array();
        for (size_t i = 0; arr && i < n; i++)
                if (json_array_append_new(arr, json_string(item(a, i))) < 0) {
                        json_decref(arr);
                        return NULL;
                }
        return arr;
}

static const char *ip_item(const alert *a, size_t i) {
        return a->ips[i].text;
}

static const char *account_item(const alert *a, size_t i) {
        return a->accounts[i];
}

static const char *host_item(const alert *a, size_t i) {
        return a->hosts[i];
}

/* The canonical tree. With share, labels and raw are the alert's own values (for
 * a dump that is thrown away at once); without, independent copies. */
static json_t *alert_tree(const alert *a, bool share) {
        char observed[40];
        rfc3339_format(a->observed_at_ms, observed, sizeof(observed));
        json_t *j = json_object(), *obs = json_object();
        /* json_object_set_new releases the value when it fails, and fails on a
         * NULL value, so allocation failures need no separate checks. */
        int r = j && obs ? 0 : -1;
        r |= json_object_set_new(obs, "ips", string_array(ip_item, a, a->n_ips));
        r |= json_object_set_new(obs, "accounts", string_array(account_item, a, a->n_accounts));
        r |= json_object_set_new(obs, "hosts", string_array(host_item, a, a->n_hosts));
        r |= json_object_set_new(j, "source", json_string(a->source));
        r |= json_object_set_new(j, "type", json_string(a->type));
        r |= json_object_set_new(j, "severity", json_string(alert_severity_name(a->severity)));
        r |= json_object_set_new(j, "observed_at", json_string(observed));
        r |= json_object_set(j, "observables", obs);
        r |= json_object_set_new(j, "labels", share ? json_incref(a->labels) : json_deep_copy(a->labels));
        r |= json_object_set_new(j, "raw",
                                 !a->raw ? json_null()
                                 : share ? json_incref(a->raw)
                                         : json_deep_copy(a->raw));
        json_decref(obs);
        if (r != 0) {
                json_decref(j);
                return NULL;
        }
        return j;
}

json_t *alert_to_json(const alert *a) {
        return alert_tree(a, false);
}

char *alert_dump(const alert *a, size_t *ret_len) {
        json_t *j = alert_tree(a, true);
        if (!j)
                return NULL;
        char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(j);
        if (s && ret_len)
                *ret_len = strlen(s);
        return s;
}
