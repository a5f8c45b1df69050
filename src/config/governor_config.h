/* SPDX-License-Identifier: Apache-2.0 */
/* The `governor:` section of bulwark.yaml: lowered blast-radius ceilings and the
 * protected assets. Internal to config/. */
#pragma once

#include "core/governor.h"
#include "core/yamldoc.h"

/* Fills *policy (already initialised with the compiled ceilings) from node (may
 * be NULL: the section is optional). A ceiling above the compiled one, an
 * unparseable address or a pattern outside its character set is an error at its
 * line:col. Returns 0 or -EINVAL with *err, or -ENOMEM. */
int governor_config_parse(yamldoc *d, yaml_node_t *node, governor_policy *policy, bw_error *err);
