#!/bin/sh
# model/check.sh: verifies the governor model with spin (every property holds, every mutant is caught), or writes its decision traces.
# SPDX-License-Identifier: Apache-2.0
#
#   model/check.sh                 exhaustive checks (make model): exit 1 if a
#                                  property fails, a search is incomplete, or a
#                                  mutant survives
#   model/check.sh --traces DIR    random simulations -> DIR/decisions.txt
#                                  (the committed one: --traces model)
#
# Everything spin and pan write goes to a temporary directory, removed at exit.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
model="$here/governor.pml"
# Bounds of every pan run: search depth (the model's deepest path is ~250
# steps) and memory in MB. A run that reaches either is a failure, never a pass.
depth=10000
memlim=2048

if ! command -v spin >/dev/null 2>&1; then
        echo "model: spin is not installed (scripts/deps.sh installs it)" >&2
        exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bulwark-model.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

fail=0
runs=0

# build DIR CFLAGS FILE [SPIN FLAGS...]: spin -a and gcc into $tmp/DIR/pan.
build() {
        d="$tmp/$1" cflags=$2 file=$3
        shift 3
        mkdir -p "$d"
        # shellcheck disable=SC2086
        if ! (cd "$d" && spin "$@" -a "$file" >spin.out 2>&1 && gcc -w $cflags -o pan pan.c >gcc.out 2>&1); then
                echo "model: cannot build $1 (spin $* -a $file):" >&2
                cat "$d/spin.out" "$d/gcc.out" >&2 2>/dev/null || true
                exit 1
        fi
}

# verify DIR CLAIM WANT LABEL: runs pan; WANT is "holds" (errors: 0, search
# complete) or "fails" (the claim violated). Prints one line per run.
verify() {
        d="$tmp/$1" claim=$2 want=$3 label=$4
        out="$d/pan.$claim.out"
        if [ "$claim" = - ]; then
                (cd "$d" && ./pan -m"$depth") >"$out" 2>&1 || true
        else
                (cd "$d" && ./pan -m"$depth" -N "$claim") >"$out" 2>&1 || true
        fi
        runs=$((runs + 1))
        errors=$(sed -n 's/.*errors: \([0-9][0-9]*\).*/\1/p' "$out" | head -n 1)
        states=$(sed -n 's/^ *\([0-9][0-9.e+]*\) states, stored.*/\1/p' "$out" | head -n 1)
        secs=$(sed -n 's/^pan: elapsed time \([0-9][0-9.e+]*\) seconds.*/\1/p' "$out" | head -n 1)
        incomplete=""
        if grep -q -e 'Search not completed' -e 'max search depth too small' -e 'out of memory' \
                -e 'reached -DMEMLIM bound' "$out"; then
                incomplete=yes
        fi
        verdict=""
        case "$want" in
        holds)
                if [ "${errors:-x}" = 0 ] && [ -z "$incomplete" ]; then
                        verdict="holds"
                elif [ -n "$incomplete" ] && [ "${errors:-x}" = 0 ]; then
                        verdict="FAILED: search incomplete (depth or memory bound)"
                else
                        verdict="FAILED: errors ${errors:-?}"
                fi
                ;;
        fails)
                # Under -DSAFETY a violated claim reports as the assertion of the
                # negated claim; any other error (an array index) does not count.
                if [ "${errors:-0}" != 0 ] && grep -q 'assertion violated  *!( !(' "$out"; then
                        verdict="caught (errors ${errors})"
                else
                        verdict="FAILED: the mutant passed (errors ${errors:-?})"
                fi
                ;;
        esac
        case "$verdict" in
        FAILED*)
                fail=1
                sed -n '1,40p' "$out" >&2
                ;;
        esac
        printf 'model: %-40s %-5s %-34s %10s states %7s s\n' "$label" "$claim" "$verdict" "${states:-?}" "${secs:-?}"
}

check() {
        t0=$(date +%s)
        opt="-O2 -DSAFETY -DMEMLIM=$memlim"

        # The main configuration: two workers, clock 0..3. One run per property,
        # and one without a claim for deadlocks (invalid end states) and assertions.
        build main "$opt" "$model"
        build main_noclaim "$opt -DNOCLAIM" "$model"
        verify main_noclaim - holds "main NW=2 TMAX=3 (end states, asserts)"
        for p in p1 p2 p3 p4 p5; do
                verify main "$p" holds "main NW=2 TMAX=3"
        done

        # Three workers, clock 0..2: the five properties as one claim (pall).
        build workers3 "$opt -DCOLLAPSE" "$model" -DNW=3 -DTMAX=2
        verify workers3 pall holds "main NW=3 TMAX=2"

        # Defence in depth: with the store's separation-of-duties check removed,
        # governor_decide's own check still keeps P3.
        build sod_store "$opt" "$model" -DMUTANT_NO_SOD_STORE
        verify sod_store p3 holds "main without the store's SoD check"

        # Every mutant must be caught on the property it names ("expect:").
        for m in "$here"/mutants/*.pml; do
                if [ ! -f "$m" ]; then
                        echo "model: no mutants in $here/mutants" >&2
                        fail=1
                        break
                fi
                name=$(basename "$m" .pml)
                claims=$(sed -n 's|^/\* expect: \([a-z0-9 ]*\) \*/$|\1|p' "$m")
                if [ -z "$claims" ]; then
                        echo "model: $m has no /* expect: pN */ line" >&2
                        fail=1
                        continue
                fi
                build "mutant_$name" "-O0 -DSAFETY -DMEMLIM=$memlim" "$m"
                for p in $claims; do
                        verify "mutant_$name" "$p" fails "mutant $name"
                done
        done

        t1=$(date +%s)
        if [ "$fail" != 0 ]; then
                echo "model: FAILED ($runs runs, $((t1 - t0)) s)" >&2
                exit 1
        fi
        echo "model: all $runs runs as expected in $((t1 - t0)) s"
}

# Random simulations with fixed seeds: every pair of action kinds (K0 <= K1,
# model/governor.pml), under five parameter sets; the DECIDE lines, sorted and
# unique, are the tuples a C replay test feeds to governor_decide.
traces() {
        dir=$1
        [ -d "$dir" ] || { echo "model: $dir is not a directory" >&2; exit 1; }
        out="$(cd "$dir" && pwd)/decisions.txt"
        seeds=20
        steps=5000
        cd "$tmp"
        : >raw
        for set in a b c d e; do
                case $set in
                a) flags="" ;;
                # one worker: actions run one after the other, so a second action
                # on the same target finds the first in effect (satisfied)
                b) flags="-DNW=1 -DTMAX=4 -DLIMIT=2" ;;
                c) flags="-DNW=3 -DTMAX=6 -DWLEN=3 -DLIMIT=2 -DCEIL=3 -DTIMEOUT=3 -DGRANT_VALID=2" ;;
                # the store lets the requester approve: governor_decide must refuse it
                d) flags="-DMUTANT_NO_SOD_STORE" ;;
                # the breaker is open from the start (an earlier storm)
                e) flags="-DBREAKER_OPEN" ;;
                esac
                k0=0
                while [ $k0 -le 5 ]; do
                        k1=$k0
                        while [ $k1 -le 5 ]; do
                                s=1
                                while [ $s -le $seeds ]; do
                                        # shellcheck disable=SC2086
                                        spin -T -n"$s" -u"$steps" $flags -DK0=$k0 -DK1=$k1 "$model" \
                                                2>/dev/null | grep '^DECIDE ' >>raw || true
                                        s=$((s + 1))
                                done
                                k1=$((k1 + 1))
                        done
                        k0=$((k0 + 1))
                done
        done
        {
                echo "# model/decisions.txt: governor_decide tuples from random simulations of model/governor.pml; format in model/README.md."
                echo "# Generated by ./model/check.sh --traces model (fixed seeds: the same spin gives the same file). Lines starting with # are comments."
                LC_ALL=C sort -u raw
        } >"$out"
        echo "model: $(grep -c '^DECIDE ' "$out") decision tuples written to $out"
}

case "${1:-}" in
"") check ;;
--traces)
        [ $# = 2 ] || { echo "usage: $0 [--traces DIR]" >&2; exit 2; }
        traces "$2"
        ;;
*)
        echo "usage: $0 [--traces DIR]" >&2
        exit 2
        ;;
esac
