#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The one-command benchmark (run as root): bulwarkd in a network namespace of its
# own, driven by bulwark-loadgen over loopback. Measures (1) durable single-alert
# acceptance, (2) batch acceptance, (3) alert -> nftables element latency with a
# level-3 nft playbook, (4) RSS of bulwarkd and its children, idle and under
# load, (5) the storm: failed-login bursts from thousands of addresses until
# all are blocked, with bench/storm.py, and, first and without the daemon, (6)
# the governor's decision cost with bulwark-bench-governor. Prints a table and
# writes bench/results.json.
# Usage: bench/run.sh [BUILDDIR]   (default: build)
# Smaller runs: BENCH_SINGLE_TOTAL, BENCH_SINGLE_CONNECTIONS, BENCH_BATCH_TOTAL,
# BENCH_LATENCY_RATE, BENCH_LATENCY_SECONDS, BENCH_STORM_ALERTS, BENCH_STORM_IPS.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

BUILD=$(cd "${1:-build}" && pwd)
BULWARK=$BUILD/src/cli/bulwark
BULWARKD=$BUILD/src/cmd/bulwarkd
LOADGEN=$BUILD/bench/bulwark-loadgen
BENCH_GOVERNOR=$BUILD/bench/bulwark-bench-governor
PYTHON=/usr/bin/python3

SINGLE_CONNECTIONS=${BENCH_SINGLE_CONNECTIONS:-256}
SINGLE_TOTAL=${BENCH_SINGLE_TOTAL:-200000}
BATCH_TOTAL=${BENCH_BATCH_TOTAL:-1000000}
BATCH_SIZE=1000
LATENCY_RATE=${BENCH_LATENCY_RATE:-1000}
LATENCY_SECONDS=${BENCH_LATENCY_SECONDS:-20}
STORM_ALERTS=${BENCH_STORM_ALERTS:-100000}
STORM_IPS=${BENCH_STORM_IPS:-5000}
# The queue must hold a whole phase: acceptance is measured while the engine
# drains behind it, and a full queue would turn the measurement into 503s.
QUEUE_CAPACITY=2000000
WORKERS=2
# Every phase is bounded: loadgen stops by itself after this many seconds.
PHASE_TIMEOUT_S=300

die() {
        echo "bench: $*" >&2
        exit 1
}

[ "$(id -u)" = 0 ] || die "run as root (it creates a network namespace)"
for f in "$BULWARK" "$BULWARKD" "$LOADGEN" "$BENCH_GOVERNOR"; do
        [ -x "$f" ] || die "$f is missing: build first (ninja -C $BUILD)"
done
[ -x "$PYTHON" ] || die "$PYTHON is missing (apt-get install python3)"

NS=bulwark-bench-$$
TMP=$(mktemp -d /tmp/bulwark-bench.XXXXXX)
DAEMON_PID=
SAMPLER_PID=
MONITOR_PID=

cleanup() {
        for pid in "$SAMPLER_PID" "$MONITOR_PID"; do
                if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
        done
        stop_daemon
        ip netns del "$NS" 2>/dev/null || true
        rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_ns() { ip netns exec "$NS" "$@"; }

# Sum of VmRSS (KiB) of process $1 and all its descendants (from /proc, since
# the api process and the connector workers are children of bulwarkd). With
# $2 = pss, the sum of their Pss instead (smaps_rollup): each shared page
# counted once over the processes that map it, where the RSS sum counts the
# same libraries once per process.
rss_tree_kib() {
        local -A parent=()
        local f line pid fields queue total=0 p c kib
        for f in /proc/[0-9]*/stat; do
                read -r line 2>/dev/null <"$f" || continue
                pid=${f#/proc/}
                pid=${pid%/stat}
                read -ra fields <<<"${line##*) }"
                parent[$pid]=${fields[1]}
        done
        queue=("$1")
        while [ ${#queue[@]} -gt 0 ]; do
                p=${queue[0]}
                queue=("${queue[@]:1}")
                if [ "${2:-rss}" = pss ]; then
                        kib=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null || true)
                else
                        kib=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null || true)
                fi
                total=$((total + ${kib:-0}))
                for c in "${!parent[@]}"; do
                        [ "${parent[$c]}" = "$p" ] && queue+=("$c")
                done
        done
        echo "$total"
}

# Records the peak of rss_tree_kib into $1 every half second until killed.
sample_rss() {
        local out=$1 peak=0 now
        while kill -0 "$DAEMON_PID" 2>/dev/null; do
                now=$(rss_tree_kib "$DAEMON_PID")
                if [ "$now" -gt "$peak" ]; then
                        peak=$now
                        echo "$peak" >"$out"
                fi
                sleep 0.5
        done
}

start_sampler() {
        echo 0 >"$1"
        sample_rss "$1" &
        SAMPLER_PID=$!
}

stop_sampler() {
        kill "$SAMPLER_PID" 2>/dev/null || true
        wait "$SAMPLER_PID" 2>/dev/null || true
        SAMPLER_PID=
}

# Starts bulwarkd on an empty store, so no phase inherits another's backlog.
start_daemon() {
        rm -rf "$SETUP/data"
        mkdir -m 0700 "$SETUP/data"
        # Not through in_ns: $! must be bulwarkd itself (ip netns exec execs it).
        ip netns exec "$NS" "$BULWARKD" --config "$SETUP/bulwark.yaml" >>"$TMP/bulwarkd.log" 2>&1 &
        DAEMON_PID=$!
        local i=0
        until in_ns curl -fsS -o /dev/null --max-time 1 http://127.0.0.1:8080/readyz 2>/dev/null; do
                i=$((i + 1))
                if [ $i -gt 300 ] || ! kill -0 "$DAEMON_PID" 2>/dev/null; then
                        tail -n 20 "$TMP/bulwarkd.log" >&2
                        die "bulwarkd did not become ready"
                fi
                sleep 0.1
        done
}

stop_daemon() {
        [ -n "$DAEMON_PID" ] || return 0
        kill -TERM "$DAEMON_PID" 2>/dev/null || true
        local i=0
        while kill -0 "$DAEMON_PID" 2>/dev/null && [ $i -lt 300 ]; do
                sleep 0.1
                i=$((i + 1))
        done
        kill -KILL "$DAEMON_PID" 2>/dev/null || true
        wait "$DAEMON_PID" 2>/dev/null || true
        DAEMON_PID=
}

loadgen() {
        in_ns "$LOADGEN" --url http://127.0.0.1:8080 --token-file "$SETUP/token" --timeout "$PHASE_TIMEOUT_S" "$@"
}

# On a quiet machine, before any daemon runs; its store lives in $TMP. The human
# lines go to stderr, the JSON object to governor.json.
echo "== $(date +%T) governor decision cost"
"$BENCH_GOVERNOR" --json --dir "$TMP" >"$TMP/governor.json" || die "bulwark-bench-governor failed"

ip netns add "$NS"
ip -n "$NS" link set lo up

SETUP=$TMP/setup
"$BULWARK" init "$SETUP" >/dev/null
sed -i -e "s/^workers: .*/workers: $WORKERS/" -e "s/^  capacity: .*/  capacity: $QUEUE_CAPACITY/" \
        -e "s/^log_level: .*/log_level: warn/" "$SETUP/bulwark.yaml"
grep -q "^  capacity: $QUEUE_CAPACITY\$" "$SETUP/bulwark.yaml" || die "could not adjust the generated configuration"
# Every guard stays on, sized for a load test: the latency phase blocks 20,000
# addresses of 10.0.0.0/8 (which init protects as private space) at 1,000/s,
# far beyond init's rate limits for a small site.
sed -i -e "/^      - 10\.0\.0\.0\/8 /d" \
        -e "s/^    global: {per_minute: .*/    global: {per_minute: 1000000, per_hour: 1000000, per_day: 1000000}/" \
        -e "s/^    nft.block: {per_minute: .*/    nft.block: {per_minute: 1000000}/" "$SETUP/bulwark.yaml"
grep -q "^    nft.block: {per_minute: 1000000}\$" "$SETUP/bulwark.yaml" && ! grep -q "10\.0\.0\.0/8" "$SETUP/bulwark.yaml" ||
        die "could not size the generated governor section for the benchmark"

echo "== $(date +%T) idle"
start_daemon
sleep 2
rss_tree_kib "$DAEMON_PID" >"$TMP/rss_idle"
rss_tree_kib "$DAEMON_PID" pss >"$TMP/pss_idle"

echo "== $(date +%T) single alerts: $SINGLE_CONNECTIONS connections, $SINGLE_TOTAL alerts"
start_sampler "$TMP/rss_single"
loadgen --mode single --connections "$SINGLE_CONNECTIONS" --total "$SINGLE_TOTAL" >"$TMP/single.json" ||
        die "loadgen failed: $(cat "$TMP/single.json")"
stop_sampler
stop_daemon

echo "== $(date +%T) batches: $BATCH_SIZE alerts per request, $BATCH_TOTAL alerts"
start_daemon
start_sampler "$TMP/rss_batch"
loadgen --mode batch --batch "$BATCH_SIZE" --total "$BATCH_TOTAL" >"$TMP/batch.json" ||
        die "loadgen failed: $(cat "$TMP/batch.json")"
stop_sampler
stop_daemon

echo "== $(date +%T) alert -> nft element latency: $LATENCY_RATE alerts/s for $LATENCY_SECONDS s"
start_daemon
start_sampler "$TMP/rss_latency"
mkfifo "$TMP/monitor"
ip netns exec "$NS" nft monitor new elements >"$TMP/monitor" &
MONITOR_PID=$!
loadgen --mode latency --rate "$LATENCY_RATE" --duration "$LATENCY_SECONDS" --nft-fd 3 \
        3<"$TMP/monitor" >"$TMP/latency.json" || die "loadgen failed: $(cat "$TMP/latency.json")"
kill "$MONITOR_PID" 2>/dev/null || true
wait "$MONITOR_PID" 2>/dev/null || true
MONITOR_PID=
stop_sampler
stop_daemon

# storm.py runs its own bulwarkd (its configuration, its store under $TMP/storm)
# in this namespace, replaces the table the latency phase filled, measures its
# RSS itself and stops the daemon before it exits.
echo "== $(date +%T) storm: $STORM_ALERTS failed-login alerts from $STORM_IPS addresses"
in_ns "$PYTHON" "$ROOT/bench/storm.py" --bulwarkd "$BULWARKD" --workdir "$TMP/storm" \
        --alerts "$STORM_ALERTS" --ips "$STORM_IPS" --batch "$BATCH_SIZE" --json >"$TMP/storm.json" ||
        die "storm.py failed: $(cat "$TMP/storm.json")"

"$PYTHON" - "$TMP" "$ROOT/bench/results.json" <<'EOF'
import json, os, platform, sys, time

tmp, out = sys.argv[1], sys.argv[2]
def load(name):
    with open(os.path.join(tmp, name)) as f:
        return json.load(f)
def kib(name):
    with open(os.path.join(tmp, name)) as f:
        return int(f.read().strip() or 0)

single, batch, latency = load("single.json"), load("batch.json"), load("latency.json")
governor, storm = load("governor.json"), load("storm.json")
rss_idle = kib("rss_idle") / 1024
pss_idle = kib("pss_idle") / 1024
rss_load = max(kib("rss_single"), kib("rss_batch"), kib("rss_latency")) / 1024
nft = latency.get("nft_latency_ms") or {}
rows = [
    ("single-alert acceptance", single["alerts_per_s"], ">=", 20000, "alerts/s"),
    ("batch acceptance", batch["alerts_per_s"], ">=", 100000, "alerts/s"),
    ("alert -> nft p50", nft.get("p50"), None, None, "ms"),
    ("alert -> nft p99", nft.get("p99"), "<", 10, "ms"),
    ("alert -> nft never appeared", latency["never_appeared"], "==", 0, "alerts"),
    ("RSS idle (sum over processes)", round(rss_idle, 1), "<", 32, "MiB"),
    ("PSS idle, all processes", round(pss_idle, 1), "<", 40, "MiB"),
    ("RSS under load (peak)", round(rss_load, 1), None, None, "MiB"),
    ("storm: all addresses blocked", storm["seconds_to_all_blocked"], "<", 1, "s"),
    ("storm: all batches acknowledged", storm["seconds_to_accepted"], None, None, "s"),
    ("storm: queue drained", storm["seconds_to_drained"], None, None, "s"),
    ("storm: CPU, daemon + workers", storm["cpu_seconds"], None, None, "s"),
    ("storm: peak RSS", storm["peak_rss_mib"], "<", 50, "MiB"),
    ("governor check, 1 IP", round(governor["check_1ip_ns"], 1), None, None, "ns"),
    ("governor check, 20 IPs", round(governor["check_20ip_ns"], 1), None, None, "ns"),
    ("governor check, 5 accounts", round(governor["check_5acct_ns"], 1), None, None, "ns"),
    ("budget reserve, batched", round(governor["reserve_batched_us"], 2), None, None, "us"),
    ("governor decision, batched", round(governor["decision_total_us"], 2), "<", 5, "us"),
    ("permit mint + valid", round(governor["permit_ns"], 1), None, None, "ns"),
]
def met(v, op, t):
    if op is None or v is None:
        return None
    return {">=": v >= t, "<": v < t, "==": v == t}[op]
results = {
    "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "machine": {"cpus": os.cpu_count(), "kernel": platform.release()},
    "single": single, "batch": batch, "latency": latency,
    "rss_mib": {"idle": round(rss_idle, 1), "pss_idle": round(pss_idle, 1), "load_peak": round(rss_load, 1)},
    "governor": governor,
    "storm": storm,
    "targets": [{"metric": m, "value": v, "target": None if op is None else f"{op} {t} {u}",
                 "met": met(v, op, t)} for m, v, op, t, u in rows],
}
with open(out, "w") as f:
    json.dump(results, f, indent=2)
    f.write("\n")
print(f"{'metric':30} {'value':>12}  {'target':16} result")
for m, v, op, t, u in rows:
    ok = met(v, op, t)
    target = "" if op is None else f"{op} {t} {u}"
    value = "-" if v is None else f"{v} {u}"
    print(f"{m:30} {value:>12}  {target:16} {'' if ok is None else 'met' if ok else 'MISSED'}")
errors = sum(x.get("transport_errors", 0) + x.get("protocol_errors", 0) for x in (single, batch, latency))
print(f"status codes: single {single['status']}, batch {batch['status']}, latency {latency['status']}; "
      f"transport/protocol errors: {errors}")
print(f"results: {out}")
EOF
