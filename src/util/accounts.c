/* SPDX-License-Identifier: Apache-2.0 */
/* Host accounts and groups (see accounts.h). */
#include "util/accounts.h"

#include <grp.h>
#include <pwd.h>
#include <sys/types.h>

#include "util/strutil.h"

const char *host_id_owner(unsigned id, char *name, size_t len) {
        const struct passwd *pw = getpwuid((uid_t)id);
        if (pw) {
                str_copy(name, len, pw->pw_name);
                return "account";
        }
        const struct group *gr = getgrgid((gid_t)id);
        if (gr) {
                str_copy(name, len, gr->gr_name);
                return "group";
        }
        return NULL;
}
