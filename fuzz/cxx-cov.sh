#!/bin/sh
# The C++ compiler of the fuzz build (smoke.sh sets CXX to it): OpenH264's own sources (compiled
# from the openh264-sys2 package's folder) get clang's libFuzzer coverage instrumentation, so the
# `decoder` target is guided by what happens inside the decoder; all other C++ (libFuzzer itself
# included) goes to the usual c++.
case "$PWD" in
*/openh264-sys2-*) exec clang++ -fsanitize=fuzzer-no-link "$@" ;;
*) exec c++ "$@" ;;
esac
