/* SPDX-License-Identifier: Apache-2.0 */
/* The CLI's client of the Bulwark HTTP API (libcurl): bearer token from a 0600
 * file, http/https only, every timeout set, replies capped. Runs in the CLI; the
 * server's replies are untrusted. */
#pragma once

#include <stddef.h>

#include "util/error.h"

/* A reply is one alert, one execution or a page of executions: a few KiB to a
 * few hundred KiB. 1 MiB bounds what a broken or hostile server can make us hold. */
#define CLI_RESPONSE_MAX (1024u * 1024u)
/* The daemon is usually on the same host: a connection that takes longer than
 * this is not going to work. */
#define CLI_CONNECT_TIMEOUT_MS 5000L
/* A whole request, including a 1,000-alert batch waiting for its group commit. */
#define CLI_REQUEST_TIMEOUT_MS 60000L

/* A base URL is a scheme, a host, a port and perhaps a path prefix. */
#define CLI_URL_MAX 2048u

typedef struct cli_api cli_api;

typedef struct cli_response {
        long status;          /* HTTP status */
        char *body;           /* NUL-terminated, owned; "" when empty */
        size_t len;           /* bytes in body */
        char retry_after[16]; /* Retry-After header (503), or "" */
} cli_response;

/* Checks url (http or https; plain http only to a loopback host, since the token
 * would otherwise cross the network in clear) and reads the bearer token with
 * cli_token_read. Returns 0 and *ret (free with cli_api_free), or -EINVAL /
 * -EPERM / another negative errno with *err saying why (field "url" or
 * "token_file"). */
int cli_api_open(const char *url, const char *token_file, cli_api **ret, bw_error *err);

/* Sends one request (path begins with "/", body may be NULL for GET) and waits
 * for the reply. Returns 0 with *ret filled for any HTTP status (clear with
 * cli_response_clear), or a negative errno with *err when no complete reply
 * arrived (connection, timeout, reply over CLI_RESPONSE_MAX: -EFBIG). */
int cli_api_request(cli_api *a, const char *method, const char *path, const char *content_type,
                    const char *body, size_t len, cli_response *ret, bw_error *err);

/* Fills *ret from the API's error reply {"error":{"code","message","field"}};
 * when the body is not one, code is "http_<status>" and message the start of the
 * body (or the status when empty). */
void cli_response_error(const cli_response *r, bw_error *ret);

void cli_response_clear(cli_response *r);

/* Wipes the token and frees; accepts NULL. */
void cli_api_free(cli_api *a);
