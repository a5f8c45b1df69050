/* SPDX-License-Identifier: Apache-2.0 */
/* The worker executable of the pool tests: what bulwarkd does when re-executed
 * with --connector-worker, and nothing else. */
#include <string.h>

#include "connectors/pool.h"

int main(int argc, char **argv) {
        if (argc == 2 && strcmp(argv[1], "--connector-worker") == 0)
                return connector_worker_main(3);
        return 2;
}
