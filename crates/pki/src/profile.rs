//! The JPKI certificate profiles (pki-profile.md §1) and certificate assembly.
//!
//! A certificate is made in two steps so that the CA can record it before
//! it exists: [`tbs_certificate`] gives the to-be-signed bytes (stored with
//! the serial *before* signing), then [`assemble`] wraps them with the
//! signature. Both roots, the delegated OCSP responders, the card
//! certificates and their smartphone variants come from here.

use chrono::{DateTime, NaiveDate, Utc};
use const_oid::ObjectIdentifier;
use der::asn1::{BitString, Ia5String, Int, Null, OctetString, Utf8StringRef};
use der::{Any, Decode, Encode, Sequence};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::ext::pkix::certpolicy::{PolicyInformation, PolicyQualifierInfo};
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName, OtherName};
use x509_cert::ext::pkix::{
    AccessDescription, AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, BasicConstraints, CertificatePolicies,
    CrlDistributionPoints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectKeyIdentifier,
};
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::time::Validity;
use x509_cert::Certificate;

use crate::name::{self, Hierarchy};
use crate::signer::sha1;
use crate::time::x509_time;
use crate::{oid, PkiError, Serial};

/// The kind of end-entity certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    /// 署名用電子証明書 on the card.
    Signature,
    /// 利用者証明用電子証明書 on the card.
    UserAuthentication,
    /// スマホ用署名用電子証明書.
    SmartphoneSignature,
    /// スマホ用利用者証明用電子証明書.
    SmartphoneUserAuthentication,
}

impl Profile {
    /// The hierarchy whose CA issues it.
    pub fn hierarchy(self) -> Hierarchy {
        match self {
            Profile::Signature | Profile::SmartphoneSignature => Hierarchy::Signature,
            Profile::UserAuthentication | Profile::SmartphoneUserAuthentication => Hierarchy::UserAuthentication,
        }
    }

    /// Whether it carries the holder's basic 4 information.
    pub fn carries_personal_data(self) -> bool {
        self.hierarchy() == Hierarchy::Signature
    }

    /// Whether it is a smartphone certificate.
    pub fn smartphone(self) -> bool {
        matches!(
            self,
            Profile::SmartphoneSignature | Profile::SmartphoneUserAuthentication
        )
    }

    /// The certificate policy.
    pub fn policy(self, test: bool) -> ObjectIdentifier {
        match (self, test) {
            (Profile::Signature, false) => oid::POLICY_SIGN,
            (Profile::Signature, true) => oid::POLICY_SIGN_TEST,
            (Profile::UserAuthentication, false) => oid::POLICY_AUTH,
            (Profile::UserAuthentication, true) => oid::POLICY_AUTH_TEST,
            (Profile::SmartphoneSignature, _) => oid::POLICY_SMARTPHONE_SIGN,
            (Profile::SmartphoneUserAuthentication, _) => oid::POLICY_SMARTPHONE_AUTH,
        }
    }

    /// The short name used on the command line and in records.
    pub fn short(self) -> &'static str {
        match self {
            Profile::Signature => "sign",
            Profile::UserAuthentication => "auth",
            Profile::SmartphoneSignature => "smartphone-sign",
            Profile::SmartphoneUserAuthentication => "smartphone-auth",
        }
    }

    /// The profile named by [`Profile::short`].
    pub fn from_short(text: &str) -> Option<Profile> {
        [
            Profile::Signature,
            Profile::UserAuthentication,
            Profile::SmartphoneSignature,
            Profile::SmartphoneUserAuthentication,
        ]
        .into_iter()
        .find(|p| p.short() == text)
    }
}

/// 性別 as the certificate codes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    /// 1.
    Male,
    /// 2.
    Female,
    /// 3: the code pki.world-tls.com gives for "unknown" (another implementer
    /// says 9; pki-profile.md §1.3 leaves it open, and we follow the JPKI source).
    Unknown,
}

impl Sex {
    /// The digit written in the SAN.
    pub fn code(self) -> &'static str {
        match self {
            Sex::Male => "1",
            Sex::Female => "2",
            Sex::Unknown => "3",
        }
    }

    /// From the SAN digit.
    pub fn from_code(code: &str) -> Option<Sex> {
        match code {
            "1" => Some(Sex::Male),
            "2" => Some(Sex::Female),
            "3" | "9" => Some(Sex::Unknown),
            _ => None,
        }
    }
}

/// The holder's basic 4 information (基本4情報) as a signature certificate carries it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Holder {
    /// 氏名: family and given name separated by a full-width space.
    pub name: String,
    /// 性別.
    pub sex: Sex,
    /// 生年月日.
    pub birth_date: NaiveDate,
    /// 住所, from the prefecture; at most 200 characters.
    pub address: String,
    /// Prefecture in romaji, for the subject's first L (e.g. `Tokyo`).
    pub prefecture: String,
    /// Municipality in romaji, for the subject's second L (e.g. `Chiyoda-ku`).
    pub municipality: String,
    /// Positions of substitute characters (代替文字) in the name, one digit
    /// per character; all `0` when absent.
    #[serde(default)]
    pub name_flags: Option<String>,
    /// The same for the address.
    #[serde(default)]
    pub address_flags: Option<String>,
}

/// Longest address the SAN takes (pki-profile.md §1.3).
pub const MAX_ADDRESS_CHARS: usize = 200;

impl Holder {
    /// Checks what the SAN needs: a name with a full-width space, an address
    /// of at most 200 characters, flags of the right length made of 0 and 1,
    /// and romaji for the subject.
    pub fn validate(&self) -> Result<(), PkiError> {
        let bad = |why: String| Err(PkiError::Holder(why));
        if self.name.trim().is_empty() {
            return bad("the name is empty".into());
        }
        if self.address.trim().is_empty() {
            return bad("the address is empty".into());
        }
        let address_chars = self.address.chars().count();
        if address_chars > MAX_ADDRESS_CHARS {
            return bad(format!(
                "the address has {address_chars} characters; at most {MAX_ADDRESS_CHARS}"
            ));
        }
        for (what, text, flags) in [
            ("name", &self.name, &self.name_flags),
            ("address", &self.address, &self.address_flags),
        ] {
            if let Some(flags) = flags {
                if flags.chars().count() != text.chars().count() || !flags.chars().all(|c| c == '0' || c == '1') {
                    return bad(format!(
                        "the {what} flags must be one 0 or 1 per character of the {what}"
                    ));
                }
            }
        }
        for (what, text) in [("prefecture", &self.prefecture), ("municipality", &self.municipality)] {
            if text.is_empty() || !text.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
                return bad(format!(
                    "the {what} must be given in romaji (ASCII), e.g. Tokyo / Chiyoda-ku"
                ));
            }
        }
        Ok(())
    }

    fn flags(text: &str, given: &Option<String>) -> String {
        given.clone().unwrap_or_else(|| "0".repeat(text.chars().count()))
    }
}

/// The era-coded birth date of the SAN: an era digit (1 明治, 2 大正,
/// 3 昭和, 4 平成, 5 令和, 0 before 明治) followed by the Gregorian
/// YYYYMMDD, e.g. `319800217`.
pub fn era_coded_birth_date(date: NaiveDate) -> String {
    let starts = [
        (NaiveDate::from_ymd_opt(2019, 5, 1), '5'),
        (NaiveDate::from_ymd_opt(1989, 1, 8), '4'),
        (NaiveDate::from_ymd_opt(1926, 12, 25), '3'),
        (NaiveDate::from_ymd_opt(1912, 7, 30), '2'),
        (NaiveDate::from_ymd_opt(1868, 10, 23), '1'),
    ];
    let era = starts
        .iter()
        .find(|(start, _)| start.is_some_and(|s| date >= s))
        .map_or('0', |(_, e)| *e);
    format!("{era}{}", date.format("%Y%m%d"))
}

/// The decoded SAN of a signature certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonalData {
    /// 氏名.
    pub name: String,
    /// 氏名 flags.
    pub name_flags: String,
    /// 性別 code.
    pub sex: String,
    /// Era-coded 生年月日.
    pub birth_date: String,
    /// 住所.
    pub address: String,
    /// 住所 flags.
    pub address_flags: String,
}

/// Reads the six otherName entries back from a certificate, in any order.
pub fn personal_data(certificate: &Certificate) -> Result<Option<PersonalData>, PkiError> {
    let Some(extensions) = certificate.tbs_certificate().extensions() else {
        return Ok(None);
    };
    let Some(san) = extensions.iter().find(|e| e.extn_id == oid::EXT_SUBJECT_ALT_NAME) else {
        return Ok(None);
    };
    let names = Vec::<GeneralName>::from_der(san.extn_value.as_bytes()).map_err(|e| PkiError::der("SAN", e))?;
    let mut values: std::collections::HashMap<ObjectIdentifier, String> = std::collections::HashMap::new();
    for general in names {
        if let GeneralName::OtherName(other) = general {
            let text = other
                .value
                .decode_as::<Utf8StringRef<'_>>()
                .map_err(|e| PkiError::der("SAN value", e))?;
            values.insert(other.type_id, text.as_str().to_owned());
        }
    }
    let mut take = |oid: ObjectIdentifier| {
        values.remove(&oid).ok_or_else(|| PkiError::Malformed {
            what: "SAN",
            why: format!("{oid} missing"),
        })
    };
    Ok(Some(PersonalData {
        name: take(oid::SAN_NAME)?,
        name_flags: take(oid::SAN_NAME_FLAGS)?,
        sex: take(oid::SAN_SEX)?,
        birth_date: take(oid::SAN_BIRTH_DATE)?,
        address: take(oid::SAN_ADDRESS)?,
        address_flags: take(oid::SAN_ADDRESS_FLAGS)?,
    }))
}

/// TBSCertificate, v3, encoded by us so that every field is under our control.
#[derive(Sequence)]
struct TbsCertificate {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    version: u8,
    serial: Int,
    signature: AlgorithmIdentifierOwned,
    issuer: Name,
    validity: Validity,
    subject: Name,
    subject_public_key_info: SubjectPublicKeyInfoOwned,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT")]
    extensions: Vec<Extension>,
}

/// Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }.
#[derive(Sequence)]
struct SignedCertificate {
    tbs: Any,
    signature_algorithm: AlgorithmIdentifierOwned,
    signature: BitString,
}

/// sha256WithRSAEncryption with NULL parameters.
pub fn sha256_with_rsa() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: oid::SHA256_WITH_RSA,
        parameters: Some(Any::from(Null)),
    }
}

/// The key identifier of RFC 5280 §4.2.1.2 method 1: SHA-1 of the
/// subjectPublicKey BIT STRING's bits.
pub fn key_identifier(spki_der: &[u8]) -> Result<[u8; 20], PkiError> {
    let spki = SubjectPublicKeyInfoOwned::from_der(spki_der).map_err(|e| PkiError::der("public key", e))?;
    Ok(sha1(spki.subject_public_key.raw_bytes()))
}

/// RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }.
#[derive(Sequence)]
struct RsaPublicKey<'a> {
    modulus: der::asn1::UintRef<'a>,
    exponent: der::asn1::UintRef<'a>,
}

/// Checks that `spki_der` is an RSA-2048 public key with exponent 65537,
/// as the law requires of JPKI keys (施行規則 第2条).
pub fn check_rsa_2048(spki_der: &[u8]) -> Result<SubjectPublicKeyInfoOwned, PkiError> {
    let unsupported = |why: String| PkiError::UnsupportedKey(why);
    let spki =
        SubjectPublicKeyInfoOwned::from_der(spki_der).map_err(|e| unsupported(format!("not a public key: {e}")))?;
    if spki.algorithm.oid != oid::RSA_ENCRYPTION {
        return Err(unsupported(format!(
            "algorithm {} is not rsaEncryption",
            spki.algorithm.oid
        )));
    }
    let key = RsaPublicKey::from_der(spki.subject_public_key.raw_bytes())
        .map_err(|e| unsupported(format!("malformed RSA public key: {e}")))?;
    let modulus = key.modulus.as_bytes();
    let bits = modulus.len() * 8 - modulus.first().map_or(8, |b| b.leading_zeros() as usize);
    if bits != 2048 {
        return Err(unsupported(format!("RSA-{bits}: JPKI keys are RSA-2048")));
    }
    if key.exponent.as_bytes() != [0x01, 0x00, 0x01] {
        return Err(unsupported("the public exponent must be 65537".into()));
    }
    Ok(spki)
}

fn extension<T: Encode>(extn_id: ObjectIdentifier, critical: bool, value: &T) -> Result<Extension, PkiError> {
    let der = value.to_der().map_err(|e| PkiError::der("extension", e))?;
    Ok(Extension {
        extn_id,
        critical,
        extn_value: OctetString::new(der).map_err(|e| PkiError::der("extension", e))?,
    })
}

fn subject_key_id(key_id: &[u8; 20]) -> Result<Extension, PkiError> {
    let id = OctetString::new(key_id.to_vec()).map_err(|e| PkiError::der("SKI", e))?;
    extension(oid::EXT_SUBJECT_KEY_ID, false, &SubjectKeyIdentifier(id))
}

fn authority_key_id(key_id: &[u8; 20]) -> Result<Extension, PkiError> {
    let id = OctetString::new(key_id.to_vec()).map_err(|e| PkiError::der("AKI", e))?;
    extension(
        oid::EXT_AUTHORITY_KEY_ID,
        false,
        &AuthorityKeyIdentifier {
            key_identifier: Some(id),
            authority_cert_issuer: None,
            authority_cert_serial_number: None,
        },
    )
}

fn ia5(text: &str) -> Result<Ia5String, PkiError> {
    Ia5String::new(text).map_err(|e| PkiError::der("IA5String", e))
}

/// The issuing CA, as far as its certificates need it.
#[derive(Debug, Clone)]
pub struct Issuer {
    /// The hierarchy.
    pub hierarchy: Hierarchy,
    /// Test hierarchy (O=JPKI-TEST, test policies).
    pub test: bool,
    /// The CA's name (issuer of what it signs).
    pub name: Name,
    /// The CA's key identifier (its SKI).
    pub key_id: [u8; 20],
}

impl Issuer {
    /// From the CA's certificate.
    pub fn from_certificate(hierarchy: Hierarchy, test: bool, certificate: &Certificate) -> Result<Issuer, PkiError> {
        let spki = certificate
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .map_err(|e| PkiError::der("spki", e))?;
        Ok(Issuer {
            hierarchy,
            test,
            name: certificate.tbs_certificate().subject().clone(),
            key_id: key_identifier(&spki)?,
        })
    }
}

/// Options of the CA that shape its end-entity certificates.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct IssuanceOptions {
    /// An AIA OCSP URL to add. JPKI certificates carry none; some validators
    /// (pyhanko-certvalidator) use a supplied OCSP response only with one.
    pub ocsp_url: Option<String>,
    /// The CPS URI of the certificatePolicies qualifier.
    pub cps_uri: Option<String>,
}

/// Default CPS URI of the policy qualifier.
pub const DEFAULT_CPS_URI: &str = "https://www.jpki.go.jp/ca/cps/";

/// What the CA is asked to certify.
#[derive(Debug, Clone)]
pub struct EndEntity<'a> {
    /// Which certificate.
    pub profile: Profile,
    /// The serial, chosen (random) before signing.
    pub serial: &'a Serial,
    /// The subject's public key (made on the card), DER SubjectPublicKeyInfo.
    pub public_key_der: &'a [u8],
    /// The holder's basic 4 information (signature profiles only).
    pub holder: Option<&'a Holder>,
    /// The subject CN: for a signature certificate the issuance-request time,
    /// a sequence number and the counter code; for an auth certificate an
    /// opaque 23-character identifier.
    pub subject_cn: &'a str,
    /// notBefore.
    pub not_before: DateTime<Utc>,
    /// notAfter: 23:59:59 JST on the last valid day.
    pub not_after: DateTime<Utc>,
}

fn policies(policy: ObjectIdentifier, options: &IssuanceOptions) -> Result<CertificatePolicies, PkiError> {
    let cps = options.cps_uri.as_deref().unwrap_or(DEFAULT_CPS_URI);
    let qualifier = Any::encode_from(&ia5(cps)?).map_err(|e| PkiError::der("CPS", e))?;
    Ok(CertificatePolicies(vec![PolicyInformation {
        policy_identifier: policy,
        policy_qualifiers: Some(vec![PolicyQualifierInfo {
            policy_qualifier_id: oid::QT_CPS,
            qualifier: Some(qualifier),
        }]),
    }]))
}

fn crl_distribution_point(issuer_name: &Name) -> CrlDistributionPoints {
    CrlDistributionPoints(vec![DistributionPoint {
        distribution_point: Some(DistributionPointName::FullName(vec![GeneralName::DirectoryName(
            issuer_name.clone(),
        )])),
        reasons: None,
        crl_issuer: None,
    }])
}

fn other_name(type_id: ObjectIdentifier, text: &str) -> Result<GeneralName, PkiError> {
    let value = Any::encode_from(&Utf8StringRef::new(text).map_err(|e| PkiError::der("UTF8String", e))?)
        .map_err(|e| PkiError::der("otherName", e))?;
    Ok(GeneralName::OtherName(OtherName { type_id, value }))
}

fn personal_san(holder: &Holder) -> Result<Vec<GeneralName>, PkiError> {
    holder.validate()?;
    Ok(vec![
        other_name(oid::SAN_NAME, &holder.name)?,
        other_name(oid::SAN_NAME_FLAGS, &Holder::flags(&holder.name, &holder.name_flags))?,
        other_name(oid::SAN_SEX, holder.sex.code())?,
        other_name(oid::SAN_BIRTH_DATE, &era_coded_birth_date(holder.birth_date))?,
        other_name(oid::SAN_ADDRESS, &holder.address)?,
        other_name(
            oid::SAN_ADDRESS_FLAGS,
            &Holder::flags(&holder.address, &holder.address_flags),
        )?,
    ])
}

fn encode_tbs(
    serial: &Serial,
    issuer: &Name,
    subject: Name,
    spki: SubjectPublicKeyInfoOwned,
    not_before: DateTime<Utc>,
    not_after: DateTime<Utc>,
    extensions: Vec<Extension>,
) -> Result<Vec<u8>, PkiError> {
    if not_after <= not_before {
        return Err(PkiError::Holder(format!(
            "validity ends ({not_after}) before it begins ({not_before})"
        )));
    }
    let tbs = TbsCertificate {
        version: 2,
        serial: Int::new(serial.as_bytes()).map_err(|e| PkiError::der("serial", e))?,
        signature: sha256_with_rsa(),
        issuer: issuer.clone(),
        validity: Validity::new(x509_time(not_before)?, x509_time(not_after)?),
        subject,
        subject_public_key_info: spki,
        extensions,
    };
    tbs.to_der().map_err(|e| PkiError::der("TBSCertificate", e))
}

/// The to-be-signed bytes of an end-entity certificate (pki-profile.md §1.2–1.4).
pub fn end_entity_tbs(
    issuer: &Issuer,
    request: &EndEntity<'_>,
    options: &IssuanceOptions,
) -> Result<Vec<u8>, PkiError> {
    let profile = request.profile;
    if profile.hierarchy() != issuer.hierarchy {
        return Err(PkiError::Holder(format!(
            "a {} certificate is not issued by the {} CA",
            profile.short(),
            issuer.hierarchy.short()
        )));
    }
    let spki = check_rsa_2048(request.public_key_der)?;
    let key_id = sha1(spki.subject_public_key.raw_bytes());
    let (subject, key_usage, san) = if profile.carries_personal_data() {
        let holder = request
            .holder
            .ok_or_else(|| PkiError::Holder("a signature certificate needs the holder's basic 4 information".into()))?;
        let san = personal_san(holder)?;
        let subject = name::signature_subject(&holder.prefecture, &holder.municipality, request.subject_cn)?;
        (
            subject,
            KeyUsages::DigitalSignature | KeyUsages::NonRepudiation,
            Some(san),
        )
    } else {
        (
            name::auth_subject(request.subject_cn)?,
            KeyUsages::DigitalSignature.into(),
            None,
        )
    };
    let mut extensions = vec![
        extension(oid::EXT_KEY_USAGE, true, &KeyUsage(key_usage))?,
        extension(
            oid::EXT_CERTIFICATE_POLICIES,
            true,
            &policies(profile.policy(issuer.test), options)?,
        )?,
    ];
    if let Some(san) = san {
        extensions.push(extension(oid::EXT_SUBJECT_ALT_NAME, false, &san)?);
    }
    extensions.push(extension(
        oid::EXT_ISSUER_ALT_NAME,
        false,
        &vec![GeneralName::DirectoryName(name::ca_alt_name(
            issuer.hierarchy,
            issuer.test,
        )?)],
    )?);
    extensions.push(extension(
        oid::EXT_CRL_DISTRIBUTION_POINTS,
        false,
        &crl_distribution_point(&issuer.name),
    )?);
    extensions.push(authority_key_id(&issuer.key_id)?);
    extensions.push(subject_key_id(&key_id)?);
    if let Some(url) = &options.ocsp_url {
        extensions.push(extension(
            oid::EXT_AUTHORITY_INFO_ACCESS,
            false,
            &AuthorityInfoAccessSyntax(vec![AccessDescription {
                access_method: oid::AD_OCSP,
                access_location: GeneralName::UniformResourceIdentifier(ia5(url)?),
            }]),
        )?);
    }
    encode_tbs(
        request.serial,
        &issuer.name,
        subject,
        spki,
        request.not_before,
        request.not_after,
        extensions,
    )
}

/// The to-be-signed bytes of a self-signed root (pki-profile.md §1.1):
/// critical basicConstraints CA:TRUE without a path length, critical
/// keyCertSign + cRLSign, SKI and no AKI, its Japanese name as SAN, and a
/// CRL distribution point that is its own name.
pub fn root_tbs(
    hierarchy: Hierarchy,
    test: bool,
    serial: &Serial,
    public_key_der: &[u8],
    not_before: DateTime<Utc>,
    not_after: DateTime<Utc>,
) -> Result<Vec<u8>, PkiError> {
    let spki = check_rsa_2048(public_key_der)?;
    let key_id = sha1(spki.subject_public_key.raw_bytes());
    let name = name::ca_name(hierarchy, test)?;
    let extensions = vec![
        extension(
            oid::EXT_BASIC_CONSTRAINTS,
            true,
            &BasicConstraints {
                ca: true,
                path_len_constraint: None,
            },
        )?,
        extension(
            oid::EXT_KEY_USAGE,
            true,
            &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
        )?,
        subject_key_id(&key_id)?,
        extension(
            oid::EXT_SUBJECT_ALT_NAME,
            false,
            &vec![GeneralName::DirectoryName(name::ca_alt_name(hierarchy, test)?)],
        )?,
        extension(oid::EXT_CRL_DISTRIBUTION_POINTS, false, &crl_distribution_point(&name))?,
    ];
    encode_tbs(serial, &name.clone(), name, spki, not_before, not_after, extensions)
}

/// The to-be-signed bytes of a delegated OCSP responder certificate:
/// critical digitalSignature, id-kp-OCSPSigning, id-pkix-ocsp-nocheck.
pub fn ocsp_responder_tbs(
    issuer: &Issuer,
    generation: u32,
    serial: &Serial,
    public_key_der: &[u8],
    not_before: DateTime<Utc>,
    not_after: DateTime<Utc>,
) -> Result<Vec<u8>, PkiError> {
    let spki = check_rsa_2048(public_key_der)?;
    let key_id = sha1(spki.subject_public_key.raw_bytes());
    let subject = name::ocsp_responder_name(issuer.hierarchy, issuer.test, generation)?;
    let extensions = vec![
        extension(oid::EXT_KEY_USAGE, true, &KeyUsage(KeyUsages::DigitalSignature.into()))?,
        extension(
            oid::EXT_EXTENDED_KEY_USAGE,
            false,
            &ExtendedKeyUsage(vec![oid::KP_OCSP_SIGNING]),
        )?,
        extension(oid::OCSP_NOCHECK, false, &Null)?,
        authority_key_id(&issuer.key_id)?,
        subject_key_id(&key_id)?,
    ];
    encode_tbs(serial, &issuer.name, subject, spki, not_before, not_after, extensions)
}

/// Wraps signed TBS bytes into a certificate.
pub fn assemble(tbs_der: &[u8], signature: &[u8]) -> Result<Vec<u8>, PkiError> {
    let certificate = SignedCertificate {
        tbs: Any::from_der(tbs_der).map_err(|e| PkiError::der("TBSCertificate", e))?,
        signature_algorithm: sha256_with_rsa(),
        signature: BitString::from_bytes(signature).map_err(|e| PkiError::der("signature", e))?,
    };
    certificate.to_der().map_err(|e| PkiError::der("certificate", e))
}

/// PEM armour for a certificate.
pub fn to_pem(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The DER inside the first PEM block with `label` (or the input itself if it is DER).
pub fn from_pem(label: &str, input: &[u8]) -> Result<Vec<u8>, PkiError> {
    use base64::Engine as _;
    let bad = |why: String| PkiError::Malformed { what: "PEM", why };
    if input.first() == Some(&0x30) {
        return Ok(input.to_vec());
    }
    let text = std::str::from_utf8(input).map_err(|_| bad("neither DER nor PEM text".into()))?;
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin).ok_or_else(|| bad(format!("no {begin} block")))? + begin.len();
    let stop = text[start..].find(&end).ok_or_else(|| bad(format!("no {end} line")))? + start;
    let body: String = text[start..stop].chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|e| bad(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn era_codes() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).expect("date");
        assert_eq!(era_coded_birth_date(d(1980, 2, 17)), "319800217");
        assert_eq!(era_coded_birth_date(d(1989, 1, 7)), "319890107");
        assert_eq!(era_coded_birth_date(d(1989, 1, 8)), "419890108");
        assert_eq!(era_coded_birth_date(d(2019, 4, 30)), "420190430");
        assert_eq!(era_coded_birth_date(d(2019, 5, 1)), "520190501");
        assert_eq!(era_coded_birth_date(d(1926, 12, 24)), "219261224");
        assert_eq!(era_coded_birth_date(d(1912, 7, 29)), "119120729");
        assert_eq!(era_coded_birth_date(d(1868, 1, 1)), "018680101");
    }

    #[test]
    fn holder_validation() {
        let mut h = Holder {
            name: "山田　太郎".into(),
            sex: Sex::Male,
            birth_date: NaiveDate::from_ymd_opt(1980, 2, 17).expect("date"),
            address: "東京都千代田区永田町一丁目７番１号".into(),
            prefecture: "Tokyo".into(),
            municipality: "Chiyoda-ku".into(),
            name_flags: None,
            address_flags: None,
        };
        h.validate().expect("valid");
        h.address = "あ".repeat(200);
        h.validate().expect("200 characters is the limit");
        h.address = "あ".repeat(201);
        assert_eq!(h.validate().map_err(|e| e.code()), Err("holder"));
        h.address = "東京都".into();
        h.name_flags = Some("0001".into());
        assert!(h.validate().is_err(), "flags must match the name's length");
        h.name_flags = None;
        h.municipality = "千代田区".into();
        assert!(h.validate().is_err(), "romaji only in the subject");
    }

    #[test]
    fn pem_round_trip() {
        let der = vec![0x30, 0x03, 0x02, 0x01, 0x05];
        let pem = to_pem("CERTIFICATE", &der);
        assert_eq!(from_pem("CERTIFICATE", pem.as_bytes()).expect("pem"), der);
        assert_eq!(from_pem("CERTIFICATE", &der).expect("der"), der);
        assert!(from_pem("CERTIFICATE", b"garbage").is_err());
    }
}
