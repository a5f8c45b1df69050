/* SPDX-License-Identifier: Apache-2.0 */
/* `bulwark alert send`: how a file of alerts becomes one request (exposed for
 * the unit tests). Runs in the CLI; the file is untrusted. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

typedef struct cli_alert_payload {
        bool batch; /* false: POST /v1/alerts; true: POST /v1/alerts/batch */
        char *body; /* owned; a batch holds only the non-blank lines */
        size_t len;
        unsigned *lines; /* batch: file line number of each body line (1-based) */
        size_t n_lines;
} cli_alert_payload;

/* Decides between one alert and a batch: the content is one alert if it is a
 * single JSON value (pretty-printed or not), or fewer than two non-blank lines,
 * or its first non-blank line is not a JSON object of its own (a broken
 * pretty-printed alert is then reported once, by the server). Otherwise every
 * non-blank line is one alert (NDJSON), at most BW_BATCH_MAX_ALERTS.
 * Returns 0 and *ret (clear with cli_alert_payload_clear), -ENODATA for no
 * content, -E2BIG for too many lines (with *err), or -ENOMEM. */
int cli_alert_prepare(const char *data, size_t len, cli_alert_payload *ret, bw_error *err);

void cli_alert_payload_clear(cli_alert_payload *p);
