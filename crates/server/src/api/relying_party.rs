//! Certificate verification for registered relying parties (署名検証者,
//! 利用者証明検証者), with an API key of kind `relying_party`.
//!
//! Why it looks like this:
//!
//! - **The relying party's own verifier, fed by the CA.** The answer comes
//!   from [`mynacard_pki::verify::Verifier`], the code a relying party
//!   would run itself: the chain to the JPKI root of the certificate's
//!   hierarchy (every generation trusted), the validity of the certificate
//!   and of its root at the time asked, the key usage and policy of the
//!   hierarchy, and the status — read from the CA's repository and signed
//!   for this answer by the generation's delegated OCSP responder, exactly
//!   what `/ocsp` would answer. So this endpoint and OCSP cannot disagree.
//! - **The basic 4 information (基本4情報) and nothing more.** For a
//!   signature certificate issued by our roots the answer carries the
//!   氏名, 住所, 生年月日 and 性別 its SAN holds (a relying party would read
//!   them from the certificate anyway); never the My Number, which no
//!   certificate holds. A user-authentication certificate carries no
//!   personal data, and a certificate of another CA gets no reading of its
//!   contents at all.
//! - **Read-only**: no `Idempotency-Key`. A verdict is data (`200`,
//!   `valid: false` with the reason); only input that is not a
//!   certificate is an error (`400`).

use std::sync::Arc;

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use mynacard_authority::{Authority, Clock};
use mynacard_pki::name::Hierarchy;
use mynacard_pki::ocsp::{CertIdHash, OcspIssuer, Responder, SingleStatus};
use mynacard_pki::profile::{personal_data, Sex};
use mynacard_pki::status::CrlReason;
use mynacard_pki::time::from_x509_time;
use mynacard_pki::verify::{Rejection, Revocation, Usage, Verifier};
use mynacard_pki::Serial;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use x509_cert::der::Decode;
use x509_cert::Certificate;

use super::ApiJson;
use crate::access::RelyingParty;
use crate::problem::Problem;
use crate::state::AppState;

/// The routes (relative to `/api/v1`).
pub fn router() -> Router<Arc<AppState>> {
    Router::new().route("/relying-party/certificates/verification", post(verify))
}

#[derive(OpenApi)]
#[openapi(
    paths(verify),
    components(schemas(
        VerificationRequest,
        Verification,
        Verdict,
        CertificateFacts,
        RevocationFacts,
        BasicFour,
        HolderSex
    ))
)]
struct Doc;

/// This module's part of the OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}

/// Longest base64 text accepted (a JPKI certificate is under 2 KB).
pub const MAX_CERTIFICATE_BASE64: usize = 16 * 1024;

/// A certificate to verify.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = relying_party::VerificationRequest)]
pub struct VerificationRequest {
    /// The certificate, DER in standard base64 (line breaks allowed).
    #[schema(min_length = 1, max_length = 16384, content_encoding = "base64")]
    pub certificate: String,
    /// The time to verify at, e.g. when a document was signed (default:
    /// now); not in the future.
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
}

/// The verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = relying_party::Verdict)]
pub enum Verdict {
    /// Issued by a JPKI root, valid, for its use, and good at the time.
    Good,
    /// Revoked at or before the time.
    Revoked,
    /// On hold (一時保留, certificateHold: the card was reported lost) at the time.
    OnHold,
    /// Past its notAfter at the time.
    Expired,
    /// Before its notBefore at the time.
    NotYetValid,
    /// Not signed by a JPKI root of this system (or its root was not valid then).
    Untrusted,
    /// The key usage or policy is not that of its hierarchy.
    WrongUsage,
    /// No status could be established.
    StatusUnavailable,
}

/// What the certificate is (for certificates of our roots).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = relying_party::CertificateFacts)]
pub struct CertificateFacts {
    /// The serial, upper-case hex.
    pub serial: String,
    /// `sign` (署名用電子証明書) or `auth` (利用者証明用電子証明書).
    pub hierarchy: String,
    /// The root generation that signed it (1, 2, …).
    pub root_generation: u32,
    /// `sign`, `auth`, `smartphone-sign` or `smartphone-auth`, as the CA recorded it.
    pub profile: Option<String>,
    /// The subject (for a signature certificate, CN and the holder's locality).
    pub subject: String,
    /// notBefore.
    pub not_before: DateTime<Utc>,
    /// notAfter.
    pub not_after: DateTime<Utc>,
}

/// Why a certificate is not good.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = relying_party::RevocationFacts)]
pub struct RevocationFacts {
    /// When it was revoked or put on hold.
    pub revoked_at: DateTime<Utc>,
    /// The CRLReason (`keyCompromise`, `affiliationChanged`, `superseded`,
    /// `cessationOfOperation`, `certificateHold`, …).
    pub reason: Option<String>,
}

/// 性別.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = relying_party::HolderSex)]
pub enum HolderSex {
    /// 男.
    Male,
    /// 女.
    Female,
    /// Not stated.
    Unknown,
}

/// 基本4情報 as a signature certificate holds them.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = relying_party::BasicFour)]
pub struct BasicFour {
    /// 氏名.
    pub name: String,
    /// 住所.
    pub address: String,
    /// 生年月日.
    pub birth_date: NaiveDate,
    /// 性別.
    pub sex: HolderSex,
}

/// The answer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = relying_party::Verification)]
pub struct Verification {
    /// Whether the certificate may be relied on at `checked_at`.
    pub valid: bool,
    /// Why (or why not).
    pub verdict: Verdict,
    /// The verifier's explanation.
    pub detail: String,
    /// The time the certificate was verified at.
    pub checked_at: DateTime<Utc>,
    /// What the certificate is, when one of our roots signed it.
    pub certificate: Option<CertificateFacts>,
    /// When and why it was revoked or held, when it was.
    pub revocation: Option<RevocationFacts>,
    /// The holder's basic 4 information, for a signature certificate of
    /// our roots (whatever its status: `valid` says whether to rely on it).
    pub holder: Option<BasicFour>,
}

/// Verifies a certificate: its chain to the JPKI root of its hierarchy,
/// its validity, its use and its revocation status at a time (default
/// now); for a signature certificate, the holder's basic 4 information.
/// Read-only: no Idempotency-Key.
#[utoipa::path(post, path = "/api/v1/relying-party/certificates/verification", tag = "relying-party",
    security(("api_key" = [])),
    request_body = VerificationRequest,
    responses(
        (status = 200, description = "The verdict (`valid: false` says why the certificate is not to be relied on)", body = Verification),
        (status = 400, description = "Not base64, not a DER certificate, or a time in the future", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No or an invalid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a relying party's key", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The CA's repository is busy; try again", body = Problem, content_type = "application/problem+json"),
    ))]
async fn verify(
    State(state): State<Arc<AppState>>,
    RelyingParty(_): RelyingParty,
    ApiJson(body): ApiJson<VerificationRequest>,
) -> Result<Json<Verification>, Problem> {
    let der = decode_certificate(&body.certificate)?;
    let now = state.clock.now();
    let at = body.at.unwrap_or(now);
    if at > now {
        return Err(Problem::invalid_field("at", "not in the future"));
    }
    state
        .blocking(move |authority| verification(authority, &der, at, now))
        .await
        .map(Json)
}

/// The DER bytes of the request's certificate, checked to be one.
fn decode_certificate(text: &str) -> Result<Vec<u8>, Problem> {
    if text.len() > MAX_CERTIFICATE_BASE64 {
        return Err(Problem::invalid_field(
            "certificate",
            format!("at most {MAX_CERTIFICATE_BASE64} characters of base64"),
        ));
    }
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let der = STANDARD
        .decode(compact.as_bytes())
        .map_err(|e| Problem::invalid_field("certificate", format!("not base64: {e}")))?;
    Certificate::from_der(&der)
        .map_err(|e| Problem::invalid_field("certificate", format!("not a DER X.509 certificate: {e}")))?;
    Ok(der)
}

/// Verifies `der` (a parsed certificate) at `at`.
fn verification(
    authority: &Authority,
    der: &[u8],
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Verification, Problem> {
    let certificate = Certificate::from_der(der).map_err(|e| Problem::invalid_field("certificate", e.to_string()))?;
    let ca = authority.ca();
    let untrusted = |detail: String| Verification {
        valid: false,
        verdict: Verdict::Untrusted,
        detail,
        checked_at: at,
        certificate: None,
        revocation: None,
        holder: None,
    };
    // Which of our roots signed it decides the hierarchy (and so the use)
    // and the responder; a certificate none of them signed is answered
    // without reading its contents.
    let Ok(generation) = ca.issuer_of(der) else {
        return Ok(untrusted(Rejection::UntrustedIssuer.to_string()));
    };
    let hierarchy = generation.config.hierarchy;
    let tbs = certificate.tbs_certificate();
    let serial = Serial::from_der_content(tbs.serial_number().as_bytes())
        .map_err(|e| Problem::invalid_field("certificate", format!("its serial: {e}")))?;
    let record = ca.repository().certificate(&serial).map_err(Problem::internal)?;
    let status = record
        .as_ref()
        .map_or(SingleStatus::Unknown, |r| SingleStatus::from(r.status));
    let responder = Responder::new(
        OcspIssuer::new(&generation.root_der).map_err(Problem::internal)?,
        generation.ocsp_der.clone(),
        generation.ocsp_signer.clone(),
    )
    .map_err(Problem::internal)?;
    let id = responder.issuer().cert_id(CertIdHash::Sha256, serial.clone());
    let response = responder
        .respond_one(&id, status, now, now, Some(now + TimeDelta::hours(1)), None)
        .map_err(Problem::internal)?;
    let roots: Vec<Vec<u8>> = ca.generations().iter().map(|g| g.root_der.clone()).collect();
    let verifier = Verifier::new(&roots).map_err(Problem::internal)?;
    let usage = match hierarchy {
        Hierarchy::Signature => Usage::Signature,
        Hierarchy::UserAuthentication => Usage::Authentication,
    };
    let validity = tbs.validity();
    let (not_before, not_after) = (
        from_x509_time(&validity.not_before),
        from_x509_time(&validity.not_after),
    );
    let facts = CertificateFacts {
        serial: serial.to_hex(),
        hierarchy: hierarchy.short().to_owned(),
        root_generation: generation.config.generation,
        profile: record.as_ref().map(|r| r.profile.clone()),
        subject: tbs.subject().to_string(),
        not_before,
        not_after,
    };
    let holder = match hierarchy {
        Hierarchy::Signature => basic_four(&certificate),
        Hierarchy::UserAuthentication => None,
    };
    let mut answer = Verification {
        valid: false,
        verdict: Verdict::Good,
        detail: String::new(),
        checked_at: at,
        certificate: Some(facts),
        revocation: None,
        holder,
    };
    match verifier.verify(der, usage, at, Revocation::Ocsp(&response)) {
        Ok(accepted) => {
            answer.valid = true;
            answer.detail = format!(
                "issued by the JPKI {} root (generation {}), valid until {}, good at {}",
                hierarchy.short(),
                generation.config.generation,
                accepted.not_after.format("%Y-%m-%dT%H:%M:%SZ"),
                at.format("%Y-%m-%dT%H:%M:%SZ")
            );
        }
        Err(rejection) => {
            answer.detail = rejection.to_string();
            answer.verdict = match &rejection {
                Rejection::Revoked { at: revoked_at, reason } => {
                    answer.revocation = Some(RevocationFacts {
                        revoked_at: *revoked_at,
                        reason: reason.map(reason_name),
                    });
                    if *reason == Some(CrlReason::CertificateHold) {
                        Verdict::OnHold
                    } else {
                        Verdict::Revoked
                    }
                }
                Rejection::NotValidAt { .. } if at > not_after => Verdict::Expired,
                Rejection::NotValidAt { .. } if at < not_before => Verdict::NotYetValid,
                Rejection::NotValidAt { .. } | Rejection::UntrustedIssuer => Verdict::Untrusted,
                Rejection::WrongUsage(_) => Verdict::WrongUsage,
                Rejection::NoStatus(_) => Verdict::StatusUnavailable,
                Rejection::Malformed(why) => {
                    return Err(Problem::invalid_field("certificate", why.clone()));
                }
            };
        }
    }
    Ok(answer)
}

/// The CRLReason's name as RFC 5280 spells it.
fn reason_name(reason: CrlReason) -> String {
    match serde_json::to_value(reason) {
        Ok(serde_json::Value::String(name)) => name,
        _ => format!("{reason:?}"),
    }
}

/// The basic 4 information of a signature certificate's SAN.
fn basic_four(certificate: &Certificate) -> Option<BasicFour> {
    let data = personal_data(certificate).ok()??;
    // The era-coded birth date: an era digit, then YYYYMMDD.
    let birth_date = data
        .birth_date
        .get(1..)
        .and_then(|ymd| NaiveDate::parse_from_str(ymd, "%Y%m%d").ok())?;
    let sex = match Sex::from_code(&data.sex) {
        Some(Sex::Male) => HolderSex::Male,
        Some(Sex::Female) => HolderSex::Female,
        _ => HolderSex::Unknown,
    };
    Some(BasicFour {
        name: data.name,
        address: data.address,
        birth_date,
        sex,
    })
}
