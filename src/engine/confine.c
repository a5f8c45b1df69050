/* SPDX-License-Identifier: Apache-2.0 */
/* core's confinement profile (see confine.h). */
#include "engine/confine.h"

#include <errno.h>
#include <string.h>

#include "util/strutil.h"

int core_sandbox_profile(const char *store_path, char *dir, size_t dir_len, sandbox_profile *ret) {
        if (!store_path || store_path[0] != '/')
                return -EINVAL;
        if (str_copy(dir, dir_len, store_path) < 0)
                return -ENAMETOOLONG;
        char *slash = strrchr(dir, '/');
        slash[slash == dir ? 1 : 0] = '\0'; /* its directory ("/" for a file at the root) */
        *ret = (sandbox_profile){.role = "core", .no_tcp = true, .syscalls = SANDBOX_SYSCALLS_CORE};
        /* SQLite's WAL, shared memory and the lock file sit beside the store. */
        return sandbox_profile_add(ret, dir, SANDBOX_WRITE, false);
}
