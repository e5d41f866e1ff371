#!/usr/bin/env bash
# build.sh DIR [cmake options...]: configures (once) and builds Waygate into DIR with Ninja and
# ccache. Warnings are errors.
set -euo pipefail
dir=$1
shift
top=$(cd "$(dirname "$0")/.." && pwd)
if [[ ! -f $dir/build.ninja ]]; then
  cmake -S "$top" -B "$dir" -G Ninja -DWAYGATE_WERROR=ON "$@" >/dev/null
fi
ninja -C "$dir" -j"$(nproc)"
