#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Source rules that a compiler does not check (docs/coding-style.md):
#  1. the dependency rule of docs/architecture.md: a folder of src/ includes only
#     headers of the folders before it;
#  2. banned functions (curl's list): sprintf, vsprintf, strcpy, strcat, gets,
#     atoi, atol, system, popen;
#  3. every source file starts with an SPDX line.
set -eu
cd "$(dirname "$0")/.."
fail=0

# The tracked files, or (outside a git checkout) the same patterns found on disk.
files() {
        if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
                git ls-files "$@"
        else
                for pat in "$@"; do
                        find "$(dirname "$pat")" -name "$(basename "$pat")" -type f 2>/dev/null
                done | sort -u
        fi
}

rank() {
        case "$1" in
        util) echo 0 ;; sandbox) echo 1 ;; core) echo 2 ;; connectors) echo 3 ;; config) echo 4 ;;
        store) echo 5 ;; engine) echo 6 ;; api) echo 7 ;; front | parent) echo 8 ;; cmd | cli) echo 9 ;; *) echo 99 ;;
        esac
}

for f in $(files 'src/*.c' 'src/*.h'); do
        dir=$(echo "$f" | cut -d/ -f2)
        mine=$(rank "$dir")
        for inc in $(sed -n 's/^#include "\([a-z]*\)\/.*"/\1/p' "$f" | sort -u); do
                theirs=$(rank "$inc")
                if [ "$inc" != "$dir" ] && { [ "$theirs" -ge "$mine" ] || [ "$theirs" = 99 ]; }; then
                        echo "$f: includes $inc/, which $dir/ may not use (docs/architecture.md)"
                        fail=1
                fi
        done
done

banned='\b(sprintf|vsprintf|strcpy|strcat|gets|atoi|atol|system|popen)[[:space:]]*\('
if files 'src/*.c' 'src/*.h' 'bench/*.c' | xargs grep -nE "$banned" | grep -vE '^\S+:[0-9]+:\s*(/\*|\*)'; then
        echo "banned functions above (use util/strutil.h, util/buf.h, snprintf)"
        fail=1
fi

for f in $(files 'src/*.c' 'src/*.h' 'tests/*.c' 'fuzz/*.c' 'bench/*.c'); do
        if ! head -n 1 "$f" | grep -q 'SPDX-License-Identifier'; then
                echo "$f: first line is not an SPDX line"
                fail=1
        fi
done

[ $fail = 0 ] && echo "lint: layering, banned functions and SPDX lines are clean"
exit $fail
