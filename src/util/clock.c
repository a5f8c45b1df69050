/* SPDX-License-Identifier: Apache-2.0 */
/* Clock readings (see clock.h). */
#include "util/clock.h"

#include <time.h>

int64_t clock_wall_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_mono_us(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t clock_mono_ms(void) {
        return clock_mono_us() / 1000;
}

int64_t clock_backoff_next(int64_t last_ms, int64_t min_ms, int64_t max_ms) {
        if (last_ms <= 0)
                return min_ms;
        return last_ms >= max_ms / 2 ? max_ms : 2 * last_ms;
}
