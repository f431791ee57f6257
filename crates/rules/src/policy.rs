//! The policies of rules.md: every place where the law or practice is
//! unsettled is a named switch with a default, never a silent choice.

use serde::{Deserialize, Serialize};

use crate::date::Feb29Policy;
use crate::RuleError;

/// On which day the 18/20 age test for the card's validity is made
/// (rules.md §2, policy `age_test_date`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgeTestDate {
    /// The card's issuance date (発行日), the day J-LIS produced it (default).
    #[default]
    Issuance,
    /// The day J-LIS received the application.
    ApplicationReceived,
}

/// How "3 months before expiry" is read when that month lacks the day
/// (rules.md §5, policy `renewal_month_end`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RenewalMonthEnd {
    /// Clamp to the month's last day, then the next day (default):
    /// expiry 2026-05-31 → 2026-02-28 → opens 2026-03-01.
    #[default]
    ClampThenNextDay,
    /// Roll a missing day forward to the 1st of the next month, then the
    /// next day: expiry 2026-05-31 → 2026-03-01 → opens 2026-03-02.
    RollForwardThenNextDay,
}

/// Every policy switch of rules.md, with its default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policies {
    /// `feb29` (§1): birthday of a 29 February birth in a common year.
    pub feb29: Feb29Policy,
    /// `age_test_date` (§2): the day of the 18/20 test.
    pub age_test_date: AgeTestDate,
    /// `sign_cert_min_age` (§3): youngest age that gets a signature certificate.
    pub sign_cert_min_age: u32,
    /// The override of §3 that lets an adult ward (成年被後見人) get a signature
    /// certificate; off by default.
    pub sign_cert_for_adult_wards: bool,
    /// `renewal_month_end` (§5).
    pub renewal_month_end: RenewalMonthEnd,
    /// `notice_lead` (§5): months before expiry that the renewal notice
    /// (有効期限通知書) is sent, 2 or 3; with 3 it goes out the day the window opens.
    pub notice_lead_months: u32,
    /// `kiosk_min_age` (§13): youngest age served by convenience-store issuance.
    pub kiosk_min_age: u32,
}

impl Default for Policies {
    fn default() -> Self {
        Policies {
            feb29: Feb29Policy::Feb28,
            age_test_date: AgeTestDate::Issuance,
            sign_cert_min_age: 15,
            sign_cert_for_adult_wards: false,
            renewal_month_end: RenewalMonthEnd::ClampThenNextDay,
            notice_lead_months: 3,
            kiosk_min_age: 15,
        }
    }
}

/// The names accepted by [`Policies::set`], with their possible values.
pub const POLICY_NAMES: [(&str, &str); 7] = [
    ("feb29", "feb28 | mar1"),
    ("age_test_date", "issuance | application_received"),
    ("sign_cert_min_age", "an age in years"),
    ("sign_cert_for_adult_wards", "true | false"),
    ("renewal_month_end", "clamp_then_next_day | roll_forward_then_next_day"),
    ("notice_lead", "2 | 3 (months)"),
    ("kiosk_min_age", "an age in years"),
];

impl Policies {
    /// The value of policy `name`, written as [`Policies::set`] accepts it;
    /// `None` for an unknown name.
    pub fn get(&self, name: &str) -> Option<String> {
        let value = match name {
            "feb29" => match self.feb29 {
                Feb29Policy::Feb28 => "feb28".to_owned(),
                Feb29Policy::Mar1 => "mar1".to_owned(),
            },
            "age_test_date" => match self.age_test_date {
                AgeTestDate::Issuance => "issuance".to_owned(),
                AgeTestDate::ApplicationReceived => "application_received".to_owned(),
            },
            "sign_cert_min_age" => self.sign_cert_min_age.to_string(),
            "sign_cert_for_adult_wards" => self.sign_cert_for_adult_wards.to_string(),
            "renewal_month_end" => match self.renewal_month_end {
                RenewalMonthEnd::ClampThenNextDay => "clamp_then_next_day".to_owned(),
                RenewalMonthEnd::RollForwardThenNextDay => "roll_forward_then_next_day".to_owned(),
            },
            "notice_lead" => self.notice_lead_months.to_string(),
            "kiosk_min_age" => self.kiosk_min_age.to_string(),
            _ => return None,
        };
        Some(value)
    }

    /// Sets one policy from `name=value` text, as given on a command line or
    /// in a configuration file.
    pub fn set(&mut self, assignment: &str) -> Result<(), RuleError> {
        let (name, value) = assignment
            .split_once('=')
            .ok_or_else(|| RuleError::BadPolicy(format!("{assignment}: expected name=value")))?;
        let (name, value) = (name.trim(), value.trim());
        let bad_value = || {
            let expected = POLICY_NAMES.iter().find(|(n, _)| *n == name).map_or("", |(_, v)| v);
            RuleError::BadPolicy(format!("{name}={value}: expected {expected}"))
        };
        let age = || value.parse::<u32>().ok().filter(|a| *a <= 30).ok_or_else(bad_value);
        match name {
            "feb29" => {
                self.feb29 = match value {
                    "feb28" => Feb29Policy::Feb28,
                    "mar1" => Feb29Policy::Mar1,
                    _ => return Err(bad_value()),
                }
            }
            "age_test_date" => {
                self.age_test_date = match value {
                    "issuance" => AgeTestDate::Issuance,
                    "application_received" => AgeTestDate::ApplicationReceived,
                    _ => return Err(bad_value()),
                }
            }
            "sign_cert_min_age" => self.sign_cert_min_age = age()?,
            "sign_cert_for_adult_wards" => {
                self.sign_cert_for_adult_wards = match value {
                    "true" => true,
                    "false" => false,
                    _ => return Err(bad_value()),
                }
            }
            "renewal_month_end" => {
                self.renewal_month_end = match value {
                    "clamp_then_next_day" => RenewalMonthEnd::ClampThenNextDay,
                    "roll_forward_then_next_day" => RenewalMonthEnd::RollForwardThenNextDay,
                    _ => return Err(bad_value()),
                }
            }
            "notice_lead" => {
                self.notice_lead_months = match value {
                    "2" => 2,
                    "3" => 3,
                    _ => return Err(bad_value()),
                }
            }
            "kiosk_min_age" => self.kiosk_min_age = age()?,
            _ => {
                let known: Vec<&str> = POLICY_NAMES.iter().map(|(n, _)| *n).collect();
                return Err(RuleError::BadPolicy(format!(
                    "{name}: no such policy (known: {})",
                    known.join(", ")
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_those_of_rules_md() {
        let p = Policies::default();
        assert_eq!(p.feb29, Feb29Policy::Feb28);
        assert_eq!(p.age_test_date, AgeTestDate::Issuance);
        assert_eq!(p.sign_cert_min_age, 15);
        assert!(!p.sign_cert_for_adult_wards);
        assert_eq!(p.renewal_month_end, RenewalMonthEnd::ClampThenNextDay);
        assert_eq!(p.notice_lead_months, 3);
        assert_eq!(p.kiosk_min_age, 15);
    }

    #[test]
    fn every_policy_can_be_set_by_name_and_bad_ones_are_named() {
        let mut p = Policies::default();
        for a in [
            "feb29=mar1",
            "age_test_date=application_received",
            "sign_cert_min_age=16",
            "sign_cert_for_adult_wards=true",
            "renewal_month_end=roll_forward_then_next_day",
            "notice_lead=2",
            "kiosk_min_age=18",
        ] {
            p.set(a).expect(a);
        }
        assert_eq!(p.feb29, Feb29Policy::Mar1);
        assert_eq!(p.age_test_date, AgeTestDate::ApplicationReceived);
        assert_eq!(p.sign_cert_min_age, 16);
        assert!(p.sign_cert_for_adult_wards);
        assert_eq!(p.renewal_month_end, RenewalMonthEnd::RollForwardThenNextDay);
        assert_eq!(p.notice_lead_months, 2);
        assert_eq!(p.kiosk_min_age, 18);
        let before = p;
        for bad in [
            "feb29=feb30",
            "notice_lead=4",
            "colour=blue",
            "feb29",
            "kiosk_min_age=-1",
        ] {
            let err = p.set(bad).expect_err(bad).to_string();
            assert!(!err.is_empty());
        }
        assert_eq!(p, before, "a rejected setting changes nothing");
        // get gives back what set takes, for every policy.
        for (name, _) in POLICY_NAMES {
            let value = p.get(name).expect(name);
            let mut q = Policies::default();
            q.set(&format!("{name}={value}")).expect(name);
            assert_eq!(q.get(name), Some(value), "{name}");
        }
        assert_eq!(p.get("colour"), None);
    }
}
