//! Verification for relying parties (署名検証者, 利用者証明検証者).
//!
//! A certificate is accepted at a given time when: a JPKI root signed it
//! (found by trying each root's key — generations share one name, so names
//! prove nothing); it and its root are within their validity then; its key
//! usage and policy are those of the use asked for; and its status at that
//! time, from a CRL or an OCSP response signed by that root (or its
//! delegated responder), is good. A certificate on hold is not good.

use aws_lc_rs::signature::{UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use chrono::{DateTime, Utc};
use const_oid::ObjectIdentifier;
use der::{Decode, Encode};
use spki::SubjectPublicKeyInfoRef;
use x509_cert::ext::pkix::{CertificatePolicies, ExtendedKeyUsage, KeyUsage, KeyUsages};
use x509_cert::Certificate;

use crate::crl::{CrlIssuer, ParsedCrl};
use crate::ocsp::{OcspIssuer, OcspResponseStatus, SingleStatus};
use crate::status::{CertStatus, CrlReason};
use crate::time::from_x509_time;
use crate::{oid, PkiError, Serial};

/// Whether `signature` is a valid RSA PKCS#1 v1.5 SHA-256 signature of
/// `message` under the public key `spki_der`.
pub fn rsa_sha256_verifies(spki_der: &[u8], message: &[u8], signature: &[u8]) -> bool {
    let Ok(spki) = SubjectPublicKeyInfoRef::from_der(spki_der) else {
        return false;
    };
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, spki.subject_public_key.raw_bytes())
        .verify(message, signature)
        .is_ok()
}

/// What a relying party wants the certificate for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    /// Verifying a signed document: digitalSignature + nonRepudiation and a
    /// signature policy (card or smartphone, production or test).
    Signature,
    /// Authenticating a user: digitalSignature and a user-authentication policy.
    Authentication,
}

impl Usage {
    fn policies(self) -> &'static [ObjectIdentifier] {
        match self {
            Usage::Signature => &[oid::POLICY_SIGN, oid::POLICY_SIGN_TEST, oid::POLICY_SMARTPHONE_SIGN],
            Usage::Authentication => &[oid::POLICY_AUTH, oid::POLICY_AUTH_TEST, oid::POLICY_SMARTPHONE_AUTH],
        }
    }
}

/// Where the status comes from.
#[derive(Debug, Clone, Copy)]
pub enum Revocation<'a> {
    /// A CRL of the issuing root.
    Crl(&'a ParsedCrl),
    /// An OCSP response (DER) from the root or its delegated responder.
    Ocsp(&'a [u8]),
}

/// Why a certificate is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// Not DER, or not a certificate.
    #[error("malformed certificate: {0}")]
    Malformed(String),
    /// No trusted root signed it.
    #[error("no trusted JPKI root signed this certificate")]
    UntrustedIssuer,
    /// Outside its validity (or its root's) at the time asked.
    #[error("not valid at {at}: {why}")]
    NotValidAt { at: DateTime<Utc>, why: String },
    /// Key usage or policy is not that of the use asked for.
    #[error("not for this use: {0}")]
    WrongUsage(String),
    /// The status information cannot be trusted or does not cover the certificate or time.
    #[error("no usable status information: {0}")]
    NoStatus(String),
    /// Revoked, or on hold.
    #[error("revoked ({reason:?}) at {at}")]
    Revoked {
        at: DateTime<Utc>,
        reason: Option<CrlReason>,
    },
}

/// A certificate accepted by [`Verifier::verify`].
#[derive(Debug, Clone)]
pub struct Accepted {
    /// Its serial.
    pub serial: Serial,
    /// The index of the root that signed it (into the verifier's roots).
    pub root: usize,
    /// Its notAfter.
    pub not_after: DateTime<Utc>,
    /// Its subject, as text.
    pub subject: String,
}

struct Root {
    certificate: Certificate,
    der: Vec<u8>,
    spki_der: Vec<u8>,
}

/// A relying party's verifier over a set of trusted JPKI roots.
pub struct Verifier {
    roots: Vec<Root>,
}

fn malformed(e: impl std::fmt::Display) -> Rejection {
    Rejection::Malformed(e.to_string())
}

/// The signed part, algorithm and signature of a certificate.
fn signed_parts(certificate: &Certificate) -> Result<(Vec<u8>, ObjectIdentifier, Vec<u8>), Rejection> {
    let tbs = certificate.tbs_certificate().to_der().map_err(malformed)?;
    let signature = certificate
        .signature()
        .as_bytes()
        .ok_or_else(|| malformed("signature has unused bits"))?
        .to_vec();
    Ok((tbs, certificate.signature_algorithm().oid, signature))
}

fn within(certificate: &Certificate, at: DateTime<Utc>, what: &str) -> Result<(), Rejection> {
    let validity = certificate.tbs_certificate().validity();
    let (from, until) = (
        from_x509_time(&validity.not_before),
        from_x509_time(&validity.not_after),
    );
    if at < from || at > until {
        return Err(Rejection::NotValidAt {
            at,
            why: format!("{what} is valid from {from} to {until}"),
        });
    }
    Ok(())
}

impl Verifier {
    /// Trusts `roots` (DER certificates; several generations may be given).
    pub fn new(roots: &[Vec<u8>]) -> Result<Verifier, PkiError> {
        let roots = roots
            .iter()
            .map(|der| {
                let certificate = Certificate::from_der(der).map_err(|e| PkiError::der("root", e))?;
                let spki_der = certificate
                    .tbs_certificate()
                    .subject_public_key_info()
                    .to_der()
                    .map_err(|e| PkiError::der("root key", e))?;
                Ok(Root {
                    certificate,
                    der: der.clone(),
                    spki_der,
                })
            })
            .collect::<Result<Vec<_>, PkiError>>()?;
        Ok(Verifier { roots })
    }

    /// The root (index) whose key verifies `certificate`'s signature.
    fn signer_of(&self, certificate: &Certificate) -> Result<usize, Rejection> {
        let (tbs, alg, signature) = signed_parts(certificate)?;
        if alg != oid::SHA256_WITH_RSA {
            return Err(Rejection::UntrustedIssuer);
        }
        self.roots
            .iter()
            .position(|r| rsa_sha256_verifies(&r.spki_der, &tbs, &signature))
            .ok_or(Rejection::UntrustedIssuer)
    }

    /// Verifies `certificate_der` for `usage` at `at`, with status from `revocation`.
    pub fn verify(
        &self,
        certificate_der: &[u8],
        usage: Usage,
        at: DateTime<Utc>,
        revocation: Revocation<'_>,
    ) -> Result<Accepted, Rejection> {
        let certificate = Certificate::from_der(certificate_der).map_err(malformed)?;
        let root_index = self.signer_of(&certificate)?;
        let root = &self.roots[root_index];
        within(&certificate, at, "the certificate")?;
        within(&root.certificate, at, "its root")?;
        check_usage(&certificate, usage)?;
        let serial =
            Serial::from_der_content(certificate.tbs_certificate().serial_number().as_bytes()).map_err(malformed)?;
        let status = match revocation {
            Revocation::Crl(crl) => self.status_from_crl(root, crl, &serial)?,
            Revocation::Ocsp(response) => self.status_from_ocsp(root, response, &serial, at)?,
        };
        match status {
            SingleStatus::Good => Ok(Accepted {
                serial,
                root: root_index,
                not_after: from_x509_time(&certificate.tbs_certificate().validity().not_after),
                subject: certificate.tbs_certificate().subject().to_string(),
            }),
            SingleStatus::Revoked { at: revoked_at, reason } if revoked_at <= at => {
                Err(Rejection::Revoked { at: revoked_at, reason })
            }
            // Revoked (or held) after the time asked about: it was good then.
            SingleStatus::Revoked { .. } => Ok(Accepted {
                serial,
                root: root_index,
                not_after: from_x509_time(&certificate.tbs_certificate().validity().not_after),
                subject: certificate.tbs_certificate().subject().to_string(),
            }),
            SingleStatus::Unknown => Err(Rejection::NoStatus(
                "the responder does not know the certificate".into(),
            )),
        }
    }

    fn status_from_crl(&self, root: &Root, crl: &ParsedCrl, serial: &Serial) -> Result<SingleStatus, Rejection> {
        let issuer = CrlIssuer::new(&root.der).map_err(|e| Rejection::NoStatus(e.to_string()))?;
        crl.verify_issued_by(&issuer)
            .map_err(|e| Rejection::NoStatus(format!("the CRL is not the root's: {e}")))?;
        // A CRL issued after `at` still tells the status at `at` (the revocation dates do).
        Ok(match crl.status(serial) {
            CertStatus::Good => SingleStatus::Good,
            CertStatus::Revoked { at, reason, .. } => SingleStatus::Revoked {
                at,
                reason: Some(reason),
            },
        })
    }

    fn status_from_ocsp(
        &self,
        root: &Root,
        response: &[u8],
        serial: &Serial,
        at: DateTime<Utc>,
    ) -> Result<SingleStatus, Rejection> {
        let no = |why: String| Rejection::NoStatus(why);
        let parsed = crate::ocsp::parse_response(response).map_err(|e| no(e.to_string()))?;
        if parsed.status != OcspResponseStatus::Successful {
            return Err(no(format!("the responder answered {:?}", parsed.status)));
        }
        // Signed by the root itself, or by a delegated responder the root certified for OCSP.
        if parsed.verify_signature(&root.spki_der).is_err() {
            let delegated = parsed
                .certs
                .iter()
                .find_map(|der| {
                    let certificate = Certificate::from_der(der).ok()?;
                    let spki = certificate.tbs_certificate().subject_public_key_info().to_der().ok()?;
                    parsed.verify_signature(&spki).ok()?;
                    Some((certificate, spki))
                })
                .ok_or_else(|| no("the response is signed by neither the root nor a responder it certified".into()))?;
            let (certificate, _) = delegated;
            let (tbs, alg, signature) = signed_parts(&certificate)?;
            if alg != oid::SHA256_WITH_RSA || !rsa_sha256_verifies(&root.spki_der, &tbs, &signature) {
                return Err(no(
                    "the responder certificate is not issued by the certificate's root".into()
                ));
            }
            let eku = certificate
                .tbs_certificate()
                .get_extension::<ExtendedKeyUsage>()
                .map_err(malformed)?;
            if !eku.is_some_and(|(_, eku)| eku.0.contains(&oid::KP_OCSP_SIGNING)) {
                return Err(no("the responder certificate is not for OCSP signing".into()));
            }
            within(
                &certificate,
                at.max(parsed.produced_at.unwrap_or(at)),
                "the responder certificate",
            )?;
        }
        let issuer = OcspIssuer::new(&root.der).map_err(|e| no(e.to_string()))?;
        let single = parsed
            .responses
            .iter()
            .find(|r| r.cert_id.serial == *serial && r.cert_id.hash().is_some() && issuer.matches(&r.cert_id))
            .ok_or_else(|| no("the response does not speak of this certificate".into()))?;
        Ok(single.status)
    }
}

fn check_usage(certificate: &Certificate, usage: Usage) -> Result<(), Rejection> {
    let tbs = certificate.tbs_certificate();
    let (critical, key_usage) = tbs
        .get_extension::<KeyUsage>()
        .map_err(malformed)?
        .ok_or_else(|| Rejection::WrongUsage("no keyUsage".into()))?;
    if !critical {
        return Err(Rejection::WrongUsage("keyUsage is not critical".into()));
    }
    let needed = match usage {
        Usage::Signature => KeyUsages::DigitalSignature | KeyUsages::NonRepudiation,
        Usage::Authentication => KeyUsages::DigitalSignature.into(),
    };
    if !key_usage.0.contains(needed) {
        return Err(Rejection::WrongUsage(format!(
            "keyUsage {:?} lacks {needed:?}",
            key_usage.0
        )));
    }
    let (_, policies) = tbs
        .get_extension::<CertificatePolicies>()
        .map_err(malformed)?
        .ok_or_else(|| Rejection::WrongUsage("no certificatePolicies".into()))?;
    if !policies
        .0
        .iter()
        .any(|p| usage.policies().contains(&p.policy_identifier))
    {
        return Err(Rejection::WrongUsage(format!(
            "no {usage:?} policy among {:?}",
            policies
                .0
                .iter()
                .map(|p| p.policy_identifier.to_string())
                .collect::<Vec<_>>()
        )));
    }
    Ok(())
}
