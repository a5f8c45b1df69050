/* SPDX-License-Identifier: Apache-2.0 */
/* core's confinement (docs/security.md): what the process that holds the
 * store, the queue, the engine, the governor and the permit key keeps once it
 * has read the actors' tokens and before it opens the store or reads a byte
 * from a peer. */
#pragma once

#include <stddef.h>

#include "sandbox/sandbox.h"

/* Root's uid kept (the store's files are root's, and so are the directories
 * above it) but no capability at all, not even in the bounding set; the file
 * system beyond the directory of store_path (copied into dir, dir_len bytes)
 * gone; no TCP; SANDBOX_SYSCALLS_CORE: no socket(), no socketpair(), no
 * kill(), no exec, no fork, no ptrace. 0, or -ENAMETOOLONG / -EINVAL for a
 * store_path that is not absolute. */
int core_sandbox_profile(const char *store_path, char *dir, size_t dir_len, sandbox_profile *ret);
