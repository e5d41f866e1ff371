#!/usr/bin/env bash
# Every test, from a fresh machine: installs what is missing, builds, and runs
#   1. the unit, rig and namespace tests (ctest, warnings as errors);
#   2. the unit and rig tests again under AddressSanitizer + UndefinedBehaviorSanitizer, and the
#      host's tests (worker, loop, pipeline, crew; the worker driven from other threads) and the
#      wireguard edge sealing and opening on a crew under ThreadSanitizer;
#   3. the SDK built and installed alone, and the out-of-tree example plugin against it, with its
#      own tests;
#   4. each fuzz target for a bounded time.
# Namespace tests need root; without it they are skipped, not failed.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# ctest ARGS...: runs ctest and keeps its summary for the closing line.
run_ctest() { ctest "$@" | tee -a "$log"; }

bash .ci/install-deps.sh

echo "== build"
bash .ci/build.sh build
echo "== tests"
run_ctest --test-dir build --output-on-failure -j"$(nproc)"

echo "== unit and rig tests under ASan+UBSan"
bash .ci/build.sh build-asan -DWAYGATE_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
ASAN_OPTIONS=detect_leaks=1 run_ctest --test-dir build-asan --output-on-failure -j"$(nproc)" -LE integration

echo "== host tests and the wireguard edge's crew under TSan"
[[ -f build-tsan/build.ninja ]] ||
  cmake -S . -B build-tsan -G Ninja -DWAYGATE_WERROR=ON -DWAYGATE_TSAN=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
ninja -C build-tsan host_test wireguard_test
TSAN_OPTIONS=halt_on_error=1 build-tsan/tests/host_test --gtest_brief=1
TSAN_OPTIONS=halt_on_error=1 build-tsan/plugins/wireguard/wireguard_test --gtest_brief=1 --gtest_filter='WireGuardEdge.ACrew*'

echo "== the SDK built and installed alone, and the example plugin against it"
rm -rf build/sdk-alone build/sdk-install build/example
cmake -S sdk -B build/sdk-alone -G Ninja -DCMAKE_CXX_FLAGS="-Wall -Wextra -Wpedantic -Werror" >/dev/null
ninja -C build/sdk-alone >/dev/null
cmake --install build/sdk-alone --prefix build/sdk-install >/dev/null
# Its host_check runs this tree's host, which loads the stock plugins beside it.
cmake -S examples/port-filter -B build/example -G Ninja -DCMAKE_PREFIX_PATH="$top/build/sdk-install" \
  -DWAYGATE_HOST="$top/build/waygate" -DCMAKE_CXX_FLAGS="-Wall -Wextra -Wpedantic -Werror" >/dev/null
ninja -C build/example
run_ctest --test-dir build/example --output-on-failure

echo "== fuzzing, ${FUZZ_SECONDS}s per target"
bash tests/fuzz/run.sh build/fuzz "$FUZZ_SECONDS"

# One closing line over every ctest run above (each already failed the script if a test failed).
awk '/tests passed, [0-9]+ tests failed out of/ {total += $NF; failed += $4}
     END {printf "all suites: %d passed, %d failed\n", total - failed, failed}' "$log"
