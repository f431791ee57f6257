//! The contents of the 券面事項確認AP (card surface): the surface entries
//! with the face image, EF 0002.
//!
//! card-interface.md §2.3 gives only `FF20 {DF21 … DF2A}`; the fields are
//! those JSAPDU (`schemaKenkakuEntries`) and jpki-rs (`Surface`) read, in
//! their order:
//!
//! | tag | field |
//! |---|---|
//! | DF21 | offsets: absolute positions of the DF22 … DF2A tags (u16 each) |
//! | DF22 | date of birth `YYYYMMDD` |
//! | DF23 | sex (ISO 5218) |
//! | DF24 | the producer's public key `82 <e> 81 <n>` |
//! | DF25 | name (image) |
//! | DF26 | address (image) |
//! | DF27 | face photograph (JPEG 2000 on real cards) |
//! | DF28 | the producer's signature |
//! | DF29 | expiry `YYYYMMDD` |
//! | DF2A | security code (image) |
//!
//! *Choice*: DF28 is RSA PKCS#1 v1.5 SHA-256 over the DF22 … DF27 TLVs.

use chrono::NaiveDate;
use mynacard_pki::Signer;

use crate::crypto::RsaPublic;
use crate::input_support::{parse_public_key_tlvs, public_key_tlvs, with_offsets, ContentError, Sex};
use crate::layout::MAX_EF_SIZE;
use crate::tlv;

/// What the card surface shows, as images where the real card has images.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurfaceEntries {
    /// Date of birth.
    pub birth: NaiveDate,
    /// Sex.
    pub sex: Sex,
    /// The name as printed (image bytes).
    pub name_image: Vec<u8>,
    /// The address as printed (image bytes).
    pub address_image: Vec<u8>,
    /// The face photograph (image bytes).
    pub face_image: Vec<u8>,
    /// The card's expiry date.
    pub expiry: NaiveDate,
    /// The security code as printed (image bytes).
    pub security_code_image: Vec<u8>,
}

/// EF 0002 of the surface AP, signed by the producer.
pub fn entries_ef(entries: &SurfaceEntries, producer: &dyn Signer) -> Result<Vec<u8>, ContentError> {
    let birth = entries.birth.format("%Y%m%d").to_string();
    let expiry = entries.expiry.format("%Y%m%d").to_string();
    let public = public_key_tlvs(producer.public_key_der())?;
    let signed_fields: [(u32, &[u8]); 6] = [
        (0xDF22, birth.as_bytes()),
        (0xDF23, &[entries.sex.code()]),
        (0xDF24, &public),
        (0xDF25, &entries.name_image),
        (0xDF26, &entries.address_image),
        (0xDF27, &entries.face_image),
    ];
    let signed: Vec<u8> = signed_fields.iter().flat_map(|(tag, v)| tlv::encode(*tag, v)).collect();
    let signature = producer
        .sign(&signed)
        .map_err(|e| ContentError::Signer(e.to_string()))?;
    let mut fields = signed_fields.to_vec();
    fields.push((0xDF28, &signature));
    fields.push((0xDF29, expiry.as_bytes()));
    fields.push((0xDF2A, &entries.security_code_image));
    let ef = with_offsets(0xFF20, 0xDF21, &fields)?;
    if ef.len() > MAX_EF_SIZE {
        return Err(ContentError::TooLarge("the surface entries"));
    }
    Ok(ef)
}

/// Reads EF 0002 back and checks the producer's signature with the key in DF24
/// (and that key against `producer` when given).
pub fn parse_entries(ef: &[u8], producer: Option<&RsaPublic>) -> Option<SurfaceEntries> {
    let outer = tlv::read(ef, 0).filter(|t| t.tag == 0xFF20)?;
    let fields = tlv::read_all(outer.value)?;
    let [offsets, birth, sex, public, name, address, face, signature, expiry, code] = fields.as_slice() else {
        return None;
    };
    let expected = [
        0xDF21, 0xDF22, 0xDF23, 0xDF24, 0xDF25, 0xDF26, 0xDF27, 0xDF28, 0xDF29, 0xDF2A,
    ];
    if fields.iter().map(|f| f.tag).ne(expected) || offsets.value.len() != 18 {
        return None;
    }
    for (i, field) in fields[1..].iter().enumerate() {
        let position = usize::from(u16::from_be_bytes([offsets.value[2 * i], offsets.value[2 * i + 1]]));
        if position != outer.value_start + field.start {
            return None;
        }
    }
    let key = parse_public_key_tlvs(public.value)?;
    if producer.is_some_and(|p| *p != key) {
        return None;
    }
    if !key.verify_sha256(&outer.value[birth.start..face.end], signature.value) {
        return None;
    }
    let date = |t: &tlv::Tlv<'_>| NaiveDate::parse_from_str(std::str::from_utf8(t.value).ok()?, "%Y%m%d").ok();
    let [sex_code] = sex.value else {
        return None;
    };
    Some(SurfaceEntries {
        birth: date(birth)?,
        sex: Sex::from_code(*sex_code)?,
        name_image: name.value.to_vec(),
        address_image: address.value.to_vec(),
        face_image: face.value.to_vec(),
        expiry: date(expiry)?,
        security_code_image: code.value.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::test_keys;
    use mynacard_pki::SoftwareKey;

    #[test]
    fn entries_round_trip_and_verify() {
        let producer = SoftwareKey::from_pkcs8(test_keys::PRODUCER).expect("producer");
        let entries = SurfaceEntries {
            birth: NaiveDate::from_ymd_opt(1985, 4, 1).expect("date"),
            sex: Sex::Female,
            name_image: vec![0x89, b'P', b'N', b'G', 1],
            address_image: vec![0x89, b'P', b'N', b'G', 2],
            face_image: vec![0x5A; 4000],
            expiry: NaiveDate::from_ymd_opt(2035, 4, 1).expect("date"),
            security_code_image: vec![0x89, b'P', b'N', b'G', 3],
        };
        let ef = entries_ef(&entries, &producer).expect("ef");
        assert_eq!(&ef[..3], &[0xFF, 0x20, 0x82]);
        let key = RsaPublic::from_spki(producer.public_key_der()).expect("key");
        assert_eq!(parse_entries(&ef, Some(&key)), Some(entries.clone()));
        let mut tampered = ef.clone();
        let at = ef.len() / 2;
        tampered[at] ^= 1;
        assert_eq!(parse_entries(&tampered, None), None);
        let other =
            RsaPublic::from_spki(SoftwareKey::from_pkcs8(test_keys::AUTH).expect("k").public_key_der()).expect("other");
        assert_eq!(parse_entries(&ef, Some(&other)), None);
    }
}
