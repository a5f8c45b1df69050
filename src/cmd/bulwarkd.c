/* SPDX-License-Identifier: Apache-2.0 */
/* bulwarkd: the daemon's main. As the parent it reads the configuration and
 * playbooks, opens the listening socket and forks core (parent/parent.c);
 * core reads the tokens, confines itself, opens the store and starts the
 * engine, the workers and the api process (through the parent), then waits
 * for SIGTERM/SIGINT. Re-executed with --connector-worker or --api it becomes
 * a worker (connectors/worker.c) or the api process (front/front.c). Thin:
 * every decision lives in the components. */
#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "config/config.h"
#include "config/playbooks.h"
#include "connectors/pool.h"
#include "core/limits.h"
#include "core/metrics.h"
#include "engine/confine.h"
#include "engine/engine.h"
#include "front/front.h"
#include "parent/parent.h"
#include "sandbox/sandbox.h"
#include "store/store.h"
#include "util/accounts.h"
#include "util/fileio.h"
#include "util/log.h"

#define WORKER_FD 3
#define MAX_REPORTED_ERRORS 64

static void usage(FILE *f) {
        fputs("usage: bulwarkd --config FILE [--check]\n"
              "  --config FILE  the bulwark.yaml to run with\n"
              "  --check        validate configuration and playbooks, then exit\n"
              "  --no-sandbox   run core, the api process and the workers unconfined, as root\n"
              "                 (sanitizer builds; any other build also needs --testing)\n"
              "  --version      print the version\n",
              f);
}

/* What a process runs with, once at start-up (docs/security.md). */
static void log_sandbox(const char *role, const sandbox_status *st) {
        char line[256];
        sandbox_status_format(st, line, sizeof(line));
        log_json(st->landlock_abi ? LOG_LEVEL_INFO : LOG_LEVEL_WARN, "daemon", "sandbox",
                 json_pack("{ss ss ss}", "process", role, "sandbox", line, "msg",
                           st->landlock_abi ? ""
                                            : "the kernel has no Landlock: processes keep uid, "
                                              "capabilities and seccomp confinement only"));
}

/* Reads the bearer token (first line of a 0600 file, file_read_secret) into a
 * sodium-guarded buffer. On -EPERM *ret_why says which rule the file breaks. */
static int token_load(const char *path, char **ret, const char **ret_why) {
        char *data = NULL;
        size_t len = 0;
        int r = file_read_secret(path, BW_TOKEN_FILE_MAX, &data, &len, ret_why);
        if (r < 0)
                return r;
        size_t n = strcspn(data, "\r\n");
        bool printable = true;
        for (size_t i = 0; i < n; i++)
                printable &= data[i] > 0x20 && data[i] < 0x7f;
        r = (n < BW_TOKEN_MIN_LEN || n > BW_TOKEN_MAX_LEN || !printable) ? -EBADMSG : 0;
        if (r == 0) {
                data[n] = '\0';
                *ret = data;
                return 0;
        }
        sodium_memzero(data, len);
        free(data);
        return r;
}

static void token_free(char *token) {
        if (!token)
                return;
        sodium_memzero(token, strlen(token));
        free(token);
}

static void print_errors(const bw_error *errs, size_t n) {
        for (size_t i = 0; i < n && i < MAX_REPORTED_ERRORS; i++) {
                char line[1024];
                bw_error_format(&errs[i], line, sizeof(line));
                fprintf(stderr, "bulwarkd: %s\n", line);
        }
}

static int load_all(const char *config_path, bw_config **ret_cfg, playbook_set **ret_pbs) {
        bw_error err;
        bw_config *cfg = NULL;
        int r = config_load(config_path, &cfg, &err);
        if (r < 0) {
                if (r == -EINVAL)
                        print_errors(&err, 1);
                else
                        fprintf(stderr, "bulwarkd: %s: %s\n", config_path, strerror(-r));
                return r;
        }
        bw_error errs[MAX_REPORTED_ERRORS];
        size_t nerrs = 0;
        playbook_set *pbs = NULL;
        r = playbook_set_load(cfg->playbook_dir, cfg, &pbs, errs, MAX_REPORTED_ERRORS, &nerrs);
        if (r < 0) {
                if (nerrs)
                        print_errors(errs, nerrs);
                else
                        fprintf(stderr, "bulwarkd: %s: %s\n", cfg->playbook_dir, strerror(-r));
                playbook_set_free(pbs); /* the playbooks that were valid, if any */
                config_free(cfg);
                return r;
        }
        *ret_cfg = cfg;
        *ret_pbs = pbs;
        return 0;
}

static log_level parse_level(const char *s) {
        if (strcmp(s, "debug") == 0)
                return LOG_LEVEL_DEBUG;
        if (strcmp(s, "warn") == 0)
                return LOG_LEVEL_WARN;
        if (strcmp(s, "error") == 0)
                return LOG_LEVEL_ERROR;
        return LOG_LEVEL_INFO;
}

/* The tokens of api.token_file and of each api.actors entry, in that order. */
typedef struct actor_tokens {
        api_actor actors[BW_ACTORS_MAX + 1];
        size_t n;
} actor_tokens;

static void actor_tokens_free(actor_tokens *t) {
        for (size_t i = 0; i < t->n; i++)
                token_free((char *)t->actors[i].token);
        t->n = 0;
}

static int actor_tokens_load(const bw_config *cfg, actor_tokens *t) {
        for (size_t i = 0; i <= cfg->n_actors; i++) {
                const char *name = i == 0 ? cfg->token_actor : cfg->actors[i - 1].name;
                /* The token of api.token_file is the administrator's: every role. */
                unsigned roles = i == 0 ? (1u << _ROLE_MAX) - 1 : cfg->actors[i - 1].roles;
                const char *file = i == 0 ? cfg->token_file : cfg->actors[i - 1].token_file;
                char *token = NULL;
                const char *why = NULL;
                int r = token_load(file, &token, &why);
                if (r < 0) {
                        actor_tokens_free(t);
                        if (r == -EPERM)
                                return log_errno(r, "daemon", "token.unusable", "%s: refused: %s", file,
                                                 why);
                        return log_errno(r, "daemon", "token.unusable",
                                         "%s: the token file must be mode 0600 and hold %u-%u printable "
                                         "characters",
                                         file, BW_TOKEN_MIN_LEN, BW_TOKEN_MAX_LEN);
                }
                t->actors[t->n++] = (api_actor){.name = name, .token = token, .roles = roles};
        }
        return 0;
}

/* What core is forked with. */
typedef struct core_context {
        bw_config *cfg; /* core's own copy, once forked */
        const playbook_set *pbs;
        bool confine;
        sandbox_status parent_sandbox; /* read by the parent before the fork */
} core_context;

/* core confines itself (engine/confine.h) once it has read the tokens. */
static int core_confine(const bw_config *cfg, sandbox_status *ret) {
        static char store_dir[PATH_MAX];
        sandbox_profile p;
        int r = core_sandbox_profile(cfg->store_path, store_dir, sizeof(store_dir), &p);
        return r < 0 ? r : sandbox_apply(&p, ret);
}

static int core_main(int link_fd, void *arg) {
        const core_context *ctx = arg;
        bw_config *cfg = ctx->cfg;
        /* The integrations' secrets are the parent's to send their workers. */
        for (size_t i = 0; i < cfg->n_integrations; i++)
                connector_settings_forget_secrets(connector_kind_find(cfg->integrations[i].kind),
                                                  cfg->integrations[i].settings);
        static bw_metrics metrics;
        metrics_init(&metrics);
        actor_tokens tokens = {0};
        spawn_link *parent = NULL;
        store *st = NULL;
        connector_pool *pool = NULL;
        engine *eng = NULL;
        api *srv = NULL;
        sandbox_status self;

        int r = spawn_link_new(link_fd, &parent);
        if (r < 0)
                return 1;
        r = actor_tokens_load(cfg, &tokens);
        if (r < 0)
                goto out;
        if (!ctx->confine)
                sandbox_status_read(&self);
        else if ((r = core_confine(cfg, &self)) < 0) {
                log_errno(r, "daemon", "core.confine_failed", "cannot confine core");
                goto out;
        }
        log_sandbox("core", &self);
        store_options so = {.path = cfg->store_path, .queue_capacity = cfg->queue_capacity};
        r = store_open(&so, &st);
        if (r < 0) {
                log_errno(r, "daemon", "store.open_failed", "%s%s", cfg->store_path,
                          r == -EBUSY ? ": another bulwarkd holds this store" : "");
                goto out;
        }
        r = connector_pool_start(cfg->integrations, cfg->n_integrations, parent,
                                 ctx->confine ? POOL_CONFINED : POOL_UNCONFINED, &pool);
        if (r < 0) {
                log_errno(r, "daemon", "connectors.start_failed", "connector workers did not start");
                goto out;
        }
        engine_deps ed = {
                .store = st, .pool = pool, .config = cfg, .playbooks = ctx->pbs, .metrics = &metrics};
        r = engine_start(&ed, &eng);
        if (r < 0) {
                log_errno(r, "daemon", "engine.start_failed", "engine did not start");
                goto out;
        }
        api_options ao = {
                .alert_body_max = cfg->alert_body_max,
                .queue_capacity = cfg->queue_capacity,
                .actors = tokens.actors,
                .n_actors = tokens.n,
                .threads = 2,
                .parent = parent,
                .confine = ctx->confine,
        };
        api_deps ad = {.config = cfg,
                       .store = st,
                       .pool = pool,
                       .metrics = &metrics,
                       .parent_sandbox = &ctx->parent_sandbox,
                       .core_sandbox = &self};
        r = api_start(&ao, &ad, &srv);
        actor_tokens_free(&tokens);
        if (r == -EEXIST)
                log_json(LOG_LEVEL_ERROR, "daemon", "token.shared",
                         json_pack("{ss}", "msg", "two actors share a token: each actor needs its own"));
        if (r < 0) {
                if (r != -EEXIST)
                        log_errno(r, "daemon", "api.start_failed", "the api process did not start");
                goto out;
        }
        log_json(LOG_LEVEL_INFO, "daemon", "daemon.ready",
                 json_pack("{ss si si si si}", "listen", cfg->listen_address, "port", (int)cfg->listen_port,
                           "playbooks", (int)ctx->pbs->n, "integrations", (int)cfg->n_integrations,
                           "workers", (int)cfg->workers));

        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        int sig = 0;
        sigwait(&set, &sig);
        log_json(LOG_LEVEL_INFO, "daemon", "daemon.stopping", json_pack("{si}", "signal", sig));
        r = 0;
out:
        api_stop(srv);
        engine_stop(eng);
        connector_pool_stop(pool);
        store_close(st);
        actor_tokens_free(&tokens);
        spawn_link_free(parent);
        return r < 0 ? 1 : 0;
}

/* A host account or group with the api process's id would share it. */
static int api_uid_unowned(void) {
        char name[64];
        const char *owner = host_id_owner(BW_API_UID, name, sizeof(name));
        if (!owner)
                return 0;
        log_json(LOG_LEVEL_ERROR, "daemon", "api.uid_taken",
                 json_pack("{si ss ss}", "uid", (int)BW_API_UID, owner, name, "msg",
                           "a host account or group has the api process's id"));
        return -EPERM;
}

/* The parent: what only it may do (the data directory, the listening
 * socket), then core, which it serves until the stop. */
static int daemon_main(bw_config *cfg, const playbook_set *pbs, bool confine) {
        core_context ctx = {.cfg = cfg, .pbs = pbs, .confine = confine};
        sandbox_status_read(&ctx.parent_sandbox);
        log_sandbox("parent", &ctx.parent_sandbox);
        if (mkdir(cfg->data_dir, 0700) < 0 && errno != EEXIST)
                return log_errno(-errno, "daemon", "data_dir.unusable", "%s", cfg->data_dir), 1;
        if (confine && api_uid_unowned() < 0)
                return 1;
        int listen_fd = parent_listen(cfg->listen_address, cfg->listen_port);
        if (listen_fd < 0) {
                log_errno(listen_fd, "daemon", "api.start_failed", "cannot listen on %s port %u",
                          cfg->listen_address, cfg->listen_port);
                return 1;
        }
        parent_options o = {.ints = cfg->integrations,
                            .n_ints = cfg->n_integrations,
                            .exe = "/proc/self/exe",
                            .confine = confine,
                            .listen_fd = listen_fd};
        int code = parent_run(&o, core_main, &ctx);
        close(listen_fd);
        return code;
}

static int worker_main(bool confine) {
        (void)confine; /* the worker's is in its INIT, from the parent */
        return connector_worker_main(WORKER_FD);
}

/* The process model, in one place (docs/architecture.md quotes it): each role,
 * the flag that starts it, its entry, its peers, what it keeps and drops. The
 * daemon is started without a flag and starts the others. */
typedef struct process_role {
        const char *role;
        const char *flag;
        int (*entry)(bool confine);
        const char *peers;
        const char *keeps;
        const char *drops;
} process_role;

static const process_role processes[] = {
        {"parent", NULL, NULL, "core (one socketpair: connectors/spawn.h)",
         "root's privileges, the configuration with every integration's settings, the listening socket; "
         "starts core, and the workers and the api process when core asks; reaps and restarts",
         "core dumps, dumpability; it parses no network byte and reads nothing from a worker or the api "
         "process"},
        {"core", NULL, NULL,
         "the parent, the api process (one socketpair), each worker (one socketpair each)",
         "the configuration without the integrations' secrets, playbooks, the store, the queue, the engine, "
         "the governor, the permit key, the actors' token hashes",
         "every capability, the file system beyond the store's directory, TCP, socket(), kill(), exec, "
         "every system call not in SANDBOX_SYSCALLS_CORE"},
        {"api", "--api", front_main, "core",
         "the listening socket, the actors' token hashes, requests in flight",
         "its uid (BW_API_UID), every capability, the file system, socket(), TCP bind and connect, every "
         "system call not in SANDBOX_SYSCALLS_API"},
        {"worker", "--connector-worker", worker_main, "core",
         "its own integration's settings and secrets, its kind's one capability (nft: CAP_NET_ADMIN)",
         "its uid (its integration's), every other capability, the file system beyond its kind's paths, "
         "every system call not in its kind's allow-list"},
};

int main(int argc, char **argv) {
        /* A child's role, started by the parent: `bulwarkd FLAG [--no-sandbox]`. */
        bool unconfined = argc == 3 && strcmp(argv[2], "--no-sandbox") == 0;
        for (size_t i = 0; (argc == 2 || unconfined) && i < sizeof(processes) / sizeof(processes[0]); i++)
                if (processes[i].flag && strcmp(argv[1], processes[i].flag) == 0)
                        return processes[i].entry(!unconfined);
        /* Never dumpable, never a core file: this process will hold the store,
         * the permit key and the actors' tokens. */
        if (sandbox_harden() < 0) {
                fputs("bulwarkd: cannot make the process non-dumpable\n", stderr);
                return 1;
        }
        /* Descriptors inherited from whoever started us (a shell, a CI runner's
         * pipes) are not ours: close them before opening anything. */
        close_range(3, ~0u, 0);

        static const struct option opts[] = {
                {"config", required_argument, NULL, 'c'},
                {"check", no_argument, NULL, 'k'},
                {"no-sandbox", no_argument, NULL, 'S'},
                {"testing", no_argument, NULL, 'T'},
                {"version", no_argument, NULL, 'V'},
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        const char *config_path = NULL;
        bool check_only = false, no_sandbox = false, testing = false;
        int c;
        while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
                switch (c) {
                case 'c':
                        config_path = optarg;
                        break;
                case 'k':
                        check_only = true;
                        break;
                case 'S':
                        no_sandbox = true;
                        break;
                case 'T':
                        testing = true;
                        break;
                case 'V':
                        puts("bulwarkd " BULWARK_VERSION);
                        return 0;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (!config_path || optind != argc) {
                usage(stderr);
                return 2;
        }
        if (no_sandbox && !BW_SANITIZER_BUILD && !testing) {
                fputs("bulwarkd: --no-sandbox runs every process as root, unconfined: only a "
                      "sanitizer build accepts it, any other only with --testing\n",
                      stderr);
                return 2;
        }
        if (sodium_init() < 0) {
                fputs("bulwarkd: libsodium failed to initialise\n", stderr);
                return 1;
        }
        /* Signals are taken synchronously (the parent's signalfd, core's
         * sigwait); every thread started later inherits the mask. A dead peer
         * is an error, not a signal. */
        sigset_t set;
        parent_signals(&set);
        pthread_sigmask(SIG_BLOCK, &set, NULL);
        signal(SIGPIPE, SIG_IGN);

        bw_config *cfg = NULL;
        playbook_set *pbs = NULL;
        if (load_all(config_path, &cfg, &pbs) < 0)
                return 2;
        log_set_min_level(parse_level(cfg->log_level));
        int r = 0;
        if (check_only)
                printf("%s: configuration and %zu playbook(s) are valid\n", config_path, pbs->n);
        else
                r = daemon_main(cfg, pbs, !no_sandbox);
        playbook_set_free(pbs);
        config_free(cfg);
        return r;
}
