/* model/mutants/no_expiry_check.pml: mutant of model/governor.pml that verification must reject: an approval decided after its request expired is accepted. */
/* SPDX-License-Identifier: Apache-2.0 */
/* store/store.c: decide_run with core/approval.c: approval_may_decide lacking its expiry check (now >= expires_at -> -ETIMEDOUT): the decision lands after the timeout, before the sweeper rejects the request, and the action is applied on it (P3). */
/* expect: p3 */
#define MUTANT_NO_EXPIRY
#include "../governor.pml"
