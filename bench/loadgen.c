/* SPDX-License-Identifier: Apache-2.0 */
/* bulwark-loadgen: an epoll HTTP/1.1 keep-alive load generator for the alert API
 * (single alerts, NDJSON batches, and alert -> nftables-element latency read from
 * `nft monitor`). Runs on the benchmark host; the server's replies and the
 * monitor's output are untrusted and parsed with bounds checks. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "cli/cli_token.h"
#include "core/limits.h"
#include "util/clock.h"
#include "util/strutil.h"

/* Response headers: the daemon sends about 150 bytes. */
#define LG_HEADER_MAX 8192u
/* A single-alert reply is {"id":N,"status":"queued"} or a short error. */
#define LG_SINGLE_REPLY_MAX (64u * 1024u)
/* A 1,000-line batch reply lists one result per line: ~30 KiB, more with errors. */
#define LG_BATCH_REPLY_MAX (1024u * 1024u)
/* One generated alert as JSON, with room to spare. */
#define LG_ALERT_MAX 256u
/* Request headers we write: method line, host, token, type, length. */
#define LG_REQUEST_HEAD_MAX (512u + BW_TOKEN_MAX_LEN)
#define LG_CONNECTIONS_MAX 4096u
/* Latency alerts carry unique addresses 10.0.0.1 .. below 10.255.0.0, which
 * is kept for the start-up probes. */
#define LG_PROBE_BASE 0x0AFF0000u
#define LG_LOAD_BASE 0x0A000000u
#define LG_TOTAL_MAX (LG_PROBE_BASE - LG_LOAD_BASE - 1u)
/* One line of `nft monitor` output: one element per line, a few dozen bytes. */
#define LG_MONITOR_LINE_MAX 4096u
/* Probes: how often one is sent, and how long the monitor may stay silent. */
#define LG_PROBE_INTERVAL_US 500000
#define LG_PROBE_WAIT_US (20LL * 1000000)
/* Pacing tick of the open loop. */
#define LG_TICK_NS 1000000L

typedef enum {
        MODE_SINGLE,
        MODE_BATCH,
        MODE_LATENCY,
        _MODE_MAX,
} lg_mode;

static const char *const mode_names[_MODE_MAX] = {
        [MODE_SINGLE] = "single",
        [MODE_BATCH] = "batch",
        [MODE_LATENCY] = "latency",
};

typedef struct lg_options {
        lg_mode mode;
        char host[INET6_ADDRSTRLEN];
        struct sockaddr_storage addr;
        socklen_t addrlen;
        const char *token_file;
        int64_t connections, total, batch, rate, duration_s, settle_s, timeout_s;
        int nft_fd;
} lg_options;

typedef struct lg_conn {
        int fd;
        bool busy;     /* a request is in flight */
        bool want_out; /* EPOLLOUT registered */
        char *out;     /* request being written */
        size_t out_len, out_off, out_cap;
        char *in; /* reply being read */
        size_t in_len, in_cap;
        int64_t t_send_us;
        int64_t first;   /* index of the first alert in the request (-1: a probe) */
        size_t n_alerts; /* alerts in the request */
} lg_conn;

typedef struct lg_stats {
        uint64_t status[600];
        uint64_t requests_done, transport_errors, protocol_errors, reconnects;
        uint64_t alerts_accepted;
        int64_t *ack_us; /* per request */
        size_t n_ack;
        int64_t t_first_us, t_last_us;
        int64_t send_lag_max_us; /* latency mode: how far the open loop fell behind */
} lg_stats;

typedef struct lg {
        lg_options o;
        char token[BW_TOKEN_MAX_LEN + 1];
        int ep, timer_fd;
        lg_conn *conns;
        size_t *idle; /* stack of idle connection indexes */
        size_t n_idle;
        int64_t sent;         /* alerts written */
        int64_t requests_out; /* requests written */
        int64_t t0_us;
        lg_stats st;
        /* latency mode */
        int64_t *send_us;   /* per alert, 0 = not sent */
        int64_t *appear_us; /* per alert, 0 = not seen in the set */
        bool *acked;
        int64_t appeared, probe_next_us, probes_sent;
        bool probing, probe_seen;
        char mon[LG_MONITOR_LINE_MAX];
        size_t mon_len;
        bool mon_eof;
} lg;

static const char usage[] =
        "usage: bulwark-loadgen --mode single|batch|latency --token-file FILE [options]\n"
        "  --url http://HOST:PORT   the API (numeric address or localhost; default http://127.0.0.1:8080)\n"
        "  --connections C          keep-alive connections (default 64; batch 4; latency 16)\n"
        "  --total N                single/batch: alerts to send (default 100000)\n"
        "  --batch B                batch: alerts per request, 1..1000 (default 1000)\n"
        "  --rate R --duration S    latency: open loop at R alerts/s for S seconds (default 1000, 20)\n"
        "  --nft-fd FD              latency: read `nft monitor new elements` output from FD\n"
        "  --settle S               latency: wait up to S s after the last send for elements (default 5)\n"
        "  --timeout S              stop after S seconds whatever happens (default 600)\n"
        "Prints one JSON object of results on stdout.\n";

/* --- arguments ---------------------------------------------------------------- */

static int lg_parse_url(const char *url, lg_options *o) {
        static const char prefix[] = "http://";
        if (strncmp(url, prefix, sizeof(prefix) - 1) != 0)
                return -EINVAL;
        const char *h = url + sizeof(prefix) - 1, *end;
        if (*h == '[') {
                end = strchr(h, ']');
                if (!end)
                        return -EINVAL;
                h++;
        } else
                end = h + strcspn(h, ":/");
        size_t hlen = (size_t)(end - h);
        if (hlen == 0 || hlen >= sizeof(o->host))
                return -EINVAL;
        memcpy(o->host, h, hlen);
        o->host[hlen] = '\0';
        if (*end == ']')
                end++;
        int64_t port = 80;
        if (*end == ':') {
                char digits[8];
                size_t n = strcspn(end + 1, "/");
                if (n == 0 || n >= sizeof(digits))
                        return -EINVAL;
                memcpy(digits, end + 1, n);
                digits[n] = '\0';
                if (parse_int64(digits, 1, 65535, &port) < 0)
                        return -EINVAL;
                end += 1 + n;
        }
        if (*end != '\0' && strcmp(end, "/") != 0)
                return -EINVAL;
        if (strcmp(o->host, "localhost") == 0)
                str_copy(o->host, sizeof(o->host), "127.0.0.1");
        struct sockaddr_in *a4 = (struct sockaddr_in *)&o->addr;
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&o->addr;
        memset(&o->addr, 0, sizeof(o->addr));
        if (inet_pton(AF_INET, o->host, &a4->sin_addr) == 1) {
                a4->sin_family = AF_INET;
                a4->sin_port = htons((uint16_t)port);
                o->addrlen = sizeof(*a4);
        } else if (inet_pton(AF_INET6, o->host, &a6->sin6_addr) == 1) {
                a6->sin6_family = AF_INET6;
                a6->sin6_port = htons((uint16_t)port);
                o->addrlen = sizeof(*a6);
        } else
                return -EINVAL;
        return 0;
}

static int lg_usage(const char *message) {
        if (message)
                fprintf(stderr, "bulwark-loadgen: %s\n", message);
        fputs(usage, stderr);
        return 2;
}

static int lg_parse_args(int argc, char **argv, lg_options *o) {
        static const struct option options[] = {
                {"mode", required_argument, NULL, 'm'},
                {"url", required_argument, NULL, 'u'},
                {"token-file", required_argument, NULL, 't'},
                {"connections", required_argument, NULL, 'c'},
                {"total", required_argument, NULL, 'n'},
                {"batch", required_argument, NULL, 'b'},
                {"rate", required_argument, NULL, 'r'},
                {"duration", required_argument, NULL, 'd'},
                {"nft-fd", required_argument, NULL, 'f'},
                {"settle", required_argument, NULL, 's'},
                {"timeout", required_argument, NULL, 'T'},
                {"help", no_argument, NULL, 'h'},
                {0},
        };
        *o = (lg_options){.mode = _MODE_MAX,
                          .connections = 0,
                          .total = 100000,
                          .batch = BW_BATCH_MAX_ALERTS,
                          .rate = 1000,
                          .duration_s = 20,
                          .settle_s = 5,
                          .timeout_s = 600,
                          .nft_fd = -1};
        if (lg_parse_url("http://127.0.0.1:8080", o) < 0)
                return lg_usage("internal: default URL");
        int64_t fd = -1;
        int c;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
                int r = 0;
                switch (c) {
                case 'm':
                        o->mode = _MODE_MAX;
                        for (int m = 0; m < _MODE_MAX; m++)
                                if (strcmp(optarg, mode_names[m]) == 0)
                                        o->mode = (lg_mode)m;
                        r = o->mode == _MODE_MAX ? -EINVAL : 0;
                        break;
                case 'u':
                        r = lg_parse_url(optarg, o);
                        break;
                case 't':
                        o->token_file = optarg;
                        break;
                case 'c':
                        r = parse_int64(optarg, 1, LG_CONNECTIONS_MAX, &o->connections);
                        break;
                case 'n':
                        r = parse_int64(optarg, 1, LG_TOTAL_MAX, &o->total);
                        break;
                case 'b':
                        r = parse_int64(optarg, 1, BW_BATCH_MAX_ALERTS, &o->batch);
                        break;
                case 'r':
                        r = parse_int64(optarg, 1, 1000000, &o->rate);
                        break;
                case 'd':
                        r = parse_int64(optarg, 1, 3600, &o->duration_s);
                        break;
                case 'f':
                        r = parse_int64(optarg, 0, 1023, &fd);
                        break;
                case 's':
                        r = parse_int64(optarg, 0, 600, &o->settle_s);
                        break;
                case 'T':
                        r = parse_int64(optarg, 1, 86400, &o->timeout_s);
                        break;
                case 'h':
                        fputs(usage, stdout);
                        return 1;
                default:
                        return lg_usage(NULL);
                }
                if (r < 0) {
                        char message[128] = "bad option value";
                        for (const struct option *opt = options; opt->name; opt++)
                                if (opt->val == c)
                                        snprintf(message, sizeof(message), "bad value for --%s", opt->name);
                        return lg_usage(message);
                }
        }
        if (optind != argc)
                return lg_usage("unexpected argument");
        if (o->mode == _MODE_MAX)
                return lg_usage("--mode is required");
        if (!o->token_file)
                return lg_usage("--token-file is required");
        if (o->mode == MODE_LATENCY) {
                if (fd < 0)
                        return lg_usage("--mode latency needs --nft-fd");
                if (o->rate * o->duration_s > (int64_t)LG_TOTAL_MAX)
                        return lg_usage("--rate x --duration exceeds the unique addresses available");
                o->total = o->rate * o->duration_s;
                o->nft_fd = (int)fd;
        }
        if (o->connections == 0)
                o->connections = o->mode == MODE_BATCH ? 4 : o->mode == MODE_LATENCY ? 16 : 64;
        return 0;
}

/* --- HTTP ------------------------------------------------------------------- */

typedef struct http_reply {
        int status;
        size_t total; /* header + body bytes */
        const char *body;
        size_t body_len;
        bool close;
} http_reply;

/* Parses one HTTP/1.x response from p[0..len). Returns 1 with *ret when a whole
 * response is there, 0 if more bytes are needed, -EMSGSIZE if the headers
 * exceed LG_HEADER_MAX or the body body_max, -EBADMSG if it is malformed or
 * framed other than by Content-Length (the daemon always sends one). */
static int http_parse(const char *p, size_t len, size_t body_max, http_reply *ret) {
        size_t scan = len < LG_HEADER_MAX ? len : LG_HEADER_MAX;
        const char *eoh = memmem(p, scan, "\r\n\r\n", 4);
        if (!eoh)
                return len >= LG_HEADER_MAX ? -EMSGSIZE : 0;
        size_t head = (size_t)(eoh - p) + 4;
        if (head < 14 || (memcmp(p, "HTTP/1.1 ", 9) != 0 && memcmp(p, "HTTP/1.0 ", 9) != 0))
                return -EBADMSG;
        int status = 0;
        for (size_t i = 9; i < 12; i++) {
                if (p[i] < '0' || p[i] > '9')
                        return -EBADMSG;
                status = status * 10 + (p[i] - '0');
        }
        if (status < 100 || status > 599 || (p[12] != ' ' && p[12] != '\r'))
                return -EBADMSG;
        int64_t clen = -1;
        bool close = memcmp(p, "HTTP/1.0 ", 9) == 0;
        const char *line = memchr(p, '\n', head) + 1;
        while (line < eoh + 2) {
                const char *nl = memchr(line, '\n', (size_t)(eoh + 4 - line));
                if (!nl || nl == line || nl[-1] != '\r')
                        return -EBADMSG;
                size_t llen = (size_t)(nl - 1 - line);
                const char *colon = memchr(line, ':', llen);
                if (!colon || colon == line)
                        return -EBADMSG;
                size_t nlen = (size_t)(colon - line);
                const char *v = colon + 1;
                size_t vlen = llen - nlen - 1;
                while (vlen > 0 && (*v == ' ' || *v == '\t'))
                        v++, vlen--;
                while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
                        vlen--;
                if (nlen == 14 && strncasecmp(line, "Content-Length", 14) == 0) {
                        char digits[24];
                        int64_t n;
                        if (vlen == 0 || vlen >= sizeof(digits))
                                return -EBADMSG;
                        memcpy(digits, v, vlen);
                        digits[vlen] = '\0';
                        if (parse_int64(digits, 0, INT64_MAX, &n) < 0 || (clen >= 0 && n != clen))
                                return -EBADMSG;
                        clen = n;
                } else if (nlen == 17 && strncasecmp(line, "Transfer-Encoding", 17) == 0)
                        return -EBADMSG;
                else if (nlen == 10 && strncasecmp(line, "Connection", 10) == 0)
                        close = close || (vlen == 5 && strncasecmp(v, "close", 5) == 0);
                line = nl + 1;
        }
        if (clen < 0) {
                if (status >= 200 && status != 204 && status != 304)
                        return -EBADMSG;
                clen = 0;
        }
        if ((uint64_t)clen > body_max)
                return -EMSGSIZE;
        if (len - head < (size_t)clen)
                return 0;
        *ret = (http_reply){.status = status,
                            .total = head + (size_t)clen,
                            .body = p + head,
                            .body_len = (size_t)clen,
                            .close = close};
        return 1;
}

/* --- alerts ------------------------------------------------------------------- */

static uint32_t lg_alert_addr(int64_t index) {
        if (index < 0)
                return LG_PROBE_BASE + (uint32_t)(-index);
        return LG_LOAD_BASE + 1u + (uint32_t)(index % (int64_t)LG_TOTAL_MAX);
}

/* Load alerts match no playbook (acceptance is measured, not actions); latency
 * alerts match the level-3 nft playbook that `bulwark init` writes. */
static int lg_alert_json(const lg *g, int64_t index, char *out, size_t outlen) {
        uint32_t a = lg_alert_addr(index);
        bool act = g->o.mode == MODE_LATENCY;
        int n = snprintf(out, outlen,
                         "{\"source\":\"loadgen\",\"type\":\"%s\",\"severity\":\"%s\","
                         "\"observables\":{\"ips\":[\"%u.%u.%u.%u\"]}}",
                         act ? "ssh.bruteforce" : "bench.load", act ? "high" : "low", a >> 24,
                         (a >> 16) & 255, (a >> 8) & 255, a & 255);
        return n < 0 || (size_t)n >= outlen ? -ENOBUFS : n;
}

/* Writes the request for alerts [first, first + n) (or one probe, first < 0)
 * into c->out. */
static int lg_build_request(const lg *g, lg_conn *c, int64_t first, size_t n) {
        bool batch = g->o.mode == MODE_BATCH;
        size_t body_at = LG_REQUEST_HEAD_MAX, blen = 0;
        for (size_t i = 0; i < n; i++) {
                int k = lg_alert_json(g, first < 0 ? first : first + (int64_t)i, c->out + body_at + blen,
                                      c->out_cap - body_at - blen);
                if (k < 0 || c->out_cap - body_at - blen - (size_t)k < 2)
                        return -ENOBUFS;
                blen += (size_t)k;
                if (batch)
                        c->out[body_at + blen++] = '\n';
        }
        char head[LG_REQUEST_HEAD_MAX];
        int h = snprintf(head, sizeof(head),
                         "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
                         "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n",
                         batch ? "/v1/alerts/batch" : "/v1/alerts", g->o.host, g->token,
                         batch ? "application/x-ndjson" : "application/json", blen);
        if (h < 0 || (size_t)h > body_at)
                return -ENOBUFS;
        /* The head goes right before the body, so the request is contiguous. */
        memcpy(c->out + body_at - (size_t)h, head, (size_t)h);
        sodium_memzero(head, sizeof(head));
        c->out_off = body_at - (size_t)h;
        c->out_len = body_at + blen;
        c->first = first;
        c->n_alerts = n;
        return 0;
}

/* --- connections ---------------------------------------------------------------- */

static int lg_epoll_set(lg *g, size_t i, bool want_out, int op) {
        struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0u), .data.u64 = i};
        if (epoll_ctl(g->ep, op, g->conns[i].fd, &ev) < 0)
                return -errno;
        g->conns[i].want_out = want_out;
        return 0;
}

static int lg_connect(lg *g, size_t i) {
        lg_conn *c = &g->conns[i];
        int fd = socket(g->o.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        int one = 1;
        /* A blocking connect on loopback is immediate; the timeout bounds a dead server. */
        struct timeval tv = {.tv_sec = 5};
        int r = 0;
        if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ||
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
            connect(fd, (struct sockaddr *)&g->o.addr, g->o.addrlen) < 0 ||
            fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
                r = -errno;
        if (r < 0) {
                close(fd);
                return r;
        }
        c->fd = fd;
        c->in_len = 0;
        return lg_epoll_set(g, i, false, EPOLL_CTL_ADD);
}

static void lg_conn_close(lg *g, size_t i) {
        lg_conn *c = &g->conns[i];
        if (c->fd >= 0) {
                epoll_ctl(g->ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
        }
        c->fd = -1;
}

/* Writes what the socket takes; registers EPOLLOUT for the rest. */
static int lg_flush(lg *g, size_t i) {
        lg_conn *c = &g->conns[i];
        while (c->out_off < c->out_len) {
                ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        return c->want_out ? 0 : lg_epoll_set(g, i, true, EPOLL_CTL_MOD);
                if (n < 0)
                        return -errno;
                c->out_off += (size_t)n;
        }
        return c->want_out ? lg_epoll_set(g, i, false, EPOLL_CTL_MOD) : 0;
}

/* Sends alerts [first, first + n) (or a probe) on idle connection i. */
static int lg_send(lg *g, size_t i, int64_t first, size_t n) {
        lg_conn *c = &g->conns[i];
        int r = c->fd < 0 ? lg_connect(g, i) : 0;
        if (r < 0)
                return r;
        r = lg_build_request(g, c, first, n);
        if (r < 0)
                return r;
        c->busy = true;
        c->t_send_us = clock_mono_us();
        if (g->st.t_first_us == 0)
                g->st.t_first_us = c->t_send_us;
        if (first >= 0 && g->send_us)
                for (size_t k = 0; k < n; k++)
                        g->send_us[first + (int64_t)k] = c->t_send_us;
        g->requests_out++;
        return lg_flush(g, i);
}

/* --- replies -------------------------------------------------------------------- */

static int lg_cmp_i64(const void *a, const void *b) {
        int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
        return (x > y) - (x < y);
}

static void lg_count_accepted(lg *g, const lg_conn *c, const http_reply *rep) {
        if (g->o.mode != MODE_BATCH) {
                if (rep->status == 202) {
                        g->st.alerts_accepted++;
                        if (g->acked)
                                g->acked[c->first] = true;
                }
                return;
        }
        if (rep->status != 200)
                return;
        json_t *root = json_loadb(rep->body, rep->body_len, 0, NULL);
        json_int_t n = json_integer_value(json_object_get(root, "accepted"));
        if (n > 0 && (size_t)n <= c->n_alerts)
                g->st.alerts_accepted += (uint64_t)n;
        else if (n != 0)
                g->st.protocol_errors++;
        json_decref(root);
}

/* A request ended without a usable reply: its alerts count as failed, and the
 * connection is replaced. protocol: the reply was malformed (else the
 * connection was lost). */
static void lg_request_failed(lg *g, size_t i, bool protocol) {
        lg_conn *c = &g->conns[i];
        if (protocol)
                g->st.protocol_errors++;
        else
                g->st.transport_errors++;
        g->st.requests_done++;
        c->busy = false;
        lg_conn_close(g, i);
        g->st.reconnects++;
        g->idle[g->n_idle++] = i;
}

/* Bytes from the server when no request is in flight, or a malformed reply:
 * the connection is dropped (and replaced when next needed). */
static void lg_drop(lg *g, size_t i, bool protocol) {
        if (g->conns[i].busy) {
                lg_request_failed(g, i, protocol);
                return;
        }
        if (protocol)
                g->st.protocol_errors++;
        lg_conn_close(g, i);
}

static void lg_read(lg *g, size_t i) {
        lg_conn *c = &g->conns[i];
        bool eof = false;
        while (!eof) {
                if (c->in_len == c->in_cap) {
                        lg_drop(g, i, true);
                        return;
                }
                ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        break;
                /* A server may answer and then close (or close an idle keep-alive
                 * connection): use what arrived, then reconnect when needed. */
                eof = n <= 0;
                if (n > 0)
                        c->in_len += (size_t)n;
        }
        http_reply rep;
        size_t body_max = g->o.mode == MODE_BATCH ? LG_BATCH_REPLY_MAX : LG_SINGLE_REPLY_MAX;
        int r = c->in_len > 0 ? http_parse(c->in, c->in_len, body_max, &rep) : 0;
        if (r == 0) {
                if (eof)
                        lg_drop(g, i, c->in_len > 0);
                return;
        }
        /* No pipelining: bytes beyond one reply, or a reply with nothing asked, are a protocol error. */
        if (r < 0 || !c->busy || rep.total != c->in_len) {
                lg_drop(g, i, true);
                return;
        }
        /* Probes (first < 0) only start the clock: they are not measured. */
        if (c->first >= 0) {
                int64_t now = clock_mono_us();
                g->st.status[rep.status]++;
                g->st.requests_done++;
                g->st.t_last_us = now;
                g->st.ack_us[g->st.n_ack++] = now - c->t_send_us;
                lg_count_accepted(g, c, &rep);
        }
        c->busy = false;
        c->in_len = 0;
        if (rep.close || eof) {
                lg_conn_close(g, i);
                g->st.reconnects++;
        }
        g->idle[g->n_idle++] = i;
}

/* --- nft monitor ---------------------------------------------------------------- */

/* Marks every 10.0.0.0/8 address of one `nft monitor` line as present. Lines
 * look like "add element inet bulwark blocklist_v4 { 10.0.0.7 timeout 1h ... }". */
static void lg_monitor_line(lg *g, char *line, int64_t now) {
        if (strncmp(line, "add element ", 12) != 0)
                return;
        char *save = NULL;
        for (char *tok = strtok_r(line, " {},", &save); tok; tok = strtok_r(NULL, " {},", &save)) {
                struct in_addr a;
                if (inet_pton(AF_INET, tok, &a) != 1)
                        continue;
                uint32_t v = ntohl(a.s_addr);
                if (v > LG_PROBE_BASE && v < LG_PROBE_BASE + 0x10000u) {
                        g->probe_seen = true;
                        continue;
                }
                if (v <= LG_LOAD_BASE || v >= LG_PROBE_BASE)
                        continue;
                int64_t index = (int64_t)(v - LG_LOAD_BASE - 1u);
                if (index < g->o.total && g->appear_us[index] == 0 && g->send_us[index] != 0) {
                        g->appear_us[index] = now;
                        g->appeared++;
                }
        }
}

static void lg_monitor_read(lg *g) {
        int64_t now = clock_mono_us();
        for (;;) {
                ssize_t n = read(g->o.nft_fd, g->mon + g->mon_len, sizeof(g->mon) - 1 - g->mon_len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        return;
                if (n <= 0) {
                        g->mon_eof = true;
                        epoll_ctl(g->ep, EPOLL_CTL_DEL, g->o.nft_fd, NULL);
                        return;
                }
                g->mon_len += (size_t)n;
                g->mon[g->mon_len] = '\0';
                char *start = g->mon, *nl;
                while ((nl = memchr(start, '\n', g->mon_len - (size_t)(start - g->mon)))) {
                        *nl = '\0';
                        lg_monitor_line(g, start, now);
                        start = nl + 1;
                }
                size_t rest = g->mon_len - (size_t)(start - g->mon);
                /* A line longer than the buffer is not an element line: drop it. */
                if (rest == sizeof(g->mon) - 1)
                        rest = 0;
                memmove(g->mon, start, rest);
                g->mon_len = rest;
        }
}

/* --- the loop --------------------------------------------------------------------- */

/* Sends what is due now: closed loop (single, batch) keeps every connection
 * busy; open loop (latency) sends on schedule, probes first. */
static int lg_pump(lg *g, int64_t now) {
        while (g->n_idle > 0) {
                int64_t due;
                if (g->o.mode != MODE_LATENCY)
                        due = g->o.total;
                else if (g->probing) {
                        if (now < g->probe_next_us)
                                return 0;
                        g->probe_next_us = now + LG_PROBE_INTERVAL_US;
                        size_t i = g->idle[--g->n_idle];
                        int r = lg_send(g, i, -(++g->probes_sent), 1);
                        if (r < 0)
                                lg_request_failed(g, i, false);
                        return 0;
                } else {
                        due = (now - g->t0_us) * g->o.rate / 1000000 + 1;
                        if (due > g->o.total)
                                due = g->o.total;
                }
                if (g->sent >= due)
                        return 0;
                if (g->o.mode == MODE_LATENCY) {
                        int64_t scheduled = g->t0_us + g->sent * 1000000 / g->o.rate;
                        if (now - scheduled > g->st.send_lag_max_us)
                                g->st.send_lag_max_us = now - scheduled;
                }
                size_t n = g->o.mode == MODE_BATCH ? (size_t)g->o.batch : 1;
                if ((int64_t)n > g->o.total - g->sent)
                        n = (size_t)(g->o.total - g->sent);
                size_t i = g->idle[--g->n_idle];
                int64_t first = g->sent;
                g->sent += (int64_t)n;
                int r = lg_send(g, i, first, n);
                if (r < 0) {
                        /* Could not even connect or write: count the request as failed. */
                        lg_request_failed(g, i, false);
                        if (r != -EPIPE && r != -ECONNRESET && r != -ECONNREFUSED)
                                return r;
                }
        }
        return 0;
}

static bool lg_finished(lg *g, int64_t now, int64_t *ret_settle_deadline) {
        bool all_sent = g->sent >= g->o.total;
        bool all_back = g->n_idle == (size_t)g->o.connections;
        if (!all_sent || !all_back || g->probing)
                return false;
        if (g->o.mode != MODE_LATENCY)
                return true;
        if (*ret_settle_deadline == 0)
                *ret_settle_deadline = now + g->o.settle_s * 1000000;
        return g->appeared >= (int64_t)g->st.alerts_accepted || g->mon_eof || now >= *ret_settle_deadline;
}

static int lg_run(lg *g) {
        int64_t start = clock_mono_us();
        int64_t deadline = start + g->o.timeout_s * 1000000, settle = 0;
        g->probing = g->o.mode == MODE_LATENCY;
        struct epoll_event evs[256];
        int r = lg_pump(g, start);
        while (r >= 0) {
                int64_t now = clock_mono_us();
                if (lg_finished(g, now, &settle))
                        return 0;
                if (now >= deadline)
                        return -ETIMEDOUT;
                if (g->probing && g->probe_seen) {
                        /* The monitor is live: start the clock for the measured alerts. */
                        g->probing = false;
                        g->t0_us = now;
                } else if (g->probing && now - start > LG_PROBE_WAIT_US)
                        return -ENOMSG;
                int n = epoll_wait(g->ep, evs, (int)(sizeof(evs) / sizeof(evs[0])), 100);
                if (n < 0 && errno != EINTR)
                        return -errno;
                for (int k = 0; k < n; k++) {
                        uint64_t id = evs[k].data.u64;
                        if (id == UINT64_MAX - 1) {
                                uint64_t ticks;
                                if (read(g->timer_fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
                                        return -errno;
                        } else if (id == UINT64_MAX)
                                lg_monitor_read(g);
                        else if (g->conns[id].fd >= 0 && (evs[k].events & EPOLLOUT) && g->conns[id].busy) {
                                if (lg_flush(g, id) < 0)
                                        lg_request_failed(g, id, false);
                        } else if (g->conns[id].fd >= 0 && (evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                                lg_read(g, id);
                }
                r = lg_pump(g, clock_mono_us());
        }
        return r;
}

/* --- set-up and results ------------------------------------------------------------- */

static int lg_setup(lg *g) {
        g->ep = epoll_create1(EPOLL_CLOEXEC);
        if (g->ep < 0)
                return -errno;
        size_t n = (size_t)g->o.connections;
        g->conns = calloc(n, sizeof(*g->conns));
        g->idle = calloc(n, sizeof(*g->idle));
        size_t per_request = g->o.mode == MODE_BATCH ? (size_t)g->o.batch : 1;
        size_t reply_max = g->o.mode == MODE_BATCH ? LG_BATCH_REPLY_MAX : LG_SINGLE_REPLY_MAX;
        /* One ack latency per request, at most one request per alert. */
        g->st.ack_us = calloc((size_t)g->o.total, sizeof(*g->st.ack_us));
        if (!g->conns || !g->idle || !g->st.ack_us)
                return -ENOMEM;
        if (g->o.mode == MODE_LATENCY) {
                g->send_us = calloc((size_t)g->o.total, sizeof(*g->send_us));
                g->appear_us = calloc((size_t)g->o.total, sizeof(*g->appear_us));
                g->acked = calloc((size_t)g->o.total, sizeof(*g->acked));
                if (!g->send_us || !g->appear_us || !g->acked)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                lg_conn *c = &g->conns[i];
                c->fd = -1;
                c->out_cap = LG_REQUEST_HEAD_MAX + per_request * (LG_ALERT_MAX + 1);
                c->in_cap = LG_HEADER_MAX + reply_max;
                c->out = malloc(c->out_cap);
                c->in = malloc(c->in_cap);
                if (!c->out || !c->in)
                        return -ENOMEM;
                int r = lg_connect(g, i);
                if (r < 0)
                        return r;
                g->idle[g->n_idle++] = n - 1 - i;
        }
        if (g->o.mode == MODE_LATENCY) {
                g->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
                struct itimerspec its = {.it_interval.tv_nsec = LG_TICK_NS, .it_value.tv_nsec = LG_TICK_NS};
                struct epoll_event tick = {.events = EPOLLIN, .data.u64 = UINT64_MAX - 1};
                struct epoll_event mon = {.events = EPOLLIN, .data.u64 = UINT64_MAX};
                if (g->timer_fd < 0 || timerfd_settime(g->timer_fd, 0, &its, NULL) < 0 ||
                    epoll_ctl(g->ep, EPOLL_CTL_ADD, g->timer_fd, &tick) < 0 ||
                    fcntl(g->o.nft_fd, F_SETFL, fcntl(g->o.nft_fd, F_GETFL) | O_NONBLOCK) < 0 ||
                    fcntl(g->o.nft_fd, F_SETFD, FD_CLOEXEC) < 0 ||
                    epoll_ctl(g->ep, EPOLL_CTL_ADD, g->o.nft_fd, &mon) < 0)
                        return -errno;
        }
        return 0;
}

static void lg_free(lg *g) {
        for (size_t i = 0; g->conns && i < (size_t)g->o.connections; i++) {
                lg_conn_close(g, i);
                /* Every request carried the token. */
                if (g->conns[i].out)
                        sodium_memzero(g->conns[i].out, g->conns[i].out_cap);
                free(g->conns[i].out);
                free(g->conns[i].in);
        }
        free(g->conns);
        free(g->idle);
        free(g->st.ack_us);
        free(g->send_us);
        free(g->appear_us);
        free(g->acked);
        if (g->timer_fd >= 0)
                close(g->timer_fd);
        if (g->ep >= 0)
                close(g->ep);
        sodium_memzero(g->token, sizeof(g->token));
}

/* Nearest-rank percentiles of v[0..n) (sorted in place), in milliseconds. */
static json_t *lg_percentiles(int64_t *v, size_t n) {
        if (n == 0)
                return json_null();
        qsort(v, n, sizeof(*v), lg_cmp_i64);
        size_t p50 = (n * 50 + 99) / 100, p99 = (n * 99 + 99) / 100;
        return json_pack("{sf sf sf}", "p50", (double)v[p50 - 1] / 1000.0, "p99",
                         (double)v[p99 - 1] / 1000.0, "max", (double)v[n - 1] / 1000.0);
}

/* The results as one object; error (may be NULL) says why the run is incomplete. */
static json_t *lg_results(lg *g, const char *error) {
        double elapsed = g->st.t_last_us > g->st.t_first_us
                                 ? (double)(g->st.t_last_us - g->st.t_first_us) / 1e6
                                 : 0.0;
        json_t *status = json_object();
        for (size_t s = 0; status && s < sizeof(g->st.status) / sizeof(g->st.status[0]); s++) {
                if (g->st.status[s] == 0)
                        continue;
                char key[8];
                snprintf(key, sizeof(key), "%zu", s);
                json_object_set_new(status, key, json_integer((json_int_t)g->st.status[s]));
        }
        json_t *o = json_pack("{ss sI sI sI sI so sI sI sI sf sI so}", "mode", mode_names[g->o.mode],
                              "connections", (json_int_t)g->o.connections, "alerts_sent",
                              (json_int_t)g->sent, "alerts_accepted", (json_int_t)g->st.alerts_accepted,
                              "requests", (json_int_t)g->st.requests_done, "status", status,
                              "transport_errors", (json_int_t)g->st.transport_errors, "protocol_errors",
                              (json_int_t)g->st.protocol_errors, "reconnects", (json_int_t)g->st.reconnects,
                              "elapsed_s", elapsed, "alerts_per_s",
                              elapsed > 0 ? (json_int_t)((double)g->st.alerts_accepted / elapsed + 0.5) : 0,
                              "ack_latency_ms", lg_percentiles(g->st.ack_us, g->st.n_ack));
        if (!o)
                return NULL;
        if (g->o.mode == MODE_BATCH)
                json_object_set_new(o, "batch", json_integer((json_int_t)g->o.batch));
        if (g->o.mode == MODE_LATENCY) {
                int64_t *lat = calloc((size_t)g->o.total + 1, sizeof(*lat));
                size_t n = 0, missing = 0;
                for (int64_t i = 0; lat && i < g->o.total; i++) {
                        if (g->appear_us[i])
                                lat[n++] = g->appear_us[i] - g->send_us[i];
                        else if (g->acked[i])
                                missing++;
                }
                json_object_set_new(o, "rate", json_integer((json_int_t)g->o.rate));
                json_object_set_new(o, "duration_s", json_integer((json_int_t)g->o.duration_s));
                json_object_set_new(o, "send_lag_max_ms", json_real((double)g->st.send_lag_max_us / 1000.0));
                json_object_set_new(o, "probes", json_integer((json_int_t)g->probes_sent));
                json_object_set_new(o, "nft_latency_ms", lat ? lg_percentiles(lat, n) : json_null());
                json_object_set_new(o, "appeared", json_integer((json_int_t)n));
                json_object_set_new(o, "never_appeared", json_integer((json_int_t)missing));
                free(lat);
        }
        if (error)
                json_object_set_new(o, "error", json_string(error));
        return o;
}

int main(int argc, char **argv) {
        lg g = {.ep = -1, .timer_fd = -1};
        int r = lg_parse_args(argc, argv, &g.o);
        if (r != 0)
                return r == 1 ? 0 : r; /* 1: --help was printed */
        if (sodium_init() < 0) {
                fprintf(stderr, "bulwark-loadgen: libsodium failed to initialise\n");
                return 1;
        }
        bw_error e = {0};
        r = cli_token_read(g.o.token_file, g.token, sizeof(g.token), &e);
        if (r < 0) {
                fprintf(stderr, "bulwark-loadgen: %s\n", e.message);
                return 1;
        }
        r = lg_setup(&g);
        if (r < 0) {
                fprintf(stderr, "bulwark-loadgen: set-up: %s\n", strerror(-r));
                lg_free(&g);
                return 1;
        }
        int run = lg_run(&g);
        const char *why = run == -ENOMSG      ? "no probe address appeared in the nft monitor output"
                          : run == -ETIMEDOUT ? "--timeout reached before the run completed"
                          : run < 0           ? strerror(-run)
                                              : NULL;
        /* A run in which the server took nothing measured nothing. */
        if (!why && g.st.alerts_accepted == 0)
                why = "the server accepted no alert (see the status counts)";
        if (why)
                fprintf(stderr, "bulwark-loadgen: %s\n", why);
        json_t *res = lg_results(&g, why);
        lg_free(&g);
        if (!res || json_dumpf(res, stdout, JSON_COMPACT | JSON_REAL_PRECISION(6)) < 0) {
                json_decref(res);
                return 1;
        }
        fputc('\n', stdout);
        json_decref(res);
        return why ? 1 : 0;
}
