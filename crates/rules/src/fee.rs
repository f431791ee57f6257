//! Fees (手数料), rules.md §10.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::policy::Policies;
use crate::renewal::renewal_window;
use crate::RuleError;

/// Reissue of the card only (800 yen).
pub const CARD_ONLY_YEN: u32 = 800;
/// Reissue of the card with new electronic certificates (1,000 yen).
pub const CARD_WITH_CERTIFICATES_YEN: u32 = 1_000;

/// Why a card is being (re)issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeeCause {
    /// 初回交付.
    FirstIssuance,
    /// 紛失.
    Loss,
    /// 盗難.
    Theft,
    /// 焼失.
    Fire,
    /// 著しい損傷.
    Damage,
    /// 機能の喪失 (IC chip malfunction).
    Malfunction,
    /// 追記欄の余白がなくなった.
    FullEntries,
    /// 更新: renewal of an expiring (< 3 months left) or expired card.
    Renewal,
    /// A foreign resident's card lapsed at the end of the period of stay.
    StayExpired,
}

impl FeeCause {
    /// Causes for which the "not the holder's fault" exemption exists:
    /// loss (theft included), fire, damage and malfunction.
    pub fn may_be_no_fault(self) -> bool {
        matches!(
            self,
            FeeCause::Loss | FeeCause::Theft | FeeCause::Fire | FeeCause::Damage | FeeCause::Malfunction
        )
    }
}

/// The evidence a reissue application needs at the window (rules.md §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReissueEvidence {
    /// 遺失届の受理番号: the police lost-property report receipt number.
    PoliceReceiptNumber,
    /// 罹災証明書: a disaster certificate from the fire service.
    DisasterCertificate,
    /// The damaged or malfunctioning card itself.
    DamagedCard,
    /// The old card (to be returned or surrendered).
    OldCard,
}

impl FeeCause {
    /// The evidence the window asks for; `None` for first issuance.
    pub fn required_evidence(self) -> Option<ReissueEvidence> {
        match self {
            FeeCause::FirstIssuance => None,
            FeeCause::Loss | FeeCause::Theft => Some(ReissueEvidence::PoliceReceiptNumber),
            FeeCause::Fire => Some(ReissueEvidence::DisasterCertificate),
            FeeCause::Damage | FeeCause::Malfunction => Some(ReissueEvidence::DamagedCard),
            FeeCause::FullEntries | FeeCause::Renewal | FeeCause::StayExpired => Some(ReissueEvidence::OldCard),
        }
    }
}

/// The facts that decide the fee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeCase {
    /// Why the card is issued.
    pub cause: FeeCause,
    /// New electronic certificates are issued with the card.
    pub with_certificates: bool,
    /// The loss or damage was not the holder's fault: an error of the
    /// municipality or J-LIS, a natural disaster, or another cause not theirs.
    pub not_holders_fault: bool,
    /// For a renewal: the current card's expiry and the day of the renewal,
    /// to check that the window is open.
    pub renewal_timing: Option<(NaiveDate, NaiveDate)>,
}

/// Why the fee is what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeeReason {
    /// First issuance is free.
    FirstIssuanceFree,
    /// Renewal of an expiring or expired card is free.
    RenewalFree,
    /// Reissue because the 追記欄 is full is free.
    FullEntriesFree,
    /// Not the holder's fault: free.
    NotHoldersFaultFree,
    /// Reissue of the card only.
    ReissueCardOnly,
    /// Reissue of the card with new certificates.
    ReissueWithCertificates,
}

/// A fee and its reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fee {
    /// Amount in yen.
    pub yen: u32,
    /// Why.
    pub reason: FeeReason,
}

/// The fee for `case` (rules.md §10).
pub fn fee(case: &FeeCase, policies: &Policies) -> Result<Fee, RuleError> {
    if case.not_holders_fault && !case.cause.may_be_no_fault() {
        return Err(RuleError::FeeNotApplicable(
            "the not-the-holder's-fault exemption applies only to loss, theft, fire, damage and malfunction".to_owned(),
        ));
    }
    let free = |reason| Ok(Fee { yen: 0, reason });
    match case.cause {
        FeeCause::FirstIssuance => free(FeeReason::FirstIssuanceFree),
        FeeCause::Renewal => {
            if let Some((expiry, on)) = case.renewal_timing {
                let window = renewal_window(expiry, policies);
                if on < window.opens {
                    return Err(RuleError::RenewalWindowNotOpen { opens: window.opens });
                }
            }
            free(FeeReason::RenewalFree)
        }
        FeeCause::FullEntries => free(FeeReason::FullEntriesFree),
        _ if case.not_holders_fault => free(FeeReason::NotHoldersFaultFree),
        _ if case.with_certificates => Ok(Fee {
            yen: CARD_WITH_CERTIFICATES_YEN,
            reason: FeeReason::ReissueWithCertificates,
        }),
        _ => Ok(Fee {
            yen: CARD_ONLY_YEN,
            reason: FeeReason::ReissueCardOnly,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::date::parse_date;

    fn case(cause: FeeCause, with_certificates: bool, not_holders_fault: bool) -> FeeCase {
        FeeCase {
            cause,
            with_certificates,
            not_holders_fault,
            renewal_timing: None,
        }
    }

    #[test]
    fn renewal_before_the_window_is_not_a_renewal() {
        let p = Policies::default();
        let d = |s| parse_date(s).expect("date");
        let mut c = case(FeeCause::Renewal, true, false);
        c.renewal_timing = Some((d("2026-06-15"), d("2026-03-15")));
        assert_eq!(
            fee(&c, &p),
            Err(RuleError::RenewalWindowNotOpen { opens: d("2026-03-16") })
        );
        c.renewal_timing = Some((d("2026-06-15"), d("2026-03-16")));
        assert_eq!(fee(&c, &p).map(|f| f.yen), Ok(0));
        c.renewal_timing = Some((d("2026-06-15"), d("2027-01-01")));
        assert_eq!(fee(&c, &p).map(|f| f.yen), Ok(0));
    }

    #[test]
    fn evidence_by_cause() {
        assert_eq!(
            FeeCause::Loss.required_evidence(),
            Some(ReissueEvidence::PoliceReceiptNumber)
        );
        assert_eq!(
            FeeCause::Fire.required_evidence(),
            Some(ReissueEvidence::DisasterCertificate)
        );
        assert_eq!(
            FeeCause::Malfunction.required_evidence(),
            Some(ReissueEvidence::DamagedCard)
        );
        assert_eq!(FeeCause::FirstIssuance.required_evidence(), None);
    }

    #[test]
    fn no_fault_exemption_only_where_the_law_has_it() {
        let p = Policies::default();
        assert!(fee(&case(FeeCause::StayExpired, false, true), &p).is_err());
        assert!(fee(&case(FeeCause::Renewal, false, true), &p).is_err());
        assert_eq!(fee(&case(FeeCause::Theft, true, true), &p).map(|f| f.yen), Ok(0));
    }
}
