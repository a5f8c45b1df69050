/* SPDX-License-Identifier: Apache-2.0 */
/* Structured JSON-lines logging on stderr (journald picks it up): one object per
 * line with ts, level, component, event and the ids involved. Used in all processes;
 * thread-safe. Never pass secrets in fields. */
#pragma once

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum {
        LOG_LEVEL_DEBUG,
        LOG_LEVEL_INFO,
        LOG_LEVEL_WARN,
        LOG_LEVEL_ERROR,
        _LOG_LEVEL_MAX,
} log_level;

/* Lines below this level are dropped (default INFO). */
void log_set_min_level(log_level level);

/* True if lines at this level are emitted: guards building fields on hot paths. */
bool log_enabled(log_level level);

/* Emits one line. fields (may be NULL) is an object of extra keys such as
 * alert_id, exec_id, action_id; it is consumed (reference stolen). */
void log_json(log_level level, const char *component, const char *event, json_t *fields);

/* Emits one line with a "msg" field. */
void log_msg(log_level level, const char *component, const char *event, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* Adds how a child ended (wait status) to fields: "exit_status", or "signal"
 * and, for SIGSYS, "seccomp" (killed for a system call outside its
 * allow-list). Accepts NULL fields. */
void log_add_exit(json_t *fields, int wait_status);

/* At most per_s lines a second of one kind (each kind its own limit), so that
 * a flood of what causes them (refused requests) does not flood the log. */
typedef struct log_limit {
        pthread_mutex_t lock;
        unsigned per_s;
        int64_t second;   /* the second (monotonic) lines are counted in */
        unsigned lines;   /* written in it */
        uint64_t dropped; /* left out since the last line written */
} log_limit;
#define LOG_LIMIT_INIT(n)                                                                                   \
        { .lock = PTHREAD_MUTEX_INITIALIZER, .per_s = (n) }

/* True when a line may be written now: *ret_dropped is then how many were
 * left out since the last one written, for the line to say. False: leave
 * this one out (it is counted for the next). */
bool log_limit_take(log_limit *l, uint64_t *ret_dropped);

/* Logs an error with errno text and returns r (negative errno), for
 * `return log_errno(r, ...)` in the caller that decides (systemd's manner). */
int log_errno(int r, const char *component, const char *event, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
