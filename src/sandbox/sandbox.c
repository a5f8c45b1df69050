/* SPDX-License-Identifier: Apache-2.0 */
/* sandbox_apply: the order of sandbox.h, and the status it leaves. */
#include "sandbox/sandbox.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "sandbox/caps.h"
#include "sandbox/landlock.h"
#include "sandbox/syscalls.h"

int sandbox_profile_add(sandbox_profile *p, const char *path, sandbox_access access, bool optional) {
        if (!path || path[0] != '/' || (unsigned)access >= _SANDBOX_ACCESS_MAX)
                return -EINVAL;
        if (p->n_paths >= SANDBOX_PATHS_MAX)
                return -E2BIG;
        p->paths[p->n_paths++] = (sandbox_path){.path = path, .access = access, .optional = optional};
        return 0;
}

int sandbox_harden(void) {
        struct rlimit none = {0, 0};
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 || setrlimit(RLIMIT_CORE, &none) < 0)
                return -errno;
        return 0;
}

int sandbox_landlock_abi(void) {
        return landlock_abi();
}

int sandbox_apply(const sandbox_profile *p, sandbox_status *ret) {
        int r = sandbox_harden();
        if (r < 0)
                return r;
        if (p->max_files) {
                struct rlimit files = {p->max_files, p->max_files};
                if (setrlimit(RLIMIT_NOFILE, &files) < 0)
                        return -errno;
        }
        if (p->max_procs) {
                struct rlimit procs = {p->max_procs, p->max_procs};
                if (setrlimit(RLIMIT_NPROC, &procs) < 0)
                        return -errno;
        }
        int abi = landlock_abi(), ruleset = -1;
        if (abi > 0 && (r = landlock_build(p, abi, &ruleset)) < 0)
                return r;
        r = caps_drop(p->change_ids, p->uid, p->gid, p->caps);
        if (r == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                r = -errno;
        if (ruleset >= 0) {
                int e = r == 0 ? landlock_enforce(ruleset) : (close(ruleset), 0);
                r = r < 0 ? r : e;
        }
        if (r < 0)
                return r;
        /* Read before the allow-list, which has no capget; /proc is hidden by now. */
        sandbox_status s;
        sandbox_status_read(&s);
        r = syscalls_load(p->syscalls);
        if (r < 0)
                return r;
        s.landlock = abi > 0;
        s.seccomp = true;
        *ret = s;
        return 0;
}

void sandbox_status_read(sandbox_status *ret) {
        *ret = (sandbox_status){.landlock_abi = landlock_abi(), .uid = geteuid(), .gid = getegid()};
        caps_read(&ret->caps_effective, &ret->caps_permitted);
        ret->dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0;
        /* Seccomp mode 2 is a filter (PR_GET_SECCOMP is not in every allow-list:
         * /proc/self/status says it without a system call of its own). */
        FILE *f = fopen("/proc/self/status", "re");
        char line[128];
        while (f && fgets(line, sizeof(line), f))
                if (strncmp(line, "Seccomp:", 8) == 0)
                        ret->seccomp = strtol(line + 8, NULL, 10) == 2;
        if (f)
                fclose(f);
}

bool sandbox_status_confined_as(const sandbox_status *s, uid_t uid) {
        return s->uid == uid && s->gid == (gid_t)uid && s->seccomp && !s->dumpable;
}

void sandbox_caps_format(uint64_t mask, char *out, size_t len) {
        caps_format(mask, out, len);
}

void sandbox_status_format(const sandbox_status *s, char *out, size_t len) {
        char caps[256];
        sandbox_caps_format(s->caps_effective, caps, sizeof(caps));
        char ll[16];
        if (!s->landlock_abi)
                snprintf(ll, sizeof(ll), "unavailable");
        else
                snprintf(ll, sizeof(ll), "%sabi%d", s->landlock ? "" : "off:", s->landlock_abi);
        snprintf(out, len, "landlock=%s seccomp=%s uid=%u caps=%s dumpable=%s", ll,
                 s->seccomp ? "on" : "off", (unsigned)s->uid, caps, s->dumpable ? "yes" : "no");
}
