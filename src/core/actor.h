/* SPDX-License-Identifier: Apache-2.0 */
/* Actor names: who the records say did something. The names Bulwark itself acts
 * under are reserved here, in one place, so no configured actor (an API token's
 * owner) or playbook author can pass for the engine in approval and audit
 * records. Pure; names come from configuration and playbooks (untrusted). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* The actor the engine records for what it decides itself (an approval that
 * timed out is rejected by "bulwark"). */
#define ACTOR_ENGINE "bulwark"

/* The reserved names, NULL-terminated: the engine's own and those of its parts
 * whose decisions could be recorded under their name. */
extern const char *const actor_reserved_names[];

/* Bytes an actor name may hold besides [A-Za-z0-9]; it is 1..BW_NAME_MAX long. */
#define ACTOR_NAME_EXTRA "._-"

/* True if name is reserved, compared case-insensitively ("Bulwark" and
 * "SYSTEM" read as the engine too). */
bool actor_name_reserved(const char *name);

/* Writes the reserved names, joined by ", ", into out (for error messages). */
void actor_reserved_text(char *out, size_t outlen);
