#!/usr/bin/env bash
# Makes the benchmark clips in bench-data/ with ffmpeg + x264 (skips the ones already there):
# 720p and 1080p Constrained Baseline, and 1080p High profile with CABAC and B-frames.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench-data
FRAMES=${FRAMES:-180}
# A moving, textured source: the test pattern with film-like noise, so the encoder has real work.
src() { echo "testsrc2=size=$1:rate=30,noise=alls=12:allf=t+u"; }
make_clip() { # name size x264-params...
  local name=$1 size=$2
  shift 2
  local out="bench-data/$name.h264"
  [ -s "$out" ] && return 0
  echo "make-clips: $out"
  ffmpeg -hide_banner -loglevel error -y -f lavfi -i "$(src "$size")" -frames:v "$FRAMES" \
    -c:v libx264 -pix_fmt yuv420p "$@" -bsf:v h264_mp4toannexb -f h264 "$out"
}
make_clip 720p-baseline 1280x720 -profile:v baseline -preset veryfast -b:v 3M -g 60
make_clip 1080p-baseline 1920x1080 -profile:v baseline -preset veryfast -b:v 6M -g 60
make_clip 1080p-high-bframes 1920x1080 -profile:v high -preset medium -bf 3 -b:v 6M -g 60
ls -la bench-data
