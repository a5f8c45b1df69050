/* model/governor.pml: Promela model of the governor's safety (EH-36), checked exhaustively by spin. */
/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Engine workers racing for rate budgets, the circuit breaker, approvals
 * against their timeout, separation of duties, a crash anywhere between
 * INTENT, the journaled snapshot, the apply and the result, in-doubt
 * recovery, rollback and expiry, target ceilings. model/README.md says what
 * is abstracted and why; model/check.sh runs the checks.
 *
 * Every inline and every atomic step names the C function it stands for, as
 * the code is now (docs/architecture.md: "The governor's one home" — one pure
 * core/governor.c: governor_decide; "One gate" — the engine's gates in
 * engine/gate.c; "The action journal" — the snapshot journaled before the
 * apply). One element is not in the code yet: the claim generation that fences
 * every journal write (gen[], FENCED), marked "being built: store/sqlite.c
 * claims". model/README.md keeps the table model element -> C function.
 *
 * One atomic { } is one store write transaction (store/store.h: store_write):
 * other processes never see it half done. Between two of them anything may
 * run, including a crash of the worker (CRASH_POINT).
 *
 * Mutants (model/mutants/*.pml) switch one safeguard off with a #define; the
 * model text exists once, here.
 */

/* --- bounds (small on purpose: exhaustive search, model/check.sh) ------------ */
#ifndef NW
#define NW 2            /* engine worker threads (engine/engine.c: engine_worker) */
#endif
#define NA 2            /* actions, one alert each (claims are per alert) */
#ifndef TMAX
#define TMAX 3          /* the clock runs 0..TMAX */
#endif
#ifndef WLEN
#define WLEN 2          /* a rate window lasts WLEN ticks */
#endif
#define NSLICE (TMAX + 1) /* budget slices the clock reaches: one a tick */
#ifndef LIMIT
#define LIMIT 1         /* the rate budget: actions in any window */
#endif
#ifndef CEIL
#define CEIL 2          /* the target ceiling of the actions' kind (BW_CEILING_*) */
#endif
#ifndef TIMEOUT
#define TIMEOUT 2       /* approvals.timeout_s: a request expires TIMEOUT ticks after it is made */
#endif
#ifndef GRANT_VALID
#define GRANT_VALID 2   /* a granted approval lets the action start for GRANT_VALID ticks */
#endif
#define DUR 1           /* duration_s of the reversible actions: expiry after DUR ticks */
#ifndef MAXCRASH
#define MAXCRASH 1      /* crashes of workers over a whole run */
#endif
#define NONE 255

/* --- names --------------------------------------------------------------------- */
/* core/journal.h: action_state (the journal's states; the model's subset) */
#define PLANNED       0
#define AWAITING      1 /* awaiting_approval */
#define INTENT        2
#define APPLIED       3
#define RECOMMENDED   4
#define DENIED        5
#define SATISFIED     6
#define FAILED        7
#define ROLLBACK_REQ  8 /* rollback_requested */
#define ROLLED_BACK   9
#define ROLLBACK_FAIL 10
#define REJECTED      11

/* approvals.state (core/approval.h: approval_state; expired and refused are both
 * APPROVAL_REJECTED), and the governor's verdicts (core/governor.h:
 * governor_verdict; deny_ceiling is GOVERNOR_DENY by rule "over_ceiling") */
mtype = { none, pending, granted, expired, refused,
          allow, deny_ceiling, needs_approval, recommend, satisfied };

/* actors: the playbook's author, the alert's submitter, and a third person */
#define AUTHOR    0
#define REQUESTER 1
#define OTHER     2

/* --- the actions (core/governor.h: governor_action, as config/governed_action.c:
 * governed_action_describe makes it from the rendered step and its playbook) -- */
byte lvl[NA];           /* automation level 2..4 */
bool rev[NA];           /* the connector can snapshot and roll back */
bool hr[NA];            /* a high-risk category (core/governor.c: approval_reasons) */
byte ntg[NA];           /* number of targets */
byte tgt[NA];           /* which target (two actions on one target fold) */

/* --- the store (store/sqlite.c, store/sqlite_response.c): durable -------------- */
byte st[NA];            /* actions.state */
bool snap[NA];          /* actions.result has a snapshot */
byte aexp[NA];          /* actions.expires_at (reversible actions with a duration) */
byte owner[NA];         /* alerts claimed by a worker, NONE if not */
byte gen[NA];           /* the claim generation: bumped by every claim (being built: store/sqlite.c claims) */
mtype appr[NA];         /* approvals.state */
byte req_exp[NA];       /* approvals.expires_at */
byte gr_at[NA];         /* approvals.decided_at of a grant */
byte apv[NA];           /* approvals.approved_by */
byte used[NSLICE];      /* budgets.used, one row per slice (BW_RATE_SLICES; a slice is a tick) */
bool breaker;           /* breaker.open */

/* --- the world: the systems connectors act on ---------------------------------- */
byte live[NA];          /* applies of the action in effect (not undone): 0 absent */

/* --- time ---------------------------------------------------------------------- */
byte now;               /* util/clock.h: clock_wall_ms, in ticks (gate_txn.now_ms of a batch) */
/* store/sqlite.c: sq_budget_used — the slices that overlap the window ending
 * now: a window of WLEN ticks that ends within tick now starts within tick
 * now - WLEN, so WLEN + 1 slices, the oldest counted whole. */
#define SLICE(k) (now >= (k) -> used[now - (k)] : 0)
#ifdef MUTANT_FIXED_WINDOW
/* The budget of a window fixed on the clock: only the slices since the
 * window's start. */
#define FIXED(k) (now % WLEN >= (k) -> used[now - (k)] : 0)
#define USED (FIXED(0) + FIXED(1) + FIXED(2))
#elif WLEN == 1
#define USED (SLICE(0) + SLICE(1))
#elif WLEN == 2
#define USED (SLICE(0) + SLICE(1) + SLICE(2))
#elif WLEN == 3
#define USED (SLICE(0) + SLICE(1) + SLICE(2) + SLICE(3))
#else
#error "the budget is written for windows of 1 to 3 ticks"
#endif

/* --- ghosts: written only to state the properties ------------------------------ */
bool ea[NA];            /* the action was applied at least once */
byte chw[NA];           /* the slice its budget was charged in */
/* Distinct actions applied, by the slice they were charged in: slice t at
 * wapp[WPAD + t]. The WPAD zeros before slice 0 and the slices beyond TMAX let
 * P2 sum any window without a bounds test (an LTL formula has no ?:). */
#define WPAD 3
byte wapp[WPAD + 8];
byte apt[NA];           /* when the governor let its (last) apply start */
byte crashes;

/* --- mutant switches ------------------------------------------------------------ */
#ifdef MUTANT_CEILING_OFF_BY_ONE
#define OVER_CEILING(i) (ntg[i] > CEIL + 1)
#else
#define OVER_CEILING(i) (ntg[i] > CEIL)
#endif
#ifdef MUTANT_NO_EXPIRY
#define BEFORE_EXPIRY(i) true
#else
#define BEFORE_EXPIRY(i) (now < req_exp[i])
#endif
#ifdef MUTANT_NO_SOD_STORE
#define SEPARATE(i, actor) true
#else
#define SEPARATE(i, actor) ((actor) != AUTHOR && (actor) != REQUESTER)
#endif
#ifdef MUTANT_NO_FENCING
#define CLAIM_FREE(i) true
#define FENCED(i, g) true
#else
#define CLAIM_FREE(i) (owner[i] == NONE)
#define FENCED(i, g) (gen[i] == (g) && owner[i] == _pid)
#endif

/* --- the properties -------------------------------------------------------------- */
/* Written against the store, the world and the ghosts, not against the code
 * above: each says what must hold, not how the model gets it. */
#define NEEDS_APPROVAL(i) (lvl[i] == 4 || !rev[i] || hr[i])
#define P1A(i) (!ea[i] || ntg[i] <= CEIL)
#define P3A(i) (!ea[i] || !NEEDS_APPROVAL(i) || \
                (appr[i] == granted && apv[i] != AUTHOR && apv[i] != REQUESTER && \
                 gr_at[i] < req_exp[i] && gr_at[i] <= apt[i] && apt[i] < gr_at[i] + GRANT_VALID))
#define P4A(i) (!rev[i] || !(st[i] == APPLIED || st[i] == ROLLBACK_REQ) || snap[i])
#define P5A(i) (live[i] <= 1)

#define P1ALL (P1A(0) && P1A(1))
#define P3ALL (P3A(0) && P3A(1))
#define P4ALL (P4A(0) && P4A(1))
#define P5ALL (P5A(0) && P5A(1))
/* Applied actions charged in the WLEN + 1 slices up to slice t: what any
 * window of the budget's length that ends within slice t can hold. */
#define WA(t, k) wapp[WPAD + (t) - (k)]
#if WLEN == 1
#define WAPP_IN(t) (WA(t, 0) + WA(t, 1))
#elif WLEN == 2
#define WAPP_IN(t) (WA(t, 0) + WA(t, 1) + WA(t, 2))
#else
#define WAPP_IN(t) (WA(t, 0) + WA(t, 1) + WA(t, 2) + WA(t, 3))
#endif
#define P2W(t) (WAPP_IN(t) <= LIMIT)
#if TMAX > 7
#error "P2 is written for clocks of up to 8 ticks"
#endif
#define P2ALL (P2W(0) && P2W(1) && P2W(2) && P2W(3) && P2W(4) && P2W(5) && P2W(6) && P2W(7))

/* P1: no action applied over its ceiling. */
ltl p1 { [] P1ALL }
/* P2: the applied actions charged within any window of the budget's length,
 * wherever it starts, never exceed the budget. */
ltl p2 { [] P2ALL }
/* P3: no level-4, irreversible or high-risk apply without a granted approval,
 * given before its request expired, still valid when the apply was let start,
 * by an actor other than the requester and the author. */
ltl p3 { [] P3ALL }
/* P4: every applied (or rollback-requested) reversible action has its snapshot
 * in the journal: it can always be rolled back. */
ltl p4 { [] P4ALL }
/* P5: no action applied twice: at most one apply of it in effect. */
ltl p5 { [] P5ALL }
/* All five at once: for invariants, [](a && b) is []a && []b. Used where one
 * run per property would cost too much (model/check.sh, three workers). */
ltl pall { [] (P1ALL && P2ALL && P3ALL && P4ALL && P5ALL) }

/* --- the governor's decision ------------------------------------------------------ */

/* core/governor.c: approval_reasons, G2.1 of governor_decide (level 4; level 3
 * irreversible; a category) */
#define WANTS_APPROVAL(i) (lvl[i] >= 4 || (lvl[i] == 3 && !rev[i]) || hr[i])
/* engine/gate.c: covered -> governor_state.covered (store_tx_effects_cover, i.e.
 * store/sqlite_response.c: sq_effects_cover, or taken_by within one batch) —
 * the other action on the same target holds it */
#define COVERED(i) (tgt[1 - (i)] == tgt[i] && st[1 - (i)] == APPLIED)

/* The governor checks separation of duties again (defence in depth: the
 * store's decision already refused such an approver): core/approval.c:
 * approval_valid, called by governor_decide (G2.3), refuses a grant by a
 * requester or the author. */
#ifdef MUTANT_NO_SOD_DECIDE
#define SOD_DECIDE(i) true
#else
#define SOD_DECIDE(i) (apv[i] != AUTHOR && apv[i] != REQUESTER)
#endif
/* The approval the action needs is granted, by someone else, and still valid:
 * core/approval.c: approval_valid (approved, within approvals.valid_s of
 * decided_at, enough approvers, none a requester or the author). */
#define GRANT_OK(i) (appr[i] == granted && SOD_DECIDE(i) && now < gr_at[i] + GRANT_VALID)

/* core/governor.c: governor_decide. Pure: reads the action and a view of the
 * store (governor_state, read by engine/gate.c: read_state), writes v (the
 * verdict) and spent (a budget was found spent: governor_ruling.open_breaker).
 * in_doubt is GOVERNOR_IN_DOUBT: the budget was charged when the action first
 * entered INTENT, and folding is not asked again. The branches, in order, are
 * its rules G1.2 "over_ceiling", G2.2 "recommend_only", G2.3
 * "approval_needed"/"approval_lapsed", G5 "folded", G3 "breaker_open" and
 * "rate_limit". G0 (level 1, no target), the other G1 rules (typed, valid,
 * protected targets) and G4 (rollback) are not modelled (model/README.md).
 * A level-2 action reaches engine/gate.c: planned_gate in C only when an
 * analyst released it (then judged like level 3); its first decision is the
 * planner's (engine/gate.c: gate_plan, the same governor_decide with an empty
 * state), which the fresh gate below stands for. */
inline governor_decide(i, in_doubt, v, spent) {
        spent = false;
        if
        :: OVER_CEILING(i) -> v = deny_ceiling
        :: else ->
                if
                :: lvl[i] <= 2 -> v = recommend
                :: else ->
                        if
                        :: WANTS_APPROVAL(i) && !GRANT_OK(i) -> v = needs_approval
                        :: else ->
                                if
                                :: !in_doubt && COVERED(i) -> v = satisfied
                                :: else ->
                                        if
                                        :: breaker -> v = recommend
                                        :: else ->
                                                if
                                                :: !in_doubt && USED >= LIMIT -> v = recommend; spent = true
                                                :: else -> v = allow
                                                fi
                                        fi
                                fi
                        fi
                fi
        fi
}

/* The tuple the C replay test feeds to governor_decide (model/README.md,
 * model/decisions.txt; tests/unit/core/test_model_replay.c). */
inline print_decision(i, v) {
        printf("DECIDE level=%d reversible=%d highrisk=%d n_targets=%d ceiling=%d ", lvl[i], rev[i], hr[i],
               ntg[i], CEIL);
        printf("budget_used=%d budget_limit=%d breaker=%d approval=%e approver_is_requester=%d ",
               USED, LIMIT, breaker, appr[i],
               appr[i] == granted && (apv[i] == AUTHOR || apv[i] == REQUESTER));
        printf("now=%d expires=%d covered=%d -> verdict=%e\n", now,
               (appr[i] == granted -> gr_at[i] + GRANT_VALID : (appr[i] == none -> 0 : req_exp[i])),
               COVERED(i), v)
}

/* A verdict that does not run the action, recorded in the journal:
 * engine/gate.c: planned_gate -> store_tx_action_set with state_of(verdict),
 * open_breaker, and gate_approval_request (both in the same transaction). */
inline record_not_run(i, v, spent) {
        if
        :: v == deny_ceiling -> st[i] = DENIED
        :: v == recommend ->
                st[i] = RECOMMENDED;
                /* engine/gate.c: open_breaker -> store_tx_breaker_open */
                if
                :: spent -> breaker = true
                :: else -> skip
                fi
        :: v == satisfied -> st[i] = SATISFIED
        :: v == needs_approval ->
                if
                :: appr[i] == none ->
                        /* engine/gate.c: gate_approval_request -> store_tx_approval_request
                         * (expires_at = now + approvals.timeout_s) */
                        st[i] = AWAITING; appr[i] = pending; req_exp[i] = now + TIMEOUT
                :: appr[i] == pending -> st[i] = AWAITING
                /* Its grant lapsed (or was given by a requester or the author).
                 * C differs here: state_of gives awaiting_approval and
                 * gate_approval_request renews the request (SQ_APPROVAL_RENEW:
                 * pending anew, no approver). The model records it rejected:
                 * an analyst runs it again. */
                :: else -> st[i] = REJECTED
                fi
        fi
}

/* The worker gives its claim back: the alert is done (store_tx_alert_done in
 * engine/engine.c: job_finish, or store_tx_alerts_done in job_begin for an
 * alert with nothing to run). */
#define RELEASE(i) owner[i] = NONE

/* A crash may fall between any two steps of a worker (kill -9 of the daemon, or
 * of this worker's lease holder): every local variable is lost. */
#define CRASH_POINT \
        if \
        :: skip \
        :: crashes < MAXCRASH -> goto crashed \
        fi

/* Everything a worker knew is forgotten when its claim ends (and idle
 * workers holding stale locals would only multiply the states). */
#define FORGET a = NONE; g = 0; pt = 0; v = none; spent = false; have = false; s = NONE

/* Budget charged, INTENT recorded, permit minted: engine/gate.c: planned_gate ->
 * charge (written by gate_txn_flush -> store_tx_budget_charge at the end of the
 * same transaction, engine/engine.c: job_begin), mint_action
 * (governor_permit_mint), store_tx_action_set(INTENT). */
#define CHARGE(i) used[now]++; chw[i] = now; st[i] = INTENT; pt = now

/* engine/engine.c: engine_worker -> engine_process -> run_job (claim a batch,
 * journal it, run it, record it). */
proctype worker() {
        byte a = NONE;          /* the claimed action */
        byte g;                 /* the claim's generation */
        byte s = NONE;          /* its state when claimed */
        byte pt;                /* when the governor minted the permit (governor_permit_mint) */
        mtype v = none;
        bool spent, have;       /* a budget was found spent; a snapshot to restore / found in effect */

        /* One atomic step: the claim (store/sqlite.c: sq_alerts_claim, from
         * store/store.c: store_claim), the journal's first transaction
         * (engine/engine.c: job_begin -> exec_begin -> engine/gate.c:
         * gate_action) and the read-only calls that follow it (the in-doubt
         * verify). They are separate transactions in C, but between them the
         * claim keeps every other process off this alert, and time passing
         * before or after the claim is the same. */
end_idle:
        atomic {
                /* A claim is taken only if no live worker holds it (C: only a
                 * queued alert, or one whose lease expired); the claim generation
                 * then fences every later write (being built: store/sqlite.c
                 * claims; today the lease stamp fences only the renewals,
                 * sq_claims_renew, and job_finish skips an alert it lost). */
                if
                :: CLAIM_FREE(0) && (st[0] == PLANNED || st[0] == INTENT || st[0] == ROLLBACK_REQ) -> a = 0
                :: CLAIM_FREE(1) && (st[1] == PLANNED || st[1] == INTENT || st[1] == ROLLBACK_REQ) -> a = 1
                fi;
                owner[a] = _pid; gen[a]++; g = gen[a]; s = st[a];
                if
                :: s == PLANNED ->
                        /* engine/gate.c: planned_gate: read_state, governor_decide,
                         * then charge the budget, mint the permits and record
                         * INTENT, or record the verdict, in one transaction. */
                        governor_decide(a, false, v, spent);
                        print_decision(a, v);
                        if
#ifndef MUTANT_BUDGET_NOT_ATOMIC
                        :: v == allow -> CHARGE(a)
#else
                        :: v == allow -> skip /* the mutant charges in a later transaction */
#endif
                        :: else -> record_not_run(a, v, spent); RELEASE(a); FORGET
                        fi
                :: s == INTENT ->
                        /* In doubt: a previous holder may have applied it.
                         * engine/gate.c: in_doubt_gate (governor_decide with
                         * GOVERNOR_IN_DOUBT; the journaled snapshot is kept:
                         * store_tx_action_result; verify only unless ALLOW),
                         * then verify first (engine/execute.c: execute_action ->
                         * recover_in_doubt). */
                        governor_decide(a, true, v, spent);
                        pt = now;
                        have = live[a] > 0
                :: s == ROLLBACK_REQ ->
                        /* engine/gate.c: rollback_gate — the kept snapshot; no budget, no
                         * breaker (its governor_decide with GOVERNOR_ROLLBACK judges the
                         * targets again, which never change here) */
                        have = rev[a] && snap[a]
                :: else -> RELEASE(a); FORGET /* only when a claim was taken from a live worker */
                fi
        }
        if
        :: a == NONE -> goto end_idle
#ifdef MUTANT_BUDGET_NOT_ATOMIC
        :: s == PLANNED -> atomic { CHARGE(a) }; goto fresh
#else
        :: s == PLANNED -> goto fresh
#endif
        :: s == INTENT && have ->
                /* present: recorded applied, never applied again (engine/execute.c:
                 * recover_in_doubt, then engine/engine.c: job_finish ->
                 * store_tx_action_set, record_expiry) */
                atomic {
                        if
                        :: FENCED(a, g) ->
                                st[a] = APPLIED;
                                if
                                :: rev[a] -> aexp[a] = now + DUR
                                :: else -> skip
                                fi;
                                RELEASE(a)
                        :: else -> skip
                        fi;
                        FORGET
                }
                goto end_idle
        :: s == INTENT && !have && v == allow -> goto fresh /* absent and still allowed: run now */
        :: s == INTENT && !have && v != allow ->
                /* verify only: absent, recorded as what the governor says now
                 * (engine/execute.c: execute_action, act->if_absent; job_finish) */
                atomic {
                        if
                        :: FENCED(a, g) -> record_not_run(a, v, false); RELEASE(a)
                        :: else -> skip
                        fi;
                        FORGET
                }
                goto end_idle
        :: s == ROLLBACK_REQ ->
                /* engine/execute.c: run_rollback -> restore (the snapshot: target absent) */
                if
                :: have -> live[a] = 0
                :: else -> skip
                fi;
                CRASH_POINT;
                /* engine/engine.c: job_finish; store/sqlite_response.c: sq_effects_follow */
                atomic {
                        if
                        :: FENCED(a, g) ->
                                if
                                :: have -> st[a] = ROLLED_BACK
                                :: else -> st[a] = ROLLBACK_FAIL
                                fi;
                                RELEASE(a)
                        :: else -> skip
                        fi;
                        FORGET
                }
                goto end_idle
        fi;

fresh:  /* engine/execute.c: run_fresh (or execute_group for a batched call) —
         * snapshot, apply, verify */
        CRASH_POINT;
#ifndef MUTANT_SNAPSHOT_AFTER_APPLY
        /* The snapshot is taken (CONNECTOR_OP_SNAPSHOT) and journaled durably
         * before the apply: engine/execute.c: run_fresh -> journaled (or
         * group_journal), through batch_hooks.journal = engine/engine.c:
         * journal_snapshots -> store_tx_action_snapshot, one write transaction. */
        if
        :: rev[a] ->
                atomic {
                        if
                        :: FENCED(a, g) -> snap[a] = true
                        :: else -> FORGET
                        fi
                }
                if
                :: a == NONE -> goto end_idle
                :: else -> skip
                fi;
                CRASH_POINT
        :: else -> skip
        fi;
#endif
        /* connectors/pool.c: connector_pool_call(APPLY) with the permit;
         * the connector's change takes effect. */
        atomic {
                if
                :: !ea[a] -> wapp[WPAD + chw[a]]++
                :: else -> skip
                fi;
                ea[a] = true; apt[a] = pt; live[a]++
        }
        CRASH_POINT;
        /* engine/execute.c: verify_done — a failed verify restores the snapshot */
        if
        :: skip
        :: rev[a] ->
                live[a] = 0; /* engine/execute.c: roll_back */
                CRASH_POINT;
                atomic {
                        if
                        :: FENCED(a, g) -> st[a] = FAILED; RELEASE(a)
                        :: else -> skip
                        fi;
                        FORGET
                }
                goto end_idle
        fi;
        /* engine/engine.c: job_finish -> store_tx_action_set (result), record_expiry */
        atomic {
                if
                :: FENCED(a, g) ->
#ifdef MUTANT_SNAPSHOT_AFTER_APPLY
                        /* the code before journal_snapshots: the snapshot reached the
                         * journal with the result */
                        snap[a] = rev[a];
#endif
                        st[a] = APPLIED;
                        if
                        :: rev[a] -> aexp[a] = now + DUR
                        :: else -> skip
                        fi;
                        RELEASE(a)
                :: else -> skip
                fi;
                FORGET
        }
        goto end_idle;

crashed:
        /* The worker's process died: its claims become free again (at restart,
         * store/sqlite.c: sq_recover requeues every claim; the lease of a stuck
         * worker expires in sq_alerts_claim). It restarts with nothing but the
         * store. */
        atomic {
                crashes++;
                if
                :: owner[0] == _pid -> owner[0] = NONE
                :: else -> skip
                fi;
                if
                :: owner[1] == _pid -> owner[1] = NONE
                :: else -> skip
                fi;
                FORGET
        }
        goto end_idle
}

/* An approver deciding one request: store/store.c: decide_run, one write
 * transaction — it loads the row, core/approval.c: approval_may_decide refuses
 * at or after expires_at (-ETIMEDOUT), when not pending (-EALREADY) and by
 * separation of duties (-EPERM: a requester, the author), decide_run refuses
 * while the engine holds the alert (-EBUSY), and store/sqlite_response.c:
 * sq_approval_close stores the grant. A refused decision changes nothing. */
inline approve(i, actor) {
        atomic {
                appr[i] == pending && owner[i] == NONE ->
                if
                :: BEFORE_EXPIRY(i) && SEPARATE(i, actor) ->
                        appr[i] = granted; gr_at[i] = now; apv[i] = actor;
                        st[i] = PLANNED /* sq_approval_close: SQ_APPROVAL_ACTIONS_PLAN, SQ_REC_ALERT: requeued */
                :: else -> skip
                fi
        }
}

/* store/store.c: decide_run (APPROVAL_REJECT) -> sq_approval_close(rejected).
 * approval_may_decide also refuses a rejection at or after expires_at; the
 * model allows it, with the same end (the request rejected). */
inline reject(i) {
        atomic {
                appr[i] == pending && owner[i] == NONE -> appr[i] = refused; st[i] = REJECTED
        }
}

/* api/approvals.c -> store/store.c: store_approval_decide: the approvers, any
 * actor among author, requester, another. */
proctype approver() {
end_approver:
        do
        :: approve(0, AUTHOR)
        :: approve(0, REQUESTER)
        :: approve(0, OTHER)
        :: approve(1, AUTHOR)
        :: approve(1, REQUESTER)
        :: approve(1, OTHER)
        :: reject(0)
        :: reject(1)
        od
}

/* engine/sweeper.c: sweep — approvals_expire (store/store.c: expire_run:
 * SQ_APPROVALS_DUE, approval_may_decide == -ETIMEDOUT, sq_approval_close
 * "rejected") and the expiry of applied actions (store_expired_rollback ->
 * store/sqlite_response.c: sq_expired_rollback: rollback requested). Both only
 * for alerts no worker holds. */
inline expire_approval(i) {
        atomic {
                appr[i] == pending && req_exp[i] <= now && owner[i] == NONE ->
                appr[i] = expired; st[i] = REJECTED
        }
}

inline expire_action(i) {
        atomic {
                st[i] == APPLIED && rev[i] && aexp[i] <= now && owner[i] == NONE -> st[i] = ROLLBACK_REQ
        }
}

proctype sweeper() {
end_sweeper:
        do
        :: expire_approval(0)
        :: expire_approval(1)
        :: expire_action(0)
        :: expire_action(1)
        od
}

/* util/clock.h: clock_wall_ms — time passes, at any moment. */
proctype clock() {
end_clock:
        do
        :: atomic { now < TMAX -> now++ }
        od
}

/* The kinds of action the model explores (what config/governed_action.c:
 * governed_action_describe gives governor_decide). */
#define K_AUTO   0 /* level 3, reversible, 1 target: runs without approval */
#define K_L4     1 /* level 4, irreversible: approval */
#define K_IRREV3 2 /* level 3, irreversible: approval */
#define K_HIGH   3 /* level 3, reversible, high-risk category, at the ceiling: approval */
#define K_OVER   4 /* level 3, reversible, one target over the ceiling: denied */
#define K_REC    5 /* level 2: recommended only */

inline kind(i, k) {
        if
        :: k == K_AUTO   -> lvl[i] = 3; rev[i] = 1; hr[i] = 0; ntg[i] = 1
        :: k == K_L4     -> lvl[i] = 4; rev[i] = 0; hr[i] = 0; ntg[i] = 1
        :: k == K_IRREV3 -> lvl[i] = 3; rev[i] = 0; hr[i] = 0; ntg[i] = 1
        :: k == K_HIGH   -> lvl[i] = 3; rev[i] = 1; hr[i] = 1; ntg[i] = CEIL
        :: k == K_OVER   -> lvl[i] = 3; rev[i] = 1; hr[i] = 0; ntg[i] = CEIL + 1
        :: k == K_REC    -> lvl[i] = 2; rev[i] = 1; hr[i] = 0; ntg[i] = 1
        fi
}

init {
        byte k0, k1, w;
        atomic {
                /* Every pair of kinds, each unordered pair once (the actions are
                 * symmetric), on one target or two. */
#ifdef K0
                k0 = K0; k1 = K1; /* one pair only (measurements, model/README.md) */
#else
                if
                :: k0 = K_AUTO
                :: k0 = K_L4
                :: k0 = K_IRREV3
                :: k0 = K_HIGH
                :: k0 = K_OVER
                :: k0 = K_REC
                fi;
                k1 = k0; /* k1 >= k0: the mirror image of a pair is the same pair */
                do
                :: k1 < K_REC -> k1++
                :: break
                od;
#endif
                kind(0, k0);
                kind(1, k1);
                if
                :: k0 == k1 -> tgt[1] = 0 /* folding: same integration and verb */
                :: tgt[1] = 1
                fi;
                owner[0] = NONE; owner[1] = NONE; apv[0] = NONE; apv[1] = NONE;
                appr[0] = none; appr[1] = none; /* an mtype array starts at 0, not at none */
#ifdef BREAKER_OPEN
                breaker = true; /* traces only: opened by an earlier storm, not reset yet */
#endif
                run clock();
                run sweeper();
                run approver();
                do
                :: w < NW -> run worker(); w++
                :: else -> break
                od
        }
}
