//! Certificate serial numbers: random, positive, at least 64 bits of entropy.

use std::fmt;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};

use crate::PkiError;

/// A certificate serial number: the content octets of a positive DER
/// INTEGER (big-endian, minimal, at most 20 octets).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Serial(Vec<u8>);

impl Serial {
    /// A fresh random serial: 16 random octets with the top bit cleared and
    /// a non-zero first octet, so 127 bits of entropy and always 16 octets.
    pub fn random() -> Result<Serial, PkiError> {
        let mut bytes = [0u8; 16];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| PkiError::Signer("the system random generator failed".into()))?;
        bytes[0] = (bytes[0] & 0x7f) | 0x40;
        Ok(Serial(bytes.to_vec()))
    }

    /// From DER INTEGER content octets (as found in a certificate).
    pub fn from_der_content(bytes: &[u8]) -> Result<Serial, PkiError> {
        let bad = |why: &str| PkiError::Malformed {
            what: "serial number",
            why: why.to_owned(),
        };
        if bytes.is_empty() || bytes.len() > 21 {
            return Err(bad("must be 1 to 20 octets"));
        }
        if bytes[0] & 0x80 != 0 {
            return Err(bad("must be positive"));
        }
        if bytes.len() > 1 && bytes[0] == 0 && bytes[1] & 0x80 == 0 {
            return Err(bad("not minimally encoded"));
        }
        Ok(Serial(bytes.to_vec()))
    }

    /// From hexadecimal text (case-insensitive, optional `0x`, colons allowed).
    pub fn from_hex(text: &str) -> Result<Serial, PkiError> {
        let clean: String = text
            .trim()
            .trim_start_matches("0x")
            .chars()
            .filter(|c| *c != ':')
            .collect();
        if clean.is_empty() || clean.len() > 42 || !clean.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(PkiError::Malformed {
                what: "serial number",
                why: format!("{text:?} is not hexadecimal"),
            });
        }
        let padded = if clean.len() % 2 == 1 {
            format!("0{clean}")
        } else {
            clean
        };
        let mut bytes: Vec<u8> = (0..padded.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&padded[i..i + 2], 16).unwrap_or(0))
            .collect();
        // Minimal positive encoding.
        while bytes.len() > 1 && bytes[0] == 0 && bytes[1] & 0x80 == 0 {
            bytes.remove(0);
        }
        if bytes[0] & 0x80 != 0 {
            bytes.insert(0, 0);
        }
        Serial::from_der_content(&bytes)
    }

    /// The DER INTEGER content octets.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Uppercase hexadecimal without leading zero octets (as `openssl` prints it).
    pub fn to_hex(&self) -> String {
        let bytes = match self.0.as_slice() {
            [0, rest @ ..] if !rest.is_empty() => rest,
            all => all,
        };
        bytes.iter().map(|b| format!("{b:02X}")).collect()
    }
}

impl fmt::Display for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Serial({})", self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_serials_are_positive_16_octets_and_distinct() {
        let a = Serial::random().expect("rng");
        let b = Serial::random().expect("rng");
        assert_eq!(a.as_bytes().len(), 16);
        assert!(a.as_bytes()[0] & 0x80 == 0 && a.as_bytes()[0] != 0);
        assert_ne!(a, b);
    }

    #[test]
    fn hex_round_trip_and_minimal_encoding() {
        let s = Serial::from_hex("0x00ff").expect("hex");
        assert_eq!(s.as_bytes(), &[0x00, 0xff]);
        assert_eq!(s.to_hex(), "FF");
        assert_eq!(Serial::from_hex("01:02").expect("hex").as_bytes(), &[1, 2]);
        assert!(Serial::from_hex("xyz").is_err());
        assert!(Serial::from_hex("").is_err());
        assert!(Serial::from_der_content(&[0x80]).is_err());
        assert!(Serial::from_der_content(&[0x00, 0x01]).is_err());
        let r = Serial::random().expect("rng");
        assert_eq!(Serial::from_hex(&r.to_hex()).expect("hex"), r);
    }
}
