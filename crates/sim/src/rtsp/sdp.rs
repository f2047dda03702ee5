//! The session description (RFC 4566) a DESCRIBE returns: one H.264 video
//! stream, packetization mode 1, parameter sets in `sprop-parameter-sets`.

use base64::Engine;

use crate::encode::EncodedLoop;

/// Control URL of the one stream, relative to the `Content-Base`.
pub const TRACK: &str = "trackID=0";

pub fn describe(title: &str, server_ip: &str, session_version: u64, l: &EncodedLoop) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    let p = &l.params;
    let ip_kind = if server_ip.contains(':') { "IP6" } else { "IP4" };
    format!(
        "v=0\r\n\
         o=- {session_version} 1 IN {ip_kind} {server_ip}\r\n\
         s={title}\r\n\
         c=IN {ip_kind} {any}\r\n\
         t=0 0\r\n\
         a=tool:citywatch-sim\r\n\
         a=type:broadcast\r\n\
         a=control:*\r\n\
         a=range:npt=0-\r\n\
         m=video 0 RTP/AVP 96\r\n\
         b=AS:{kbps}\r\n\
         a=rtpmap:96 H264/90000\r\n\
         a=fmtp:96 packetization-mode=1;profile-level-id={plid};sprop-parameter-sets={sps},{pps}\r\n\
         a=framerate:{fps}\r\n\
         a=x-dimensions:{w},{h}\r\n\
         a=control:{TRACK}\r\n",
        any = if ip_kind == "IP6" { "::" } else { "0.0.0.0" },
        kbps = p.bitrate_bps / 1000,
        plid = l.profile_level_id(),
        sps = b64.encode(&l.sps),
        pps = b64.encode(&l.pps),
        fps = p.fps,
        w = p.width,
        h = p.height,
    )
}
