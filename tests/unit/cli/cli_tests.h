/* SPDX-License-Identifier: Apache-2.0 */
/* Shared fixtures of the CLI unit tests: temporary directories, captured
 * output, and a real HTTP server on loopback that records what the CLI sent. */
#pragma once

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "cli/cli.h"

/* A directory under /tmp, removed with everything in it by tmpdir_remove. Its
 * name is short, so paths built on it always fit in PATH_MAX. */
#define TMPDIR_MAX 64
void tmpdir_make(char path[TMPDIR_MAX]);
void tmpdir_remove(const char *path);

/* Writes text to dir/name with mode; the path goes to ret_path if non-NULL. */
void file_put(const char *dir, const char *name, const char *text, mode_t mode, char ret_path[PATH_MAX]);
/* Reads a whole (small) file; the caller frees. */
char *file_get(const char *path);

/* Captured standard output and error of one command. */
typedef struct capture {
        cli_ctx ctx;
        char *out, *err;
        size_t out_len, err_len;
} capture;

void capture_open(capture *c, const char *url, const char *token_file);
/* Closes the streams: out and err then hold what was printed, NUL-terminated. */
void capture_close(capture *c);
void capture_free(capture *c);

/* One HTTP/1.1 server thread on 127.0.0.1 answering every request with the
 * configured reply and recording the last request (head and body). */
typedef struct fake_server {
        int fd;
        unsigned short port;
        char url[64];
        pthread_t thread;
        atomic_bool stop;
        /* the reply */
        int status;
        const char *reply;   /* body */
        size_t reply_len;    /* 0: strlen(reply) */
        const char *headers; /* extra header lines, each ending in "\r\n", or NULL */
        /* the last request */
        pthread_mutex_t lock;
        int n_requests;
        char head[8192];
        char *body;
        size_t body_len;
} fake_server;

void fake_server_start(fake_server *s);
void fake_server_stop(fake_server *s);

/* The fixture of the tests that talk to the fake server: a temporary directory
 * with a 0600 token file holding TEST_TOKEN, the server (200 "{}" by default) and
 * a capture for the command's output. */
#define TEST_TOKEN "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

typedef struct api_fixture {
        char dir[TMPDIR_MAX];
        char token_file[PATH_MAX];
        fake_server server;
        capture c;
} api_fixture;

int api_fixture_setup(void **state);
int api_fixture_teardown(void **state);

/* Test groups. */
int offline_tests(void);
int api_tests(void);
int breaker_tests(void);
int approval_tests(void);
