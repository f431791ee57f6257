//! Object identifiers of the JPKI profile (pki-profile.md §1).

use const_oid::ObjectIdentifier;

/// sha256WithRSAEncryption (1.2.840.113549.1.1.11).
pub const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
/// rsaEncryption (1.2.840.113549.1.1.1).
pub const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// SHA-1 (1.3.14.3.2.26), used in OCSP CertIDs.
pub const SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
/// SHA-256 (2.16.840.1.101.3.4.2.1).
pub const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");

/// Signature certificate policy, production (署名用).
pub const POLICY_SIGN: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.392.200149.8.5.1.1.20");
/// Signature certificate policy, JPKI test environment.
pub const POLICY_SIGN_TEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.392.200149.8.5.1.0.20");
/// User-authentication certificate policy (利用者証明用).
pub const POLICY_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.392.200149.8.5.1.3.30");
/// User-authentication policy in the test environment (our choice, on the test arc `.0`).
pub const POLICY_AUTH_TEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.392.200149.8.5.1.0.30");
/// Smartphone signature certificate policy (the `.1.1.x` arc; `.40` as reported).
pub const POLICY_SMARTPHONE_SIGN: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.392.200149.8.5.1.1.40");
/// Smartphone user-authentication policy (our choice on the auth arc: `.1.3.40`).
pub const POLICY_SMARTPHONE_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.392.200149.8.5.1.3.40");
/// id-qt-cps (1.3.6.1.5.5.7.2.1).
pub const QT_CPS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.2.1");

/// SAN otherName: 氏名 (name).
pub const SAN_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.392.200149.8.5.5.1");
/// SAN otherName: 氏名 substitute-position flags.
pub const SAN_NAME_FLAGS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.392.200149.8.5.5.2");
/// SAN otherName: 性別 (sex).
pub const SAN_SEX: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.392.200149.8.5.5.3");
/// SAN otherName: 生年月日 (era-coded birth date).
pub const SAN_BIRTH_DATE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.392.200149.8.5.5.4");
/// SAN otherName: 住所 (address).
pub const SAN_ADDRESS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.392.200149.8.5.5.5");
/// SAN otherName: 住所 substitute-position flags.
pub const SAN_ADDRESS_FLAGS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.392.200149.8.5.5.6");

/// id-kp-OCSPSigning (1.3.6.1.5.5.7.3.9).
pub const KP_OCSP_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.9");
/// id-pkix-ocsp-nocheck (1.3.6.1.5.5.7.48.1.5).
pub const OCSP_NOCHECK: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.5");
/// id-pkix-ocsp-basic (1.3.6.1.5.5.7.48.1.1).
pub const OCSP_BASIC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.1");
/// id-pkix-ocsp-nonce (1.3.6.1.5.5.7.48.1.2).
pub const OCSP_NONCE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.2");
/// id-ad-ocsp (1.3.6.1.5.5.7.48.1), for the optional AIA.
pub const AD_OCSP: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1");

/// Extensions.
pub const EXT_SUBJECT_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");
pub const EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
pub const EXT_SUBJECT_ALT_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");
pub const EXT_ISSUER_ALT_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.18");
pub const EXT_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
pub const EXT_CRL_NUMBER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.20");
pub const EXT_CRL_REASON: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.21");
pub const EXT_INVALIDITY_DATE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.24");
pub const EXT_CRL_DISTRIBUTION_POINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.31");
pub const EXT_CERTIFICATE_POLICIES: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.32");
pub const EXT_AUTHORITY_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.35");
pub const EXT_EXTENDED_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
pub const EXT_AUTHORITY_INFO_ACCESS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.1.1");
pub const EXT_HOLD_INSTRUCTION_CODE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.23");

/// Attribute types of names.
pub const AT_COUNTRY: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.6");
pub const AT_ORGANIZATION: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");
pub const AT_ORGANIZATIONAL_UNIT: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.11");
pub const AT_LOCALITY: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.7");
pub const AT_COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
