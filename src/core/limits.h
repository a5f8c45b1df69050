/* SPDX-License-Identifier: Apache-2.0 */
/* Every limit of Bulwark in one place (after SQLite's sqliteLimit.h). Each has a
 * reason. There is no "0 means unlimited": configuration may lower the configurable
 * ones within the bounds below, never lift them. */
#pragma once

/* --- HTTP API ------------------------------------------------------------ */

/* One alert is a few hundred bytes; 64 KiB leaves room for a generous `raw`
 * while bounding what an unauthenticated peer can make us buffer. */
#define BW_ALERT_BODY_MAX_DEFAULT (64u * 1024u)
#define BW_ALERT_BODY_MAX_CEILING (1024u * 1024u)
/* The configurable alert limit may not go below this: a real alert needs it. */
#define BW_ALERT_BODY_MAX_FLOOR 1024u

/* Batch: up to 1,000 alerts per NDJSON request (SIEM pipelines), each line bounded
 * by the single-alert limit; the body as a whole by this. */
#define BW_BATCH_MAX_ALERTS 1000u
#define BW_BATCH_BODY_MAX (8u * 1024u * 1024u)

/* Request bodies in flight in the api process, together: a body's announced
 * size (or, chunked, what arrived) is reserved before its first byte is
 * accepted and released when its request ends; what does not fit is answered
 * 503 with Retry-After. Eight maximal batches. */
#define BW_HTTP_BODY_BUDGET (8u * BW_BATCH_BODY_MAX)

/* Bodies of the read-only and control routes: they carry no data. */
#define BW_SMALL_BODY_MAX (4u * 1024u)

/* Headers before authentication: MHD's per-connection pool also caps them.
 * MHD 0.9.75 zeroes the whole pool before each request of a keep-alive
 * connection, so a larger pool costs every request (64 KiB: 4 % of an HTTP
 * thread's time in memset). */
#define BW_HTTP_CONN_MEMORY (16u * 1024u)
/* Concurrent connections: bounded so a flood cannot exhaust descriptors. */
#define BW_HTTP_MAX_CONNECTIONS 1024u
/* Idle or slow connections are dropped after this many seconds. */
#define BW_HTTP_CONN_TIMEOUT_S 30u
/* Log lines a second for each kind of refused request (401, 403, a bad
 * target): a client sending bad tokens as fast as it can must not fill the
 * disk or drown the journal. Every refusal is still counted in /metrics. */
#define BW_LOG_REFUSED_PER_S 10u

/* The bearer token file: a token is 32-128 printable characters. */
#define BW_TOKEN_FILE_MAX 4096u
#define BW_TOKEN_MIN_LEN 32u
#define BW_TOKEN_MAX_LEN 128u

/* --- Alerts ---------------------------------------------------------------- */

/* JSON nesting: an alert is flat apart from observables, labels and raw;
 * deeper nesting is a parser-exhaustion attempt. */
#define BW_ALERT_MAX_DEPTH 16u
/* source/type: identifiers such as "suricata" or "ssh.bruteforce". */
#define BW_ALERT_NAME_MAX 128u
/* Observables per alert: bounded so one alert cannot make the engine allocate
 * without limit. Blast-radius ceilings (governor) are separate and lower. */
#define BW_ALERT_MAX_IPS 256u
#define BW_ALERT_MAX_ACCOUNTS 256u
#define BW_ALERT_MAX_HOSTS 256u
/* Account names: POSIX/AD/LDAP user names fit in 256 characters. */
#define BW_ACCOUNT_NAME_MAX 256u
/* Host names: RFC 1035 total length. */
#define BW_HOST_NAME_MAX 253u
/* Labels: small key/value annotations used by playbook triggers. */
#define BW_ALERT_MAX_LABELS 64u
#define BW_LABEL_KEY_MAX 64u
#define BW_LABEL_VALUE_MAX 256u
/* observed_at must be within this distance of "now" (clock skew, replays). */
#define BW_ALERT_MAX_CLOCK_SKEW_S (366LL * 24 * 3600)

/* --- Governor ---------------------------------------------------------------- */

/* Blast-radius ceilings per action (seed practice, "Hard-Coded Limits"; DESIGN.md
 * invariant 2), compiled in: configuration may lower them, never raise them, and
 * an action over its ceiling is refused whole, never truncated. */
#define BW_CEILING_IPS 50u
#define BW_CEILING_ACCOUNTS 20u
#define BW_CEILING_HOSTS 5u
/* Entries in each protected-asset list: gateways, break-glass accounts and core
 * hosts are a short list; a long one is a mistake (and each action is checked
 * against every entry). */
#define BW_PROTECTED_MAX 256u
/* Action kinds with ceilings of their own: there are a handful of verbs. */
#define BW_ACTION_CEILINGS_MAX 64u
/* Rate limits: "global" plus one per action kind. */
#define BW_RATE_LIMITS_MAX 65u
/* A rate limit's value: a million actions a day is far beyond any response
 * workload; more is a typo. */
#define BW_RATE_LIMIT_MAX 1000000u
/* A rate window slides in slices of 1/BW_RATE_SLICES of its length (a second
 * of a minute, a minute of an hour, 24 minutes of a day): a budget counts the
 * charges of every slice that overlaps the last window, so no window of that
 * length, wherever it starts, holds more than the limit, and a charge counts
 * at most one slice longer than the window. */
#define BW_RATE_SLICES 60

/* --- Queue and store ------------------------------------------------------- */

/* Queue capacity: configurable within [1, this]; full => 503 + Retry-After. */
#define BW_QUEUE_CAPACITY_DEFAULT 100000u
#define BW_QUEUE_CAPACITY_MAX 10000000u
/* Group commit: at most this many write jobs share one transaction, so one
 * commit's latency stays bounded under load. */
#define BW_STORE_GROUP_MAX 4096u
/* Retry-After sent with 503 when the queue is full. */
#define BW_QUEUE_RETRY_AFTER_S 1u
/* A claimed alert whose worker has not renewed its claim within this lease is
 * handed to another worker (or instance). Workers renew before each action, and
 * one action's connector calls take at most 5 x (BW_CONNECTOR_TIMEOUT_MS_MAX +
 * BW_POOL_DEADLINE_MARGIN_MS) (610 s): the lease must outlast that, or a live
 * worker's alert would run twice.
 * (After a restart, claims are re-queued at once, whatever the lease.) */
#define BW_CLAIM_LEASE_S 900u
/* How often (at most) a worker renews the claims of the batch it works on. */
#define BW_CLAIM_RENEW_S 60u

/* The store's read-only connections, lock waits and stored texts. */
/* Read-only connections shared by the API threads: enough for concurrent reads
 * on 2 cores, each holds its own page cache. */
#define BW_STORE_READERS 4u
/* How long a connection waits for a lock held by another process (an offline
 * CLI tool) before the write fails with -EBUSY. */
#define BW_STORE_BUSY_TIMEOUT_MS 5000
/* summary and detail are short human texts; longer ones are cut at a UTF-8
 * boundary so a chatty connector cannot bloat the journal. */
#define BW_STORE_TEXT_MAX 1024u
/* targets, params and result: one connector IPC message bounds what can be used. */
#define BW_STORE_JSON_MAX (256u * 1024u)
/* Free space the store's file system must have for /readyz to call the store
 * writable: a maximal batch (BW_BATCH_BODY_MAX) is written twice, to the WAL and
 * at the checkpoint into the database file. Below it the next batch may not fit,
 * and readiness says so before a write fails. */
#define BW_STORE_FREE_MIN (2u * BW_BATCH_BODY_MAX)
/* store_action.idempotency_key is a char[65]. */
#define BW_STORE_IDEMPOTENCY_KEY_MAX 64u

/* --- Engine ---------------------------------------------------------------- */

#define BW_WORKERS_DEFAULT 2u
#define BW_WORKERS_MAX 64u
/* Alerts a worker claims at once: amortises the claim transaction. */
#define BW_CLAIM_BATCH 256u
/* Expired actions the sweeper hands back to the engine per round (once a second):
 * a mass expiry drains over a few seconds instead of flooding the queue. */
#define BW_EXPIRY_BATCH 256u
/* Approvals auto-rejected per sweeper round. */
#define BW_APPROVAL_EXPIRE_BATCH 256u
/* How often the sweeper looks for due approvals and expired actions. */
#define BW_SWEEP_INTERVAL_MS 500u

/* --- Notification outbox ----------------------------------------------------- */

/* Notifications waiting to be sent, at most. A webhook down through a storm
 * must not grow the store without bound: beyond this the OLDEST are dropped
 * (logged and counted in bulwark_notifications_total{outcome="dropped"}). The
 * newest describe the present — the latest refusals, the breaker open now,
 * approvals still waiting — and every event stays in the journal. 10,000
 * messages of about 1 KiB each are 10 MB, and a webhook that is back drains
 * them in minutes. */
#define BW_OUTBOX_BACKLOG_MAX 10000u
/* Attempts per notification before it is given up (marked failed). With the
 * backoff below the attempts span about an hour: a chat or paging system's
 * maintenance window; a later message would be stale. */
#define BW_OUTBOX_ATTEMPTS_MAX 20u
/* The wait after a failed attempt: BW_OUTBOX_RETRY_MS_MIN, doubled with each
 * failure in a row of the same integration, at most BW_OUTBOX_RETRY_MS_MAX. The
 * integration's other notifications wait as long: a webhook that is down gets
 * one attempt per wait, not one per message. */
#define BW_OUTBOX_RETRY_MS_MIN 1000u
#define BW_OUTBOX_RETRY_MS_MAX 300000u
/* Notifications read per pass of the outbox thread. */
#define BW_OUTBOX_BATCH 64u
/* How often the idle outbox thread looks for due notifications: the delay of a
 * new notification, for one small read. */
#define BW_OUTBOX_POLL_MS 250u
/* Sent, failed and dropped notifications are kept this long for analysts. */
#define BW_OUTBOX_KEEP_S (7u * 24u * 3600u)

/* --- Approvals, thresholds, expiry ----------------------------------------- */

/* An approval not decided in time is rejected (seed practice: approvals time out). */
#define BW_APPROVAL_TIMEOUT_S_DEFAULT 1800u
#define BW_APPROVAL_TIMEOUT_S_MAX (7u * 24u * 3600u)
/* An account action naming at least this many accounts is a bulk account action,
 * a high-risk category that always needs approval. */
#define BW_BULK_ACCOUNTS 5u
/* A granted approval is valid at most this long: an approval is consent to act
 * on the world as it was; a week later it no longer is. */
#define BW_APPROVAL_VALID_S_MAX (7u * 24u * 3600u)
/* Those who caused one action: the alert's sender, an analyst who ran it, an
 * admin who rolled it back, and a few more re-runs; none of them may approve. */
#define BW_APPROVAL_REQUESTERS_MAX 8u
/* Approval categories: the four built in, plus what configuration adds. */
#define BW_APPROVAL_CATEGORIES_MAX 32u
/* Threshold triggers: at most this many alerts and this long a window. */
#define BW_THRESHOLD_COUNT_MAX 100000u
#define BW_THRESHOLD_WINDOW_S_MAX (7u * 24u * 3600u)
/* The threshold key: the group_by value(s) joined by ','. */
#define BW_THRESHOLD_KEY_MAX 1024u
/* duration_s of an expiring action (30 days, as nft timeouts). */
#define BW_ACTION_DURATION_S_MAX (30u * 24u * 3600u)
/* A reason or note an actor gives (breaker reset, approval, review, rollback):
 * one short text an auditor reads. */
#define BW_REASON_MAX 1024u
/* Targets of a staging integration's rollback test. */
#define BW_STAGING_TARGETS_MAX 16u
/* Actor names (API keys per actor) and how many may be configured. */
#define BW_ACTORS_MAX 64u

/* --- Configuration and playbooks ------------------------------------------- */

#define BW_CONFIG_FILE_MAX (1024u * 1024u)
#define BW_PLAYBOOK_FILE_MAX (256u * 1024u)
#define BW_PLAYBOOKS_MAX 1024u
#define BW_PLAYBOOK_STEPS_MAX 64u
/* YAML nesting in configuration and playbooks. */
#define BW_YAML_MAX_DEPTH 16u
/* YAML nodes per document: bounds alias expansion ("billion laughs"). */
#define BW_YAML_MAX_NODES 20000u
/* Names: integrations, playbooks, step ids. [A-Za-z0-9._-], 1..64. */
#define BW_NAME_MAX 64u
#define BW_INTEGRATIONS_MAX 256u
/* Each integration's worker runs as its own user and group, allocated from
 * BW_WORKER_UID_BASE + its index in the configuration (60600..60855 with
 * BW_INTEGRATIONS_MAX): clear of systemd's ranges (homed and nspawn below
 * 60578, DynamicUser from 61184) and refused at load when an account or group
 * of the host already has the id, so that no worker shares a uid with anything
 * but its own programs. An integration may set its own `uid` instead. uid 0
 * is never accepted; BW_WORKER_UID_MAX keeps clear of the kernel's (uid_t)-1
 * and of 2^31 where some tools break. */
#define BW_WORKER_UID_BASE 60600u
/* The api process's user and group (docs/security.md): below the workers'
 * range, refused at start when a host account or group has it. */
#define BW_API_UID 60590u
/* Threads of core that run the API's handlers (one may block on a rollback
 * test for a while, the others keep serving). */
#define BW_API_DISPATCH_THREADS 2u
/* A crashed api process is started again after this wait, doubled while it
 * keeps dying within BW_API_STABLE_MS of its start, up to the maximum. */
#define BW_API_RESTART_MS_MIN 100u
#define BW_API_RESTART_MS_MAX 5000u
#define BW_API_STABLE_MS 10000u
/* Core killed by a signal (a crash, SIGSYS) is started again by the parent
 * after BW_CORE_RESTART_DELAY_MS, at most BW_CORE_RESTARTS_PER_MIN times in
 * BW_CORE_RESTART_WINDOW_MS; beyond, the daemon exits (systemd's Restart=
 * takes over). */
#define BW_CORE_RESTARTS_PER_MIN 3u
#define BW_CORE_RESTART_WINDOW_MS 60000
#define BW_CORE_RESTART_DELAY_MS 1000
/* Directories an exec integration's programs may write beneath. */
#define BW_EXEC_WRITABLE_PATHS_MAX 16u
#define BW_WORKER_UID_MAX 2147483646u
/* Template expressions (`alert.observables.ips`) are short paths. */
#define BW_TEMPLATE_MAX 256u
/* Playbook step params: a small flat map. */
#define BW_PARAMS_MAX 32u
#define BW_PARAM_VALUE_MAX 1024u

/* --- Connectors ------------------------------------------------------------ */

/* nft element timeouts: 30 days. A longer ban belongs in a managed list, not in
 * a timed set element an alert created. */
#define BW_NFT_TIMEOUT_S_MAX 2592000

/* The widest prefix the nft connector blocks. The blast-radius ceilings count a
 * prefix as one target, so a wider one would cover networks far beyond one
 * attacker behind a single "IP". */
#define BW_NFT_PREFIX_MIN_V4 16u
#define BW_NFT_PREFIX_MIN_V6 32u

/* A URL in integration settings: an API base is short; longer is a mistake or an
 * attempt to smuggle data into logs. */
#define BW_URL_MAX 2048u

/* Extra HTTP headers per integration: a few API keys or tenant ids. */
#define BW_HTTP_HEADERS_MAX 32u
/* A header name: real ones are short; a long one is a mistake. */
#define BW_HTTP_HEADER_NAME_MAX 64u

/* One item of a string-list setting (core/settings.h); the configuration loader
 * and the workers enforce the same bound. */
#define BW_SETTING_LIST_ITEM_MAX 1024u

/* One target string: the longest normalised targets (account names, label
 * values) are 256 bytes. */
#define BW_TARGET_MAX 256u

/* Pool stop: a worker gets this long to exit after EOF, and as long again after
 * SIGTERM, before SIGKILL. */
#define BW_WORKER_STOP_GRACE_MS 2000u

/* The window of BW_WORKER_RESTARTS_PER_MIN. */
#define BW_WORKER_RESTART_WINDOW_MS 60000

/* nft host lookups go to the kernel over netlink. One request: two short
 * messages naming a table and a set (at most BW_NAME_MAX bytes each) and one key
 * of at most 16 bytes need under 400 bytes. One datagram of replies: a set's or
 * an element's description is a few hundred bytes; netlink(7) recommends a
 * page-sized buffer. */
#define BW_NFT_NL_REQUEST_MAX 1024u
#define BW_NFT_NL_REPLY_MAX 8192u

/* Per-call timeout bounds for validate/snapshot/apply/verify/rollback. */
#define BW_CONNECTOR_TIMEOUT_MS_DEFAULT 5000u
#define BW_CONNECTOR_TIMEOUT_MS_MAX 120000u
/* The pool waits for a call's reply this long beyond the call's timeout, which
 * is also the connector's own (curl's, exec's on its program): that timeout
 * fires first, the connector kills what it ran and reports, and the worker lives
 * on. Killing a process group, reaping it and sending the reply take
 * milliseconds; 2 s covers a loaded host. A worker silent beyond it is hung and
 * is killed. */
#define BW_POOL_DEADLINE_MARGIN_MS 2000u
/* Actions in one batched connector call (one nft transaction for a claimed
 * batch's blocks). A bigger group is split; a reply that would not fit one
 * message makes the engine run the group one action at a time. */
#define BW_CONNECTOR_BATCH_MAX 256u
/* Targets in one batched call: an nft snapshot reports about 40 bytes per
 * target, so 2,048 keep a batch's snapshots well inside one message. */
#define BW_CONNECTOR_BATCH_TARGETS_MAX 2048u
/* One IPC message between the daemon and a connector worker. A reply that
 * would not fit has its data cut until it does (marked truncated), so that the
 * outcome of an op that ran always reaches the daemon; a snapshot is never cut. */
#define BW_IPC_MSG_MAX (256u * 1024u)
/* One message between the api process and core (api/wire.h): the largest
 * request body, a batch, plus its envelope (route, credential, query). */
#define BW_WIRE_PAYLOAD_MAX (BW_BATCH_BODY_MAX + 64u * 1024u)
/* Query arguments a request carries to core, and their sizes: the routes take
 * at most two (limit, before; state). More is refused with 400 by the api. */
#define BW_WIRE_ARGS_MAX 8u
#define BW_WIRE_ARG_KEY_MAX 32u
#define BW_WIRE_ARG_VALUE_MAX 256u
/* Captured output of an exec program and body of an HTTP reply. */
#define BW_CONNECTOR_OUTPUT_MAX (64u * 1024u)
/* Arguments an exec connector may pass to its program. */
#define BW_EXEC_MAX_ARGS 64u
/* A worker that crashes more than this many times a minute is degraded (and
 * /readyz says so) instead of restarting in a tight loop: it is restarted again
 * only after a backoff (below). */
#define BW_WORKER_RESTARTS_PER_MIN 10u
/* The backoff of a degraded worker: BW_WORKER_RETRY_MS_MIN first, doubled each
 * time it is degraded again within the window, at most BW_WORKER_RETRY_MS_MAX.
 * One second costs a transient fault (a dependency restarting) little while a
 * crash loop costs one spawn a second at most; after nine doublings a worker
 * that keeps crashing is retried every five minutes, so it comes back on its own
 * once fixed, without an operator restarting the daemon. */
#define BW_WORKER_RETRY_MS_MIN 1000u
#define BW_WORKER_RETRY_MS_MAX 300000u
