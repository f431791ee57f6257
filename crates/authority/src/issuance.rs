//! Issuance (交付): residents and municipalities in the registry, the
//! application (交付申請), production by J-LIS (keys generated on the card,
//! certificates issued and written), and delivery at the window (the holder
//! sets the PINs on a PIN pad; the staff never see them).
//!
//! Certificates are issued at production (services.md). For a renewal or a
//! reissue the holder's previous card certificates are revoked
//! (superseded) in the same registry transaction that records the new ones,
//! so that two valid certificates of one kind never coexist; the CA learns
//! of the revocation right after the commit (and from
//! [`Authority::reconcile`] if the process dies in between).

use chrono::NaiveDate;
use mynacard_card::input_support::{BasicFour, Sex as CardSex};
use mynacard_card::{CardImage, CardOrder, DeliveryPins, IssuedCertificate, JpkiKey};
use mynacard_pki::ca::IssueRequest;
use mynacard_pki::profile::{Holder, Profile, Sex as CertSex};
use mynacard_pki::status::CrlReason;
use mynacard_pki::Serial;
use mynacard_rules::card::{card_validity, CardIssuance, Residence};
use mynacard_rules::certificate::{certificate_validity, CertificateIssuance};
use mynacard_rules::numbers::{MunicipalityCode, MyNumber, PREFECTURES};
use mynacard_rules::pin::PinKind;
use mynacard_store::registry::{
    self, Application, ApplicationChannel, ApplicationKind, ApplicationStatus, CardStatus, CertKind, CertificateRecord,
    CertificateStatus, Municipality, Resident, ResidentStatus, Sex, Stored, StoredResident,
};
use mynacard_store::Tx;
use serde::{Deserialize, Serialize};
use serde_json::json;
use zeroize::Zeroizing;

use crate::actor::{Actor, Role};
use crate::error::AuthorityError;
use crate::operation::{Audit, Recorded};
use crate::Authority;

/// A resident registered (住民登録) — in production the record comes from
/// the municipality's resident registry system; here the window enters it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewResident {
    /// 全国地方公共団体コード of the municipality of residence.
    pub municipality: String,
    /// 個人番号 (12 digits).
    pub my_number: String,
    /// 氏名 (family and given name separated by a full-width space).
    pub name: String,
    /// 氏名の振り仮名.
    pub name_kana: String,
    /// 住所, from the prefecture.
    pub address: String,
    /// 生年月日.
    pub birth_date: NaiveDate,
    /// `male` or `female`.
    pub sex: String,
    /// ISO 3166-1 alpha-2; `JP` for Japanese nationals.
    pub nationality: String,
    /// A foreign resident's 在留期間満了日.
    #[serde(default)]
    pub stay_until: Option<NaiveDate>,
    /// A foreign resident without a period of stay that bounds the card (永住者 …).
    #[serde(default)]
    pub permanent_resident: bool,
    /// 印鑑登録.
    #[serde(default)]
    pub seal_registered: bool,
    /// 本籍 (Japanese nationals).
    #[serde(default)]
    pub honseki: Option<String>,
    /// 世帯.
    #[serde(default)]
    pub household_id: Option<String>,
    /// 成年被後見人.
    #[serde(default)]
    pub adult_ward: bool,
}

/// An application for a card.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewApplication {
    /// The applicant.
    pub resident_id: i64,
    /// `new`, `renewal` or `reissue`.
    pub kind: ApplicationKind,
    /// `window`, `online` or `mail`.
    pub channel: ApplicationChannel,
    /// A face-recognition card (顔認証マイナンバーカード).
    #[serde(default)]
    pub face_recognition: bool,
    /// Whether a signature certificate is wanted.
    pub signature_wanted: bool,
    /// The day J-LIS received it (default: the day the window did, today).
    #[serde(default)]
    pub jlis_received_on: Option<NaiveDate>,
}

/// What production made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Produced {
    /// The card's serial.
    pub card_serial: String,
    /// 有効期限.
    pub expires_on: NaiveDate,
    /// The auth certificate's serial (hex) and last valid day.
    pub auth_certificate: (String, NaiveDate),
    /// The signature certificate's, when one was made.
    pub sign_certificate: Option<(String, NaiveDate)>,
    /// The holder's previous certificates revoked as superseded.
    pub superseded: Vec<String>,
}

/// The PINs the holder types at delivery. Never serialised, never hashed
/// into the idempotency record (a 4-digit PIN's hash is no secret).
#[derive(Default)]
pub struct PinPad {
    /// 利用者証明用 (4 digits).
    pub auth: Option<Zeroizing<String>>,
    /// 署名用 (6–16 of A–Z 0–9).
    pub sign: Option<Zeroizing<String>>,
    /// 券面事項入力補助用 (4 digits).
    pub input_support: Option<Zeroizing<String>>,
    /// 住民基本台帳用 (4 digits).
    pub registry: Option<Zeroizing<String>>,
}

impl std::fmt::Debug for PinPad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PinPad(<typed by the holder>)")
    }
}

/// What delivery did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivered {
    /// The card now in the holder's hands.
    pub card_serial: String,
    /// 交付日.
    pub delivered_on: NaiveDate,
    /// The card it replaces, returned (返納) at delivery.
    pub returned: Option<String>,
}

/// Window staff act only on residents of their municipality; J-LIS and the
/// system act on anyone; the hotline only where an operation allows it.
pub(crate) fn authorize(actor: &Actor, municipality: MunicipalityCode, what: &str) -> Result<(), AuthorityError> {
    match &actor.role {
        Role::Window { municipality: own } if *own == municipality => Ok(()),
        Role::Window { .. } => Err(AuthorityError::Forbidden(format!(
            "{what}: the resident is registered in another municipality"
        ))),
        Role::Producer | Role::System => Ok(()),
        Role::Hotline | Role::Resident { .. } => Err(AuthorityError::Forbidden(format!("{what}: not for this role"))),
    }
}

pub(crate) fn resident(tx: &mut Tx<'_>, id: i64) -> Result<StoredResident, AuthorityError> {
    registry::get_resident(tx, id)?.ok_or_else(|| AuthorityError::NotFound(format!("resident {id}")))
}

pub(crate) fn residence(r: &Resident) -> Residence {
    r.residence
}

/// The record's own consistency, checked before the registry's CHECKs
/// would refuse it (so that a window gets a reason, not a failure).
fn check_new_resident(new: &NewResident, residence: Residence, today: NaiveDate) -> Result<(), AuthorityError> {
    let bad = |m: &str| Err(AuthorityError::BadRequest(m.to_owned()));
    for (field, value, max) in [
        ("name", &new.name, 100),
        ("name_kana", &new.name_kana, 200),
        ("address", &new.address, 300),
    ] {
        if value.trim().is_empty() || value.chars().count() > max || value.chars().any(char::is_control) {
            return bad(&format!("{field}: 1 to {max} characters, no control characters"));
        }
    }
    let n = new.nationality.as_bytes();
    if n.len() != 2 || !n.iter().all(u8::is_ascii_uppercase) {
        return bad("nationality: an ISO 3166-1 alpha-2 code such as JP");
    }
    let japanese = matches!(residence, Residence::Japanese);
    if japanese != (new.nationality == "JP") {
        return bad("a Japanese national (JP) has neither a period of stay nor permanent residence; a foreign resident is not JP");
    }
    let honseki = new.honseki.as_deref().map(str::trim).filter(|h| !h.is_empty());
    if japanese != honseki.is_some() {
        return bad("本籍 (honseki): required for a Japanese national, none for a foreign resident");
    }
    let earliest = NaiveDate::from_ymd_opt(1880, 1, 1).unwrap_or(NaiveDate::MIN);
    if new.birth_date > today || new.birth_date < earliest {
        return bad("birth_date: between 1880-01-01 and today");
    }
    if let Some(until) = new.stay_until {
        if until <= new.birth_date || until > today + chrono::Days::new(366 * 10) {
            return bad("stay_until: after the birth date and within ten years");
        }
    }
    for (field, value) in [
        ("honseki", new.honseki.as_deref()),
        ("household_id", new.household_id.as_deref()),
    ] {
        if value.is_some_and(|v| v.chars().count() > 300 || v.chars().any(char::is_control)) {
            return bad(&format!("{field}: at most 300 characters, no control characters"));
        }
    }
    Ok(())
}

fn parse_sex(text: &str) -> Result<Sex, AuthorityError> {
    Sex::parse(text).ok_or_else(|| AuthorityError::BadRequest(format!("sex: male or female, not {text:?}")))
}

/// The holder's data as the signature certificate carries it.
pub(crate) fn holder(r: &Resident, municipality: &Municipality) -> Result<Holder, AuthorityError> {
    let prefecture = PREFECTURES
        .iter()
        .find(|(ja, _)| r.address.starts_with(ja))
        .map(|(_, en)| (*en).to_owned())
        .unwrap_or_else(|| municipality.code.prefecture_name().1.to_owned());
    Ok(Holder {
        name: r.name.clone(),
        sex: match r.sex {
            Sex::Male => CertSex::Male,
            Sex::Female => CertSex::Female,
        },
        birth_date: r.birth_date,
        address: r.address.clone(),
        prefecture,
        municipality: municipality.name_en.clone(),
        name_flags: None,
        address_flags: None,
    })
}

impl Authority {
    /// Adds a municipality (set-up; audited as the system's act).
    pub fn add_municipality(&self, actor: &Actor, key: &str, m: &Municipality) -> Result<(), AuthorityError> {
        let op = self.operation(
            actor,
            "municipality.add",
            key,
            &(m.code.to_string(), &m.name_ja, &m.name_en),
        )?;
        if self.replay::<()>(&op)?.is_some() {
            return Ok(());
        }
        self.record(&op, |tx| {
            registry::insert_municipality(tx, m)?;
            Ok((
                (),
                Audit::new(format!("municipality:{}", m.code), json!({"name": m.name_ja})),
            ))
        })
        .map(drop)
    }

    /// Adds the real list of the 1,741 municipalities (those missing);
    /// answers how many were added. One audited operation.
    pub fn seed_municipalities(&self, actor: &Actor, key: &str) -> Result<usize, AuthorityError> {
        let op = self.operation(actor, "municipality.seed", key, &"all")?;
        if let Some(added) = self.replay(&op)? {
            return Ok(added);
        }
        if !matches!(actor.role, Role::System | Role::Producer) {
            return Err(AuthorityError::Forbidden(
                "the list of municipalities is set up by the system".into(),
            ));
        }
        let recorded = self.record(&op, |tx| {
            let added = registry::seed_municipalities(tx)?;
            Ok((added, Audit::new("municipality:*", json!({"added": added}))))
        })?;
        Ok(match recorded {
            Recorded::Done(n) | Recorded::Replayed(n) => n,
        })
    }

    /// Registers a resident (住民登録); answers the registry's id.
    pub fn register_resident(&self, actor: &Actor, key: &str, new: &NewResident) -> Result<i64, AuthorityError> {
        let op = self.operation(actor, "resident.register", key, new)?;
        if let Some(id) = self.replay(&op)? {
            return Ok(id);
        }
        let municipality = MunicipalityCode::parse(&new.municipality)?;
        authorize(actor, municipality, "registering a resident")?;
        let my_number = MyNumber::parse(&new.my_number)?;
        let residence = match (new.stay_until, new.permanent_resident) {
            (Some(stay_until), _) => Residence::ForeignWithStay { stay_until },
            (None, true) => Residence::ForeignPermanent,
            (None, false) if new.nationality == "JP" => Residence::Japanese,
            (None, false) => {
                return Err(AuthorityError::BadRequest(
                    "a foreign resident has a stay_until date or is a permanent resident".into(),
                ))
            }
        };
        let today = self.clock.today();
        check_new_resident(new, residence, today)?;
        let resident = Resident {
            municipality,
            my_number,
            name: new.name.clone(),
            name_kana: new.name_kana.clone(),
            address: new.address.clone(),
            birth_date: new.birth_date,
            sex: parse_sex(&new.sex)?,
            nationality: new.nationality.clone(),
            residence,
            status: ResidentStatus::Resident,
            status_changed_on: None,
            seal_registered: new.seal_registered,
            honseki: new.honseki.clone(),
            household_id: new.household_id.clone(),
            support_measure: false,
            adult_ward: new.adult_ward,
            moved_in_on: Some(today),
            move_in_notified_on: Some(today),
            planned_move_out_on: None,
            moved_out_on: None,
        };
        let recorded = self.record(&op, |tx| {
            if registry::get_municipality(tx, municipality)?.is_none() {
                return Err(AuthorityError::NotFound(format!("municipality {municipality}")));
            }
            let stored = registry::insert_resident(tx, &resident, op.at)?;
            Ok((
                stored.id,
                Audit::new(
                    format!("resident:{}", stored.id),
                    json!({"municipality": municipality.to_string()}),
                ),
            ))
        })?;
        Ok(match recorded {
            Recorded::Done(id) | Recorded::Replayed(id) => id,
        })
    }

    /// Takes an application (交付申請); answers its id.
    pub fn apply(&self, actor: &Actor, key: &str, new: &NewApplication) -> Result<i64, AuthorityError> {
        let op = self.operation(actor, "application.take", key, new)?;
        if let Some(id) = self.replay(&op)? {
            return Ok(id);
        }
        if new.face_recognition && new.signature_wanted {
            return Err(AuthorityError::refused(
                "face_card_no_signature",
                "顔認証マイナンバーカードには署名用電子証明書を搭載できません / a face-recognition card carries no signature certificate",
            ));
        }
        let today = self.clock.today();
        let recorded = self.record(&op, |tx| {
            let r = resident(tx, new.resident_id)?;
            authorize(actor, r.municipality, "taking an application")?;
            if r.status != ResidentStatus::Resident {
                return Err(AuthorityError::refused(
                    "not_a_resident",
                    format!("the resident's record is {}", r.status.as_str()),
                ));
            }
            let in_use = registry::card_in_use(tx, r.id)?;
            match (new.kind, &in_use) {
                (ApplicationKind::New, Some(_)) => {
                    return Err(AuthorityError::refused(
                        "card_in_use",
                        "the resident already holds a card: apply for a renewal or a reissue",
                    ))
                }
                (ApplicationKind::Renewal, None) => {
                    return Err(AuthorityError::refused("no_card", "there is no card to renew"));
                }
                _ => {}
            }
            let pending = registry::list_applications(tx, r.id)?.into_iter().any(|a| {
                matches!(
                    a.status,
                    ApplicationStatus::Received | ApplicationStatus::InProduction | ApplicationStatus::Produced
                )
            });
            if pending {
                return Err(AuthorityError::refused(
                    "application_pending",
                    "an application of this resident is already being processed",
                ));
            }
            let stored = registry::insert_application(
                tx,
                &Application {
                    resident_id: r.id,
                    municipality: r.municipality,
                    kind: new.kind,
                    channel: new.channel,
                    received_on: today,
                    jlis_received_on: Some(new.jlis_received_on.unwrap_or(today)),
                    face_recognition: new.face_recognition,
                    signature_wanted: new.signature_wanted,
                    status: ApplicationStatus::Received,
                    reissue_cause: None,
                    photo_ref: None,
                },
            )?;
            Ok((
                stored.id,
                Audit::new(
                    format!("application:{}", stored.id),
                    json!({"resident": r.id, "kind": new.kind.as_str(), "face_recognition": new.face_recognition}),
                ),
            ))
        })?;
        Ok(match recorded {
            Recorded::Done(id) | Recorded::Replayed(id) => id,
        })
    }

    /// J-LIS produces the card of an application: keys on the card, the
    /// certificates the rules allow, the card's data; the holder's previous
    /// card certificates are superseded.
    pub fn produce(&self, actor: &Actor, key: &str, application_id: i64) -> Result<Produced, AuthorityError> {
        let op = self.operation(actor, "card.produce", key, &application_id)?;
        if let Some(done) = self.replay::<Produced>(&op)? {
            // What follows the commit may not have happened (a crash): again,
            // idempotently.
            self.cards.finish_production(&done.card_serial)?;
            self.push_statuses(&done.superseded)?;
            return Ok(done);
        }
        if !matches!(actor.role, Role::Producer | Role::System) {
            return Err(AuthorityError::Forbidden("cards are produced by J-LIS".into()));
        }
        let today = self.clock.today();
        // 1. Decide.
        let (application, r, municipality, previous) = self.db.read(|tx| {
            let application = registry::get_application(tx, application_id)?
                .ok_or_else(|| AuthorityError::NotFound(format!("application {application_id}")))?;
            let r = resident(tx, application.resident_id)?;
            let municipality = registry::get_municipality(tx, r.municipality)?
                .ok_or_else(|| AuthorityError::NotFound(format!("municipality {}", r.municipality)))?;
            let previous: Vec<CertificateRecord> = registry::list_certificates_for_resident(tx, r.id)?
                .into_iter()
                .filter(|c| c.status.is_valid() && !c.kind.is_smartphone())
                .collect();
            Ok::<_, AuthorityError>((application, r, municipality, previous))
        })?;
        if application.status != ApplicationStatus::Received {
            return Err(AuthorityError::refused(
                "application_not_open",
                format!("the application is {}", application.status.as_str()),
            ));
        }
        if r.status != ResidentStatus::Resident {
            return Err(AuthorityError::refused(
                "not_a_resident",
                format!("the resident's record is {}", r.status.as_str()),
            ));
        }
        let validity = card_validity(
            &CardIssuance {
                born: r.birth_date,
                issued: today,
                application_received: application.jlis_received_on,
                residence: residence(&r),
            },
            &self.policies,
        )?;
        let certificates = certificate_validity(
            &CertificateIssuance {
                born: r.birth_date,
                issued: today,
                card_expiry: validity.expiry,
                existing_auth_expiry: None,
                previous_expiry: None,
                adult_ward: r.adult_ward,
            },
            &self.policies,
        )?;
        let signature =
            application.signature_wanted && !application.face_recognition && certificates.sign_refusal.is_none();
        let holder = holder(&r, &municipality)?;
        let previous_expiry = |kind: CertKind| previous.iter().find(|c| c.kind == kind).map(|c| c.not_after);

        // 2. Effects: the card and its certificates.
        let serial = self.cards.new_serial()?;
        let card_serial = serial.to_string();
        let mut chip = self
            .cards
            .create_blank(&CardImage::blank(serial, self.producer.management_key(serial)))?;
        let order = CardOrder {
            my_number: r.my_number,
            basic_four: BasicFour {
                name: r.name.clone(),
                address: r.address.clone(),
                birth: r.birth_date,
                sex: match r.sex {
                    Sex::Male => CardSex::Male,
                    Sex::Female => CardSex::Female,
                },
            },
            expiry: validity.expiry,
            face_image: mynacard_card::production::placeholder_photo(&format!("resident {}", r.id)),
            signature,
            face_recognition: application.face_recognition,
            pins: DeliveryPins::default(),
        };
        let mut issued: Vec<(JpkiKey, Serial, NaiveDate)> = Vec::new();
        let now = op.at;
        let ca = &self.ca;
        let mut issue = |which: JpkiKey, spki: &[u8]| -> Result<IssuedCertificate, String> {
            let (profile, kind) = match which {
                JpkiKey::Auth => (Profile::UserAuthentication, CertKind::Auth),
                JpkiKey::Sign => (Profile::Signature, CertKind::Sign),
            };
            let cert = ca
                .issue(
                    &IssueRequest {
                        profile,
                        public_key_der: spki.to_vec(),
                        holder: holder.clone(),
                        issued: today,
                        not_after_cap: Some(validity.expiry),
                        previous_expiry: previous_expiry(kind),
                        adult_ward: r.adult_ward,
                        counter_code: "A01".into(),
                    },
                    now,
                )
                .map_err(|e| e.to_string())?;
            issued.push((which, cert.serial.clone(), cert.last_valid_day));
            let ca_certificate = ca.issuer_of(&cert.der).map_err(|e| e.to_string())?.root_der.clone();
            Ok(IssuedCertificate {
                certificate: cert.der,
                ca_certificate,
            })
        };
        let produced = self.producer.personalise(&mut chip, &order, &mut issue);
        drop(chip);
        let compensate = |issued: &[(JpkiKey, Serial, NaiveDate)]| {
            for (_, serial, _) in issued {
                let _ = self
                    .ca
                    .revoke(serial, CrlReason::CessationOfOperation, self.clock.now());
            }
            self.cards.discard_production(&card_serial);
        };
        if let Err(e) = produced {
            compensate(&issued);
            return Err(AuthorityError::Card(format!("production failed: {e}")));
        }
        let find = |which: JpkiKey| {
            issued
                .iter()
                .find(|(w, _, _)| *w == which)
                .map(|(_, s, d)| (s.to_hex(), *d))
        };
        let Some(auth) = find(JpkiKey::Auth) else {
            compensate(&issued);
            return Err(AuthorityError::Card("production made no auth certificate".into()));
        };
        let report = Produced {
            card_serial: card_serial.clone(),
            expires_on: validity.expiry,
            auth_certificate: auth,
            sign_certificate: find(JpkiKey::Sign),
            superseded: previous.iter().map(|c| c.serial.clone()).collect(),
        };

        // 3. Record.
        let recorded = self.record(&op, |tx| {
            let mut app = registry::get_application(tx, application_id)?
                .ok_or_else(|| AuthorityError::NotFound(format!("application {application_id}")))?;
            if app.status != ApplicationStatus::Received {
                return Err(AuthorityError::refused(
                    "application_not_open",
                    format!("the application is {}", app.status.as_str()),
                ));
            }
            if resident(tx, r.id)?.status != ResidentStatus::Resident {
                return Err(AuthorityError::refused(
                    "not_a_resident",
                    "the resident's record changed meanwhile",
                ));
            }
            app.record.status = ApplicationStatus::Produced;
            registry::update_application(tx, &app)?;
            for old in &previous {
                if !registry::set_certificate_status(
                    tx,
                    &old.serial,
                    old.status,
                    CertificateStatus::Revoked,
                    now,
                    Some(CrlReason::Superseded),
                )? {
                    return Err(AuthorityError::refused(
                        "state_changed",
                        "the holder's certificates changed meanwhile; try again",
                    ));
                }
            }
            registry::insert_card(
                tx,
                &registry::Card {
                    serial: card_serial.clone(),
                    resident_id: r.id,
                    application_id: Some(application_id),
                    status: CardStatus::Produced,
                    face_recognition: application.face_recognition,
                    issued_on: today,
                    expires_on: validity.expiry,
                    delivered_on: None,
                    lapsed_on: None,
                    lapse_reason: None,
                    image_location: Some(self.cards.path(&card_serial).display().to_string()),
                    status_changed_at: now,
                },
            )?;
            for (which, serial, last_day) in &issued {
                registry::insert_certificate(
                    tx,
                    &CertificateRecord {
                        serial: serial.to_hex(),
                        card_serial: Some(card_serial.clone()),
                        resident_id: r.id,
                        kind: match which {
                            JpkiKey::Auth => CertKind::Auth,
                            JpkiKey::Sign => CertKind::Sign,
                        },
                        platform: None,
                        status: CertificateStatus::Good,
                        issued_on: today,
                        not_after: *last_day,
                        revoked_at: None,
                        reason: None,
                    },
                )?;
            }
            Ok((
                report.clone(),
                Audit::new(
                    format!("card:{card_serial}"),
                    json!({
                        "application": application_id,
                        "resident": r.id,
                        "expires_on": validity.expiry,
                        "certificates": issued.iter().map(|(_, s, _)| s.to_hex()).collect::<Vec<_>>(),
                        "superseded": report.superseded,
                    }),
                ),
            ))
        });
        match recorded {
            Ok(Recorded::Done(report)) => {
                self.after_record()?;
                self.cards.finish_production(&card_serial)?;
                self.push_statuses(&report.superseded)?;
                Ok(report)
            }
            Ok(Recorded::Replayed(earlier)) => {
                compensate(&issued);
                Ok(earlier)
            }
            Err(e) => {
                compensate(&issued);
                Err(e)
            }
        }
    }

    /// Delivers a produced card at the window (交付): the holder sets the
    /// PINs on the PIN pad (a face-recognition card has none); the card
    /// becomes the holder's, and the card it replaces is returned.
    pub fn deliver(
        &self,
        actor: &Actor,
        key: &str,
        card_serial: &str,
        pins: &PinPad,
    ) -> Result<Delivered, AuthorityError> {
        // The PINs are not part of the hashed request (see PinPad).
        let op = self.operation(actor, "card.deliver", key, &card_serial)?;
        if let Some(done) = self.replay(&op)? {
            return Ok(done);
        }
        let (card, r) = self.db.read(|tx| {
            let card = registry::get_card(tx, card_serial)?
                .ok_or_else(|| AuthorityError::NotFound(format!("card {card_serial}")))?;
            let r = resident(tx, card.resident_id)?;
            Ok::<_, AuthorityError>((card, r))
        })?;
        authorize(actor, r.municipality, "delivering a card")?;
        if r.status != ResidentStatus::Resident {
            return Err(AuthorityError::refused(
                "not_a_resident",
                format!("the resident's record is {}", r.status.as_str()),
            ));
        }
        if card.status != CardStatus::Produced {
            return Err(AuthorityError::refused(
                "card_not_produced",
                format!("the card is {}", card.status.as_str()),
            ));
        }
        let today = self.clock.today();
        if today > card.expires_on {
            return Err(AuthorityError::refused(
                "card_expired",
                "the card expired before delivery",
            ));
        }
        // 2. Effects: the PINs, through the card's management key.
        if !card.face_recognition {
            let has_sign = self
                .db
                .read(|tx| registry::list_certificates_for_card(tx, card_serial))?
                .iter()
                .any(|c| c.kind == CertKind::Sign);
            let mut chosen: Vec<(PinKind, &str, &Zeroizing<String>)> = Vec::new();
            let required = [
                (PinKind::UserAuthentication, "auth", &pins.auth, true),
                (PinKind::Signature, "sign", &pins.sign, has_sign),
                (PinKind::InputSupport, "input_support", &pins.input_support, true),
                (PinKind::ResidentRegistry, "registry", &pins.registry, true),
            ];
            for (kind, name, value, needed) in required {
                match (value, needed) {
                    (Some(v), true) => {
                        kind.check_format(v)
                            .map_err(|e| AuthorityError::BadRequest(format!("{name} PIN: {e}")))?;
                        chosen.push((kind, name, v));
                    }
                    (None, true) => return Err(AuthorityError::BadRequest(format!("the {name} PIN is needed"))),
                    (_, false) => {}
                }
            }
            self.set_pins(card_serial, &chosen)?;
        }
        // 3. Record.
        let mut superseded: Vec<String> = Vec::new();
        let recorded = self.record(&op, |tx| {
            if resident(tx, r.id)?.status != ResidentStatus::Resident {
                return Err(AuthorityError::refused(
                    "not_a_resident",
                    "the resident's record changed meanwhile",
                ));
            }
            superseded.clear();
            let previous = registry::card_in_use(tx, r.id)?;
            if let Some(old) = &previous {
                registry::set_card_status(tx, &old.serial, old.status, CardStatus::Returned, op.at)?;
                // The returned card's certificates go with it (a certificate
                // made on it after the new card's production, say).
                for c in registry::list_certificates_for_card(tx, &old.serial)? {
                    if c.status.is_valid()
                        && registry::set_certificate_status(
                            tx,
                            &c.serial,
                            c.status,
                            CertificateStatus::Revoked,
                            op.at,
                            Some(CrlReason::Superseded),
                        )?
                    {
                        superseded.push(c.serial);
                    }
                }
            }
            let mut card = registry::get_card(tx, card_serial)?
                .ok_or_else(|| AuthorityError::NotFound(format!("card {card_serial}")))?;
            if card.status != CardStatus::Produced {
                return Err(AuthorityError::refused(
                    "card_not_produced",
                    format!("the card is {}", card.status.as_str()),
                ));
            }
            card.status = CardStatus::Active;
            card.delivered_on = Some(today);
            card.status_changed_at = op.at;
            registry::update_card(tx, &card)?;
            if let Some(id) = card.application_id {
                if let Some(mut app) = registry::get_application(tx, id)? {
                    app.record.status = ApplicationStatus::Delivered;
                    registry::update_application(tx, &app)?;
                }
            }
            let delivered = Delivered {
                card_serial: card_serial.to_owned(),
                delivered_on: today,
                returned: previous.map(|c| c.serial),
            };
            Ok((
                delivered.clone(),
                Audit::new(
                    format!("card:{card_serial}"),
                    json!({"resident": r.id, "returned": delivered.returned}),
                ),
            ))
        })?;
        if matches!(recorded, Recorded::Done(_)) {
            self.after_record()?;
            self.push_statuses(&superseded)?;
        }
        Ok(match recorded {
            Recorded::Done(d) | Recorded::Replayed(d) => d,
        })
    }

    /// Sets PINs on a card through its management key (delivery, the
    /// window's reset 初期化).
    pub(crate) fn set_pins(
        &self,
        card_serial: &str,
        pins: &[(PinKind, &str, &Zeroizing<String>)],
    ) -> Result<(), AuthorityError> {
        use mynacard_card::layout::{input_support, jpki, resident_registry, Application};
        let mut chip = self.cards.open_card(card_serial)?;
        chip.power_on();
        let mut session = self
            .producer
            .open_session(&mut chip)
            .map_err(|e| AuthorityError::Card(e.to_string()))?;
        for (kind, _, value) in pins {
            let (app, fid) = match kind {
                PinKind::UserAuthentication => (Application::Jpki, jpki::AUTH_PIN),
                PinKind::Signature => (Application::Jpki, jpki::SIGN_PIN),
                PinKind::InputSupport => (Application::InputSupport, input_support::PIN),
                PinKind::ResidentRegistry => (Application::ResidentRegistry, resident_registry::PIN),
            };
            session
                .set_pin(&mut chip, app, fid, value.as_bytes())
                .map_err(|e| AuthorityError::Card(e.to_string()))?;
        }
        Ok(())
    }

    /// Applies the registry's statuses of `serials` to the CA (after a
    /// commit; [`Authority::reconcile`] repeats what a crash interrupted).
    pub(crate) fn push_statuses(&self, serials: &[String]) -> Result<(), AuthorityError> {
        if serials.is_empty() {
            return Ok(());
        }
        let records = self.db.read(|tx| {
            serials
                .iter()
                .map(|s| registry::get_certificate(tx, s).map_err(AuthorityError::from))
                .collect::<Result<Vec<_>, _>>()
        })?;
        for record in records.into_iter().flatten() {
            self.push_status(&record)?;
        }
        Ok(())
    }
}

/// The registry's stored application type, for callers.
pub type StoredApplication = Stored<Application>;
