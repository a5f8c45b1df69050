/* SPDX-License-Identifier: Apache-2.0 */
/* The `governor:` section of bulwark.yaml: lowered blast-radius ceilings and the
 * protected assets. Internal to config/. */
#pragma once

#include "config/config.h"
#include "core/governor.h"
#include "core/yamldoc.h"

/* Fills cfg->governor (already initialised with the compiled ceilings) and
 * cfg->governor_notify from node (may be NULL: the section is optional), after
 * the integrations were parsed. A ceiling above the compiled one, an unknown
 * action kind, an unparseable address, a pattern outside its character set or a
 * notify integration that is not of kind notify is an error at its line:col.
 * Returns 0 or -EINVAL with *err, or -ENOMEM. */
int governor_config_parse(yamldoc *d, yaml_node_t *node, bw_config *cfg, bw_error *err);
