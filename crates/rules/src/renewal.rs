//! Renewal (更新), rules.md §5: when the window opens and when the notice goes out.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::date::{months_before_clamped, months_before_rolled_forward, next_day};
use crate::policy::{Policies, RenewalMonthEnd};

/// The renewal window of a card or certificate: from `opens` through the
/// expiry date itself. Renewal after expiry is a new issuance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenewalWindow {
    /// The first day on which renewal is possible.
    pub opens: NaiveDate,
    /// The last day of the window: the expiry date.
    pub closes: NaiveDate,
}

impl RenewalWindow {
    /// Whether `on` lies in the window (bounds included).
    pub fn contains(&self, on: NaiveDate) -> bool {
        self.opens <= on && on <= self.closes
    }
}

/// The day after the day `months` before `expiry`, read per `policy`.
fn day_after_months_before(expiry: NaiveDate, months: u32, policy: RenewalMonthEnd) -> NaiveDate {
    let before = match policy {
        RenewalMonthEnd::ClampThenNextDay => months_before_clamped(expiry, months),
        RenewalMonthEnd::RollForwardThenNextDay => months_before_rolled_forward(expiry, months),
    };
    next_day(before)
}

/// The renewal window for something expiring on `expiry`: it opens on the
/// day after the date 3 months before expiry (満了の3ヶ月前となる日の翌日).
///
/// Expiry 2026-06-15 → opens 2026-03-16; expiry 2026-05-31 → 2026-03-01.
pub fn renewal_window(expiry: NaiveDate, policies: &Policies) -> RenewalWindow {
    RenewalWindow {
        opens: day_after_months_before(expiry, 3, policies.renewal_month_end),
        closes: expiry,
    }
}

/// The day J-LIS sends the renewal notice (有効期限通知書), policy
/// `notice_lead`: with the default of 3 months, the day the window opens.
///
/// Foreign residents whose card is bounded by a period of stay get no
/// notice; the caller decides that (see [`crate::card::CardValidity`]).
pub fn notice_date(expiry: NaiveDate, policies: &Policies) -> NaiveDate {
    day_after_months_before(expiry, policies.notice_lead_months, policies.renewal_month_end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::date::parse_date;

    fn d(s: &str) -> NaiveDate {
        parse_date(s).expect("test date")
    }

    #[test]
    fn worked_examples_of_rules_md_5() {
        let p = Policies::default();
        assert_eq!(renewal_window(d("2026-06-15"), &p).opens, d("2026-03-16"));
        assert_eq!(renewal_window(d("2026-05-31"), &p).opens, d("2026-03-01"));
        assert_eq!(notice_date(d("2026-06-15"), &p), d("2026-03-16"));
    }

    #[test]
    fn month_end_policy_and_notice_lead() {
        let mut p = Policies::default();
        // Leap year: 2028-05-31 − 3 months = 2028-02-29.
        assert_eq!(renewal_window(d("2028-05-31"), &p).opens, d("2028-03-01"));
        assert_eq!(renewal_window(d("2026-03-31"), &p).opens, d("2026-01-01"));
        p.renewal_month_end = RenewalMonthEnd::RollForwardThenNextDay;
        assert_eq!(renewal_window(d("2026-05-31"), &p).opens, d("2026-03-02"));
        assert_eq!(renewal_window(d("2026-06-15"), &p).opens, d("2026-03-16"));
        p = Policies {
            notice_lead_months: 2,
            ..Policies::default()
        };
        assert_eq!(notice_date(d("2026-06-15"), &p), d("2026-04-16"));
        assert_eq!(notice_date(d("2026-04-30"), &p), d("2026-03-01"));
    }

    #[test]
    fn window_bounds_are_inclusive() {
        let w = renewal_window(d("2026-06-15"), &Policies::default());
        assert!(!w.contains(d("2026-03-15")));
        assert!(w.contains(d("2026-03-16")));
        assert!(w.contains(d("2026-06-15")));
        assert!(!w.contains(d("2026-06-16")));
    }
}
