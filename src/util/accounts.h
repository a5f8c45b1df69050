/* SPDX-License-Identifier: Apache-2.0 */
/* Whether a host account or group already has an id: a process of Bulwark's
 * that ran as it would share it (docs/security.md). */
#pragma once

#include <stddef.h>

/* "account" or "group" (with its name in name[0..len)) when one has id, else
 * NULL. */
const char *host_id_owner(unsigned id, char *name, size_t len);
