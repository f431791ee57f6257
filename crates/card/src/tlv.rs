//! BER-TLV as the card's data EFs use it: one- and two-byte tags
//! (`FF 20`, `DF 21`, `5F 4E`, `7F 21`), definite lengths in the short form
//! below 128 and `81 xx` / `82 xx xx` above. Reading never panics.

/// One TLV read from a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The tag bytes as a number (`0xFF20`, `0xDF21`, `0x30`).
    pub tag: u32,
    /// The value.
    pub value: &'a [u8],
    /// Where the TLV starts in the buffer it was read from.
    pub start: usize,
    /// Where the value starts.
    pub value_start: usize,
    /// One past its last byte.
    pub end: usize,
}

/// Reads the TLV at `offset` of `buf`.
pub fn read(buf: &[u8], offset: usize) -> Option<Tlv<'_>> {
    let mut at = offset;
    let first = *buf.get(at)?;
    at += 1;
    let mut tag = u32::from(first);
    if first & 0x1F == 0x1F {
        // Subsequent tag bytes while bit 8 is set; at most 3 in all.
        loop {
            let b = *buf.get(at)?;
            at += 1;
            tag = (tag << 8) | u32::from(b);
            if b & 0x80 == 0 {
                break;
            }
            if at - offset >= 3 {
                return None;
            }
        }
    }
    let first_len = *buf.get(at)?;
    at += 1;
    let len = match first_len {
        0x00..=0x7F => usize::from(first_len),
        0x81 => {
            let l = *buf.get(at)?;
            at += 1;
            usize::from(l)
        }
        0x82 => {
            let hi = *buf.get(at)?;
            let lo = *buf.get(at + 1)?;
            at += 2;
            usize::from(u16::from_be_bytes([hi, lo]))
        }
        _ => return None,
    };
    let end = at.checked_add(len)?;
    let value = buf.get(at..end)?;
    Some(Tlv {
        tag,
        value,
        start: offset,
        value_start: at,
        end,
    })
}

/// Reads the TLVs that fill `buf` exactly.
pub fn read_all(buf: &[u8]) -> Option<Vec<Tlv<'_>>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < buf.len() {
        let tlv = read(buf, at)?;
        at = tlv.end;
        out.push(tlv);
    }
    Some(out)
}

/// The length octets of `len`.
pub fn length_bytes(len: usize) -> Vec<u8> {
    match len {
        0..=0x7F => vec![len as u8],
        0x80..=0xFF => vec![0x81, len as u8],
        _ => {
            let l = len.min(0xFFFF) as u16;
            vec![0x82, (l >> 8) as u8, l as u8]
        }
    }
}

/// The tag octets of `tag` (one to three bytes, no leading zero bytes).
pub fn tag_bytes(tag: u32) -> Vec<u8> {
    let bytes = tag.to_be_bytes();
    let skip = bytes.iter().take(3).take_while(|b| **b == 0).count();
    bytes[skip..].to_vec()
}

/// Encodes one TLV; values over 65535 bytes are cut (no EF is that large).
pub fn encode(tag: u32, value: &[u8]) -> Vec<u8> {
    let value = &value[..value.len().min(0xFFFF)];
    let mut out = tag_bytes(tag);
    out.extend(length_bytes(value.len()));
    out.extend_from_slice(value);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_the_card_tags() {
        let buf = [0xFF, 0x20, 0x05, 0xDF, 0x21, 0x02, 0xAA, 0xBB];
        let outer = read(&buf, 0).expect("outer");
        assert_eq!((outer.tag, outer.value_start, outer.end), (0xFF20, 3, 8));
        let inner = read(&buf, 3).expect("inner");
        assert_eq!((inner.tag, inner.value), (0xDF21, &[0xAA, 0xBB][..]));
        let long = encode(0x5F37, &[7; 256]);
        assert_eq!(&long[..5], &[0x5F, 0x37, 0x82, 0x01, 0x00]);
        assert_eq!(read(&long, 0).map(|t| t.value.len()), Some(256));
        assert_eq!(&encode(0x30, &[1; 200])[..3], &[0x30, 0x81, 200]);
        assert_eq!(read(&[0xFF, 0x20, 0x05, 0x00], 0), None);
        assert_eq!(read(&[0xFF, 0xFF, 0xFF, 0xFF], 0), None);
        assert_eq!(read(&[0x04, 0x83, 0, 0, 1], 0), None);
    }

    proptest! {
        #[test]
        fn never_panics(buf in proptest::collection::vec(any::<u8>(), 0..64), at in 0usize..70) {
            let _ = read(&buf, at);
            let _ = read_all(&buf);
        }

        #[test]
        fn round_trips(tag in prop_oneof![Just(0x30u32), Just(0xFF20), Just(0xDF22), Just(0x7F21)],
                       value in proptest::collection::vec(any::<u8>(), 0..600)) {
            let bytes = encode(tag, &value);
            let tlv = read(&bytes, 0).expect("reads");
            prop_assert_eq!(tlv.tag, tag);
            prop_assert_eq!(tlv.value, &value[..]);
            prop_assert_eq!(tlv.end, bytes.len());
        }
    }
}
