/* SPDX-License-Identifier: Apache-2.0 */
/* The exec connector kind: runs one vetted local program per action (fork and
 * execve, never a shell) with the targets as arguments, a clean environment,
 * the action as JSON on stdin, bounded output capture and a timeout that kills
 * the program's whole process group; optional paired programs verify, snapshot
 * and roll back. Runs in its integration's worker; targets derive from alerts
 * and are untrusted, as is the programs' output. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "connectors/kind.h"
#include "core/limits.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/strutil.h"

/* The programs an integration may configure; only the apply program is required. */
typedef enum {
        EXEC_PROGRAM_APPLY,
        EXEC_PROGRAM_VERIFY,
        EXEC_PROGRAM_SNAPSHOT,
        EXEC_PROGRAM_ROLLBACK,
        _EXEC_PROGRAM_MAX,
} exec_program;

/* Each program's setting, and its name in details. */
static const struct {
        const char *key;
        const char *what;
} exec_programs[_EXEC_PROGRAM_MAX] = {
        [EXEC_PROGRAM_APPLY] = {"program", "program"},
        [EXEC_PROGRAM_VERIFY] = {"verify_program", "verify program"},
        [EXEC_PROGRAM_SNAPSHOT] = {"snapshot_program", "snapshot program"},
        [EXEC_PROGRAM_ROLLBACK] = {"rollback_program", "rollback program"},
};

typedef struct exec_state {
        char *argv0[_EXEC_PROGRAM_MAX]; /* as configured: the program's argv[0]; NULL if not configured */
        char *path[_EXEC_PROGRAM_MAX];  /* resolved and checked at open: what is executed */
        char **args;
        size_t n_args;
        int64_t timeout_ms;
        size_t max_output;
} exec_state;

typedef struct exec_run {
        int status; /* wait status */
        buf output; /* stdout and stderr, interleaved as written (the snapshot program: stdout) */
        bool truncated;
} exec_run;

static const setting_spec exec_settings[] = {
        {"program", SETTING_STRING, true, 2, PATH_MAX - 1, NULL,
         "absolute path of the program run for each action"},
        {"args", SETTING_STRING_LIST, false, 0, BW_EXEC_MAX_ARGS, NULL,
         "fixed arguments, before the targets"},
        {"verify_program", SETTING_STRING, false, 2, PATH_MAX - 1, NULL,
         "absolute path of a program that exits 0 if the action's effect is present, 1 if absent"},
        {"snapshot_program", SETTING_STRING, false, 2, PATH_MAX - 1, NULL,
         "absolute path of a program run before program (same arguments, environment and stdin) that "
         "prints the targets' state on stdout as one JSON object and exits 0 (its stderr is discarded); "
         "requires rollback_program"},
        {"rollback_program", SETTING_STRING, false, 2, PATH_MAX - 1, NULL,
         "absolute path of a program run (same arguments and environment) when apply or verify fails, "
         "with the action plus \"snapshot\" (what snapshot_program printed) on stdin; exit 0 = restored; "
         "requires snapshot_program"},
        {"timeout_ms", SETTING_INT, false, 1, BW_CONNECTOR_TIMEOUT_MS_MAX, NULL,
         "the program's process group is killed after this many milliseconds (default 5000)"},
        {"max_output", SETTING_INT, false, 1, BW_CONNECTOR_OUTPUT_MAX, NULL,
         "bytes of stdout and stderr kept; the rest is discarded (default 65536)"},
        {"writable_paths", SETTING_STRING_LIST, false, 0, BW_EXEC_WRITABLE_PATHS_MAX, NULL,
         "absolute paths of directories the programs may write beneath (Landlock); elsewhere they may "
         "only read the system's directories (default: none)"},
        {0},
};

static int exec_check_settings(const json_t *settings, bw_error *err) {
        for (size_t i = 0; i < _EXEC_PROGRAM_MAX; i++) {
                const char *path;
                int r = kind_get_str(settings, exec_settings, exec_programs[i].key, NULL, &path, err);
                if (r < 0)
                        return r;
                if (path && path[0] != '/')
                        return bw_error_set(err, "invalid", exec_programs[i].key,
                                            "must be an absolute path");
        }
        if (!json_object_get(settings, "program"))
                return bw_error_set(err, "missing", "program", "is required");
        const json_t *writable;
        int r = kind_get_list(settings, exec_settings, "writable_paths", &writable, err);
        for (size_t i = 0; r == 0 && i < json_array_size(writable); i++) {
                char field[48];
                snprintf(field, sizeof(field), "writable_paths[%zu]", i);
                if (json_string_value(json_array_get(writable, i))[0] != '/')
                        return bw_error_set(err, "invalid", field, "must be an absolute path");
        }
        if (r < 0)
                return r;
        /* Half a pair would record a state nothing restores, or restore one
         * nothing recorded. */
        bool snapshot = json_object_get(settings, "snapshot_program") != NULL;
        if (snapshot != (json_object_get(settings, "rollback_program") != NULL))
                return bw_error_set(err, "missing", snapshot ? "rollback_program" : "snapshot_program",
                                    "is required with %s",
                                    snapshot ? "snapshot_program" : "rollback_program");
        return 0;
}

static bool exec_owner_ok(const struct stat *st) {
        return st->st_uid == 0 || st->st_uid == geteuid();
}

/* The program must be one only root or the daemon's user can change: a regular
 * executable file, not writable by group or others, in directories with the
 * same property or sticky (as /tmp, where others cannot replace our file).
 * Returns 0 and the resolved path, or -EPERM/-errno with *err. */
static int exec_trusted(const char *key, const char *path, char **ret, bw_error *err) {
        if (path[0] != '/')
                return bw_error_set(err, "invalid", key, "must be an absolute path");
        char *real = realpath(path, NULL);
        if (!real) {
                int r = -errno;
                bw_error_set(err, "open_failed", key, "%s: %s", path, strerror(-r));
                return r;
        }
        char *walk = strdup(real);
        struct stat st;
        const char *why = NULL;
        int r = 0;
        if (!walk)
                r = -ENOMEM;
        else if (stat(real, &st) < 0)
                r = -errno;
        else if (!S_ISREG(st.st_mode))
                why = "is not a regular file";
        else if (!(st.st_mode & S_IXUSR))
                why = "is not executable";
        else if (st.st_mode & (S_IWGRP | S_IWOTH))
                why = "is writable by group or others";
        else if (!exec_owner_ok(&st))
                why = "is owned by neither root nor the daemon's user";
        for (char *slash; r == 0 && !why && (slash = strrchr(walk, '/'));) {
                *slash = '\0';
                const char *dir = walk[0] ? walk : "/";
                if (stat(dir, &st) < 0)
                        r = -errno;
                else if (!exec_owner_ok(&st) ||
                         ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)))
                        why = "is in a directory others can change";
        }
        free(walk);
        if (r < 0 || why) {
                free(real);
                if (why) {
                        bw_error_set(err, "untrusted", key, "%s %s", path, why);
                        return -EPERM;
                }
                bw_error_set(err, "open_failed", key, "%s: %s", path, strerror(-r));
                return r;
        }
        *ret = real;
        return 0;
}

static void exec_close(void *state) {
        exec_state *s = state;
        if (!s)
                return;
        for (size_t i = 0; i < s->n_args; i++)
                free(s->args[i]);
        free(s->args);
        for (size_t i = 0; i < _EXEC_PROGRAM_MAX; i++) {
                free(s->argv0[i]);
                free(s->path[i]);
        }
        free(s);
}

/* Each of writable_paths is a directory now: the worker's Landlock rules are
 * built on it. Returns 0 or -errno with *err naming it. */
static int exec_writable_dirs(const json_t *settings, bw_error *err) {
        const json_t *writable = json_object_get(settings, "writable_paths");
        for (size_t i = 0; i < json_array_size(writable); i++) {
                const char *path = json_string_value(json_array_get(writable, i));
                struct stat st;
                char field[48];
                snprintf(field, sizeof(field), "writable_paths[%zu]", i);
                if (stat(path, &st) < 0) {
                        int r = -errno;
                        bw_error_set(err, "open_failed", field, "%s: %s", path, strerror(-r));
                        return r;
                }
                if (!S_ISDIR(st.st_mode))
                        return bw_error_set(err, "invalid", field, "%s is not a directory", path);
        }
        return 0;
}

static int exec_open(const json_t *settings, void **ret_state, bw_error *err) {
        int r = exec_check_settings(settings, err);
        if (r == 0)
                r = exec_writable_dirs(settings, err);
        if (r < 0)
                return r;
        const json_t *args;
        int64_t timeout_ms, max_output;
        if ((r = kind_get_list(settings, exec_settings, "args", &args, err)) < 0 ||
            (r = kind_get_int(settings, exec_settings, "timeout_ms", BW_CONNECTOR_TIMEOUT_MS_DEFAULT,
                              &timeout_ms, err)) < 0 ||
            (r = kind_get_int(settings, exec_settings, "max_output", BW_CONNECTOR_OUTPUT_MAX, &max_output,
                              err)) < 0)
                return r;
        exec_state *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->timeout_ms = timeout_ms;
        s->max_output = (size_t)max_output;
        for (size_t i = 0; r == 0 && i < _EXEC_PROGRAM_MAX; i++) {
                const char *configured;
                r = kind_get_str(settings, exec_settings, exec_programs[i].key, NULL, &configured, err);
                if (r == 0 && configured)
                        r = exec_trusted(exec_programs[i].key, configured, &s->path[i], err);
                if (r == 0 && configured && !(s->argv0[i] = strdup(configured)))
                        r = -ENOMEM;
        }
        if (r == 0 && !(s->args = calloc(json_array_size(args) + 1, sizeof(char *))))
                r = -ENOMEM;
        for (size_t i = 0; r == 0 && i < json_array_size(args); i++) {
                s->args[i] = strdup(json_string_value(json_array_get(args, i)));
                r = s->args[i] ? 0 : -ENOMEM;
                s->n_args += r == 0;
        }
        if (r < 0) {
                exec_close(s);
                return r;
        }
        *ret_state = s;
        return 0;
}

/* The action checks, plus: no target may start with '-', which the program
 * could take for an option (argument injection from an alert). */
static int exec_check(const connector_action *a, connector_result *res) {
        int r = kind_check_action(&exec_kind, a, res);
        if (r < 0)
                return r;
        for (size_t i = 0; i < a->n_targets; i++)
                if (a->targets[i][0] == '-')
                        return kind_invalid(res, "targets[%zu]: must not start with '-'", i);
        return 0;
}

/* In the child between fork and execve: async-signal-safe calls only. */
static _Noreturn void exec_child(int in, int out, int err, pid_t parent, const char *path,
                                 char *const argv[], char *const envp[]) {
        /* Die with the worker: a worker killed at a call's timeout must not leave
         * its program running. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                _exit(127);
        setpgid(0, 0);
        sigset_t none;
        sigemptyset(&none);
        struct sigaction dfl = {.sa_handler = SIG_DFL};
        /* The worker ignores SIGPIPE and may block signals; programs expect the defaults. */
        if (sigprocmask(SIG_SETMASK, &none, NULL) < 0 || sigaction(SIGPIPE, &dfl, NULL) < 0)
                _exit(127);
        if (dup2(in, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0 || dup2(err, STDERR_FILENO) < 0)
                _exit(127);
        /* A clean start: nothing of the daemon's working directory either. */
        if (chdir("/") < 0)
                _exit(127);
        if (close_range(STDERR_FILENO + 1, ~0U, 0) < 0)
                _exit(127);
        execve(path, argv, envp);
        _exit(127);
}

static void exec_capture(exec_run *run, const char *data, size_t n) {
        size_t room = run->output.max - run->output.len;
        if (n > room) {
                run->truncated = true;
                n = room;
        }
        if (n && buf_append(&run->output, data, n) < 0)
                run->truncated = true;
}

/* Feeds stdin, drains the output and waits for the program until the deadline.
 * When the program exits, what is left of its process group is killed before
 * the program is reaped (so the group id cannot have been reused). Returns 0
 * with run->status, -ETIMEDOUT (the group was killed), or -errno. */
static int exec_supervise(const exec_state *s, pid_t pid, int pidfd, int in, int out, const char *input,
                          exec_run *run) {
        size_t in_len = strlen(input), in_off = 0;
        int64_t deadline = clock_mono_ms() + s->timeout_ms;
        bool exited = false;
        int r = 0;
        if (fcntl(in, F_SETFL, O_NONBLOCK) < 0 || fcntl(out, F_SETFL, O_NONBLOCK) < 0)
                r = -errno;
        while (r == 0 && (out >= 0 || !exited)) {
                int64_t left = deadline - clock_mono_ms();
                if (left <= 0)
                        break;
                struct pollfd p[3] = {
                        {.fd = out, .events = POLLIN},
                        {.fd = in, .events = POLLOUT},
                        {.fd = exited ? -1 : pidfd, .events = POLLIN},
                };
                if (poll(p, 3, (int)left) < 0) {
                        r = errno == EINTR ? 0 : -errno;
                        continue;
                }
                if (p[0].revents) {
                        char chunk[4096];
                        ssize_t n = read(out, chunk, sizeof(chunk));
                        if (n > 0)
                                exec_capture(run, chunk, (size_t)n);
                        else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                                close(out);
                                out = -1;
                        }
                }
                if (p[1].revents) {
                        ssize_t n = (p[1].revents & POLLOUT) ? send(in, input + in_off, in_len - in_off,
                                                                    MSG_NOSIGNAL | MSG_DONTWAIT)
                                                             : -1;
                        if (n > 0)
                                in_off += (size_t)n;
                        /* Done, or the program does not read its input: either way, EOF. */
                        if (in_off == in_len || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                                close(in);
                                in = -1;
                        }
                }
                if (p[2].revents) {
                        kill(-pid, SIGKILL);
                        while (waitpid(pid, &run->status, 0) < 0 && errno == EINTR)
                                ;
                        exited = true;
                }
        }
        if (in >= 0)
                close(in);
        if (out >= 0)
                close(out);
        if (!exited) {
                kill(-pid, SIGKILL);
                kill(pid, SIGKILL); /* in case it had not yet made its own group */
                while (waitpid(pid, &run->status, 0) < 0 && errno == EINTR)
                        ;
                if (r == 0)
                        r = -ETIMEDOUT;
        }
        return r;
}

/* The program's stdin: the action, and for rollback the snapshot it restores.
 * Returns a string to free, or NULL (ENOMEM). */
static char *exec_input(exec_program prog, const connector_action *a) {
        json_t *j = kind_action_json(a, NULL);
        if (j && prog == EXEC_PROGRAM_ROLLBACK &&
            json_object_set_new(j, "snapshot", json_deep_copy(a->snapshot)) < 0) {
                json_decref(j);
                return NULL;
        }
        char *input = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        return input;
}

/* Runs program prog with its argv0, the fixed args and the targets. */
static int exec_run_program(const exec_state *s, exec_program prog, const connector_action *a,
                            exec_run *run) {
        /* Everything the child needs is built before fork. */
        char env_id[64], env_key[128], env_verb[BW_NAME_MAX + 32], env_kind[64];
        snprintf(env_id, sizeof(env_id), "BULWARK_ACTION_ID=%lld", (long long)a->action_id);
        snprintf(env_key, sizeof(env_key), "BULWARK_IDEMPOTENCY_KEY=%s", a->idempotency_key);
        if (snprintf(env_verb, sizeof(env_verb), "BULWARK_VERB=%s", a->verb) >= (int)sizeof(env_verb))
                return -EINVAL;
        snprintf(env_kind, sizeof(env_kind), "BULWARK_TARGET_KIND=%s", target_kind_name(a->kind));
        char *const envp[] = {(char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                              (char *)"LANG=C",
                              env_id,
                              env_key,
                              env_verb,
                              env_kind,
                              NULL};
        char **argv = calloc(2 + s->n_args + a->n_targets, sizeof(char *));
        char *input = exec_input(prog, a);
        int in[2] = {-1, -1}, out[2] = {-1, -1}, discard = -1;
        int r = argv && input ? 0 : -ENOMEM;
        if (r == 0) {
                size_t k = 0;
                argv[k++] = s->argv0[prog];
                for (size_t i = 0; i < s->n_args; i++)
                        argv[k++] = s->args[i];
                for (size_t i = 0; i < a->n_targets; i++)
                        argv[k++] = a->targets[i];
                /* stdin is a socket so a program that ignores its input costs us an
                 * error from send(MSG_NOSIGNAL), never a SIGPIPE. */
                if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0 || pipe2(out, O_CLOEXEC) < 0)
                        r = -errno;
        }
        /* The snapshot is the program's stdout alone: a warning on stderr must
         * not corrupt the JSON it prints. */
        if (r == 0 && prog == EXEC_PROGRAM_SNAPSHOT &&
            (discard = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0)
                r = -errno;
        buf_init(&run->output, s->max_output);
        pid_t pid = -1;
        if (r == 0) {
                pid_t parent = getpid();
                pid = fork();
                if (pid == 0)
                        exec_child(in[1], out[1], discard >= 0 ? discard : out[1], parent, s->path[prog],
                                   argv, envp);
                if (pid < 0)
                        r = -errno;
        }
        if (in[1] >= 0)
                close(in[1]);
        if (out[1] >= 0)
                close(out[1]);
        if (discard >= 0)
                close(discard);
        int pidfd = -1;
        if (r == 0) {
                setpgid(pid, pid); /* as the child does: whichever runs first */
                pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
                if (pidfd < 0) {
                        r = -errno;
                        kill(pid, SIGKILL);
                        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                                ;
                }
        }
        if (r == 0) {
                r = exec_supervise(s, pid, pidfd, in[0], out[0], input, run);
                in[0] = out[0] = -1; /* closed by exec_supervise */
        }
        if (pidfd >= 0)
                close(pidfd);
        if (in[0] >= 0)
                close(in[0]);
        if (out[0] >= 0)
                close(out[0]);
        free(argv);
        free(input);
        return r;
}

/* The run's summary for the record: exit status or signal, output, truncated. */
static int exec_data(exec_run *run, connector_result *res) {
        kind_utf8_scrub(run->output.data, run->output.len);
        json_t *d = json_pack("{ss% sb}", "output", run->output.data ? run->output.data : "",
                              run->output.len, "truncated", run->truncated);
        if (d && WIFEXITED(run->status))
                json_object_set_new(d, "exit_status", json_integer(WEXITSTATUS(run->status)));
        else if (d)
                json_object_set_new(d, "signal", json_integer(WTERMSIG(run->status)));
        res->data = d;
        return d ? 0 : -ENOMEM;
}

static bool exec_exited_0(const exec_run *run) {
        return WIFEXITED(run->status) && WEXITSTATUS(run->status) == 0;
}

/* A run that ended: res->data its summary, res->detail "program exit status 3"
 * or "program killed by signal 9" (", output truncated"), res->ok if it exited 0. */
static int exec_ended(exec_run *run, exec_program prog, connector_result *res) {
        int r = exec_data(run, res);
        if (r < 0)
                return r;
        const char *cut = run->truncated ? ", output truncated" : "";
        if (WIFEXITED(run->status))
                kind_result(res, exec_exited_0(run), "%s exit status %d%s", exec_programs[prog].what,
                            WEXITSTATUS(run->status), cut);
        else
                kind_result(res, false, "%s killed by signal %d%s", exec_programs[prog].what,
                            WTERMSIG(run->status), cut);
        return 0;
}

/* Checks the action and runs the op's program. Returns 0 with run->status when
 * it ended, -ETIMEDOUT (described in res->detail), -EOPNOTSUPP when the
 * integration has no such program, -EINVAL or -errno. The caller frees
 * run->output. */
static int exec_invoke(const exec_state *s, exec_program prog, const connector_action *a, exec_run *run,
                       connector_result *res) {
        if (!s->path[prog]) {
                kind_result(res, false, "no %s configured", exec_programs[prog].key);
                return -EOPNOTSUPP;
        }
        int r = exec_check(a, res);
        if (r < 0)
                return r;
        /* Rollback restores what the snapshot program recorded: without that
         * record it has nothing to restore. */
        if (prog == EXEC_PROGRAM_ROLLBACK && !json_is_object(a->snapshot))
                return kind_invalid(res, "snapshot: missing (the object the snapshot program printed)");
        r = exec_run_program(s, prog, a, run);
        if (r == -ETIMEDOUT)
                kind_result(res, false, "%s timed out after %lld ms; its process group was killed",
                            exec_programs[prog].what, (long long)s->timeout_ms);
        return r;
}

/* Apply and rollback: exit 0 is success. */
static int exec_run_op(void *state, exec_program prog, const connector_action *a, connector_result *res) {
        exec_run run = {0};
        int r = exec_invoke(state, prog, a, &run, res);
        if (r == 0)
                r = exec_ended(&run, prog, res);
        buf_free(&run.output);
        return r;
}

static int exec_validate(void *state, const connector_action *a, connector_result *res) {
        return kind_validated(exec_check(a, res), res);
}

static int exec_apply(void *state, const connector_action *a, connector_result *res) {
        return exec_run_op(state, EXEC_PROGRAM_APPLY, a, res);
}

static int exec_rollback(void *state, const connector_action *a, connector_result *res) {
        return exec_run_op(state, EXEC_PROGRAM_ROLLBACK, a, res);
}

/* exit 0: the effect is present (ok); 1: absent; anything else: the check failed. */
static int exec_verify(void *state, const connector_action *a, connector_result *res) {
        exec_run run = {0};
        int r = exec_invoke(state, EXEC_PROGRAM_VERIFY, a, &run, res);
        if (r == 0)
                r = exec_ended(&run, EXEC_PROGRAM_VERIFY, res);
        if (r == 0 && WIFEXITED(run.status) && WEXITSTATUS(run.status) <= 1) {
                size_t n = strlen(res->detail);
                snprintf(res->detail + n, sizeof(res->detail) - n, ": %s", res->ok ? "present" : "absent");
        } else if (r == 0) {
                r = -EPROTO;
        }
        buf_free(&run.output);
        return r;
}

/* The snapshot is the program's whole stdout, one JSON object. A detail never
 * quotes it: it holds whatever the targets' state holds. */
static int exec_snapshot_parse(const exec_run *run, connector_result *res) {
        json_t *j = run->truncated ? NULL
                                   : json_loadb(run->output.data ? run->output.data : "", run->output.len,
                                                JSON_REJECT_DUPLICATES, NULL);
        if (json_is_object(j)) {
                res->data = j;
                kind_result(res, true, "snapshot program exit status 0: recorded %zu key(s)",
                            json_object_size(j));
                return 0;
        }
        kind_result(res, false, "snapshot program did not print one JSON object on stdout: %s",
                    run->truncated ? "more than max_output"
                    : j            ? "JSON, but not an object"
                                   : "invalid JSON");
        json_decref(j);
        return -EPROTO;
}

/* exit 0 and one JSON object on stdout: that object is the snapshot. Another
 * exit is the op's outcome (not ok); unusable output is an error. */
static int exec_snapshot(void *state, const connector_action *a, connector_result *res) {
        exec_run run = {0};
        int r = exec_invoke(state, EXEC_PROGRAM_SNAPSHOT, a, &run, res);
        if (r == 0 && exec_exited_0(&run))
                r = exec_snapshot_parse(&run, res);
        else if (r == 0)
                r = exec_ended(&run, EXEC_PROGRAM_SNAPSHOT, res);
        buf_free(&run.output);
        return r;
}

/* An op whose program is not configured does not exist for the integration;
 * validate and apply need only program, which is required. */
static bool exec_has_op(const json_t *settings, connector_op op) {
        exec_program prog = op == CONNECTOR_OP_VERIFY     ? EXEC_PROGRAM_VERIFY
                            : op == CONNECTOR_OP_SNAPSHOT ? EXEC_PROGRAM_SNAPSHOT
                            : op == CONNECTOR_OP_ROLLBACK ? EXEC_PROGRAM_ROLLBACK
                                                          : EXEC_PROGRAM_APPLY;
        return json_object_get(settings, exec_programs[prog].key) != NULL;
}

static const setting_spec exec_run_params[] = {
        KIND_PARAMS_PASSED_ON("the action JSON on stdin (\"params\")"),
        {0},
};

static const connector_verb exec_verbs[] = {
        {"run", KIND_TARGETS_ANY, true,
         exec_run_params}, /* when snapshot and rollback programs are configured */
        {0},
};

/* A worker that runs programs, which inherit its confinement: the system's
 * programs and libraries (run), /etc (read: the uid's permissions keep other
 * integrations' files out), the few devices programs open, the configured
 * programs themselves and the writable_paths. No /proc, no capabilities. */
static int exec_confine(void *state, const json_t *settings, sandbox_profile *p) {
        const exec_state *s = state;
        static const sandbox_path system[] = {
                {"/usr", SANDBOX_EXECUTE, false},     {"/bin", SANDBOX_EXECUTE, true},
                {"/sbin", SANDBOX_EXECUTE, true},     {"/lib", SANDBOX_EXECUTE, true},
                {"/lib64", SANDBOX_EXECUTE, true},    {"/etc", SANDBOX_READ, false},
                {"/dev/null", SANDBOX_WRITE, false},  {"/dev/zero", SANDBOX_READ, true},
                {"/dev/urandom", SANDBOX_READ, true}, {"/dev/random", SANDBOX_READ, true},
        };
        p->syscalls = SANDBOX_SYSCALLS_EXEC;
        p->max_files = 256;
        int r = 0;
        for (size_t i = 0; r == 0 && i < sizeof(system) / sizeof(system[0]); i++)
                r = sandbox_profile_add(p, system[i].path, system[i].access, system[i].optional);
        for (size_t i = 0; r == 0 && i < _EXEC_PROGRAM_MAX; i++)
                if (s->path[i])
                        r = sandbox_profile_add(p, s->path[i], SANDBOX_EXECUTE, false);
        const json_t *writable = json_object_get(settings, "writable_paths");
        for (size_t i = 0; r == 0 && i < json_array_size(writable); i++)
                r = sandbox_profile_add(p, json_string_value(json_array_get(writable, i)), SANDBOX_WRITE,
                                        false);
        return r;
}

const connector_kind exec_kind = {
        .name = "exec",
        .verbs = exec_verbs,
        .settings = exec_settings,
        .check_settings = exec_check_settings,
        .open = exec_open,
        .close = exec_close,
        .ops =
                {
                        [CONNECTOR_OP_VALIDATE] = exec_validate,
                        [CONNECTOR_OP_SNAPSHOT] = exec_snapshot,
                        [CONNECTOR_OP_APPLY] = exec_apply,
                        [CONNECTOR_OP_VERIFY] = exec_verify,
                        [CONNECTOR_OP_ROLLBACK] = exec_rollback,
                },
        .has_op = exec_has_op,
        .confine = exec_confine,
};
