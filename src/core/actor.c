/* SPDX-License-Identifier: Apache-2.0 */
/* The reserved actor names (see actor.h). Pure. */
#include "core/actor.h"

#include <stdio.h>

const char *const actor_reserved_names[] = {
        ACTOR_ENGINE, "system", "engine", "sweeper", "governor", "expiry", NULL,
};

/* ASCII only, whatever the locale (names are [A-Za-z0-9._-]). */
static char ascii_lower(char c) {
        return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool ascii_equal_nocase(const char *a, const char *b) {
        for (; *a && *b; a++, b++)
                if (ascii_lower(*a) != ascii_lower(*b))
                        return false;
        return *a == *b;
}

bool actor_name_reserved(const char *name) {
        for (size_t i = 0; name && actor_reserved_names[i]; i++)
                if (ascii_equal_nocase(name, actor_reserved_names[i]))
                        return true;
        return false;
}

void actor_reserved_text(char *out, size_t outlen) {
        size_t used = 0;
        if (outlen)
                out[0] = '\0';
        for (size_t i = 0; actor_reserved_names[i] && used < outlen; i++) {
                int n = snprintf(out + used, outlen - used, "%s%s", i ? ", " : "", actor_reserved_names[i]);
                used = n < 0 ? outlen : used + (size_t)n;
        }
}
