/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness of the alert parser (untrusted HTTP bodies). Invariants: a
 * rejection names a code and a printable field (or, for the body as a whole,
 * says why);
 * an accepted alert's canonical dump parses again to the very same dump. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/alert.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        alert *a = NULL;
        bw_error e = {0};
        int r = alert_parse((const char *)data, size, FUZZ_NOW_MS, &a, &e);
        if (r == -EINVAL) {
                bool whole_body = strcmp(e.code, "bad_utf8") == 0 || strcmp(e.code, "too_deep") == 0 ||
                                  strcmp(e.code, "invalid") == 0;
                fuzz_check(e.code[0] && e.message[0] && (e.field[0] || whole_body),
                           "a rejection names its code and field");
                for (const char *c = e.field; *c; c++)
                        fuzz_check(*c > 0x20 && *c < 0x7f, "a field is printable ASCII");
                return 0;
        }
        fuzz_check(r == 0, "alert_parse returns 0 or -EINVAL");
        size_t len = 0;
        char *dump = alert_dump(a, &len);
        fuzz_check(dump != NULL, "alert_dump");
        alert *b = NULL;
        fuzz_check(alert_parse(dump, len, FUZZ_NOW_MS, &b, &e) == 0, "the canonical dump parses");
        char *again = alert_dump(b, NULL);
        fuzz_check(again && strcmp(again, dump) == 0, "the canonical dump is a fixed point");
        free(again);
        free(dump);
        alert_free(b);
        alert_free(a);
        return 0;
}
