//! Validity of the electronic certificates, rules.md §3.
//!
//! Two certificates live on the card: the signature certificate
//! (署名用電子証明書) and the user-authentication certificate
//! (利用者証明用電子証明書). Each runs to the 5th birthday after its issuance
//! — the 6th when renewed in the renewal window (the renewal bonus) — and
//! never beyond the card; the signature certificate never outlives the
//! holder's auth certificate either.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::date::{age_on, nth_birthday_after};
use crate::policy::Policies;
use crate::renewal::renewal_window;
use crate::RuleError;

/// The two kinds of card certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateKind {
    /// 署名用電子証明書: carries the basic 4 information; signs documents.
    Signature,
    /// 利用者証明用電子証明書: no personal data; proves "it is me" at login.
    UserAuthentication,
}

/// Why a signature certificate is not issued (policy `sign_cert_min_age`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignCertRefusal {
    /// The holder is under the minimum age (default 15) on the issuance date.
    UnderMinimumAge,
    /// The holder is an adult ward (成年被後見人) and no override is set.
    AdultWard,
}

/// Facts about certificates being issued on a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateIssuance {
    /// The holder's date of birth.
    pub born: NaiveDate,
    /// The day the certificates are issued.
    pub issued: NaiveDate,
    /// The card's expiry (有効期限).
    pub card_expiry: NaiveDate,
    /// The expiry of the auth certificate the holder keeps, when only a
    /// signature certificate is issued; `None` when both are issued together.
    pub existing_auth_expiry: Option<NaiveDate>,
    /// The expiry of the certificate being replaced, if any (for the renewal bonus).
    pub previous_expiry: Option<NaiveDate>,
    /// The holder is an adult ward (成年被後見人).
    pub adult_ward: bool,
}

/// The certificates' expiries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateValidity {
    /// The signature certificate's last valid day, or `None` if it is not issued.
    pub sign_expiry: Option<NaiveDate>,
    /// Why no signature certificate, if none.
    pub sign_refusal: Option<SignCertRefusal>,
    /// The auth certificate's last valid day (the existing one's, if kept).
    pub auth_expiry: NaiveDate,
    /// Whether the renewal bonus (6th birthday) applied.
    pub renewal_bonus: bool,
    /// The holder's age on the issuance date.
    pub age_at_issuance: u32,
}

/// Whether a certificate issued on `issued` replaces one expiring on
/// `previous_expiry` inside its renewal window (less than 3 months left, not
/// yet expired): then it runs to the 6th birthday instead of the 5th.
pub fn renewal_bonus_applies(previous_expiry: Option<NaiveDate>, issued: NaiveDate, policies: &Policies) -> bool {
    previous_expiry.is_some_and(|expiry| renewal_window(expiry, policies).contains(issued))
}

/// The uncapped expiry: the 5th (or, with the bonus, 6th) birthday after issuance.
fn birthday_expiry(born: NaiveDate, issued: NaiveDate, bonus: bool, policies: &Policies) -> NaiveDate {
    nth_birthday_after(born, issued, if bonus { 6 } else { 5 }, policies.feb29)
}

/// The certificates' expiries for `facts` (rules.md §3).
///
/// Example: birthday 06-15, certificates expiring 2026-06-15, card expiring
/// 2031-06-15; renewed 2026-04-01 → 6th birthday = 2031-06-15 (= the card's
/// cap); renewed after expiry on 2026-07-01 → 5th birthday → 2031-06-15.
pub fn certificate_validity(
    facts: &CertificateIssuance,
    policies: &Policies,
) -> Result<CertificateValidity, RuleError> {
    let CertificateIssuance {
        born,
        issued,
        card_expiry,
        existing_auth_expiry,
        previous_expiry,
        adult_ward,
    } = *facts;
    let age_at_issuance = age_on(born, issued)?;
    if issued > card_expiry {
        return Err(RuleError::CardExpired { card_expiry, issued });
    }
    let bonus = renewal_bonus_applies(previous_expiry, issued, policies);
    let own = birthday_expiry(born, issued, bonus, policies).min(card_expiry);
    let auth_expiry = match existing_auth_expiry {
        Some(auth) if auth < issued => {
            return Err(RuleError::AuthCertificateExpired {
                auth_expiry: auth,
                issued,
            })
        }
        Some(auth) if auth > card_expiry => {
            return Err(RuleError::AuthOutlivesCard {
                auth_expiry: auth,
                card_expiry,
            })
        }
        Some(auth) => auth,
        None => own,
    };
    let sign_refusal = if age_at_issuance < policies.sign_cert_min_age {
        Some(SignCertRefusal::UnderMinimumAge)
    } else if adult_ward && !policies.sign_cert_for_adult_wards {
        Some(SignCertRefusal::AdultWard)
    } else {
        None
    };
    let sign_expiry = sign_refusal.is_none().then(|| own.min(auth_expiry));
    Ok(CertificateValidity {
        sign_expiry,
        sign_refusal,
        auth_expiry,
        renewal_bonus: bonus,
        age_at_issuance,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::date::parse_date;

    fn d(s: &str) -> NaiveDate {
        parse_date(s).expect("test date")
    }

    fn facts(born: &str, issued: &str, card: &str) -> CertificateIssuance {
        CertificateIssuance {
            born: d(born),
            issued: d(issued),
            card_expiry: d(card),
            existing_auth_expiry: None,
            previous_expiry: None,
            adult_ward: false,
        }
    }

    #[test]
    fn signature_certificate_is_capped_by_a_kept_auth_certificate() {
        let p = Policies::default();
        let mut f = facts("1980-06-15", "2026-08-01", "2035-06-15");
        f.existing_auth_expiry = Some(d("2028-06-15"));
        let v = certificate_validity(&f, &p).expect("valid");
        assert_eq!(v.sign_expiry, Some(d("2028-06-15")));
        assert_eq!(v.auth_expiry, d("2028-06-15"));
    }

    #[test]
    fn bonus_needs_the_window_and_an_unexpired_predecessor() {
        let p = Policies::default();
        let mut f = facts("1980-06-15", "2026-03-15", "2040-06-15");
        f.previous_expiry = Some(d("2026-06-15"));
        // One day before the window opens: no bonus, so the 5th birthday.
        let v = certificate_validity(&f, &p).expect("valid");
        assert!(!v.renewal_bonus);
        assert_eq!(v.auth_expiry, d("2030-06-15"));
        // The window's first day: the 6th birthday.
        f.issued = d("2026-03-16");
        let v = certificate_validity(&f, &p).expect("valid");
        assert!(v.renewal_bonus);
        assert_eq!(v.auth_expiry, d("2031-06-15"));
        f.issued = d("2026-06-15");
        assert!(certificate_validity(&f, &p).expect("valid").renewal_bonus);
        f.issued = d("2026-06-16");
        let v = certificate_validity(&f, &p).expect("valid");
        assert!(!v.renewal_bonus);
        assert_eq!(v.auth_expiry, d("2031-06-15"));
    }

    #[test]
    fn under_15_and_adult_wards_get_no_signature_certificate() {
        let mut p = Policies::default();
        let f = facts("2012-01-01", "2026-12-31", "2031-01-01");
        let v = certificate_validity(&f, &p).expect("valid");
        assert_eq!(v.sign_refusal, Some(SignCertRefusal::UnderMinimumAge));
        assert_eq!(v.sign_expiry, None);
        assert_eq!(v.auth_expiry, d("2031-01-01"));
        let f = facts("2012-01-01", "2027-01-01", "2032-01-01");
        assert_eq!(certificate_validity(&f, &p).expect("valid").sign_refusal, None);
        let mut ward = facts("1950-01-01", "2026-01-01", "2035-01-01");
        ward.adult_ward = true;
        assert_eq!(
            certificate_validity(&ward, &p).expect("valid").sign_refusal,
            Some(SignCertRefusal::AdultWard)
        );
        p.sign_cert_for_adult_wards = true;
        assert!(certificate_validity(&ward, &p).expect("valid").sign_expiry.is_some());
    }

    #[test]
    fn impossible_facts_are_refused() {
        let p = Policies::default();
        assert!(matches!(
            certificate_validity(&facts("1980-01-01", "2026-01-02", "2026-01-01"), &p),
            Err(RuleError::CardExpired { .. })
        ));
        let mut f = facts("1980-01-01", "2026-01-02", "2030-01-01");
        f.existing_auth_expiry = Some(d("2026-01-01"));
        assert!(matches!(
            certificate_validity(&f, &p),
            Err(RuleError::AuthCertificateExpired { .. })
        ));
    }
}
