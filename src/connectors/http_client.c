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

/* Methods a request may use; "method" (apply) allows the first two. */
static const char *const http_client_methods[] = {"POST", "PUT", "PATCH", "DELETE"};
#define HTTP_CLIENT_APPLY_METHODS 2u
#define HTTP_CLIENT_ALL_METHODS (sizeof(http_client_methods) / sizeof(http_client_methods[0]))

/* The client's requests: apply, and the optional snapshot and rollback pair. */
typedef enum {
        HTTP_CLIENT_APPLY,
        HTTP_CLIENT_SNAPSHOT,
        HTTP_CLIENT_ROLLBACK,
        _HTTP_CLIENT_ENDPOINT_MAX,
} http_client_endpoint_id;

typedef struct http_client_endpoint {
        char *url;             /* NULL: not configured */
        const char *protocols; /* "https", or "http" for the loopback exception */
        const char *method;    /* "GET" or one of http_client_methods */
} http_client_endpoint;

struct http_client {
        http_client_endpoint to[_HTTP_CLIENT_ENDPOINT_MAX];
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
        const char *snapshot_url, *rollback_url, *rollback_method;
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
            (r = kind_get_str(s, t, "snapshot_url", NULL, &o->snapshot_url, err)) < 0 ||
            (r = kind_get_str(s, t, "rollback_url", NULL, &o->rollback_url, err)) < 0 ||
            (r = kind_get_str(s, t, "rollback_method", NULL, &o->rollback_method, err)) < 0 ||
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

/* The entry of http_client_methods[0..n) that method names, or NULL. */
static const char *http_client_method(const char *method, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(method, http_client_methods[i]) == 0)
                        return http_client_methods[i];
        return NULL;
}

/* The snapshot and rollback URLs, a pair or neither: half a pair would record
 * a state nothing restores, or restore one nothing recorded. */
static int http_client_check_pair(const http_client_opts *o, bool plain[], bw_error *err) {
        if (!o->snapshot_url != !o->rollback_url)
                return bw_error_set(err, "missing", o->snapshot_url ? "rollback_url" : "snapshot_url",
                                    "is required with %s",
                                    o->snapshot_url ? "snapshot_url" : "rollback_url");
        if (o->rollback_method && !o->rollback_url)
                return bw_error_set(err, "invalid", "rollback_method", "needs rollback_url");
        if (o->rollback_method && !http_client_method(o->rollback_method, HTTP_CLIENT_ALL_METHODS))
                return bw_error_set(err, "invalid", "rollback_method", "must be POST, PUT, PATCH or DELETE");
        int r = 0;
        if (o->snapshot_url)
                r = http_client_check_url("snapshot_url", o->snapshot_url, o->allow_http_loopback,
                                          &plain[HTTP_CLIENT_SNAPSHOT], err);
        if (r == 0 && o->rollback_url)
                r = http_client_check_url("rollback_url", o->rollback_url, o->allow_http_loopback,
                                          &plain[HTTP_CLIENT_ROLLBACK], err);
        return r;
}

/* plain[e]: whether endpoint e's URL is the plain-HTTP loopback exception. */
static int http_client_check(const http_client_opts *o, bool plain[], bw_error *err) {
        int r = http_client_check_url("url", o->url, o->allow_http_loopback, &plain[HTTP_CLIENT_APPLY], err);
        if (r < 0)
                return r;
        if (o->path[0] && o->path[0] != '/')
                return bw_error_set(err, "invalid", "path", "must start with /");
        if (o->path[0]) {
                /* The URL actually requested must pass the same checks. */
                buf full;
                r = http_client_full_url(o, &full);
                if (r == 0)
                        r = http_client_check_url("path", full.data, o->allow_http_loopback,
                                                  &plain[HTTP_CLIENT_APPLY], err);
                buf_free(&full);
                if (r < 0)
                        return r;
        }
        if (!http_client_method(o->method, HTTP_CLIENT_APPLY_METHODS))
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
        return http_client_check_pair(o, plain, err);
}

int http_client_check_settings(const json_t *settings, const setting_spec *table, bw_error *err) {
        http_client_opts o;
        int r = http_client_read_opts(settings, table, &o, err);
        bool plain[_HTTP_CLIENT_ENDPOINT_MAX];
        return r < 0 ? r : http_client_check(&o, plain, err);
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
        const char *why = NULL;
        int r = file_read_secret(path, BW_TOKEN_FILE_MAX, &data, &len, &why);
        if (r == -EPERM) {
                bw_error_set(err, "insecure", "token_file", "%s", why);
                return r;
        }
        if (r < 0) {
                bw_error_set(err, "unreadable", "token_file", "%s", strerror(-r));
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
        for (size_t i = 0; i < _HTTP_CLIENT_ENDPOINT_MAX; i++)
                free(c->to[i].url);
        free(c->ca_file);
        free(c);
        curl_global_cleanup();
}

int http_client_confine(const http_client *c, sandbox_profile *p) {
        /* The resolver's files, the system's trust store (GnuTLS, p11-kit) and
         * the libraries glibc's name service and p11-kit load on demand. */
        static const char *const system[] = {
                "/etc/resolv.conf",
                "/etc/hosts",
                "/etc/nsswitch.conf",
                "/etc/host.conf",
                "/etc/gai.conf",
                "/etc/ssl",
                "/etc/ca-certificates",
                "/etc/pki",
                "/etc/gnutls",
                "/etc/pkcs11",
                "/usr/share/ca-certificates",
                "/usr/share/p11-kit",
                "/usr/share/pki",
                "/usr/lib",
                "/lib",
                "/lib64",
        };
        p->syscalls = SANDBOX_SYSCALLS_HTTP;
        int r = 0;
        for (size_t i = 0; r == 0 && i < sizeof(system) / sizeof(system[0]); i++)
                r = sandbox_profile_add(p, system[i], SANDBOX_READ, true);
        if (r == 0 && c->ca_file)
                r = sandbox_profile_add(p, c->ca_file, SANDBOX_READ, false);
        return r;
}

/* Fills c->to[] from the checked options. Returns 0 or -ENOMEM. */
static int http_client_endpoints(http_client *c, const http_client_opts *o, const bool plain[]) {
        buf full;
        int r = http_client_full_url(o, &full);
        c->to[HTTP_CLIENT_APPLY] = (http_client_endpoint){
                .url = r == 0 ? buf_steal(&full, NULL) : NULL,
                .method = http_client_method(o->method, HTTP_CLIENT_APPLY_METHODS),
        };
        buf_free(&full);
        if (!c->to[HTTP_CLIENT_APPLY].url)
                return -ENOMEM;
        if (o->snapshot_url) {
                c->to[HTTP_CLIENT_SNAPSHOT] =
                        (http_client_endpoint){.url = strdup(o->snapshot_url), .method = "GET"};
                c->to[HTTP_CLIENT_ROLLBACK] = (http_client_endpoint){
                        .url = strdup(o->rollback_url),
                        .method = o->rollback_method
                                          ? http_client_method(o->rollback_method, HTTP_CLIENT_ALL_METHODS)
                                          : "POST",
                };
                if (!c->to[HTTP_CLIENT_SNAPSHOT].url || !c->to[HTTP_CLIENT_ROLLBACK].url)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < _HTTP_CLIENT_ENDPOINT_MAX; i++)
                c->to[i].protocols = plain[i] ? "http" : "https";
        return 0;
}

int http_client_new(const json_t *settings, const setting_spec *table, http_client **ret, bw_error *err) {
        http_client_opts o;
        bool plain[_HTTP_CLIENT_ENDPOINT_MAX] = {false};
        int r = http_client_read_opts(settings, table, &o, err);
        if (r == 0)
                r = http_client_check(&o, plain, err);
        if (r < 0)
                return r;
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return -ENOMEM;
        http_client *c = calloc(1, sizeof(*c));
        if (!c) {
                curl_global_cleanup();
                return -ENOMEM;
        }
        c->ca_file = str_dup_or_null(o.ca_file);
        c->timeout_ms = (long)o.timeout_ms;
        c->max_response = (size_t)o.max_response;
        r = http_client_endpoints(c, &o, plain);
        if (r == 0 && !c->ca_file && o.ca_file)
                r = -ENOMEM;
        /* "Expect:" stops curl from waiting for a 100 Continue on larger bodies. */
        if (r == 0) {
                struct curl_slist *l = curl_slist_append(c->headers, "Expect:");
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
        bool too_large, no_memory;
        buf *keep; /* NULL: the body is only measured */
} http_client_sink;

/* Apply and rollback only measure the body (a 2xx status is the whole answer);
 * a snapshot keeps it. Either way the cap stops a hostile server from streaming
 * without end. */
static size_t http_client_write(char *ptr, size_t size, size_t nmemb, void *userdata) {
        http_client_sink *s = userdata;
        size_t n = size * nmemb;
        if (n > s->max - s->received) {
                s->too_large = true;
                return 0; /* aborts the transfer */
        }
        if (s->keep && buf_append(s->keep, ptr, n) < 0) {
                s->no_memory = true;
                return 0;
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

/* Sends text as JSON (NULL: nothing, a GET) to endpoint e, with the header
 * "Idempotency-Key: <key><suffix>" when key is not NULL; with reply, keeps the
 * response body there (reply->max is at least max_response). Returns as
 * http_client_post. */
static int http_client_perform(http_client *c, http_client_endpoint_id e, const char *text, const char *key,
                               const char *suffix, buf *reply, connector_result *r) {
        const http_client_endpoint *to = &c->to[e];
        if (!to->url) {
                kind_result(r, false, "no %s configured",
                            e == HTTP_CLIENT_SNAPSHOT ? "snapshot_url" : "rollback_url");
                return -EOPNOTSUPP;
        }
        char idem[128];
        int n = key ? snprintf(idem, sizeof(idem), "Idempotency-Key: %s%s", key, suffix) : 0;
        if (n < 0 || (size_t)n >= sizeof(idem))
                return kind_invalid(r, "idempotency_key: too long");
        CURL *h = curl_easy_init();
        if (!h)
                return -ENOMEM;
        /* Nodes of our own in front of the fixed list: no copy of the token per request. */
        struct curl_slist type = {.data = (char *)"Content-Type: application/json", .next = c->headers};
        struct curl_slist first = {.data = idem, .next = text ? &type : c->headers};
        struct curl_slist *head = key ? &first : first.next;
        http_client_sink sink = {.max = c->max_response, .keep = reply};
        char errbuf[CURL_ERROR_SIZE] = "";
        CURLcode cr = curl_easy_setopt(h, CURLOPT_URL, to->url);
        if (cr == CURLE_OK)
                cr = curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, to->protocols);
        if (cr == CURLE_OK)
                cr = curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, to->protocols);
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
                cr = curl_easy_setopt(h, CURLOPT_HTTPHEADER, head);
        if (cr == CURLE_OK)
                cr = curl_easy_setopt(h, CURLOPT_USERAGENT, "bulwark");
        if (cr == CURLE_OK && text)
                cr = curl_easy_setopt(h, CURLOPT_POSTFIELDS, text);
        if (cr == CURLE_OK && text)
                cr = curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(text));
        if (cr == CURLE_OK && text && strcmp(to->method, "POST") != 0)
                cr = curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, to->method);
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
        if (sink.no_memory)
                return -ENOMEM;
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

/* Sends body as JSON to endpoint e; see http_client_post. */
static int http_client_send(http_client *c, http_client_endpoint_id e, const json_t *body, const char *key,
                            const char *suffix, connector_result *r) {
        char *text = json_dumps(body, JSON_COMPACT);
        if (!text)
                return -ENOMEM;
        int rc = http_client_perform(c, e, text, key, suffix, NULL, r);
        free(text);
        return rc;
}

int http_client_post(http_client *c, const json_t *body, const char *idempotency_key, connector_result *r) {
        return http_client_send(c, HTTP_CLIENT_APPLY, body, idempotency_key, "", r);
}

int http_client_rollback(http_client *c, const json_t *body, const char *idempotency_key,
                         connector_result *r) {
        /* A key of its own: a server that remembers keys must not answer the
         * rollback with the stored reply to the apply. */
        return http_client_send(c, HTTP_CLIENT_ROLLBACK, body, idempotency_key, "-rollback", r);
}

int http_client_snapshot(http_client *c, connector_result *r) {
        buf reply;
        buf_init(&reply, c->max_response);
        /* A GET is idempotent by nature: no key. */
        int rc = http_client_perform(c, HTTP_CLIENT_SNAPSHOT, NULL, NULL, "", &reply, r);
        json_t *j = rc == 0 && r->ok ? json_loadb(reply.data ? reply.data : "", reply.len,
                                                  JSON_REJECT_DUPLICATES, NULL)
                                     : NULL;
        buf_free(&reply);
        if (rc < 0 || !r->ok)
                return rc;
        /* A detail never quotes the body: it holds whatever the targets' state holds. */
        if (!json_is_object(j)) {
                kind_result(r, false, "snapshot_url did not answer one JSON object: %s",
                            j ? "JSON, but not an object" : "invalid JSON");
                json_decref(j);
                return -EPROTO;
        }
        r->data = j;
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
