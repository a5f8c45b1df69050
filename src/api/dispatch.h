/* SPDX-License-Identifier: Apache-2.0 */
/* Core's side of one api process (see dispatch.c). Internal to api/. */
#pragma once

#include "api/http.h"

/* Serves the api process on fd (the core end of their socketpair, owned from
 * now on): a reader thread takes its REQUEST and COUNT messages, dispatch
 * threads run the handlers and send each REPLY. 0 and *ret, or -errno. */
int api_link_start(int fd, api_shared *shared, unsigned threads, bool confined, api_link **ret);

/* True once the api process closed its end or sent a malformed message (the
 * supervisor then ends it and starts another). */
bool api_link_dead(api_link *l);

/* Stops reading from the api process (it is gone, or being killed): the
 * reader ends even if something else still holds the other end. */
void api_link_end_reading(api_link *l);

/* Waits for the api process to close its end (the supervisor has told it to
 * stop, or it died), then for every request still waiting for a commit, then
 * stops the threads and frees. Accepts NULL. */
void api_link_stop(api_link *l);

/* From the link's reader: the api process's HELLO (api/supervise.c). */
void api_hello(api *a, const sandbox_status *st);

/* From request_complete: queues req for its resume handler. */
void dispatch_resume(request *req);
