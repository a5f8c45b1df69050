/* SPDX-License-Identifier: Apache-2.0 */
/* A connector worker's confinement (issue 8, docs/security.md): after its kind
 * has opened (read its token, resolved its programs) and before the first
 * request, which derives from alerts, the worker becomes its integration's own
 * uid and gid with exactly the capabilities, paths and system calls its kind
 * declares (connector_kind.confine). Programs run by exec inherit all of it. */
#include "connectors/confine.h"

#include <errno.h>
#include <stdio.h>

#include "util/log.h"

/* Open files and processes (threads count) of a worker unless its kind says
 * otherwise: the IPC socket, a few sockets and pipes per call. */
#define CONFINE_FILES_DEFAULT 64u
#define CONFINE_PROCS 64u

int connector_confine(const connector_kind *k, void *state, const json_t *settings, const char *name,
                      unsigned uid, sandbox_status *ret) {
        if (!k->confine || uid == 0)
                return -EINVAL; /* a kind that declares nothing is not run unconfined */
        char role[BW_NAME_MAX + 16];
        snprintf(role, sizeof(role), "worker:%s", name);
        sandbox_profile p = {
                .role = role,
                .change_ids = true,
                .uid = (uid_t)uid,
                .gid = (gid_t)uid,
                .max_files = CONFINE_FILES_DEFAULT,
                .max_procs = CONFINE_PROCS,
        };
        int r = k->confine(state, settings, &p);
        if (r < 0)
                return r;
        return sandbox_apply(&p, ret);
}
