/* model/mutants/budget_not_atomic.pml: mutant of model/governor.pml that verification must reject: the budget is checked in one step and charged in another. */
/* SPDX-License-Identifier: Apache-2.0 */
/* store/sqlite.c: sq_budget_reserve split in two transactions: two workers both read the last unit of a budget as free, both charge it and both apply (P2). */
/* expect: p2 */
#define MUTANT_BUDGET_NOT_ATOMIC
#include "../governor.pml"
