#!/usr/bin/env bash
# abi_version_test.sh SDK_INCLUDE BUILT_VERSION: the SDK's ABI version is the one its public
# headers give (the built host's is not stale), it changes when what a plugin compiles against
# changes (a field added to a public struct), and not when only a comment or the layout of the
# text does.
set -euo pipefail
include=$1 built=$2
script=$(dirname "$0")/../../sdk/cmake/WaygateAbi.cmake
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
version() { cmake -DINCLUDE="$1" -P "$script" 2>&1; }
fail() { echo "FAIL: $*"; exit 1; }

now=$(version "$include")
[[ $now =~ ^[0-9a-f]{8}$ ]] || fail "not a version: $now"
[[ $now == "$built" ]] || fail "the headers give $now, the build has $built"

cp -r "$include" "$work/comment"
printf '\n// a comment, and\n\n   \n' >>"$work/comment/waygate/packet.hpp"
sed -i 's|^namespace waygate {$|namespace   waygate   {  /* reflowed */|' "$work/comment/waygate/packet.hpp"
[[ $(version "$work/comment") == "$now" ]] || fail "a comment changed the ABI version"

cp -r "$include" "$work/field"
sed -i 's|  std::uint32_t flow_hash = 0; |  std::uint32_t flow_hash = 0;\n  std::uint32_t mark = 0;|' "$work/field/waygate/packet.hpp"
grep -q "mark = 0" "$work/field/waygate/packet.hpp" || fail "the test's edit did not apply"
[[ $(version "$work/field") != "$now" ]] || fail "a field added to Meta left the ABI version as it was"
echo "ok: ABI $now; a comment keeps it, a field added to Meta changes it"
