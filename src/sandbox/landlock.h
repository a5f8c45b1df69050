/* SPDX-License-Identifier: Apache-2.0 */
/* Landlock through its system calls (glibc has no wrappers): the ABI probe and
 * one ruleset. Internal to sandbox/. */
#pragma once

#include "sandbox/sandbox.h"

int landlock_abi(void);

/* Builds the ruleset fd for p's paths under the kernel's abi (>= 1). */
int landlock_build(const sandbox_profile *p, int abi, int *ret_fd);

/* Enforces ruleset fd on the calling thread (no_new_privs must be set) and closes it. */
int landlock_enforce(int fd);
