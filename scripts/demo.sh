#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The demo: `bulwark init` a set-up under ./demo, start bulwarkd on loopback in a
# network namespace of its own (so the nftables set it fills is the namespace's,
# not this machine's), send the sample alert and show its IP in the real set.
# Usage: demo.sh [BUILDDIR] | demo.sh --stop
set -eu
cd "$(dirname "$0")/.."
NS=bulwark-demo
DIR=$(pwd)/demo
PIDFILE=$DIR/bulwarkd.pid

stop() {
        if [ -f "$PIDFILE" ]; then
                kill "$(cat "$PIDFILE")" 2>/dev/null || true
                rm -f "$PIDFILE"
        fi
        ip netns del "$NS" 2>/dev/null || true
}

if [ "${1:-}" = "--stop" ]; then
        stop
        echo "demo stopped"
        exit 0
fi

BUILD=$(cd "${1:-build}" && pwd)
BULWARK="$BUILD/src/cli/bulwark"
BULWARKD="$BUILD/src/cmd/bulwarkd"
[ "$(id -u)" = 0 ] || { echo "demo: run as root (it creates a network namespace)" >&2; exit 1; }

stop
rm -rf "$DIR"
"$BULWARK" init "$DIR"
ip netns add "$NS"
ip -n "$NS" link set lo up

in_ns() { ip netns exec "$NS" "$@"; }

echo "== starting bulwarkd in network namespace $NS (log: demo/bulwarkd.log)"
ip netns exec "$NS" "$BULWARKD" --config "$DIR/bulwark.yaml" </dev/null >"$DIR/bulwarkd.log" 2>&1 &
echo $! >"$PIDFILE"

export BULWARK_TOKEN_FILE="$DIR/token"
i=0
until in_ns curl -fsS http://127.0.0.1:8080/readyz >/dev/null 2>&1; do
        i=$((i + 1))
        if [ $i -gt 100 ]; then
                echo "demo: bulwarkd did not become ready; its log:" >&2
                cat "$DIR/bulwarkd.log" >&2
                exit 1
        fi
        sleep 0.1
done

echo "== sending demo/alerts/sample.json"
in_ns "$BULWARK" alert send "$DIR/alerts/sample.json"
echo
i=0
until in_ns "$BULWARK" exec list --json | grep -q '"status":"succeeded"'; do
        i=$((i + 1))
        if [ $i -gt 100 ]; then
                echo "demo: the execution did not succeed; its log:" >&2
                cat "$DIR/bulwarkd.log" >&2
                exit 1
        fi
        sleep 0.1
done
echo "== executions"
in_ns "$BULWARK" exec list
echo
echo "== the nftables set in namespace $NS"
in_ns nft list set inet bulwark blocklist_v4
if in_ns nft list set inet bulwark blocklist_v4 | grep -q '203.0.113.7'; then
        echo
        echo "demo: 203.0.113.7 is blocked. bulwarkd keeps running (pid $(cat "$PIDFILE"))."
        echo "Try:  ip netns exec $NS env BULWARK_TOKEN_FILE=$DIR/token $BULWARK exec show 1"
        echo "Stop: make demo-stop"
else
        echo "demo: 203.0.113.7 is NOT in the set" >&2
        exit 1
fi
