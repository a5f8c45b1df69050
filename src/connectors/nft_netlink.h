/* SPDX-License-Identifier: Apache-2.0 */
/* A small nf_tables netlink client for the nft connector: looks one element up
 * in a set and checks a set's kind by asking the kernel directly. Runs in the
 * nft integration's worker; it reads only the kernel's replies, bounds-checked. */
#pragma once

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <stddef.h>
#include <stdint.h>

/* One NETLINK_NETFILTER socket bound to one table, with its sequence numbers. */
typedef struct nft_netlink nft_netlink;

/* An element found in a set, to the millisecond as the kernel keeps it. */
typedef struct nft_netlink_elem {
        uint64_t timeout_ms; /* its own timeout; 0 = none (permanent, or timed by the set's default) */
        uint64_t expires_ms; /* the time it has left; 0 = none */
} nft_netlink_elem;

/* Opens a client for table in family nfproto (NFPROTO_INET, NFPROTO_IPV4 or
 * NFPROTO_IPV6). The caller checks table against its charset: it goes into
 * requests as it is. A reply lost by the kernel fails a call after
 * BW_CONNECTOR_TIMEOUT_MS_MAX. Returns 0 and *ret (free with
 * nft_netlink_close), -EINVAL (table longer than BW_NAME_MAX), -ENOMEM or the
 * -errno of socket(2) or setsockopt(2). */
int nft_netlink_open(uint8_t nfproto, const char *table, nft_netlink **ret);

/* Closes the socket and frees. Accepts NULL. */
void nft_netlink_close(nft_netlink *nl);

/* Looks the key[0..key_len) (an address in network byte order) up in set, a
 * set of the client's table whose name the caller checked against its charset.
 * One request asks for the set and the element, so a missing table or set is
 * an error and not an absent element. Returns 1 (present, *ret filled), 0
 * (absent, *ret untouched), or a negative errno with why: the set's refusal
 * (e.g. -ENOENT: missing table or set), the lookup's, or the exchange's own
 * (-ETIMEDOUT, -EMSGSIZE, ...). */
int nft_netlink_lookup(nft_netlink *nl, const char *set, const void *key, size_t key_len,
                       nft_netlink_elem *ret, char *why, size_t whylen);

/* Checks that set exists in the client's table, that its flags, within mask
 * (NFT_SET_* bits), are exactly flags, and that its keys are key_len bytes.
 * Returns 0; -EMEDIUMTYPE when it exists but differs (why untouched: the
 * caller knows what it asked for); or -ENOENT (why "does not exist") or
 * another negative errno, with why. */
int nft_netlink_check_set(nft_netlink *nl, const char *set, uint32_t flags, uint32_t mask, uint32_t key_len,
                          char *why, size_t whylen);
