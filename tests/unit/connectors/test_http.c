/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the http and notify connectors against a real HTTP server on
 * 127.0.0.1 (plain sockets, in a thread): method, path, headers and JSON body
 * as received, status handling, the response cap and the token file rules. */
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
        size_t size = srv.response_size;
        pthread_mutex_unlock(&srv.lock);
        free(data);
        char hdr[256];
        int n = snprintf(hdr, sizeof(hdr),
                         "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", status, size);
        if (write(c, hdr, (size_t)n) != n)
                return;
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

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_http_request_sends_headers_and_body, setup, teardown),
                cmocka_unit_test_setup_teardown(test_http_put_and_error_status, setup, teardown),
                cmocka_unit_test_setup_teardown(test_http_oversize_response_is_an_error, setup, teardown),
                cmocka_unit_test_setup_teardown(test_http_refusals_at_open, setup, teardown),
                cmocka_unit_test_setup_teardown(test_http_transport_errors, setup, teardown),
                cmocka_unit_test_setup_teardown(test_notify_sends_event, setup, teardown),
                cmocka_unit_test_setup_teardown(test_https_verifies_the_server, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
