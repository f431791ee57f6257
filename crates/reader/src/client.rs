//! 利用者クライアントソフト: the resident's client. Everything it does goes
//! through the card's public APDUs (SELECT, READ BINARY, VERIFY, CHANGE
//! REFERENCE DATA, COMPUTE DIGITAL SIGNATURE) in short form, so it works
//! with the virtual card and with a real My Number Card alike.
//!
//! PINs pass through as given and are never kept, logged or shown.

use mynacard_card::apdu::{Command, Response, Sw};
use mynacard_card::crypto::RsaPublic;
use mynacard_card::input_support::{self, BasicFourRecord};
use mynacard_card::layout::{input_support as kenhojo, jpki, resident_registry, Application, JPKI_TOKEN};
use mynacard_card::JpkiKey;
use mynacard_rules::numbers::MyNumber;
use mynacard_rules::pin::PinKind;

use crate::{CardReader, ReaderError};

/// One of the four 暗証番号 of the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinRef {
    /// 利用者証明用電子証明書 暗証番号 (4 digits, 3 tries).
    Auth,
    /// 署名用電子証明書 暗証番号 (6–16 A–Z 0–9, 5 tries).
    Sign,
    /// 券面事項入力補助用 暗証番号 (4 digits, 3 tries).
    InputSupport,
    /// 住民基本台帳用 暗証番号 (4 digits, 3 tries).
    Registry,
}

impl PinRef {
    /// All four, in the order the card's leaflet lists them.
    pub const ALL: [PinRef; 4] = [PinRef::Sign, PinRef::Auth, PinRef::Registry, PinRef::InputSupport];

    /// The application and PIN EF.
    pub fn location(self) -> (Application, u16) {
        match self {
            PinRef::Auth => (Application::Jpki, jpki::AUTH_PIN),
            PinRef::Sign => (Application::Jpki, jpki::SIGN_PIN),
            PinRef::InputSupport => (Application::InputSupport, kenhojo::PIN),
            PinRef::Registry => (Application::ResidentRegistry, resident_registry::PIN),
        }
    }

    /// The rules' name of this PIN (format, try limit).
    pub fn kind(self) -> PinKind {
        match self {
            PinRef::Auth => PinKind::UserAuthentication,
            PinRef::Sign => PinKind::Signature,
            PinRef::InputSupport => PinKind::InputSupport,
            PinRef::Registry => PinKind::ResidentRegistry,
        }
    }

    /// The short name used on the command line.
    pub fn short(self) -> &'static str {
        match self {
            PinRef::Auth => "auth",
            PinRef::Sign => "sign",
            PinRef::InputSupport => "input",
            PinRef::Registry => "registry",
        }
    }

    /// From [`PinRef::short`].
    pub fn from_short(text: &str) -> Option<PinRef> {
        PinRef::ALL.into_iter().find(|p| p.short() == text)
    }

    /// The PIN that guards a JPKI key.
    pub fn for_key(key: JpkiKey) -> PinRef {
        match key {
            JpkiKey::Auth => PinRef::Auth,
            JpkiKey::Sign => PinRef::Sign,
        }
    }
}

/// What an empty VERIFY says about a PIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinStatus {
    /// Which PIN.
    pub pin: PinRef,
    /// Tries left (0: locked, or not usable on a face-recognition card).
    pub remaining: u8,
    /// The try limit of the rules.
    pub limit: u8,
}

/// The holder's data from the input-support application.
#[derive(Debug, Clone)]
pub struct MyInfo {
    /// 個人番号.
    pub my_number: MyNumber,
    /// 基本4情報 with the layout checked.
    pub basic_four: BasicFourRecord,
    /// Whether the producer's signature over both (EF 0003, key of EF 0004) checks.
    pub signature_valid: bool,
}

/// A signature made on the card, with the certificate of its key.
#[derive(Debug, Clone)]
pub struct Signed {
    /// 256 bytes.
    pub signature: Vec<u8>,
    /// The key's certificate (DER).
    pub certificate: Vec<u8>,
}

/// Why a client operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The reader failed.
    #[error(transparent)]
    Reader(#[from] ReaderError),
    /// The PIN was wrong; tries left.
    #[error("wrong PIN: {remaining} tries left")]
    WrongPin {
        /// Tries left after this one.
        remaining: u8,
    },
    /// The PIN is locked (or unusable on a face-recognition card).
    #[error("the PIN is locked (reset it at the municipal window)")]
    Locked,
    /// The PIN was never set.
    #[error("the PIN is not set on this card")]
    NotSet,
    /// A new PIN does not have the format of the rules.
    #[error("the new PIN does not have the required format: {0}")]
    Format(String),
    /// The card is not a My Number Card (no JPKI application).
    #[error("not a My Number Card: {0}")]
    NotMyNumberCard(String),
    /// The card refused a command.
    #[error("{what}: the card answered {sw}")]
    Refused {
        /// What was asked.
        what: &'static str,
        /// The status word.
        sw: Sw,
    },
    /// A file's content is not what the card interface specifies.
    #[error("{0}: unexpected content")]
    Content(&'static str),
}

/// The resident's client over one reader.
pub struct JpkiClient<'a> {
    reader: &'a mut dyn CardReader,
}

impl std::fmt::Debug for JpkiClient<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JpkiClient")
            .field("reader", &self.reader.name())
            .finish()
    }
}

/// Largest short-APDU read.
const CHUNK: usize = 256;

impl<'a> JpkiClient<'a> {
    /// A client of the card in `reader`.
    pub fn new(reader: &'a mut dyn CardReader) -> JpkiClient<'a> {
        JpkiClient { reader }
    }

    /// The reader.
    pub fn reader(&mut self) -> &mut dyn CardReader {
        self.reader
    }

    fn exchange(&mut self, command: &[u8]) -> Result<Response, ClientError> {
        let bytes = self.reader.transmit(command)?;
        Response::parse(&bytes).ok_or_else(|| ReaderError::Malformed(format!("{} bytes", bytes.len())).into())
    }

    fn expect(&mut self, what: &'static str, command: &[u8]) -> Result<Vec<u8>, ClientError> {
        let response = self.exchange(command)?;
        if response.sw == Sw::OK {
            Ok(response.data)
        } else {
            Err(ClientError::Refused { what, sw: response.sw })
        }
    }

    /// SELECT of an application by AID.
    pub fn select_application(&mut self, app: Application) -> Result<(), ClientError> {
        let command = Command::encode(0x00, 0xA4, 0x04, 0x0C, app.aid(), None);
        let response = self.exchange(&command)?;
        match response.sw {
            Sw::OK => Ok(()),
            Sw::FILE_NOT_FOUND if app == Application::Jpki => {
                Err(ClientError::NotMyNumberCard("no JPKI application".into()))
            }
            sw => Err(ClientError::Refused {
                what: "SELECT application",
                sw,
            }),
        }
    }

    /// SELECT of an EF of the current application.
    pub fn select_file(&mut self, fid: u16) -> Result<(), ClientError> {
        let command = Command::encode(0x00, 0xA4, 0x02, 0x0C, &fid.to_be_bytes(), None);
        self.expect("SELECT EF", &command).map(drop)
    }

    /// Reads `len` bytes at `offset` of the current EF (short READ BINARY).
    fn read_binary(&mut self, offset: usize, len: usize) -> Result<Vec<u8>, ClientError> {
        let offset = u16::try_from(offset)
            .ok()
            .filter(|o| *o <= 0x7FFF)
            .ok_or(ClientError::Content("offset"))?;
        let [p1, p2] = offset.to_be_bytes();
        self.expect(
            "READ BINARY",
            &Command::encode(0x00, 0xB0, p1, p2, &[], Some(len.min(CHUNK))),
        )
    }

    /// Reads the current EF whole, taking its length from the TLV (or DER)
    /// header at its start; reads to the end of the file when there is none.
    pub fn read_current_file(&mut self) -> Result<Vec<u8>, ClientError> {
        let mut content = self.read_binary(0, CHUNK)?;
        let total = tlv_total_len(&content);
        loop {
            let wanted = total.map_or(CHUNK, |t| t.saturating_sub(content.len()));
            if wanted == 0 || (total.is_none() && content.len() % CHUNK != 0) {
                break;
            }
            let response = self.exchange(&Command::encode(
                0x00,
                0xB0,
                (content.len() >> 8) as u8,
                content.len() as u8,
                &[],
                Some(wanted.min(CHUNK)),
            ))?;
            match response.sw {
                Sw::OK if !response.data.is_empty() => content.extend_from_slice(&response.data),
                Sw::OK | Sw::WRONG_OFFSET => break,
                sw => {
                    return Err(ClientError::Refused {
                        what: "READ BINARY",
                        sw,
                    })
                }
            }
        }
        if let Some(total) = total {
            if content.len() < total {
                return Err(ClientError::Content("file shorter than its header says"));
            }
            content.truncate(total);
        }
        Ok(content)
    }

    /// Reads the current EF to its end, whatever it holds.
    pub fn read_whole_file(&mut self) -> Result<Vec<u8>, ClientError> {
        let mut content = Vec::new();
        loop {
            let response = self.exchange(&Command::encode(
                0x00,
                0xB0,
                (content.len() >> 8) as u8,
                content.len() as u8,
                &[],
                Some(CHUNK),
            ))?;
            match response.sw {
                Sw::OK => {
                    let short = response.data.len() < CHUNK;
                    content.extend_from_slice(&response.data);
                    if short || content.len() > 0x7FFF {
                        break;
                    }
                }
                Sw::WRONG_OFFSET if !content.is_empty() => break,
                sw => {
                    return Err(ClientError::Refused {
                        what: "READ BINARY",
                        sw,
                    })
                }
            }
        }
        Ok(content)
    }

    /// Whether the card holds the JPKI application and its token.
    pub fn check_card(&mut self) -> Result<(), ClientError> {
        self.select_application(Application::Jpki)?;
        self.select_file(jpki::TOKEN)?;
        let token = self.read_binary(0, JPKI_TOKEN.len())?;
        if !token.starts_with(b"JPKIAPICCTOKEN") {
            return Err(ClientError::NotMyNumberCard(
                "the JPKI token file does not say JPKIAPICCTOKEN".into(),
            ));
        }
        Ok(())
    }

    fn select_pin(&mut self, pin: PinRef) -> Result<(), ClientError> {
        let (app, fid) = pin.location();
        self.select_application(app)?;
        self.select_file(fid)
    }

    /// Tries left of `pin`: an empty VERIFY, which spends nothing.
    pub fn pin_status(&mut self, pin: PinRef) -> Result<PinStatus, ClientError> {
        self.select_pin(pin)?;
        let response = self.exchange(&[0x00, 0x20, 0x00, 0x80])?;
        let remaining = match response.sw {
            Sw::OK => pin.kind().retry_limit(),
            sw => sw.as_tries_left().ok_or(ClientError::Refused { what: "VERIFY", sw })?,
        };
        Ok(PinStatus {
            pin,
            remaining,
            limit: pin.kind().retry_limit(),
        })
    }

    /// Tries left of all four PINs.
    pub fn status(&mut self) -> Result<Vec<PinStatus>, ClientError> {
        self.check_card()?;
        PinRef::ALL.into_iter().map(|p| self.pin_status(p)).collect()
    }

    /// VERIFY of `pin` (selects its application: the PINs verified before
    /// are forgotten). A wrong PIN costs one try.
    pub fn verify(&mut self, pin: PinRef, value: &str) -> Result<(), ClientError> {
        self.select_pin(pin)?;
        let command = zeroize::Zeroizing::new(Command::encode(0x00, 0x20, 0x00, 0x80, value.as_bytes(), None));
        let response = self.exchange(&command)?;
        match response.sw {
            Sw::OK => Ok(()),
            Sw::BLOCKED => Err(ClientError::Locked),
            Sw::REFERENCE_DATA_UNUSABLE => Err(ClientError::NotSet),
            sw => match sw.as_tries_left() {
                Some(0) => Err(ClientError::Locked),
                Some(remaining) => Err(ClientError::WrongPin { remaining }),
                None => Err(ClientError::Refused { what: "VERIFY", sw }),
            },
        }
    }

    /// The certificate of a key. The auth certificate is free to read; the
    /// signature certificate needs the signature PIN (`sign_pin`).
    pub fn read_certificate(&mut self, key: JpkiKey, sign_pin: Option<&str>) -> Result<Vec<u8>, ClientError> {
        match (key, sign_pin) {
            (JpkiKey::Sign, Some(pin)) => self.verify(PinRef::Sign, pin)?,
            _ => self.select_application(Application::Jpki)?,
        }
        self.select_file(key.certificate_fid())?;
        let der = self.read_current_file()?;
        if der.first() != Some(&0x30) {
            return Err(ClientError::Content("certificate EF"));
        }
        Ok(der)
    }

    /// The certificate of the CA that issued a key's certificate.
    pub fn read_ca_certificate(&mut self, key: JpkiKey) -> Result<Vec<u8>, ClientError> {
        self.select_application(Application::Jpki)?;
        self.select_file(key.ca_certificate_fid())?;
        let der = self.read_current_file()?;
        if der.first() != Some(&0x30) {
            return Err(ClientError::Content("CA certificate EF"));
        }
        Ok(der)
    }

    /// Signs `data` (a DigestInfo, or any 1–245 bytes) with `key` after
    /// its PIN: PKCS#1 v1.5 type-1 padding on the card. Returns the
    /// signature and the key's certificate, read in the same PIN session.
    pub fn sign(&mut self, key: JpkiKey, pin: &str, data: &[u8]) -> Result<Signed, ClientError> {
        self.verify(PinRef::for_key(key), pin)?;
        self.select_file(key.certificate_fid())?;
        let certificate = self.read_current_file()?;
        self.select_file(key.key_fid())?;
        let command = Command::encode(0x80, 0x2A, 0x00, 0x80, data, Some(256));
        let signature = self.expect("COMPUTE DIGITAL SIGNATURE", &command)?;
        Ok(Signed { signature, certificate })
    }

    /// Signs `message` with `key`: SHA-256, DigestInfo, PKCS#1 v1.5 on the
    /// card (RSASSA-PKCS1-v1_5 with SHA-256).
    pub fn sign_sha256(&mut self, key: JpkiKey, pin: &str, message: &[u8]) -> Result<Signed, ClientError> {
        let digest_info = digest_info_sha256(message);
        self.sign(key, pin, &digest_info)
    }

    /// Changes `pin` from `old` to `new` (VERIFY, then CHANGE REFERENCE
    /// DATA). The new value is checked against the rules first.
    pub fn change_pin(&mut self, pin: PinRef, old: &str, new: &str) -> Result<(), ClientError> {
        pin.kind()
            .check_format(new)
            .map_err(|e| ClientError::Format(e.to_string()))?;
        self.verify(pin, old)?;
        let command = zeroize::Zeroizing::new(Command::encode(0x00, 0x24, 0x01, 0x80, new.as_bytes(), None));
        let response = self.exchange(&command)?;
        match response.sw {
            Sw::OK => Ok(()),
            Sw::WRONG_DATA => Err(ClientError::Format("refused by the card".into())),
            sw => Err(ClientError::Refused {
                what: "CHANGE REFERENCE DATA",
                sw,
            }),
        }
    }

    /// My Number and the basic 4 after the input-support PIN, with the
    /// producer's signature over them checked.
    pub fn my_info(&mut self, pin: &str) -> Result<MyInfo, ClientError> {
        self.verify(PinRef::InputSupport, pin)?;
        // Whole files: the producer's hashes cover the padding too.
        let mut read = |fid| -> Result<Vec<u8>, ClientError> {
            self.select_file(fid)?;
            self.read_whole_file()
        };
        let my_number_ef = read(kenhojo::MY_NUMBER)?;
        let basic_four_ef = read(kenhojo::BASIC_FOUR)?;
        let signature_ef = read(kenhojo::SIGNATURE)?;
        let producer_ef = read(kenhojo::PRODUCER_CERT)?;
        let my_number = input_support::parse_my_number(&my_number_ef).ok_or(ClientError::Content("My Number EF"))?;
        let basic_four = input_support::parse_basic_four(&basic_four_ef).ok_or(ClientError::Content("basic 4 EF"))?;
        let signature_valid =
            input_support::verify(&my_number_ef, &basic_four_ef, &signature_ef, &producer_ef, None).is_ok();
        Ok(MyInfo {
            my_number,
            basic_four,
            signature_valid,
        })
    }
}

/// DigestInfo of SHA-256 (RFC 8017 §9.2 note 1) over `message`.
pub fn digest_info_sha256(message: &[u8]) -> Vec<u8> {
    const PREFIX: [u8; 19] = [
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04,
        0x20,
    ];
    let mut out = PREFIX.to_vec();
    out.extend_from_slice(&mynacard_card::crypto::sha256(message));
    out
}

/// Checks a signature from [`JpkiClient::sign_sha256`] with the public key
/// of a certificate (DER).
pub fn verify_sha256(certificate_der: &[u8], message: &[u8], signature: &[u8]) -> bool {
    spki_of(certificate_der)
        .and_then(|spki| RsaPublic::from_spki(&spki).ok())
        .is_some_and(|key| key.verify_sha256(message, signature))
}

/// The SubjectPublicKeyInfo (DER) of an X.509 certificate (DER).
pub fn spki_of(certificate_der: &[u8]) -> Option<Vec<u8>> {
    use der::{Decode, Encode};
    let certificate = x509_cert::Certificate::from_der(certificate_der).ok()?;
    certificate.tbs_certificate().subject_public_key_info().to_der().ok()
}

/// The length of the BER-TLV at the start of `bytes` (header included),
/// when it has one the card interface uses: 1- or 2-byte tags, lengths in
/// short form or `81`/`82` long form.
fn tlv_total_len(bytes: &[u8]) -> Option<usize> {
    let first = *bytes.first()?;
    if first == 0x00 || first == 0xFF && bytes.get(1) == Some(&0xFF) {
        return None;
    }
    let tag_len = if first & 0x1F == 0x1F { 2 } else { 1 };
    let len_byte = *bytes.get(tag_len)?;
    let (len, header) = match len_byte {
        0..=0x7F => (usize::from(len_byte), tag_len + 1),
        0x81 => (usize::from(*bytes.get(tag_len + 1)?), tag_len + 2),
        0x82 => (
            usize::from(u16::from_be_bytes([*bytes.get(tag_len + 1)?, *bytes.get(tag_len + 2)?])),
            tag_len + 3,
        ),
        _ => return None,
    };
    Some(header + len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tlv_lengths() {
        assert_eq!(tlv_total_len(&[0x30, 0x82, 0x06, 0x1F]), Some(4 + 0x061F));
        assert_eq!(tlv_total_len(&[0xFF, 0x10, 0x0C]), Some(15));
        assert_eq!(tlv_total_len(&[0xFF, 0x20, 0x81, 0x90]), Some(4 + 0x90));
        assert_eq!(tlv_total_len(&[0x7F, 0x21, 0x82, 0x02, 0x34]), Some(5 + 0x234));
        assert_eq!(tlv_total_len(&[]), None);
        assert_eq!(tlv_total_len(&[0x00, 0x00]), None);
        assert_eq!(tlv_total_len(&[0x30, 0x83, 0, 0, 0]), None);
    }

    #[test]
    fn pin_names_round_trip() {
        for pin in PinRef::ALL {
            assert_eq!(PinRef::from_short(pin.short()), Some(pin));
        }
        assert_eq!(PinRef::from_short("AUTH"), None);
    }
}
