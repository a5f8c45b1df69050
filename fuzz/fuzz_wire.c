/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness of the api <-> core messages (api/wire.c) and the
 * identities of INIT (api/identity.c); inputs are hostile — core decodes what
 * a taken-over api process sends, and the reverse. The first byte picks the
 * decoder; the rest is the payload (or, for the stream, the bytes on the
 * socket). Invariants: a decode returns 0 or -EBADMSG; what it accepts lies
 * within the input and within the limits, and encodes back to the same bytes;
 * a stream yields whole messages or -EBADMSG/-ECONNRESET, never a partial one. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/identity.h"
#include "api/wire.h"
#include "core/metrics.h"
#include "fuzz_common.h"

static bool within(const char *p, size_t n, const char *lo, size_t len) {
        return n == 0 || (p >= lo && p + n <= lo + len);
}

static void fuzz_request(const char *p, size_t len) {
        wire_request w;
        int r = wire_request_decode(p, len, &w);
        fuzz_check(r == 0 || r == -EBADMSG, "wire_request_decode returns 0 or -EBADMSG");
        if (r < 0)
                return;
        fuzz_check(w.n_args <= BW_WIRE_ARGS_MAX && w.credential_len <= BW_TOKEN_MAX_LEN && w.path_id >= 0,
                   "a decoded request is within its limits");
        fuzz_check(within(w.credential, w.credential_len, p, len) && within(w.body, w.body_len, p, len),
                   "a decoded request's credential and body lie in the payload");
        for (size_t i = 0; i < w.n_args; i++)
                fuzz_check(w.args[i].key_len >= 1 && w.args[i].key_len <= BW_WIRE_ARG_KEY_MAX &&
                                   w.args[i].value_len <= BW_WIRE_ARG_VALUE_MAX &&
                                   within(w.args[i].key, w.args[i].key_len, p, len) &&
                                   within(w.args[i].value, w.args[i].value_len, p, len),
                           "a decoded argument is within its limits and in the payload");
}

static void fuzz_reply(const char *p, size_t len) {
        wire_reply w;
        int r = wire_reply_decode(p, len, &w);
        fuzz_check(r == 0 || r == -EBADMSG, "wire_reply_decode returns 0 or -EBADMSG");
        if (r < 0)
                return;
        fuzz_check(w.status >= 100 && w.status <= 599 && w.content < _WIRE_CONTENT_MAX,
                   "a decoded reply has an HTTP status and a known content type");
        buf out;
        buf_init(&out, 2u * BW_WIRE_PAYLOAD_MAX);
        fuzz_check(wire_reply_append(&out, 9, &w) == 0 && out.len == sizeof(wire_header) + len &&
                           memcmp(out.data + sizeof(wire_header), p, len) == 0,
                   "a decoded reply encodes back to the same bytes");
        buf_free(&out);
}

static void fuzz_count(const char *p, size_t len) {
        wire_count_kind kind;
        unsigned reason;
        int r = wire_count_decode(p, len, &kind, &reason);
        fuzz_check(r == 0 || r == -EBADMSG, "wire_count_decode returns 0 or -EBADMSG");
        fuzz_check(r < 0 || (kind == WIRE_COUNT_ALERT_REJECTED && reason < _REJECT_REASON_MAX) ||
                           (kind == WIRE_COUNT_HTTP_REFUSED && reason < _REFUSE_REASON_MAX) ||
                           (kind == WIRE_COUNT_LOG_SUPPRESSED && reason == 0),
                   "a decoded count names a known kind and one of its reasons");
        if (r == 0) {
                buf out;
                buf_init(&out, 64);
                fuzz_check(wire_count_append(&out, kind, reason) == 0 &&
                                   out.len == sizeof(wire_header) + len &&
                                   memcmp(out.data + sizeof(wire_header), p, len) == 0,
                           "a decoded count encodes back to the same bytes");
                buf_free(&out);
        }
}

static void fuzz_identities(const char *p, size_t len) {
        json_t *v = NULL;
        if (wire_json_decode(p, len, &v) < 0)
                return;
        api_identity ids[BW_ACTORS_MAX + 1];
        size_t n = 0;
        int r = identities_unpack(json_object_get(v, "identities"), ids, &n);
        fuzz_check(r == 0 || r == -EBADMSG, "identities_unpack returns 0 or -EBADMSG");
        if (r == 0) {
                fuzz_check(n >= 1 && n <= BW_ACTORS_MAX + 1,
                           "a decoded INIT has 1..BW_ACTORS_MAX+1 identities");
                json_t *again = identities_pack(ids, n);
                api_identity ids2[BW_ACTORS_MAX + 1];
                size_t n2 = 0;
                fuzz_check(again && identities_unpack(again, ids2, &n2) == 0 && n2 == n &&
                                   memcmp(ids, ids2, n * sizeof(*ids)) == 0,
                           "decoded identities pack and decode to the same");
                json_decref(again);
        }
        json_decref(v);
}

/* The bytes as a stream on a socket: whole messages, then an end. */
static void fuzz_stream(const char *p, size_t len) {
        int sv[2];
        if (len > 60000 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return;
        ssize_t w = write(sv[0], p, len);
        close(sv[0]);
        if (w != (ssize_t)len) {
                close(sv[1]);
                return;
        }
        static wire_reader in;
        wire_reader_init(&in, sv[1]);
        buf payload;
        buf_init(&payload, BW_WIRE_PAYLOAD_MAX);
        size_t consumed = 0;
        int r;
        wire_header h;
        while ((r = wire_read(&in, &h, &payload)) == 0) {
                fuzz_check(h.magic == WIRE_MAGIC && h.type < _WIRE_TYPE_MAX && payload.len == h.length,
                           "a message read from the stream is whole and typed");
                consumed += sizeof(h) + h.length;
                fuzz_check(consumed <= len, "the reader never invents bytes");
        }
        fuzz_check(r == -EBADMSG || r == -ECONNRESET, "a stream ends in -EBADMSG or -ECONNRESET");
        fuzz_check(r != -ECONNRESET || consumed == len, "a clean end follows the last whole message");
        buf_free(&payload);
        close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 1)
                return 0;
        const char *p = (const char *)data + 1;
        size_t len = size - 1;
        switch (data[0] % 5) {
        case 0:
                fuzz_request(p, len);
                break;
        case 1:
                fuzz_reply(p, len);
                break;
        case 2:
                fuzz_count(p, len);
                break;
        case 3:
                fuzz_identities(p, len);
                break;
        default:
                fuzz_stream(p, len);
                break;
        }
        return 0;
}
