//! A whole system for one test: a data directory (CA, producer, cards) and a
//! registry on SQLite or on the test PostgreSQL (its own schema), at a fixed
//! date. Removed when dropped.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{NaiveDate, TimeDelta};
use mynacard_authority::issuance::{NewApplication, NewResident, PinPad};
use mynacard_authority::{Actor, Authority, AuthorityConfig, FixedClock};
use mynacard_card::{Card, FileStorage};
use mynacard_reader::{JpkiClient, VirtualReader};
use mynacard_rules::numbers::MunicipalityCode;
use mynacard_store::registry::{ApplicationChannel, ApplicationKind, Municipality};
use mynacard_store::Database;
use zeroize::Zeroizing;

pub const POSTGRES: &str = "postgresql://postgres@127.0.0.1:5432/test";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct World {
    pub authority: Authority,
    pub clock: Arc<FixedClock>,
    pub dir: PathBuf,
    schema: Option<String>,
    next_key: std::cell::Cell<u64>,
}

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

fn unique(name: &str) -> String {
    let name = name.replace(|c: char| !c.is_ascii_alphanumeric(), "_");
    let mut noise = [0u8; 4];
    aws_lc_rs::rand::fill(&mut noise).expect("random");
    format!(
        "{name}_{}_{}",
        std::process::id(),
        noise.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

pub const CHIYODA: &str = "131016";
pub const SAPPORO: &str = "011002";

impl World {
    pub fn new(backend: Backend, name: &str, today: NaiveDate) -> World {
        let dir = std::env::temp_dir().join(format!("mynacard-authority-{}", unique(name)));
        let clock = Arc::new(FixedClock::on(today));
        let mut config = AuthorityConfig::new(&dir);
        let schema = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => {
                let schema = format!("a_{}", unique(name)).to_ascii_lowercase();
                let base = std::env::var("MYNACARD_TEST_POSTGRES").unwrap_or_else(|_| POSTGRES.to_owned());
                config.database = Some(format!("{base}?schema={schema}"));
                Some(schema)
            }
        };
        let authority = Authority::open(&config, clock.clone()).unwrap_or_else(|e| {
            panic!(
                "the system does not open ({e}); PostgreSQL tests need the server at {POSTGRES} \
                 (pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start)"
            )
        });
        let world = World {
            authority,
            clock,
            dir,
            schema,
            next_key: std::cell::Cell::new(0),
        };
        for (code, ja, en) in [(CHIYODA, "千代田区", "Chiyoda-ku"), (SAPPORO, "札幌市", "Sapporo-shi")] {
            world
                .authority
                .add_municipality(
                    &Actor::system("setup"),
                    &format!("municipality-{code}"),
                    &Municipality {
                        code: MunicipalityCode::parse(code).expect("code"),
                        name_ja: ja.into(),
                        name_en: en.into(),
                        settings: serde_json::json!({}),
                    },
                )
                .expect("municipality");
        }
        world
    }

    /// A fresh idempotency key.
    pub fn key(&self) -> String {
        let n = self.next_key.get() + 1;
        self.next_key.set(n);
        format!("key-{n}")
    }

    pub fn clerk(&self, municipality: &str) -> Actor {
        Actor::window(
            format!("staff:{municipality}-01"),
            MunicipalityCode::parse(municipality).expect("code"),
        )
    }

    pub fn db(&self) -> &Database {
        self.authority.db()
    }

    pub fn set_today(&self, day: NaiveDate) {
        self.clock.set_day(day);
    }

    pub fn advance_days(&self, days: i64) {
        self.clock.advance(TimeDelta::days(days));
    }

    /// Registers a Japanese resident of Chiyoda.
    pub fn resident(&self, my_number: &str, name: &str, born: NaiveDate) -> i64 {
        self.authority
            .register_resident(
                &self.clerk(CHIYODA),
                &self.key(),
                &NewResident {
                    municipality: CHIYODA.into(),
                    my_number: my_number.into(),
                    name: name.into(),
                    name_kana: "バンゴウ　ハナコ".into(),
                    address: "東京都千代田区霞が関２－１－２".into(),
                    birth_date: born,
                    sex: "female".into(),
                    nationality: "JP".into(),
                    stay_until: None,
                    permanent_resident: false,
                    seal_registered: true,
                    honseki: Some("東京都千代田区千代田１番".into()),
                    household_id: None,
                    adult_ward: false,
                },
            )
            .expect("register")
    }

    /// Application → production → delivery with PINs 1234 / ABC123 / 5678 / 2468.
    pub fn issue_card(&self, resident_id: i64, kind: ApplicationKind) -> String {
        let application = self
            .authority
            .apply(
                &self.clerk(CHIYODA),
                &self.key(),
                &NewApplication {
                    resident_id,
                    kind,
                    channel: ApplicationChannel::Window,
                    face_recognition: false,
                    signature_wanted: true,
                    jlis_received_on: None,
                },
            )
            .expect("apply");
        let produced = self
            .authority
            .produce(&Actor::producer(), &self.key(), application)
            .expect("produce");
        self.authority
            .deliver(&self.clerk(CHIYODA), &self.key(), &produced.card_serial, &pins())
            .expect("deliver");
        produced.card_serial
    }

    /// The card in an in-process reader (the holder's hands).
    pub fn card(&self, serial: &str) -> VirtualReader<FileStorage> {
        let card: Card<FileStorage> = self.authority.cards().open_card(serial).expect("card");
        VirtualReader::new(serial, card)
    }

    /// The auth PIN's tries left on the card.
    pub fn auth_tries(&self, serial: &str) -> u8 {
        let mut reader = self.card(serial);
        let mut client = JpkiClient::new(&mut reader);
        client
            .pin_status(mynacard_reader::PinRef::Auth)
            .expect("status")
            .remaining
    }
}

pub fn pins() -> PinPad {
    PinPad {
        auth: Some(Zeroizing::new("1234".into())),
        sign: Some(Zeroizing::new("ABC123".into())),
        input_support: Some(Zeroizing::new("5678".into())),
        registry: Some(Zeroizing::new("2468".into())),
    }
}

impl Drop for World {
    fn drop(&mut self) {
        if let Some(schema) = &self.schema {
            let _ = self
                .authority
                .db()
                .transaction(|tx| tx.execute_batch(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")));
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs `scenario` on SQLite and on PostgreSQL.
pub fn on_both(name: &str, today: NaiveDate, scenario: impl Fn(&World)) {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let world = World::new(backend, name, today);
        scenario(&world);
    }
}

/// The CA's status of a certificate (hex serial) it has issued.
pub fn ca_status(w: &World, serial_hex: &str) -> mynacard_pki::status::CertStatus {
    w.authority
        .ca()
        .repository()
        .certificate(&mynacard_pki::Serial::from_hex(serial_hex).expect("serial"))
        .expect("CA")
        .expect("known to the CA")
        .status
}

/// The audit chain verifies.
pub fn assert_audit_intact(w: &World) {
    let report = mynacard_store::audit::verify(w.db()).expect("verify");
    assert!(report.is_intact(), "{report:?}");
}
