#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Checks packaging/: the unit passes `systemd-analyze verify` without a single
# message, its `systemd-analyze security` exposure is at most
# BULWARK_MAX_EXPOSURE (default 1.9, the floor this unit can reach: see
# packaging/README.md) with no exposure beyond the known ones listed below,
# its capabilities are exactly the four it needs, and the sysusers.d and
# tmpfiles.d files apply cleanly to an empty root.
#
# Needs no running systemd (PID 1 may be anything: a container) and changes
# nothing outside a temporary directory. The unit's /usr/sbin/bulwarkd is
# pointed at the built binary: BULWARK_BUILD (a build directory, as for the
# e2e tests, or the binary itself), else build/src/cmd/bulwarkd.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
unit="$here/bulwarkd.service"
max=${BULWARK_MAX_EXPOSURE:-1.9}

# The exposures this unit accepts, each for a reason given in the unit's
# comments: the capabilities and sockets the daemon needs, no private network
# or user namespace (nftables edits the host's firewall), the workers' set-uid
# calls, ProtectClock='s /dev/rtc read access, a loopback-only IP allow list,
# and the host's root directory.
known='SystemCallFilter=~@privileged
RootDirectory=/RootImage=
AmbientCapabilities=
CapabilityBoundingSet=~CAP_SET(UID|GID|PCAP)
CapabilityBoundingSet=~CAP_NET_ADMIN
CapabilityBoundingSet=~CAP_KILL
RestrictAddressFamilies=~AF_NETLINK
RestrictAddressFamilies=~AF_UNIX
RestrictAddressFamilies=~AF_(INET|INET6)
PrivateNetwork=
PrivateUsers=
DeviceAllow=
IPAddressDeny='

fail() {
        echo "packaging/check.sh: $*" >&2
        exit 1
}

command -v systemd-analyze >/dev/null 2>&1 || fail "systemd-analyze not found (apt-get install systemd)"

build=${BULWARK_BUILD:-$top/build}
if [ -f "$build" ]; then bin=$build; else bin=$build/src/cmd/bulwarkd; fi
case $bin in /*) ;; *) bin=$(pwd)/$bin ;; esac
[ -x "$bin" ] || fail "$bin: no daemon binary (build first: make build, or set BULWARK_BUILD)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bulwark-unit.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir "$tmp/unit" "$tmp/root" "$tmp/root/etc"

# The same file under the same name, with the installed path of the binary
# replaced by the built one (verify checks that ExecStart= is executable).
sed "s|/usr/sbin/bulwarkd|$bin|g" "$unit" >"$tmp/unit/bulwarkd.service"

# 1. verify: exit status and output. Unknown keys or system calls are only
#    warnings to it (exit 0), so any output at all is a failure.
LC_ALL=C systemd-analyze verify --man=no "$tmp/unit/bulwarkd.service" >"$tmp/verify" 2>&1 || {
        cat "$tmp/verify" >&2
        fail "systemd-analyze verify failed"
}
if [ -s "$tmp/verify" ]; then
        cat "$tmp/verify" >&2
        fail "systemd-analyze verify reported the messages above"
fi
echo "verify: ok"

# 2. The capabilities: exactly these, in both sets.
for key in CapabilityBoundingSet AmbientCapabilities; do
        lines=$(grep -c "^$key=" "$unit" || true)
        if [ "$lines" != 1 ] || ! grep -qx "$key=CAP_NET_ADMIN CAP_SETUID CAP_SETGID CAP_KILL" "$unit"; then
                fail "$key= must be set once, to exactly CAP_NET_ADMIN CAP_SETUID CAP_SETGID CAP_KILL"
        fi
done

# 3. security: the overall exposure and each exposure. The table's columns
#    (with SYSTEMD_ANALYZE_DEBUG=1) end in weight, badness, range and, for an
#    exposure, its share; the glyphs in front depend on the locale.
LC_ALL=C SYSTEMD_ANALYZE_DEBUG=1 systemd-analyze security --offline=yes "$tmp/unit/bulwarkd.service" \
        >"$tmp/security" 2>&1 || {
        cat "$tmp/security" >&2
        fail "systemd-analyze security failed"
}
score=$(sed -n 's/.*Overall exposure level for bulwarkd\.service: \([0-9][0-9]*\.[0-9]\) .*/\1/p' "$tmp/security")
[ -n "$score" ] || {
        cat "$tmp/security" >&2
        fail "no overall exposure level in the output above"
}
awk 'NR > 1 && $NF ~ /^[0-9]+\.[0-9]$/ && $(NF-2) > 0 { sub(/^[^A-Za-z]*/, ""); print $1 }' \
        "$tmp/security" >"$tmp/exposed"
new=$(printf '%s\n' "$known" | grep -Fvx -f - "$tmp/exposed" || true)
echo "security: exposure $score (at most $max), exposed: $(tr '\n' ' ' <"$tmp/exposed")"
[ -z "$new" ] || fail "exposures beyond the known ones: $(echo "$new" | tr '\n' ' ')"
# One decimal each: compare tenths as integers.
tenths() { echo "$1" | awk -F. '{ print $1 * 10 + ($2 == "" ? 0 : substr($2, 1, 1)) }'; }
[ "$(tenths "$score")" -le "$(tenths "$max")" ] || fail "exposure $score is above $max"

# 4. sysusers.d and tmpfiles.d, applied to an empty root: the user exists, the
#    directories get their owners and modes, and no line is refused.
systemd-sysusers --root="$tmp/root" "$here/sysusers.d/bulwark.conf" >"$tmp/sysusers" 2>&1 || {
        cat "$tmp/sysusers" >&2
        fail "systemd-sysusers refused sysusers.d/bulwark.conf"
}
uid=$(awk -F: '$1 == "bulwark" { print $3 }' "$tmp/root/etc/passwd")
gid=$(awk -F: '$1 == "bulwark" { print $3 }' "$tmp/root/etc/group")
if [ -z "$uid" ] || [ -z "$gid" ]; then
        fail "sysusers.d/bulwark.conf did not create the user and group bulwark"
fi
systemd-tmpfiles --root="$tmp/root" --create "$here/tmpfiles.d/bulwark.conf" >"$tmp/tmpfiles" 2>&1 || {
        cat "$tmp/tmpfiles" >&2
        fail "systemd-tmpfiles refused tmpfiles.d/bulwark.conf"
}
if [ -s "$tmp/tmpfiles" ]; then
        cat "$tmp/tmpfiles" >&2
        fail "systemd-tmpfiles reported the messages above"
fi
for want in "etc/bulwark 750 0 $gid" "etc/bulwark/playbooks 750 0 $gid" "var/lib/bulwark 700 $uid $gid" \
        "etc/credstore 700 0 0"; do
        # shellcheck disable=SC2086 # four words: path, mode, uid, gid
        set -- $want
        got=$(stat -c '%a %u %g' "$tmp/root/$1")
        [ "$got" = "$2 $3 $4" ] || fail "/$1: mode and owner $got, expected $2 $3 $4"
done
echo "sysusers.d, tmpfiles.d: ok"
echo "packaging/check.sh: all checks passed"
