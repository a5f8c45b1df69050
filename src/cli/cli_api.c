/* SPDX-License-Identifier: Apache-2.0 */
/* libcurl client of the HTTP API (see cli_api.h). Runs in the CLI; replies are
 * untrusted and bounded. */
#include "cli/cli_api.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli_token.h"
#include "core/limits.h"
#include "util/buf.h"
#include "util/strutil.h"

#define API_AUTH_PREFIX "Authorization: Bearer "

struct cli_api {
        CURL *curl;
        char base[CLI_URL_MAX + 1];                            /* without trailing '/' */
        char auth[sizeof(API_AUTH_PREFIX) + BW_TOKEN_MAX_LEN]; /* the whole header line */
};

typedef struct api_reply {
        buf body;
        bool too_large;
        char retry_after[16];
} api_reply;

static bool api_host_is_loopback(const char *host) {
        if (strcasecmp(host, "localhost") == 0)
                return true;
        struct in_addr a4;
        if (inet_pton(AF_INET, host, &a4) == 1)
                return (ntohl(a4.s_addr) >> 24) == 127;
        /* curl returns IPv6 hosts in brackets. */
        size_t n = strlen(host);
        if (n < 3 || host[0] != '[' || host[n - 1] != ']' || n - 2 >= INET6_ADDRSTRLEN)
                return false;
        char inner[INET6_ADDRSTRLEN];
        memcpy(inner, host + 1, n - 2);
        inner[n - 2] = '\0';
        struct in6_addr a6;
        return inet_pton(AF_INET6, inner, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/* True if part is present in u (curl reports an absent part as an error). */
static bool api_url_has(CURLU *u, CURLUPart part) {
        char *v = NULL;
        if (curl_url_get(u, part, &v, 0) != CURLUE_OK)
                return false;
        curl_free(v);
        return true;
}

static int api_check_url(const char *url, bw_error *err) {
        if (strlen(url) > CLI_URL_MAX)
                return bw_error_set(err, "too_large", "url", "the URL is longer than %u bytes", CLI_URL_MAX);
        CURLU *u = curl_url();
        if (!u)
                return -ENOMEM;
        char *scheme = NULL, *host = NULL;
        int r = 0;
        if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
                r = bw_error_set(err, "invalid", "url", "not a URL: expected http(s)://host[:port]");
        else if (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0)
                r = bw_error_set(err, "invalid", "url", "only http and https URLs are supported");
        else if (strcmp(scheme, "http") == 0 && !api_host_is_loopback(host))
                r = bw_error_set(err, "invalid", "url",
                                 "plain http is allowed only to a loopback address (the token would "
                                 "cross the network in clear): use https");
        else if (api_url_has(u, CURLUPART_USER))
                r = bw_error_set(err, "invalid", "url",
                                 "credentials in the URL are not supported: use --token-file");
        else if (api_url_has(u, CURLUPART_QUERY) || api_url_has(u, CURLUPART_FRAGMENT))
                r = bw_error_set(err, "invalid", "url", "the base URL must not have a query or fragment");
        curl_free(scheme);
        curl_free(host);
        curl_url_cleanup(u);
        return r;
}

int cli_api_open(const char *url, const char *token_file, cli_api **ret, bw_error *err) {
        int r = api_check_url(url, err);
        if (r < 0)
                return r;
        cli_api *a = calloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        str_copy(a->base, sizeof(a->base), url);
        for (size_t n = strlen(a->base); n > 0 && a->base[n - 1] == '/'; n--)
                a->base[n - 1] = '\0';
        size_t plen = strlen(API_AUTH_PREFIX);
        memcpy(a->auth, API_AUTH_PREFIX, plen);
        r = cli_token_read(token_file, a->auth + plen, sizeof(a->auth) - plen, err);
        if (r < 0) {
                cli_api_free(a);
                return r;
        }
        a->curl = curl_easy_init();
        if (!a->curl) {
                cli_api_free(a);
                return -ENOMEM;
        }
        *ret = a;
        return 0;
}

static size_t api_on_body(char *data, size_t size, size_t nmemb, void *userdata) {
        api_reply *reply = userdata;
        size_t n = size * nmemb;
        int r = buf_append(&reply->body, data, n);
        if (r == -EMSGSIZE)
                reply->too_large = true;
        /* Returning less than n aborts the transfer with CURLE_WRITE_ERROR. */
        return r < 0 ? 0 : n;
}

static size_t api_on_header(char *data, size_t size, size_t nmemb, void *userdata) {
        api_reply *reply = userdata;
        size_t n = size * nmemb;
        static const char name[] = "Retry-After:";
        if (n > sizeof(name) - 1 && strncasecmp(data, name, sizeof(name) - 1) == 0) {
                size_t i = sizeof(name) - 1, k = 0;
                while (i < n && (data[i] == ' ' || data[i] == '\t'))
                        i++;
                /* Only delta-seconds are kept: the value is printed to the user. */
                while (i < n && k + 1 < sizeof(reply->retry_after) && data[i] >= '0' && data[i] <= '9')
                        reply->retry_after[k++] = data[i++];
                reply->retry_after[k] = '\0';
        }
        return n;
}

static int api_errno_of(CURLcode c, bool too_large) {
        switch (c) {
        case CURLE_OPERATION_TIMEDOUT:
                return -ETIMEDOUT;
        case CURLE_COULDNT_CONNECT:
                return -ECONNREFUSED;
        case CURLE_COULDNT_RESOLVE_HOST:
                return -EHOSTUNREACH;
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        case CURLE_WRITE_ERROR:
                return too_large ? -EFBIG : -ENOMEM;
        default:
                return -EIO;
        }
}

/* Header lists hold a copy of the token: wipe it before curl frees the nodes. */
static void api_slist_free_wiped(struct curl_slist *l) {
        for (struct curl_slist *p = l; p; p = p->next)
                sodium_memzero(p->data, strlen(p->data));
        curl_slist_free_all(l);
}

static int api_headers(const cli_api *a, const char *content_type, struct curl_slist **ret) {
        char ctype[128];
        struct curl_slist *h = curl_slist_append(NULL, a->auth);
        /* No "Expect: 100-continue" round trip before a batch body. */
        struct curl_slist *t = h ? curl_slist_append(h, "Expect:") : NULL;
        if (t && content_type) {
                int n = snprintf(ctype, sizeof(ctype), "Content-Type: %s", content_type);
                t = n > 0 && (size_t)n < sizeof(ctype) ? curl_slist_append(t, ctype) : NULL;
        }
        if (!t) {
                api_slist_free_wiped(h);
                return -ENOMEM;
        }
        *ret = t;
        return 0;
}

static int api_setup(cli_api *a, const char *url, const char *method, const char *body, size_t len,
                     struct curl_slist *headers, api_reply *reply, char *errbuf) {
        CURL *c = a->curl;
        curl_easy_reset(c);
        bool ok = curl_easy_setopt(c, CURLOPT_URL, url) == CURLE_OK &&
                  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
                  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
                  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK &&
                  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK &&
                  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
                  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, CLI_CONNECT_TIMEOUT_MS) == CURLE_OK &&
                  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, CLI_REQUEST_TIMEOUT_MS) == CURLE_OK &&
                  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)CLI_RESPONSE_MAX) == CURLE_OK &&
                  curl_easy_setopt(c, CURLOPT_USERAGENT, "bulwark-cli") == CURLE_OK &&
                  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers) == CURLE_OK &&
                  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, api_on_body) == CURLE_OK &&
                  curl_easy_setopt(c, CURLOPT_WRITEDATA, reply) == CURLE_OK &&
                  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, api_on_header) == CURLE_OK &&
                  curl_easy_setopt(c, CURLOPT_HEADERDATA, reply) == CURLE_OK &&
                  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf) == CURLE_OK;
        /* The bearer token must never reach a proxy in clear: plain HTTP goes
         * straight to the daemon whatever http_proxy says. Through a proxy,
         * HTTPS is a CONNECT tunnel, and the token stays inside TLS. */
        if (ok && strncasecmp(url, "https://", 8) != 0)
                ok = curl_easy_setopt(c, CURLOPT_PROXY, "") == CURLE_OK;
        if (!ok)
                return -ENOMEM;
        if (strcmp(method, "GET") == 0)
                ok = curl_easy_setopt(c, CURLOPT_HTTPGET, 1L) == CURLE_OK;
        else if (strcmp(method, "POST") == 0)
                ok = curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len) == CURLE_OK &&
                     curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "") == CURLE_OK;
        else
                return -EINVAL;
        return ok ? 0 : -ENOMEM;
}

int cli_api_request(cli_api *a, const char *method, const char *path, const char *content_type,
                    const char *body, size_t len, cli_response *ret, bw_error *err) {
        char url[CLI_URL_MAX + 512];
        int n = snprintf(url, sizeof(url), "%s%s", a->base, path);
        if (n < 0 || (size_t)n >= sizeof(url))
                return bw_error_set(err, "too_large", "url", "the request URL is too long");
        struct curl_slist *headers = NULL;
        int r = api_headers(a, content_type, &headers);
        if (r < 0)
                return r;
        api_reply reply = {0};
        buf_init(&reply.body, CLI_RESPONSE_MAX);
        char errbuf[CURL_ERROR_SIZE] = "";
        r = api_setup(a, url, method, body, len, headers, &reply, errbuf);
        if (r == -EINVAL)
                bw_error_set(err, "invalid", "method", "unsupported method %s", method);
        if (r == 0) {
                CURLcode c = curl_easy_perform(a->curl);
                /* A Content-Length over the cap stops the transfer before the body. */
                if (c == CURLE_FILESIZE_EXCEEDED) {
                        reply.too_large = true;
                        c = CURLE_WRITE_ERROR;
                }
                if (c != CURLE_OK) {
                        r = api_errno_of(c, reply.too_large);
                        if (reply.too_large)
                                bw_error_set(err, "too_large", "url",
                                             "%s: the reply is larger than %u bytes", url, CLI_RESPONSE_MAX);
                        else
                                bw_error_set(err, "unreachable", "url", "%s: %s", url,
                                             errbuf[0] ? errbuf : curl_easy_strerror(c));
                }
        }
        long status = 0;
        if (r == 0 && curl_easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
                r = -EIO;
        /* The handle keeps pointers to the list and the reply: drop them now. */
        curl_easy_reset(a->curl);
        api_slist_free_wiped(headers);
        if (r < 0) {
                buf_free(&reply.body);
                return r;
        }
        cli_response resp = {.status = status};
        resp.body = buf_steal(&reply.body, &resp.len);
        if (!resp.body)
                return -ENOMEM;
        memcpy(resp.retry_after, reply.retry_after, sizeof(resp.retry_after));
        *ret = resp;
        return 0;
}

void cli_response_error(const cli_response *r, bw_error *ret) {
        json_t *root = json_loadb(r->body, r->len, 0, NULL);
        json_t *e = json_object_get(root, "error");
        const char *code = json_string_value(json_object_get(e, "code"));
        const char *message = json_string_value(json_object_get(e, "message"));
        const char *field = json_string_value(json_object_get(e, "field"));
        char fallback[32];
        snprintf(fallback, sizeof(fallback), "http_%ld", r->status);
        if (message)
                bw_error_set(ret, code ? code : fallback, field, "%s", message);
        else if (r->len > 0)
                bw_error_set(ret, fallback, NULL, "%.200s", r->body);
        else
                bw_error_set(ret, fallback, NULL, "HTTP status %ld", r->status);
        json_decref(root);
}

void cli_response_clear(cli_response *r) {
        if (!r)
                return;
        free(r->body);
        *r = (cli_response){0};
}

void cli_api_free(cli_api *a) {
        if (!a)
                return;
        if (a->curl)
                curl_easy_cleanup(a->curl);
        sodium_memzero(a->auth, sizeof(a->auth));
        free(a);
}
