/* model/mutants/fixed_window.pml: mutant of model/governor.pml that verification must reject: the budget counts a window fixed on the clock. */
/* SPDX-License-Identifier: Apache-2.0 */
/* store/sqlite.c: sq_budget_used counting only the slices since the start of a window aligned on the clock (the budgets before schema 6): an action charged at the end of one window and another at the start of the next both apply, two within one window's length (P2). */
/* expect: p2 */
#define MUTANT_FIXED_WINDOW
#include "../governor.pml"
