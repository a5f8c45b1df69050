/* model/mutants/snapshot_after_apply.pml: mutant of model/governor.pml that verification must reject: the snapshot is journaled with the result, after the apply. */
/* SPDX-License-Identifier: Apache-2.0 */
/* engine/execute.c: run_fresh as it was before engine/engine.c: journal_snapshots, the snapshot kept in memory and written with the result: a crash after the apply leaves the action in INTENT, in-doubt recovery finds it applied and records it applied without a snapshot, so it can never be rolled back (P4). */
/* expect: p4 */
#define MUTANT_SNAPSHOT_AFTER_APPLY
#include "../governor.pml"
