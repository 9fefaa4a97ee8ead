#!/usr/bin/env bash
# Builds every fuzz target and runs each for FUZZ_SECONDS (default 10)
# from its seed corpus in fuzz/corpus/<target>, with the nightly toolchain
# and cargo-fuzz (installed into ~/.cargo/bin once). What a run finds
# lands in fuzz/artifacts/<target>/ and fails the run: turn it into a
# regression test, then into a seed. New inputs go to a scratch corpus,
# not into the tree.
#
#   fuzz/run.sh                  # every target, 10 s each
#   FUZZ_SECONDS=600 fuzz/run.sh events
#   FUZZ_BUILD=smoke fuzz/run.sh # what CI runs (see below)
#
# FUZZ_BUILD=release (the default) builds optimised targets with
# AddressSanitizer: the most runs per second, for long runs. FUZZ_BUILD=smoke
# builds them unoptimised, with debug assertions (so integer overflow panics)
# and without a sanitizer (safe Rust has little for it to find): it builds in
# about half the time, which is what a few seconds per target in CI needs.
set -euo pipefail
cd "$(dirname "$0")"

seconds="${FUZZ_SECONDS:-10}"
case "${FUZZ_BUILD:-release}" in
  release) build_flags=(--release) profile=release ;;
  smoke) build_flags=(--dev --debug-assertions --sanitizer none) profile=smoke ;;
  *) echo "FUZZ_BUILD is release or smoke, not ${FUZZ_BUILD}" >&2; exit 2 ;;
esac
target_dir="${FUZZ_TARGET_DIR:-$HOME/.cache/blangkon/fuzz-target}/$profile"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz into ~/.cargo/bin ..."
  cargo install cargo-fuzz --version 0.13.2 --locked
fi

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi

if [ $# -eq 0 ]; then
  cargo +nightly fuzz build "${build_flags[@]}" --target-dir "$target_dir"
else
  for target in "${targets[@]}"; do
    cargo +nightly fuzz build "${build_flags[@]}" --target-dir "$target_dir" "$target"
  done
fi

# FUZZ_BUILD_ONLY=1: the targets built, none run (CI builds them while
# its tests run, and runs them after).
if [ "${FUZZ_BUILD_ONLY:-0}" = 1 ]; then
  exit 0
fi

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
for target in "${targets[@]}"; do
  mkdir -p "$scratch/$target"
  started=$(date +%s)
  cargo +nightly fuzz run "${build_flags[@]}" --target-dir "$target_dir" "$target" \
    "$scratch/$target" "corpus/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    2>"$scratch/$target.log" || {
    tail -n 60 "$scratch/$target.log"
    echo "fuzz target $target failed: see fuzz/artifacts/$target/" >&2
    exit 1
  }
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$scratch/$target.log")
  echo "fuzz $target: ${runs:-?} runs in $(( $(date +%s) - started )) s, no failure"
done
