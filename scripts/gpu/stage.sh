#!/usr/bin/env bash
# Copies this source tree (no .git, build folders or tests/data) to DEST, to
# carry it to a CUDA machine beside a checkout that already holds tests/data.
#
#   scripts/gpu/stage.sh DEST
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dest=${1:?usage: stage.sh DEST}
rm -rf "$dest"
mkdir -p "$dest"
tar -C "$root" --exclude=./.git --exclude='./build*' --exclude=./tests/data -cf - . | tar -C "$dest" -xf -
