#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs every libFuzzer harness for a bounded time on a scratch copy of its seed
# corpus (fuzz/corpus-run/, ignored by git), replaying fuzz/regress/ too, and
# fails if any harness finds a crash, leak or timeout. Findings are left in
# fuzz/corpus-run/<name>/artifacts/; commit each one under fuzz/regress/<name>/
# with the fix.
#
# usage: fuzz/run.sh SECONDS BUILDDIR
#   BUILDDIR configured with:
#   CC=clang meson setup BUILDDIR -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false -Dtests=false
set -eu

if [ $# -ne 2 ]; then
        echo "usage: $0 SECONDS BUILDDIR" >&2
        exit 2
fi
seconds=$1
builddir=$2
case $seconds in
''|*[!0-9]*) echo "$0: SECONDS must be a positive integer" >&2; exit 2 ;;
esac
here=$(cd "$(dirname "$0")" && pwd)
run_root=$here/corpus-run

# Only the harnesses (and what they link): the rest of the tree is not needed.
mkdir -p "$run_root"
if ! ninja -C "$builddir" fuzz/fuzz_alert fuzz/fuzz_template fuzz/fuzz_playbook fuzz/fuzz_config fuzz/fuzz_ipc fuzz/fuzz_wire \
        >"$run_root/build.log" 2>&1; then
        echo "$0: building the harnesses failed; see $run_root/build.log" >&2
        grep -E 'error|FAILED' "$run_root/build.log" | head -n 20 >&2
        exit 2
fi

failed=""
# name:max_len. The bounds follow the inputs' real limits: alerts, files and IPC
# bodies are larger in production, but the parsers' interesting states need far
# fewer bytes (16 KiB holds a batch of several actions with their snapshots).
for spec in alert:8192 template:300 playbook:8192 config:8192 ipc:16384 wire:16384; do
        name=${spec%%:*}
        max_len=${spec#*:}
        exe=$builddir/fuzz/fuzz_$name
        if [ ! -x "$exe" ]; then
                echo "$0: $exe is missing (configure with -Dfuzz=true)" >&2
                exit 2
        fi
        work=$run_root/$name
        rm -rf "$work"
        mkdir -p "$work/corpus" "$work/artifacts"
        cp "$here/corpus/$name"/* "$work/corpus/"
        echo "== fuzz_$name: ${seconds}s"
        if "$exe" -max_total_time="$seconds" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
                -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
                "$work/corpus" "$here/regress/$name" >"$work/log" 2>&1; then
                tail -n 12 "$work/log" | grep -E '^(stat::number_of_executed_units|Done)' || true
        else
                echo "fuzz_$name FAILED; see $work/log and $work/artifacts/" >&2
                tail -n 40 "$work/log" >&2
                failed="$failed $name"
        fi
done

if [ -n "$failed" ]; then
        echo "failing harnesses:$failed" >&2
        exit 1
fi
echo "all harnesses ran ${seconds}s without findings"
