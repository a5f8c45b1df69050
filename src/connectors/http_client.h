/* SPDX-License-Identifier: Apache-2.0 */
/* The outbound HTTP client shared by the http and notify kinds (libcurl): HTTPS
 * only (plain HTTP only to a loopback address when allowed), TLS verification
 * always on, no redirects, no proxies, every timeout set, the response size
 * capped. The settings checks run in the daemon at configuration load; the
 * client runs in the connector workers. Responses are untrusted. */
#pragma once

#include <jansson.h>
#include <limits.h>

#include "core/limits.h"
#include "connectors/connector.h"
#include "core/settings.h"
#include "util/error.h"

/* RFC 3986 characters besides [A-Za-z0-9] that a URL or path may contain. */
#define HTTP_CLIENT_URL_CHARS "-._~:/?#[]@!$&'()*+,;=%"

/* The settings every kind built on this client has, for the kinds' tables. The
 * client also reads "method", "path", "headers", "max_response",
 * "snapshot_url", "rollback_url" and "rollback_method" when a kind's table has
 * them (http does, notify does not). */
/* clang-format off */
#define HTTP_CLIENT_SETTINGS \
        {"url", SETTING_STRING, true, 9, BW_URL_MAX, HTTP_CLIENT_URL_CHARS, \
         "base URL: https://..., or http:// to 127.0.0.0/8 or [::1] with allow_http_loopback"}, \
        {"allow_http_loopback", SETTING_BOOL, false, 0, 0, NULL, \
         "permit plain http:// to a loopback address, for local relays and tests (default false)"}, \
        {"token_file", SETTING_STRING, false, 2, PATH_MAX - 1, NULL, \
         "absolute path of a file (mode 0600) whose content is sent as Authorization: Bearer"}, \
        {"ca_file", SETTING_STRING, false, 2, PATH_MAX - 1, NULL, \
         "absolute path of the CA bundle that verifies the server (default: the system's)"}, \
        {"timeout_ms", SETTING_INT, false, 1, BW_CONNECTOR_TIMEOUT_MS_MAX, NULL, \
         "connect and transfer timeout in milliseconds (default 5000)"}
/* clang-format on */

typedef struct http_client http_client;

/* Semantic checks of the client's settings present in settings, which table
 * describes: URL scheme and host (https, or http to a loopback address with
 * allow_http_loopback) of url, snapshot_url and rollback_url, no credentials in
 * a URL, path, method (POST|PUT), headers ("Name: value", token characters in
 * the name, no CR/LF, none the client sets itself), absolute file paths;
 * snapshot_url and rollback_url both or neither, rollback_method
 * (POST|PUT|PATCH|DELETE) only with rollback_url. Returns 0 or -EINVAL with
 * *err naming the key, or -ENOMEM. */
int http_client_check_settings(const json_t *settings, const setting_spec *table, bw_error *err);

/* Checks the settings again, reads the token file (file_read_secret: mode 0600)
 * and builds a client. Returns 0 and *ret (free with http_client_free), -EINVAL
 * with *err, or another negative errno (err names the key). */
int http_client_new(const json_t *settings, const setting_spec *table, http_client **ret, bw_error *err);

/* What a worker of a kind built on this client keeps once confined: outbound
 * TCP and DNS (SANDBOX_SYSCALLS_HTTP), no capabilities, read access to the
 * resolver's files, the system's trust store and its ca_file. The token was
 * read by http_client_new, before. 0 or -E2BIG. */
int http_client_confine(const http_client *c, sandbox_profile *p);

/* Wipes the Authorization header and frees. Accepts NULL. */
void http_client_free(http_client *c);

/* Sends body as JSON to url + path with the configured method and headers plus
 * Idempotency-Key. Returns 0 when a response arrived: r->ok for a 2xx status,
 * r->detail "HTTP <status>". Otherwise a negative errno with r->detail saying
 * why: -EMSGSIZE (response over max_response), -ETIMEDOUT, -ECONNREFUSED,
 * -EHOSTUNREACH, -EPROTO (TLS), -EPROTONOSUPPORT, -ENOMEM or -EIO. */
int http_client_post(http_client *c, const json_t *body, const char *idempotency_key, connector_result *r);

/* GETs snapshot_url with the configured headers. Returns 0 when a response
 * arrived: for a 2xx status whose body is one JSON object, r->ok and r->data =
 * that object (the caller's, as r is); for another status r->ok false, r->detail
 * "HTTP <status>". A 2xx body that is not a JSON object is -EPROTO, r->detail
 * saying so without quoting it. -EOPNOTSUPP without snapshot_url; other errors
 * as http_client_post. */
int http_client_snapshot(http_client *c, connector_result *r);

/* Sends body as JSON to rollback_url with rollback_method (default POST), the
 * configured headers and "Idempotency-Key: <idempotency_key>-rollback" (a
 * server that remembers keys must not take it for the apply). Returns as
 * http_client_post; -EOPNOTSUPP without rollback_url. */
int http_client_rollback(http_client *c, const json_t *body, const char *idempotency_key,
                         connector_result *r);

/* The apply op of a kind built on this client: checks a against kind k, then
 * sends kind_action_json(a, event) as http_client_post does. */
int http_client_send_action(http_client *c, const connector_kind *k, const connector_action *a,
                            const char *event, connector_result *r);
