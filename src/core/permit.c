/* SPDX-License-Identifier: Apache-2.0 */
/* The permits' seal (see permit.h). Pure apart from the per-process key. */
#include "core/permit.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* Domain separation: bump if the sealed fields change. */
#define PERMIT_TAG "bulwark.permit.v2"

/* The permits' key: drawn once per process, never leaves this file. It lives
 * in sodium_malloc memory — guard pages, locked (never swapped), left out of
 * core dumps — and is read-only once drawn. Without that memory the process
 * cannot seal anything: it stops. */
static unsigned char *permit_key;
static pthread_once_t permit_key_once = PTHREAD_ONCE_INIT;

static void permit_key_init(void) {
        if (sodium_init() < 0 || !(permit_key = sodium_malloc(crypto_generichash_KEYBYTES)))
                abort();
        randombytes_buf(permit_key, crypto_generichash_KEYBYTES);
        sodium_mprotect_readonly(permit_key);
}

/* Length-prefixed fields, so two different subjects never hash alike. */
static void permit_field(crypto_generichash_state *st, const void *data, size_t len) {
        uint64_t n = len;
        crypto_generichash_update(st, (const unsigned char *)&n, sizeof(n));
        crypto_generichash_update(st, data, len);
}

static void permit_str(crypto_generichash_state *st, const char *s) {
        permit_field(st, s, strlen(s));
}

static bool permit_subject_ok(const permit_subject *s) {
        return s && s->integration && s->verb && s->idempotency_key && (unsigned)s->op < _PERMIT_OP_MAX &&
               (unsigned)s->kind < _TARGET_KIND_MAX && (s->n_targets == 0 || s->targets) &&
               (!s->params || json_is_object(s->params));
}

static int permit_seal(const permit_subject *s, unsigned char out[32]) {
        if (!permit_subject_ok(s))
                return -EINVAL;
        /* Canonical: sorted keys, compact. */
        char *params = s->params ? json_dumps(s->params, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        if (s->params && !params)
                return -ENOMEM;
        pthread_once(&permit_key_once, permit_key_init);
        crypto_generichash_state st;
        crypto_generichash_init(&st, permit_key, crypto_generichash_KEYBYTES, 32);
        uint32_t op = (uint32_t)s->op, kind = (uint32_t)s->kind;
        uint64_t n = s->n_targets;
        permit_str(&st, PERMIT_TAG);
        permit_field(&st, &s->action_id, sizeof(s->action_id));
        permit_str(&st, s->integration);
        permit_field(&st, &op, sizeof(op));
        permit_str(&st, s->verb);
        permit_field(&st, &kind, sizeof(kind));
        permit_field(&st, &n, sizeof(n));
        for (size_t i = 0; i < s->n_targets; i++)
                permit_str(&st, s->targets[i]);
        permit_str(&st, params ? params : "{}");
        permit_str(&st, s->idempotency_key);
        crypto_generichash_final(&st, out, 32);
        free(params);
        return 0;
}

int governor_permit_mint(const permit_subject *s, governor_permit *ret) {
        governor_permit p = {.action_id = s ? s->action_id : 0};
        int r = permit_seal(s, p.seal);
        if (r < 0)
                return r;
        *ret = p;
        return 0;
}

bool governor_permit_valid(const governor_permit *permit, const permit_subject *s) {
        unsigned char want[32];
        if (!permit || !s || permit->action_id != s->action_id || permit_seal(s, want) < 0)
                return false;
        return sodium_memcmp(want, permit->seal, sizeof(want)) == 0;
}
