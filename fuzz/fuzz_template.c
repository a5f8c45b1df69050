/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness of the template parser and evaluator (expressions come from
 * untrusted playbooks). Invariants: an accepted expression is exactly one of the
 * listed paths, spelled canonically, and evaluates to its declared kind. */
#include <stdio.h>
#include <string.h>

#include "core/template.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        template_expr t;
        bw_error e = {0};
        if (template_parse((const char *)data, size, &t, &e) < 0) {
                fuzz_check(strcmp(e.code, "invalid") == 0, "a rejection is \"invalid\"");
                return 0;
        }
        char text[BW_TEMPLATE_MAX + 1];
        if (t.path == TEMPLATE_ALERT_LABEL)
                snprintf(text, sizeof(text), "%s.%s", template_path_name(t.path), t.label);
        else
                snprintf(text, sizeof(text), "%s", template_path_name(t.path));
        fuzz_check(strlen(text) == size && memcmp(text, data, size) == 0,
                   "only canonical paths are accepted");

        template_value v;
        fuzz_check(template_eval(&t, fuzz_fixed_alert(), &v) == 0, "template_eval");
        fuzz_check(v.kind == template_kind(&t), "the value has the expression's kind");
        fuzz_check(v.kind != TARGET_STRING || v.n <= 1, "a scalar path yields at most one value");
        template_value_clear(&v);
        return 0;
}
