//! The face-recognition card (顔認証マイナンバーカード), rules.md §11, since 2023-12-15.
//!
//! No PIN is set and the PIN path is locked; the auth certificate may be used
//! only after a face match against the chip's photo or a visual check. There
//! is no signature certificate.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::timeline::LawChange;

/// What the 追記欄 records on conversion.
pub const SURFACE_ENTRY: &str = "顔認証";

/// Something a holder may want to do with the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardUse {
    /// オンライン資格確認 at a medical institution or pharmacy.
    MedicalEligibility,
    /// Identity check by the card face (本人確認書類).
    IdentityCheckByCardFace,
    /// マイナポータル login.
    MynaPortal,
    /// コンビニ交付.
    ConvenienceStoreIssuance,
    /// e-Tax and other signed filings.
    EFiling,
    /// スマホ用電子証明書.
    SmartphoneCertificate,
    /// 引越しワンストップサービス.
    MovingOneStop,
    /// Changing or resetting a PIN, or any other use that needs one.
    AnythingNeedingPin,
}

impl CardUse {
    /// Every use.
    pub const ALL: [CardUse; 8] = [
        CardUse::MedicalEligibility,
        CardUse::IdentityCheckByCardFace,
        CardUse::MynaPortal,
        CardUse::ConvenienceStoreIssuance,
        CardUse::EFiling,
        CardUse::SmartphoneCertificate,
        CardUse::MovingOneStop,
        CardUse::AnythingNeedingPin,
    ];
}

/// Why a face-recognition card cannot be used so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaceCardRefusal {
    /// Face-recognition cards did not exist yet on that day.
    NotYetAvailable,
    /// The use needs a PIN, and the card has none.
    NeedsPin,
}

/// Whether face-recognition cards exist on `on`.
pub fn face_card_available(on: NaiveDate) -> bool {
    LawChange::FaceRecognitionCard.in_force_on(on)
}

/// Whether a face-recognition card may be used for `card_use` on `on`:
/// medical eligibility (after a face or visual check) and identity check by
/// the card face only.
pub fn face_card_use(card_use: CardUse, on: NaiveDate) -> Result<(), FaceCardRefusal> {
    if !face_card_available(on) {
        return Err(FaceCardRefusal::NotYetAvailable);
    }
    match card_use {
        CardUse::MedicalEligibility | CardUse::IdentityCheckByCardFace => Ok(()),
        _ => Err(FaceCardRefusal::NeedsPin),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::date::ymd;

    #[test]
    fn allowed_and_refused_uses() {
        let on = ymd(2026, 1, 1);
        let allowed: Vec<CardUse> = CardUse::ALL
            .into_iter()
            .filter(|u| face_card_use(*u, on).is_ok())
            .collect();
        assert_eq!(allowed, [CardUse::MedicalEligibility, CardUse::IdentityCheckByCardFace]);
        assert_eq!(face_card_use(CardUse::MynaPortal, on), Err(FaceCardRefusal::NeedsPin));
        assert_eq!(
            face_card_use(CardUse::MedicalEligibility, ymd(2023, 12, 14)),
            Err(FaceCardRefusal::NotYetAvailable)
        );
        assert!(face_card_use(CardUse::MedicalEligibility, ymd(2023, 12, 15)).is_ok());
    }
}
