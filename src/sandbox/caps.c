/* SPDX-License-Identifier: Apache-2.0 */
/* Identity and capabilities (see caps.h). */
#include "sandbox/caps.h"

#include <cap-ng.h>
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int caps_drop(bool change_ids, uid_t uid, gid_t gid, uint64_t mask) {
        if (change_ids && (uid == 0 || gid == 0))
                return -EINVAL;
        capng_clear(CAPNG_SELECT_ALL);
        for (int c = 0; c <= CAP_LAST_CAP; c++)
                if (mask & (1ULL << c) &&
                    capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, (unsigned)c) < 0)
                        return -EINVAL;
        /* Clearing the bounding set needs CAP_SETPCAP. Without it (a systemd
         * unit that bounds the service to what it needs, packaging/) the set is
         * already that small, and no_new_privs stops any gain through exec. */
        uint64_t eff, perm;
        caps_read(&eff, &perm);
        int bounding = eff & (1ULL << CAP_SETPCAP) ? CAPNG_CLEAR_BOUNDING : 0;
        int r = change_ids ? capng_change_id((int)uid, (int)gid,
                                             CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_AMBIENT | bounding)
                           : capng_apply(bounding ? CAPNG_SELECT_ALL
                                                  : CAPNG_SELECT_CAPS | CAPNG_SELECT_AMBIENT);
        if (r < 0)
                return -EPERM;
        /* Trust the kernel, not the library: the ids and the sets as they are now. */
        uid_t ru, eu, su;
        gid_t rg, eg, sg;
        if (change_ids &&
            (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0 || ru != uid || eu != uid ||
             su != uid || rg != gid || eg != gid || sg != gid || getgroups(0, NULL) != 0))
                return -EPERM;
        caps_read(&eff, &perm);
        if (eff != mask || perm != mask)
                return -EPERM;
        /* Ambient capabilities would survive the exec of a program. */
        for (int c = 0; c <= CAP_LAST_CAP; c++)
                if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0) != 0)
                        return -EPERM;
        return 0;
}

/* capget(2) itself: libcap-ng's reader also opens /proc, which Landlock may
 * have hidden by then. */
void caps_read(uint64_t *ret_effective, uint64_t *ret_permitted) {
        struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
        struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = {{0}};
        if (syscall(SYS_capget, &h, d) < 0) {
                *ret_effective = *ret_permitted = UINT64_MAX; /* unknown: never "none" */
                return;
        }
        *ret_effective = (uint64_t)d[1].effective << 32 | d[0].effective;
        *ret_permitted = (uint64_t)d[1].permitted << 32 | d[0].permitted;
}

/* Appends the names of the capabilities in mask, comma-separated. */
static void caps_names(uint64_t mask, char *out, size_t len, size_t n) {
        const char *sep = "";
        for (int c = 0; c <= CAP_LAST_CAP && n < len; c++) {
                if (!(mask & (1ULL << c)))
                        continue;
                const char *name = capng_capability_to_name((unsigned)c);
                int w = snprintf(out + n, len - n, "%s%s", sep, name ? name : "?");
                n = w < 0 ? len : n + (size_t)w;
                sep = ",";
        }
}

void caps_format(uint64_t mask, char *out, size_t len) {
        uint64_t all = (1ULL << (CAP_LAST_CAP + 1)) - 1;
        out[0] = '\0';
        mask &= all;
        if (mask == 0) {
                snprintf(out, len, "none");
        } else if (mask == all) {
                snprintf(out, len, "all");
        } else if (__builtin_popcountll(mask) > (CAP_LAST_CAP + 1) / 2) {
                /* root in a container: name what is missing, not the forty it has */
                int w = snprintf(out, len, "all except ");
                if (w > 0 && (size_t)w < len)
                        caps_names(all & ~mask, out, len, (size_t)w);
        } else {
                caps_names(mask, out, len, 0);
        }
}
