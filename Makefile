# nalcast — two commands on a fresh machine:
#   make run    install what is missing, build, start the server and print its URL
#   make test   every test: native, wasm in headless Chromium, conformance, end to end
SHELL := /bin/bash
export CHROMEDRIVER ?= /usr/bin/chromedriver
LISTEN ?= 127.0.0.1:8080
CARGO ?= cargo

.PHONY: soak run test setup wasm server test-native test-wasm test-e2e conformance wasm-imports lint bench-decode bench-grid bench-fanout bench-latency bench-transports bench-impair bench-inference fuzz-smoke clips

run: setup wasm server
	./target/release/nalcast-server --listen $(LISTEN) --www www

test: setup lint test-native wasm server test-wasm wasm-imports conformance test-e2e fuzz-smoke
	@echo "make test: all passed"

setup:
	@./scripts/setup.sh

# The wasm client → www/pkg. wasm-pack only finds the artifact when cargo actually links it, so the
# root crate is touched first (a cheap relink; dependencies stay cached). The `wasm-release` profile
# (Cargo.toml) builds for size where speed does not matter. Then the function names
# (name section, ~36 KB of the gzipped module) are dropped, byte for byte leaving the rest; for a
# profiling build that keeps them: `make wasm KEEP_NAMES=1`. The module's imports and exports get
# short names in the module and the JS glue together (scripts/wasm-minify-imports.mjs: 3.6 KiB of
# the gzipped module were wasm-bindgen's hashed import names and the export names). (wasm-opt -O passes make the gzipped module
# bigger here, so none run.)
KEEP_NAMES ?=
wasm:
	touch src/lib.rs
	wasm-pack build --profile wasm-release --target web --out-dir www/pkg --no-typescript --no-pack
	@if [ -z "$(KEEP_NAMES)" ]; then node scripts/wasm-strip-names.mjs www/pkg/nalcast_bg.wasm; fi
	node scripts/wasm-minify-imports.mjs www/pkg/nalcast_bg.wasm www/pkg/nalcast.js
	node scripts/compress-static.mjs www/pkg

server:
	$(CARGO) build --release -p nalcast-server

lint:
	RUSTDOCFLAGS=-Dwarnings $(CARGO) doc --workspace --no-deps --quiet
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy --target wasm32-unknown-unknown -p nalcast -p nalcast-codec -p nalcast-proto --all-targets -- -D warnings

test-native:
	$(CARGO) test --release --workspace

# The runner's default limits (20 s for a test binary, 5 s for chromedriver to answer) are too tight
# for a loaded 2-core machine.
test-wasm:
	WASM_BINDGEN_TEST_TIMEOUT=$${WASM_BINDGEN_TEST_TIMEOUT:-120} WASM_BINDGEN_TEST_DRIVER_TIMEOUT=$${WASM_BINDGEN_TEST_DRIVER_TIMEOUT:-30} \
	  wasm-pack test --headless --chrome --release

wasm-imports:
	node tests/e2e/wasm-imports.mjs --self-test

# Needs target/conformance-native.json, written by the native conformance test (test-native).
conformance: wasm
	@test -f target/conformance-native.json || $(CARGO) test --release -p nalcast-codec --test conformance_native
	node tests/e2e/conformance.mjs

test-e2e: wasm server
	node tests/e2e/page.test.mjs
	node tests/e2e/pipeline.test.mjs
	node tests/e2e/worker.test.mjs
	node tests/e2e/transports.test.mjs
	node tests/e2e/overlay.test.mjs
	node tests/e2e/triton.test.mjs
	node tests/e2e/access.test.mjs
	node tests/e2e/recover.test.mjs
	node tests/e2e/corrupt.test.mjs
	node tests/e2e/restart.test.mjs
	node tests/e2e/source-stall.test.mjs

clips:
	./scripts/make-clips.sh

bench-decode: setup wasm clips
	node tests/e2e/bench-decode.mjs

bench-grid: setup wasm server
	node tests/e2e/bench-grid.mjs

bench-fanout: setup
	$(CARGO) bench -p nalcast-server --bench fanout

bench-latency: setup wasm server
	node tests/e2e/bench-latency.mjs

# Each fuzz target for FUZZ_SECONDS, one job (cargo-fuzz on the stable toolchain: RUSTC_BOOTSTRAP, no
# sanitizer); the decoder's seeds come from ../shared/conformance. Prints executions per target and
# fails if any crashed. 13 targets x 10 s: about 2.5 minutes once fuzz/ is built (docs/fuzzing.md).
FUZZ_SECONDS ?= 10
fuzz-smoke: setup
	FUZZ_SECONDS=$(FUZZ_SECONDS) ./fuzz/smoke.sh

bench-transports: setup wasm server
	node tests/e2e/bench-transports.mjs

# Model results drawn on the exact frame: results/s, added delay (overlays on − off, same run), and
# the frame-sync error distribution against drawing results as they arrive.
bench-inference: setup wasm server
	node tests/e2e/bench-inference.mjs

# Each transport through 2 % loss + 50 ms delay (userspace emulation: no netem here; needs root for ip netns).
bench-impair: setup wasm server
	node tests/e2e/bench-impair.mjs

# Long run: latency per minute, server RSS, page heap and wasm memory at start and end.
MINUTES ?= 10
soak: setup wasm server
	MINUTES=$(MINUTES) node tests/e2e/soak.mjs
