#!/usr/bin/env bash
# Drives SwiftVMM with an existing Firecracker client from PyPI, unchanged: pyrecracker
# (pinned below), installed into a virtual environment, starts SwiftVMM as the
# `firecracker` it finds on PATH (a link to swiftvmm) and runs the test guest through
# its whole life (scripts/firecracker-client-check.py says what of the client is used).
#
#   scripts/firecracker-client-check.sh [SWIFTVMM]     (default: .build/debug/swiftvmm)
#
# pyrecracker needs Python 3.12 or later; the script uses the first it finds (python3.13,
# python3.12, pyenv's, python3). It starts `sudo firecracker`: where sudo is not
# installed and we are root, a stand-in that runs the command as it is goes on PATH.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
swiftvmm=$(realpath "${1:-.build/debug/swiftvmm}")
[ -x "$swiftvmm" ] || { echo "firecracker-client-check: $swiftvmm is not built (swift build)" >&2; exit 1; }
package=pyrecracker==0.6.4

python=
for candidate in python3.13 python3.12 $(ls -d "$HOME"/.pyenv/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -r) python3; do
    command -v "$candidate" >/dev/null || continue
    if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then python=$(command -v "$candidate"); break; fi
done
[ -n "$python" ] || { echo "firecracker-client-check: $package needs Python 3.12 or later, and none is installed" >&2; exit 1; }

work=$root/.build/firecracker-client
mkdir -p "$work"
if [ ! -x "$work/venv/bin/python" ] || ! "$work/venv/bin/python" -c 'import pyrecracker' 2>/dev/null; then
    echo "firecracker-client-check: $python -m venv $work/venv; pip install $package" >&2
    rm -rf "$work/venv"
    "$python" -m venv "$work/venv"
    "$work/venv/bin/pip" install --quiet --disable-pip-version-check "$package"
fi

# What the client runs: `sudo firecracker --api-sock PATH`.
bin=$work/bin
rm -rf "$bin" && mkdir -p "$bin"
ln -s "$swiftvmm" "$bin/firecracker"
if ! command -v sudo >/dev/null; then
    [ "$(id -u)" -eq 0 ] || { echo "firecracker-client-check: the client runs 'sudo firecracker'; install sudo" >&2; exit 1; }
    printf '#!/bin/sh\n# sudo, for root: run the command as it is.\nexec "$@"\n' >"$bin/sudo"
    chmod +x "$bin/sudo"
fi
PATH=$bin:$PATH exec "$work/venv/bin/python" scripts/firecracker-client-check.py \
    "$root/guest-images/testguest/testguest.elf"
