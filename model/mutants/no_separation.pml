/* model/mutants/no_separation.pml: mutant of model/governor.pml that verification must reject: the requester or the author may approve. */
/* SPDX-License-Identifier: Apache-2.0 */
/* Both separation-of-duties checks gone: core/approval.c: approval_may_decide's -EPERM (the store's decision, store/store.c: decide_run) and approval_valid's (governor_decide, G2.3): the requester approves their own action and it is applied (P3). Either check alone is enough: model/check.sh verifies P3 with only the store's check removed. */
/* expect: p3 */
#define MUTANT_NO_SOD_STORE
#define MUTANT_NO_SOD_DECIDE
#include "../governor.pml"
