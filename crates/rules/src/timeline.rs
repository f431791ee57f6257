//! Changes in the law, each with the day it took effect.
//!
//! Rules that changed carry their effective date so that a question asked
//! "as of" an earlier day gets that day's answer.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::date::ymd;

/// A change of the law or of the service that the rules depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LawChange {
    /// マイナンバーカードの交付開始: cards are issued from 2016-01-01.
    CardIssuance,
    /// 成年年齢の引下げ: the age of majority became 18 on 2022-04-01; the card's
    /// 10-year validity follows it for applications J-LIS receives from then.
    #[serde(rename = "age_of_majority_18")]
    AgeOfMajority18,
    /// 引越しワンストップサービス: moving one-stop in the portal from 2023-02-06.
    MovingOneStop,
    /// スマホ用電子証明書 on Android from 2023-05-11.
    SmartphoneAndroid,
    /// 顔認証マイナンバーカード from 2023-12-15.
    FaceRecognitionCard,
    /// 国外継続利用: the card may be kept in use abroad from 2024-05-27.
    ContinuedUseAbroad,
    /// スマホ用電子証明書 on iPhone from 2025-06-24.
    SmartphoneIphone,
}

impl LawChange {
    /// Every change, oldest first.
    pub const ALL: [LawChange; 7] = [
        LawChange::CardIssuance,
        LawChange::AgeOfMajority18,
        LawChange::MovingOneStop,
        LawChange::SmartphoneAndroid,
        LawChange::FaceRecognitionCard,
        LawChange::ContinuedUseAbroad,
        LawChange::SmartphoneIphone,
    ];

    /// The first day on which the change applies.
    pub fn effective(self) -> NaiveDate {
        match self {
            LawChange::CardIssuance => ymd(2016, 1, 1),
            LawChange::AgeOfMajority18 => ymd(2022, 4, 1),
            LawChange::MovingOneStop => ymd(2023, 2, 6),
            LawChange::SmartphoneAndroid => ymd(2023, 5, 11),
            LawChange::FaceRecognitionCard => ymd(2023, 12, 15),
            LawChange::ContinuedUseAbroad => ymd(2024, 5, 27),
            LawChange::SmartphoneIphone => ymd(2025, 6, 24),
        }
    }

    /// Whether the change applies on `on`.
    pub fn in_force_on(self, on: NaiveDate) -> bool {
        on >= self.effective()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effective_dates_are_the_days_of_the_law() {
        let days: Vec<String> = LawChange::ALL.iter().map(|c| c.effective().to_string()).collect();
        assert_eq!(
            days,
            [
                "2016-01-01",
                "2022-04-01",
                "2023-02-06",
                "2023-05-11",
                "2023-12-15",
                "2024-05-27",
                "2025-06-24"
            ]
        );
        assert!(!LawChange::SmartphoneIphone.in_force_on(ymd(2025, 6, 23)));
        assert!(LawChange::SmartphoneIphone.in_force_on(ymd(2025, 6, 24)));
    }
}
