/* SPDX-License-Identifier: Apache-2.0 */
/* Identities (see identity.h). */
#include "api/identity.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "config/config.h"
#include "core/actor.h"
#include "util/strutil.h"

const api_identity *identity_find(const api_identity *ids, size_t n, const char *token, size_t len) {
        if (!token || len < BW_TOKEN_MIN_LEN || len > BW_TOKEN_MAX_LEN)
                return NULL;
        unsigned char hash[32];
        crypto_generichash(hash, sizeof(hash), (const unsigned char *)token, len, NULL, 0);
        const api_identity *who = NULL;
        for (size_t i = 0; i < n; i++)
                if (sodium_memcmp(hash, ids[i].token_hash, sizeof(hash)) == 0)
                        who = &ids[i];
        sodium_memzero(hash, sizeof(hash));
        return who;
}

void identity_set(api_identity *id, const char *name, const char *token, unsigned roles) {
        *id = (api_identity){.roles = roles};
        str_copy(id->name, sizeof(id->name), name);
        crypto_generichash(id->token_hash, sizeof(id->token_hash), (const unsigned char *)token,
                           strlen(token), NULL, 0);
}

json_t *identities_pack(const api_identity *ids, size_t n) {
        json_t *a = json_array();
        for (size_t i = 0; a && i < n; i++) {
                char hex[65];
                sodium_bin2hex(hex, sizeof(hex), ids[i].token_hash, sizeof(ids[i].token_hash));
                if (json_array_append_new(a, json_pack("{ss ss si}", "name", ids[i].name, "hash", hex,
                                                       "roles", (int)ids[i].roles)) < 0) {
                        json_decref(a);
                        return NULL;
                }
        }
        return a;
}

int identities_unpack(const json_t *v, api_identity *ids, size_t *ret_n) {
        size_t n = json_array_size(v);
        if (!json_is_array(v) || n == 0 || n > BW_ACTORS_MAX + 1)
                return -EBADMSG;
        for (size_t i = 0; i < n; i++) {
                const char *name, *hex;
                int roles;
                size_t bin_len = 0;
                if (json_unpack_ex(json_array_get(v, i), NULL, JSON_STRICT, "{s:s s:s s:i}", "name", &name,
                                   "hash", &hex, "roles", &roles) < 0 ||
                    strlen(name) == 0 || strlen(name) > BW_NAME_MAX || actor_name_reserved(name) ||
                    strlen(hex) != 64 || roles < 0 || roles >= (1 << _ROLE_MAX))
                        return -EBADMSG;
                api_identity *id = &ids[i];
                *id = (api_identity){.roles = (unsigned)roles};
                str_copy(id->name, sizeof(id->name), name);
                if (sodium_hex2bin(id->token_hash, sizeof(id->token_hash), hex, 64, NULL, &bin_len, NULL) !=
                            0 ||
                    bin_len != sizeof(id->token_hash))
                        return -EBADMSG;
        }
        *ret_n = n;
        return 0;
}
