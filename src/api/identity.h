/* SPDX-License-Identifier: Apache-2.0 */
/* Who a bearer token names: the one rule, called by the api process before a
 * request's body is read and by core again for every request it runs (core
 * does not take the api process's word for who asked). Only hashes are kept. */
#pragma once

#include <jansson.h>
#include <stddef.h>

#include "core/limits.h"

typedef struct api_identity {
        char name[BW_NAME_MAX + 1];
        unsigned char token_hash[32]; /* BLAKE2b-256 of the token */
        unsigned roles;               /* bit mask of (1u << actor_role) */
} api_identity;

/* The identity whose token is token[0..len), or NULL. Every identity is
 * compared, in constant time, so the time taken does not say which matched
 * (or how long the token was: hashes are compared). */
const api_identity *identity_find(const api_identity *ids, size_t n, const char *token, size_t len);

/* Fills id from a name, a token and roles; the token is not kept. */
void identity_set(api_identity *id, const char *name, const char *token, unsigned roles);

/* [{"name", "hash" (64 hex digits), "roles"}] for the api process's INIT, and
 * back (strict: names, hashes and roles checked; at most BW_ACTORS_MAX + 1). */
json_t *identities_pack(const api_identity *ids, size_t n);
int identities_unpack(const json_t *v, api_identity *ids, size_t *ret_n);
