/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the connector unit tests (see conn_test.h). Test code only. */
#include "conn_test.h"

#include "util/strutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <ftw.h>
#include <nftables/libnftables.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

test_action *test_action_new(const char *verb, target_kind kind, const char *const *targets,
                             const char *params) {
        test_action *t = calloc(1, sizeof(*t));
        if (!t)
                abort();
        size_t n = 0;
        while (targets && targets[n])
                n++;
        t->targets = calloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++)
                t->targets[i] = strdup(targets[i]);
        t->params = params ? json_loads(params, 0, NULL) : json_object();
        if (!t->targets || !t->params)
                abort();
        t->a = (connector_action){
                .action_id = 42,
                .verb = verb,
                .kind = kind,
                .targets = t->targets,
                .n_targets = n,
                .params = t->params,
                .idempotency_key = TEST_KEY,
        };
        return t;
}

void test_action_free(test_action *t) {
        if (!t)
                return;
        for (size_t i = 0; i < t->a.n_targets; i++)
                free(t->targets[i]);
        free(t->targets);
        json_decref(t->params);
        free(t);
}

char *test_tmpdir(void) {
        char *d = strdup("/tmp/bw-conn-test-XXXXXX");
        if (!d || !mkdtemp(d))
                abort();
        return d;
}

static int test_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

void test_tmpdir_remove(char *dir) {
        if (!dir)
                return;
        nftw(dir, test_rm_one, 16, FTW_DEPTH | FTW_PHYS);
        free(dir);
}

char *test_write_file(const char *dir, const char *name, const char *content, mode_t mode) {
        char *path = NULL;
        if (asprintf(&path, "%s/%s", dir, name) < 0)
                abort();
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        if (fd < 0 || write(fd, content, strlen(content)) != (ssize_t)strlen(content) ||
            fchmod(fd, mode) < 0)
                abort();
        close(fd);
        return path;
}

char *test_read_file(const char *path) {
        FILE *f = fopen(path, "re");
        if (!f)
                return NULL;
        char *data = NULL;
        size_t cap = 0;
        ssize_t n = getdelim(&data, &cap, '\0', f);
        fclose(f);
        if (n < 0) {
                free(data);
                return strdup("");
        }
        return data;
}

long long test_number(const char *s) {
        char digits[32];
        size_t n = s ? strcspn(s, "\r\n\t ") : 0;
        int64_t v;
        if (n == 0 || n >= sizeof(digits))
                return -1;
        memcpy(digits, s, n);
        digits[n] = '\0';
        return parse_int64(digits, 0, INT64_MAX, &v) == 0 ? (long long)v : -1;
}

int test_enter_netns(void) {
        return unshare(CLONE_NEWNET) < 0 ? -errno : 0;
}

static struct nft_ctx *test_nft_ctx(void) {
        struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        if (!ctx)
                abort();
        nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_JSON);
        nft_ctx_buffer_output(ctx);
        nft_ctx_buffer_error(ctx);
        return ctx;
}

int test_nft_cmd(const char *cmd) {
        struct nft_ctx *ctx = test_nft_ctx();
        int r = nft_run_cmd_from_buffer(ctx, cmd);
        nft_ctx_free(ctx);
        return r;
}

static json_t *test_nft_key(const json_t *val) {
        if (json_is_string(val))
                return json_string(json_string_value(val));
        const json_t *p = json_object_get(val, "prefix");
        char text[128];
        snprintf(text, sizeof(text), "%s/%lld", json_string_value(json_object_get(p, "addr")),
                 (long long)json_integer_value(json_object_get(p, "len")));
        return json_string(text);
}

json_t *test_nft_elements(const char *family, const char *table, const char *set) {
        struct nft_ctx *ctx = test_nft_ctx();
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "list set %s %s %s", family, table, set);
        json_t *result = NULL;
        if (nft_run_cmd_from_buffer(ctx, cmd) == 0) {
                json_t *root = json_loads(nft_ctx_get_output_buffer(ctx), 0, NULL);
                result = json_object();
                json_t *items = json_object_get(root, "nftables");
                for (size_t i = 0; i < json_array_size(items); i++) {
                        json_t *elems =
                                json_object_get(json_object_get(json_array_get(items, i), "set"), "elem");
                        for (size_t k = 0; k < json_array_size(elems); k++) {
                                json_t *e = json_array_get(elems, k);
                                json_t *inner = json_object_get(e, "elem");
                                json_t *key = test_nft_key(inner ? json_object_get(inner, "val") : e);
                                json_int_t timeout = json_integer_value(json_object_get(inner, "timeout"));
                                json_object_set_new(result, json_string_value(key), json_integer(timeout));
                                json_decref(key);
                        }
                }
                json_decref(root);
        }
        nft_ctx_free(ctx);
        return result;
}

bool test_wait_exit(pid_t pid) {
        int fd = (int)syscall(SYS_pidfd_open, pid, 0);
        if (fd < 0)
                return errno == ESRCH;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n;
        do
                n = poll(&p, 1, 30000);
        while (n < 0 && errno == EINTR);
        close(fd);
        return n == 1;
}

pid_t test_spawn(char *const argv[], const char *input) {
        int in[2];
        if (pipe2(in, O_CLOEXEC) < 0)
                return -1;
        pid_t pid = fork();
        if (pid == 0) {
                int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
                if (null < 0 || dup2(in[0], STDIN_FILENO) < 0 || dup2(null, STDOUT_FILENO) < 0 ||
                    dup2(null, STDERR_FILENO) < 0)
                        _exit(126);
                execvp(argv[0], argv);
                _exit(127);
        }
        close(in[0]);
        size_t len = input ? strlen(input) : 0;
        if (pid > 0 && len && write(in[1], input, len) != (ssize_t)len)
                abort();
        close(in[1]);
        return pid;
}

int test_run(char *const argv[]) {
        pid_t pid = test_spawn(argv, NULL);
        int status;
        if (pid < 0 || waitpid(pid, &status, 0) < 0)
                return -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
