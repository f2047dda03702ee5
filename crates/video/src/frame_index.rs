//! The compact per-frame index of a recording: for each frame,
//! varint(size << 1 | is_key) then varint(duration_90k). About 3–4 bytes a
//! frame, so a day of 30 fps video indexes in ~10 MB.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexedFrame {
    pub size: u32,
    pub duration_90k: u32,
    pub is_key: bool,
}

pub fn append(index: &mut Vec<u8>, f: IndexedFrame) {
    put_varint(index, (u64::from(f.size) << 1) | u64::from(f.is_key));
    put_varint(index, u64::from(f.duration_90k));
}

/// Decodes a whole index; `None` if it is corrupt (truncated or overlong).
pub fn decode(mut bytes: &[u8]) -> Option<Vec<IndexedFrame>> {
    let mut out = Vec::with_capacity(bytes.len() / 3);
    while !bytes.is_empty() {
        let size_key = get_varint(&mut bytes)?;
        let duration = get_varint(&mut bytes)?;
        out.push(IndexedFrame { size: u32::try_from(size_key >> 1).ok()?, duration_90k: u32::try_from(duration).ok()?, is_key: size_key & 1 == 1 });
    }
    Some(out)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = bytes.split_first()?;
        *bytes = rest;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_corruption() {
        let frames = [
            IndexedFrame { size: 0, duration_90k: 0, is_key: true },
            IndexedFrame { size: 123_456, duration_90k: 3000, is_key: false },
            IndexedFrame { size: u32::MAX >> 1, duration_90k: u32::MAX, is_key: true },
        ];
        let mut index = Vec::new();
        frames.iter().for_each(|f| append(&mut index, *f));
        assert_eq!(decode(&index).unwrap(), frames);
        assert_eq!(decode(&index[..index.len() - 1]), None, "truncated");
        assert_eq!(decode(&[0xff; 12]), None, "overlong varint");
    }
}
