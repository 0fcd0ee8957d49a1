#!/usr/bin/env bash
# Makes the benchmark clips in bench-data/ with ffmpeg + x264 (skips the ones already there):
# 360p, 720p and 1080p Constrained Baseline, 1080p High profile with CABAC and B-frames, and a
# high-motion clip (heavy noise, scrolling) in Baseline so every decoder in the benchmark can play it.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench-data
FRAMES=${FRAMES:-180}
# A moving, textured source: the test pattern with film-like noise, so the encoder has real work.
src() { echo "testsrc2=size=$1:rate=30,noise=alls=12:allf=t+u"; }
motion() { echo "testsrc2=size=$1:rate=30,scroll=h=0.013:v=0.007,noise=alls=40:allf=t+u"; }
make_clip() { # name lavfi-source x264-params...
  local name=$1 source=$2
  shift 2
  local out="bench-data/$name.h264"
  [ -s "$out" ] && return 0
  echo "make-clips: $out"
  ffmpeg -hide_banner -loglevel error -y -f lavfi -i "$source" -frames:v "$FRAMES" \
    -c:v libx264 -pix_fmt yuv420p "$@" -bsf:v h264_mp4toannexb -f h264 "$out"
}
make_clip 360p-baseline "$(src 640x360)" -profile:v baseline -preset veryfast -b:v 1M -g 60
make_clip 720p-baseline "$(src 1280x720)" -profile:v baseline -preset veryfast -b:v 3M -g 60
make_clip 1080p-baseline "$(src 1920x1080)" -profile:v baseline -preset veryfast -b:v 6M -g 60
make_clip 1080p-high-bframes "$(src 1920x1080)" -profile:v high -preset medium -bf 3 -b:v 6M -g 60
make_clip 720p-motion-baseline "$(motion 1280x720)" -profile:v baseline -preset veryfast -b:v 10M -g 60
ls -la bench-data
