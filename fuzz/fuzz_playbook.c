/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness of the playbook parser (untrusted YAML files), followed by
 * matching and rendering against a fixed alert. Invariants: a rejection carries
 * the file name and a code; every step of an accepted playbook renders with a
 * 64-hex-digit idempotency key, and different steps get different keys. */
#include <errno.h>
#include <string.h>

#include "core/playbook.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        playbook *p = NULL;
        bw_error e = {0};
        int r = playbook_parse((const char *)data, size, "fuzz.yaml", &p, &e);
        if (r == -EINVAL) {
                fuzz_check(strcmp(e.file, "fuzz.yaml") == 0 && e.code[0], "a rejection names file and code");
                return 0;
        }
        fuzz_check(r == 0, "playbook_parse returns 0 or -EINVAL");
        fuzz_check(p->n_steps >= 1 && p->n_steps <= BW_PLAYBOOK_STEPS_MAX, "step count within limits");
        const alert *a = fuzz_fixed_alert();
        (void)playbook_matches(p, a);
        char first[65] = "";
        for (size_t i = 0; i < p->n_steps; i++) {
                rendered_action ra;
                fuzz_check(playbook_render_step(p, i, a, 7, &ra) == 0, "every step renders");
                fuzz_check(strlen(ra.idempotency_key) == 64, "the key is 64 hex digits");
                if (i == 0)
                        memcpy(first, ra.idempotency_key, sizeof(first));
                else
                        fuzz_check(strcmp(first, ra.idempotency_key) != 0, "steps have distinct keys");
                rendered_action_clear(&ra);
        }
        playbook_free(p);
        return 0;
}
