/* SPDX-License-Identifier: Apache-2.0 */
/* JSON-lines logger (see log.h). */
#include "util/log.h"

#include "util/clock.h"

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

static log_level min_level = LOG_LEVEL_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[_LOG_LEVEL_MAX] = {
        [LOG_LEVEL_DEBUG] = "debug",
        [LOG_LEVEL_INFO] = "info",
        [LOG_LEVEL_WARN] = "warn",
        [LOG_LEVEL_ERROR] = "error",
};

void log_set_min_level(log_level level) {
        min_level = level;
}

bool log_enabled(log_level level) {
        return level >= min_level && level < _LOG_LEVEL_MAX;
}

bool log_limit_take(log_limit *l, uint64_t *ret_dropped) {
        int64_t second = clock_mono_ms() / 1000;
        pthread_mutex_lock(&l->lock);
        if (second != l->second) {
                l->second = second;
                l->lines = 0;
        }
        bool take = l->lines < l->per_s;
        if (take) {
                l->lines++;
                *ret_dropped = l->dropped;
                l->dropped = 0;
        } else {
                l->dropped++;
        }
        pthread_mutex_unlock(&l->lock);
        return take;
}

void log_json(log_level level, const char *component, const char *event, json_t *fields) {
        if (!log_enabled(level)) {
                json_decref(fields);
                return;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        char stamp[96];
        snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);

        json_t *line = json_pack("{ss ss ss ss si}", "ts", stamp, "level", level_names[level], "component",
                                 component, "event", event, "pid", (int)getpid());
        if (!line) {
                json_decref(fields);
                return;
        }
        if (json_is_object(fields))
                json_object_update_missing(line, fields);
        json_decref(fields);
        char *s = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
        json_decref(line);
        if (!s)
                return;
        pthread_mutex_lock(&log_lock);
        fputs(s, stderr);
        fputc('\n', stderr);
        fflush(stderr);
        pthread_mutex_unlock(&log_lock);
        free(s);
}

static void log_vmsg(log_level level, const char *component, const char *event, int r, const char *fmt,
                     va_list ap) __attribute__((format(printf, 5, 0)));

static void log_vmsg(log_level level, const char *component, const char *event, int r, const char *fmt,
                     va_list ap) {
        char msg[1024];
        vsnprintf(msg, sizeof(msg), fmt, ap);
        json_t *f = json_pack("{ss}", "msg", msg);
        if (f && r < 0)
                json_object_set_new(f, "error", json_string(strerror(-r)));
        log_json(level, component, event, f);
}

void log_msg(log_level level, const char *component, const char *event, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        log_vmsg(level, component, event, 0, fmt, ap);
        va_end(ap);
}

int log_errno(int r, const char *component, const char *event, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        log_vmsg(LOG_LEVEL_ERROR, component, event, r, fmt, ap);
        va_end(ap);
        return r;
}

void log_add_exit(json_t *fields, int wait_status) {
        if (!fields)
                return;
        if (WIFEXITED(wait_status))
                json_object_set_new(fields, "exit_status", json_integer(WEXITSTATUS(wait_status)));
        if (!WIFSIGNALED(wait_status))
                return;
        json_object_set_new(fields, "signal", json_integer(WTERMSIG(wait_status)));
        if (WTERMSIG(wait_status) == SIGSYS)
                json_object_set_new(fields, "seccomp",
                                    json_string("killed for a system call outside its allow-list"));
}
