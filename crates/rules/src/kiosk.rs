//! Convenience-store issuance (コンビニ交付), rules.md §13: service hours and refusals.

use chrono::{Datelike, NaiveDateTime, NaiveTime};
use serde::{Deserialize, Serialize};

use crate::date::age_on;
use crate::policy::Policies;

/// A document a kiosk can issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KioskDocument {
    /// 住民票の写し.
    ResidenceRecord,
    /// 印鑑登録証明書.
    SealRegistration,
    /// 戸籍証明書 (全部事項).
    FamilyRegisterFull,
    /// 戸籍証明書 (個人事項).
    FamilyRegisterIndividual,
    /// 戸籍の附票の写し.
    FamilyRegisterAddendum,
}

impl KioskDocument {
    /// Whether the document comes from the family register (戸籍), which may
    /// be kept by a municipality other than that of residence.
    pub fn from_family_register(self) -> bool {
        matches!(
            self,
            KioskDocument::FamilyRegisterFull
                | KioskDocument::FamilyRegisterIndividual
                | KioskDocument::FamilyRegisterAddendum
        )
    }
}

/// An announced maintenance window, in Japan time, end excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaintenanceWindow {
    /// First instant of the window.
    pub from: NaiveDateTime,
    /// First instant after it.
    pub until: NaiveDateTime,
}

/// Daily opening time, 06:30.
pub fn opens_at() -> NaiveTime {
    NaiveTime::from_hms_opt(6, 30, 0).unwrap_or(NaiveTime::MIN)
}

/// Daily closing time, 23:00 (the service ends at 23:00; 23:00 itself is closed).
pub fn closes_at() -> NaiveTime {
    NaiveTime::from_hms_opt(23, 0, 0).unwrap_or(NaiveTime::MIN)
}

/// Whether the year-end closure (29 December – 3 January) covers the day of `at`.
pub fn year_end_closure(at: NaiveDateTime) -> bool {
    let (month, day) = (at.month(), at.day());
    (month == 12 && day >= 29) || (month == 1 && day <= 3)
}

/// Why the convenience-store service is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KioskClosure {
    /// 29 December – 3 January.
    YearEndClosure,
    /// Before 06:30 or from 23:00.
    OutsideServiceHours,
    /// An announced maintenance window.
    Maintenance,
}

/// Whether the convenience-store service is open at `at` (Japan time), and
/// if not, why: 06:30–23:00 every day, nights and holidays included, except
/// 29 Dec – 3 Jan and announced maintenance windows.
pub fn kiosk_service_status(at: NaiveDateTime, maintenance: &[MaintenanceWindow]) -> Result<(), KioskClosure> {
    let time = at.time();
    if year_end_closure(at) {
        Err(KioskClosure::YearEndClosure)
    } else if time < opens_at() || time >= closes_at() {
        Err(KioskClosure::OutsideServiceHours)
    } else if maintenance.iter().any(|w| w.from <= at && at < w.until) {
        Err(KioskClosure::Maintenance)
    } else {
        Ok(())
    }
}

/// Whether the convenience-store service is open at `at` (see [`kiosk_service_status`]).
pub fn kiosk_service_open(at: NaiveDateTime, maintenance: &[MaintenanceWindow]) -> bool {
    kiosk_service_status(at, maintenance).is_ok()
}

/// Facts about the person at the kiosk and the document asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KioskRequest<'a> {
    /// Now, in Japan time.
    pub at: NaiveDateTime,
    /// Announced maintenance windows.
    pub maintenance: &'a [MaintenanceWindow],
    /// The holder's birth date.
    pub born: chrono::NaiveDate,
    /// The card is a face-recognition card (no PIN).
    pub face_recognition_card: bool,
    /// The holder has a valid auth certificate (card or smartphone).
    pub valid_auth_certificate: bool,
    /// The auth PIN is locked.
    pub auth_pin_locked: bool,
    /// The holder has filed a move-out (転出届).
    pub move_out_filed: bool,
    /// The holder is under protection measures (支援措置, e.g. DV victims).
    pub protection_measures: bool,
    /// The holder is deceased.
    pub deceased: bool,
    /// The document asked for.
    pub document: KioskDocument,
    /// The municipality offers the document at kiosks.
    pub document_offered: bool,
    /// For a family-register document: the 本籍 is in another municipality.
    pub honseki_elsewhere: bool,
    /// For such a document: the holder registered for it beforehand.
    pub honseki_registered: bool,
}

/// Why a kiosk refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KioskRefusal {
    /// Outside 06:30–23:00, 29 Dec – 3 Jan, or maintenance.
    OutsideServiceHours,
    /// Face-recognition cards have no PIN.
    FaceRecognitionCard,
    /// No valid auth certificate.
    NoValidAuthCertificate,
    /// The auth PIN is locked.
    AuthPinLocked,
    /// The holder has filed a move-out.
    MoveOutFiled,
    /// The holder is under protection measures.
    ProtectionMeasures,
    /// The holder is deceased.
    Deceased,
    /// Younger than policy `kiosk_min_age` (default 15).
    UnderMinimumAge,
    /// The municipality does not offer this document at kiosks.
    DocumentNotOffered,
    /// A family-register document for a 本籍 elsewhere without prior registration.
    HonsekiNotRegistered,
}

/// Every reason to refuse `request`; empty when the kiosk may serve it.
pub fn kiosk_refusals(request: &KioskRequest<'_>, policies: &Policies) -> Vec<KioskRefusal> {
    let mut refusals = Vec::new();
    let mut refuse = |cond: bool, why: KioskRefusal| {
        if cond {
            refusals.push(why);
        }
    };
    refuse(
        !kiosk_service_open(request.at, request.maintenance),
        KioskRefusal::OutsideServiceHours,
    );
    refuse(request.face_recognition_card, KioskRefusal::FaceRecognitionCard);
    refuse(!request.valid_auth_certificate, KioskRefusal::NoValidAuthCertificate);
    refuse(request.auth_pin_locked, KioskRefusal::AuthPinLocked);
    refuse(request.move_out_filed, KioskRefusal::MoveOutFiled);
    refuse(request.protection_measures, KioskRefusal::ProtectionMeasures);
    refuse(request.deceased, KioskRefusal::Deceased);
    // A birth date after today is treated as under age: never served.
    let age = age_on(request.born, request.at.date()).unwrap_or(0);
    refuse(age < policies.kiosk_min_age, KioskRefusal::UnderMinimumAge);
    refuse(!request.document_offered, KioskRefusal::DocumentNotOffered);
    refuse(
        request.document.from_family_register() && request.honseki_elsewhere && !request.honseki_registered,
        KioskRefusal::HonsekiNotRegistered,
    );
    refusals
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").expect("test time")
    }

    #[test]
    fn service_hours_edges() {
        let none = [];
        assert!(!kiosk_service_open(at("2026-06-01 06:29:59"), &none));
        assert!(kiosk_service_open(at("2026-06-01 06:30:00"), &none));
        assert!(kiosk_service_open(at("2026-06-01 22:59:59"), &none));
        assert!(!kiosk_service_open(at("2026-06-01 23:00:00"), &none));
        assert!(kiosk_service_open(at("2026-12-28 22:00:00"), &none));
        assert!(!kiosk_service_open(at("2026-12-29 12:00:00"), &none));
        assert!(!kiosk_service_open(at("2027-01-03 12:00:00"), &none));
        assert!(kiosk_service_open(at("2027-01-04 06:30:00"), &none));
        let m = [MaintenanceWindow {
            from: at("2026-06-01 10:00:00"),
            until: at("2026-06-01 12:00:00"),
        }];
        assert!(!kiosk_service_open(at("2026-06-01 10:00:00"), &m));
        assert!(kiosk_service_open(at("2026-06-01 12:00:00"), &m));
        assert_eq!(
            kiosk_service_status(at("2026-06-01 11:00:00"), &m),
            Err(KioskClosure::Maintenance)
        );
        assert_eq!(
            kiosk_service_status(at("2026-12-31 05:00:00"), &m),
            Err(KioskClosure::YearEndClosure)
        );
        assert_eq!(
            kiosk_service_status(at("2026-06-01 23:30:00"), &m),
            Err(KioskClosure::OutsideServiceHours)
        );
    }

    fn ok_request() -> KioskRequest<'static> {
        KioskRequest {
            at: at("2026-06-01 22:00:00"),
            maintenance: &[],
            born: chrono::NaiveDate::from_ymd_opt(1990, 1, 1).expect("date"),
            face_recognition_card: false,
            valid_auth_certificate: true,
            auth_pin_locked: false,
            move_out_filed: false,
            protection_measures: false,
            deceased: false,
            document: KioskDocument::ResidenceRecord,
            document_offered: true,
            honseki_elsewhere: false,
            honseki_registered: false,
        }
    }

    #[test]
    fn refusals() {
        let p = Policies::default();
        assert!(kiosk_refusals(&ok_request(), &p).is_empty());
        let face = KioskRequest {
            face_recognition_card: true,
            ..ok_request()
        };
        assert_eq!(kiosk_refusals(&face, &p), [KioskRefusal::FaceRecognitionCard]);
        let young = KioskRequest {
            born: chrono::NaiveDate::from_ymd_opt(2011, 6, 2).expect("date"),
            ..ok_request()
        };
        assert_eq!(kiosk_refusals(&young, &p), [KioskRefusal::UnderMinimumAge]);
        let fifteen = KioskRequest {
            born: chrono::NaiveDate::from_ymd_opt(2011, 6, 1).expect("date"),
            ..ok_request()
        };
        assert!(kiosk_refusals(&fifteen, &p).is_empty());
        let koseki = KioskRequest {
            document: KioskDocument::FamilyRegisterFull,
            honseki_elsewhere: true,
            ..ok_request()
        };
        assert_eq!(kiosk_refusals(&koseki, &p), [KioskRefusal::HonsekiNotRegistered]);
        let many = KioskRequest {
            move_out_filed: true,
            protection_measures: true,
            deceased: true,
            auth_pin_locked: true,
            valid_auth_certificate: false,
            ..ok_request()
        };
        assert_eq!(kiosk_refusals(&many, &p).len(), 5);
    }
}
