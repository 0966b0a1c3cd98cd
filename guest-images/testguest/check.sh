#!/usr/bin/env bash
# Rebuilds the test guest into a scratch directory and fails if the committed
# testguest.elf, testguest.img or the demo copy in Sources/CDemoGuest differ from it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$here/build.sh" "$work"
status=0
for pair in "testguest.elf:$here/testguest.elf" "testguest.img:$here/testguest.img" \
            "demo-testguest.elf:$root/Sources/CDemoGuest/testguest.elf"; do
    name=${pair%%:*} committed=${pair#*:}
    if ! cmp -s "$work/$name" "$committed"; then
        echo "check.sh: $committed differs from a fresh build; run guest-images/testguest/build.sh and commit" >&2
        status=1
    fi
done
[ $status -eq 0 ] && echo "check.sh: the committed test guest matches a fresh build"
exit $status
