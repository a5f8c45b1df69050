/* model/mutants/no_fencing.pml: mutant of model/governor.pml that verification must reject: a second worker may take a live claim. */
/* SPDX-License-Identifier: Apache-2.0 */
/* store/sqlite.c: sq_alerts_claim without the claim generation (being built: store/sqlite.c claims): a worker takes the claim of an alert a live worker holds, finds its action in INTENT and not yet in effect, applies it, and the first worker applies it too (P5). */
/* expect: p5 */
#define MUTANT_NO_FENCING
#include "../governor.pml"
