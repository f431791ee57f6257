//! PINs (暗証番号), rules.md §4: formats, retry limits, and the kiosk reset.
//!
//! A PIN is parsed into its type once, at the edge; a `SignPin` or
//! `FourDigitPin` cannot hold a malformed value. Their `Debug` never shows
//! the digits, so a PIN cannot leak into a log by accident.

use std::fmt;

use chrono::{NaiveDateTime, TimeDelta};
use serde::{Deserialize, Serialize};

use crate::kiosk::{kiosk_service_open, MaintenanceWindow};

/// The four PINs of the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PinKind {
    /// 署名用電子証明書の暗証番号: 6–16 of A–Z and 0–9, with a letter and a digit.
    Signature,
    /// 利用者証明用電子証明書の暗証番号: 4 digits.
    UserAuthentication,
    /// 住民基本台帳用の暗証番号: 4 digits.
    ResidentRegistry,
    /// 券面事項入力補助用の暗証番号: 4 digits.
    InputSupport,
}

impl PinKind {
    /// All four.
    pub const ALL: [PinKind; 4] = [
        PinKind::Signature,
        PinKind::UserAuthentication,
        PinKind::ResidentRegistry,
        PinKind::InputSupport,
    ];

    /// Consecutive wrong entries before the PIN locks (5 for the signature
    /// PIN, 3 for the others). Only a correct entry or a reset at the window
    /// restores the count: not a new day, not a power cycle.
    pub fn retry_limit(self) -> u8 {
        match self {
            PinKind::Signature => 5,
            PinKind::UserAuthentication | PinKind::ResidentRegistry | PinKind::InputSupport => 3,
        }
    }

    /// Checks `text` against this PIN's format.
    pub fn check_format(self, text: &str) -> Result<(), PinFormatError> {
        match self {
            PinKind::Signature => SignPin::parse(text).map(drop),
            _ => FourDigitPin::parse(text).map(drop),
        }
    }
}

/// Why a PIN does not have its format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum PinFormatError {
    /// A 4-digit PIN that is not exactly 4 characters long.
    #[error("must be exactly 4 digits")]
    NotFourDigits,
    /// A 4-digit PIN with something other than 0–9 in it.
    #[error("must contain only the digits 0–9")]
    NotDigits,
    /// A signature PIN shorter than 6.
    #[error("must be at least 6 characters")]
    TooShort,
    /// A signature PIN longer than 16.
    #[error("must be at most 16 characters")]
    TooLong,
    /// Lowercase letters: the card accepts uppercase only.
    #[error("lowercase letters are not accepted: use A–Z")]
    Lowercase,
    /// Anything other than A–Z and 0–9.
    #[error("may contain only A–Z and 0–9")]
    BadCharacter,
    /// No letter.
    #[error("must contain at least one letter A–Z")]
    NoLetter,
    /// No digit.
    #[error("must contain at least one digit 0–9")]
    NoDigit,
}

/// A signature PIN (署名用パスワード) in its valid format.
#[derive(Clone, PartialEq, Eq)]
pub struct SignPin(String);

impl SignPin {
    /// Parses a signature PIN: 6–16 characters of A–Z and 0–9 with at least one of each.
    pub fn parse(text: &str) -> Result<SignPin, PinFormatError> {
        let length = text.chars().count();
        if text.chars().any(|c| c.is_ascii_lowercase()) {
            return Err(PinFormatError::Lowercase);
        }
        if !text.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) {
            return Err(PinFormatError::BadCharacter);
        }
        if length < 6 {
            return Err(PinFormatError::TooShort);
        }
        if length > 16 {
            return Err(PinFormatError::TooLong);
        }
        if !text.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(PinFormatError::NoLetter);
        }
        if !text.chars().any(|c| c.is_ascii_digit()) {
            return Err(PinFormatError::NoDigit);
        }
        Ok(SignPin(text.to_owned()))
    }

    /// The PIN's bytes, as sent to the card in VERIFY.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// A 4-digit PIN (auth, resident registry or input support).
#[derive(Clone, PartialEq, Eq)]
pub struct FourDigitPin([u8; 4]);

impl FourDigitPin {
    /// Parses exactly 4 ASCII digits.
    pub fn parse(text: &str) -> Result<FourDigitPin, PinFormatError> {
        if !text.chars().all(|c| c.is_ascii_digit()) {
            return Err(PinFormatError::NotDigits);
        }
        let bytes: [u8; 4] = text.as_bytes().try_into().map_err(|_| PinFormatError::NotFourDigits)?;
        Ok(FourDigitPin(bytes))
    }

    /// The PIN's bytes, as sent to the card in VERIFY.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SignPin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SignPin(<redacted>)")
    }
}

impl fmt::Debug for FourDigitPin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FourDigitPin(<redacted>)")
    }
}

/// How long a kiosk PIN-reset booking stays valid (24 hours).
pub const KIOSK_RESET_BOOKING_HOURS: i64 = 24;

/// Why a kiosk PIN reset is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KioskResetRefusal {
    /// Only the certificate PINs can be reset at a kiosk.
    NotACertificatePin,
    /// The auth PIN reset is offered only by some chains (since 2024).
    AuthResetNotOfferedByChain,
    /// No booking was made in the reset app.
    NoBooking,
    /// The booking is older than 24 hours.
    BookingExpired,
    /// The kiosk is outside its service hours (06:30–23:00, closed 29 Dec – 3 Jan).
    OutsideServiceHours,
    /// The other certificate's PIN is locked: only the window can help.
    OtherPinLocked,
}

/// Whether a reset booked at `booked_at` is still valid at `at` (within 24
/// hours, the 24th hour included).
pub fn kiosk_booking_valid(booked_at: NaiveDateTime, at: NaiveDateTime) -> bool {
    at >= booked_at && at - booked_at <= TimeDelta::hours(KIOSK_RESET_BOOKING_HOURS)
}

/// A request to reset a certificate PIN at a convenience-store kiosk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KioskResetRequest<'a> {
    /// The PIN to reset: the signature PIN, or the auth PIN where the chain offers it.
    pub target: PinKind,
    /// The chain's kiosks offer the auth PIN reset.
    pub chain_resets_auth_pin: bool,
    /// When the holder booked the reset in the app (after the face match and
    /// the other PIN), in Japan time.
    pub booked_at: Option<NaiveDateTime>,
    /// Whether the other certificate's PIN is locked.
    pub other_pin_locked: bool,
    /// Now, in Japan time.
    pub at: NaiveDateTime,
    /// Announced maintenance windows.
    pub maintenance: &'a [MaintenanceWindow],
}

/// Decides a kiosk PIN reset (rules.md §4): all reasons to refuse, or none.
pub fn kiosk_reset_refusals(request: &KioskResetRequest<'_>) -> Vec<KioskResetRefusal> {
    let mut refusals = Vec::new();
    match request.target {
        PinKind::Signature => {}
        PinKind::UserAuthentication if request.chain_resets_auth_pin => {}
        PinKind::UserAuthentication => refusals.push(KioskResetRefusal::AuthResetNotOfferedByChain),
        PinKind::ResidentRegistry | PinKind::InputSupport => refusals.push(KioskResetRefusal::NotACertificatePin),
    }
    if request.other_pin_locked {
        refusals.push(KioskResetRefusal::OtherPinLocked);
    }
    match request.booked_at {
        None => refusals.push(KioskResetRefusal::NoBooking),
        Some(booked) if !kiosk_booking_valid(booked, request.at) => refusals.push(KioskResetRefusal::BookingExpired),
        Some(_) => {}
    }
    if !kiosk_service_open(request.at, request.maintenance) {
        refusals.push(KioskResetRefusal::OutsideServiceHours);
    }
    refusals
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_pin_format() {
        assert!(SignPin::parse("ABC123").is_ok());
        assert!(SignPin::parse("A1").is_err());
        assert_eq!(SignPin::parse("AB12C").err(), Some(PinFormatError::TooShort));
        assert!(SignPin::parse("ABCDEFGH12345678").is_ok());
        assert_eq!(SignPin::parse("ABCDEFGH123456789").err(), Some(PinFormatError::TooLong));
        assert_eq!(SignPin::parse("abc123").err(), Some(PinFormatError::Lowercase));
        assert_eq!(SignPin::parse("ABCDEF").err(), Some(PinFormatError::NoDigit));
        assert_eq!(SignPin::parse("123456").err(), Some(PinFormatError::NoLetter));
        assert_eq!(SignPin::parse("ABC-123").err(), Some(PinFormatError::BadCharacter));
        assert_eq!(SignPin::parse("ＡＢＣ１２３").err(), Some(PinFormatError::BadCharacter));
        assert_eq!(
            format!("{:?}", SignPin::parse("ABC123").ok()),
            "Some(SignPin(<redacted>))"
        );
    }

    #[test]
    fn four_digit_pins_and_limits() {
        assert!(FourDigitPin::parse("0000").is_ok());
        assert_eq!(FourDigitPin::parse("123").err(), Some(PinFormatError::NotFourDigits));
        assert_eq!(FourDigitPin::parse("12345").err(), Some(PinFormatError::NotFourDigits));
        assert_eq!(FourDigitPin::parse("12a4").err(), Some(PinFormatError::NotDigits));
        assert_eq!(FourDigitPin::parse("１２３４").err(), Some(PinFormatError::NotDigits));
        assert!(!format!("{:?}", FourDigitPin::parse("1234")).contains("1234"));
        let limits: Vec<u8> = PinKind::ALL.iter().map(|k| k.retry_limit()).collect();
        assert_eq!(limits, [5, 3, 3, 3]);
    }

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("test time")
    }

    #[test]
    fn booking_is_valid_for_24_hours() {
        let booked = at("2026-06-01 10:00");
        assert!(kiosk_booking_valid(booked, at("2026-06-01 10:00")));
        assert!(kiosk_booking_valid(booked, at("2026-06-02 10:00")));
        assert!(!kiosk_booking_valid(booked, at("2026-06-02 10:01")));
        assert!(!kiosk_booking_valid(booked, at("2026-06-01 09:59")));
    }

    #[test]
    fn kiosk_reset_refusals_are_all_named() {
        let mut r = KioskResetRequest {
            target: PinKind::Signature,
            chain_resets_auth_pin: false,
            booked_at: Some(at("2026-06-01 22:00")),
            other_pin_locked: false,
            at: at("2026-06-02 07:00"),
            maintenance: &[],
        };
        assert!(kiosk_reset_refusals(&r).is_empty());
        r.at = at("2026-06-02 06:29");
        assert_eq!(kiosk_reset_refusals(&r), [KioskResetRefusal::OutsideServiceHours]);
        r.at = at("2026-06-02 22:01");
        assert_eq!(kiosk_reset_refusals(&r), [KioskResetRefusal::BookingExpired]);
        r.target = PinKind::UserAuthentication;
        r.at = at("2026-06-02 07:00");
        assert_eq!(
            kiosk_reset_refusals(&r),
            [KioskResetRefusal::AuthResetNotOfferedByChain]
        );
        r.chain_resets_auth_pin = true;
        r.other_pin_locked = true;
        r.booked_at = None;
        assert_eq!(
            kiosk_reset_refusals(&r),
            [KioskResetRefusal::OtherPinLocked, KioskResetRefusal::NoBooking]
        );
    }
}
