/* SPDX-License-Identifier: Apache-2.0 */
/* Introspection of the store for its unit tests and benchmark only (never for the
 * daemon's logic): group-commit counters, waiters and the lease. Runs in the daemon. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* Group transactions committed, and jobs that ran in them, since store_open. */
uint64_t store_commit_count(store *s);
uint64_t store_job_count(store *s);

/* Jobs submitted and not yet taken by the writer. */
size_t store_pending_jobs(store *s);

/* Threads blocked in store_claim waiting for an alert. */
unsigned store_claim_waiters(store *s);

/* Migrations store_open applied (0 when the database was already current), and
 * the latest schema version the code knows. */
unsigned store_migrations_applied(store *s);
int store_schema_latest(void);

/* Replaces BW_CLAIM_LEASE_S so a test can expire a lease without waiting. */
void store_set_lease_ms(store *s, int64_t lease_ms);
