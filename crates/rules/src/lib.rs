//! # mynacard-rules — the law of the My Number Card as code
//!
//! Pure functions of facts and a date: no I/O, no clock of its own, no
//! async, no randomness. Every other part of mynacard asks this crate when a
//! card expires, when it lapses, what a reissue costs and who may be served;
//! the answers must match `rules.md` to the day.
//!
//! Raw input is parsed into domain types at the edge ([`date::parse_date`],
//! [`numbers::MyNumber::parse`], [`pin::SignPin::parse`], …); after that no
//! function re-checks. Where the law is unsettled, [`Policies`] names the
//! switch; where the law changed, [`LawChange`] carries the effective date
//! and functions take the day they are asked about.

pub mod card;
pub mod certificate;
pub mod date;
pub mod face_card;
pub mod fee;
pub mod kiosk;
pub mod lapse;
pub mod numbers;
pub mod one_stop;
pub mod pin;
pub mod policy;
pub mod renewal;
pub mod revocation;
pub mod smartphone;
pub mod timeline;

pub use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
pub use date::Feb29Policy;
pub use policy::{AgeTestDate, Policies, RenewalMonthEnd};
pub use timeline::LawChange;

/// Facts that cannot be true together, or input that is not what it claims
/// to be. Each variant has a stable machine-readable [`code`](RuleError::code).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// Text that is not a civil date.
    #[error("{input}: not a date: {why}")]
    BadDate { input: String, why: String },
    /// A policy assignment that names no policy or no allowed value.
    #[error("bad policy {0}")]
    BadPolicy(String),
    /// A date before the holder was born.
    #[error("{date} is before the birth date {birth}")]
    BeforeBirth { birth: NaiveDate, date: NaiveDate },
    /// A card issued before cards existed.
    #[error("{date}: My Number cards are issued from 2016-01-01")]
    BeforeCardIssuance { date: NaiveDate },
    /// J-LIS cannot produce a card before it receives the application.
    #[error("the application was received on {received}, after the card was issued on {issued}")]
    ApplicationAfterIssuance { received: NaiveDate, issued: NaiveDate },
    /// A foreign resident's period of stay ended before the card was issued.
    #[error("the period of stay ended on {stay_until}, before the card was issued on {issued}")]
    StayEndedBeforeIssuance { stay_until: NaiveDate, issued: NaiveDate },
    /// A period of stay given for a permanent resident.
    #[error(
        "a permanent resident (永住者, 特別永住者, 高度専門職2号) has no period of stay that limits the card: give one or the other"
    )]
    PermanentResidentWithStay,
    /// A certificate issued after the card's expiry (issuing on the expiry
    /// day itself gives a certificate valid for that one day).
    #[error("the card expires on {card_expiry}: no certificate can be issued on {issued}")]
    CardExpired { card_expiry: NaiveDate, issued: NaiveDate },
    /// A signature certificate issued when the auth certificate has expired.
    #[error(
        "the auth certificate expires on {auth_expiry}: a signature certificate issued on {issued} would outlive it"
    )]
    AuthCertificateExpired { auth_expiry: NaiveDate, issued: NaiveDate },
    /// An auth certificate said to expire after the card: by rules.md §3 it
    /// never does.
    #[error("an auth certificate expiring on {auth_expiry} would outlive the card, which expires on {card_expiry}")]
    AuthOutlivesCard {
        auth_expiry: NaiveDate,
        card_expiry: NaiveDate,
    },
    /// Events given in an impossible order or combination.
    #[error("{0}")]
    InconsistentEvents(String),
    /// A fee question whose terms do not apply to the case.
    #[error("{0}")]
    FeeNotApplicable(String),
    /// A renewal asked for before its window opens.
    #[error("the renewal window opens on {opens}; before then a new card is not a renewal")]
    RenewalWindowNotOpen { opens: NaiveDate },
    /// A card validity change (有効期間変更) asked for after the card expired.
    #[error("the card expired on {expiry}: a lapsed card cannot be extended; it is reissued for a fee")]
    ValidityChangeAfterExpiry { expiry: NaiveDate },
    /// A card validity change that would not extend the card.
    #[error("the new period of stay ends on {stay_until}, not after the card's expiry {expiry}")]
    ValidityChangeDoesNotExtend { stay_until: NaiveDate, expiry: NaiveDate },
    /// A step that this applicant may not take for the holder.
    #[error("{0}")]
    ApplicantNotAllowed(String),
    /// A malformed My Number or municipality code.
    #[error("{0}")]
    BadNumber(numbers::NumberError),
}

impl RuleError {
    /// A stable code for machines (problem documents, JSON errors).
    pub fn code(&self) -> &'static str {
        match self {
            RuleError::BadDate { .. } => "bad_date",
            RuleError::BadPolicy(_) => "bad_policy",
            RuleError::BeforeBirth { .. } => "before_birth",
            RuleError::BeforeCardIssuance { .. } => "before_card_issuance",
            RuleError::ApplicationAfterIssuance { .. } => "application_after_issuance",
            RuleError::StayEndedBeforeIssuance { .. } => "stay_ended_before_issuance",
            RuleError::PermanentResidentWithStay => "permanent_resident_with_stay",
            RuleError::CardExpired { .. } => "card_expired",
            RuleError::AuthCertificateExpired { .. } => "auth_certificate_expired",
            RuleError::AuthOutlivesCard { .. } => "auth_outlives_card",
            RuleError::InconsistentEvents(_) => "inconsistent_events",
            RuleError::FeeNotApplicable(_) => "fee_not_applicable",
            RuleError::RenewalWindowNotOpen { .. } => "renewal_window_not_open",
            RuleError::ValidityChangeAfterExpiry { .. } => "validity_change_after_expiry",
            RuleError::ValidityChangeDoesNotExtend { .. } => "validity_change_does_not_extend",
            RuleError::ApplicantNotAllowed(_) => "applicant_not_allowed",
            RuleError::BadNumber(_) => "bad_number",
        }
    }
}
