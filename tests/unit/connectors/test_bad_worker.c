/* SPDX-License-Identifier: Apache-2.0 */
/* A misbehaving worker for the pool tests: it completes INIT, then answers each
 * request with the fault its integration's name asks for. Test code only. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "connectors/ipc.h"
#include "sandbox/sandbox.h"
#include "util/strutil.h"

/* "seccomp": confined to the nft worker's allow-list, it opens a TCP socket,
 * which that list does not allow: the kernel kills it with SIGSYS. */
static void seccomp_violation(void) {
        sandbox_profile p = {.role = "bad-worker", .syscalls = SANDBOX_SYSCALLS_NFT};
        sandbox_status st;
        if (sandbox_apply(&p, &st) == 0)
                socket(AF_INET, SOCK_STREAM, 0);
}

static int bad_reply(int fd, const char *fault, uint32_t seq) {
        if (strcmp(fault, "bad-magic") == 0) {
                ipc_header h = {.magic = 0x12345678, .type = IPC_REPLY, .seq = seq, .length = 2};
                char pkt[sizeof(h) + 2];
                memcpy(pkt, &h, sizeof(h));
                memcpy(pkt + sizeof(h), "{}", 2);
                return send(fd, pkt, sizeof(pkt), 0) < 0 ? -errno : 0;
        }
        json_t *body;
        if (strcmp(fault, "bad-shape") == 0)
                body = json_pack("{si sb ss ss}", "rc", 0, "ok", 1, "detail", "", "smuggled", "x");
        else if (strcmp(fault, "bad-rc") == 0)
                body = json_pack("{si sb ss}", "rc", 99999, "ok", 1, "detail", "");
        else
                body = json_pack("{si sb ss}", "rc", 0, "ok", 1, "detail", "");
        /* bad-seq answers another request than the one asked. */
        int r = ipc_send(fd, IPC_REPLY, strcmp(fault, "bad-seq") == 0 ? seq + 1 : seq, body);
        json_decref(body);
        return r;
}

int main(int argc, char **argv) {
        int fd = 3;
        ipc_msg_type type;
        uint32_t seq;
        json_t *init;
        if (argc != 2 || ipc_recv(fd, &type, &seq, &init) < 0 || type != IPC_INIT)
                return 2;
        char fault[64];
        str_copy(fault, sizeof(fault), json_string_value(json_object_get(init, "name")));
        json_decref(init);
        sandbox_status unconfined;
        sandbox_status_read(&unconfined);
        json_t *ok = ipc_init_ok_pack(&unconfined);
        ipc_send(fd, IPC_INIT_OK, 0, ok);
        json_decref(ok);
        for (;;) {
                json_t *req;
                if (ipc_recv(fd, &type, &seq, &req) < 0)
                        return 0;
                json_decref(req);
                if (strcmp(fault, "seccomp") == 0)
                        seccomp_violation();
                if (bad_reply(fd, fault, seq) < 0)
                        return 1;
        }
}
