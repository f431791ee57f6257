//! Moving one-stop (引越しワンストップサービス), rules.md §14, since 2023-02-06.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::date::add_days;
use crate::lapse::{MOVE_IN_NOTICE_DAYS, MOVE_OUT_TO_MOVE_IN_DAYS};
use crate::timeline::LawChange;

/// Days before the move from which the portal accepts the filing (30).
pub const FILE_FROM_DAYS_BEFORE: u32 = 30;
/// Days after the move until which the portal accepts the filing (10).
pub const FILE_UNTIL_DAYS_AFTER: u32 = 10;
/// Youngest age at the card's issuance for which the service is open (15).
pub const MIN_AGE_AT_CARD_ISSUANCE: u32 = 15;

/// A moving one-stop filing in the portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OneStopFiling {
    /// The day the resident files the move-out and the move-in reservation.
    pub filed_on: NaiveDate,
    /// The (planned) move date.
    pub move_date: NaiveDate,
    /// The move is to another country.
    pub abroad: bool,
    /// The holder's age on the day the card was issued.
    pub age_at_card_issuance: u32,
    /// The card's signature certificate is valid.
    pub valid_signature_certificate: bool,
    /// The card is a face-recognition card (no PINs).
    pub face_recognition_card: bool,
}

/// Why the portal refuses the filing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OneStopRefusal {
    /// The service started on 2023-02-06.
    NotYetAvailable,
    /// Filed more than 30 days before the move.
    TooEarly,
    /// Filed more than 10 days after the move.
    TooLate,
    /// Not for moves abroad.
    Abroad,
    /// Not with a card issued to someone under 15.
    #[serde(rename = "card_issued_under_15")]
    CardIssuedUnder15,
    /// Needs a valid signature certificate.
    NoValidSignatureCertificate,
    /// Needs the signature, auth and input-support PINs.
    FaceRecognitionCard,
}

/// The days on which the portal accepts a filing for a move on `move_date`:
/// from 30 days before through 10 days after, bounds included.
pub fn filing_window(move_date: NaiveDate) -> (NaiveDate, NaiveDate) {
    let first = move_date
        .checked_sub_days(chrono::Days::new(u64::from(FILE_FROM_DAYS_BEFORE)))
        .unwrap_or(NaiveDate::MIN);
    (first, add_days(move_date, FILE_UNTIL_DAYS_AFTER))
}

/// Every reason to refuse `filing` (rules.md §14).
pub fn one_stop_refusals(filing: &OneStopFiling) -> Vec<OneStopRefusal> {
    let mut refusals = Vec::new();
    let mut refuse = |cond: bool, why| {
        if cond {
            refusals.push(why);
        }
    };
    refuse(
        !LawChange::MovingOneStop.in_force_on(filing.filed_on),
        OneStopRefusal::NotYetAvailable,
    );
    let (first, last) = filing_window(filing.move_date);
    refuse(filing.filed_on < first, OneStopRefusal::TooEarly);
    refuse(filing.filed_on > last, OneStopRefusal::TooLate);
    refuse(filing.abroad, OneStopRefusal::Abroad);
    refuse(
        filing.age_at_card_issuance < MIN_AGE_AT_CARD_ISSUANCE,
        OneStopRefusal::CardIssuedUnder15,
    );
    refuse(
        !filing.valid_signature_certificate,
        OneStopRefusal::NoValidSignatureCertificate,
    );
    refuse(filing.face_recognition_card, OneStopRefusal::FaceRecognitionCard);
    refusals
}

/// The last day to visit the new municipality with the card: within 14 days
/// of moving in and within 30 days of the planned move-out date, whichever
/// comes first; after it the card lapses (rules.md §7).
pub fn visit_deadline(moved_in: NaiveDate, planned_move_out: NaiveDate) -> NaiveDate {
    add_days(moved_in, MOVE_IN_NOTICE_DAYS).min(add_days(planned_move_out, MOVE_OUT_TO_MOVE_IN_DAYS))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::date::ymd;

    fn filing(filed_on: NaiveDate, move_date: NaiveDate) -> OneStopFiling {
        OneStopFiling {
            filed_on,
            move_date,
            abroad: false,
            age_at_card_issuance: 30,
            valid_signature_certificate: true,
            face_recognition_card: false,
        }
    }

    #[test]
    fn filing_window_is_minus_30_to_plus_10_days() {
        let move_date = ymd(2026, 4, 1);
        assert_eq!(
            one_stop_refusals(&filing(ymd(2026, 3, 1), move_date)),
            [OneStopRefusal::TooEarly]
        );
        assert!(one_stop_refusals(&filing(ymd(2026, 3, 2), move_date)).is_empty());
        assert!(one_stop_refusals(&filing(ymd(2026, 4, 11), move_date)).is_empty());
        assert_eq!(
            one_stop_refusals(&filing(ymd(2026, 4, 12), move_date)),
            [OneStopRefusal::TooLate]
        );
        assert_eq!(
            one_stop_refusals(&filing(ymd(2023, 2, 5), ymd(2023, 2, 10))),
            [OneStopRefusal::NotYetAvailable]
        );
        assert!(one_stop_refusals(&filing(ymd(2023, 2, 6), ymd(2023, 2, 10))).is_empty());
    }

    #[test]
    fn other_refusals() {
        let mut f = filing(ymd(2026, 3, 20), ymd(2026, 4, 1));
        f.abroad = true;
        f.age_at_card_issuance = 14;
        f.valid_signature_certificate = false;
        f.face_recognition_card = true;
        assert_eq!(one_stop_refusals(&f).len(), 4);
    }

    #[test]
    fn visit_deadline_is_the_earlier_of_14_and_30_days() {
        assert_eq!(visit_deadline(ymd(2026, 4, 1), ymd(2026, 4, 1)), ymd(2026, 4, 15));
        assert_eq!(visit_deadline(ymd(2026, 4, 25), ymd(2026, 4, 1)), ymd(2026, 5, 1));
    }
}
