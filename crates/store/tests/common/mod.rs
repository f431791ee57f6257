//! The test suite runs once per backend: each test is a function over a
//! [`Fixture`], instantiated for SQLite (a temporary file) and PostgreSQL
//! (a fresh schema of the `test` database, dropped at the end) by
//! [`both_backends!`].
//!
//! PostgreSQL is expected at `postgresql://postgres@127.0.0.1:5432/test`
//! (trust authentication), or at `MYNACARD_TEST_POSTGRES`. If it cannot be
//! reached, the PostgreSQL tests fail and say so.

#![allow(dead_code)]

use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use mynacard_rules::card::Residence;
use mynacard_rules::numbers::{MunicipalityCode, MyNumber};
use mynacard_store::registry::{self, Municipality, Resident, ResidentStatus, Sex, StoredResident};
use mynacard_store::Database;

/// The default PostgreSQL address of the tests.
pub const DEFAULT_POSTGRES: &str = "postgresql://postgres@127.0.0.1:5432/test";

/// The PostgreSQL server of the tests (without a schema).
pub fn postgres_base() -> String {
    std::env::var("MYNACARD_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_POSTGRES.to_owned())
}

/// Opens a PostgreSQL address, or fails the test saying what is missing.
pub fn open_postgres(url: &str) -> Database {
    match Database::open(url) {
        Ok(db) => db,
        Err(e) => panic!(
            "PostgreSQL is not reachable ({e}). The PostgreSQL tests need a server at {} with trust \
             authentication and a database `test` (or set MYNACARD_TEST_POSTGRES); start the local one with \
             `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`",
            postgres_base()
        ),
    }
}

/// A migrated database for one test, removed when dropped.
pub struct Fixture {
    /// The database.
    pub db: Database,
    /// Its address (to open a second connection).
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(PathBuf),
    Postgres { base: String, schema: String },
}

fn unique(name: &str) -> String {
    let mut noise = [0u8; 4];
    aws_lc_rs::rand::fill(&mut noise).expect("random bytes");
    let noise: String = noise.iter().map(|b| format!("{b:02x}")).collect();
    format!("{name}_{}_{noise}", std::process::id())
}

impl Fixture {
    /// A fresh SQLite file.
    pub fn sqlite(name: &str) -> Fixture {
        let path = std::env::temp_dir().join(format!("mynacard-store-{}.db", unique(name)));
        let url = format!("sqlite:{}", path.display());
        let db = Database::open(&url).expect("open SQLite");
        db.migrate().expect("migrate SQLite");
        Fixture {
            db,
            url,
            cleanup: Cleanup::Sqlite(path),
        }
    }

    /// A fresh schema on the test PostgreSQL.
    pub fn postgres(name: &str) -> Fixture {
        let base = postgres_base();
        let mut schema = format!("t_{}", unique(name)).to_ascii_lowercase();
        if schema.len() > 63 {
            schema = format!("t_{}", unique(&name[..name.len().min(30)]));
        }
        let url = format!("{base}?schema={schema}");
        let db = open_postgres(&url);
        db.migrate().expect("migrate PostgreSQL");
        Fixture {
            db,
            url,
            cleanup: Cleanup::Postgres { base, schema },
        }
    }

    /// A second connection to the same database.
    pub fn open_again(&self) -> Database {
        Database::open(&self.url).expect("open again")
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Sqlite(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut file = path.clone().into_os_string();
                    file.push(suffix);
                    let _ = std::fs::remove_file(file);
                }
            }
            Cleanup::Postgres { base, schema } => {
                if let Ok(mut client) = postgres::Client::connect(base, postgres::NoTls) {
                    let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"));
                }
            }
        }
    }
}

/// Instantiates each named test function (`fn name(f: &Fixture)`) on both
/// backends: `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    let fixture = $crate::common::Fixture::sqlite(stringify!($name));
                    super::$name(&fixture);
                }
            )+
        }
        mod postgres {
            $(
                #[test]
                fn $name() {
                    let fixture = $crate::common::Fixture::postgres(stringify!($name));
                    super::$name(&fixture);
                }
            )+
        }
    };
}

/// A date.
pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a date")
}

/// An instant (with sub-microsecond noise the store must cut off).
pub fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).single().expect("an instant") + chrono::Duration::nanoseconds(123_456_789)
}

/// 千代田区.
pub fn chiyoda() -> Municipality {
    Municipality {
        code: MunicipalityCode::parse("131016").expect("code"),
        name_ja: "千代田区".into(),
        name_en: "Chiyoda".into(),
        settings: serde_json::json!({"kiosk": {"documents": {"residence_record": 200, "seal_certificate": 200}}}),
    }
}

/// 札幌市.
pub fn sapporo() -> Municipality {
    Municipality {
        code: MunicipalityCode::parse("011002").expect("code"),
        name_ja: "札幌市".into(),
        name_en: "Sapporo".into(),
        settings: serde_json::json!({}),
    }
}

/// A Japanese resident of Chiyoda with My Number base `n`.
pub fn resident(n: u64) -> Resident {
    Resident {
        municipality: chiyoda().code,
        my_number: MyNumber::complete(&format!("{n:011}")).expect("my number"),
        name: format!("山田 太郎{n}"),
        name_kana: "ヤマダ タロウ".into(),
        address: "東京都千代田区千代田1-1".into(),
        birth_date: date(1990, 6, 15),
        sex: Sex::Male,
        nationality: "JP".into(),
        residence: Residence::Japanese,
        status: ResidentStatus::Resident,
        status_changed_on: None,
        seal_registered: true,
        honseki: Some("東京都千代田区千代田1番".into()),
        household_id: Some(format!("H{n}")),
        support_measure: false,
        adult_ward: false,
        moved_in_on: Some(date(2015, 4, 1)),
        move_in_notified_on: Some(date(2015, 4, 3)),
        planned_move_out_on: None,
        moved_out_on: None,
    }
}

/// Chiyoda and one resident in it.
pub fn seed(db: &Database) -> StoredResident {
    db.transaction(|tx| {
        registry::insert_municipality(tx, &chiyoda())?;
        registry::insert_resident(tx, &resident(12345678901), at(2026, 4, 1, 0, 0))
    })
    .expect("seed")
}
