/* SPDX-License-Identifier: Apache-2.0 */
/* The seccomp allow-lists (syscalls.c), and loading one. Internal to sandbox/. */
#pragma once

#include "sandbox/sandbox.h"

/* Loads the allow-list of role: every other system call kills the process
 * (SECCOMP_RET_KILL_PROCESS). no_new_privs must be set. */
int syscalls_load(sandbox_syscalls role);
