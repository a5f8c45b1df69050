/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of core/ (alerts, templates, playbooks, governor, the model replay): runs every group. */
#include "core_tests.h"

int main(void) {
        int failed = 0;
        failed += alert_tests();
        failed += template_tests();
        failed += playbook_tests();
        failed += governor_tests();
        failed += model_replay_tests();
        return failed == 0 ? 0 : 1;
}
