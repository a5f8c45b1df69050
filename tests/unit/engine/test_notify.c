/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the engine's notifications (engine/notify.c) on a real store:
 * they are queued in the outbox inside the caller's write job, a note the store
 * refuses never fails that job, and beyond BW_OUTBOX_BACKLOG_MAX the oldest are
 * dropped and counted. Trusted test input. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "core/limits.h"
#include "engine/notify.h"

static const char config_text[] = "api:\n"
                                  "  token_file: /nonexistent/token\n"
                                  "playbook_dir: /nonexistent\n"
                                  "integrations:\n"
                                  "  - name: chat\n"
                                  "    kind: notify\n"
                                  "    settings:\n"
                                  "      url: https://chat.example/hook\n";

typedef struct fixture {
        char dir[64], path[128];
        bw_config *cfg;
        bw_metrics metrics;
        engine_deps deps;
} fixture;

static int setup(void **state) {
        fixture *f = calloc(1, sizeof(*f));
        assert_non_null(f);
        snprintf(f->dir, sizeof(f->dir), "/tmp/bw-notify-test-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(f->path, sizeof(f->path), "%s/bulwark.db", f->dir);
        bw_error err;
        assert_int_equal(config_parse(config_text, strlen(config_text), "/tmp/bulwark.yaml", &f->cfg, &err),
                         0);
        metrics_init(&f->metrics);
        store_options o = {.path = f->path, .queue_capacity = 10};
        f->deps = (engine_deps){.config = f->cfg, .metrics = &f->metrics};
        assert_int_equal(store_open(&o, &f->deps.store), 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;
        store_close(f->deps.store);
        config_free(f->cfg);
        const char *suffixes[] = {"", "-wal", "-shm", ".lock"};
        for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
                char p[160];
                snprintf(p, sizeof(p), "%s%s", f->path, suffixes[i]);
                unlink(p);
        }
        assert_int_equal(rmdir(f->dir), 0);
        free(f);
        return 0;
}

/* A write job queueing n notes for integration, numbered from first; key NULL:
 * derived from the note's text. */
typedef struct notes_job {
        const engine_deps *deps;
        const char *integration, *key;
        unsigned first, n, dropped;
} notes_job;

static int job_notes(store_tx *tx, void *userdata) {
        notes_job *j = userdata;
        for (unsigned i = 0; i < j->n; i++) {
                json_t *params = json_pack("{ss si}", "event", "test.note", "n", (int)(j->first + i));
                char text[32];
                snprintf(text, sizeof(text), "note %u", j->first + i);
                char *const targets[] = {(char *)"192.0.2.1"};
                int r = j->key ? engine_notify(tx, j->deps, j->integration, params, TARGET_IP, targets, 1,
                                               j->key, 7)
                               : engine_notify_text(tx, j->deps, j->integration, params, text);
                json_decref(params);
                if (r < 0)
                        return r;
                j->dropped += (unsigned)r;
        }
        return 0;
}

static unsigned queue(fixture *f, const char *integration, const char *key, unsigned first, unsigned n) {
        notes_job j = {.deps = &f->deps, .integration = integration, .key = key, .first = first, .n = n};
        assert_int_equal(store_write(f->deps.store, job_notes, &j), 0);
        return j.dropped;
}

static uint64_t count(fixture *f, outbox_state state) {
        uint64_t counts[_OUTBOX_STATE_MAX];
        assert_int_equal(store_outbox_counts(f->deps.store, counts), 0);
        return counts[state];
}

static void test_notes_are_queued_in_the_job(void **state) {
        fixture *f = *state;
        assert_int_equal(queue(f, "chat", NULL, 1, 2), 0);
        assert_int_equal(count(f, OUTBOX_PENDING), 2);
        store_outbox_row rows[4];
        assert_int_equal(store_outbox_due(f->deps.store, INT64_MAX, 4, rows), 2);
        assert_string_equal(rows[0].integration, "chat");
        assert_string_equal(rows[0].target_kind, "none");
        assert_string_equal(rows[0].targets_json, "[]");
        assert_string_equal(rows[0].params_json, "{\"event\":\"test.note\",\"n\":1}");
        assert_int_equal(strlen(rows[0].idempotency_key), 64);
        store_outbox_rows_clear(rows, 2);
        /* No integration configured, or an unknown one: nothing is queued. */
        assert_int_equal(queue(f, "", NULL, 3, 1), 0);
        assert_int_equal(queue(f, "nobody", NULL, 3, 1), 0);
        /* The same text is the same notification while it waits. */
        assert_int_equal(queue(f, "chat", NULL, 1, 1), 0);
        assert_int_equal(count(f, OUTBOX_PENDING), 2);
        /* One with its action's targets and key. */
        assert_int_equal(queue(f, "chat", "0123456789abcdef", 9, 1), 0);
        assert_int_equal(store_outbox_due(f->deps.store, INT64_MAX, 4, rows), 3);
        assert_string_equal(rows[2].target_kind, "ip");
        assert_string_equal(rows[2].targets_json, "[\"192.0.2.1\"]");
        assert_string_equal(rows[2].idempotency_key, "0123456789abcdef");
        assert_int_equal(rows[2].action_id, 7);
        store_outbox_rows_clear(rows, 3);
}

/* A note the store refuses (a key it cannot hold) is left out; the job and its
 * other notes commit. */
static void test_a_refused_note_never_fails_the_job(void **state) {
        fixture *f = *state;
        assert_int_equal(queue(f, "chat", "", 1, 1), 0);
        assert_int_equal(count(f, OUTBOX_PENDING), 0);
        assert_int_equal(queue(f, "chat", NULL, 2, 1), 0);
        assert_int_equal(count(f, OUTBOX_PENDING), 1);
}

static void test_beyond_the_backlog_the_oldest_are_dropped_and_counted(void **state) {
        fixture *f = *state;
        assert_int_equal(queue(f, "chat", NULL, 0, 2), 0);
        assert_int_equal(queue(f, "chat", NULL, 2, BW_OUTBOX_BACKLOG_MAX), 2);
        assert_int_equal(count(f, OUTBOX_PENDING), BW_OUTBOX_BACKLOG_MAX);
        assert_int_equal(count(f, OUTBOX_DROPPED), 2);
        store_outbox_row row;
        assert_int_equal(store_outbox_due(f->deps.store, INT64_MAX, 1, &row), 1);
        assert_string_equal(row.params_json, "{\"event\":\"test.note\",\"n\":2}");
        store_outbox_rows_clear(&row, 1);
        engine_notify_dropped(&f->deps, 2);
        engine_notify_dropped(&f->deps, 0);
        assert_int_equal(f->metrics.notifications[NOTIFY_DROPPED], 2);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_notes_are_queued_in_the_job, setup, teardown),
                cmocka_unit_test_setup_teardown(test_a_refused_note_never_fails_the_job, setup, teardown),
                cmocka_unit_test_setup_teardown(test_beyond_the_backlog_the_oldest_are_dropped_and_counted,
                                                setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
