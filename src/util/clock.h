/* SPDX-License-Identifier: Apache-2.0 */
/* Clock readings in milliseconds and microseconds. Only the outer layers read
 * clocks; core/ takes time as a parameter. */
#pragma once

#include <stdint.h>

int64_t clock_wall_ms(void);   /* CLOCK_REALTIME, ms since the epoch */
int64_t clock_mono_us(void);   /* CLOCK_MONOTONIC, microseconds */
int64_t clock_mono_ms(void);   /* CLOCK_MONOTONIC, milliseconds */
