/* SPDX-License-Identifier: Apache-2.0 */
/* Identity and capabilities (libcap-ng). Internal to sandbox/. */
#pragma once

#include "sandbox/sandbox.h"

/* Keeps exactly the capabilities of mask (effective and permitted; none
 * inheritable or ambient; the bounding set cleared when CAP_SETPCAP allows)
 * and, with change_ids, becomes uid/gid with no supplementary groups. Checks
 * the result with the kernel: -EPERM when it is not exactly that. */
int caps_drop(bool change_ids, uid_t uid, gid_t gid, uint64_t mask);

/* The process's effective and permitted capability sets, as masks. */
void caps_read(uint64_t *ret_effective, uint64_t *ret_permitted);

/* "net_admin,setuid" or "none", for the status line. */
void caps_format(uint64_t mask, char *out, size_t len);
