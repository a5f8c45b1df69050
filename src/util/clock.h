/* SPDX-License-Identifier: Apache-2.0 */
/* Clock readings in milliseconds and microseconds. Only the outer layers read
 * clocks; core/ takes time as a parameter. */
#pragma once

#include <stdint.h>

int64_t clock_wall_ms(void);   /* CLOCK_REALTIME, ms since the epoch */
int64_t clock_mono_us(void);   /* CLOCK_MONOTONIC, microseconds */
int64_t clock_mono_ms(void);   /* CLOCK_MONOTONIC, milliseconds */

/* The wait after one of last_ms (0: none yet): min_ms first, then doubled, at
 * most max_ms. For retries that back off (workers, notifications). */
int64_t clock_backoff_next(int64_t last_ms, int64_t min_ms, int64_t max_ms);
