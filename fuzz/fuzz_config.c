/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness of the configuration parser (untrusted YAML), including the
 * connector kinds' settings tables and checks. Invariants: a rejection names the
 * file and a code; an accepted configuration has absolute paths, a port, and
 * integrations that are registered kinds and can be found by name. */
#include <errno.h>
#include <string.h>

#include "config/config.h"
#include "connectors/connector.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        bw_config *c = NULL;
        bw_error e = {0};
        int r = config_parse((const char *)data, size, "/etc/bulwark/bulwark.yaml", &c, &e);
        if (r == -EINVAL) {
                fuzz_check(strcmp(e.file, "/etc/bulwark/bulwark.yaml") == 0 && e.code[0],
                           "a rejection names file and code");
                return 0;
        }
        fuzz_check(r == 0, "config_parse returns 0 or -EINVAL");
        fuzz_check(c->data_dir[0] == '/' && c->store_path[0] == '/' && c->token_file[0] == '/' &&
                           c->playbook_dir[0] == '/',
                   "paths are absolute");
        fuzz_check(c->listen_port >= 1, "a listening port");
        for (size_t i = 0; i < c->n_integrations; i++) {
                fuzz_check(connector_kind_find(c->integrations[i].kind) != NULL, "a registered kind");
                fuzz_check(config_integration_find(c, c->integrations[i].name) == &c->integrations[i],
                           "names are unique");
                fuzz_check(json_is_object(c->integrations[i].settings), "settings are an object");
        }
        config_free(c);
        return 0;
}
