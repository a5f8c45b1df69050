/* SPDX-License-Identifier: Apache-2.0 */
/* The `approvals:` section of bulwark.yaml: timeout, number of approvers, the
 * webhook, added high-risk categories and the classification of action kinds.
 * Internal to config/. */
#pragma once

#include "config/config.h"
#include "core/yamldoc.h"

/* Fills cfg->governor.approvals (already holding the built-in categories) and
 * cfg->approvals_notify from node (may be NULL: the section is optional), after
 * the integrations were parsed. Returns 0 or -EINVAL with *err (file:line:col),
 * or -ENOMEM. */
int approvals_config_parse(yamldoc *d, yaml_node_t *node, bw_config *cfg, bw_error *err);
