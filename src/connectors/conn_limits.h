/* SPDX-License-Identifier: Apache-2.0 */
/* Limits of the connector layer that core/limits.h does not define yet (to be
 * moved there); each with its reason. Used by the daemon and the workers. */
#pragma once

#include "core/limits.h"

/* nft element timeouts: 30 days. A longer ban belongs in a managed list, not in
 * a timed set element an alert created. */
#define BW_NFT_TIMEOUT_S_MAX 2592000

/* The widest prefix the nft connector blocks. The blast-radius ceilings count a
 * prefix as one target, so a wider one would cover networks far beyond one
 * attacker behind a single "IP". */
#define BW_NFT_PREFIX_MIN_V4 16u
#define BW_NFT_PREFIX_MIN_V6 32u

/* A URL in integration settings: an API base is short; longer is a mistake or an
 * attempt to smuggle data into logs. */
#define BW_URL_MAX 2048u

/* Extra HTTP headers per integration: a few API keys or tenant ids. */
#define BW_HTTP_HEADERS_MAX 32u
/* A header name: real ones are short; a long one is a mistake. */
#define BW_HTTP_HEADER_NAME_MAX 64u

/* One item of a string-list setting, as core/settings.h documents it (the
 * configuration loader enforces the same bound). */
#define BW_SETTING_LIST_ITEM_MAX 1024u

/* One target string: the longest normalised targets (account names, label
 * values) are 256 bytes. */
#define BW_TARGET_MAX 256u

/* Pool stop: a worker gets this long to exit after EOF, and as long again after
 * SIGTERM, before SIGKILL. */
#define BW_WORKER_STOP_GRACE_MS 2000u

/* The window of BW_WORKER_RESTARTS_PER_MIN. */
#define BW_WORKER_RESTART_WINDOW_MS 60000
