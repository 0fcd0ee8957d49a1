#!/usr/bin/python3
"""A real RTSP server for nalcast's RTSP source test: GStreamer's RTSP server (Debian packages
gir1.2-gst-rtsp-server-1.0, python3-gi, gstreamer1.0-plugins-{base,good,bad}) serving a live
320x192 30 fps test picture encoded with openh264enc at rtsp://127.0.0.1:PORT/test.

Prints the port on stdout once listening, and exits by itself after --seconds (a test never leaves
it behind) or when stdin closes.
"""
import argparse
import sys
import threading

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--seconds", type=int, default=60)
parser.add_argument("--port", type=int, default=0)
args = parser.parse_args()

Gst.init(None)
server = GstRtspServer.RTSPServer()
server.set_address("127.0.0.1")
server.set_service(str(args.port))
factory = GstRtspServer.RTSPMediaFactory()
factory.set_launch(
    "( videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=192,framerate=30/1 "
    "! openh264enc gop-size=30 bitrate=500000 ! h264parse config-interval=-1 ! rtph264pay name=pay0 pt=96 )"
)
factory.set_shared(True)
server.get_mount_points().add_factory("/test", factory)
if server.attach(None) == 0:
    sys.exit("cannot attach the RTSP server")
print(server.get_bound_port(), flush=True)

loop = GLib.MainLoop()
GLib.timeout_add_seconds(args.seconds, loop.quit)


def watch_stdin():
    sys.stdin.read()
    GLib.idle_add(loop.quit)


threading.Thread(target=watch_stdin, daemon=True).start()
loop.run()
