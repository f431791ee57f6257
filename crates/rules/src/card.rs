//! Validity of the card (有効期限), rules.md §2.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::date::{age_on, nth_birthday_after};
use crate::policy::{AgeTestDate, Policies};
use crate::renewal::{notice_date, renewal_window, RenewalWindow};
use crate::timeline::LawChange;
use crate::RuleError;

/// The holder's residence status, as far as it bears on the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Residence {
    /// A Japanese national (日本国籍).
    Japanese,
    /// A foreign resident without a period of stay that bounds the card:
    /// 永住者, 特別永住者 or 高度専門職2号.
    ForeignPermanent,
    /// A foreign resident with a period of stay (在留期間) ending on `stay_until`
    /// (在留期間満了日).
    ForeignWithStay { stay_until: NaiveDate },
}

impl Residence {
    /// Whether the holder is a foreign national (外国人住民).
    pub fn is_foreign(self) -> bool {
        !matches!(self, Residence::Japanese)
    }
}

/// Which age of majority applies to the card's validity (18 or 20).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AgeRegime {
    /// Adults (10-year card) from 18: applications received from 2022-04-01.
    #[serde(rename = "18")]
    Eighteen,
    /// Adults from 20: applications received before 2022-04-01.
    #[serde(rename = "20")]
    Twenty,
}

impl AgeRegime {
    /// The regime for an application J-LIS received on `received`.
    pub fn for_application_received(received: NaiveDate) -> AgeRegime {
        if LawChange::AgeOfMajority18.in_force_on(received) {
            AgeRegime::Eighteen
        } else {
            AgeRegime::Twenty
        }
    }

    /// The age from which a holder gets the 10-year card.
    pub fn adult_age(self) -> u32 {
        match self {
            AgeRegime::Eighteen => 18,
            AgeRegime::Twenty => 20,
        }
    }
}

/// What decided the card's expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpiryBasis {
    /// 発行の日後の10回目の誕生日: an adult at the age test.
    TenthBirthday,
    /// 発行の日後の5回目の誕生日: a minor at the age test.
    FifthBirthday,
    /// 在留期間満了日: the end of a foreign resident's period of stay, earlier than the birthday rule.
    EndOfStay,
}

/// Facts about a card being produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardIssuance {
    /// The holder's date of birth.
    pub born: NaiveDate,
    /// 発行日: the day J-LIS produced the card.
    pub issued: NaiveDate,
    /// The day J-LIS received the application; the issuance date if unknown.
    pub application_received: Option<NaiveDate>,
    /// The holder's residence status.
    pub residence: Residence,
}

/// The card's validity and what follows from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardValidity {
    /// 有効期限: the last valid day.
    pub expiry: NaiveDate,
    /// Why this day.
    pub basis: ExpiryBasis,
    /// The age regime chosen by the application-received date.
    pub regime: AgeRegime,
    /// The holder's age on the issuance date.
    pub age_at_issuance: u32,
    /// The holder's age on the day of the 18/20 test (policy `age_test_date`).
    pub age_at_test: u32,
    /// The renewal window.
    pub renewal_window: RenewalWindow,
    /// The day the renewal notice is sent; `None` for a foreign resident
    /// with a period of stay (rules.md §5: no notice to them), whichever
    /// rule decided the expiry.
    pub notice_date: Option<NaiveDate>,
}

/// The card's validity for `facts` (rules.md §2).
///
/// Example: born 2008-05-01, application received 2026-04-10 (age 17),
/// issued 2026-05-10 (age 18) → valid until 2036-05-01 under the default policy.
pub fn card_validity(facts: &CardIssuance, policies: &Policies) -> Result<CardValidity, RuleError> {
    let CardIssuance {
        born,
        issued,
        application_received,
        residence,
    } = *facts;
    let received = application_received.unwrap_or(issued);
    if !LawChange::CardIssuance.in_force_on(issued) {
        return Err(RuleError::BeforeCardIssuance { date: issued });
    }
    if received > issued {
        return Err(RuleError::ApplicationAfterIssuance { received, issued });
    }
    if received < born {
        return Err(RuleError::BeforeBirth {
            birth: born,
            date: received,
        });
    }
    let age_at_issuance = age_on(born, issued)?;
    let regime = AgeRegime::for_application_received(received);
    let test_day = match policies.age_test_date {
        AgeTestDate::Issuance => issued,
        AgeTestDate::ApplicationReceived => received,
    };
    let age_at_test = age_on(born, test_day)?;
    let (years, mut basis) = if age_at_test >= regime.adult_age() {
        (10, ExpiryBasis::TenthBirthday)
    } else {
        (5, ExpiryBasis::FifthBirthday)
    };
    let mut expiry = nth_birthday_after(born, issued, years, policies.feb29);
    if let Residence::ForeignWithStay { stay_until } = residence {
        if stay_until < issued {
            return Err(RuleError::StayEndedBeforeIssuance { stay_until, issued });
        }
        // The end of stay, or the birthday rule if earlier: on a tie, the end of stay.
        if stay_until <= expiry {
            expiry = stay_until;
            basis = ExpiryBasis::EndOfStay;
        }
    }
    let notice = match residence {
        Residence::ForeignWithStay { .. } => None,
        _ => Some(notice_date(expiry, policies)),
    };
    Ok(CardValidity {
        expiry,
        basis,
        regime,
        age_at_issuance,
        age_at_test,
        renewal_window: renewal_window(expiry, policies),
        notice_date: notice,
    })
}

/// Who applies for a step at the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Applicant {
    /// The holder (本人).
    Holder,
    /// The legal representative (法定代理人) of a minor or an adult ward.
    LegalRepresentative,
    /// A member of the same household (同一世帯員).
    HouseholdMember,
}

/// What a foreign resident's validity change (有効期間変更) extends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValidityChangeTarget {
    /// The card itself.
    Card,
    /// The signature certificate on it.
    SignatureCertificate,
}

/// A foreign resident's card validity change after the period of stay was
/// extended (rules.md §8): free, before the card's expiry; a household
/// member may apply for the card but not for the signature certificate.
///
/// The new expiry is the new end of stay, still capped by the birthday rule
/// of the card's original issuance (`original`).
pub fn validity_change(
    original: &CardIssuance,
    current_expiry: NaiveDate,
    new_stay_until: NaiveDate,
    requested_on: NaiveDate,
    applicant: Applicant,
    target: ValidityChangeTarget,
    policies: &Policies,
) -> Result<CardValidity, RuleError> {
    if applicant == Applicant::HouseholdMember && target == ValidityChangeTarget::SignatureCertificate {
        return Err(RuleError::ApplicantNotAllowed(
            "a household member may apply for the card's validity change but not for the signature certificate"
                .to_owned(),
        ));
    }
    if requested_on > current_expiry {
        return Err(RuleError::ValidityChangeAfterExpiry { expiry: current_expiry });
    }
    if new_stay_until <= current_expiry {
        return Err(RuleError::ValidityChangeDoesNotExtend {
            stay_until: new_stay_until,
            expiry: current_expiry,
        });
    }
    let extended = CardIssuance {
        residence: Residence::ForeignWithStay {
            stay_until: new_stay_until,
        },
        ..*original
    };
    card_validity(&extended, policies)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::date::parse_date;

    fn d(s: &str) -> NaiveDate {
        parse_date(s).expect("test date")
    }

    fn card(born: &str, issued: &str, received: Option<&str>, residence: Residence) -> CardIssuance {
        CardIssuance {
            born: d(born),
            issued: d(issued),
            application_received: received.map(d),
            residence,
        }
    }

    #[test]
    fn regime_follows_the_application_date_not_the_issuance_date() {
        let p = Policies::default();
        // Age 19 at issuance; application received before 2022-04-01 → 20 regime → 5 years.
        let v = card_validity(
            &card("2003-01-10", "2022-04-20", Some("2022-03-31"), Residence::Japanese),
            &p,
        )
        .expect("valid");
        assert_eq!(v.regime, AgeRegime::Twenty);
        assert_eq!(v.expiry, d("2027-01-10"));
        let v = card_validity(
            &card("2003-01-10", "2022-04-20", Some("2022-04-01"), Residence::Japanese),
            &p,
        )
        .expect("valid");
        assert_eq!(v.regime, AgeRegime::Eighteen);
        assert_eq!(v.expiry, d("2032-01-10"));
    }

    #[test]
    fn permanent_residents_follow_the_birthday_rule() {
        let p = Policies::default();
        let v = card_validity(&card("1980-07-07", "2026-01-15", None, Residence::ForeignPermanent), &p).expect("valid");
        assert_eq!(v.expiry, d("2035-07-07"));
        assert!(v.notice_date.is_some());
    }

    #[test]
    fn stay_after_birthday_rule_does_not_extend_the_card() {
        let p = Policies::default();
        let v = card_validity(
            &card(
                "2015-07-07",
                "2026-01-15",
                None,
                Residence::ForeignWithStay {
                    stay_until: d("2035-01-01"),
                },
            ),
            &p,
        )
        .expect("valid");
        assert_eq!(v.basis, ExpiryBasis::FifthBirthday);
        assert_eq!(v.expiry, d("2030-07-07"));
        assert_eq!(v.notice_date, None);
    }

    #[test]
    fn validity_change_extends_to_the_new_stay_within_the_birthday_rule() {
        let p = Policies::default();
        let original = card(
            "1990-07-07",
            "2026-01-15",
            None,
            Residence::ForeignWithStay {
                stay_until: d("2027-03-31"),
            },
        );
        let change = |stay: &str, on: &str, who, what| {
            validity_change(&original, d("2027-03-31"), d(stay), d(on), who, what, &p)
        };
        let v = change(
            "2030-03-31",
            "2027-03-31",
            Applicant::HouseholdMember,
            ValidityChangeTarget::Card,
        )
        .expect("in time");
        assert_eq!((v.expiry, v.basis), (d("2030-03-31"), ExpiryBasis::EndOfStay));
        let v = change(
            "2040-03-31",
            "2027-03-01",
            Applicant::Holder,
            ValidityChangeTarget::Card,
        )
        .expect("in time");
        assert_eq!((v.expiry, v.basis), (d("2035-07-07"), ExpiryBasis::TenthBirthday));
        assert!(matches!(
            change(
                "2030-03-31",
                "2027-04-01",
                Applicant::Holder,
                ValidityChangeTarget::Card
            ),
            Err(RuleError::ValidityChangeAfterExpiry { .. })
        ));
        assert!(matches!(
            change(
                "2027-03-31",
                "2027-03-01",
                Applicant::Holder,
                ValidityChangeTarget::Card
            ),
            Err(RuleError::ValidityChangeDoesNotExtend { .. })
        ));
        assert!(matches!(
            change(
                "2030-03-31",
                "2027-03-01",
                Applicant::HouseholdMember,
                ValidityChangeTarget::SignatureCertificate
            ),
            Err(RuleError::ApplicantNotAllowed(_))
        ));
    }

    #[test]
    fn impossible_facts_are_refused() {
        let p = Policies::default();
        assert!(matches!(
            card_validity(
                &card("2000-01-01", "2026-01-01", Some("2026-01-02"), Residence::Japanese),
                &p
            ),
            Err(RuleError::ApplicationAfterIssuance { .. })
        ));
        assert!(matches!(
            card_validity(&card("2027-01-01", "2026-01-01", None, Residence::Japanese), &p),
            Err(RuleError::BeforeBirth { .. })
        ));
        assert!(matches!(
            card_validity(&card("2000-01-01", "2015-12-31", None, Residence::Japanese), &p),
            Err(RuleError::BeforeCardIssuance { .. })
        ));
        assert!(matches!(
            card_validity(
                &card(
                    "2000-01-01",
                    "2026-01-01",
                    None,
                    Residence::ForeignWithStay {
                        stay_until: d("2025-12-31")
                    }
                ),
                &p
            ),
            Err(RuleError::StayEndedBeforeIssuance { .. })
        ));
    }
}
