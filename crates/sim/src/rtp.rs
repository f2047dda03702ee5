//! RTP for H.264 (RFC 6184, packetization-mode 1): NAL units that fit are
//! sent as single NAL unit packets, larger ones as FU-A fragments. Payloads
//! are cut once per encoded loop; per client only the 12-byte header (and
//! the 4-byte interleaved prefix) is written per packet.

use bytes::Bytes;

/// Largest RTP payload: keeps packets under a 1500-byte MTU with IP/UDP/RTP headers.
pub const MAX_PAYLOAD: usize = 1400;
pub const PAYLOAD_TYPE: u8 = 96;
const FU_A: u8 = 28;

/// The RTP payloads of one access unit, in order.
pub fn payloads(nals: &[Bytes]) -> Vec<Bytes> {
    let mut out = Vec::new();
    for nal in nals {
        if nal.len() <= MAX_PAYLOAD {
            out.push(nal.clone());
            continue;
        }
        let header = nal[0];
        let indicator = (header & 0xe0) | FU_A;
        let body = &nal[1..];
        let chunk = MAX_PAYLOAD - 2;
        let n = body.len().div_ceil(chunk);
        for (i, part) in body.chunks(chunk).enumerate() {
            let mut fu = (header & 0x1f) | if i == 0 { 0x80 } else { 0 };
            if i + 1 == n {
                fu |= 0x40;
            }
            let mut p = Vec::with_capacity(part.len() + 2);
            p.extend_from_slice(&[indicator, fu]);
            p.extend_from_slice(part);
            out.push(Bytes::from(p));
        }
    }
    out
}

/// Appends one RTP packet, framed for RTSP interleaved transport
/// (`$`, channel, 16-bit length; RFC 2326 §10.12), to `out`.
pub fn write_interleaved(out: &mut Vec<u8>, channel: u8, marker: bool, seq: u16, timestamp: u32, ssrc: u32, payload: &[u8]) {
    let len = (12 + payload.len()) as u16;
    out.extend_from_slice(&[b'$', channel]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&[0x80, PAYLOAD_TYPE | if marker { 0x80 } else { 0 }]);
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&timestamp.to_be_bytes());
    out.extend_from_slice(&ssrc.to_be_bytes());
    out.extend_from_slice(payload);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_nal_units_become_fu_a_fragments_that_reassemble() {
        let small = Bytes::from_static(&[0x67, 1, 2, 3]);
        let big: Vec<u8> = std::iter::once(0x65).chain((0..3000u32).map(|i| (i % 251) as u8)).collect();
        let p = payloads(&[small.clone(), Bytes::from(big.clone())]);
        assert_eq!(p[0], small);
        assert_eq!(p.len(), 1 + 3);
        assert!(p.iter().all(|x| x.len() <= MAX_PAYLOAD));
        assert_eq!(p[1][0], 0x60 | 28, "F/NRI from the NAL header, type FU-A");
        assert_eq!(p[1][1], 0x80 | 5, "start bit and the NAL type");
        assert_eq!(p[2][1], 5);
        assert_eq!(p[3][1], 0x40 | 5, "end bit");
        let mut re = vec![(p[1][0] & 0xe0) | (p[1][1] & 0x1f)];
        for f in &p[1..] {
            re.extend_from_slice(&f[2..]);
        }
        assert_eq!(re, big);
    }

    #[test]
    fn interleaved_header_layout() {
        let mut out = Vec::new();
        write_interleaved(&mut out, 0, true, 0x1234, 0xdead_beef, 0x0102_0304, &[9, 9]);
        assert_eq!(out, [b'$', 0, 0, 14, 0x80, 0x80 | 96, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 9, 9]);
    }
}
