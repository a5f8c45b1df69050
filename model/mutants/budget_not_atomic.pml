/* model/mutants/budget_not_atomic.pml: mutant of model/governor.pml that verification must reject: the budget is checked in one step and charged in another. */
/* SPDX-License-Identifier: Apache-2.0 */
/* engine/gate.c: planned_gate's read (read_state -> store_tx_budget_used) and its charge (charge, written by gate_txn_flush -> store_tx_budget_charge) split into two transactions: two workers both read the last unit of a budget as free, both charge it and both apply (P2). */
/* expect: p2 */
#define MUTANT_BUDGET_NOT_ATOMIC
#include "../governor.pml"
