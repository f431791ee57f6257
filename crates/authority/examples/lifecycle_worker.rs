//! One authority operation in a process of its own, for the SIGKILL tests
//! of `tests/faults.rs` (and for poking at a data directory by hand).
//!
//! ```text
//! lifecycle_worker setup   --data DIR --today DATE            → application id
//! lifecycle_worker produce --data DIR --today DATE --application N --key K
//! lifecycle_worker check   --data DIR --today DATE --resident N
//!     reconciles (no grace) and prints what the registry, the CA and the card store hold
//! ```
//! Every mode prints one JSON object on stdout.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{NaiveDate, TimeDelta};
use mynacard_authority::issuance::{NewApplication, NewResident};
use mynacard_authority::{Actor, Authority, AuthorityConfig, Clock, FixedClock};
use mynacard_rules::numbers::MunicipalityCode;
use mynacard_store::registry::{self, ApplicationChannel, ApplicationKind, Municipality};
use serde_json::json;

type Error = Box<dyn std::error::Error>;

fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_default();
    let (mut data, mut today, mut application, mut key, mut resident) = (None, None, None, None, None);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--data" => data = Some(PathBuf::from(value)),
            "--today" => today = Some(NaiveDate::parse_from_str(&value, "%Y-%m-%d")?),
            "--application" => application = Some(value.parse::<i64>()?),
            "--key" => key = Some(value),
            "--resident" => resident = Some(value.parse::<i64>()?),
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    let data = data.ok_or("--data DIR")?;
    let today = today.ok_or("--today DATE")?;
    let clock = Arc::new(FixedClock::on(today));
    let authority = Authority::open(&AuthorityConfig::new(&data), clock.clone())?;
    let chiyoda = MunicipalityCode::parse("131016")?;
    let clerk = Actor::window("staff:chiyoda-01", chiyoda);
    match mode.as_str() {
        "setup" => {
            authority.add_municipality(
                &Actor::system("setup"),
                "municipality-131016",
                &Municipality {
                    code: chiyoda,
                    name_ja: "千代田区".into(),
                    name_en: "Chiyoda-ku".into(),
                    settings: json!({}),
                },
            )?;
            let resident = authority.register_resident(
                &clerk,
                "resident-1",
                &NewResident {
                    municipality: "131016".into(),
                    my_number: "123456789018".into(),
                    name: "番号　花子".into(),
                    name_kana: "バンゴウ　ハナコ".into(),
                    address: "東京都千代田区霞が関２－１－２".into(),
                    birth_date: NaiveDate::from_ymd_opt(1985, 4, 1).ok_or("date")?,
                    sex: "female".into(),
                    nationality: "JP".into(),
                    stay_until: None,
                    permanent_resident: false,
                    seal_registered: false,
                    honseki: Some("東京都千代田区千代田１番".into()),
                    household_id: None,
                    adult_ward: false,
                },
            )?;
            let application = authority.apply(
                &clerk,
                "application-1",
                &NewApplication {
                    resident_id: resident,
                    kind: ApplicationKind::New,
                    channel: ApplicationChannel::Window,
                    face_recognition: false,
                    signature_wanted: true,
                    jlis_received_on: None,
                },
            )?;
            println!("{}", json!({"resident": resident, "application": application}));
        }
        "produce" => {
            let produced = authority.produce(
                &Actor::producer(),
                &key.ok_or("--key K")?,
                application.ok_or("--application N")?,
            )?;
            println!("{}", serde_json::to_string(&produced)?);
        }
        "check" => {
            // Later than any issuance of the run, with no grace: every
            // leftover is old enough to go.
            clock.advance(TimeDelta::minutes(1));
            authority.set_reconcile_grace(TimeDelta::zero());
            let reconciled = authority.reconcile()?;
            let resident = resident.ok_or("--resident N")?;
            let (cards, certificates) = authority.db().read(|tx| {
                Ok::<_, mynacard_store::StoreError>((
                    registry::list_cards_for_resident(tx, resident)?,
                    registry::list_certificates_for_resident(tx, resident)?,
                ))
            })?;
            let ca_good: Vec<String> = authority
                .ca()
                .repository()
                .good_issued_between(clock.now() - TimeDelta::days(1), clock.now())?
                .iter()
                .map(|r| r.serial.to_hex())
                .collect();
            let registry_good: Vec<String> = certificates
                .iter()
                .filter(|c| c.status.is_valid())
                .map(|c| c.serial.clone())
                .collect();
            let images: Vec<String> = cards
                .iter()
                .filter(|c| authority.cards().path(&c.serial).exists())
                .map(|c| c.serial.clone())
                .collect();
            let intact = mynacard_store::audit::verify(authority.db())?.is_intact();
            println!(
                "{}",
                json!({
                    "cards": cards.iter().map(|c| c.serial.clone()).collect::<Vec<_>>(),
                    "registry_good": registry_good,
                    "ca_good": ca_good,
                    "images": images,
                    "producing": authority.cards().producing(),
                    "reconciled": reconciled,
                    "audit_intact": intact,
                })
            );
        }
        _ => return Err("usage: lifecycle_worker setup|produce|check --data DIR --today DATE …".into()),
    }
    Ok(())
}
