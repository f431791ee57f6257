//! The contents of the 券面事項入力補助AP (card-info input support):
//! what the card producer writes at personalisation, built byte for byte as
//! card-interface.md §2.2 gives them, and how a client checks them.
//!
//! | EF | content |
//! |---|---|
//! | 0001 | `FF 10 0C <12 ASCII digits> FF FF` (17 bytes) |
//! | 0002 | `FF 20 L { DF21 08 <4 × u16 offsets>, DF22 name, DF23 address, DF24 "YYYYMMDD", DF25 sex }` |
//! | 0003 | `FF 30 82 01 4B { DF31 20 <SHA-256 of EF 0001>, DF32 20 <SHA-256 of the basic 4>, DF33 82 01 00 <signature> }` (336 bytes) |
//! | 0004 | `7F 21 82 02 33 { 5F4E 82 01 29 <issuer 16> <subject 16> 82 03 <e> 81 82 01 00 <n>, 5F37 82 01 00 <signature> }` (568 bytes) |
//! | 0005 | `FF 40 1A { DF41 04 <AP info>, DF42 10 <key id> }`, padded with `FF` to 256 bytes |
//!
//! The offsets in DF21 are the absolute positions in the EF of the DF22,
//! DF23, DF24 and DF25 tags; the basic-4 hash covers the EF from the DF22
//! tag to the end of FF20 (JSAPDU). The sizes 336 and 568 are what MYNA-GO
//! reads exactly, and the layouts above reach them to the byte.
//!
//! *Choices* where the sources stop: DF33 is RSA PKCS#1 v1.5 SHA-256 by the
//! producer's key over the DF31 and DF32 TLVs; 5F37 is the same by the
//! issuer's key over the whole 5F4E TLV; inside 5F4E the public key is
//! `82 <e>` then `81 <n>` (ISO 7816-8 tags, in the order JSAPDU reads them);
//! the hash of EF 0001 covers its 17 bytes as a whole-file read returns them.

use std::ops::Range;

use chrono::NaiveDate;
use mynacard_pki::Signer;
use mynacard_rules::numbers::MyNumber;

use crate::crypto::{sha256, RsaPublic};
use crate::tlv;

/// Sex as the card writes it (ISO 5218 in ASCII).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    /// "1".
    Male,
    /// "2".
    Female,
    /// "9" (not applicable).
    NotApplicable,
}

impl Sex {
    /// The ISO 5218 code.
    pub fn code(self) -> u8 {
        match self {
            Sex::Male => b'1',
            Sex::Female => b'2',
            Sex::NotApplicable => b'9',
        }
    }

    /// From an ISO 5218 code ("0", not known, is read as not applicable).
    pub fn from_code(code: u8) -> Option<Sex> {
        match code {
            b'1' => Some(Sex::Male),
            b'2' => Some(Sex::Female),
            b'9' | b'0' => Some(Sex::NotApplicable),
            _ => None,
        }
    }
}

/// The basic 4 information (基本4情報).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasicFour {
    /// Name (氏名), as printed.
    pub name: String,
    /// Address (住所), as printed.
    pub address: String,
    /// Date of birth.
    pub birth: NaiveDate,
    /// Sex.
    pub sex: Sex,
}

/// Why contents cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContentError {
    /// More than an EF holds.
    #[error("{0} does not fit in its EF")]
    TooLarge(&'static str),
    /// The signer failed.
    #[error("signer: {0}")]
    Signer(String),
    /// Not an RSA public key.
    #[error("the producer's public key is not RSA")]
    BadPublicKey,
    /// An input that is not in its layout.
    #[error("{0} is not in its layout")]
    Layout(&'static str),
}

/// Why input-support contents do not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// An EF is not in its layout.
    #[error("EF {0:04X} is not in its layout")]
    Layout(u16),
    /// A hash in EF 0003 does not match.
    #[error("the hash of EF {0:04X} does not match EF 0003")]
    Hash(u16),
    /// The producer's signature in EF 0003 does not verify with the key in EF 0004.
    #[error("the producer's signature does not verify")]
    Signature,
    /// The issuer's signature on EF 0004 does not verify.
    #[error("the producer certificate's signature does not verify")]
    CertificateSignature,
}

/// EF 0001: the My Number.
pub fn my_number_ef(number: &MyNumber) -> Vec<u8> {
    let mut out = vec![0xFF, 0x10, 0x0C];
    out.extend_from_slice(number.expose().as_bytes());
    out.extend_from_slice(&[0xFF, 0xFF]);
    out
}

/// The My Number in EF 0001.
pub fn parse_my_number(ef: &[u8]) -> Option<MyNumber> {
    let t = tlv::read(ef, 0)?;
    if t.tag != 0xFF10 {
        return None;
    }
    MyNumber::parse(std::str::from_utf8(t.value).ok()?).ok()
}

fn date_text(date: NaiveDate) -> String {
    date.format("%Y%m%d").to_string()
}

/// Fields with DF21 offsets: `FF tt L { DF21 <offsets>, fields… }`, each
/// offset the absolute position of its field's tag in the EF.
pub(crate) fn with_offsets(outer: u32, offsets_tag: u32, fields: &[(u32, &[u8])]) -> Result<Vec<u8>, ContentError> {
    let encoded: Vec<Vec<u8>> = fields.iter().map(|(tag, value)| tlv::encode(*tag, value)).collect();
    let offsets_len = 2 * fields.len();
    let header_len = tlv::tag_bytes(offsets_tag).len() + tlv::length_bytes(offsets_len).len() + offsets_len;
    let content_len = header_len + encoded.iter().map(Vec::len).sum::<usize>();
    if content_len > 0xFFFF {
        return Err(ContentError::TooLarge("the record"));
    }
    let outer_header = tlv::tag_bytes(outer).len() + tlv::length_bytes(content_len).len();
    let mut offsets = Vec::with_capacity(offsets_len);
    let mut at = outer_header + header_len;
    for field in &encoded {
        let position = u16::try_from(at).map_err(|_| ContentError::TooLarge("the record"))?;
        offsets.extend_from_slice(&position.to_be_bytes());
        at += field.len();
    }
    let mut content = tlv::encode(offsets_tag, &offsets);
    for field in encoded {
        content.extend(field);
    }
    Ok(tlv::encode(outer, &content))
}

/// EF 0002: the basic 4 in the specified layout. The outer length is short
/// below 128 bytes of content (what TEX2E and MBE read) and `81 xx`/`82 xx xx` above.
pub fn basic_four_ef(basic: &BasicFour) -> Result<Vec<u8>, ContentError> {
    let birth = date_text(basic.birth);
    with_offsets(
        0xFF20,
        0xDF21,
        &[
            (0xDF22, basic.name.as_bytes()),
            (0xDF23, basic.address.as_bytes()),
            (0xDF24, birth.as_bytes()),
            (0xDF25, &[basic.sex.code()]),
        ],
    )
}

/// The basic 4 read back from EF 0002, with the range its hash covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasicFourRecord {
    /// The fields.
    pub basic: BasicFour,
    /// The bytes of the EF that DF32 of EF 0003 hashes.
    pub hashed: Range<usize>,
}

/// Reads EF 0002; `None` unless it has the specified layout exactly
/// (offsets included). Bytes after the FF20 TLV are ignored (padding).
pub fn parse_basic_four(ef: &[u8]) -> Option<BasicFourRecord> {
    let outer = tlv::read(ef, 0)?;
    if outer.tag != 0xFF20 {
        return None;
    }
    let fields = tlv::read_all(outer.value)?;
    let [offsets, name, address, birth, sex] = fields.as_slice() else {
        return None;
    };
    if offsets.tag != 0xDF21 || offsets.value.len() != 8 {
        return None;
    }
    let tags = [(name, 0xDF22), (address, 0xDF23), (birth, 0xDF24), (sex, 0xDF25)];
    for (i, (field, tag)) in tags.iter().enumerate() {
        let position = usize::from(u16::from_be_bytes([offsets.value[2 * i], offsets.value[2 * i + 1]]));
        if field.tag != *tag || position != outer.value_start + field.start {
            return None;
        }
    }
    let birth_text = std::str::from_utf8(birth.value).ok()?;
    if birth_text.len() != 8 {
        return None;
    }
    let birth_date = NaiveDate::parse_from_str(birth_text, "%Y%m%d").ok()?;
    let [sex_code] = sex.value else {
        return None;
    };
    Some(BasicFourRecord {
        basic: BasicFour {
            name: String::from_utf8(name.value.to_vec()).ok()?,
            address: String::from_utf8(address.value.to_vec()).ok()?,
            birth: birth_date,
            sex: Sex::from_code(*sex_code)?,
        },
        hashed: outer.value_start + name.start..outer.end,
    })
}

fn sign(signer: &dyn Signer, message: &[u8]) -> Result<Vec<u8>, ContentError> {
    signer.sign(message).map_err(|e| ContentError::Signer(e.to_string()))
}

/// EF 0003: the producer's signature over the hashes of EF 0001 and EF 0002.
pub fn signature_ef(my_number_ef: &[u8], basic_four_ef: &[u8], producer: &dyn Signer) -> Result<Vec<u8>, ContentError> {
    let record = parse_basic_four(basic_four_ef).ok_or(ContentError::Layout("EF 0002 (basic 4)"))?;
    let mut signed = tlv::encode(0xDF31, &sha256(my_number_ef));
    signed.extend(tlv::encode(0xDF32, &sha256(&basic_four_ef[record.hashed])));
    let signature = sign(producer, &signed)?;
    let mut content = signed;
    content.extend(tlv::encode(0xDF33, &signature));
    Ok(pad(tlv::encode(0xFF30, &content), 336))
}

fn pad(mut bytes: Vec<u8>, to: usize) -> Vec<u8> {
    if bytes.len() < to {
        bytes.resize(to, 0xFF);
    }
    bytes
}

/// The public key TLVs `82 <e> 81 <n>` of a SubjectPublicKeyInfo.
pub fn public_key_tlvs(spki: &[u8]) -> Result<Vec<u8>, ContentError> {
    let public = RsaPublic::from_spki(spki).map_err(|_| ContentError::BadPublicKey)?;
    let mut out = tlv::encode(0x82, &public.e);
    out.extend(tlv::encode(0x81, &public.n));
    Ok(out)
}

/// The RSA key in `82 <e> 81 <n>`.
pub fn parse_public_key_tlvs(bytes: &[u8]) -> Option<RsaPublic> {
    let fields = tlv::read_all(bytes)?;
    let [e, n] = fields.as_slice() else {
        return None;
    };
    (e.tag == 0x82 && n.tag == 0x81).then(|| RsaPublic {
        n: n.value.to_vec(),
        e: e.value.to_vec(),
    })
}

/// EF 0004: the producer's certificate (J-LIS intermediate, not X.509),
/// signed by `issuer`.
pub fn producer_certificate_ef(
    issuer_id: [u8; 16],
    subject_id: [u8; 16],
    producer_spki: &[u8],
    issuer: &dyn Signer,
) -> Result<Vec<u8>, ContentError> {
    let mut body = issuer_id.to_vec();
    body.extend_from_slice(&subject_id);
    body.extend(public_key_tlvs(producer_spki)?);
    let body = tlv::encode(0x5F4E, &body);
    let signature = sign(issuer, &body)?;
    let mut content = body;
    content.extend(tlv::encode(0x5F37, &signature));
    Ok(pad(tlv::encode(0x7F21, &content), 568))
}

/// EF 0005: AP basic information, padded to 256 bytes.
pub fn ap_info_ef(ap_info: [u8; 4], key_id: [u8; 16]) -> Vec<u8> {
    let mut content = tlv::encode(0xDF41, &ap_info);
    content.extend(tlv::encode(0xDF42, &key_id));
    pad(tlv::encode(0xFF40, &content), 256)
}

/// Checks EF 0003 against EF 0001 and 0002 with the producer key of EF
/// 0004, and EF 0004 itself when the issuer's key is given.
pub fn verify(
    my_number_ef: &[u8],
    basic_four_ef: &[u8],
    signature_ef: &[u8],
    producer_certificate_ef: &[u8],
    issuer: Option<&RsaPublic>,
) -> Result<(), VerifyError> {
    use crate::layout::input_support as ef;
    let record = parse_basic_four(basic_four_ef).ok_or(VerifyError::Layout(ef::BASIC_FOUR))?;
    let outer = tlv::read(signature_ef, 0)
        .filter(|t| t.tag == 0xFF30)
        .ok_or(VerifyError::Layout(ef::SIGNATURE))?;
    let fields = tlv::read_all(outer.value).ok_or(VerifyError::Layout(ef::SIGNATURE))?;
    let [h1, h2, sig] = fields.as_slice() else {
        return Err(VerifyError::Layout(ef::SIGNATURE));
    };
    if (h1.tag, h2.tag, sig.tag) != (0xDF31, 0xDF32, 0xDF33) {
        return Err(VerifyError::Layout(ef::SIGNATURE));
    }
    if h1.value != sha256(my_number_ef) {
        return Err(VerifyError::Hash(ef::MY_NUMBER));
    }
    if h2.value != sha256(&basic_four_ef[record.hashed]) {
        return Err(VerifyError::Hash(ef::BASIC_FOUR));
    }
    let cert = tlv::read(producer_certificate_ef, 0)
        .filter(|t| t.tag == 0x7F21)
        .ok_or(VerifyError::Layout(ef::PRODUCER_CERT))?;
    let parts = tlv::read_all(cert.value).ok_or(VerifyError::Layout(ef::PRODUCER_CERT))?;
    let [body, cert_sig] = parts.as_slice() else {
        return Err(VerifyError::Layout(ef::PRODUCER_CERT));
    };
    if (body.tag, cert_sig.tag) != (0x5F4E, 0x5F37) || body.value.len() < 32 {
        return Err(VerifyError::Layout(ef::PRODUCER_CERT));
    }
    let producer = parse_public_key_tlvs(&body.value[32..]).ok_or(VerifyError::Layout(ef::PRODUCER_CERT))?;
    let signed = &outer.value[..sig.start];
    if !producer.verify_sha256(signed, sig.value) {
        return Err(VerifyError::Signature);
    }
    if let Some(issuer) = issuer {
        let body_tlv = &cert.value[body.start..body.end];
        if !issuer.verify_sha256(body_tlv, cert_sig.value) {
            return Err(VerifyError::CertificateSignature);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::test_keys;
    use mynacard_pki::SoftwareKey;

    fn basic(address: &str) -> BasicFour {
        BasicFour {
            name: "番号　花子".into(),
            address: address.into(),
            birth: NaiveDate::from_ymd_opt(1985, 4, 1).expect("date"),
            sex: Sex::Female,
        }
    }

    #[test]
    fn my_number_record() {
        let n = MyNumber::parse("123456789018").expect("number");
        let ef = my_number_ef(&n);
        assert_eq!(ef.len(), 17);
        assert_eq!(&ef[..3], &[0xFF, 0x10, 0x0C]);
        assert_eq!(&ef[3..15], b"123456789018");
        assert_eq!(parse_my_number(&ef), Some(n));
    }

    #[test]
    fn basic_four_offsets_are_tag_positions() {
        let ef = basic_four_ef(&basic("東京都千代田区霞が関２－１－２")).expect("ef");
        // Short outer length: the layout of the TEX2E trace.
        assert_eq!(&ef[..2], &[0xFF, 0x20]);
        assert!(ef[2] < 0x80);
        assert_eq!(&ef[3..6], &[0xDF, 0x21, 0x08]);
        let first = usize::from(u16::from_be_bytes([ef[6], ef[7]]));
        assert_eq!(first, 14);
        assert_eq!(&ef[14..16], &[0xDF, 0x22]);
        // MBE's reading: offset = position of the value within the FF20 content.
        let name_len = usize::from(ef[16]);
        assert_eq!(&ef[3 + first..3 + first + name_len], "番号　花子".as_bytes());
        let record = parse_basic_four(&ef).expect("parses");
        assert_eq!(record.basic, basic("東京都千代田区霞が関２－１－２"));
        assert_eq!(record.hashed, 14..ef.len());
    }

    #[test]
    fn long_addresses_use_long_lengths() {
        let long = "北海道".repeat(20);
        let ef = basic_four_ef(&basic(&long)).expect("ef");
        assert_eq!(ef[2], 0x81);
        assert_eq!(parse_basic_four(&ef).map(|r| r.basic.address), Some(long));
        let mut bad = ef.clone();
        bad[7] ^= 1;
        assert_eq!(parse_basic_four(&bad), None, "a wrong offset is refused");
    }

    #[test]
    fn signature_and_producer_certificate_verify() {
        let producer = SoftwareKey::from_pkcs8(test_keys::PRODUCER).expect("producer");
        let issuer = SoftwareKey::from_pkcs8(test_keys::SIGN).expect("issuer");
        let n = MyNumber::parse("123456789018").expect("number");
        let ef1 = my_number_ef(&n);
        let ef2 = basic_four_ef(&basic("東京都")).expect("ef2");
        let ef3 = signature_ef(&ef1, &ef2, &producer).expect("ef3");
        assert_eq!(ef3.len(), 336, "what MYNA-GO reads");
        let ef4 = producer_certificate_ef([1; 16], [2; 16], producer.public_key_der(), &issuer).expect("ef4");
        assert_eq!(ef4.len(), 568, "what MYNA-GO reads");
        let issuer_public = RsaPublic::from_spki(issuer.public_key_der()).expect("issuer");
        assert_eq!(verify(&ef1, &ef2, &ef3, &ef4, Some(&issuer_public)), Ok(()));
        let other = MyNumber::parse("000000000000").expect("number");
        assert_eq!(
            verify(&my_number_ef(&other), &ef2, &ef3, &ef4, None),
            Err(VerifyError::Hash(0x0001))
        );
        let moved = basic_four_ef(&basic("大阪府")).expect("moved");
        assert_eq!(verify(&ef1, &moved, &ef3, &ef4, None), Err(VerifyError::Hash(0x0002)));
        let mut forged = ef3.clone();
        forged[100] ^= 1;
        assert_eq!(verify(&ef1, &ef2, &forged, &ef4, None), Err(VerifyError::Signature));
        let wrong_issuer = RsaPublic::from_spki(producer.public_key_der()).expect("producer");
        assert_eq!(
            verify(&ef1, &ef2, &ef3, &ef4, Some(&wrong_issuer)),
            Err(VerifyError::CertificateSignature)
        );
        let info = ap_info_ef([0, 1, 2, 3], [4; 16]);
        assert_eq!(info.len(), 256, "what MYNA-GO reads");
        assert_eq!(&info[..3], &[0xFF, 0x40, 0x1A]);
    }
}
