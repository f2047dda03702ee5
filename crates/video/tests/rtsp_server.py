#!/usr/bin/python3
"""A real RTSP server for the ingest tests: GStreamer's gst-rtsp-server.

Run with Debian's own Python (/usr/bin/python3), which has `gi`:

    /usr/bin/python3 rtsp_server.py PORT [--codec h264|h265] [--path /test]
                     [--user NAME --password PW]

Serves a live test pattern (640x360, 15 fps, a key frame every 15 frames) at
rtsp://127.0.0.1:PORT/PATH and prints "READY <port>" on stdout once it
listens. With --user/--password the stream needs Digest auth.

Exit codes: 3 = Python GObject bindings or gst-rtsp-server missing,
4 = a GStreamer element missing, 5 = could not listen on PORT.
"""

import argparse
import sys

PACKAGES = (
    "python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-rtsp "
    "gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly"
)


def die(code, msg):
    print(f"rtsp_server.py: {msg}", file=sys.stderr, flush=True)
    sys.exit(code)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--codec", choices=["h264", "h265"], default="h264")
    ap.add_argument("--path", default="/test")
    ap.add_argument("--user")
    ap.add_argument("--password")
    args = ap.parse_args()

    try:
        import gi

        gi.require_version("Gst", "1.0")
        gi.require_version("GstRtsp", "1.0")
        gi.require_version("GstRtspServer", "1.0")
        from gi.repository import GLib, Gst, GstRtsp, GstRtspServer
    except (ImportError, ValueError) as e:
        die(3, f"cannot load GStreamer's RTSP server from Python ({e}); "
               f"install the Debian packages: apt-get install {PACKAGES} "
               f"(and run this with /usr/bin/python3)")

    Gst.init(None)
    if args.codec == "h264":
        enc = ("x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 "
               "! rtph264pay name=pay0 pt=96 config-interval=1")
        needed = ["x264enc", "rtph264pay"]
        hint = "gstreamer1.0-plugins-ugly (x264enc), gstreamer1.0-plugins-good (rtph264pay)"
    else:
        enc = ("x265enc tune=zerolatency speed-preset=ultrafast key-int-max=15 "
               "! video/x-h265,profile=main ! rtph265pay name=pay0 pt=96 config-interval=1")
        needed = ["x265enc", "rtph265pay"]
        hint = "gstreamer1.0-plugins-bad (x265enc), gstreamer1.0-plugins-good (rtph265pay)"
    needed += ["videotestsrc", "videoconvert"]
    missing = [e for e in needed if Gst.ElementFactory.find(e) is None]
    if missing:
        die(4, f"missing GStreamer elements {missing}; install {hint} "
               f"and gstreamer1.0-plugins-base")

    launch = (
        "( videotestsrc is-live=true pattern=ball "
        "! video/x-raw,width=640,height=360,framerate=15/1 ! videoconvert "
        f"! {enc} )"
    )
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch)
    factory.set_shared(False)

    if args.user is not None:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string("media.factory.role", "user")
        # Digest only, as most cameras: the password never crosses the wire.
        auth.add_digest(args.user, args.password or "", token)
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
        server.set_auth(auth)
        factory.add_role_from_structure(Gst.Structure.new_from_string(
            "user, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"))

    server.get_mount_points().add_factory(args.path, factory)
    if server.attach(None) == 0:
        die(5, f"could not listen on 127.0.0.1:{args.port}")
    print(f"READY {args.port}", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
