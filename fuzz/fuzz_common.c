/* SPDX-License-Identifier: Apache-2.0 */
/* Shared pieces of the libFuzzer harnesses (see fuzz_common.h). */
#include "fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fuzz_check(int cond, const char *what) {
        if (cond)
                return;
        fprintf(stderr, "invariant broken: %s\n", what);
        abort();
}

const alert *fuzz_fixed_alert(void) {
        static alert *a;
        static const char body[] =
                "{\"source\":\"suricata\",\"type\":\"ssh.bruteforce\",\"severity\":\"high\","
                "\"observables\":{\"ips\":[\"192.0.2.1\",\"2001:db8::/32\"],"
                "\"accounts\":[\"root\"],\"hosts\":[\"web01.example\"]},"
                "\"labels\":{\"env\":\"prod\",\"ticket\":\"INC-1\"}}";
        if (!a) {
                bw_error e;
                fuzz_check(alert_parse(body, strlen(body), FUZZ_NOW_MS, &a, &e) == 0,
                           "the fixed alert parses");
        }
        return a;
}
