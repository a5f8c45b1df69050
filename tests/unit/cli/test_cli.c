/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the `bulwark` CLI: the fixtures shared by the groups (temporary
 * directories, captured output, a loopback HTTP server) and main. */
#include "cli_tests.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

void tmpdir_make(char path[TMPDIR_MAX]) {
        snprintf(path, TMPDIR_MAX, "/tmp/bw-cli-test-XXXXXX");
        assert_non_null(mkdtemp(path));
}

static int tmpdir_unlink(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

void tmpdir_remove(const char *path) {
        assert_int_equal(nftw(path, tmpdir_unlink, 16, FTW_DEPTH | FTW_PHYS), 0);
}

void file_put(const char *dir, const char *name, const char *text, mode_t mode, char ret_path[PATH_MAX]) {
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        assert_true(fd >= 0);
        assert_int_equal(fchmod(fd, mode), 0);
        size_t len = strlen(text);
        assert_int_equal(write(fd, text, len), (ssize_t)len);
        close(fd);
        if (ret_path)
                memcpy(ret_path, path, PATH_MAX);
}

char *file_get(const char *path) {
        FILE *f = fopen(path, "re");
        assert_non_null(f);
        char *data = calloc(1, 1 << 20);
        assert_non_null(data);
        size_t n = fread(data, 1, (1 << 20) - 1, f);
        data[n] = '\0';
        fclose(f);
        return data;
}

void capture_open(capture *c, const char *url, const char *token_file) {
        *c = (capture){0};
        c->ctx.url = url ? url : CLI_DEFAULT_URL;
        c->ctx.token_file = token_file;
        c->ctx.out = open_memstream(&c->out, &c->out_len);
        c->ctx.err = open_memstream(&c->err, &c->err_len);
        assert_non_null(c->ctx.out);
        assert_non_null(c->ctx.err);
}

void capture_close(capture *c) {
        fclose(c->ctx.out);
        fclose(c->ctx.err);
        c->ctx.out = c->ctx.err = NULL;
}

void capture_free(capture *c) {
        free(c->out);
        free(c->err);
        *c = (capture){0};
}

/* --- the loopback HTTP server ---------------------------------------------------- */

static size_t server_content_length(const char *head) {
        const char *p = strcasestr(head, "\r\nContent-Length:");
        return p ? strtoul(p + 17, NULL, 10) : 0;
}

static void server_serve(fake_server *s, int fd) {
        char head[sizeof(s->head)];
        size_t len = 0;
        char *eoh = NULL;
        while (!eoh && len < sizeof(head) - 1) {
                ssize_t n = recv(fd, head + len, sizeof(head) - 1 - len, 0);
                if (n <= 0)
                        return;
                len += (size_t)n;
                head[len] = '\0';
                eoh = strstr(head, "\r\n\r\n");
        }
        if (!eoh)
                return;
        size_t hlen = (size_t)(eoh - head) + 4;
        size_t blen = server_content_length(head);
        char *body = calloc(1, blen + 1);
        if (!body)
                return;
        size_t have = len - hlen < blen ? len - hlen : blen;
        memcpy(body, head + hlen, have);
        while (have < blen) {
                ssize_t n = recv(fd, body + have, blen - have, 0);
                if (n <= 0)
                        break;
                have += (size_t)n;
        }
        pthread_mutex_lock(&s->lock);
        s->n_requests++;
        memcpy(s->head, head, hlen);
        s->head[hlen] = '\0';
        free(s->body);
        s->body = body;
        s->body_len = have;
        pthread_mutex_unlock(&s->lock);

        size_t rlen = s->reply_len ? s->reply_len : strlen(s->reply);
        char reply_head[1024];
        int n = snprintf(reply_head, sizeof(reply_head),
                         "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n%s"
                         "Connection: close\r\n\r\n",
                         s->status, rlen, s->headers ? s->headers : "");
        send(fd, reply_head, (size_t)n, MSG_NOSIGNAL);
        for (size_t off = 0; off < rlen;) {
                ssize_t w = send(fd, s->reply + off, rlen - off, MSG_NOSIGNAL);
                if (w <= 0)
                        break;
                off += (size_t)w;
        }
}

static void *server_main(void *arg) {
        fake_server *s = arg;
        while (!atomic_load(&s->stop)) {
                struct pollfd p = {.fd = s->fd, .events = POLLIN};
                if (poll(&p, 1, 50) <= 0)
                        continue;
                int fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
                if (fd < 0)
                        continue;
                server_serve(s, fd);
                close(fd);
        }
        return NULL;
}

void fake_server_start(fake_server *s) {
        s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(s->fd >= 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t alen = sizeof(a);
        assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
        assert_int_equal(listen(s->fd, 16), 0);
        assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &alen), 0);
        s->port = ntohs(a.sin_port);
        snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%u", s->port);
        atomic_store(&s->stop, false);
        pthread_mutex_init(&s->lock, NULL);
        assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
}

void fake_server_stop(fake_server *s) {
        atomic_store(&s->stop, true);
        pthread_join(s->thread, NULL);
        close(s->fd);
        pthread_mutex_destroy(&s->lock);
        free(s->body);
        s->body = NULL;
}

/* --- the fixture of the API tests ------------------------------------------------ */

int api_fixture_setup(void **state) {
        api_fixture *f = calloc(1, sizeof(*f));
        assert_non_null(f);
        tmpdir_make(f->dir);
        file_put(f->dir, "token", TEST_TOKEN "\n", 0600, f->token_file);
        f->server.status = 200;
        f->server.reply = "{}";
        fake_server_start(&f->server);
        *state = f;
        return 0;
}

int api_fixture_teardown(void **state) {
        api_fixture *f = *state;
        capture_free(&f->c);
        fake_server_stop(&f->server);
        tmpdir_remove(f->dir);
        free(f);
        return 0;
}

int main(void) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return 1;
        int failed = offline_tests() + api_tests() + breaker_tests() + approval_tests();
        curl_global_cleanup();
        return failed == 0 ? 0 : 1;
}
