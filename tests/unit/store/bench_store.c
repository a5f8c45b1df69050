/* SPDX-License-Identifier: Apache-2.0 */
/* Micro-benchmark of the store's durable enqueue (not a test: no pass/fail): single
 * alerts from 64 threads and 1,000-alert batches, on a fresh database under /tmp or
 * the directory given as argument; its input is the program's own. */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/limits.h"
#include "store/store.h"
#include "store/store_internal.h"
#include "util/clock.h"

#define SINGLE_THREADS 64
#define SINGLE_PER_THREAD 2000
#define BATCH_THREADS 4
#define BATCH_SIZE 1000
#define BATCHES_PER_THREAD 50

/* A typical canonical alert: about 400 bytes. */
static const char alert_json[] =
        "{\"source\":\"suricata\",\"type\":\"ssh.bruteforce\",\"severity\":\"high\","
        "\"observed_at\":\"2024-05-01T12:00:00Z\",\"observables\":{\"ips\":[\"192.0.2.7\"],"
        "\"accounts\":[\"alice\"],\"hosts\":[\"web-1.example.org\"]},\"labels\":{\"site\":\"par1\","
        "\"env\":\"prod\"},\"raw\":{\"signature\":\"ET SCAN Potential SSH Scan\",\"sid\":2001219,"
        "\"src_port\":51234,\"dest_port\":22,\"proto\":\"TCP\",\"flow_id\":1234567890123456}}";

typedef struct worker {
        store *s;
        int r;
} worker;

static void *single_main(void *arg) {
        worker *w = arg;
        store_alert_in in = {.json = alert_json, .len = sizeof alert_json - 1, .type = "ssh.bruteforce"};
        for (int i = 0; i < SINGLE_PER_THREAD && w->r == 0; i++) {
                int64_t id;
                in.received_at_ms = clock_wall_ms();
                w->r = store_enqueue(w->s, &in, 1, &id);
        }
        return NULL;
}

typedef struct batch_wait {
        sem_t done;
        int r;
} batch_wait;

static void batch_cb(void *userdata, int r, const int64_t *ids, size_t n) {
        batch_wait *bw = userdata;
        bw->r = r;
        sem_post(&bw->done);
}

/* As the batch endpoint does: store_enqueue_async (bodies copied), then wait for
 * the callback before answering. */
static void *batch_main(void *arg) {
        worker *w = arg;
        store_alert_in *in = calloc(BATCH_SIZE, sizeof *in);
        batch_wait bw;
        if (!in || sem_init(&bw.done, 0, 0) < 0) {
                free(in);
                w->r = -ENOMEM;
                return NULL;
        }
        for (int b = 0; b < BATCHES_PER_THREAD && w->r == 0; b++) {
                int64_t now = clock_wall_ms();
                for (int i = 0; i < BATCH_SIZE; i++)
                        in[i] = (store_alert_in){.json = alert_json,
                                                 .len = sizeof alert_json - 1,
                                                 .type = "ssh.bruteforce",
                                                 .received_at_ms = now};
                w->r = store_enqueue_async(w->s, in, BATCH_SIZE, batch_cb, &bw);
                if (w->r == 0) {
                        while (sem_wait(&bw.done) < 0 && errno == EINTR)
                                ;
                        w->r = bw.r;
                }
        }
        sem_destroy(&bw.done);
        free(in);
        return NULL;
}

static void remove_db(const char *path) {
        const char *suffixes[] = {"", "-wal", "-shm", ".lock"};
        for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
                char p[512];
                snprintf(p, sizeof p, "%s%s", path, suffixes[i]);
                unlink(p);
        }
}

static int run(const char *dir, const char *name, unsigned threads, void *(*fn)(void *), uint64_t alerts) {
        char path[512];
        snprintf(path, sizeof path, "%s/bench-%s.db", dir, name);
        remove_db(path);
        store_options o = {.path = path, .queue_capacity = BW_QUEUE_CAPACITY_MAX};
        store *s;
        int r = store_open(&o, &s);
        if (r < 0) {
                fprintf(stderr, "store_open %s: %s\n", path, strerror(-r));
                return r;
        }
        worker w[SINGLE_THREADS];
        pthread_t t[SINGLE_THREADS];
        int64_t start = clock_mono_us();
        for (unsigned i = 0; i < threads; i++) {
                w[i] = (worker){.s = s};
                pthread_create(&t[i], NULL, fn, &w[i]);
        }
        for (unsigned i = 0; i < threads; i++) {
                pthread_join(t[i], NULL);
                if (w[i].r < 0)
                        r = w[i].r;
        }
        int64_t us = clock_mono_us() - start;
        uint64_t commits = store_commit_count(s), jobs = store_job_count(s);
        store_close(s);
        remove_db(path);
        if (r < 0) {
                fprintf(stderr, "%s: enqueue failed: %s\n", name, strerror(-r));
                return r;
        }
        printf("%-7s %2u threads  %7llu alerts  %6.3f s  %9.0f alerts/s  %6llu commits  %6.1f jobs/commit\n",
               name, threads, (unsigned long long)alerts, (double)us / 1e6,
               (double)alerts * 1e6 / (double)us, (unsigned long long)commits,
               commits ? (double)jobs / (double)commits : 0.0);
        return 0;
}

int main(int argc, char **argv) {
        const char *dir = argc > 1 ? argv[1] : "/tmp";
        int r = run(dir, "single", SINGLE_THREADS, single_main,
                    (uint64_t)SINGLE_THREADS * SINGLE_PER_THREAD);
        if (r >= 0)
                r = run(dir, "batch", BATCH_THREADS, batch_main,
                        (uint64_t)BATCH_THREADS * BATCHES_PER_THREAD * BATCH_SIZE);
        return r < 0 ? 1 : 0;
}
