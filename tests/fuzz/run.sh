#!/usr/bin/env bash
# run.sh OUTDIR SECONDS: builds every fuzz target (tests/fuzz/fuzz_*.cpp) with libFuzzer, ASan and
# UBSan, and runs each for SECONDS on a copy of its seed corpus (tests/fuzz/corpus/<name>), so
# new inputs never land in the repository. A crash fails the run and leaves the input in OUTDIR.
# A target names what else it needs in comment lines of its own:
#   // fuzz-sources: plugins/wireguard/messages.cpp plugins/wireguard/crypto.cpp   (from the top)
#   // fuzz-flags: -Iplugins/wireguard -lcrypto -lsodium
set -euo pipefail
out=$1
seconds=$2
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
sdk=$top/sdk/include
mkdir -p "$out"
for src in "$here"/fuzz_*.cpp; do
  name=$(basename "$src" .cpp)
  name=${name#fuzz_}
  sources=$(sed -n 's|^// fuzz-sources:||p' "$src" | sed "s|\([^ ]\+\)|$top/\1|g")
  flags=$(sed -n 's|^// fuzz-flags:||p' "$src" | sed "s|-I\([^/][^ ]*\)|-I$top/\1|g")
  # shellcheck disable=SC2086 # word splitting of the lists is wanted
  ccache clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I"$sdk" "$src" $sources $flags -o "$out/fuzz_$name"
  rm -rf "$out/corpus_$name"
  mkdir -p "$out/corpus_$name"
  cp -r "$here/corpus/$name/." "$out/corpus_$name/" 2>/dev/null || true
  # Undefined behaviour stops the run as a crash does (and leaves its input).
  (cd "$out" && UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ./"fuzz_$name" -max_total_time="$seconds" -print_final_stats=1 "corpus_$name" 2>&1 |
    grep -E "stat::number_of_executed_units|ERROR|SUMMARY|runtime error" || true)
  (cd "$out" && ! ls crash-* leak-* timeout-* >/dev/null 2>&1) || { echo "fuzz_$name found a crash in $out"; exit 1; }
  echo "fuzz_$name: clean after ${seconds}s"
done
