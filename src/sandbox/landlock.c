/* SPDX-License-Identifier: Apache-2.0 */
/* Landlock (see landlock.h). The kernel's headers on Debian 12 know ABI 1-2;
 * the rights of later ABIs are defined here as the kernel documents them. */
#include "sandbox/landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14) /* ABI 3 */
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15) /* ABI 5 */
#endif
#define LL_ACCESS_NET_BIND_TCP (1ULL << 0)    /* ABI 4 */
#define LL_ACCESS_NET_CONNECT_TCP (1ULL << 1) /* ABI 4 */

/* struct landlock_ruleset_attr as of ABI 4 (the kernel takes its size). */
typedef struct ll_ruleset_attr {
        uint64_t handled_access_fs;
        uint64_t handled_access_net;
} ll_ruleset_attr;

#define LL_READ (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define LL_WRITE                                                                                            \
        (LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |   \
         LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SYM |          \
         LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_TRUNCATE)

/* Every right the kernel's ABI handles: what it handles and no rule grants is denied. */
static uint64_t handled_fs(int abi) {
        uint64_t all = LANDLOCK_ACCESS_FS_EXECUTE | LL_READ | LL_WRITE | LANDLOCK_ACCESS_FS_MAKE_CHAR |
                       LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_REFER |
                       LANDLOCK_ACCESS_FS_IOCTL_DEV;
        if (abi < 2)
                all &= ~(uint64_t)LANDLOCK_ACCESS_FS_REFER;
        if (abi < 3)
                all &= ~(uint64_t)LANDLOCK_ACCESS_FS_TRUNCATE;
        if (abi < 5)
                all &= ~(uint64_t)LANDLOCK_ACCESS_FS_IOCTL_DEV;
        return all;
}

static uint64_t granted(sandbox_access a) {
        switch (a) {
        case SANDBOX_EXECUTE:
                return LL_READ | LANDLOCK_ACCESS_FS_EXECUTE;
        case SANDBOX_WRITE:
                return LL_READ | LL_WRITE;
        case SANDBOX_READ:
        default:
                return LL_READ;
        }
}

int landlock_abi(void) {
        long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
        return v < 0 ? 0 : (int)v;
}

int landlock_build(const sandbox_profile *p, int abi, int *ret_fd) {
        uint64_t fs = handled_fs(abi);
        ll_ruleset_attr attr = {.handled_access_fs = fs};
        size_t size = sizeof(attr.handled_access_fs);
        if (abi >= 4 && p->no_tcp) {
                attr.handled_access_net = LL_ACCESS_NET_BIND_TCP | LL_ACCESS_NET_CONNECT_TCP;
                size = sizeof(attr);
        }
        int fd = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
        if (fd < 0)
                return -errno;
        for (size_t i = 0; i < p->n_paths; i++) {
                const sandbox_path *sp = &p->paths[i];
                int dir = open(sp->path, O_PATH | O_CLOEXEC);
                if (dir < 0) {
                        if (errno == ENOENT && sp->optional)
                                continue;
                        int r = -errno;
                        close(fd);
                        return r;
                }
                struct stat st;
                uint64_t allowed = granted(sp->access) & fs;
                /* A rule on a file may carry only the rights that apply to files. */
                if (fstat(dir, &st) == 0 && !S_ISDIR(st.st_mode))
                        allowed &= LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE |
                                   LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE |
                                   LANDLOCK_ACCESS_FS_IOCTL_DEV;
                struct landlock_path_beneath_attr rule = {.allowed_access = allowed, .parent_fd = dir};
                long r = syscall(SYS_landlock_add_rule, fd, LANDLOCK_RULE_PATH_BENEATH, &rule, 0);
                int e = errno;
                close(dir);
                if (r < 0) {
                        close(fd);
                        return -e;
                }
        }
        *ret_fd = fd;
        return 0;
}

int landlock_enforce(int fd) {
        long r = syscall(SYS_landlock_restrict_self, fd, 0);
        int e = errno;
        close(fd);
        return r < 0 ? -e : 0;
}
