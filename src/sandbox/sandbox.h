/* SPDX-License-Identifier: Apache-2.0 */
/* Confinement of one process (issue 8, docs/security.md): what it keeps is
 * declared as data — a profile — and sandbox_apply drops the rest, in one fixed
 * order, before the process reads its first untrusted byte:
 *
 *   1. not dumpable, no core files, resource limits (sandbox_harden);
 *   2. the Landlock rules are built while the paths are still reachable;
 *   3. the uid, gid and supplementary groups change, keeping exactly the
 *      profile's capabilities (none for most), the bounding set cleared;
 *   4. no_new_privs: nothing it executes can gain privileges;
 *   5. Landlock is enforced: the file system beyond the profile's paths is
 *      gone (and, with Landlock ABI >= 4 and no_tcp, TCP bind and connect);
 *   6. the seccomp allow-list is loaded last: any other system call kills
 *      the process (SIGSYS), which its parent sees and logs.
 *
 * A kernel without Landlock is a warning, not a failure (status.landlock_abi
 * is 0); seccomp, the uid and the capabilities are required. Not thread-safe:
 * call before starting threads. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The system-call allow-lists (sandbox/syscalls.c), one per role. */
typedef enum {
        SANDBOX_SYSCALLS_NFT,  /* netlink to nftables */
        SANDBOX_SYSCALLS_HTTP, /* outbound TCP, DNS, TLS (http, notify) */
        SANDBOX_SYSCALLS_EXEC, /* runs programs: what a general program needs */
        SANDBOX_SYSCALLS_API,  /* the api process: threads, accept on its socket; no socket() */
        SANDBOX_SYSCALLS_CORE, /* core: threads, the store's files; no socket(), no kill() */
        _SANDBOX_SYSCALLS_MAX,
} sandbox_syscalls;

typedef enum {
        SANDBOX_READ,    /* read files and list directories beneath */
        SANDBOX_EXECUTE, /* read and execute beneath */
        SANDBOX_WRITE,   /* read, write, create and remove beneath */
        _SANDBOX_ACCESS_MAX,
} sandbox_access;

typedef struct sandbox_path {
        const char *path;
        sandbox_access access;
        bool optional; /* skipped when it does not exist (/lib64 on some systems) */
} sandbox_path;

#define SANDBOX_PATHS_MAX 48

typedef struct sandbox_profile {
        const char *role; /* for logs: "worker:fw", "api", ... */
        bool change_ids;  /* false: keep the uid and gid (tests, --no-sandbox never calls this) */
        uid_t uid;        /* never 0 */
        gid_t gid;        /* never 0 */
        uint64_t caps;    /* bit (1 << CAP_x) of each capability it keeps */
        sandbox_path paths[SANDBOX_PATHS_MAX];
        size_t n_paths;
        bool no_tcp; /* no TCP bind or connect (Landlock ABI >= 4) */
        sandbox_syscalls syscalls;
        unsigned max_files; /* RLIMIT_NOFILE; 0 leaves it */
        unsigned max_procs; /* RLIMIT_NPROC (processes and threads of its uid); 0 leaves it */
} sandbox_profile;

/* What is in force after sandbox_apply. */
typedef struct sandbox_status {
        int landlock_abi; /* 0: the kernel has no Landlock (warning) */
        bool landlock;    /* rules enforced */
        bool seccomp;
        uid_t uid;
        gid_t gid;
        uint64_t caps_effective, caps_permitted;
        bool dumpable;
} sandbox_status;

/* Adds a path to p. -E2BIG beyond SANDBOX_PATHS_MAX, -EINVAL for a relative one. */
int sandbox_profile_add(sandbox_profile *p, const char *path, sandbox_access access, bool optional);

/* Step 1 alone, for every process of the daemon: not dumpable (no ptrace or
 * /proc/PID/mem by its own uid), RLIMIT_CORE 0. */
int sandbox_harden(void);

/* Steps 1-6. 0 and *ret, or a negative errno (the process must not go on). */
int sandbox_apply(const sandbox_profile *p, sandbox_status *ret);

/* The Landlock ABI version of the running kernel, 0 without Landlock. */
int sandbox_landlock_abi(void);

/* What is in force now, read from the kernel (also without sandbox_apply). */
void sandbox_status_read(sandbox_status *ret);

/* Whether a status (as a child reported it) is that of a process confined as
 * uid (and gid uid): seccomp on, not dumpable. The one rule by which core
 * accepts a worker or an api process. */
bool sandbox_status_confined_as(const sandbox_status *s, uid_t uid);

/* "net_admin,net_raw", "none", "all", or "all except sys_resource" when
 * more than half are present. */
void sandbox_caps_format(uint64_t mask, char *out, size_t len);

/* One line: "landlock=abi7 seccomp=on uid=60600 caps=net_admin dumpable=no". */
void sandbox_status_format(const sandbox_status *s, char *out, size_t len);
