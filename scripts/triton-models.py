#!/usr/bin/env python3
"""A real Triton inference server (PyTriton) with two small CPU models, for nalcast's KServe client.

Binds 127.0.0.1 only. Serves, with the contract documented in server/src/infer/kserve.rs
(input `image` UINT8 [H, W, 3] RGB; outputs `boxes` FP32 [N, 4] as x, y, w, h in input pixels,
`scores` FP32 [N], `labels` BYTES [N]):

  boxfinder  saturated regions (the test pattern's orange square on its grey texture): HSV
             saturation and value thresholds, connected components, tiny ones dropped. Computed from
             the pixels only.
  face       OpenCV's Haar cascade frontal-face detector, shipped inside opencv-python-headless.
  boxfinder_slow
             boxfinder made slow on purpose (--slow-ms, default 250 ms per picture): for testing that
             viewers keep their frame rate while a model is slow.

Nothing is downloaded. Prints `triton-models: ready http=<port>` once both models answer, and exits
cleanly on SIGTERM or SIGINT.

Usage: triton-models.py --http-port PORT [--grpc-port PORT] [--metrics-port PORT] [--slow-ms MS]
(ports left out, or 0, are chosen free on 127.0.0.1).
"""

import argparse
import logging
import signal
import socket
import sys
import threading
import time

import cv2
import numpy as np
from pytriton.model_config import ModelConfig, Tensor
from pytriton.triton import Triton, TritonConfig

# A component smaller than this many pixels is noise, not an object.
MIN_AREA = 64
# HSV thresholds (OpenCV's 0..255 scale for S and V): saturated and not dark.
MIN_SATURATION = 100
MIN_VALUE = 100
MAX_BOXES = 64


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def outputs(boxes, scores, labels):
    """The model contract's three outputs for one image.

    PyTriton 0.7 cannot return a zero-length tensor (its shared-memory copy fails on a zero in the
    shape), so "nothing found" is one empty row (w = h = 0, score 0), which the contract tells
    clients to drop.
    """
    if not boxes:
        boxes, scores, labels = [(0, 0, 0, 0)], [0.0], [""]
    n = len(boxes)
    return {
        "boxes": np.asarray(boxes, dtype=np.float32).reshape(n, 4),
        "scores": np.asarray(scores, dtype=np.float32).reshape(n),
        # A bytes ("S") array, not an object array: PyTriton's output check indexes element 0 of object
        # arrays, which fails when nothing was found.
        "labels": np.array([label.encode() for label in labels], dtype=np.bytes_).reshape(n),
    }


def per_request(model):
    """PyTriton hands an unbatched model the list of queued requests; answer each on its own."""

    def infer(requests):
        return [model(request) for request in requests]

    return infer


def image_of(inputs) -> np.ndarray:
    image = inputs["image"]
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be [H, W, 3] RGB, got shape {list(image.shape)}")
    return np.ascontiguousarray(image, dtype=np.uint8)


def boxfinder(inputs):
    """Saturated blobs: the orange square of nalcast's test pattern, or anything brightly coloured."""
    rgb = image_of(inputs)
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    mask = ((hsv[:, :, 1] > MIN_SATURATION) & (hsv[:, :, 2] > MIN_VALUE)).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    found = []
    for i in range(1, count):  # 0 is the background
        x, y, w, h, area = (int(v) for v in stats[i])
        if area < MIN_AREA:
            continue
        # Score: how much of the bounding box the blob fills (a solid rectangle scores 1).
        found.append((area / float(w * h), (x, y, w, h)))
    found.sort(key=lambda f: f[0], reverse=True)
    found = found[:MAX_BOXES]
    return outputs([b for _, b in found], [s for s, _ in found], ["box"] * len(found))


def make_slow(model, seconds):
    def slow(inputs):
        time.sleep(seconds)
        return model(inputs)

    return slow


def make_face():
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    if cascade.empty():
        raise RuntimeError("OpenCV's Haar face cascade did not load")

    def face(inputs):
        rgb = image_of(inputs)
        grey = cv2.equalizeHist(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
        faces, _, weights = cascade.detectMultiScale3(
            grey, scaleFactor=1.1, minNeighbors=5, minSize=(24, 24), outputRejectLevels=True
        )
        boxes = [tuple(int(v) for v in f) for f in faces][:MAX_BOXES]
        # Level weights are unbounded margins; squash them into 0..1.
        scores = [float(1.0 / (1.0 + np.exp(-float(w)))) for w in np.asarray(weights).reshape(-1)][: len(boxes)]
        return outputs(boxes, scores, ["face"] * len(boxes))

    return face


def contract():
    inputs = [Tensor(name="image", dtype=np.uint8, shape=(-1, -1, 3))]
    outs = [
        Tensor(name="boxes", dtype=np.float32, shape=(-1, 4)),
        Tensor(name="scores", dtype=np.float32, shape=(-1,)),
        Tensor(name="labels", dtype=np.bytes_, shape=(-1,)),
    ]
    return inputs, outs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--http-port", type=int, required=True)
    parser.add_argument("--grpc-port", type=int, default=0)
    parser.add_argument("--metrics-port", type=int, default=0)
    parser.add_argument("--slow-ms", type=int, default=250)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, stream=sys.stderr)

    stop = threading.Event()

    def on_signal(signum, _frame):
        print(f"triton-models: signal {signum}, stopping", file=sys.stderr, flush=True)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    config = TritonConfig(
        http_address="127.0.0.1",
        http_port=args.http_port,
        grpc_address="127.0.0.1",
        grpc_port=args.grpc_port or free_port(),
        metrics_address="127.0.0.1",
        metrics_port=args.metrics_port or free_port(),
        allow_gpu_metrics=False,
        exit_timeout_secs=5,
    )
    started = time.monotonic()
    inputs, outs = contract()
    # No batching: one image per request, shapes exactly as the contract says.
    model_config = ModelConfig(batching=False)
    with Triton(config=config) as triton:
        triton.bind(model_name="boxfinder", infer_func=per_request(boxfinder), inputs=inputs, outputs=outs, config=model_config)
        triton.bind(model_name="face", infer_func=per_request(make_face()), inputs=inputs, outputs=outs, config=model_config)
        slow = per_request(make_slow(boxfinder, args.slow_ms / 1000.0))
        triton.bind(model_name="boxfinder_slow", infer_func=slow, inputs=inputs, outputs=outs, config=model_config)
        triton.run()
        print(
            f"triton-models: ready http={args.http_port} models=boxfinder,face,boxfinder_slow startup={time.monotonic() - started:.1f}s",
            flush=True,
        )
        while not stop.wait(1.0):
            if not triton.is_alive():
                print("triton-models: Triton died", file=sys.stderr, flush=True)
                return 1
    print("triton-models: stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
