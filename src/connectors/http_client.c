/* SPDX-License-Identifier: Apache-2.0 */
/* The outbound HTTP client of the http and notify kinds (see http_client.h);
 * settings checks in the daemon, requests in the connector workers; responses
 * are untrusted. */
#include "connectors/http_client.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "connectors/kind.h"
#include "core/limits.h"
#include "util/buf.h"
#include "util/fileio.h"
#include "util/strutil.h"

/* RFC 9110 token characters besides [A-Za-z0-9], for header names. */
#define HTTP_CLIENT_TCHARS "!#$%&'*+-.^_`|~"

struct http_client {
        char *url; /* base URL + path */
        const char *protocols;
        bool put;
        char *ca_file;
        long timeout_ms;
        size_t max_response;
        struct curl_slist *headers; /* fixed headers, configured ones, Authorization */
};

/* Headers the client sets itself, or that would change how the body is framed:
 * configuration may not override them. */
static const char *const http_client_reserved[] = {
        "Host",
        "Content-Length",
        "Transfer-Encoding",
        "Content-Type",
        "Idempotency-Key",
        "Expect",
        "Connection",
        NULL,
};

typedef struct http_client_opts {
        const char *url, *path, *method, *token_file, *ca_file;
        bool allow_http_loopback;
        const json_t *headers;
        int64_t timeout_ms, max_response;
} http_client_opts;

static int http_client_read_opts(const json_t *s, const setting_spec *t, http_client_opts *o,
                                 bw_error *err) {
        int r;
        if ((r = kind_get_str(s, t, "url", NULL, &o->url, err)) < 0 ||
            (r = kind_get_str(s, t, "path", "", &o->path, err)) < 0 ||
            (r = kind_get_str(s, t, "method", "POST", &o->method, err)) < 0 ||
            (r = kind_get_str(s, t, "token_file", NULL, &o->token_file, err)) < 0 ||
            (r = kind_get_str(s, t, "ca_file", NULL, &o->ca_file, err)) < 0 ||
            (r = kind_get_bool(s, t, "allow_http_loopback", false, &o->allow_http_loopback, err)) < 0 ||
            (r = kind_get_list(s, t, "headers", &o->headers, err)) < 0 ||
            (r = kind_get_int(s, t, "timeout_ms", BW_CONNECTOR_TIMEOUT_MS_DEFAULT, &o->timeout_ms, err)) <
                    0 ||
            (r = kind_get_int(s, t, "max_response", BW_CONNECTOR_OUTPUT_MAX, &o->max_response, err)) < 0)
                return r;
        if (!o->url)
                return bw_error_set(err, "missing", "url", "is required");
        return 0;
}

/* Only a literal loopback address: a name such as "localhost" could resolve
 * elsewhere. curl reports an IPv6 host with its brackets. */
static bool http_client_loopback(const char *host) {
        unsigned char a[16];
        if (inet_pton(AF_INET, host, a) == 1)
                return a[0] == 127;
        size_t n = strlen(host);
        char inner[64];
        if (n < 3 || n - 2 >= sizeof(inner) || host[0] != '[' || host[n - 1] != ']')
                return false;
        memcpy(inner, host + 1, n - 2);
        inner[n - 2] = '\0';
        struct in6_addr a6;
        return inet_pton(AF_INET6, inner, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/* Parses url; *ret_plain tells whether it is the plain-HTTP loopback exception. */
static int http_client_check_url(const char *field, const char *url, bool allow_loopback, bool *ret_plain,
                                 bw_error *err) {
        CURLU *u = curl_url();
        if (!u)
                return -ENOMEM;
        char *scheme = NULL, *host = NULL, *user = NULL, *fragment = NULL;
        int r = 0;
        bool plain = false;
        if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
                r = bw_error_set(err, "invalid", field, "not a valid absolute URL");
        else if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
                 curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
                r = bw_error_set(err, "invalid", field, "needs a scheme and a host");
        else if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK)
                r = bw_error_set(err, "invalid", field,
                                 "credentials do not belong in a URL: use token_file");
        else if (curl_url_get(u, CURLUPART_FRAGMENT, &fragment, 0) == CURLUE_OK)
                r = bw_error_set(err, "invalid", field, "a fragment is never sent: remove it");
        else if (strcmp(scheme, "http") == 0 && allow_loopback && http_client_loopback(host))
                plain = true;
        else if (strcmp(scheme, "https") != 0)
                r = bw_error_set(
                        err, "invalid", field,
                        "must be https:// (http:// only to a loopback address with allow_http_loopback)");
        curl_free(scheme);
        curl_free(host);
        curl_free(user);
        curl_free(fragment);
        curl_url_cleanup(u);
        if (r == 0)
                *ret_plain = plain;
        return r;
}

static int http_client_check_header(const char *h, size_t i, bool has_token, bw_error *err) {
        char field[32];
        snprintf(field, sizeof(field), "headers[%zu]", i);
        const char *colon = strchr(h, ':');
        size_t nlen = colon ? (size_t)(colon - h) : 0;
        if (!colon || !str_charset_ok(h, nlen, BW_HTTP_HEADER_NAME_MAX, HTTP_CLIENT_TCHARS))
                return bw_error_set(err, "invalid", field,
                                    "must be \"Name: value\" with a token name of 1..%u",
                                    BW_HTTP_HEADER_NAME_MAX);
        for (const char *p = colon + 1; *p; p++)
                if ((unsigned char)*p < 0x20 && *p != '\t')
                        return bw_error_set(err, "invalid", field,
                                            "control characters (CR, LF) are not allowed");
        for (size_t k = 0; http_client_reserved[k]; k++)
                if (strlen(http_client_reserved[k]) == nlen &&
                    strncasecmp(h, http_client_reserved[k], nlen) == 0)
                        return bw_error_set(err, "invalid", field, "%s is set by Bulwark itself",
                                            http_client_reserved[k]);
        if (has_token && nlen == strlen("Authorization") && strncasecmp(h, "Authorization", nlen) == 0)
                return bw_error_set(err, "invalid", field, "Authorization comes from token_file");
        return 0;
}

static int http_client_full_url(const http_client_opts *o, buf *b) {
        buf_init(b, BW_URL_MAX + BW_URL_MAX);
        return buf_printf(b, "%s%s", o->url, o->path);
}

static int http_client_check(const http_client_opts *o, bool *ret_plain, bw_error *err) {
        bool plain;
        int r = http_client_check_url("url", o->url, o->allow_http_loopback, &plain, err);
        if (r < 0)
                return r;
        if (o->path[0] && o->path[0] != '/')
                return bw_error_set(err, "invalid", "path", "must start with /");
        if (o->path[0]) {
                /* The URL actually requested must pass the same checks. */
                buf full;
                r = http_client_full_url(o, &full);
                if (r == 0)
                        r = http_client_check_url("path", full.data, o->allow_http_loopback, &plain, err);
                buf_free(&full);
                if (r < 0)
                        return r;
        }
        if (strcmp(o->method, "POST") != 0 && strcmp(o->method, "PUT") != 0)
                return bw_error_set(err, "invalid", "method", "must be POST or PUT");
        if (o->token_file && o->token_file[0] != '/')
                return bw_error_set(err, "invalid", "token_file", "must be an absolute path");
        if (o->ca_file && o->ca_file[0] != '/')
                return bw_error_set(err, "invalid", "ca_file", "must be an absolute path");
        for (size_t i = 0; i < json_array_size(o->headers); i++) {
                r = http_client_check_header(json_string_value(json_array_get(o->headers, i)), i,
                                             o->token_file != NULL, err);
                if (r < 0)
                        return r;
        }
        *ret_plain = plain;
        return 0;
}

int http_client_check_settings(const json_t *settings, const setting_spec *table, bw_error *err) {
        http_client_opts o;
        int r = http_client_read_opts(settings, table, &o, err);
        bool plain;
        return r < 0 ? r : http_client_check(&o, &plain, err);
}

static void http_client_wipe_headers(struct curl_slist *l) {
        for (struct curl_slist *p = l; p; p = p->next)
                sodium_memzero(p->data, strlen(p->data));
        curl_slist_free_all(l);
}

/* Appends "Authorization: Bearer <first line of token_file>", wiping every copy
 * but the one curl's list owns (wiped in http_client_free). */
static int http_client_add_token(http_client *c, const char *path, bw_error *err) {
        char *data = NULL;
        size_t len = 0;
        int r = file_read_secret(path, BW_TOKEN_FILE_MAX, &data, &len);
        if (r < 0) {
                bw_error_set(err, "unreadable", "token_file", "%s (a regular file of mode 0600 is required)",
                             strerror(-r));
                return r;
        }
        size_t n = strcspn(data, "\r\n");
        bool printable = n > 0;
        for (size_t i = 0; i < n; i++)
                printable &= data[i] > 0x20 && data[i] < 0x7f;
        buf h;
        buf_init(&h, BW_TOKEN_FILE_MAX + 32);
        if (!printable)
                r = bw_error_set(err, "invalid", "token_file", "must hold one line of printable characters");
        else if ((r = buf_printf(&h, "Authorization: Bearer %.*s", (int)n, data)) < 0)
                bw_error_set(err, "open_failed", "token_file", "%s", strerror(-r));
        if (r == 0) {
                struct curl_slist *l = curl_slist_append(c->headers, h.data);
                if (l)
                        c->headers = l;
                else
                        r = -ENOMEM;
        }
        sodium_memzero(data, len);
        free(data);
        if (h.data)
                sodium_memzero(h.data, h.len);
        buf_free(&h);
        return r;
}

void http_client_free(http_client *c) {
        if (!c)
                return;
        http_client_wipe_headers(c->headers);
        free(c->url);
        free(c->ca_file);
        free(c);
        curl_global_cleanup();
}

int http_client_new(const json_t *settings, const setting_spec *table, http_client **ret, bw_error *err) {
        http_client_opts o;
        bool plain;
        int r = http_client_read_opts(settings, table, &o, err);
        if (r == 0)
                r = http_client_check(&o, &plain, err);
        if (r < 0)
                return r;
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return -ENOMEM;
        http_client *c = calloc(1, sizeof(*c));
        if (!c) {
                curl_global_cleanup();
                return -ENOMEM;
        }
        buf full;
        r = http_client_full_url(&o, &full);
        c->url = r == 0 ? buf_steal(&full, NULL) : NULL;
        buf_free(&full);
        c->protocols = plain ? "http" : "https";
        c->put = strcmp(o.method, "PUT") == 0;
        c->ca_file = str_dup_or_null(o.ca_file);
        c->timeout_ms = (long)o.timeout_ms;
        c->max_response = (size_t)o.max_response;
        /* "Expect:" stops curl from waiting for a 100 Continue on larger bodies. */
        static const char *const fixed[] = {"Content-Type: application/json", "Expect:", NULL};
        r = c->url && (c->ca_file || !o.ca_file) ? 0 : -ENOMEM;
        for (size_t i = 0; r == 0 && fixed[i]; i++) {
                struct curl_slist *l = curl_slist_append(c->headers, fixed[i]);
                r = l ? 0 : -ENOMEM;
                c->headers = l ? l : c->headers;
        }
        for (size_t i = 0; r == 0 && i < json_array_size(o.headers); i++) {
                struct curl_slist *l =
                        curl_slist_append(c->headers, json_string_value(json_array_get(o.headers, i)));
                r = l ? 0 : -ENOMEM;
                c->headers = l ? l : c->headers;
        }
        if (r == 0 && o.token_file)
                r = http_client_add_token(c, o.token_file, err);
        if (r < 0) {
                http_client_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

typedef struct http_client_sink {
        size_t received, max;
        bool too_large;
} http_client_sink;

/* The body is only measured: a 2xx status is the whole answer, and the cap
 * stops a hostile server from streaming without end. */
static size_t http_client_write(char *ptr, size_t size, size_t nmemb, void *userdata) {
        http_client_sink *s = userdata;
        size_t n = size * nmemb;
        if (n > s->max - s->received) {
                s->too_large = true;
                return 0; /* aborts the transfer */
        }
        s->received += n;
        return n;
}

static int http_client_errno(CURLcode cr) {
        switch (cr) {
        case CURLE_OPERATION_TIMEDOUT:
                return -ETIMEDOUT;
        case CURLE_COULDNT_CONNECT:
                return -ECONNREFUSED;
        case CURLE_COULDNT_RESOLVE_HOST:
                return -EHOSTUNREACH;
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        case CURLE_FILESIZE_EXCEEDED:
                return -EMSGSIZE;
        case CURLE_UNSUPPORTED_PROTOCOL:
                return -EPROTONOSUPPORT;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_SSL_CACERT_BADFILE:
                return -EPROTO;
        default:
                return -EIO;
        }
}

int http_client_post(http_client *c, const json_t *body, const char *idempotency_key, connector_result *r) {
        char idem[128];
        int n = snprintf(idem, sizeof(idem), "Idempotency-Key: %s", idempotency_key);
        if (n < 0 || (size_t)n >= sizeof(idem))
                return kind_invalid(r, "idempotency_key: too long");
        char *text = json_dumps(body, JSON_COMPACT);
        CURL *h = text ? curl_easy_init() : NULL;
        if (!h) {
                free(text);
                return -ENOMEM;
        }
        /* A node of our own in front of the fixed list: no copy of the token per request. */
        struct curl_slist first = {.data = idem, .next = c->headers};
        http_client_sink sink = {.max = c->max_response};
        char errbuf[CURL_ERROR_SIZE] = "";
        CURLcode cr = curl_easy_setopt(h, CURLOPT_URL, c->url);
        if (cr == CURLE_OK)
                cr = curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, c->protocols);
        if (cr == CURLE_OK)
                cr = curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, c->protocols);
        if (cr == CURLE_OK)
                cr = curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
        if (cr == CURLE_OK)
                cr = curl_easy_setopt(h, CURLOPT_PROXY, ""); /* never the environment's proxy */
        if (cr == CURLE_OK)
                cr = curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        if (cr == CURLE_OK)
                cr = curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
        if (cr == CURLE_OK)
                cr = curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
        if (cr == CURLE_OK && c->ca_file)
                cr = curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
        if (cr == CURLE_OK)
                cr = curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->timeout_ms);
        if (cr == CURLE_OK)
                cr = curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
        if (cr == CURLE_OK)
                cr = curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->max_response);
        if (cr == CURLE_OK)
                cr = curl_easy_setopt(h, CURLOPT_HTTPHEADER, &first);
        if (cr == CURLE_OK)
                cr = curl_easy_setopt(h, CURLOPT_USERAGENT, "bulwark");
        if (cr == CURLE_OK)
                cr = curl_easy_setopt(h, CURLOPT_POSTFIELDS, text);
        if (cr == CURLE_OK)
                cr = curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(text));
        if (cr == CURLE_OK && c->put)
                cr = curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
        if (cr == CURLE_OK)
                cr = curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, http_client_write);
        if (cr == CURLE_OK)
                cr = curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
        if (cr == CURLE_OK)
                cr = curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
        if (cr == CURLE_OK)
                cr = curl_easy_perform(h);
        long status = 0;
        if (cr == CURLE_OK)
                cr = curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(h);
        free(text);
        if (sink.too_large || cr == CURLE_FILESIZE_EXCEEDED) {
                kind_result(r, false, "response larger than %zu bytes", c->max_response);
                return -EMSGSIZE;
        }
        if (cr != CURLE_OK) {
                kind_result(r, false, "%s", errbuf[0] ? errbuf : curl_easy_strerror(cr));
                return http_client_errno(cr);
        }
        kind_result(r, status >= 200 && status <= 299, "HTTP %ld", status);
        return 0;
}

int http_client_send_action(http_client *c, const connector_kind *k, const connector_action *a,
                            const char *event, connector_result *r) {
        int rc = kind_check_action(k, a, r);
        if (rc < 0)
                return rc;
        json_t *body = kind_action_json(a, event);
        if (!body)
                return -ENOMEM;
        rc = http_client_post(c, body, a->idempotency_key, r);
        json_decref(body);
        return rc;
}
