/* SPDX-License-Identifier: Apache-2.0 */
/* Unit test of core/governor.c against the spin model: every DECIDE line of
 * model/decisions.txt (the fresh gate's decisions in random simulations of
 * model/governor.pml, format in model/README.md) is parsed strictly, mapped to a
 * policy, an action and a state, and governor_decide must give the verdict the
 * model gave. The file's path comes from BULWARK_MODEL_DECISIONS (meson sets it). */
#include "core_tests.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/governor.h"
#include "core/limits.h"
#include "util/strutil.h"

/* Fewer tuples than this means the file was truncated or emptied: the
 * committed one has 272 (model/README.md). */
#define REPLAY_LINES_MIN 200
/* A DECIDE line is about 230 bytes; anything longer is not one. */
#define REPLAY_LINE_MAX 512
/* One model tick, in milliseconds. Only comparisons of ticks matter
 * (model/README.md, "now"), so any unit does. */
#define REPLAY_TICK_MS 1000
/* The model's clock stops at a few ticks; a bound keeps now_ms far from overflow. */
#define REPLAY_TICKS_MAX 1000000
/* Targets are 203.0.113.1 .. 203.0.113.254 (TEST-NET-3: no protected entry). */
#define REPLAY_TARGETS_MAX 254

/* The fields of a DECIDE line, in the order the model prints them
 * (model/governor.pml: print_decision). */
typedef enum {
        F_LEVEL,
        F_REVERSIBLE,
        F_HIGHRISK,
        F_N_TARGETS,
        F_CEILING,
        F_BUDGET_USED,
        F_BUDGET_LIMIT,
        F_BREAKER,
        F_APPROVAL,
        F_APPROVER_IS_REQUESTER,
        F_NOW,
        F_EXPIRES,
        F_COVERED,
        F_VERDICT,
        _F_MAX,
} replay_field;

typedef enum { A_NONE, A_PENDING, A_GRANTED, A_EXPIRED, _A_MAX } model_approval;
typedef enum { V_ALLOW, V_DENY_CEILING, V_NEEDS_APPROVAL, V_RECOMMEND, V_SATISFIED, _V_MAX } model_verdict;

static const char *const approval_names[_A_MAX + 1] = {"none", "pending", "granted", "expired", NULL};
static const char *const verdict_names[_V_MAX + 1] = {"allow",     "deny_ceiling", "needs_approval",
                                                      "recommend", "satisfied",    NULL};

/* What each model verdict is in C. */
static const governor_verdict verdict_in_c[_V_MAX] = {
        [V_ALLOW] = GOVERNOR_ALLOW,
        [V_DENY_CEILING] = GOVERNOR_DENY,
        [V_NEEDS_APPROVAL] = GOVERNOR_NEEDS_APPROVAL,
        [V_RECOMMEND] = GOVERNOR_RECOMMEND,
        [V_SATISFIED] = GOVERNOR_SATISFIED,
};

/* A field: its name and range, or the names of its values (then its value is
 * their index). */
typedef struct field_spec {
        const char *name;
        int64_t min, max;
        const char *const *names;
} field_spec;

static const field_spec fields[_F_MAX] = {
        /* Level 1 is not in the model (README: it behaves like level 2 for
         * safety), but C skips it: such a line could not be replayed faithfully. */
        [F_LEVEL] = {"level", 2, 4, NULL},
        [F_REVERSIBLE] = {"reversible", 0, 1, NULL},
        [F_HIGHRISK] = {"highrisk", 0, 1, NULL},
        /* 0 targets is C's "no_target" skip, which the model has no tuple for. */
        [F_N_TARGETS] = {"n_targets", 1, REPLAY_TARGETS_MAX, NULL},
        /* governor_policy_lower's range for addresses. */
        [F_CEILING] = {"ceiling", 1, BW_CEILING_IPS, NULL},
        [F_BUDGET_USED] = {"budget_used", 0, BW_RATE_LIMIT_MAX, NULL},
        /* governor_policy_rate_limit's range. */
        [F_BUDGET_LIMIT] = {"budget_limit", 1, BW_RATE_LIMIT_MAX, NULL},
        [F_BREAKER] = {"breaker", 0, 1, NULL},
        [F_APPROVAL] = {"approval", 0, 0, approval_names},
        [F_APPROVER_IS_REQUESTER] = {"approver_is_requester", 0, 1, NULL},
        [F_NOW] = {"now", 0, REPLAY_TICKS_MAX, NULL},
        [F_EXPIRES] = {"expires", 0, REPLAY_TICKS_MAX, NULL},
        [F_COVERED] = {"covered", 0, 1, NULL},
        [F_VERDICT] = {"verdict", 0, 0, verdict_names},
};

typedef struct model_decision {
        int64_t v[_F_MAX];
} model_decision;

/* Writes "line N: ..." to why. */
static void say(char *why, size_t len, size_t lineno, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static void say(char *why, size_t len, size_t lineno, const char *fmt, ...) {
        int n = snprintf(why, len, "line %zu: ", lineno);
        if (n < 0 || (size_t)n >= len)
                return;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why + n, len - (size_t)n, fmt, ap);
        va_end(ap);
}

static int parse_value(const field_spec *f, const char *text, int64_t *ret) {
        if (!f->names)
                return parse_int64(text, f->min, f->max, ret);
        for (int64_t i = 0; f->names[i]; i++)
                if (strcmp(f->names[i], text) == 0) {
                        *ret = i;
                        return 0;
                }
        return -EINVAL;
}

/* Parses one DECIDE line strictly: "DECIDE", every field in order, "->" before
 * the verdict, one space between tokens, nothing else. 0, or -EINVAL with why. */
static int parse_line(const char *line, size_t lineno, model_decision *ret, char *why, size_t len) {
        char buf[REPLAY_LINE_MAX + 1];
        if (!line[0]) {
                say(why, len, lineno, "empty (neither a comment nor a DECIDE line)");
                return -EINVAL;
        }
        if (strlen(line) > REPLAY_LINE_MAX) {
                say(why, len, lineno, "longer than %d bytes", REPLAY_LINE_MAX);
                return -EINVAL;
        }
        snprintf(buf, sizeof(buf), "%s", line);
        char *tok[_F_MAX + 3];
        size_t n = 0;
        char *p = buf;
        for (;;) {
                char *sp = strchr(p, ' ');
                if (n == sizeof(tok) / sizeof(tok[0])) {
                        say(why, len, lineno, "trailing text after the verdict: \"%.40s\"", p);
                        return -EINVAL;
                }
                tok[n++] = p;
                if (!sp)
                        break;
                *sp = '\0';
                p = sp + 1;
        }
        for (size_t i = 0; i < n; i++)
                if (!tok[i][0]) {
                        say(why, len, lineno, "empty token %zu (tokens are separated by one space)", i + 1);
                        return -EINVAL;
                }
        if (strcmp(tok[0], "DECIDE") != 0) {
                say(why, len, lineno, "does not start with DECIDE");
                return -EINVAL;
        }
        size_t t = 1;
        for (unsigned f = 0; f < _F_MAX; f++, t++) {
                if (f == F_VERDICT) {
                        if (t >= n || strcmp(tok[t], "->") != 0) {
                                say(why, len, lineno, "no \"->\" before the verdict");
                                return -EINVAL;
                        }
                        t++;
                }
                const field_spec *fs = &fields[f];
                size_t nl = strlen(fs->name);
                if (t >= n || strncmp(tok[t], fs->name, nl) != 0 || tok[t][nl] != '=') {
                        say(why, len, lineno, "field %s missing (or out of order) at token %zu", fs->name,
                            t + 1);
                        return -EINVAL;
                }
                if (parse_value(fs, tok[t] + nl + 1, &ret->v[f]) < 0) {
                        if (fs->names)
                                say(why, len, lineno, "%s=%.40s is not a known value", fs->name,
                                    tok[t] + nl + 1);
                        else
                                say(why, len, lineno, "%s=%.40s is not an integer in %lld..%lld", fs->name,
                                    tok[t] + nl + 1, (long long)fs->min, (long long)fs->max);
                        return -EINVAL;
                }
        }
        if (t != n) {
                say(why, len, lineno, "trailing text after the verdict: \"%.40s\"", tok[t]);
                return -EINVAL;
        }
        /* Constraints model/README.md states for the fields. */
        if (ret->v[F_APPROVER_IS_REQUESTER] && ret->v[F_APPROVAL] != A_GRANTED) {
                say(why, len, lineno, "approver_is_requester=1 without approval=granted");
                return -EINVAL;
        }
        if (ret->v[F_APPROVAL] == A_NONE && ret->v[F_EXPIRES] != 0) {
                say(why, len, lineno, "approval=none with expires=%lld (must be 0)",
                    (long long)ret->v[F_EXPIRES]);
                return -EINVAL;
        }
        return 0;
}

/* The model's tick t in the test's time. */
static int64_t tick_ms(int64_t t) {
        return TEST_NOW_MS + t * REPLAY_TICK_MS;
}

/* The execution's approval record the line describes; NULL for none. A grant
 * is dated tick 0 and valid for `expires` ticks, so that it is valid exactly
 * while now < expires, as in the model (GRANT_OK); every grant of the model
 * was given at or after tick 0 and at or before now. */
static const approval_record *approval_of(const model_decision *d, governor_policy *p, approval_record *r) {
        *r = (approval_record){.required = p->approvals.approvers};
        assert_int_equal(approval_actors_add(&r->requesters, "requester"), 0);
        snprintf(r->author, sizeof(r->author), "%s", "author");
        int64_t expires = d->v[F_EXPIRES];
        switch ((model_approval)d->v[F_APPROVAL]) {
        case A_GRANTED:
                r->state = APPROVAL_APPROVED;
                r->decided_at_ms = tick_ms(0);
                r->expires_at_ms = r->decided_at_ms + 1; /* decided before the request expired */
                p->approvals.valid_s = (unsigned)expires * (REPLAY_TICK_MS / 1000);
                assert_int_equal(approval_actors_add(&r->approved_by, d->v[F_APPROVER_IS_REQUESTER]
                                                                              ? "requester"
                                                                              : "approver"),
                                 0);
                return r;
        case A_PENDING:
                r->state = APPROVAL_PENDING;
                r->expires_at_ms = tick_ms(expires);
                return r;
        case A_EXPIRED:
                /* The sweeper rejected it once expires_at had passed. */
                r->state = APPROVAL_REJECTED;
                r->expires_at_ms = tick_ms(expires);
                r->decided_at_ms = tick_ms(expires);
                return r;
        case A_NONE:
        default:
                return NULL;
        }
}

/* The rule id C must give where the model's verdict pins it. NULL: any id of
 * that verdict. A recommendation's cause follows model/README.md's order:
 * level 2, then the breaker, then the spent budget (which opens the breaker). */
static const char *rule_expected(const model_decision *d) {
        switch ((model_verdict)d->v[F_VERDICT]) {
        case V_ALLOW:
                return "allowed";
        case V_DENY_CEILING:
                return "over_ceiling";
        case V_SATISFIED:
                return "folded";
        case V_RECOMMEND:
                return d->v[F_LEVEL] <= 2 ? "recommend_only"
                       : d->v[F_BREAKER]  ? "breaker_open"
                                          : "rate_limit";
        case V_NEEDS_APPROVAL:
        default:
                return NULL;
        }
}

/* Feeds d to governor_decide. 0 if C agrees with the model, 1 (with why) if not. */
static int replay_decision(const model_decision *d, size_t lineno, char *why, size_t len) {
        governor_policy p;
        assert_int_equal(governor_policy_init(&p), 0);
        /* The kind's ceiling lowered from the compiled one; one budget, "global". */
        assert_int_equal(governor_policy_lower(&p, TARGET_IP, (unsigned)d->v[F_CEILING]), 0);
        assert_int_equal(
                governor_policy_rate_limit(&p, "global", RATE_PER_MINUTE, (unsigned)d->v[F_BUDGET_LIMIT]),
                0);
        char names[REPLAY_TARGETS_MAX][32];
        char *targets[REPLAY_TARGETS_MAX];
        for (int64_t i = 0; i < d->v[F_N_TARGETS]; i++) {
                snprintf(names[i], sizeof(names[i]), "203.0.113.%lld", (long long)i + 1);
                targets[i] = names[i];
        }
        governor_action a = {
                .op = GOVERNOR_RUN,
                .level = (unsigned)d->v[F_LEVEL],
                .released = false, /* the model's level 2 is never an analyst's run */
                .connector = "nft",
                .verb = "block",
                .reversible = d->v[F_REVERSIBLE] != 0,
                .category = d->v[F_HIGHRISK] ? "data_deletion" : "",
                .has_targets = true,
                .kind = TARGET_IP,
                .targets = targets,
                .n_targets = (size_t)d->v[F_N_TARGETS],
        };
        approval_record record;
        uint64_t used[1] = {(uint64_t)d->v[F_BUDGET_USED]};
        governor_state s = {
                .now_ms = tick_ms(d->v[F_NOW]),
                .breaker_open = d->v[F_BREAKER] != 0,
                .budget_used = used,
                .covered = d->v[F_COVERED] != 0,
                .approval = approval_of(d, &p, &record),
        };
        /* budget_used[] is in governor_budgets_for's order: one budget here. */
        governor_budget b[GOVERNOR_BUDGETS_MAX];
        assert_int_equal(governor_budgets_for(&p, a.connector, a.verb, b), 1);

        governor_ruling ru;
        governor_verdict got = governor_decide(&p, &a, &s, &ru);
        model_verdict want = (model_verdict)d->v[F_VERDICT];
        const char *rule = rule_expected(d);
        int r = 0;
        if (got != verdict_in_c[want]) {
                say(why, len, lineno, "model verdict=%s, governor_decide %s (rule %s: %s)",
                    verdict_names[want], governor_verdict_name(got), ru.rule, ru.reason);
                r = 1;
        } else if (rule && strcmp(rule, ru.rule) != 0) {
                say(why, len, lineno, "model verdict=%s (so rule %s), governor_decide %s by rule %s: %s",
                    verdict_names[want], rule, governor_verdict_name(got), ru.rule, ru.reason);
                r = 1;
        } else if (ru.open_breaker != (strcmp(ru.rule, "rate_limit") == 0)) {
                say(why, len, lineno, "rule %s with open_breaker=%d", ru.rule, ru.open_breaker);
                r = 1;
        } else if (want == V_ALLOW &&
                   (ru.n_charge != 1 || strcmp(ru.charge[0].key, "global") != 0 ||
                    ru.charge[0].window != RATE_PER_MINUTE || ru.charge[0].limit != d->v[F_BUDGET_LIMIT])) {
                /* The model charges the budget of every action it allows. */
                say(why, len, lineno, "allowed, but charged %zu budget(s), not the global one", ru.n_charge);
                r = 1;
        }
        governor_policy_clear(&p);
        return r;
}

/* One line of the file: 0 if it agrees (or is a comment), 1 if governor_decide
 * disagrees, -EINVAL if it is malformed; why says which and where. */
static int replay_line(const char *line, size_t lineno, bool *ret_decided, char *why, size_t len) {
        *ret_decided = false;
        if (line[0] == '#')
                return 0;
        model_decision d;
        int r = parse_line(line, lineno, &d, why, len);
        if (r < 0)
                return r;
        *ret_decided = true;
        return replay_decision(&d, lineno, why, len);
}

/* The tuples of the committed file, every one. */
static void test_model_decisions_replay(void **state) {
        (void)state;
        const char *path = getenv("BULWARK_MODEL_DECISIONS");
        if (!path || !path[0])
                fail_msg("BULWARK_MODEL_DECISIONS is not set (meson sets it to model/decisions.txt)");
        FILE *f = fopen(path, "re");
        if (!f)
                fail_msg("%s: %s", path, strerror(errno));
        char *line = NULL;
        size_t cap = 0;
        ssize_t got;
        size_t lineno = 0, decided = 0, malformed = 0, disagree = 0;
        while ((got = getline(&line, &cap, f)) >= 0) {
                lineno++;
                char why[512] = "";
                if (got > 0 && line[got - 1] == '\n')
                        line[--got] = '\0';
                if ((size_t)got != strlen(line)) {
                        print_error("%s:%zu: contains a NUL byte\n", path, lineno);
                        malformed++;
                        continue;
                }
                bool d;
                int r = replay_line(line, lineno, &d, why, sizeof(why));
                decided += d;
                if (r != 0)
                        print_error("%s: %s: %s\n", path, r < 0 ? "malformed" : "disagrees", why);
                malformed += r < 0;
                disagree += r > 0;
        }
        bool read_error = ferror(f) != 0;
        free(line);
        fclose(f);
        if (read_error)
                fail_msg("%s: read error after line %zu", path, lineno);
        print_message("model replay: %zu decisions of %s replayed, %zu disagree, %zu malformed\n", decided,
                      path, disagree, malformed);
        if (malformed || disagree)
                fail_msg("%s: %zu malformed line(s), %zu decision(s) governor_decide disagrees with (above)",
                         path, malformed, disagree);
        if (decided < REPLAY_LINES_MIN)
                fail_msg("%s: only %zu DECIDE lines (at least %d expected)", path, decided,
                         REPLAY_LINES_MIN);
}

#define LINE_OK                                                                                             \
        "DECIDE level=3 reversible=1 highrisk=0 n_targets=1 ceiling=2 budget_used=0 budget_limit=1 "        \
        "breaker=0 "                                                                                        \
        "approval=none approver_is_requester=0 now=0 expires=0 covered=0 -> verdict=allow"

/* The replay can fail: a wrong verdict is reported with its line and both verdicts. */
static void test_model_replay_reports_disagreement(void **state) {
        (void)state;
        char why[512];
        bool d;
        assert_int_equal(replay_line(LINE_OK, 7, &d, why, sizeof(why)), 0);
        assert_true(d);
        char wrong[sizeof(LINE_OK) + 16]; /* "satisfied" is longer than "allow" */
        snprintf(wrong, sizeof(wrong), "%s", LINE_OK);
        memcpy(strstr(wrong, "verdict=") + strlen("verdict="), "satisfied", strlen("satisfied") + 1);
        assert_int_equal(replay_line(wrong, 7, &d, why, sizeof(why)), 1);
        assert_non_null(strstr(why, "line 7: model verdict=satisfied, governor_decide allowed"));
        /* A granted approval by the requester counts for nothing; on time by
         * someone else it does, and not at its end. */
        const char *lines[][2] = {
                {"DECIDE level=4 reversible=0 highrisk=0 n_targets=1 ceiling=2 budget_used=0 budget_limit=1 "
                 "breaker=0 approval=granted approver_is_requester=1 now=1 expires=3 covered=0 -> "
                 "verdict=needs_approval",
                 "DECIDE level=4 reversible=0 highrisk=0 n_targets=1 ceiling=2 budget_used=0 budget_limit=1 "
                 "breaker=0 approval=granted approver_is_requester=1 now=1 expires=3 covered=0 -> "
                 "verdict=allow"},
                {"DECIDE level=3 reversible=1 highrisk=1 n_targets=2 ceiling=2 budget_used=0 budget_limit=1 "
                 "breaker=0 approval=granted approver_is_requester=0 now=2 expires=3 covered=0 -> "
                 "verdict=allow",
                 "DECIDE level=3 reversible=1 highrisk=1 n_targets=2 ceiling=2 budget_used=0 budget_limit=1 "
                 "breaker=0 approval=granted approver_is_requester=0 now=3 expires=3 covered=0 -> "
                 "verdict=allow"},
                /* A spent budget recommends (and opens the breaker); an open
                 * breaker recommends without it. */
                {"DECIDE level=3 reversible=1 highrisk=0 n_targets=1 ceiling=2 budget_used=1 budget_limit=1 "
                 "breaker=0 approval=none approver_is_requester=0 now=0 expires=0 covered=0 -> "
                 "verdict=recommend",
                 "DECIDE level=3 reversible=1 highrisk=0 n_targets=3 ceiling=2 budget_used=0 budget_limit=1 "
                 "breaker=0 approval=none approver_is_requester=0 now=0 expires=0 covered=0 -> "
                 "verdict=recommend"},
        };
        for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
                assert_int_equal(replay_line(lines[i][0], 1, &d, why, sizeof(why)), 0);
                assert_int_equal(replay_line(lines[i][1], 1, &d, why, sizeof(why)), 1);
        }
}

/* A malformed line is an error naming its line number, never a skipped line. */
static void test_model_replay_rejects_malformed_lines(void **state) {
        (void)state;
        const char *bad[][2] = {
                {"", "empty (neither a comment nor a DECIDE line)"},
                {"DECISION level=3", "does not start with DECIDE"},
                {"DECIDE", "field level missing"},
                {"DECIDE level=3 reversible=1 highrisk=0 n_targets=1 ceiling=2 budget_used=0 budget_limit=1 "
                 "breaker=0 approval=none approver_is_requester=0 now=0 expires=0 covered=0 verdict=allow",
                 "no \"->\" before the verdict"},
                {"DECIDE reversible=1 level=3 highrisk=0 n_targets=1 ceiling=2 budget_used=0 budget_limit=1 "
                 "breaker=0 approval=none approver_is_requester=0 now=0 expires=0 covered=0 -> "
                 "verdict=allow",
                 "field level missing (or out of order)"},
                {"DECIDE level=5 reversible=1 highrisk=0 n_targets=1 ceiling=2 budget_used=0 budget_limit=1 "
                 "breaker=0 approval=none approver_is_requester=0 now=0 expires=0 covered=0 -> "
                 "verdict=allow",
                 "level=5 is not an integer in 2..4"},
                {"DECIDE level=3 reversible=1 highrisk=0 n_targets=1 ceiling=0 budget_used=0 budget_limit=1 "
                 "breaker=0 approval=none approver_is_requester=0 now=0 expires=0 covered=0 -> "
                 "verdict=allow",
                 "ceiling=0 is not an integer"},
                {"DECIDE level=3 reversible=1 highrisk=0 n_targets=1x ceiling=2 budget_used=0 "
                 "budget_limit=1 "
                 "breaker=0 approval=none approver_is_requester=0 now=0 expires=0 covered=0 -> "
                 "verdict=allow",
                 "n_targets=1x is not an integer"},
                {"DECIDE level=3 reversible=1 highrisk=0 n_targets=1 ceiling=2 budget_used=-1 "
                 "budget_limit=1 "
                 "breaker=0 approval=none approver_is_requester=0 now=0 expires=0 covered=0 -> "
                 "verdict=allow",
                 "budget_used=-1 is not an integer"},
                {"DECIDE level=3 reversible=1 highrisk=0 n_targets=1 ceiling=2 budget_used=0 budget_limit=1 "
                 "breaker=0 approval=refused approver_is_requester=0 now=0 expires=0 covered=0 -> "
                 "verdict=allow",
                 "approval=refused is not a known value"},
                {"DECIDE level=3 reversible=1 highrisk=0 n_targets=1 ceiling=2 budget_used=0 budget_limit=1 "
                 "breaker=0 approval=none approver_is_requester=0 now=0 expires=0 covered=0 -> verdict=deny",
                 "verdict=deny is not a known value"},
                {LINE_OK " covered=1", "trailing text after the verdict"},
                {LINE_OK " ", "empty token"},
                {"DECIDE  level=3 reversible=1 highrisk=0 n_targets=1 ceiling=2 budget_used=0 "
                 "budget_limit=1 "
                 "breaker=0 approval=none approver_is_requester=0 now=0 expires=0 covered=0 -> "
                 "verdict=allow",
                 "empty token 2"},
                {"DECIDE level=3 reversible=1 highrisk=0 n_targets=1 ceiling=2 budget_used=0 budget_limit=1 "
                 "breaker=0 approval=none approver_is_requester=1 now=0 expires=0 covered=0 -> "
                 "verdict=allow",
                 "approver_is_requester=1 without approval=granted"},
                {"DECIDE level=3 reversible=1 highrisk=0 n_targets=1 ceiling=2 budget_used=0 budget_limit=1 "
                 "breaker=0 approval=none approver_is_requester=0 now=0 expires=2 covered=0 -> "
                 "verdict=allow",
                 "approval=none with expires=2"},
                {"DECIDE level=3 reversible=1 highrisk=0 n_targets=1 ceiling=2 budget_used=0 budget_limit=1 "
                 "breaker=0 approval=none approver_is_requester=0 now=0 expires=0 covered=0 -> "
                 "verdict=allow\r",
                 "verdict=allow\r is not a known value"},
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                char why[512] = "";
                bool d = true;
                assert_int_equal(replay_line(bad[i][0], 42 + i, &d, why, sizeof(why)), -EINVAL);
                assert_false(d);
                char want[64];
                snprintf(want, sizeof(want), "line %zu: ", 42 + i);
                if (strncmp(why, want, strlen(want)) != 0 || !strstr(why, bad[i][1]))
                        fail_msg("case %zu: \"%s\" does not say \"%s%s\"", i, why, want, bad[i][1]);
        }
}

int model_replay_tests(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_model_decisions_replay),
                cmocka_unit_test(test_model_replay_reports_disagreement),
                cmocka_unit_test(test_model_replay_rejects_malformed_lines),
        };
        return cmocka_run_group_tests_name("model_replay", tests, NULL, NULL);
}
