/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of sandbox/: each test forks a child that confines itself with a
 * profile and then tries what the profile forbids; the parent asserts on the
 * effect (the error the child got, the signal that killed it, the sets the
 * kernel shows). Each forbidden thing is first shown to work unconfined, so a
 * test fails if the confinement is removed. Run as root (the suite is). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/sandbox.h"

#include "../confine_test.h"

#define UID_A 61998
#define UID_B 61999

static char dir[] = "/tmp/bw-sandbox-XXXXXX";

static int setup(void **state) {
        if (!mkdtemp(dir))
                return -1;
        chmod(dir, 0755);
        return 0;
}

static int teardown(void **state) {
        char path[64];
        const char *names[] = {"mine", "secret", "made"};
        for (size_t i = 0; i < 3; i++) {
                snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
                unlink(path);
        }
        rmdir(dir);
        return 0;
}

/* --- Landlock ---------------------------------------------------------------------- */

static int try_files(void *arg) {
        char path[64];
        if (open("/etc/shadow", O_RDONLY | O_CLOEXEC) >= 0 || errno != EACCES)
                return 1;
        snprintf(path, sizeof(path), "%s/made", dir);
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0 || write(fd, "x", 1) != 1)
                return 2;
        close(fd);
        if (open("/tmp/bw-sandbox-outside", O_WRONLY | O_CREAT | O_CLOEXEC, 0600) >= 0 || errno != EACCES)
                return 3;
        return 0;
}

static void test_landlock_hides_everything_but_its_paths(void **state) {
        skip_unless_confinable();
        if (sandbox_landlock_abi() == 0)
                skip();
        int fd = open("/etc/shadow", O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0); /* root reads it unconfined */
        close(fd);
        sandbox_profile p = {.role = "test", .syscalls = SANDBOX_SYSCALLS_NFT};
        assert_int_equal(sandbox_profile_add(&p, dir, SANDBOX_WRITE, false), 0);
        assert_exit(confined(&p, try_files, NULL), 0);
        assert_int_equal(access("/tmp/bw-sandbox-outside", F_OK), -1);
}

static int listener(uint16_t *ret_port) {
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof(a);
        assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
        assert_int_equal(listen(s, 4), 0);
        assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
        *ret_port = ntohs(a.sin_port);
        return s;
}

static int try_connect(void *arg) {
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_port = htons(*(uint16_t *)arg),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0)
                return 1;
        if (connect(s, (struct sockaddr *)&a, sizeof(a)) == 0)
                return 0;
        return errno == EACCES ? 13 : 2;
}

static void test_landlock_no_tcp_stops_connect(void **state) {
        skip_unless_confinable();
        if (sandbox_landlock_abi() < 4)
                skip();
        uint16_t port;
        int s = listener(&port);
        sandbox_profile p = {.role = "test", .syscalls = SANDBOX_SYSCALLS_HTTP};
        assert_exit(confined(&p, try_connect, &port), 0); /* allowed without no_tcp */
        p.no_tcp = true;
        assert_exit(confined(&p, try_connect, &port), 13);
        close(s);
}

/* --- seccomp --------------------------------------------------------------------------- */

static int try_inet_socket(void *arg) {
        return socket(AF_INET, SOCK_STREAM, 0) >= 0 ? 0 : 1;
}

static int try_netlink_socket(void *arg) {
        return socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0) >= 0 ? 0 : 1;
}

static int try_process_vm_readv(void *arg) {
        char buf[8];
        struct iovec local = {buf, sizeof(buf)}, remote = {buf, sizeof(buf)};
        process_vm_readv(getppid(), &local, 1, &remote, 1, 0);
        return 0;
}

static int try_undo_dumpable(void *arg) {
        prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
        return 0;
}

static void test_seccomp_kills_what_the_role_does_not_need(void **state) {
        skip_unless_confinable();
        sandbox_profile nft = {.role = "test", .syscalls = SANDBOX_SYSCALLS_NFT};
        assert_exit(confined(&nft, try_netlink_socket, NULL), 0);
        assert_sigsys(confined(&nft, try_inet_socket, NULL));
        assert_sigsys(confined(&nft, try_ptrace, NULL));
        assert_sigsys(confined(&nft, try_process_vm_readv, NULL));
        assert_sigsys(confined(&nft, try_undo_dumpable, NULL));
        sandbox_profile exec = {.role = "test", .syscalls = SANDBOX_SYSCALLS_EXEC};
        assert_exit(confined(&exec, try_inet_socket, NULL), 0);
        assert_sigsys(confined(&exec, try_ptrace, NULL));
        assert_sigsys(confined(&exec, try_process_vm_readv, NULL));
}

/* --- uid and capabilities ------------------------------------------------------------ */

/* Reports the kernel's view of the child through a pipe: its effective
 * capabilities and uid, then whether it could read a root-only file. */
typedef struct probe {
        int fd;
        const char *secret;
} probe;

static int report(void *arg) {
        probe *pr = arg;
        uint64_t caps[2] = {0};
        FILE *f = fopen("/proc/self/status", "re");
        char line[128];
        while (f && fgets(line, sizeof(line), f))
                if (strncmp(line, "CapEff:", 7) == 0)
                        caps[0] = strtoull(line + 7, NULL, 16);
        if (f)
                fclose(f);
        caps[1] = getuid();
        int fd = open(pr->secret, O_RDONLY | O_CLOEXEC);
        uint64_t denied = fd < 0 && errno == EACCES;
        if (write(pr->fd, caps, sizeof(caps)) != sizeof(caps) || write(pr->fd, &denied, 8) != 8)
                return 1;
        return 0;
}

static void check_caps(uint64_t keep) {
        char secret[64];
        snprintf(secret, sizeof(secret), "%s/secret", dir);
        int fd = open(secret, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        close(fd);
        int pipefd[2];
        assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
        probe pr = {.fd = pipefd[1], .secret = secret};
        sandbox_profile p = {.role = "test",
                             .change_ids = true,
                             .uid = UID_A,
                             .gid = UID_A,
                             .caps = keep,
                             .syscalls = SANDBOX_SYSCALLS_EXEC};
        /* /proc for its own status; its directory for the file. */
        assert_int_equal(sandbox_profile_add(&p, "/proc", SANDBOX_READ, false), 0);
        assert_int_equal(sandbox_profile_add(&p, dir, SANDBOX_READ, false), 0);
        assert_exit(confined(&p, report, &pr), 0);
        uint64_t got[3];
        assert_int_equal(read(pipefd[0], got, sizeof(got)), sizeof(got));
        close(pipefd[0]);
        close(pipefd[1]);
        assert_int_equal(got[0], keep);
        assert_int_equal(got[1], UID_A);
        assert_int_equal(got[2], 1); /* its own uid cannot read root's 0600 file */
}

static void test_only_the_listed_capabilities_survive_the_uid_change(void **state) {
        skip_unless_confinable();
        check_caps(1ULL << CAP_NET_ADMIN); /* the nft worker's one capability */
        check_caps(0);                     /* every other worker */
}

/* Field of /proc/self/status as a hexadecimal number (the capability sets). */
static uint64_t status_hex(const char *field) {
        FILE *f = fopen("/proc/self/status", "re");
        char line[128];
        uint64_t v = UINT64_MAX;
        size_t n = strlen(field);
        while (f && fgets(line, sizeof(line), f))
                if (strncmp(line, field, n) == 0 && line[n] == ':')
                        v = strtoull(line + n + 1, NULL, 16);
        if (f)
                fclose(f);
        return v;
}

/* A service bounded to what it needs (packaging/bulwarkd.service: no
 * CAP_SETPCAP): the bounding set cannot be cleared, and everything else
 * still holds. */
static int confine_without_setpcap(void *arg) {
        (void)arg;
        capng_get_caps_process();
        if (capng_update(CAPNG_DROP, CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET, CAP_SETPCAP) <
                    0 ||
            capng_apply(CAPNG_SELECT_BOTH) < 0)
                return 2;
        sandbox_profile p = {.role = "test",
                             .change_ids = true,
                             .uid = UID_B,
                             .gid = UID_B,
                             .caps = 1ULL << CAP_NET_ADMIN,
                             .syscalls = SANDBOX_SYSCALLS_EXEC};
        if (sandbox_profile_add(&p, "/proc", SANDBOX_READ, false) < 0)
                return 3;
        sandbox_status st;
        if (sandbox_apply(&p, &st) < 0)
                return 100;
        if (getuid() != UID_B || status_hex("CapEff") != 1ULL << CAP_NET_ADMIN || status_hex("CapAmb") != 0)
                return 4;
        uint64_t bnd = status_hex("CapBnd");
        return bnd != 0 && !(bnd & (1ULL << CAP_SETPCAP)) ? 0 : 5;
}

static void test_without_setpcap_the_rest_of_the_drop_holds(void **state) {
        skip_unless_confinable();
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
                _exit(confine_without_setpcap(NULL));
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_exit(status, 0);
}

static void test_root_ids_are_refused(void **state) {
        sandbox_profile p = {.role = "test", .change_ids = true, .uid = 0, .gid = 0};
        assert_exit(confined(&p, try_netlink_socket, NULL), 100);
}

/* --- not dumpable ------------------------------------------------------------------------ */

/* Until the parent closes the pipe (read returns 0). */
static int wait_released(void *arg) {
        char c;
        return read(*(int *)arg, &c, 1) == 0 ? 0 : 3;
}

static int try_peek(void *arg) {
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/mem", *(pid_t *)arg);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0)
                return 1;
        return errno == EACCES || errno == EPERM ? 0 : 2;
}

static void test_a_worker_cannot_read_another_of_its_uid(void **state) {
        skip_unless_confinable();
        int hold[2];
        assert_int_equal(pipe2(hold, O_CLOEXEC), 0);
        sandbox_profile p = {.role = "test",
                             .change_ids = true,
                             .uid = UID_B,
                             .gid = UID_B,
                             .syscalls = SANDBOX_SYSCALLS_EXEC};
        assert_int_equal(sandbox_profile_add(&p, "/proc", SANDBOX_READ, false), 0);
        pid_t victim = fork();
        assert_true(victim >= 0);
        if (victim == 0) {
                close(hold[1]);
                sandbox_status st;
                if (sandbox_apply(&p, &st) < 0 || st.dumpable)
                        _exit(100);
                struct rlimit core;
                if (getrlimit(RLIMIT_CORE, &core) < 0 || core.rlim_cur != 0)
                        _exit(101);
                _exit(wait_released(&hold[0]));
        }
        usleep(100000);
        /* Same uid, confined the same way: no way into its memory (Landlock
         * keeps each domain out of the other, seccomp has no ptrace). */
        assert_exit(confined(&p, try_peek, &victim), 0);
        /* Same uid and not confined at all: not dumpable still keeps it out. */
        pid_t peer = fork();
        assert_true(peer >= 0);
        if (peer == 0) {
                if (setgroups(0, NULL) < 0 || setresgid(UID_B, UID_B, UID_B) < 0 ||
                    setresuid(UID_B, UID_B, UID_B) < 0)
                        _exit(100);
                _exit(try_peek(&victim));
        }
        int st;
        assert_int_equal(waitpid(peer, &st, 0), peer);
        assert_exit(st, 0);
        close(hold[1]);
        int status;
        assert_int_equal(waitpid(victim, &status, 0), victim);
        assert_exit(status, 0);
        close(hold[0]);
}

static int drop_all_caps(void) {
        struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
        struct __user_cap_data_struct d[2] = {{0}};
        return (int)syscall(SYS_capset, &h, d);
}

/* Root without a capability: same uid as its victim, no CAP_SYS_PTRACE. */
static int peek_as_capless_root(pid_t victim) {
        pid_t peer = fork();
        assert_true(peer >= 0);
        if (peer == 0) {
                if (drop_all_caps() < 0)
                        _exit(100);
                _exit(try_peek(&victim));
        }
        int st;
        assert_int_equal(waitpid(peer, &st, 0), peer);
        return st;
}

static void check_root_victim(bool harden, int want) {
        int hold[2];
        assert_int_equal(pipe2(hold, O_CLOEXEC), 0);
        pid_t victim = fork();
        assert_true(victim >= 0);
        if (victim == 0) {
                close(hold[1]);
                /* As unprivileged as its peer (ptrace also wants the peer to
                 * hold every capability the victim has): only dumpable differs. */
                if (drop_all_caps() < 0 || (harden && sandbox_harden() < 0))
                        _exit(100);
                _exit(wait_released(&hold[0]));
        }
        usleep(50000);
        assert_exit(peek_as_capless_root(victim), want);
        close(hold[1]);
        int st;
        assert_int_equal(waitpid(victim, &st, 0), victim);
        close(hold[0]);
}

static void test_the_daemon_is_not_dumpable(void **state) {
        check_root_victim(false, 1); /* dumpable: its own uid opens its memory */
        check_root_victim(true, 0);  /* sandbox_harden: it cannot */
}

static void test_status_line(void **state) {
        sandbox_status s = {.landlock_abi = 7,
                            .landlock = true,
                            .seccomp = true,
                            .uid = 60600,
                            .caps_effective = 1ULL << CAP_NET_ADMIN};
        char line[256];
        sandbox_status_format(&s, line, sizeof(line));
        assert_string_equal(line, "landlock=abi7 seccomp=on uid=60600 caps=net_admin dumpable=no");
        s = (sandbox_status){.uid = 0, .dumpable = true};
        sandbox_status_format(&s, line, sizeof(line));
        assert_string_equal(line, "landlock=unavailable seccomp=off uid=0 caps=none dumpable=yes");
        char caps[256];
        uint64_t all = (1ULL << (CAP_LAST_CAP + 1)) - 1;
        sandbox_caps_format(all, caps, sizeof(caps));
        assert_string_equal(caps, "all");
        /* root in a container without CAP_SYS_RESOURCE: what it lacks */
        sandbox_caps_format(all & ~(1ULL << CAP_SYS_RESOURCE), caps, sizeof(caps));
        assert_string_equal(caps, "all except sys_resource");
        sandbox_caps_format(1ULL << CAP_NET_ADMIN | 1ULL << CAP_NET_RAW, caps, sizeof(caps));
        assert_string_equal(caps, "net_admin,net_raw");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_landlock_hides_everything_but_its_paths),
                cmocka_unit_test(test_landlock_no_tcp_stops_connect),
                cmocka_unit_test(test_seccomp_kills_what_the_role_does_not_need),
                cmocka_unit_test(test_only_the_listed_capabilities_survive_the_uid_change),
                cmocka_unit_test(test_without_setpcap_the_rest_of_the_drop_holds),
                cmocka_unit_test(test_root_ids_are_refused),
                cmocka_unit_test(test_a_worker_cannot_read_another_of_its_uid),
                cmocka_unit_test(test_the_daemon_is_not_dumpable),
                cmocka_unit_test(test_status_line),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
