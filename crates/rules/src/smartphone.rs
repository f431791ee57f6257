//! Smartphone certificates (スマホ用電子証明書), rules.md §12.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::timeline::LawChange;

/// A smartphone platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    /// Android, from 2023-05-11.
    Android,
    /// iPhone, from 2025-06-24.
    Iphone,
}

impl Platform {
    /// The first day certificates are issued for the platform.
    pub fn available_from(self) -> NaiveDate {
        match self {
            Platform::Android => LawChange::SmartphoneAndroid.effective(),
            Platform::Iphone => LawChange::SmartphoneIphone.effective(),
        }
    }
}

/// Where the request comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The resident portal (マイナポータル): the only channel.
    Portal,
    /// The municipal window: never.
    Window,
}

/// Why smartphone certificates are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmartphoneRefusal {
    /// The platform is not supported on that day.
    PlatformNotYetSupported,
    /// Issued only through the portal, never at the window.
    NotAtTheWindow,
    /// The request must be signed with a valid card signature certificate.
    NoValidSignatureCertificate,
}

/// The platforms that may get certificates on `on`.
pub fn platforms_on(on: NaiveDate) -> Vec<Platform> {
    [Platform::Android, Platform::Iphone]
        .into_iter()
        .filter(|p| on >= p.available_from())
        .collect()
}

/// Every reason to refuse issuing smartphone certificates.
pub fn issuance_refusals(
    platform: Platform,
    on: NaiveDate,
    channel: Channel,
    valid_signature_certificate: bool,
) -> Vec<SmartphoneRefusal> {
    let mut refusals = Vec::new();
    if on < platform.available_from() {
        refusals.push(SmartphoneRefusal::PlatformNotYetSupported);
    }
    if channel == Channel::Window {
        refusals.push(SmartphoneRefusal::NotAtTheWindow);
    }
    if !valid_signature_certificate {
        refusals.push(SmartphoneRefusal::NoValidSignatureCertificate);
    }
    refusals
}

/// A smartphone certificate expires on the same day as the corresponding
/// card certificate.
pub fn smartphone_certificate_expiry(card_certificate_expiry: NaiveDate) -> NaiveDate {
    card_certificate_expiry
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::date::ymd;

    #[test]
    fn platforms_by_date() {
        assert!(platforms_on(ymd(2023, 5, 10)).is_empty());
        assert_eq!(platforms_on(ymd(2023, 5, 11)), [Platform::Android]);
        assert_eq!(platforms_on(ymd(2025, 6, 23)), [Platform::Android]);
        assert_eq!(platforms_on(ymd(2025, 6, 24)), [Platform::Android, Platform::Iphone]);
    }

    #[test]
    fn refusals() {
        let on = ymd(2025, 1, 1);
        assert!(issuance_refusals(Platform::Android, on, Channel::Portal, true).is_empty());
        assert_eq!(
            issuance_refusals(Platform::Iphone, on, Channel::Window, false),
            [
                SmartphoneRefusal::PlatformNotYetSupported,
                SmartphoneRefusal::NotAtTheWindow,
                SmartphoneRefusal::NoValidSignatureCertificate
            ]
        );
    }
}
