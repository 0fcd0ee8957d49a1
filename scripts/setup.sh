#!/usr/bin/env bash
# Installs every tool nalcast needs to build and test, skipping what is already there.
# Idempotent; safe to run on every `make run` / `make test`. Needs: rustup/cargo, Node/npm, apt (root).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1;34msetup:\033[0m %s\n' "$*"; }

# --- Debian packages ------------------------------------------------------------------------------
# clang/lld/llvm + wasi-libc: OpenH264's C++ for wasm32 (clang-22/llvm-22 build it smaller than clang 14;
# the default clang stays for the fuzzers); chromium + chromium-driver: browser tests;
# ffmpeg/x264: benchmark clips and MP4 fixtures; binaryen: wasm tools (wasm-opt stays off, see Cargo.toml);
# python3-gi + GStreamer RTSP server: a real RTSP camera for the RTSP source test;
# python3.11 + python3.11-venv + libpython3.11: the PyTriton venv below (Triton's Python-backend stub links libpython3.11).
# nats-server: the broker for the multi-process test (server/tests/nats.rs starts its own).
APT_PACKAGES=(clang lld llvm clang-22 llvm-22 wasi-libc chromium chromium-driver binaryen ffmpeg x264 pkg-config nats-server
  python3-gi gir1.2-gstreamer-1.0 gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad python3.11 python3.11-venv libpython3.11)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  log "apt-get install ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# --- Rust target and tools --------------------------------------------------------------------------
if ! rustup target list --installed | grep -q '^wasm32-unknown-unknown$'; then
  log "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# wasm-bindgen-cli must be exactly the wasm-bindgen version in Cargo.lock.
WB_VERSION=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)
if [ -z "$WB_VERSION" ]; then echo "setup: cannot read wasm-bindgen's version from Cargo.lock" >&2; exit 1; fi
if ! wasm-bindgen --version 2>/dev/null | grep -q " $WB_VERSION\$"; then
  log "cargo install wasm-bindgen-cli $WB_VERSION"
  # --locked first; if a locked dependency is missing from the registry, let cargo resolve.
  cargo install wasm-bindgen-cli --version "$WB_VERSION" --locked --force ||
    cargo install wasm-bindgen-cli --version "$WB_VERSION" --force
fi
if ! command -v wasm-pack >/dev/null; then
  log "cargo install wasm-pack"
  cargo install wasm-pack --locked || cargo install wasm-pack
fi

# cargo-fuzz for `make fuzz-smoke` (run with RUSTC_BOOTSTRAP=1 on the stable toolchain).
if ! cargo fuzz --version 2>/dev/null | grep -q " 0\.13\.2$"; then
  log "cargo install cargo-fuzz 0.13.2"
  cargo install --locked cargo-fuzz@0.13.2 || cargo install cargo-fuzz@0.13.2
fi

# --- Node packages for the end-to-end tests and benchmarks (playwright-core drives Debian's chromium) -
if [ ! -d tests/e2e/node_modules/playwright-core ]; then
  log "npm ci (tests/e2e)"
  (cd tests/e2e && npm ci --no-audit --no-fund)
fi
# --- Python venv with PyTriton (a real Triton Inference Server, CPU) for the KServe test ------------------
# Built from Debian's python3.11, not whatever `python3` is first on PATH: Triton's Python-backend stub links
# Debian's libpython3.11.so.1.0 and runs the venv's standard library with it, so the two must be the same
# Python (pyenv's 3.11.7 stdlib on Debian's 3.11.2 libpython fails to load any model). numpy < 2 because
# nvidia-pytriton 0.7.0 requires it, hence opencv-python-headless 4.10 (the last built for numpy 1.x).
PYTRITON_VENV=target/pytriton-venv
PYTRITON_PINS=(nvidia-pytriton==0.7.0 opencv-python-headless==4.10.0.84 numpy==1.26.4)
if [ "$(cat "$PYTRITON_VENV/.nalcast-pins" 2>/dev/null)" != "${PYTRITON_PINS[*]}" ] ||
  ! "$PYTRITON_VENV/bin/python" -c 'import importlib.util as u, sys; sys.exit(not (u.find_spec("pytriton") and u.find_spec("cv2")))' 2>/dev/null; then
  log "python venv $PYTRITON_VENV: ${PYTRITON_PINS[*]}"
  /usr/bin/python3.11 -m venv "$PYTRITON_VENV"
  "$PYTRITON_VENV/bin/pip" install -q --disable-pip-version-check "${PYTRITON_PINS[@]}"
  echo "${PYTRITON_PINS[*]}" >"$PYTRITON_VENV/.nalcast-pins"
fi

log "ready"
