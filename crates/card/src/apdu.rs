//! ISO/IEC 7816-4 command and response APDUs.
//!
//! Every byte string a reader sends reaches [`Command::parse`]; it must
//! never panic and must tell a malformed APDU (answered `6700`) from a
//! well-formed one the card does not know. The four cases of ISO 7816-3
//! §12.1.3 are accepted in their short and extended forms:
//!
//! | bytes | case |
//! |---|---|
//! | `CLA INS P1 P2` | 1 |
//! | `… Le` / `… 00 Le1 Le2` | 2S / 2E |
//! | `… Lc data` / `… 00 Lc1 Lc2 data` | 3S / 3E |
//! | `… Lc data Le` / `… 00 Lc1 Lc2 data Le1 Le2` | 4S / 4E |
//!
//! `Le = 00` means 256 and extended `Le = 00 00` means 65536 ("all there is").

use std::fmt;

/// A status word (SW1 SW2).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sw(pub u16);

impl Sw {
    /// 9000: normal processing.
    pub const OK: Sw = Sw(0x9000);
    /// 6300: authentication failed (card-management key).
    pub const AUTHENTICATION_FAILED: Sw = Sw(0x6300);
    /// 6581: memory failure (a write to the card image failed).
    pub const MEMORY_FAILURE: Sw = Sw(0x6581);
    /// 6700: wrong length (malformed APDU, Lc or Le the command cannot take).
    pub const WRONG_LENGTH: Sw = Sw(0x6700);
    /// 6981: command incompatible with the file structure (READ of a key or PIN EF).
    pub const INCOMPATIBLE_FILE: Sw = Sw(0x6981);
    /// 6982: security status not satisfied (PIN not verified, no management session).
    pub const SECURITY_STATUS: Sw = Sw(0x6982);
    /// 6983: authentication method blocked (PIN locked, or a face-recognition card).
    pub const BLOCKED: Sw = Sw(0x6983);
    /// 6984: reference data not usable (PIN never set).
    pub const REFERENCE_DATA_UNUSABLE: Sw = Sw(0x6984);
    /// 6985: conditions of use not satisfied.
    pub const CONDITIONS_NOT_SATISFIED: Sw = Sw(0x6985);
    /// 6986: command not allowed (no current EF).
    pub const NO_CURRENT_EF: Sw = Sw(0x6986);
    /// 6988: incorrect secure-messaging data objects (bad MAC or counter).
    pub const SM_INCORRECT: Sw = Sw(0x6988);
    /// 6A80: incorrect data field (PIN format, file content).
    pub const WRONG_DATA: Sw = Sw(0x6A80);
    /// 6A82: file or application not found.
    pub const FILE_NOT_FOUND: Sw = Sw(0x6A82);
    /// 6A84: not enough memory in the file.
    pub const NOT_ENOUGH_MEMORY: Sw = Sw(0x6A84);
    /// 6A86: incorrect P1 or P2.
    pub const WRONG_P1P2: Sw = Sw(0x6A86);
    /// 6A88: referenced data not found (VERIFY on a non-PIN EF, signing with a non-key EF).
    pub const REFERENCED_DATA_NOT_FOUND: Sw = Sw(0x6A88);
    /// 6B00: wrong parameters (an offset at or beyond the end of the file).
    pub const WRONG_OFFSET: Sw = Sw(0x6B00);
    /// 6D00: instruction not supported.
    pub const INS_NOT_SUPPORTED: Sw = Sw(0x6D00);
    /// 6E00: class not supported.
    pub const CLA_NOT_SUPPORTED: Sw = Sw(0x6E00);
    /// 6F00: internal error with no precise diagnosis.
    pub const INTERNAL_ERROR: Sw = Sw(0x6F00);

    /// 63Cx: wrong PIN, or (empty VERIFY) the tries left; `x` is capped at 15.
    pub fn tries_left(tries: u8) -> Sw {
        Sw(0x63C0 | u16::from(tries.min(0x0F)))
    }

    /// SW1.
    pub fn sw1(self) -> u8 {
        (self.0 >> 8) as u8
    }

    /// SW2.
    pub fn sw2(self) -> u8 {
        (self.0 & 0xFF) as u8
    }

    /// The tries left of a 63Cx answer.
    pub fn as_tries_left(self) -> Option<u8> {
        (self.0 & 0xFFF0 == 0x63C0).then_some((self.0 & 0x0F) as u8)
    }
}

impl fmt::Debug for Sw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04X}", self.0)
    }
}

impl fmt::Display for Sw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04X}", self.0)
    }
}

/// A response APDU: data, then SW1 SW2.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    /// The response data (may be empty).
    pub data: Vec<u8>,
    /// The status word.
    pub sw: Sw,
}

impl Response {
    /// A response with data and `9000`.
    pub fn ok(data: Vec<u8>) -> Response {
        Response { data, sw: Sw::OK }
    }

    /// A status word alone.
    pub fn status(sw: Sw) -> Response {
        Response { data: Vec::new(), sw }
    }

    /// The bytes on the wire.
    pub fn into_bytes(self) -> Vec<u8> {
        let mut out = self.data;
        out.push(self.sw.sw1());
        out.push(self.sw.sw2());
        out
    }

    /// Splits the bytes of a response APDU; `None` when shorter than two bytes.
    pub fn parse(bytes: &[u8]) -> Option<Response> {
        let split = bytes.len().checked_sub(2)?;
        let (data, sw) = bytes.split_at(split);
        Some(Response {
            data: data.to_vec(),
            sw: Sw(u16::from_be_bytes([sw[0], sw[1]])),
        })
    }
}

impl From<Sw> for Response {
    fn from(sw: Sw) -> Response {
        Response::status(sw)
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Response({} bytes, {})", self.data.len(), self.sw)
    }
}

/// A parsed command APDU, borrowing its data field.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Command<'a> {
    /// Class byte.
    pub cla: u8,
    /// Instruction byte.
    pub ins: u8,
    /// Parameter 1.
    pub p1: u8,
    /// Parameter 2.
    pub p2: u8,
    /// The command data field (empty in cases 1 and 2).
    pub data: &'a [u8],
    /// The expected response length (`None` in cases 1 and 3); `00` is
    /// already turned into 256 (short) or 65536 (extended).
    pub le: Option<usize>,
    /// Whether the APDU used the extended length form.
    pub extended: bool,
}

impl fmt::Debug for Command<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The data field may hold a PIN: show its length only.
        write!(
            f,
            "Command({:02X} {:02X} {:02X} {:02X}, {} data bytes, Le {:?})",
            self.cla,
            self.ins,
            self.p1,
            self.p2,
            self.data.len(),
            self.le
        )
    }
}

/// Why bytes are not a command APDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// Fewer than the four header bytes.
    TooShort,
    /// A header, but a body that fits none of the four cases.
    Malformed {
        /// The class byte of the header.
        cla: u8,
        /// The instruction byte of the header.
        ins: u8,
    },
}

impl<'a> Command<'a> {
    /// Parses a command APDU. Never panics.
    pub fn parse(bytes: &'a [u8]) -> Result<Command<'a>, ParseError> {
        let (header, body) = match bytes.split_first_chunk::<4>() {
            Some(split) => split,
            None => return Err(ParseError::TooShort),
        };
        let [cla, ins, p1, p2] = *header;
        let malformed = ParseError::Malformed { cla, ins };
        let mut command = Command {
            cla,
            ins,
            p1,
            p2,
            data: &[],
            le: None,
            extended: false,
        };
        match body {
            // Case 1.
            [] => {}
            // Case 2S.
            [le] => command.le = Some(short_le(*le)),
            // Extended forms start with a zero byte.
            [0, rest @ ..] if rest.len() >= 2 => {
                command.extended = true;
                let (lc, after) = rest.split_at(2);
                let lc = usize::from(u16::from_be_bytes([lc[0], lc[1]]));
                if after.is_empty() {
                    // Case 2E: 00 Le1 Le2.
                    command.le = Some(extended_le(lc));
                } else {
                    if lc == 0 {
                        return Err(malformed);
                    }
                    match after.len().checked_sub(lc) {
                        // Case 3E.
                        Some(0) => command.data = &after[..lc],
                        // Case 4E.
                        Some(2) => {
                            command.data = &after[..lc];
                            let le = usize::from(u16::from_be_bytes([after[lc], after[lc + 1]]));
                            command.le = Some(extended_le(le));
                        }
                        _ => return Err(malformed),
                    }
                }
            }
            // Short Lc.
            [lc, after @ ..] => {
                let lc = usize::from(*lc);
                if lc == 0 {
                    return Err(malformed);
                }
                match after.len().checked_sub(lc) {
                    Some(0) => command.data = after,
                    Some(1) => {
                        command.data = &after[..lc];
                        command.le = Some(short_le(after[lc]));
                    }
                    _ => return Err(malformed),
                }
            }
        }
        Ok(command)
    }

    /// Encodes a command, in the short form when it fits and the extended
    /// form otherwise (data over 255 bytes or Le over 256).
    pub fn encode(cla: u8, ins: u8, p1: u8, p2: u8, data: &[u8], le: Option<usize>) -> Vec<u8> {
        let extended = data.len() > 255 || le.is_some_and(|n| n > 256);
        let mut out = vec![cla, ins, p1, p2];
        if extended {
            out.push(0);
            if !data.is_empty() {
                out.extend_from_slice(&(data.len().min(0xFFFF) as u16).to_be_bytes());
                out.extend_from_slice(&data[..data.len().min(0xFFFF)]);
            }
            if let Some(n) = le {
                // 65536 and above are written 00 00.
                out.extend_from_slice(&(if n >= 0x1_0000 { 0 } else { n as u16 }).to_be_bytes());
            }
        } else {
            if !data.is_empty() {
                out.push(data.len() as u8);
                out.extend_from_slice(data);
            }
            if let Some(n) = le {
                out.push(if n >= 256 { 0 } else { n as u8 });
            }
        }
        out
    }
}

fn short_le(byte: u8) -> usize {
    if byte == 0 {
        256
    } else {
        usize::from(byte)
    }
}

fn extended_le(value: usize) -> usize {
    if value == 0 {
        0x1_0000
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(hex: &str) -> Result<Command<'static>, ParseError> {
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
            .collect();
        Command::parse(Box::leak(bytes.into_boxed_slice()))
    }

    #[test]
    fn the_four_cases_short() {
        let c = parse("00200080").expect("case 1");
        assert_eq!((c.data.len(), c.le, c.extended), (0, None, false));
        let c = parse("00B0000004").expect("case 2");
        assert_eq!(c.le, Some(4));
        let c = parse("00B0000000").expect("case 2, Le 00");
        assert_eq!(c.le, Some(256));
        let c = parse("00A4020C020018").expect("case 3");
        assert_eq!((c.data, c.le), (&[0x00, 0x18][..], None));
        let c = parse("802A00800301020300").expect("case 4");
        assert_eq!((c.data, c.le), (&[1, 2, 3][..], Some(256)));
    }

    #[test]
    fn the_four_cases_extended() {
        let c = parse("00B0000400061F").expect("case 2E (TEX2E)");
        assert_eq!((c.p1, c.p2, c.le, c.extended), (0x00, 0x04, Some(0x061F), true));
        let c = parse("00B08A00000000").expect("case 2E, Le 0000");
        assert_eq!(c.le, Some(65536));
        let c = parse("84D60101000003AABBCC").expect("case 3E");
        assert_eq!((c.data, c.le), (&[0xAA, 0xBB, 0xCC][..], None));
        let c = parse("84D60101000003AABBCC0000").expect("case 4E");
        assert_eq!((c.data, c.le), (&[0xAA, 0xBB, 0xCC][..], Some(65536)));
    }

    #[test]
    fn malformed_lengths() {
        assert_eq!(parse("00B000"), Err(ParseError::TooShort));
        assert_eq!(parse(""), Err(ParseError::TooShort));
        let m = Err(ParseError::Malformed { cla: 0x00, ins: 0x20 });
        // Lc says 4, 3 bytes follow.
        assert_eq!(parse("0020008004313233"), m);
        // Lc says 1, 3 bytes follow (neither case 3 nor case 4).
        assert_eq!(parse("002000800131323334"), m);
        // 00 then two bytes is case 2E, not a short Lc of zero.
        assert_eq!(parse("00200080003132").map(|c| c.le), Ok(Some(0x3132)));
        // Extended marker with one byte.
        assert_eq!(parse("0020008000FF"), m);
        // Extended Lc of zero with a body.
        assert_eq!(parse("00200080000000AA"), m);
        // Extended Lc longer than the data.
        assert_eq!(parse("0020008000000531"), m);
    }

    #[test]
    fn encode_round_trips() {
        for (data, le) in [
            (vec![], None),
            (vec![], Some(4)),
            (vec![], Some(256)),
            (vec![], Some(65536)),
            (vec![], Some(0x061F)),
            (vec![1, 2, 3], None),
            (vec![1, 2, 3], Some(256)),
            (vec![7; 300], None),
            (vec![7; 300], Some(65536)),
            (vec![7; 3], Some(300)),
        ] {
            let bytes = Command::encode(0x80, 0x2A, 0x00, 0x80, &data, le);
            let c = Command::parse(&bytes).expect("round trip");
            assert_eq!(c.data, &data[..]);
            assert_eq!(c.le, le);
        }
    }

    #[test]
    fn status_words() {
        assert_eq!(Sw::tries_left(3), Sw(0x63C3));
        assert_eq!(Sw::tries_left(20), Sw(0x63CF));
        assert_eq!(Sw(0x63C2).as_tries_left(), Some(2));
        assert_eq!(Sw::OK.as_tries_left(), None);
        assert_eq!(Response::ok(vec![1]).into_bytes(), [1, 0x90, 0x00]);
        assert_eq!(
            Response::parse(&[0x6A, 0x82]),
            Some(Response::status(Sw::FILE_NOT_FOUND))
        );
        assert_eq!(Response::parse(&[0x90]), None);
    }
}
