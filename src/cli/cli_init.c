/* SPDX-License-Identifier: Apache-2.0 */
/* `bulwark init DIR [--force]`: writes a ready set-up (configuration, API token,
 * an nft playbook, a sample alert) with absolute paths. Runs in the CLI; the
 * only input is the directory name given by the user. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/limits.h"
#include "util/buf.h"
#include "util/fileio.h"

static const char init_usage[] =
        "usage: bulwark init DIR [--force]\n"
        "  writes DIR/bulwark.yaml, DIR/token, DIR/playbooks/block-ssh-bruteforce.yaml\n"
        "  and DIR/alerts/sample.json; --force overwrites existing files.\n";

/* The generated files are small; this bounds each one's text. */
#define INIT_FILE_MAX (16u * 1024u)

typedef enum {
        INIT_FILE_CONFIG,
        INIT_FILE_TOKEN,
        INIT_FILE_PLAYBOOK,
        INIT_FILE_ALERT,
        _INIT_FILE_MAX,
} init_file;

static const struct {
        const char *name; /* relative to DIR */
        mode_t mode;
} init_files[_INIT_FILE_MAX] = {
        [INIT_FILE_CONFIG] = {"bulwark.yaml", 0644},
        [INIT_FILE_TOKEN] = {"token", 0600},
        [INIT_FILE_PLAYBOOK] = {"playbooks/block-ssh-bruteforce.yaml", 0644},
        [INIT_FILE_ALERT] = {"alerts/sample.json", 0644},
};

/* Sub-directories; data/ holds the database and the audit trail, so it is
 * private to the daemon's user. */
static const struct {
        const char *name;
        mode_t mode;
} init_dirs[] = {{"playbooks", 0755}, {"alerts", 0755}, {"data", 0700}};

static const char init_playbook[] =
        "# Written by `bulwark init`. Blocks the sources of an SSH brute-force attack\n"
        "# at the edge firewall for one hour, automatically (level 3: reversible).\n"
        "name: block-ssh-bruteforce\n"
        "version: 1\n"
        "author: bulwark-init\n"
        "description: Block the source addresses of an SSH brute-force attack for one hour.\n"
        "trigger:\n"
        "  type: ssh.bruteforce\n"
        "  min_severity: high\n"
        "automation_level: 3\n"
        "steps:\n"
        "  - id: block-sources\n"
        "    action: nft.block\n"
        "    integration: edge-fw\n"
        "    targets: alert.observables.ips\n"
        "    params:\n"
        "      timeout_s: 3600\n";

/* No observed_at: the server stamps the time of arrival, so the sample never
 * falls outside the accepted clock skew. */
static const char init_alert[] = "{\n"
                                 "  \"source\": \"sshd\",\n"
                                 "  \"type\": \"ssh.bruteforce\",\n"
                                 "  \"severity\": \"high\",\n"
                                 "  \"observables\": {\n"
                                 "    \"ips\": [\"203.0.113.7\"],\n"
                                 "    \"accounts\": [\"root\"],\n"
                                 "    \"hosts\": [\"bastion-1\"]\n"
                                 "  },\n"
                                 "  \"labels\": {\n"
                                 "    \"env\": \"demo\"\n"
                                 "  }\n"
                                 "}\n";

/* Appends s to b as the inside of a YAML double-quoted scalar. Paths may hold
 * ':', '#' or spaces, which plain scalars cannot; control characters are
 * refused outright. */
static int init_yaml_escape(buf *b, const char *s) {
        int r = 0;
        for (const char *p = s; r == 0 && *p; p++) {
                if ((unsigned char)*p < 0x20 || *p == 0x7F)
                        return -EINVAL;
                if (*p == '"' || *p == '\\')
                        r = buf_append(b, "\\", 1);
                if (r == 0)
                        r = buf_append(b, p, 1);
        }
        return r;
}

/* Appends `key: "<dir>/<name>"` and a newline. */
static int init_yaml_path(buf *b, const char *key, const char *dir, const char *name) {
        int r = buf_printf(b, "%s: \"", key);
        if (r == 0)
                r = init_yaml_escape(b, dir);
        return r < 0 ? r : buf_printf(b, "/%s\"\n", name);
}

static int init_config_text(const char *dir, buf *b) {
        int r = buf_printf(b, "# Bulwark configuration written by `bulwark init`.\n"
                              "listen: \"127.0.0.1:8080\"\n");
        if (r == 0)
                r = init_yaml_path(b, "data_dir", dir, "data");
        if (r == 0)
                r = buf_printf(b,
                               "store:\n"
                               "  backend: sqlite\n"
                               "workers: %u\n"
                               "queue:\n"
                               "  capacity: %u\n"
                               "api:\n",
                               BW_WORKERS_DEFAULT, BW_QUEUE_CAPACITY_DEFAULT);
        if (r == 0)
                r = init_yaml_path(b, "  token_file", dir, "token");
        if (r == 0)
                r = init_yaml_path(b, "playbook_dir", dir, "playbooks");
        if (r == 0)
                r = buf_printf(b,
                               "log_level: info\n"
                               "integrations:\n"
                               "  # The edge firewall: a table of its own with one set per address\n"
                               "  # family, created at start-up if missing (never flushed).\n"
                               "  - name: edge-fw\n"
                               "    kind: nft\n"
                               "    settings:\n"
                               "      family: inet\n"
                               "      table: bulwark\n"
                               "      set_v4: blocklist_v4\n"
                               "      set_v6: blocklist_v6\n"
                               "      create: true\n"
                               "  # Where the governor tells people what it refused, when the circuit\n"
                               "  # breaker opens, and which approvals wait. Point it at your chat or\n"
                               "  # pager webhook (https://...); until then the messages fail and are\n"
                               "  # logged.\n"
                               "  - name: soc-chat\n"
                               "    kind: notify\n"
                               "    settings:\n"
                               "      url: \"http://127.0.0.1:9099/bulwark\"\n"
                               "      allow_http_loopback: true\n"
                               "governor:\n"
                               "  notify: soc-chat\n"
                               "  # Never touched, whatever a playbook or an alert says. Built in and\n"
                               "  # not removable: loopback, unspecified, link-local, multicast and\n"
                               "  # broadcast addresses, the listen address and every address of this\n"
                               "  # host. Add what must never be blocked or disabled here.\n"
                               "  protected:\n"
                               "    ips:\n"
                               "      - 10.0.0.0/8        # private networks (RFC 1918): your own hosts\n"
                               "      - 172.16.0.0/12\n"
                               "      - 192.168.0.0/16\n"
                               "      - 100.64.0.0/10     # carrier-grade NAT (RFC 6598)\n"
                               "      - fc00::/7          # unique local IPv6 (RFC 4193)\n"
                               "    # Matched in every spelling: alice, CORP\\alice, alice@corp.example.\n"
                               "    accounts: [root, administrator, \"break-glass-*\"]\n"
                               "    # A short name protects its full names and the reverse.\n"
                               "    hosts: [\"dc*\", \"bastion*\"]\n"
                               "  # Rate budgets for a small site: past one, the circuit breaker\n"
                               "  # opens, automatic actions become recommendations, and an admin\n"
                               "  # must reset it (bulwark breaker reset).\n"
                               "  rate_limits:\n"
                               "    global: {per_minute: 30, per_hour: 300, per_day: 2000}\n"
                               "    nft.block: {per_minute: 20, per_hour: 200}\n");
        return r;
}

static int init_join(char out[PATH_MAX], const char *dir, const char *name) {
        int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
        return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

static int init_mkdir(const char *path, mode_t mode) {
        if (mkdir(path, mode) == 0)
                return 0;
        if (errno != EEXIST)
                return -errno;
        struct stat st;
        if (stat(path, &st) < 0)
                return -errno;
        return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

static int init_write_token(const cli_ctx *ctx, const char *path, bool force) {
        unsigned char raw[CLI_INIT_TOKEN_BYTES];
        char text[CLI_INIT_TOKEN_BYTES * 2 + 2];
        randombytes_buf(raw, sizeof(raw));
        sodium_bin2hex(text, sizeof(text) - 1, raw, sizeof(raw));
        size_t len = strlen(text);
        text[len++] = '\n';
        int r = file_write_atomic(path, text, len, init_files[INIT_FILE_TOKEN].mode, force);
        sodium_memzero(raw, sizeof(raw));
        sodium_memzero(text, sizeof(text));
        return r < 0 ? cli_fail_errno(ctx, r, "writing %s", path) : CLI_EXIT_OK;
}

static int init_write(const cli_ctx *ctx, const char *dir, bool force) {
        char paths[_INIT_FILE_MAX][PATH_MAX];
        for (size_t i = 0; i < _INIT_FILE_MAX; i++)
                if (init_join(paths[i], dir, init_files[i].name) < 0)
                        return cli_fail(ctx, "%s: path too long", dir);
        /* Check every file first, so a refusal writes nothing at all. */
        for (size_t i = 0; i < _INIT_FILE_MAX && !force; i++)
                if (access(paths[i], F_OK) == 0)
                        return cli_fail(ctx, "%s exists (use --force to overwrite)", paths[i]);
        for (size_t i = 0; i < sizeof(init_dirs) / sizeof(init_dirs[0]); i++) {
                char sub[PATH_MAX];
                int r = init_join(sub, dir, init_dirs[i].name);
                if (r == 0)
                        r = init_mkdir(sub, init_dirs[i].mode);
                if (r < 0)
                        return cli_fail_errno(ctx, r, "creating %s", sub);
        }
        buf config;
        buf_init(&config, INIT_FILE_MAX);
        int r = init_config_text(dir, &config);
        if (r == -EINVAL) {
                buf_free(&config);
                return cli_fail(ctx, "%s: a control character in the path cannot be written to YAML", dir);
        }
        const char *texts[_INIT_FILE_MAX] = {
                [INIT_FILE_CONFIG] = config.data,
                [INIT_FILE_PLAYBOOK] = init_playbook,
                [INIT_FILE_ALERT] = init_alert,
        };
        int code = r < 0 ? cli_fail_errno(ctx, r, "%s", paths[INIT_FILE_CONFIG]) : CLI_EXIT_OK;
        for (size_t i = 0; i < _INIT_FILE_MAX && code == CLI_EXIT_OK; i++) {
                if (i == INIT_FILE_TOKEN)
                        code = init_write_token(ctx, paths[i], force);
                else if ((r = file_write_atomic(paths[i], texts[i], strlen(texts[i]), init_files[i].mode,
                                                force)) < 0)
                        code = cli_fail_errno(ctx, r, "writing %s", paths[i]);
                if (code == CLI_EXIT_OK) {
                        fputs("created ", ctx->out);
                        cli_put_safe(ctx->out, paths[i], false);
                        fputc('\n', ctx->out);
                }
        }
        buf_free(&config);
        return code;
}

int cli_init_main(const cli_ctx *ctx, int argc, char **argv) {
        static const struct option options[] = {
                {"force", no_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'}, {0}};
        bool force = false;
        optind = 0;
        int c;
        while ((c = getopt_long(argc, argv, "fh", options, NULL)) != -1) {
                if (c == 'f')
                        force = true;
                else if (c == 'h') {
                        fputs(init_usage, ctx->out);
                        return CLI_EXIT_OK;
                } else
                        return cli_usage(ctx, init_usage, NULL);
        }
        if (argc - optind != 1)
                return cli_usage(ctx, init_usage, "init: expected one DIR");
        if (sodium_init() < 0)
                return cli_fail(ctx, "libsodium failed to initialise");
        const char *arg = argv[optind];
        int r = init_mkdir(arg, 0755);
        if (r < 0)
                return cli_fail_errno(ctx, r, "creating %s", arg);
        char dir[PATH_MAX];
        if (!realpath(arg, dir))
                return cli_fail_errno(ctx, -errno, "%s", arg);
        return init_write(ctx, dir, force);
}
