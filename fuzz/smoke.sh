#!/usr/bin/env bash
# `make fuzz-smoke`: builds every fuzz target once, then runs each for FUZZ_SECONDS with one job,
# seeded from seeds/<target>/ and, for `decoder`, a few small streams from the conformance set
# (read at run time, never committed). Prints each target's executions and verdict; exits non-zero
# if any target crashed, leaked or timed out (the input is left in artifacts/<target>/).
set -euo pipefail

SECONDS_EACH=${FUZZ_SECONDS:-10}
# Like the conformance tests: NALCAST_CONFORMANCE_DIR, else ../shared/conformance beside the repository.
CONFORMANCE=$(realpath -m "${NALCAST_CONFORMANCE_DIR:-$(dirname "$0")/../../shared/conformance}")
cd "$(dirname "$0")"
# Small conformance streams of different kinds: CAVLC, CABAC, B-frames, PCM, scaling lists, VUI, loss.
DECODER_SEEDS=(SVA_BA2_D.264 SVA_Base_B.264 SarVui.264 Static.264 test_scalinglist_jm.264
  Cisco_Men_whisper_640x320_CABAC_Bframe_9.264 QCIF_2P_I_allIPCM.264 BA_MW_D_IDR_LOST.264)
# The decoder target ignores longer inputs; libFuzzer must not grow them past it either.
DECODER_MAX_LEN=$((256 * 1024))

if [ ! -d "$CONFORMANCE/streams" ]; then
  echo "fuzz-smoke: no conformance streams in $CONFORMANCE/streams (the decoder target's seeds;" \
    "set NALCAST_CONFORMANCE_DIR)" >&2
  exit 1
fi
export RUSTC_BOOTSTRAP=1 # cargo-fuzz needs -Z flags; the machine has only the stable toolchain
# OpenH264's C++ gets coverage instrumentation too (clang, from setup.sh), or `decoder` runs blind.
command -v clang++ >/dev/null || { echo "fuzz-smoke: clang++ is missing (make setup installs it)" >&2; exit 1; }
export CXX="$PWD/cxx-cov.sh"
# Build with the workspace's dependency versions, not whatever the registry has today.
[ -f Cargo.lock ] || cp ../Cargo.lock Cargo.lock
cargo fuzz build -s none

failed=()
printf '%-14s %14s %8s  %s\n' target executions seconds result
for t in $(cargo fuzz list); do
  corpus=corpus/$t
  mkdir -p "$corpus"
  if [ -d "seeds/$t" ]; then cp seeds/"$t"/* "$corpus"/; fi
  args=(-max_total_time="$SECONDS_EACH")
  if [ "$t" = decoder ]; then
    for s in "${DECODER_SEEDS[@]}"; do
      [ -f "$CONFORMANCE/streams/$s" ] || { echo "fuzz-smoke: $CONFORMANCE/streams/$s is missing" >&2; exit 1; }
      cp "$CONFORMANCE/streams/$s" "$corpus/"
      chmod u+w "$corpus/$s"
    done
    args+=(-max_len="$DECODER_MAX_LEN")
  fi
  log=$(mktemp)
  status=0
  cargo fuzz run "$t" -s none "$corpus" -- "${args[@]}" >"$log" 2>&1 || status=$?
  done_line=$(grep -E '^Done [0-9]+ runs in [0-9]+ second' "$log" || true)
  runs=$(sed -E 's/^Done ([0-9]+) runs in ([0-9]+) second.*/\1/' <<<"$done_line")
  secs=$(sed -E 's/^Done ([0-9]+) runs in ([0-9]+) second.*/\2/' <<<"$done_line")
  if [ "$status" -eq 0 ] && [ -n "$done_line" ]; then
    printf '%-14s %14s %8s  %s\n' "$t" "$runs" "$secs" "no crash"
  else
    printf '%-14s %14s %8s  %s\n' "$t" "${runs:--}" "${secs:--}" "FAILED (exit $status)"
    grep -E -A4 'panicked|SUMMARY|ERROR: libFuzzer|Test unit written' "$log" | head -40 >&2 || tail -40 "$log" >&2
    failed+=("$t")
  fi
  rm -f "$log"
done
if ((${#failed[@]})); then
  echo "fuzz-smoke: FAILED: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
  exit 1
fi
echo "fuzz-smoke: every target ran ${SECONDS_EACH}s without a crash"
