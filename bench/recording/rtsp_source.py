#!/usr/bin/python3
"""One live H.264 stream (1280x720, 15 fps, ~2 Mbps, a key frame a second)
served by GStreamer's RTSP server at rtsp://127.0.0.1:PORT/test, encoded once
and shared by every client (so N clients cost the source one encode).
Run with Debian's /usr/bin/python3 (it has `gi`). Prints READY when listening."""
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

port = sys.argv[1]
kbps = sys.argv[2] if len(sys.argv) > 2 else "2000"
Gst.init(None)
server = GstRtspServer.RTSPServer()
server.set_address("127.0.0.1")
server.set_service(port)
factory = GstRtspServer.RTSPMediaFactory()
factory.set_launch(
    "( videotestsrc is-live=true pattern=smpte ! video/x-raw,width=1280,height=720,framerate=15/1 "
    f"! videoconvert ! x264enc tune=zerolatency speed-preset=ultrafast bitrate={kbps} key-int-max=15 "
    "! rtph264pay name=pay0 pt=96 config-interval=1 )"
)
factory.set_shared(True)
server.get_mount_points().add_factory("/test", factory)
if server.attach(None) == 0:
    sys.exit(f"could not listen on {port}")
print("READY", flush=True)
GLib.MainLoop().run()
