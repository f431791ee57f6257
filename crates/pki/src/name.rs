//! Distinguished names of the JPKI hierarchy.
//!
//! JPKI names repeat attribute types (two OU in the CA name, two L in the
//! signature certificate's subject), which rules out builders keyed by
//! attribute type; names here are built RDN by RDN. Country is a
//! PrintableString, every other attribute a UTF8String, as in the real roots.

use const_oid::ObjectIdentifier;
use der::asn1::{PrintableStringRef, Utf8StringRef};
use der::{Any, Decode, Encode};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};

use crate::oid;
use crate::PkiError;

/// The two JPKI hierarchies, each with its own root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hierarchy {
    /// 署名用: the signature CA.
    Signature,
    /// 利用者証明用: the user-authentication CA.
    UserAuthentication,
}

impl Hierarchy {
    /// Both.
    pub const ALL: [Hierarchy; 2] = [Hierarchy::Signature, Hierarchy::UserAuthentication];

    /// A short name for files and the command line: `sign` or `auth`.
    pub fn short(self) -> &'static str {
        match self {
            Hierarchy::Signature => "sign",
            Hierarchy::UserAuthentication => "auth",
        }
    }

    /// The hierarchy named `sign` or `auth`.
    pub fn from_short(text: &str) -> Option<Hierarchy> {
        match text {
            "sign" => Some(Hierarchy::Signature),
            "auth" => Some(Hierarchy::UserAuthentication),
            _ => None,
        }
    }

    /// The English OU of the CA name.
    fn purpose_ou(self) -> &'static str {
        match self {
            Hierarchy::Signature => "JPKI for digital signature",
            Hierarchy::UserAuthentication => "JPKI for user authentication",
        }
    }

    /// The Japanese OU of the CA's alternative name.
    fn purpose_ou_ja(self) -> &'static str {
        match self {
            Hierarchy::Signature => "公的個人認証サービス署名用",
            Hierarchy::UserAuthentication => "公的個人認証サービス利用者証明用",
        }
    }
}

/// One attribute of a name.
#[derive(Debug, Clone, Copy)]
pub enum Attr<'a> {
    /// C, as a PrintableString.
    Country(&'a str),
    /// Any other attribute, as a UTF8String.
    Utf8(ObjectIdentifier, &'a str),
}

fn atv(attr: Attr<'_>) -> Result<AttributeTypeAndValue, PkiError> {
    let bad = |e: der::Error| PkiError::der("name attribute", e);
    let (oid, value) = match attr {
        Attr::Country(c) => (
            oid::AT_COUNTRY,
            Any::encode_from(&PrintableStringRef::new(c).map_err(bad)?).map_err(bad)?,
        ),
        Attr::Utf8(oid, text) => (
            oid,
            Any::encode_from(&Utf8StringRef::new(text).map_err(bad)?).map_err(bad)?,
        ),
    };
    Ok(AttributeTypeAndValue { oid, value })
}

/// A name of one attribute per RDN, in the order given.
pub fn build_name(attrs: &[Attr<'_>]) -> Result<Name, PkiError> {
    let mut rdns = RdnSequence::default();
    for attr in attrs {
        let rdn = RelativeDistinguishedName::try_from(vec![atv(*attr)?]).map_err(|e| PkiError::der("RDN", e))?;
        rdns.push(rdn);
    }
    let der = rdns.to_der().map_err(|e| PkiError::der("name", e))?;
    Name::from_der(&der).map_err(|e| PkiError::der("name", e))
}

/// The organisation: `JPKI`, or `JPKI-TEST` for the test hierarchy.
fn organisation(test: bool) -> &'static str {
    if test {
        "JPKI-TEST"
    } else {
        "JPKI"
    }
}

/// The root's name: C=JP, O=JPKI, OU=JPKI for …, OU=Japan Agency for Local
/// Authority Information Systems (pki-profile.md §1.1).
pub fn ca_name(hierarchy: Hierarchy, test: bool) -> Result<Name, PkiError> {
    build_name(&[
        Attr::Country("JP"),
        Attr::Utf8(oid::AT_ORGANIZATION, organisation(test)),
        Attr::Utf8(oid::AT_ORGANIZATIONAL_UNIT, hierarchy.purpose_ou()),
        Attr::Utf8(
            oid::AT_ORGANIZATIONAL_UNIT,
            "Japan Agency for Local Authority Information Systems",
        ),
    ])
}

/// The CA's Japanese alternative name (directoryName of its SAN and of the
/// issuerAltName of its certificates): C=JP, O=公的個人認証サービス,
/// OU=公的個人認証サービス署名用|利用者証明用, OU=地方公共団体情報システム機構.
pub fn ca_alt_name(hierarchy: Hierarchy, test: bool) -> Result<Name, PkiError> {
    let organisation = if test {
        "公的個人認証サービス（テスト）"
    } else {
        "公的個人認証サービス"
    };
    build_name(&[
        Attr::Country("JP"),
        Attr::Utf8(oid::AT_ORGANIZATION, organisation),
        Attr::Utf8(oid::AT_ORGANIZATIONAL_UNIT, hierarchy.purpose_ou_ja()),
        Attr::Utf8(oid::AT_ORGANIZATIONAL_UNIT, "地方公共団体情報システム機構"),
    ])
}

/// The delegated OCSP responder's name: the CA's name with a CN.
pub fn ocsp_responder_name(hierarchy: Hierarchy, test: bool, generation: u32) -> Result<Name, PkiError> {
    let cn = format!("{} OCSP Responder {generation:02}", organisation(test));
    build_name(&[
        Attr::Country("JP"),
        Attr::Utf8(oid::AT_ORGANIZATION, organisation(test)),
        Attr::Utf8(oid::AT_ORGANIZATIONAL_UNIT, hierarchy.purpose_ou()),
        Attr::Utf8(
            oid::AT_ORGANIZATIONAL_UNIT,
            "Japan Agency for Local Authority Information Systems",
        ),
        Attr::Utf8(oid::AT_COMMON_NAME, &cn),
    ])
}

/// A signature certificate's subject: C=JP, L=<prefecture>, L=<municipality>, CN=<opaque>.
pub fn signature_subject(prefecture: &str, municipality: &str, cn: &str) -> Result<Name, PkiError> {
    build_name(&[
        Attr::Country("JP"),
        Attr::Utf8(oid::AT_LOCALITY, prefecture),
        Attr::Utf8(oid::AT_LOCALITY, municipality),
        Attr::Utf8(oid::AT_COMMON_NAME, cn),
    ])
}

/// A user-authentication certificate's subject: C=JP, CN=<opaque>.
pub fn auth_subject(cn: &str) -> Result<Name, PkiError> {
    build_name(&[Attr::Country("JP"), Attr::Utf8(oid::AT_COMMON_NAME, cn)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_name_repeats_ou_and_keeps_string_types() {
        let name = ca_name(Hierarchy::Signature, false).expect("name");
        assert_eq!(name.len(), 4);
        let text = name.to_string();
        assert!(text.contains("OU=JPKI for digital signature"), "{text}");
        assert!(text.contains("O=JPKI"), "{text}");
        let der = name.to_der().expect("der");
        // C is a PrintableString (tag 0x13), O a UTF8String (0x0c).
        let c = der
            .windows(5)
            .position(|w| w == [0x06, 0x03, 0x55, 0x04, 0x06])
            .expect("C");
        assert_eq!(der[c + 5], 0x13);
        let o = der
            .windows(5)
            .position(|w| w == [0x06, 0x03, 0x55, 0x04, 0x0a])
            .expect("O");
        assert_eq!(der[o + 5], 0x0c);
        let test = ca_name(Hierarchy::Signature, true).expect("name").to_string();
        assert!(test.contains("O=JPKI-TEST"), "{test}");
    }

    #[test]
    fn signature_subject_repeats_locality() {
        let name = signature_subject("Tokyo", "Chiyoda-ku", "20260510103015000001131016").expect("name");
        assert_eq!(name.len(), 4);
        assert!(name.to_string().contains("L=Tokyo"));
        assert!(name.to_string().contains("L=Chiyoda-ku"));
        assert!(ca_alt_name(Hierarchy::UserAuthentication, false).expect("alt").len() == 4);
    }
}
