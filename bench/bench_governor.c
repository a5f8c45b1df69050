/* SPDX-License-Identifier: Apache-2.0 */
/* bulwark-bench-governor: micro-benchmark of the governor's decision cost (target
 * checks, budget reservations batched on a fresh embedded store, permits); not a
 * test, no pass/fail. Runs on the benchmark host; its input is the program's own. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/governor.h"
#include "core/permit.h"
#include "core/limits.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/strutil.h"

/* Batches are submitted from two threads, as the engine's default two workers do
 * (BW_WORKERS_DEFAULT), so their jobs can share group commits. */
#define BENCH_THREADS BW_WORKERS_DEFAULT
/* A run of an in-memory figure lasts about this long (at most --calls calls):
 * long enough to dwarf the clock's resolution and a scheduler tick, short enough
 * that the slow figures (20 addresses, 5 accounts against 32 globs) keep the
 * whole program within seconds. */
#define BENCH_RUN_TARGET_US 400000
/* Calls of the warm-up that also estimates a call's cost. */
#define BENCH_WARMUP_CALLS 1000u
/* Runs per figure: their results are kept on the stack for the median. */
#define BENCH_RUNS_MAX 99
/* Every action of a store run is charged to the same budgets, whose limit is
 * BW_RATE_LIMIT_MAX: a run stays below it so no budget is ever spent. */
#define BENCH_BATCHES_MAX (BW_RATE_LIMIT_MAX / (BENCH_THREADS * BW_CLAIM_BATCH) - 1)
/* Paths of the temporary store: PATH_MAX. */
#define BENCH_PATH_MAX 4096
#define BENCH_IPS 20u
#define BENCH_ACCOUNTS 5u
/* Protected networks of the policy: a large site's gateways and core ranges. */
#define BENCH_PROTECTED_CIDRS 64u

typedef struct bench_options {
        bool json;
        int64_t runs;
        int64_t calls;   /* at most this many calls per run of an in-memory figure */
        int64_t batches; /* per thread and run of a store figure */
        const char *dir; /* where each store run's temporary directory is made */
} bench_options;

/* The action kinds measured: nft.block (IP targets) and ldap.disable (accounts). */
static const char bench_ip_connector[] = "nft", bench_ip_verb[] = "block";
static const char bench_account_connector[] = "ldap", bench_account_verb[] = "disable";

/* Break-glass, service and privileged accounts, as a real policy lists them. */
static const char *const protected_accounts[] = {
        "root",     "admin",      "administrator", "krbtgt",      "breakglass-*", "emergency-*", "svc-*",
        "sa-*",     "*$",         "ansible",       "puppet",      "nagios",       "postgres",    "mysql",
        "oracle",   "www-data",   "daemon",        "sshd",        "ldap-*",       "domain-adm*", "*-admin",
        "admin-*",  "helpdesk-*", "ceo*",          "cfo*",        "it-ops-*",     "sec-*",       "soc-*",
        "oncall-*", "vault*",     "backup*",       "monitoring*",
};

/* Core hosts: domain controllers, gateways, the security stack itself. */
static const char *const protected_hosts[] = {
        "*.core.example.org",
        "dc?.example.org",
        "dc??.example.org",
        "gw-*.example.org",
        "vpn*.example.org",
        "bastion*",
        "*.prod.db.example.org",
        "kdc*",
        "ns?.example.org",
        "mail*.example.org",
        "backup-*",
        "vault-*",
        "ca.example.org",
        "ldap*.example.org",
        "siem*",
        "bulwark*",
};

/* Attackers' addresses (documentation ranges), none protected: an allowed action
 * is compared with every protected entry, the costly path. */
static char ip_one[] = "203.0.113.7";
static char *ip_one_list[] = {ip_one};
static char account_text[BENCH_ACCOUNTS][32] = {"alice", "bob.smith", "carol@example.org", "dave.jones",
                                                "eve"};
/* A hex BLAKE2b-256, as playbook_render_step makes them. */
static const char idempotency_key[] = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

typedef struct bench_ctx {
        governor_policy policy;
        char ip_text[BENCH_IPS][64];
        char *ips[BENCH_IPS];
        char *accounts[BENCH_ACCOUNTS];
} bench_ctx;

/* One in-memory figure: loop makes calls calls, returns 0 or -EPROTO if the
 * governor answered something other than what the figure is about. */
typedef struct bench_case {
        const char *label;
        const char *unit; /* what one call is, for the human line */
        const char *connector;
        const char *verb;
        target_kind kind;
        char *const *targets;
        size_t n;
        int (*loop)(const bench_ctx *c, const struct bench_case *bc, uint64_t calls);
} bench_case;

static const char usage[] =
        "usage: bulwark-bench-governor [--json] [--runs R] [--calls N] [--batches B] [--dir DIR]\n"
        "  --runs R     runs per figure, the median is reported (default 5)\n"
        "  --calls N    at most N calls per run of an in-memory figure (default 1000000)\n"
        "  --batches B  store figures: batches of BW_CLAIM_BATCH actions per thread and run\n"
        "               (default 200)\n"
        "  --dir DIR    parent of the temporary store directory (default $TMPDIR or /tmp)\n"
        "  --json       one JSON object on stdout; the human lines go to stderr\n";

static int bench_usage(const char *message) {
        if (message)
                fprintf(stderr, "bulwark-bench-governor: %s\n", message);
        fputs(usage, stderr);
        return 2;
}

/* Returns 0, 1 for --help (printed), or 2 after a usage error. */
static int bench_parse_args(int argc, char **argv, bench_options *o) {
        static const struct option options[] = {
                {"json", no_argument, NULL, 'j'},
                {"runs", required_argument, NULL, 'r'},
                {"calls", required_argument, NULL, 'c'},
                {"batches", required_argument, NULL, 'b'},
                {"dir", required_argument, NULL, 'd'},
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        const char *tmpdir = getenv("TMPDIR");
        *o = (bench_options){
                .runs = 5, .calls = 1000000, .batches = 200, .dir = tmpdir && tmpdir[0] ? tmpdir : "/tmp"};
        int c;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
                int r = 0;
                switch (c) {
                case 'j':
                        o->json = true;
                        break;
                case 'r':
                        r = parse_int64(optarg, 1, BENCH_RUNS_MAX, &o->runs);
                        break;
                case 'c':
                        r = parse_int64(optarg, BENCH_WARMUP_CALLS, 1000000000, &o->calls);
                        break;
                case 'b':
                        r = parse_int64(optarg, 1, BENCH_BATCHES_MAX, &o->batches);
                        break;
                case 'd':
                        o->dir = optarg;
                        break;
                case 'h':
                        fputs(usage, stdout);
                        return 1;
                default:
                        return bench_usage(NULL);
                }
                if (r < 0) {
                        char message[64] = "bad option value";
                        for (const struct option *opt = options; opt->name; opt++)
                                if (opt->val == c)
                                        snprintf(message, sizeof(message), "bad value for --%s", opt->name);
                        return bench_usage(message);
                }
        }
        if (optind != argc)
                return bench_usage("unexpected argument");
        return 0;
}

/* The policy of a real deployment: lowered ceilings for a few action kinds,
 * 64 protected networks (v4 and v6), 32 account and 16 host globs, and rate
 * budgets on "global" and nft.block that a benchmark run never spends. */
static int bench_policy_build(governor_policy *p) {
        governor_policy_init(p);
        int r = governor_policy_lower_action(p, "nft.block", TARGET_IP, 25);
        if (r >= 0)
                r = governor_policy_lower_action(p, "ldap.disable", TARGET_ACCOUNT, 10);
        if (r >= 0)
                r = governor_policy_lower_action(p, "http.isolate", TARGET_HOST, 2);
        for (unsigned i = 0; i < BENCH_PROTECTED_CIDRS && r >= 0; i++) {
                /* A quarter each: gateways, internal /24s, v6 /48s, v6 routers. */
                char text[64];
                switch (i % 4) {
                case 0:
                        snprintf(text, sizeof(text), "192.168.%u.1", i);
                        break;
                case 1:
                        snprintf(text, sizeof(text), "172.16.%u.0/24", i);
                        break;
                case 2:
                        snprintf(text, sizeof(text), "2001:db8:%x::/48", i);
                        break;
                default:
                        snprintf(text, sizeof(text), "fd00:%x::1", i);
                        break;
                }
                ip_prefix ip;
                r = ip_prefix_parse(text, strlen(text), &ip);
                if (r >= 0)
                        r = governor_policy_protect_ip(p, &ip);
        }
        for (size_t i = 0; i < sizeof(protected_accounts) / sizeof(protected_accounts[0]) && r >= 0; i++)
                r = governor_policy_protect_account(p, protected_accounts[i]);
        for (size_t i = 0; i < sizeof(protected_hosts) / sizeof(protected_hosts[0]) && r >= 0; i++)
                r = governor_policy_protect_host(p, protected_hosts[i]);
        static const char *const keys[] = {"global", "nft.block"};
        for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]) && r >= 0; k++)
                for (unsigned w = 0; w < _RATE_WINDOW_MAX && r >= 0; w++)
                        r = governor_policy_rate_limit(p, keys[k], (rate_window)w, BW_RATE_LIMIT_MAX);
        return r < 0 ? r : 0;
}

static int bench_ctx_init(bench_ctx *c) {
        *c = (bench_ctx){0};
        int r = bench_policy_build(&c->policy);
        if (r < 0)
                return r;
        /* Three quarters IPv4, one quarter IPv6, as SIEM alerts carry them. */
        for (unsigned i = 0; i < BENCH_IPS; i++) {
                if (i % 4 == 3)
                        snprintf(c->ip_text[i], sizeof(c->ip_text[i]), "2001:db8:ffff::%x", i + 1);
                else
                        snprintf(c->ip_text[i], sizeof(c->ip_text[i]), "%s.%u",
                                 i % 2 ? "198.51.100" : "203.0.113", i + 1);
                c->ips[i] = c->ip_text[i];
        }
        for (unsigned i = 0; i < BENCH_ACCOUNTS; i++)
                c->accounts[i] = account_text[i];
        return 0;
}

/* governor_decide on a level-3 action of bc, with the state given. */
static governor_verdict bench_decide(const governor_policy *p, const bench_case *bc,
                                     const governor_state *st, governor_ruling *ru) {
        governor_action a = {.op = GOVERNOR_RUN,
                             .level = 3,
                             .connector = bc->connector,
                             .verb = bc->verb,
                             .reversible = true,
                             .category = "",
                             .has_targets = true,
                             .kind = bc->kind,
                             .targets = bc->targets,
                             .n_targets = bc->n};
        return governor_decide(p, &a, st, ru);
}

/* governor_decide with no live state: the target rules (G1) are the cost; an
 * action the bench's policy sends to approval (5 accounts: a bulk account
 * action) has passed them. */
static int bench_loop_check(const bench_ctx *c, const bench_case *bc, uint64_t calls) {
        uint64_t passed = 0;
        governor_state none = {0};
        for (uint64_t i = 0; i < calls; i++) {
                governor_ruling ru;
                passed += bench_decide(&c->policy, bc, &none, &ru) != GOVERNOR_DENY;
        }
        return passed == calls ? 0 : -EPROTO;
}

static int bench_loop_permit(const bench_ctx *c, const bench_case *bc, uint64_t calls) {
        uint64_t valid = 0;
        json_t *params = json_pack("{si}", "timeout_s", 3600);
        for (uint64_t i = 0; params && i < calls; i++) {
                permit_subject s = {.action_id = (int64_t)i,
                                    .integration = "edge-fw",
                                    .op = PERMIT_APPLY,
                                    .verb = bc->verb,
                                    .kind = bc->kind,
                                    .targets = bc->targets,
                                    .n_targets = bc->n,
                                    .params = params,
                                    .idempotency_key = idempotency_key};
                governor_permit permit;
                valid += governor_permit_mint(&s, &permit) == 0 && governor_permit_valid(&permit, &s);
        }
        json_decref(params);
        return valid == calls ? 0 : -EPROTO;
}

static int bench_cmp_double(const void *a, const void *b) {
        double x = *(const double *)a, y = *(const double *)b;
        return (x > y) - (x < y);
}

static double bench_median(double *v, size_t n) {
        qsort(v, n, sizeof(*v), bench_cmp_double);
        return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The median cost of one call, in ns, over o->runs runs. */
static int bench_case_run(const bench_ctx *c, const bench_case *bc, const bench_options *o, FILE *human,
                          double *ret_ns) {
        int64_t start = clock_mono_us();
        int r = bc->loop(c, bc, BENCH_WARMUP_CALLS);
        if (r < 0)
                return r;
        int64_t warm_us = clock_mono_us() - start;
        uint64_t calls = (uint64_t)o->calls;
        if (warm_us > 0) {
                uint64_t fit = (uint64_t)BENCH_RUN_TARGET_US * BENCH_WARMUP_CALLS / (uint64_t)warm_us;
                if (fit < calls)
                        calls = fit < BENCH_WARMUP_CALLS ? BENCH_WARMUP_CALLS : fit;
        }
        double ns[BENCH_RUNS_MAX];
        for (int64_t i = 0; i < o->runs; i++) {
                start = clock_mono_us();
                r = bc->loop(c, bc, calls);
                if (r < 0)
                        return r;
                ns[i] = (double)(clock_mono_us() - start) * 1000.0 / (double)calls;
        }
        *ret_ns = bench_median(ns, (size_t)o->runs);
        fprintf(human, "%-42s %10.1f ns per %s  (median of %" PRId64 " runs of %" PRIu64 " calls)\n",
                bc->label, *ret_ns, bc->unit, o->runs, calls);
        return 0;
}

typedef struct bench_worker {
        const bench_ctx *c;
        store *s;
        int64_t batches;
        bool check;     /* governor_decide on each action, as engine/gate.c does */
        int64_t job_us; /* spent inside the write jobs, on the writer thread */
        int r;
} bench_worker;

/* One store job, as engine/gate.c runs a batch of actions: the budgets read once
 * per transaction, governor_decide with them for each action (ceilings,
 * protected assets and the never-touch set, approval reasons, breaker and
 * budgets), its charges added up, written once per budget at the end. */
static int bench_reserve_job(store_tx *tx, void *userdata) {
        bench_worker *w = userdata;
        int64_t start = clock_mono_us(), now = clock_wall_ms();
        governor_budget gb[GOVERNOR_BUDGETS_MAX];
        store_budget b[GOVERNOR_BUDGETS_MAX];
        uint64_t used[GOVERNOR_BUDGETS_MAX], charged[GOVERNOR_BUDGETS_MAX] = {0};
        size_t n = governor_budgets_for(&w->c->policy, bench_ip_connector, bench_ip_verb, gb);
        int r = 0;
        for (size_t i = 0; i < n && r == 0; i++) {
                b[i] = (store_budget){.key = gb[i].key, .window_ms = rate_window_ms(gb[i].window)};
                r = store_tx_budget_used(tx, &b[i], now, &used[i]);
        }
        bool breaker_open = false;
        if (r == 0)
                r = store_tx_breaker_is_open(tx, &breaker_open);
        const bench_case one = {"", "", bench_ip_connector, bench_ip_verb, TARGET_IP, ip_one_list, 1, NULL};
        for (unsigned a = 0; a < BW_CLAIM_BATCH && r == 0; a++) {
                governor_state st = {.now_ms = now, .breaker_open = breaker_open, .budget_used = used};
                governor_ruling ru = {.n_charge = n};
                /* The limits are out of a run's reach: anything but ALLOW means
                 * this is not the path being measured. Without check, the
                 * budgets' bookkeeping alone. */
                if (w->check &&
                    (bench_decide(&w->c->policy, &one, &st, &ru) != GOVERNOR_ALLOW || ru.n_charge != n))
                        r = -EDQUOT;
                for (size_t i = 0; i < ru.n_charge && r == 0; i++) {
                        used[i]++;
                        charged[i]++;
                }
        }
        for (size_t i = 0; i < n && r == 0; i++)
                r = store_tx_budget_charge(tx, &b[i], now, charged[i]);
        w->job_us += clock_mono_us() - start;
        return r;
}

static void *bench_worker_main(void *arg) {
        bench_worker *w = arg;
        for (int64_t b = 0; b < w->batches && w->r == 0; b++)
                w->r = store_write(w->s, bench_reserve_job, w);
        return NULL;
}

/* Removes a run's store: the database, its WAL and shared-memory files, the directory. */
static int bench_dir_remove(const char *dir) {
        static const char *const files[] = {"governor.db", "governor.db-wal", "governor.db-shm",
                                            "governor.db-journal", "governor.db.lock"};
        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
                char path[BENCH_PATH_MAX];
                snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
                if (unlink(path) < 0 && errno != ENOENT)
                        return -errno;
        }
        return rmdir(dir) < 0 ? -errno : 0;
}

/* A store run's cost per action, in µs: wall-clock time of both threads together,
 * and the part of it spent inside the write jobs (the rest is the commits, the
 * hand-offs to the writer and, with check, the target checks). */
typedef struct bench_store_figure {
        double us;
        double job_us;
} bench_store_figure;

static int bench_store_threads(const bench_ctx *c, const bench_options *o, store *s, bool check,
                               bench_store_figure *ret) {
        bench_worker w[BENCH_THREADS];
        pthread_t t[BENCH_THREADS];
        size_t started = 0;
        int r = 0;
        int64_t start = clock_mono_us();
        while (started < BENCH_THREADS) {
                w[started] = (bench_worker){.c = c, .s = s, .batches = o->batches, .check = check};
                r = -pthread_create(&t[started], NULL, bench_worker_main, &w[started]);
                if (r < 0)
                        break;
                started++;
        }
        int64_t job_us = 0;
        for (size_t i = 0; i < started; i++) {
                pthread_join(t[i], NULL);
                if (w[i].r < 0 && r == 0)
                        r = w[i].r;
                job_us += w[i].job_us;
        }
        int64_t us = clock_mono_us() - start;
        if (r < 0)
                return r;
        double actions = (double)(BENCH_THREADS * o->batches * BW_CLAIM_BATCH);
        *ret = (bench_store_figure){.us = (double)us / actions, .job_us = (double)job_us / actions};
        return 0;
}

/* One run on a fresh store in a new temporary directory, removed afterwards. */
static int bench_store_once(const bench_ctx *c, const bench_options *o, bool check,
                            bench_store_figure *ret) {
        /* Room left in a path for the longest file name of bench_dir_remove. */
        char dir[BENCH_PATH_MAX - 32], path[BENCH_PATH_MAX];
        int n = snprintf(dir, sizeof(dir), "%s/bulwark-bench-governor.XXXXXX", o->dir);
        if (n < 0 || (size_t)n >= sizeof(dir))
                return -ENAMETOOLONG;
        if (!mkdtemp(dir))
                return -errno;
        snprintf(path, sizeof(path), "%s/governor.db", dir);
        store *s = NULL;
        int r = store_open(&(store_options){.path = path, .queue_capacity = BW_QUEUE_CAPACITY_DEFAULT}, &s);
        if (r >= 0)
                r = bench_store_threads(c, o, s, check, ret);
        store_close(s);
        int removed = bench_dir_remove(dir);
        return r < 0 ? r : removed;
}

/* The medians over o->runs runs of bench_store_once; returns the wall-clock one. */
static int bench_store_run(const bench_ctx *c, const bench_options *o, bool check, const char *label,
                           FILE *human, double *ret_us) {
        double us[BENCH_RUNS_MAX], job_us[BENCH_RUNS_MAX];
        for (int64_t i = 0; i < o->runs; i++) {
                bench_store_figure f = {0};
                int r = bench_store_once(c, o, check, &f);
                if (r < 0)
                        return r;
                us[i] = f.us;
                job_us[i] = f.job_us;
        }
        *ret_us = bench_median(us, (size_t)o->runs);
        fprintf(human,
                "%-42s %10.3f us per action  (median of %" PRId64 " runs of %u threads x %" PRId64
                " batches of %u, durable commits included; %.3f us of it inside the write jobs)\n",
                label, *ret_us, o->runs, BENCH_THREADS, o->batches, BW_CLAIM_BATCH,
                bench_median(job_us, (size_t)o->runs));
        return 0;
}

enum {
        FIG_CHECK_1IP,
        FIG_CHECK_20IP,
        FIG_CHECK_5ACCT,
        FIG_PERMIT,
        _FIG_MEMORY_MAX,
};

static int bench_all(const bench_ctx *c, const bench_options *o, FILE *human, json_t **ret) {
        const bench_case cases[_FIG_MEMORY_MAX] = {
                [FIG_CHECK_1IP] = {"governor check, 1 IP (nft.block)", "action", bench_ip_connector,
                                   bench_ip_verb, TARGET_IP, ip_one_list, 1, bench_loop_check},
                [FIG_CHECK_20IP] = {"governor check, 20 IPs (nft.block)", "action", bench_ip_connector,
                                    bench_ip_verb, TARGET_IP, c->ips, BENCH_IPS, bench_loop_check},
                [FIG_CHECK_5ACCT] = {"governor check, 5 accounts (ldap.disable)", "action",
                                     bench_account_connector, bench_account_verb, TARGET_ACCOUNT,
                                     c->accounts, BENCH_ACCOUNTS, bench_loop_check},
                [FIG_PERMIT] = {"permit mint + valid (1 IP)", "pair", bench_ip_connector, bench_ip_verb,
                                TARGET_IP, ip_one_list, 1, bench_loop_permit},
        };
        double ns[_FIG_MEMORY_MAX], reserve_us, total_us;
        for (unsigned f = 0; f < _FIG_MEMORY_MAX; f++) {
                int r = bench_case_run(c, &cases[f], o, human, &ns[f]);
                if (r < 0) {
                        fprintf(stderr, "bulwark-bench-governor: %s: %s\n", cases[f].label,
                                r == -EPROTO ? "the governor denied the action or refused its permit"
                                             : strerror(-r));
                        return r;
                }
        }
        int r = bench_store_run(c, o, false, "budgets read + charged, batched", human, &reserve_us);
        if (r >= 0)
                r = bench_store_run(c, o, true, "decision: governor_decide 1 IP + budgets", human,
                                    &total_us);
        if (r < 0) {
                fprintf(stderr, "bulwark-bench-governor: store in %s: %s\n", o->dir,
                        r == -EDQUOT   ? "a rate budget was spent"
                        : r == -EPROTO ? "the governor did not allow the benchmark's action"
                                       : strerror(-r));
                return r;
        }
        json_t *res =
                json_pack("{s:f,s:f,s:f,s:f,s:f,s:f}", "check_1ip_ns", ns[FIG_CHECK_1IP], "check_20ip_ns",
                          ns[FIG_CHECK_20IP], "check_5acct_ns", ns[FIG_CHECK_5ACCT], "reserve_batched_us",
                          reserve_us, "decision_total_us", total_us, "permit_ns", ns[FIG_PERMIT]);
        if (!res)
                return -ENOMEM;
        *ret = res;
        return 0;
}

int main(int argc, char **argv) {
        bench_options o;
        int r = bench_parse_args(argc, argv, &o);
        if (r > 0)
                return r == 1 ? 0 : r;
        if (sodium_init() < 0) {
                fprintf(stderr, "bulwark-bench-governor: libsodium failed to initialise\n");
                return 1;
        }
        bench_ctx c;
        r = bench_ctx_init(&c);
        if (r < 0) {
                fprintf(stderr, "bulwark-bench-governor: policy: %s\n", strerror(-r));
                governor_policy_clear(&c.policy);
                return 1;
        }
        json_t *res = NULL;
        r = bench_all(&c, &o, o.json ? stderr : stdout, &res);
        governor_policy_clear(&c.policy);
        if (r < 0)
                return 1;
        if (o.json && (json_dumpf(res, stdout, JSON_COMPACT | JSON_REAL_PRECISION(6)) < 0 ||
                       fputc('\n', stdout) == EOF)) {
                json_decref(res);
                return 1;
        }
        json_decref(res);
        return fflush(stdout) == EOF ? 1 : 0;
}
