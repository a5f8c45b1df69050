/* SPDX-License-Identifier: Apache-2.0 */
/* The system-call allow-lists, as data, one per role (see sandbox.h), loaded
 * with libseccomp. Written from what the roles' code and libraries call
 * (glibc, libcurl with its resolver thread, GnuTLS, libnftables; for exec,
 * what a shell or python3 program needs); to be checked against an strace of
 * the e2e suite when the workers are confined (issue 8). Nobody gets
 * ptrace, process_vm_readv/writev, bpf, perf_event_open, keyctl, mount,
 * unshare, setns, kexec, module loading, userfaultfd, io_uring or the
 * set*id and capset calls: the process keeps what sandbox_apply left it.
 * socket() takes only the address families of the role, prctl() only options
 * that cannot undo the confinement. */
#include "sandbox/syscalls.h"

#include <errno.h>
#include <linux/sched.h>
#include <stdbool.h>
#include <string.h>
#include <linux/prctl.h>
#include <seccomp.h>
#include <stddef.h>
#include <sys/socket.h>

/* Every role: memory, threads' basics, time, signals, descriptors, the IPC
 * socket to the daemon, files (Landlock and the uid decide which). */
static const char *const base[] = {
        "read",
        "write",
        "readv",
        "writev",
        "pread64",
        "pwrite64",
        "close",
        "close_range",
        "lseek",
        "fstat",
        "newfstatat",
        "statx",
        "stat",
        "lstat",
        "openat",
        "open",
        "readlink",
        "readlinkat",
        "access",
        "faccessat",
        "faccessat2",
        "getdents64",
        "fcntl",
        "ioctl",
        "dup",
        "dup2",
        "dup3",
        "pipe2",
        "mmap",
        "munmap",
        "mprotect",
        "mremap",
        "madvise",
        "brk",
        "futex",
        "set_robust_list",
        "get_robust_list",
        "rseq",
        "set_tid_address",
        "rt_sigaction",
        "rt_sigprocmask",
        "rt_sigreturn",
        "sigaltstack",
        "rt_sigtimedwait",
        "restart_syscall",
        "exit",
        "exit_group",
        "getpid",
        "gettid",
        "getppid",
        "getuid",
        "geteuid",
        "getgid",
        "getegid",
        "getgroups",
        "getresuid",
        "getresgid",
        "clock_gettime",
        "clock_getres",
        "clock_nanosleep",
        "nanosleep",
        "gettimeofday",
        "getrandom",
        "poll",
        "ppoll",
        "select",
        "pselect6",
        "epoll_create1",
        "epoll_ctl",
        "epoll_wait",
        "epoll_pwait",
        "sendmsg",
        "recvmsg",
        "sendto",
        "recvfrom",
        "shutdown",
        "getsockopt",
        "setsockopt",
        "getsockname",
        "getpeername",
        "uname",
        "getcwd",
        "sched_yield",
        "sched_getaffinity",
        "getrlimit",
        "prlimit64",
        "sysinfo",
        "umask",
        "tgkill",
        "membarrier",
        "fsync",
        "fdatasync",
        "statfs",
        "fstatfs",
        NULL,
};

/* Outbound TCP (threads for libcurl's resolver: see role_rules). */
static const char *const net[] = {
        "connect", "bind", "eventfd2", "socketpair", NULL,
};

/* The api process: its HTTP threads and accept() on the socket it was
 * given; it opens no socket of its own. */
static const char *const serve[] = {
        "accept",
        "accept4",
        "eventfd2",
        NULL,
};

/* core: its threads, the store's files (SQLite's WAL, shared memory, lock
 * file) beneath the one directory Landlock leaves it, the key memory libsodium
 * locks. No socket(), no socketpair(), no kill(): the parent starts and
 * signals its peers. */
static const char *const core[] = {
        "eventfd2", "ftruncate", "fallocate", "unlink",    "unlinkat", "flock",  "fchmod",  "fchown",
        "rename",   "renameat",  "renameat2", "getrusage", "mlock",    "mlock2", "munlock", NULL,
};

/* Programs and what a general program does besides the base. */
static const char *const programs[] = {
        "clone",
        "clone3",
        "fork",
        "vfork",
        "execve",
        "execveat",
        "wait4",
        "waitid",
        "kill",
        "setpgid",
        "getpgid",
        "getpgrp",
        "setsid",
        "getsid",
        "pidfd_open",
        "pidfd_send_signal",
        "connect",
        "bind",
        "listen",
        "accept",
        "accept4",
        "socketpair",
        "eventfd2",
        "signalfd4",
        "timerfd_create",
        "timerfd_settime",
        "timerfd_gettime",
        "alarm",
        "setitimer",
        "getitimer",
        "timer_create",
        "timer_settime",
        "timer_gettime",
        "timer_delete",
        "timer_getoverrun",
        "mkdir",
        "mkdirat",
        "rmdir",
        "unlink",
        "unlinkat",
        "rename",
        "renameat",
        "renameat2",
        "link",
        "linkat",
        "symlink",
        "symlinkat",
        "chmod",
        "fchmod",
        "fchmodat",
        "truncate",
        "ftruncate",
        "utimensat",
        "futimesat",
        "utime",
        "utimes",
        "chdir",
        "fchdir",
        "flock",
        "fallocate",
        "sendfile",
        "copy_file_range",
        "splice",
        "tee",
        "getdents",
        "inotify_init1",
        "inotify_add_watch",
        "inotify_rm_watch",
        "getrusage",
        "times",
        "getpriority",
        "setpriority",
        "sched_getparam",
        "sched_getscheduler",
        "sched_setaffinity",
        "sched_get_priority_max",
        "sched_get_priority_min",
        "capget",
        "msync",
        "mincore",
        "mlock",
        "munlock",
        "epoll_create",
        "epoll_pwait2",
        "pipe",
        "creat",
        "fadvise64",
        "readahead",
        "memfd_create",
        "name_to_handle_at",
        "getxattr",
        "lgetxattr",
        "fgetxattr",
        "listxattr",
        "flistxattr",
        "arch_prctl",
        "personality",
        "sync_file_range",
        "syncfs",
        "mlock2",
        "preadv",
        "pwritev",
        "preadv2",
        "pwritev2",
        NULL,
};

static const char *const *const lists[_SANDBOX_SYSCALLS_MAX][3] = {
        [SANDBOX_SYSCALLS_NFT] = {base, NULL},
        [SANDBOX_SYSCALLS_HTTP] = {base, net, NULL},
        [SANDBOX_SYSCALLS_EXEC] = {base, programs, NULL},
        [SANDBOX_SYSCALLS_API] = {base, serve, NULL},
        [SANDBOX_SYSCALLS_CORE] = {base, core, NULL},
};

/* socket(): the families each role may open. */
static const int families[_SANDBOX_SYSCALLS_MAX][5] = {
        [SANDBOX_SYSCALLS_NFT] = {AF_NETLINK, -1},
        [SANDBOX_SYSCALLS_HTTP] = {AF_INET, AF_INET6, AF_UNIX, AF_NETLINK, -1},
        [SANDBOX_SYSCALLS_EXEC] = {AF_INET, AF_INET6, AF_UNIX, AF_NETLINK, -1},
        [SANDBOX_SYSCALLS_API] = {-1},
        [SANDBOX_SYSCALLS_CORE] = {-1},
};

/* prctl(): options that cannot undo the confinement (not PR_SET_DUMPABLE,
 * PR_SET_SECCOMP, PR_SET_PTRACER, PR_CAP_AMBIENT, ...). */
static const int prctl_ok[] = {PR_SET_NAME,     PR_GET_NAME,     PR_SET_PDEATHSIG,    PR_GET_PDEATHSIG,
                               PR_GET_DUMPABLE, PR_CAPBSET_READ, PR_GET_NO_NEW_PRIVS, PR_SET_VMA};

/* What a role may do beyond its lists. threads: clone() only for a thread
 * (CLONE_THREAD, no new namespace: no child process that would outlive a
 * kill of its leader, no user namespace), clone3() answers ENOSYS so that
 * glibc falls back to clone(). no_open: open() and openat() fail with EACCES
 * even on a kernel without Landlock (the api process has no file to open). */
typedef struct role_rules {
        bool threads;
        bool no_open;
} role_rules;

static const role_rules rules[_SANDBOX_SYSCALLS_MAX] = {
        [SANDBOX_SYSCALLS_HTTP] = {.threads = true},
        [SANDBOX_SYSCALLS_API] = {.threads = true, .no_open = true},
        [SANDBOX_SYSCALLS_CORE] = {.threads = true},
};

static bool is_open(const char *name) {
        return strcmp(name, "open") == 0 || strcmp(name, "openat") == 0;
}

/* clone() of threads only; clone3() ENOSYS. */
static int threads_only(scmp_filter_ctx ctx) {
        const scmp_datum_t mask = CLONE_THREAD | CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET |
                                  CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP;
        struct scmp_arg_cmp thread = {
                .arg = 0, .op = SCMP_CMP_MASKED_EQ, .datum_a = mask, .datum_b = CLONE_THREAD};
        int r = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1, &thread);
        return r < 0 ? r : seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
}

/* Allows nr when its first argument is value. */
static int allow_first_arg(scmp_filter_ctx ctx, int nr, int value) {
        struct scmp_arg_cmp eq = {.arg = 0, .op = SCMP_CMP_EQ, .datum_a = (scmp_datum_t)value, .datum_b = 0};
        return seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, 1, &eq);
}

int syscalls_load(sandbox_syscalls role) {
        if ((unsigned)role >= _SANDBOX_SYSCALLS_MAX)
                return -EINVAL;
        scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
        if (!ctx)
                return -ENOMEM;
        int r = 0;
        for (size_t l = 0; r == 0 && lists[role][l]; l++)
                for (const char *const *name = lists[role][l]; r == 0 && *name; name++) {
                        if (rules[role].no_open && is_open(*name))
                                continue;
                        int nr = seccomp_syscall_resolve_name(*name);
                        if (nr != __NR_SCMP_ERROR) /* not on this architecture */
                                r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
                }
        if (r == 0 && rules[role].threads)
                r = threads_only(ctx);
        if (r == 0 && rules[role].no_open)
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(open), 0);
        if (r == 0 && rules[role].no_open)
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0);
        for (size_t i = 0; r == 0 && families[role][i] >= 0; i++)
                r = allow_first_arg(ctx, SCMP_SYS(socket), families[role][i]);
        for (size_t i = 0; r == 0 && i < sizeof(prctl_ok) / sizeof(prctl_ok[0]); i++)
                r = allow_first_arg(ctx, SCMP_SYS(prctl), prctl_ok[i]);
        if (r == 0)
                r = seccomp_load(ctx);
        seccomp_release(ctx);
        return r;
}
