/* SPDX-License-Identifier: Apache-2.0 */
/* The api process: its confinement (front_sandbox_profile, applied in a child
 * as front_main applies it) holds against what an attacker who owns it would
 * try; the messages it exchanges with core are decoded strictly. */
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "api/http.h"
#include "front/front.h"

#include "../confine_test.h"

#define API_UID 61997 /* a test uid: no account has it */

static char dir[] = "/tmp/bw-front-XXXXXX";
static char store_file[64];

static int setup(void **state) {
        if (!mkdtemp(dir))
                return -1;
        chmod(dir, 0755);
        snprintf(store_file, sizeof(store_file), "%s/bulwark.db", dir);
        /* World-readable: only the sandbox keeps the api process out of it. */
        int fd = open(store_file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
                return -1;
        close(fd);
        chmod(store_file, 0644);
        return 0;
}

static int teardown(void **state) {
        unlink(store_file);
        rmdir(dir);
        return 0;
}

/* Runs fn in a child confined as the api process; its wait status (100: the
 * confinement failed). */
static int as_api(child_fn fn) {
        sandbox_profile p;
        front_sandbox_profile(API_UID, &p);
        return confined(&p, fn, NULL);
}

static int try_store(void *arg) {
        return open_errno(store_file);
}

static int try_process_vm_readv(void *arg) {
        char b[8];
        struct iovec local = {b, sizeof(b)}, remote = {b, sizeof(b)};
        process_vm_readv(getppid(), &local, 1, &remote, 1, 0);
        return 0;
}

static int try_uid(void *arg) {
        return getuid() == API_UID && geteuid() == API_UID ? 0 : 1;
}

static void test_the_api_process_reaches_nothing(void **state) {
        skip_unless_confinable();
        assert_exit(as_api(try_uid), 0);
        assert_exit(as_api(try_shadow), EACCES);
        assert_exit(as_api(try_store), EACCES);
        assert_exit(as_api(try_passwd), EACCES);
        assert_sigsys(as_api(try_ptrace));
        assert_sigsys(as_api(try_process_vm_readv));
        assert_sigsys(as_api(try_socket));
        assert_sigsys(as_api(try_fork));
        assert_exit(as_api(try_thread), 0); /* its HTTP threads */
}

/* --- messages ---------------------------------------------------------------------- */

/* A REQUEST as wire_request_append encodes it, captured from a socketpair. */
static size_t capture_request(const wire_request *w, char *out, size_t cap) {
        int sv[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        buf msg;
        buf_init(&msg, BW_WIRE_PAYLOAD_MAX + 64);
        assert_int_equal(wire_request_append(&msg, 7, w), 0);
        assert_int_equal(wire_write(sv[0], msg.data, msg.len), 0);
        buf_free(&msg);
        buf payload;
        buf_init(&payload, BW_WIRE_PAYLOAD_MAX);
        wire_header h;
        static wire_reader in;
        wire_reader_init(&in, sv[1]);
        assert_int_equal(wire_read(&in, &h, &payload), 0);
        assert_int_equal(h.type, WIRE_REQUEST);
        assert_int_equal(h.seq, 7);
        assert_true(payload.len <= cap);
        memcpy(out, payload.data, payload.len);
        size_t n = payload.len;
        buf_free(&payload);
        close(sv[0]);
        close(sv[1]);
        return n;
}

static void test_a_request_round_trips_and_every_cut_is_refused(void **state) {
        static const char token[] = "0123456789abcdef0123456789abcdef";
        wire_request w = {.route = 3,
                          .path_id = 42,
                          .credential = token,
                          .credential_len = sizeof(token) - 1,
                          .args = {{"limit", 5, "10", 2}, {"before", 6, "99", 2}},
                          .n_args = 2,
                          .body = "{\"a\":1}",
                          .body_len = 7};
        char p[512];
        size_t n = capture_request(&w, p, sizeof(p));
        wire_request got;
        assert_int_equal(wire_request_decode(p, n, &got), 0);
        assert_int_equal(got.route, 3);
        assert_int_equal(got.path_id, 42);
        assert_int_equal(got.credential_len, sizeof(token) - 1);
        assert_memory_equal(got.credential, token, got.credential_len);
        assert_int_equal(got.n_args, 2);
        assert_memory_equal(got.args[1].key, "before", 6);
        assert_memory_equal(got.args[1].value, "99", 2);
        assert_int_equal(got.body_len, 7);
        assert_memory_equal(got.body, "{\"a\":1}", 7);
        /* Every prefix is short of what its lengths announce; a byte more is left over. */
        for (size_t cut = 0; cut < n; cut++)
                assert_int_equal(wire_request_decode(p, cut, &got), -EBADMSG);
        char longer[513];
        memcpy(longer, p, n);
        longer[n] = 'x';
        assert_int_equal(wire_request_decode(longer, n + 1, &got), -EBADMSG);
        /* A credential longer than any token, too many arguments, a negative id. */
        char bad[512];
        memcpy(bad, p, n);
        uint32_t huge = BW_TOKEN_MAX_LEN + 1;
        memcpy(bad + 4, &huge, 4);
        assert_int_equal(wire_request_decode(bad, n, &got), -EBADMSG);
        memcpy(bad, p, n);
        uint16_t many = BW_WIRE_ARGS_MAX + 1;
        memcpy(bad + 2, &many, 2);
        assert_int_equal(wire_request_decode(bad, n, &got), -EBADMSG);
        memcpy(bad, p, n);
        int64_t negative = -1;
        memcpy(bad + 8, &negative, 8);
        assert_int_equal(wire_request_decode(bad, n, &got), -EBADMSG);
}

static void test_a_reply_and_a_count_are_checked(void **state) {
        char p[16];
        uint16_t status = 202, content = WIRE_CONTENT_JSON;
        uint32_t len = 2;
        memcpy(p, &status, 2);
        memcpy(p + 2, &content, 2);
        memcpy(p + 4, &len, 4);
        memcpy(p + 8, "{}", 2);
        wire_reply r;
        assert_int_equal(wire_reply_decode(p, 10, &r), 0);
        assert_int_equal(r.status, 202);
        assert_int_equal(r.body_len, 2);
        assert_int_equal(wire_reply_decode(p, 9, &r), -EBADMSG);
        status = 42; /* not an HTTP status */
        memcpy(p, &status, 2);
        assert_int_equal(wire_reply_decode(p, 10, &r), -EBADMSG);
        /* COUNT: a kind and a reason that kind has, nothing else. */
        wire_count_kind kind;
        unsigned reason;
        uint32_t v[3] = {WIRE_COUNT_HTTP_REFUSED, REFUSE_FORBIDDEN, 0};
        assert_int_equal(wire_count_decode((char *)v, 8, &kind, &reason), 0);
        assert_int_equal(kind, WIRE_COUNT_HTTP_REFUSED);
        assert_int_equal(reason, REFUSE_FORBIDDEN);
        assert_int_equal(wire_count_decode((char *)v, 4, &kind, &reason), -EBADMSG);
        assert_int_equal(wire_count_decode((char *)v, 12, &kind, &reason), -EBADMSG);
        v[1] = _REFUSE_REASON_MAX;
        assert_int_equal(wire_count_decode((char *)v, 8, &kind, &reason), -EBADMSG);
        v[0] = WIRE_COUNT_ALERT_REJECTED;
        v[1] = _REJECT_REASON_MAX - 1;
        assert_int_equal(wire_count_decode((char *)v, 8, &kind, &reason), 0);
        v[1] = _REJECT_REASON_MAX;
        assert_int_equal(wire_count_decode((char *)v, 8, &kind, &reason), -EBADMSG);
        v[0] = WIRE_COUNT_LOG_SUPPRESSED;
        v[1] = 1;
        assert_int_equal(wire_count_decode((char *)v, 8, &kind, &reason), -EBADMSG);
        v[0] = _WIRE_COUNT_KIND_MAX;
        v[1] = 0;
        assert_int_equal(wire_count_decode((char *)v, 8, &kind, &reason), -EBADMSG);
        buf out;
        buf_init(&out, 64);
        assert_int_equal(wire_count_append(&out, WIRE_COUNT_HTTP_REFUSED, _REFUSE_REASON_MAX), -EINVAL);
        assert_int_equal(out.len, 0);
        assert_int_equal(wire_count_append(&out, WIRE_COUNT_LOG_SUPPRESSED, 0), 0);
        assert_int_equal(out.len, sizeof(wire_header) + 8);
        buf_free(&out);
}

/* What wire_read makes of bytes written on a fresh stream, then closed. */
static int read_stream(const void *bytes, size_t n, buf *payload) {
        int sv[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        assert_int_equal(write(sv[0], bytes, n), (ssize_t)n);
        close(sv[0]);
        static wire_reader in;
        wire_reader_init(&in, sv[1]);
        wire_header got;
        int r = wire_read(&in, &got, payload);
        if (r == -EBADMSG && n > sizeof(wire_header)) /* a stream cut inside: nothing after it */
                assert_int_equal(wire_read(&in, &got, payload), -ECONNRESET);
        close(sv[1]);
        return r;
}

/* A stream that lies about its length, or ends inside a message. */
static void test_a_bad_header_or_a_short_stream_is_malformed(void **state) {
        buf payload;
        buf_init(&payload, BW_WIRE_PAYLOAD_MAX);
        wire_header h = {.magic = WIRE_MAGIC, .type = WIRE_REQUEST, .length = BW_WIRE_PAYLOAD_MAX + 1};
        assert_int_equal(read_stream(&h, sizeof(h), &payload), -EBADMSG);
        h = (wire_header){.magic = 0x12345678, .type = WIRE_REQUEST};
        assert_int_equal(read_stream(&h, sizeof(h), &payload), -EBADMSG);
        h = (wire_header){.magic = WIRE_MAGIC, .type = _WIRE_TYPE_MAX};
        assert_int_equal(read_stream(&h, sizeof(h), &payload), -EBADMSG);
        char cut[sizeof(wire_header) + 2];
        h = (wire_header){.magic = WIRE_MAGIC, .type = WIRE_COUNT, .length = 4};
        memcpy(cut, &h, sizeof(h));
        memcpy(cut + sizeof(h), "ab", 2);
        assert_int_equal(read_stream(cut, sizeof(cut), &payload), -EBADMSG);
        assert_int_equal(read_stream("", 0, &payload), -ECONNRESET);
        buf_free(&payload);
}

static void test_identities_match_by_token_and_cross_in_init(void **state) {
        api_identity ids[2];
        identity_set(&ids[0], "admin", "0123456789abcdef0123456789abcdef", 0xf);
        identity_set(&ids[1], "siem", "fedcba9876543210fedcba9876543210", 1);
        assert_ptr_equal(identity_find(ids, 2, "fedcba9876543210fedcba9876543210", 32), &ids[1]);
        assert_null(identity_find(ids, 2, "fedcba9876543210fedcba987654321", 31));
        assert_null(identity_find(ids, 2, NULL, 0));
        json_t *packed = identities_pack(ids, 2);
        api_identity back[BW_ACTORS_MAX + 1];
        size_t n = 0;
        assert_int_equal(identities_unpack(packed, back, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(back[1].name, "siem");
        assert_memory_equal(back[1].token_hash, ids[1].token_hash, 32);
        /* The INIT must not name the engine, nor carry a short hash. */
        json_object_set_new(json_array_get(packed, 0), "name", json_string("engine"));
        assert_int_equal(identities_unpack(packed, back, &n), -EBADMSG);
        json_object_set_new(json_array_get(packed, 0), "name", json_string("admin"));
        json_object_set_new(json_array_get(packed, 0), "hash", json_string("abcd"));
        assert_int_equal(identities_unpack(packed, back, &n), -EBADMSG);
        json_decref(packed);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_the_api_process_reaches_nothing),
                cmocka_unit_test(test_a_request_round_trips_and_every_cut_is_refused),
                cmocka_unit_test(test_a_reply_and_a_count_are_checked),
                cmocka_unit_test(test_a_bad_header_or_a_short_stream_is_malformed),
                cmocka_unit_test(test_identities_match_by_token_and_cross_in_init),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
