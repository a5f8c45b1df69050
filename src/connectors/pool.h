/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon's side of the connector boundary: one worker process per configured
 * integration (started by the parent, connectors/spawn.h, which also sends it
 * its INIT), reached over a SOCK_SEQPACKET socketpair with the typed messages
 * of connectors/ipc.h. A worker
 * that crashes or exceeds a call's timeout is killed, the call fails, and the
 * worker is restarted (BW_WORKER_RESTARTS_PER_MIN a minute; beyond, after a
 * doubling backoff). Thread-safe: calls to one integration are serialised,
 * different integrations run in parallel. Runs in the daemon (core). */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "core/permit.h"
#include "core/integration.h"
#include "connectors/connector.h"
#include "connectors/spawn.h"

typedef struct connector_pool connector_pool;

/* Whether the workers confine themselves (connectors/confine.c). Unconfined
 * only under --no-sandbox (sanitizer runs) and in the pool's unit tests. */
typedef enum { POOL_CONFINED, POOL_UNCONFINED } pool_confinement;

/* Starts one worker per integration (ints[0..n), the parent's configuration
 * in the same order: worker i is the parent's integration i), asking the
 * parent over its link (borrowed; it must outlive the pool). The pool keeps
 * no integration's settings. A confined worker that does not report its own
 * uid, seccomp and non-dumpable is not used. Returns 0 and *ret, or a
 * negative errno (logged). */
int connector_pool_start(const integration_config *ints, size_t n, spawn_link *parent,
                         pool_confinement confinement, connector_pool **ret);

/* What a permit for op of action a on integration seals (core/permit.h): the
 * one description the pool checks and engine/gate.c mints. Borrows from a. */
permit_subject connector_permit_subject(const char *integration, permit_op op, const connector_action *a);

/* Runs op for action a on the named integration, waiting at most timeout_ms.
 * APPLY and ROLLBACK change a system: they run only with the governor's permit
 * for exactly this action (core/governor.h), else -EPERM and nothing is sent;
 * the other ops ignore permit (may be NULL). Returns 0 with *result filled
 * (caller clears), -ENOENT for an unknown integration, -ETIMEDOUT (worker killed
 * and restarted), -EPIPE/-ECONNRESET (worker died; restarted), -EHOSTDOWN
 * (degraded: its restart budget is spent and its backoff not over), -EOPNOTSUPP
 * if the kind lacks op, or another negative errno. */
int connector_pool_call(connector_pool *p, const char *integration, connector_op op,
                        const connector_action *a, const governor_permit *permit, unsigned timeout_ms,
                        connector_result *result);

/* connector_pool_call that stops waiting as soon as cancel_fd (an eventfd or
 * pipe the caller makes readable to stop; -1: never) is readable: -ECANCELED,
 * and a call in flight is abandoned — its worker killed, restarted by the next
 * call. Only for calls that are safe to repeat: the outbox's notifications,
 * sent again after a restart with the same idempotency key. */
int connector_pool_call_cancellable(connector_pool *p, const char *integration, connector_op op,
                                    const connector_action *a, const governor_permit *permit,
                                    unsigned timeout_ms, int cancel_fd, connector_result *result);

/* Runs op for actions[0..n) (n <= BW_CONNECTOR_BATCH_MAX) on the named
 * integration in one exchange; APPLY is one change of the system when the kind
 * has apply_batch. Every APPLY/ROLLBACK action needs its own permit
 * (permits[i]; else -EPERM and nothing is sent). Returns 0 with rcs[i] and
 * results[i] per action (caller clears), or a negative errno for the batch as a
 * whole (nothing changed by the worker: -EMSGSIZE when it did not fit one
 * message) — the caller then runs the actions one by one. The timeout covers
 * the whole batch. */
int connector_pool_call_batch(connector_pool *p, const char *integration, connector_op op,
                              const connector_action *actions, const governor_permit *permits, size_t n,
                              unsigned timeout_ms, int *rcs, connector_result *results);

/* Object: integration name -> {"kind", "pid", "up": bool, "restarts": n,
 * "state": "healthy" | "degraded" | "down", "sandbox":
 * connector_sandbox_json}, with "backoff_ms" and
 * "retry_in_ms" while degraded (its restart budget spent: restarted again only
 * after that wait, healthy again once a call works). */
json_t *connector_pool_status(connector_pool *p);

/* A process's confinement as the status routes show it: {"confined",
 * "landlock_abi" (the kernel's), "landlock" (rules enforced), "seccomp",
 * "uid", "gid", "caps" ("net_admin", "none", "all"), "dumpable"}. */
json_t *connector_sandbox_json(const sandbox_status *s, bool confined);

/* True when every worker is up and none is degraded. */
bool connector_pool_all_up(connector_pool *p);

/* Stops all workers (SIGTERM, then SIGKILL after a grace period). Accepts NULL. */
void connector_pool_stop(connector_pool *p);

/* Entry point of a worker process: reads its INIT message (kind and settings)
 * from fd, opens the connector and serves requests until the peer closes.
 * Returns the process exit status. */
int connector_worker_main(int fd);
