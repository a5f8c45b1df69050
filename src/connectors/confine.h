/* SPDX-License-Identifier: Apache-2.0 */
/* Confinement of a connector worker from its kind's declaration (see confine.c). */
#pragma once

#include <jansson.h>

#include "connectors/connector.h"
#include "sandbox/sandbox.h"

/* Confines the calling worker of integration name (kind k, opened: state) as
 * uid (also its gid; never 0). 0 and *ret, or a negative errno: the worker
 * must not serve. */
int connector_confine(const connector_kind *k, void *state, const json_t *settings, const char *name,
                      unsigned uid, sandbox_status *ret);
