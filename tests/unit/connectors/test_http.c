/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the http and notify connectors against a real HTTP server on
 * 127.0.0.1 (plain sockets, in a thread): method, path, headers and JSON body
 * as received, status handling, the response cap, the token file rules, and
 * the snapshot GET and rollback request of a reversible integration. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conn_test.h"
#include "connectors/connector.h"
#include "util/strutil.h"

/* The last request received and the response to give. */
typedef struct server {
        int fd;
        unsigned short port;
        pthread_t thread;
        pthread_mutex_t lock;
        int status;
        size_t response_size;
        const char *response_body; /* sent instead of response_size bytes of 'x' */
        int requests;
        char *head; /* request line and headers */
        char *body;
} server;

static server srv;
static char *dir;

/* Reads one request: headers to the blank line, then Content-Length bytes. */
static void server_handle(int c) {
        char *data = NULL;
        size_t len = 0, cap = 0, head_end = 0, need = 0;
        for (;;) {
                if (len + 4096 > cap) {
                        cap = (len + 4096) * 2;
                        data = realloc(data, cap + 1);
                }
                ssize_t n = read(c, data + len, cap - len);
                if (n <= 0)
                        break;
                len += (size_t)n;
                data[len] = '\0';
                char *end = strstr(data, "\r\n\r\n");
                if (end && !head_end) {
                        head_end = (size_t)(end - data) + 4;
                        char *cl = strcasestr(data, "\r\nContent-Length:");
                        long long v = cl && cl < end ? test_number(cl + 17 + strspn(cl + 17, " ")) : 0;
                        need = v > 0 ? (size_t)v : 0;
                }
                if (head_end && len >= head_end + need)
                        break;
        }
        pthread_mutex_lock(&srv.lock);
        free(srv.head);
        free(srv.body);
        srv.head = head_end ? strndup(data, head_end) : NULL;
        srv.body = head_end ? strndup(data + head_end, need) : NULL;
        srv.requests++;
        int status = srv.status;
        const char *body = srv.response_body;
        size_t size = body ? strlen(body) : srv.response_size;
        pthread_mutex_unlock(&srv.lock);
        free(data);
        char hdr[256];
        int n = snprintf(hdr, sizeof(hdr),
                         "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", status, size);
        if (write(c, hdr, (size_t)n) != n)
                return;
        if (body) {
                if (write(c, body, size) != (ssize_t)size)
                        return;
                size = 0;
        }
        char chunk[4096];
        memset(chunk, 'x', sizeof(chunk));
        for (size_t sent = 0; sent < size;) {
                size_t k = size - sent < sizeof(chunk) ? size - sent : sizeof(chunk);
                ssize_t w = write(c, chunk, k);
                if (w <= 0)
                        break;
                sent += (size_t)w;
        }
}

static void *server_main(void *arg) {
        for (;;) {
                int c = accept4(srv.fd, NULL, NULL, SOCK_CLOEXEC);
                if (c < 0)
                        return NULL;
                server_handle(c);
                close(c);
        }
}

static int setup(void **state) {
        srv = (server){.status = 200, .response_size = 2};
        pthread_mutex_init(&srv.lock, NULL);
        srv.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t alen = sizeof(a);
        assert_int_equal(bind(srv.fd, (struct sockaddr *)&a, sizeof(a)), 0);
        assert_int_equal(listen(srv.fd, 16), 0);
        assert_int_equal(getsockname(srv.fd, (struct sockaddr *)&a, &alen), 0);
        srv.port = ntohs(a.sin_port);
        assert_int_equal(pthread_create(&srv.thread, NULL, server_main, NULL), 0);
        dir = test_tmpdir();
        return 0;
}

static int teardown(void **state) {
        shutdown(srv.fd, SHUT_RDWR);
        close(srv.fd);
        pthread_join(srv.thread, NULL);
        free(srv.head);
        free(srv.body);
        pthread_mutex_destroy(&srv.lock);
        test_tmpdir_remove(dir);
        return 0;
}

/* The value of header name in the last request, or NULL (caller frees). */
static char *header(const char *name) {
        char needle[128];
        snprintf(needle, sizeof(needle), "\r\n%s:", name);
        char *p = strcasestr(srv.head, needle);
        if (!p)
                return NULL;
        p += strlen(needle);
        while (*p == ' ')
                p++;
        return strndup(p, strcspn(p, "\r\n"));
}

static void assert_header(const char *name, const char *value) {
        char *v = header(name);
        if (!v)
                fail_msg("no %s header in:\n%s", name, srv.head);
        assert_string_equal(v, value);
        free(v);
}

static void *open_kind(const char *kind, int *ret_r, bw_error *err, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static void *open_kind(const char *kind, int *ret_r, bw_error *err, const char *fmt, ...) {
        char text[2048];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        json_t *s = json_loads(text, 0, NULL);
        assert_non_null(s);
        void *state = NULL;
        *err = (bw_error){0};
        *ret_r = connector_kind_find(kind)->open(s, &state, err);
        json_decref(s);
        return state;
}

static void test_http_request_sends_headers_and_body(void **state) {
        char *tok = test_write_file(dir, "token", "s3cret-token-value\n", 0600);
        free(tok);
        bw_error err;
        int r;
        void *c = open_kind(
                "http", &r, &err,
                "{\"url\":\"http://127.0.0.1:%u\",\"allow_http_loopback\":true,\"path\":\"/isolate\","
                "\"token_file\":\"%s/token\",\"headers\":[\"X-Tenant: acme\"]}",
                srv.port, dir);
        assert_int_equal(r, 0);
        const char *hosts[] = {"ws-042.corp.example", NULL};
        test_action *t =
                test_action_new("request", TARGET_HOST, hosts, "{\"reason\":\"malware\",\"ttl\":3}");
        connector_result res = {0};
        assert_int_equal(connector_kind_find("http")->ops[CONNECTOR_OP_APPLY](c, &t->a, &res), 0);
        assert_true(res.ok);
        assert_string_equal(res.detail, "HTTP 200");
        connector_result_clear(&res);

        assert_int_equal(srv.requests, 1);
        assert_memory_equal(srv.head, "POST /isolate HTTP/1.1\r\n", strlen("POST /isolate HTTP/1.1\r\n"));
        assert_header("Idempotency-Key", TEST_KEY);
        assert_header("Authorization", "Bearer s3cret-token-value");
        assert_header("X-Tenant", "acme");
        assert_header("Content-Type", "application/json");
        json_t *body = json_loads(srv.body, 0, NULL);
        assert_non_null(body);
        assert_int_equal(json_integer_value(json_object_get(body, "action_id")), 42);
        assert_string_equal(json_string_value(json_object_get(body, "idempotency_key")), TEST_KEY);
        assert_string_equal(json_string_value(json_object_get(body, "verb")), "request");
        assert_string_equal(json_string_value(json_object_get(body, "target_kind")), "host");
        assert_int_equal(json_array_size(json_object_get(body, "targets")), 1);
        assert_string_equal(json_string_value(json_array_get(json_object_get(body, "targets"), 0)),
                            "ws-042.corp.example");
        assert_string_equal(json_string_value(json_object_get(json_object_get(body, "params"), "reason")),
                            "malware");
        assert_int_equal(json_integer_value(json_object_get(json_object_get(body, "params"), "ttl")), 3);
        json_decref(body);

        /* A target the kind cannot take is refused before anything is sent. */
        const char *bad[] = {"line\r\nbreak", NULL};
        test_action *t2 = test_action_new("request", TARGET_STRING, bad, NULL);
        assert_int_equal(connector_kind_find("http")->ops[CONNECTOR_OP_APPLY](c, &t2->a, &res), -EINVAL);
        assert_int_equal(srv.requests, 1);
        test_action_free(t2);
        test_action_free(t);
        connector_kind_find("http")->close(c);
}

static void test_http_put_and_error_status(void **state) {
        bw_error err;
        int r;
        void *c = open_kind(
                "http", &r, &err,
                "{\"url\":\"http://127.0.0.1:%u/api\",\"allow_http_loopback\":true,\"method\":\"PUT\"}",
                srv.port);
        assert_int_equal(r, 0);
        test_action *t = test_action_new("request", TARGET_NONE, NULL, NULL);
        connector_result res = {0};
        srv.status = 503;
        assert_int_equal(connector_kind_find("http")->ops[CONNECTOR_OP_APPLY](c, &t->a, &res), 0);
        assert_false(res.ok);
        assert_string_equal(res.detail, "HTTP 503");
        connector_result_clear(&res);
        assert_memory_equal(srv.head, "PUT /api HTTP/1.1\r\n", strlen("PUT /api HTTP/1.1\r\n"));
        char *auth = header("Authorization");
        assert_null(auth);
        srv.status = 201;
        assert_int_equal(connector_kind_find("http")->ops[CONNECTOR_OP_APPLY](c, &t->a, &res), 0);
        assert_true(res.ok);
        assert_string_equal(res.detail, "HTTP 201");
        connector_result_clear(&res);
        test_action_free(t);
        connector_kind_find("http")->close(c);
}

static void test_http_oversize_response_is_an_error(void **state) {
        bw_error err;
        int r;
        void *c = open_kind(
                "http", &r, &err,
                "{\"url\":\"http://127.0.0.1:%u\",\"allow_http_loopback\":true,\"max_response\":1024}",
                srv.port);
        assert_int_equal(r, 0);
        test_action *t = test_action_new("request", TARGET_NONE, NULL, NULL);
        connector_result res = {0};
        srv.response_size = 100000;
        assert_int_equal(connector_kind_find("http")->ops[CONNECTOR_OP_APPLY](c, &t->a, &res), -EMSGSIZE);
        assert_non_null(strstr(res.detail, "1024"));
        connector_result_clear(&res);
        srv.response_size = 1024;
        assert_int_equal(connector_kind_find("http")->ops[CONNECTOR_OP_APPLY](c, &t->a, &res), 0);
        assert_true(res.ok);
        connector_result_clear(&res);
        test_action_free(t);
        connector_kind_find("http")->close(c);
}

static void test_http_refusals_at_open(void **state) {
        bw_error err;
        int r;
        /* A token file others can read is refused. */
        char *tok = test_write_file(dir, "loose", "token\n", 0644);
        free(tok);
        void *c = open_kind(
                "http", &r, &err,
                "{\"url\":\"http://127.0.0.1:%u\",\"allow_http_loopback\":true,\"token_file\":\"%s/loose\"}",
                srv.port, dir);
        assert_int_equal(r, -EPERM);
        assert_null(c);
        assert_string_equal(err.field, "token_file");
        /* Plain HTTP to anything but loopback, even when loopback is allowed. */
        c = open_kind("http", &r, &err, "{\"url\":\"http://192.0.2.1:%u\",\"allow_http_loopback\":true}",
                      srv.port);
        assert_int_equal(r, -EINVAL);
        assert_string_equal(err.field, "url");
        c = open_kind("notify", &r, &err, "{\"url\":\"http://127.0.0.1:%u\"}", srv.port);
        assert_int_equal(r, -EINVAL);
        assert_string_equal(err.field, "url");
        assert_int_equal(srv.requests, 0);
}

static void test_http_transport_errors(void **state) {
        /* A port with nothing behind it: the listening socket's, once closed. */
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t alen = sizeof(a);
        assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
        char settings[128];
        snprintf(settings, sizeof(settings),
                 "{\"url\":\"http://127.0.0.1:%u\",\"allow_http_loopback\":true}", ntohs(a.sin_port));
        close(fd);
        json_t *s = json_loads(settings, 0, NULL);
        void *c = NULL;
        bw_error err;
        assert_int_equal(connector_kind_find("notify")->open(s, &c, &err), 0);
        json_decref(s);
        test_action *t = test_action_new("send", TARGET_NONE, NULL, NULL);
        connector_result res = {0};
        assert_int_equal(connector_kind_find("notify")->ops[CONNECTOR_OP_APPLY](c, &t->a, &res),
                         -ECONNREFUSED);
        connector_result_clear(&res);
        test_action_free(t);
        connector_kind_find("notify")->close(c);
}

static void test_notify_sends_event(void **state) {
        bw_error err;
        int r;
        void *c = open_kind("notify", &r, &err,
                            "{\"url\":\"http://[::1]:%u/hook\",\"allow_http_loopback\":true}", srv.port);
        assert_int_equal(r, 0);
        connector_kind_find("notify")->close(c);
        /* The server listens on IPv4 loopback only; the IPv6 URL was for the check. */
        c = open_kind("notify", &r, &err,
                      "{\"url\":\"http://127.0.0.1:%u/hook\",\"allow_http_loopback\":true}", srv.port);
        assert_int_equal(r, 0);
        const char *ips[] = {"192.0.2.1", "192.0.2.2", NULL};
        test_action *t = test_action_new("send", TARGET_IP, ips, "{\"text\":\"host isolated\"}");
        connector_result res = {0};
        assert_int_equal(connector_kind_find("notify")->ops[CONNECTOR_OP_VALIDATE](c, &t->a, &res), 0);
        assert_true(res.ok);
        assert_int_equal(srv.requests, 0);
        assert_int_equal(connector_kind_find("notify")->ops[CONNECTOR_OP_APPLY](c, &t->a, &res), 0);
        assert_true(res.ok);
        connector_result_clear(&res);
        assert_memory_equal(srv.head, "POST /hook HTTP/1.1\r\n", strlen("POST /hook HTTP/1.1\r\n"));
        assert_header("Idempotency-Key", TEST_KEY);
        json_t *body = json_loads(srv.body, 0, NULL);
        assert_string_equal(json_string_value(json_object_get(body, "event")), "bulwark.action");
        assert_string_equal(json_string_value(json_object_get(body, "verb")), "send");
        assert_string_equal(json_string_value(json_object_get(body, "target_kind")), "ip");
        assert_int_equal(json_array_size(json_object_get(body, "targets")), 2);
        assert_string_equal(json_string_value(json_object_get(json_object_get(body, "params"), "text")),
                            "host isolated");
        json_decref(body);
        test_action_free(t);
        connector_kind_find("notify")->close(c);
}

/* An openssl s_server for one connection on a free loopback port, answering
 * with response; *ret_port is its port. */
static pid_t tls_server(const char *cert, const char *key, const char *response, unsigned *ret_port) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t alen = sizeof(a);
        assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
        close(fd);
        char accept_on[64];
        snprintf(accept_on, sizeof(accept_on), "127.0.0.1:%u", ntohs(a.sin_port));
        char *argv[] = {"openssl", "s_server", "-quiet",     "-naccept", "1",         "-accept",
                        accept_on, "-cert",    (char *)cert, "-key",     (char *)key, NULL};
        pid_t pid = test_spawn(argv, response);
        assert_true(pid > 0);
        /* Ready when it accepts; the probe must not use up its one connection,
         * so readiness is read from /proc/net/tcp instead of by connecting. */
        char needle[32];
        snprintf(needle, sizeof(needle), ":%04X 00000000:0000 0A", ntohs(a.sin_port));
        bool up = false;
        for (int i = 0; i < 400 && !up; i++) {
                char *tcp = test_read_file("/proc/net/tcp");
                up = tcp && strstr(tcp, needle);
                free(tcp);
                if (!up)
                        usleep(25000);
        }
        assert_true(up);
        *ret_port = ntohs(a.sin_port);
        return pid;
}

static void tls_server_stop(pid_t pid) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
}

/* Real TLS (openssl s_server) with a certificate for 127.0.0.1 only: an
 * untrusted certificate and a name mismatch are refused; with ca_file the
 * request goes through. */
static void test_https_verifies_the_server(void **state) {
        char key[512], cert[512], other_key[512], other_cert[512];
        snprintf(key, sizeof(key), "%s/k.pem", dir);
        snprintf(cert, sizeof(cert), "%s/c.pem", dir);
        snprintf(other_key, sizeof(other_key), "%s/ok.pem", dir);
        snprintf(other_cert, sizeof(other_cert), "%s/oc.pem", dir);
        char *gen[] = {"openssl",  "req",
                       "-x509",    "-newkey",
                       "rsa:2048", "-nodes",
                       "-days",    "1",
                       "-subj",    "/CN=127.0.0.1",
                       "-addext",  "subjectAltName=IP:127.0.0.1",
                       "-keyout",  key,
                       "-out",     cert,
                       NULL};
        if (test_run(gen) != 0)
                skip();
        char *gen_other[] = {"openssl",  "req",
                             "-x509",    "-newkey",
                             "rsa:2048", "-nodes",
                             "-days",    "1",
                             "-subj",    "/CN=bulwark.invalid",
                             "-addext",  "subjectAltName=DNS:bulwark.invalid",
                             "-keyout",  other_key,
                             "-out",     other_cert,
                             NULL};
        assert_int_equal(test_run(gen_other), 0);

        const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        test_action *t = test_action_new("request", TARGET_NONE, NULL, NULL);
        connector_result res = {0};
        const connector_kind *http = connector_kind_find("http");
        bw_error err;
        int r;
        unsigned port;

        /* Self-signed, not trusted: refused. */
        pid_t tls = tls_server(cert, key, ok, &port);
        void *c = open_kind("http", &r, &err, "{\"url\":\"https://127.0.0.1:%u\"}", port);
        assert_int_equal(r, 0);
        assert_int_equal(http->ops[CONNECTOR_OP_APPLY](c, &t->a, &res), -EPROTO);
        http->close(c);
        tls_server_stop(tls);

        /* Trusted CA, wrong name: refused (the server presents the other certificate). */
        tls = tls_server(other_cert, other_key, ok, &port);
        c = open_kind("http", &r, &err, "{\"url\":\"https://127.0.0.1:%u\",\"ca_file\":\"%s\"}", port,
                      other_cert);
        assert_int_equal(r, 0);
        assert_int_equal(http->ops[CONNECTOR_OP_APPLY](c, &t->a, &res), -EPROTO);
        http->close(c);
        tls_server_stop(tls);

        /* Trusted CA, right name: the request goes through. */
        tls = tls_server(cert, key, ok, &port);
        c = open_kind("http", &r, &err, "{\"url\":\"https://127.0.0.1:%u\",\"ca_file\":\"%s\"}", port, cert);
        assert_int_equal(r, 0);
        assert_int_equal(http->ops[CONNECTOR_OP_APPLY](c, &t->a, &res), 0);
        assert_true(res.ok);
        assert_string_equal(res.detail, "HTTP 200");
        http->close(c);
        tls_server_stop(tls);
        test_action_free(t);
}

/* The first line of the last request. */
static void assert_request_line(const char *line) {
        size_t n = strlen(line);
        if (!srv.head || strncmp(srv.head, line, n) != 0 || strncmp(srv.head + n, "\r\n", 2) != 0)
                fail_msg("expected %s, got:\n%s", line, srv.head ? srv.head : "(no request)");
}

/* An http integration with settings has snapshot and rollback, and is
 * reversible, exactly when want says; it can always apply, never verify. */
static void assert_reversible(const json_t *settings, bool want) {
        const connector_kind *http = connector_kind_find("http");
        assert_int_equal(connector_kind_has_op(http, settings, CONNECTOR_OP_SNAPSHOT), want);
        assert_int_equal(connector_kind_has_op(http, settings, CONNECTOR_OP_ROLLBACK), want);
        assert_int_equal(connector_action_reversible(http, settings, "request"), want);
        assert_true(connector_kind_has_op(http, settings, CONNECTOR_OP_APPLY));
        assert_false(connector_kind_has_op(http, settings, CONNECTOR_OP_VERIFY));
}

static void test_http_snapshot_get_and_rollback_request(void **state) {
        char *tok = test_write_file(dir, "token", "s3cret-token-value\n", 0600);
        free(tok);
        const connector_kind *http = connector_kind_find("http");
        char text[2048];
        snprintf(text, sizeof(text),
                 "{\"url\":\"http://127.0.0.1:%u/api\",\"allow_http_loopback\":true,\"path\":\"/isolate\","
                 "\"token_file\":\"%s/token\",\"headers\":[\"X-Tenant: acme\"],"
                 "\"snapshot_url\":\"http://127.0.0.1:%u/api/state?host=ws-042\","
                 "\"rollback_url\":\"http://127.0.0.1:%u/api/restore\",\"rollback_method\":\"PATCH\"}",
                 srv.port, dir, srv.port, srv.port);
        json_t *settings = json_loads(text, 0, NULL);
        assert_non_null(settings);
        bw_error err;
        assert_int_equal(http->check_settings(settings, &err), 0);
        assert_reversible(settings, true);
        void *c = NULL;
        assert_int_equal(http->open(settings, &c, &err), 0);
        json_decref(settings);

        const char *hosts[] = {"ws-042.corp.example", NULL};
        test_action *t = test_action_new("request", TARGET_HOST, hosts, "{\"reason\":\"malware\"}");
        connector_result res = {0};
        srv.response_body = "{\"isolated\":false,\"policy\":\"default\",\"tags\":[\"vip\"]}";
        assert_int_equal(http->ops[CONNECTOR_OP_SNAPSHOT](c, &t->a, &res), 0);
        assert_true(res.ok);
        assert_string_equal(res.detail, "HTTP 200");
        json_t *expect = json_loads(srv.response_body, 0, NULL);
        assert_true(json_equal(res.data, expect));
        json_t *snapshot = json_incref(res.data);
        connector_result_clear(&res);
        /* A GET with the integration's headers and token, no body, no key. */
        assert_int_equal(srv.requests, 1);
        assert_request_line("GET /api/state?host=ws-042 HTTP/1.1");
        assert_header("Authorization", "Bearer s3cret-token-value");
        assert_header("X-Tenant", "acme");
        assert_null(header("Content-Type"));
        assert_null(header("Idempotency-Key"));
        assert_string_equal(srv.body, "");

        /* Rollback without the snapshot sends nothing. */
        srv.response_body = NULL;
        assert_int_equal(http->ops[CONNECTOR_OP_ROLLBACK](c, &t->a, &res), -EINVAL);
        assert_non_null(strstr(res.detail, "snapshot: missing"));
        assert_int_equal(srv.requests, 1);

        t->a.snapshot = snapshot;
        assert_int_equal(http->ops[CONNECTOR_OP_ROLLBACK](c, &t->a, &res), 0);
        assert_true(res.ok);
        assert_string_equal(res.detail, "HTTP 200");
        connector_result_clear(&res);
        assert_int_equal(srv.requests, 2);
        assert_request_line("PATCH /api/restore HTTP/1.1");
        assert_header("Authorization", "Bearer s3cret-token-value");
        assert_header("X-Tenant", "acme");
        assert_header("Content-Type", "application/json");
        assert_header("Idempotency-Key", TEST_KEY "-rollback");
        json_t *body = json_loads(srv.body, 0, NULL);
        assert_non_null(body);
        assert_int_equal(json_object_size(body), 2);
        assert_true(json_equal(json_object_get(body, "snapshot"), expect));
        /* The action exactly as apply sends it. */
        t->a.snapshot = NULL;
        assert_int_equal(http->ops[CONNECTOR_OP_APPLY](c, &t->a, &res), 0);
        connector_result_clear(&res);
        assert_request_line("POST /api/isolate HTTP/1.1");
        json_t *applied = json_loads(srv.body, 0, NULL);
        assert_non_null(applied);
        assert_true(json_equal(json_object_get(body, "action"), applied));
        assert_string_equal(json_string_value(json_array_get(json_object_get(applied, "targets"), 0)),
                            "ws-042.corp.example");
        json_decref(applied);
        json_decref(body);

        /* A failed rollback is the op's outcome. */
        t->a.snapshot = snapshot;
        srv.status = 409;
        assert_int_equal(http->ops[CONNECTOR_OP_ROLLBACK](c, &t->a, &res), 0);
        assert_false(res.ok);
        assert_string_equal(res.detail, "HTTP 409");
        connector_result_clear(&res);

        json_decref(expect);
        json_decref(snapshot);
        test_action_free(t);
        http->close(c);
}

/* An http integration on the test server with extra (one JSON member), GET
 * /state for snapshots and /restore for rollbacks. */
static void *open_reversible(const char *extra) {
        bw_error err;
        int r;
        void *c = open_kind("http", &r, &err,
                            "{\"url\":\"http://127.0.0.1:%u\",\"allow_http_loopback\":true,%s,"
                            "\"snapshot_url\":\"http://127.0.0.1:%u/state\","
                            "\"rollback_url\":\"http://127.0.0.1:%u/restore\"}",
                            srv.port, extra, srv.port, srv.port);
        assert_int_equal(r, 0);
        return c;
}

/* SNAPSHOT against an integration whose snapshot_url answers status and body. */
static int snapshot_answer(int status, const char *body, connector_result *res) {
        const connector_kind *http = connector_kind_find("http");
        void *c = open_reversible("\"max_response\":1024");
        test_action *t = test_action_new("request", TARGET_NONE, NULL, NULL);
        srv.status = status;
        srv.response_body = body;
        *res = (connector_result){0};
        int r = http->ops[CONNECTOR_OP_SNAPSHOT](c, &t->a, res);
        test_action_free(t);
        http->close(c);
        return r;
}

static void test_http_snapshot_needs_a_2xx_json_object(void **state) {
        connector_result res;
        assert_int_equal(snapshot_answer(404, "{\"error\":\"no such host\"}", &res), 0);
        assert_false(res.ok);
        assert_string_equal(res.detail, "HTTP 404");
        assert_null(res.data);
        connector_result_clear(&res);

        /* Not JSON: an error that says so without quoting the body. */
        assert_int_equal(snapshot_answer(200, "<html>session=abc123</html>", &res), -EPROTO);
        assert_false(res.ok);
        assert_string_equal(res.detail, "snapshot_url did not answer one JSON object: invalid JSON");
        assert_null(strstr(res.detail, "abc123"));
        assert_null(res.data);
        connector_result_clear(&res);

        assert_int_equal(snapshot_answer(200, "[{\"isolated\":false}]", &res), -EPROTO);
        assert_string_equal(res.detail,
                            "snapshot_url did not answer one JSON object: JSON, but not an object");
        connector_result_clear(&res);

        assert_int_equal(snapshot_answer(204, "", &res), -EPROTO);
        assert_string_equal(res.detail, "snapshot_url did not answer one JSON object: invalid JSON");
        connector_result_clear(&res);

        /* Over max_response: refused, as apply's answers are. */
        char big[2048];
        memset(big, ' ', sizeof(big) - 3);
        memcpy(big + sizeof(big) - 3, "{}", 3);
        assert_int_equal(snapshot_answer(200, big, &res), -EMSGSIZE);
        assert_non_null(strstr(res.detail, "1024"));
        connector_result_clear(&res);

        assert_int_equal(snapshot_answer(201, "{\"n\":1}", &res), 0);
        assert_true(res.ok);
        assert_int_equal(json_integer_value(json_object_get(res.data, "n")), 1);
        connector_result_clear(&res);
        assert_request_line("GET /state HTTP/1.1");
}

static void test_http_rollback_defaults_to_post(void **state) {
        const connector_kind *http = connector_kind_find("http");
        /* Apply's method does not carry over to rollback. */
        void *c = open_reversible("\"method\":\"PUT\"");
        test_action *t = test_action_new("request", TARGET_NONE, NULL, NULL);
        json_t *snapshot = json_pack("{sb}", "isolated", 0);
        t->a.snapshot = snapshot;
        connector_result res = {0};
        assert_int_equal(http->ops[CONNECTOR_OP_ROLLBACK](c, &t->a, &res), 0);
        assert_true(res.ok);
        connector_result_clear(&res);
        assert_request_line("POST /restore HTTP/1.1");
        json_t *body = json_loads(srv.body, 0, NULL);
        assert_true(json_equal(json_object_get(body, "snapshot"), snapshot));
        assert_string_equal(json_string_value(json_object_get(json_object_get(body, "action"), "verb")),
                            "request");
        json_decref(body);
        json_decref(snapshot);
        test_action_free(t);
        http->close(c);
}

static void test_http_snapshot_settings(void **state) {
        const connector_kind *http = connector_kind_find("http");
        bw_error err;
        /* Neither: no snapshot, no rollback, not reversible. */
        json_t *plain = json_pack("{ss}", "url", "https://edr.example/api");
        assert_int_equal(http->check_settings(plain, &err), 0);
        assert_reversible(plain, false);
        void *c = NULL;
        assert_int_equal(http->open(plain, &c, &err), 0);
        test_action *t = test_action_new("request", TARGET_NONE, NULL, NULL);
        connector_result res = {0};
        assert_int_equal(http->ops[CONNECTOR_OP_SNAPSHOT](c, &t->a, &res), -EOPNOTSUPP);
        assert_string_equal(res.detail, "no snapshot_url configured");
        test_action_free(t);
        http->close(c);
        json_decref(plain);

        /* Members added to {"url": "https://edr.example/api"} and the field the
         * error names (NULL: accepted). */
        static const struct {
                const char *members, *field;
        } cases[] = {
                /* One without the other names the missing one. */
                {"\"snapshot_url\":\"https://edr.example/state\"", "rollback_url"},
                {"\"rollback_url\":\"https://edr.example/restore\"", "snapshot_url"},
                /* Each URL passes url's checks. */
                {"\"snapshot_url\":\"http://edr.example/state\",\"rollback_url\":\"https://edr.example/r\"",
                 "snapshot_url"},
                {"\"snapshot_url\":\"https://edr.example/state\",\"rollback_url\":\"http://127.0.0.1/r\"",
                 "rollback_url"},
                {"\"snapshot_url\":\"https://u:pw@edr.example/s\",\"rollback_url\":\"https://edr.example/"
                 "r\"",
                 "snapshot_url"},
                /* rollback_method: one of four, and only with rollback_url. */
                {"\"snapshot_url\":\"https://edr.example/s\",\"rollback_url\":\"https://edr.example/r\","
                 "\"rollback_method\":\"GET\"",
                 "rollback_method"},
                {"\"rollback_method\":\"PUT\"", "rollback_method"},
                {"\"snapshot_url\":\"https://edr.example/s\",\"rollback_url\":\"https://edr.example/r\","
                 "\"rollback_method\":\"DELETE\"",
                 NULL},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char text[1024];
                snprintf(text, sizeof(text), "{\"url\":\"https://edr.example/api\",%s}", cases[i].members);
                json_t *s = json_loads(text, 0, NULL);
                assert_non_null(s);
                err = (bw_error){0};
                int r = http->check_settings(s, &err);
                if (!cases[i].field) {
                        assert_int_equal(r, 0);
                        assert_reversible(s, true);
                        json_decref(s);
                        continue;
                }
                assert_int_equal(r, -EINVAL);
                assert_string_equal(err.field, cases[i].field);
                /* open makes the same checks. */
                c = NULL;
                err = (bw_error){0};
                assert_int_equal(http->open(s, &c, &err), -EINVAL);
                assert_null(c);
                assert_string_equal(err.field, cases[i].field);
                json_decref(s);
        }
        /* notify has no snapshot: the key is unknown to it. */
        json_t *n = json_pack("{ss ss ss}", "url", "https://chat.example/hook", "snapshot_url",
                              "https://chat.example/s", "rollback_url", "https://chat.example/r");
        assert_int_equal(connector_kind_find("notify")->check_settings(n, &err), -EINVAL);
        assert_string_equal(err.code, "unknown_key");
        json_decref(n);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_http_request_sends_headers_and_body, setup, teardown),
                cmocka_unit_test_setup_teardown(test_http_put_and_error_status, setup, teardown),
                cmocka_unit_test_setup_teardown(test_http_oversize_response_is_an_error, setup, teardown),
                cmocka_unit_test_setup_teardown(test_http_refusals_at_open, setup, teardown),
                cmocka_unit_test_setup_teardown(test_http_transport_errors, setup, teardown),
                cmocka_unit_test_setup_teardown(test_notify_sends_event, setup, teardown),
                cmocka_unit_test_setup_teardown(test_https_verifies_the_server, setup, teardown),
                cmocka_unit_test_setup_teardown(test_http_snapshot_get_and_rollback_request, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_http_snapshot_needs_a_2xx_json_object, setup, teardown),
                cmocka_unit_test_setup_teardown(test_http_rollback_defaults_to_post, setup, teardown),
                cmocka_unit_test_setup_teardown(test_http_snapshot_settings, setup, teardown),
        };
        /* The fake server may write to a client that already hung up (a refused
         * oversize reply): that must be an error in the test, not a kill. */
        signal(SIGPIPE, SIG_IGN);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
