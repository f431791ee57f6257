//! What revokes which certificate, and with which CRLReason (rules.md §6,
//! §7, §9, §11, §12; pki-profile.md §2).
//!
//! The CA only records and publishes; deciding that a change of the
//! resident record revokes the signature certificate is the law, and lives here.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::date::add_days;

/// RFC 5280 CRLReason, as used by JPKI (CPS §4.9.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CrlReason {
    /// (0) discarded before delivery, or an error recorded ex officio.
    Unspecified,
    /// (1) the holder's private key is compromised.
    KeyCompromise,
    /// (2) the CA's key is compromised.
    #[serde(rename = "cACompromise")]
    CaCompromise,
    /// (3) the certificate's contents changed: move, name change, death (異動).
    AffiliationChanged,
    /// (4) the certificate was renewed.
    Superseded,
    /// (5) no longer needed: revoked at the holder's request.
    CessationOfOperation,
    /// (6) 一時保留: doubt about the key's safety, e.g. a lost card.
    CertificateHold,
}

impl CrlReason {
    /// Every reason JPKI uses, in code order.
    pub const ALL: [CrlReason; 7] = [
        CrlReason::Unspecified,
        CrlReason::KeyCompromise,
        CrlReason::CaCompromise,
        CrlReason::AffiliationChanged,
        CrlReason::Superseded,
        CrlReason::CessationOfOperation,
        CrlReason::CertificateHold,
    ];

    /// The reason with RFC 5280 code `code`, if JPKI uses it (0–6).
    pub fn from_code(code: u8) -> Option<CrlReason> {
        CrlReason::ALL.into_iter().find(|r| r.code() == code)
    }

    /// The RFC 5280 code.
    pub fn code(self) -> u8 {
        match self {
            CrlReason::Unspecified => 0,
            CrlReason::KeyCompromise => 1,
            CrlReason::CaCompromise => 2,
            CrlReason::AffiliationChanged => 3,
            CrlReason::Superseded => 4,
            CrlReason::CessationOfOperation => 5,
            CrlReason::CertificateHold => 6,
        }
    }
}

/// A minor correction of the record that does **not** revoke the signature
/// certificate (rules.md §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MinorCorrection {
    /// 住居表示の変更: the address is re-indicated, the holder did not move.
    ResidenceIndication,
    /// 町・字の名称変更: the town or district was renamed.
    TownRenaming,
    /// 地番変更: the lot number changed.
    LotNumberChange,
    /// 文字の正字化等: a character of the name normalised to its standard form.
    CharacterNormalisation,
}

/// A change to the resident record (住民票) that may touch the certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", content = "detail", rename_all = "snake_case")]
pub enum RecordChange {
    /// 氏名の変更 (marriage, divorce, adoption, …).
    Name,
    /// 住所の変更: a move within the municipality (転居) or a move-in (転入).
    Address,
    /// 生年月日の変更 (correction).
    DateOfBirth,
    /// 性別の変更.
    Sex,
    /// 転出: the record at the old municipality is removed on move-out.
    MoveOut,
    /// A minor correction (no revocation).
    Minor(MinorCorrection),
}

/// Whether `change` revokes the signature certificate, and with which reason.
///
/// Any change of name, address, date of birth or sex, and any move-out,
/// revokes it as `affiliationChanged`; minor corrections do not.
pub fn signature_revocation_for(change: RecordChange) -> Option<CrlReason> {
    match change {
        RecordChange::Name
        | RecordChange::Address
        | RecordChange::DateOfBirth
        | RecordChange::Sex
        | RecordChange::MoveOut => Some(CrlReason::AffiliationChanged),
        RecordChange::Minor(_) => None,
    }
}

/// Whether the auth certificate (no personal data) survives a domestic move:
/// only if the move-in is notified within 30 days after the planned move-out
/// date (Civil 140: the first day is not counted).
pub fn auth_certificate_survives_move(planned_move_out: NaiveDate, move_in_notified: NaiveDate) -> bool {
    move_in_notified <= add_days(planned_move_out, 30)
}

/// Why a certificate is being revoked, in the domain's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevocationCause {
    /// Revoked at the holder's request (失効申請).
    HolderRequest,
    /// The basic 4 information changed, or the holder moved out or died (異動).
    PersonalDataChanged,
    /// A recording error, revoked ex officio (職権失効).
    RecordingError,
    /// The CA's key is compromised.
    CaCompromise,
    /// The holder's key is compromised.
    KeyCompromise,
    /// Card lost or stolen, reported to the hotline (一時保留).
    CardLost,
    /// Replaced by a renewed certificate.
    Renewed,
    /// The card lapsed (失効), by any cause of rules.md §7 except return.
    CardLapsed,
    /// The card was returned (返納).
    CardReturned,
    /// Converted to a face-recognition card (no signature certificate).
    FaceRecognitionConversion,
    /// Discarded before delivery.
    DiscardedBeforeDelivery,
}

impl RevocationCause {
    /// The CRLReason published for this cause.
    pub fn crl_reason(self) -> CrlReason {
        match self {
            RevocationCause::HolderRequest
            | RevocationCause::CardReturned
            | RevocationCause::FaceRecognitionConversion => CrlReason::CessationOfOperation,
            RevocationCause::PersonalDataChanged | RevocationCause::CardLapsed => CrlReason::AffiliationChanged,
            RevocationCause::RecordingError | RevocationCause::DiscardedBeforeDelivery => CrlReason::Unspecified,
            RevocationCause::CaCompromise => CrlReason::CaCompromise,
            RevocationCause::KeyCompromise => CrlReason::KeyCompromise,
            RevocationCause::CardLost => CrlReason::CertificateHold,
            RevocationCause::Renewed => CrlReason::Superseded,
        }
    }

    /// Whether the holder's smartphone certificates are revoked with the card
    /// certificate (rules.md §12: for request, change of personal data,
    /// error or CA compromise; §7: a lapsed card revokes them too).
    ///
    /// A renewal, a hold on the lost card and a compromise of the card's own
    /// key leave the smartphone's separate keys and certificates alone.
    pub fn revokes_smartphone_certificates(self) -> bool {
        match self {
            RevocationCause::HolderRequest
            | RevocationCause::PersonalDataChanged
            | RevocationCause::RecordingError
            | RevocationCause::CaCompromise
            | RevocationCause::CardLapsed
            | RevocationCause::CardReturned
            | RevocationCause::FaceRecognitionConversion => true,
            RevocationCause::KeyCompromise
            | RevocationCause::CardLost
            | RevocationCause::Renewed
            | RevocationCause::DiscardedBeforeDelivery => false,
        }
    }
}

/// Whether a certificate on hold may be released back to good: never for
/// card certificates (一時保留の解除は行わない); only for a smartphone auth
/// certificate (rules.md §9).
pub fn hold_may_be_released(smartphone: bool, kind: crate::certificate::CertificateKind) -> bool {
    smartphone && kind == crate::certificate::CertificateKind::UserAuthentication
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certificate::CertificateKind;
    use crate::date::parse_date;

    fn d(s: &str) -> NaiveDate {
        parse_date(s).expect("test date")
    }

    #[test]
    fn changes_of_the_basic_four_revoke_the_signature_certificate() {
        for change in [
            RecordChange::Name,
            RecordChange::Address,
            RecordChange::DateOfBirth,
            RecordChange::Sex,
            RecordChange::MoveOut,
        ] {
            assert_eq!(
                signature_revocation_for(change),
                Some(CrlReason::AffiliationChanged),
                "{change:?}"
            );
        }
        for minor in [
            MinorCorrection::ResidenceIndication,
            MinorCorrection::TownRenaming,
            MinorCorrection::LotNumberChange,
            MinorCorrection::CharacterNormalisation,
        ] {
            assert_eq!(signature_revocation_for(RecordChange::Minor(minor)), None, "{minor:?}");
        }
    }

    #[test]
    fn auth_certificate_survives_a_move_in_within_30_days() {
        let planned = d("2026-04-01");
        assert!(auth_certificate_survives_move(planned, d("2026-04-30")));
        assert!(auth_certificate_survives_move(planned, d("2026-05-01")));
        assert!(!auth_certificate_survives_move(planned, d("2026-05-02")));
    }

    #[test]
    fn reasons_and_holds() {
        assert_eq!(RevocationCause::CardLost.crl_reason(), CrlReason::CertificateHold);
        assert_eq!(RevocationCause::CardLost.crl_reason().code(), 6);
        assert_eq!(RevocationCause::Renewed.crl_reason().code(), 4);
        for reason in CrlReason::ALL {
            assert_eq!(CrlReason::from_code(reason.code()), Some(reason));
        }
        assert_eq!(CrlReason::from_code(7), None);
        assert!(!RevocationCause::Renewed.revokes_smartphone_certificates());
        assert!(RevocationCause::PersonalDataChanged.revokes_smartphone_certificates());
        assert!(hold_may_be_released(true, CertificateKind::UserAuthentication));
        assert!(!hold_may_be_released(true, CertificateKind::Signature));
        assert!(!hold_may_be_released(false, CertificateKind::UserAuthentication));
    }
}
