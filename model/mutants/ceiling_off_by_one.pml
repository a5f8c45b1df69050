/* model/mutants/ceiling_off_by_one.pml: mutant of model/governor.pml that verification must reject: the ceiling check lets one target too many through. */
/* SPDX-License-Identifier: Apache-2.0 */
/* core/governor.c: governor_decide (G1.2 "over_ceiling", judge_targets) with weight > ceiling + 1: an action over its ceiling by one target is applied (P1). */
/* expect: p1 */
#define MUTANT_CEILING_OFF_BY_ONE
#include "../governor.pml"
