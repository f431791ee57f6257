//! The lifecycle authority's figures for bench/lifecycle.sh (issue 5): the
//! nightly batch over a large registry against a plain full scan of the
//! same tables, and issuance against the key-generation floor. Every mode
//! prints one JSON object on stdout (details on stderr).
//!
//! ```text
//! lifecycle_bench load   --database URL --cards N [--expiring-fraction F] [--first-expiry DATE]
//!     bulk-loads N residents, N cards in use and 2N certificates (auth, sign)
//! lifecycle_bench floor  --database URL
//!     the floor: every row of cards and certificates read once (a count with
//!     a predicate no index answers), in one read transaction
//! lifecycle_bench batch  --database URL --date D [--page-size P] [--data DIR]
//!     Authority::run_daily_batch_with for D, timed, with a breakdown per step
//! lifecycle_bench issue  --data DIR [--database URL] --seconds S
//!     register → apply → produce (2 keys on the card, 2 certificates) → deliver (PINs), in a loop
//! lifecycle_bench keygen --seconds S
//!     RSA-2048 key pairs the way the card makes them (AwsLcKeyGenerator)
//! ```
//!
//! ## The registry `load` makes
//!
//! Card expiries are spread evenly over `round(1 / F)` days from
//! `--first-expiry` (default 2031-07-01), so a fraction F of the cards (and
//! of the certificates, which expire with their card) expires on each day;
//! the day a card expires is scattered over the serials (a hash of the
//! resident's number), not in insertion order. 1 resident in 50 is a
//! foreign resident whose card is bounded by the period of stay (no
//! renewal notice; the card lapses when the stay ends), 1 in 100 a
//! permanent resident, the rest Japanese nationals; nobody moved after
//! the card was issued.
//!
//! **This is a bench tool, and `load` and `floor` write SQL of their own**
//! through `Tx` (the product keeps SQL in the store): `load` inserts
//! hundreds of rows per statement and tens of thousands per transaction,
//! where the store's functions insert one row per statement, which on
//! PostgreSQL means one round trip per row; `floor` is a plain scan that
//! the store has no function for. The rows are those the store's own
//! insert functions would write (same columns, same value types), so the
//! batch reads them with the store's queries like any others.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use chrono::{Months, NaiveDate, TimeDelta, Utc};
use mynacard_authority::batch::{BatchOptions, BatchStep, StepOutcome, DEFAULT_PAGE_SIZE};
use mynacard_authority::issuance::{NewApplication, NewResident, PinPad};
use mynacard_authority::{Actor, Authority, AuthorityConfig, FixedClock};
use mynacard_card::crypto::{AwsLcKeyGenerator, KeyGenerator};
use mynacard_rules::numbers::{MunicipalityCode, MyNumber};
use mynacard_store::registry::{self, ApplicationChannel, ApplicationKind, Municipality};
use mynacard_store::{Backend, Database, StoreError, Tx, Value};
use serde_json::json;
use zeroize::Zeroizing;

type Error = Box<dyn std::error::Error>;

const CHIYODA: &str = "131016";
/// The bulk-loaded residents' My Numbers are this plus 0, 1, 2, … (11-digit bases).
const LOAD_BASE: u64 = 20_000_000_000;
/// The issuance loop's residents'.
const ISSUE_BASE: u64 = 30_000_000_000;
/// Residents (with their card and certificates) per load transaction.
const LOAD_CHUNK: u64 = 20_000;
/// Rows per INSERT statement (at most 23 × 200 parameters: well under
/// SQLite's 32,766 and PostgreSQL's 65,535).
const ROWS_PER_STATEMENT: u64 = 200;

struct Options {
    database: Option<String>,
    data: Option<PathBuf>,
    cards: u64,
    expiring_fraction: f64,
    first_expiry: NaiveDate,
    date: Option<NaiveDate>,
    page_size: u32,
    seconds: f64,
}

fn date(y: i32, m: u32, d: u32) -> Result<NaiveDate, Error> {
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| format!("no date {y}-{m}-{d}").into())
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, Error> {
    let mut o = Options {
        database: None,
        data: None,
        cards: 100_000,
        expiring_fraction: 1.0 / 365.0,
        first_expiry: date(2031, 7, 1)?,
        date: None,
        page_size: DEFAULT_PAGE_SIZE,
        seconds: 10.0,
    };
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--database" => o.database = Some(value()?),
            "--data" => o.data = Some(PathBuf::from(value()?)),
            "--cards" => o.cards = value()?.parse()?,
            "--expiring-fraction" => o.expiring_fraction = value()?.parse()?,
            "--first-expiry" => o.first_expiry = NaiveDate::parse_from_str(&value()?, "%Y-%m-%d")?,
            "--date" => o.date = Some(NaiveDate::parse_from_str(&value()?, "%Y-%m-%d")?),
            "--page-size" => o.page_size = value()?.parse()?,
            "--seconds" => o.seconds = value()?.parse()?,
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    if !(o.expiring_fraction > 0.0 && o.expiring_fraction <= 1.0) {
        return Err("--expiring-fraction is in (0, 1]".into());
    }
    Ok(o)
}

fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_default();
    let o = parse(args)?;
    let out = match mode.as_str() {
        "load" => load(&o)?,
        "floor" => floor(&o)?,
        "batch" => batch(&o)?,
        "issue" => issue(&o)?,
        "keygen" => keygen(&o)?,
        _ => return Err("usage: lifecycle_bench load|floor|batch|issue|keygen … (see the source's header)".into()),
    };
    println!("{out}");
    Ok(())
}

fn database(o: &Options) -> Result<Database, Error> {
    let url = o.database.as_deref().ok_or("--database URL")?;
    let db = Database::open(url)?;
    db.migrate()?;
    Ok(db)
}

fn backend_name(db: &Database) -> &'static str {
    match db.backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

/// A well-mixed 64-bit hash (splitmix64's finaliser): which day a card
/// expires, scattered over the serials.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// `INSERT INTO table (columns) VALUES (?1, …), (…) …` for `rows` rows.
fn insert_sql(table: &str, columns: &[&str], rows: usize, returning: &str) -> String {
    let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
    let mut n = 0;
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..columns.len() {
            if c > 0 {
                sql.push_str(", ");
            }
            n += 1;
            sql.push_str(&format!("?{n}"));
        }
        sql.push(')');
    }
    sql.push_str(returning);
    sql
}

const RESIDENT_COLUMNS: [&str; 23] = [
    "created_at",
    "updated_at",
    "municipality_code",
    "my_number",
    "name",
    "name_kana",
    "address",
    "birth_date",
    "sex",
    "nationality",
    "residence_kind",
    "stay_until",
    "status",
    "status_changed_on",
    "seal_registered",
    "honseki",
    "household_id",
    "support_measure",
    "adult_ward",
    "moved_in_on",
    "move_in_notified_on",
    "planned_move_out_on",
    "moved_out_on",
];

const CARD_COLUMNS: [&str; 12] = [
    "serial",
    "resident_id",
    "application_id",
    "status",
    "face_recognition",
    "issued_on",
    "expires_on",
    "delivered_on",
    "lapsed_on",
    "lapse_reason",
    "image_location",
    "status_changed_at",
];

const CERTIFICATE_COLUMNS: [&str; 10] = [
    "serial",
    "card_serial",
    "resident_id",
    "kind",
    "platform",
    "status",
    "issued_on",
    "not_after",
    "revoked_at",
    "reason",
];

/// What `load` writes for the resident number `k`.
struct Planned {
    my_number: String,
    expires_on: NaiveDate,
    /// 0: Japanese national, 1: foreign with a period of stay, 2: permanent resident.
    residence: u8,
    birth_date: NaiveDate,
}

fn plan(k: u64, first_expiry: NaiveDate, span_days: u64) -> Result<Planned, Error> {
    let my_number = MyNumber::complete(&format!("{:011}", LOAD_BASE + k))?.expose();
    let expires_on = first_expiry + TimeDelta::days(i64::try_from(mix(k) % span_days)?);
    let residence = match k % 100 {
        7 | 57 => 1,
        13 => 2,
        _ => 0,
    };
    let birth_date = date(1940, 1, 1)? + TimeDelta::days(i64::try_from(mix(k ^ 0xB17D) % 23_000)?);
    Ok(Planned {
        my_number,
        expires_on,
        residence,
        birth_date,
    })
}

fn resident_values(p: &Planned, now: chrono::DateTime<Utc>) -> Result<Vec<Value>, Error> {
    let japanese = p.residence == 0;
    let moved_in = date(2010, 4, 1)?;
    Ok(vec![
        Value::Timestamp(now),
        Value::Timestamp(now),
        Value::from(CHIYODA),
        Value::Text(p.my_number.clone()),
        Value::from(if japanese { "番号　花子" } else { "SMITH JANE" }),
        Value::from(if japanese {
            "バンゴウ　ハナコ"
        } else {
            "スミス　ジェーン"
        }),
        Value::from("東京都千代田区霞が関２－１－２"),
        Value::Date(p.birth_date),
        Value::from(if p.birth_date.to_string().ends_with(['1', '3', '5', '7', '9']) {
            "male"
        } else {
            "female"
        }),
        Value::from(if japanese { "JP" } else { "US" }),
        Value::from(match p.residence {
            0 => "japanese",
            1 => "foreign_with_stay",
            _ => "foreign_permanent",
        }),
        if p.residence == 1 {
            Value::Date(p.expires_on)
        } else {
            Value::Null
        },
        Value::from("resident"),
        Value::Null,
        Value::Bool(false),
        if japanese {
            Value::from("東京都千代田区千代田１番")
        } else {
            Value::Null
        },
        Value::Null,
        Value::Bool(false),
        Value::Bool(false),
        Value::Date(moved_in),
        Value::Date(moved_in),
        Value::Null,
        Value::Null,
    ])
}

fn card_serial(k: u64) -> String {
    format!("{:016X}", 0xC000_0000_0000_0000u64 + k)
}

/// Bulk-loads the registry: see the module documentation.
fn load(o: &Options) -> Result<serde_json::Value, Error> {
    let db = database(o)?;
    let code = MunicipalityCode::parse(CHIYODA)?;
    let existing = db.transaction(|tx| {
        if registry::get_municipality(tx, code)?.is_none() {
            registry::insert_municipality(
                tx,
                &Municipality {
                    code,
                    name_ja: "千代田区".into(),
                    name_en: "Chiyoda-ku".into(),
                    settings: json!({}),
                },
            )?;
        }
        tx.query_one("SELECT COUNT(*) FROM cards", &[])?.i64(0)
    })?;
    if existing > 0 {
        return Err(format!("the registry has {existing} cards already: load into an empty one").into());
    }
    let span_days = ((1.0 / o.expiring_fraction).round() as u64).max(1);
    let n = o.cards;
    let now = mynacard_store::db::truncate_to_micros(Utc::now());
    let started = Instant::now();
    let mut start = 0u64;
    while start < n {
        let end = (start + LOAD_CHUNK).min(n);
        db.transaction(|tx| -> Result<(), Error> {
            let mut k = start;
            while k < end {
                let stop = (k + ROWS_PER_STATEMENT).min(end);
                load_rows(tx, k, stop, o.first_expiry, span_days, now)?;
                k = stop;
            }
            Ok(())
        })?;
        start = end;
        if start.is_multiple_of(100_000) || start == n {
            eprintln!("  loaded {start} of {n} in {:.1} s", started.elapsed().as_secs_f64());
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let rows = 4 * n;
    Ok(json!({
        "mode": "load",
        "backend": backend_name(&db),
        "cards": n,
        "residents": n,
        "certificates": 2 * n,
        "rows": rows,
        "expiry_span_days": span_days,
        "first_expiry": o.first_expiry,
        "seconds": seconds,
        "rows_per_second": rows as f64 / seconds,
    }))
}

/// Residents `from..to`, their cards and certificates, in the caller's transaction.
fn load_rows(
    tx: &mut Tx<'_>,
    from: u64,
    to: u64,
    first_expiry: NaiveDate,
    span_days: u64,
    now: chrono::DateTime<Utc>,
) -> Result<(), Error> {
    let planned: Vec<Planned> = (from..to)
        .map(|k| plan(k, first_expiry, span_days))
        .collect::<Result<_, _>>()?;
    let count = planned.len();
    let mut params = Vec::with_capacity(count * RESIDENT_COLUMNS.len());
    for p in &planned {
        params.extend(resident_values(p, now)?);
    }
    let rows = tx.query(
        &insert_sql("residents", &RESIDENT_COLUMNS, count, " RETURNING id, my_number"),
        &params,
    )?;
    // The ids by My Number (RETURNING's order is not promised).
    let mut ids: BTreeMap<String, i64> = BTreeMap::new();
    for row in &rows {
        ids.insert(row.text(1)?, row.i64(0)?);
    }
    let mut cards = Vec::with_capacity(count * CARD_COLUMNS.len());
    let mut certificates = Vec::with_capacity(2 * count * CERTIFICATE_COLUMNS.len());
    for (k, p) in (from..to).zip(&planned) {
        let id = *ids.get(&p.my_number).ok_or("a resident's id did not come back")?;
        let serial = card_serial(k);
        let issued = p.expires_on - TimeDelta::days(3_650);
        cards.extend([
            Value::Text(serial.clone()),
            Value::Int(id),
            Value::Null,
            Value::from("active"),
            Value::Bool(false),
            Value::Date(issued),
            Value::Date(p.expires_on),
            Value::Date(issued + TimeDelta::days(14)),
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Timestamp(now),
        ]);
        let certificates_issued = p
            .expires_on
            .checked_sub_months(Months::new(60))
            .ok_or("a date out of range")?;
        for (i, kind) in ["auth", "sign"].into_iter().enumerate() {
            certificates.extend([
                Value::Text(format!("4{:031X}", 2 * k + i as u64)),
                Value::Text(serial.clone()),
                Value::Int(id),
                Value::from(kind),
                Value::Null,
                Value::from("good"),
                Value::Date(certificates_issued),
                Value::Date(p.expires_on),
                Value::Null,
                Value::Null,
            ]);
        }
    }
    tx.execute(&insert_sql("cards", &CARD_COLUMNS, count, ""), &cards)?;
    tx.execute(
        &insert_sql("certificates", &CERTIFICATE_COLUMNS, 2 * count, ""),
        &certificates,
    )?;
    Ok(())
}

/// One timed count, and its plan on stderr.
fn count(tx: &mut Tx<'_>, sql: &str, params: &[Value]) -> Result<(i64, f64), StoreError> {
    let explain = match tx.backend() {
        Backend::Sqlite => format!("EXPLAIN QUERY PLAN {sql}"),
        Backend::Postgres => format!("EXPLAIN {sql}"),
    };
    let plan: Vec<String> = tx
        .query(&explain, params)?
        .iter()
        .map(|row| {
            let last = row.len().saturating_sub(1);
            row.text(last)
        })
        .collect::<Result<_, _>>()?;
    eprintln!("  plan of {sql}: {}", plan.join(" | "));
    let started = Instant::now();
    let n = tx.query_one(sql, params)?.i64(0)?;
    Ok((n, started.elapsed().as_secs_f64()))
}

/// The floor: every row of the tables the batch scans read once.
///
/// `SELECT COUNT(*) FROM cards` alone would not read the rows: SQLite counts
/// the entries of the smallest index and PostgreSQL may answer from an
/// index-only scan. A predicate on a column that no usable index covers
/// (`expires_on` is indexed only for cards in use, a partial index a
/// predicate without the status cannot use) makes both engines visit
/// every row; the bound is past every date, so every row counts and the
/// counts check the table sizes. On PostgreSQL parallel workers are
/// switched off, so the floor, like the batch, is one backend process on
/// one core (the default, parallel plan is measured too, for reference).
fn floor(o: &Options) -> Result<serde_json::Value, Error> {
    let db = database(o)?;
    let end = [Value::Date(date(9999, 12, 31)?)];
    let scan = |serial: bool| {
        db.read(|tx| -> Result<_, StoreError> {
            if serial && tx.backend() == Backend::Postgres {
                tx.execute_batch("SET LOCAL max_parallel_workers_per_gather = 0")?;
            }
            let cards = count(tx, "SELECT COUNT(*) FROM cards WHERE expires_on <= ?1", &end)?;
            let certificates = count(tx, "SELECT COUNT(*) FROM certificates WHERE not_after <= ?1", &end)?;
            let residents = count(tx, "SELECT COUNT(*) FROM residents WHERE birth_date <= ?1", &end)?;
            Ok((cards, certificates, residents))
        })
    };
    let started = Instant::now();
    let ((cards, cards_s), (certificates, certificates_s), (residents, residents_s)) = scan(true)?;
    let total = started.elapsed().as_secs_f64();
    let parallel = if db.backend() == Backend::Postgres {
        let ((_, a), (_, b), _) = scan(false)?;
        Some(a + b)
    } else {
        None
    };
    Ok(json!({
        "mode": "floor",
        "backend": backend_name(&db),
        "cards": cards,
        "certificates": certificates,
        "residents": residents,
        "cards_seconds": cards_s,
        "certificates_seconds": certificates_s,
        "seconds": cards_s + certificates_s,
        "residents_seconds": residents_s,
        "parallel_seconds": parallel,
        "wall_seconds": total,
    }))
}

/// The nightly batch for `--date`, timed step by step.
fn batch(o: &Options) -> Result<serde_json::Value, Error> {
    let day = o.date.ok_or("--date DATE")?;
    let data = o
        .data
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("mynacard-lifecycle-bench-data"));
    let mut config = AuthorityConfig::new(&data);
    config.database = Some(o.database.clone().ok_or("--database URL")?);
    let clock = Arc::new(FixedClock::on(day));
    let opened = Instant::now();
    let authority = Authority::open(&config, clock)?;
    let open_seconds = opened.elapsed().as_secs_f64();
    let options = BatchOptions {
        page_size: o.page_size,
        ..BatchOptions::default()
    };
    // Where the time goes: this process's and (PostgreSQL) its server
    // process's CPU time and time waiting for a CPU, before and after.
    let server_pid = match authority.db().backend() {
        Backend::Postgres => Some(
            authority
                .db()
                .read(|tx| tx.query_one("SELECT pg_backend_pid()", &[])?.i64(0))?
                .to_string(),
        ),
        Backend::Sqlite => None,
    };
    let client_before = schedstat("self");
    let server_before = server_pid.as_deref().and_then(schedstat);
    // Per step: seconds and rows looked at (the progress's last `done`).
    let mut steps: Vec<(BatchStep, Instant, Option<f64>, u64)> = Vec::new();
    let started = Instant::now();
    let report = authority.run_daily_batch_with(day, &options, &mut |p| match steps.last_mut() {
        Some(last) if last.0 == p.step => last.3 = p.done,
        _ => {
            if let Some(last) = steps.last_mut() {
                last.2 = Some(last.1.elapsed().as_secs_f64());
            }
            steps.push((p.step, Instant::now(), None, p.done));
        }
    })?;
    let seconds = started.elapsed().as_secs_f64();
    let client = delta(client_before, schedstat("self"));
    let server = delta(server_before, server_pid.as_deref().and_then(schedstat));
    if let Some(last) = steps.last_mut() {
        last.2.get_or_insert(last.1.elapsed().as_secs_f64());
    }
    let already_done = report.steps.iter().any(|s| s.outcome == StepOutcome::AlreadyDone);
    let per_step: Vec<serde_json::Value> = report
        .steps
        .iter()
        .map(|s| {
            let timed = steps.iter().find(|t| t.0 == s.step);
            json!({
                "step": s.step.as_str(),
                "outcome": s.outcome,
                "changed": s.count,
                "scanned": timed.map(|t| t.3),
                "seconds": timed.and_then(|t| t.2),
            })
        })
        .collect();
    let backend = backend_name(authority.db());
    Ok(json!({
        "mode": "batch",
        "backend": backend,
        "date": day,
        "page_size": o.page_size,
        "seconds": seconds,
        "open_seconds": open_seconds,
        "changed": report.total(),
        "scanned": steps.iter().map(|t| t.3).sum::<u64>(),
        "already_done": already_done,
        "client_cpu_seconds": client.map(|c| c.0),
        "client_runqueue_seconds": client.map(|c| c.1),
        "server_cpu_seconds": server.map(|c| c.0),
        "server_runqueue_seconds": server.map(|c| c.1),
        "steps": per_step,
    }))
}

/// A task's time on a CPU and time runnable but waiting for one, in
/// seconds (`/proc/PID/schedstat`; for `self`, the main thread, which runs
/// the whole batch).
fn schedstat(pid: &str) -> Option<(f64, f64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/schedstat")).ok()?;
    let mut fields = text.split_whitespace().map(|f| f.parse::<f64>().ok());
    Some((fields.next()?? / 1e9, fields.next()?? / 1e9))
}

fn delta(before: Option<(f64, f64)>, after: Option<(f64, f64)>) -> Option<(f64, f64)> {
    let (b, a) = (before?, after?);
    Some((a.0 - b.0, a.1 - b.1))
}

fn pins() -> PinPad {
    PinPad {
        auth: Some(Zeroizing::new("1234".into())),
        sign: Some(Zeroizing::new("ABC123".into())),
        input_support: Some(Zeroizing::new("5678".into())),
        registry: Some(Zeroizing::new("2468".into())),
    }
}

/// Issuance throughput: whole issuances, one after the other, for `--seconds`.
fn issue(o: &Options) -> Result<serde_json::Value, Error> {
    let data = o.data.clone().ok_or("--data DIR (a fresh directory)")?;
    if data.exists() && std::fs::read_dir(&data)?.next().is_some() {
        return Err(format!("{} is not empty: issuance starts from a fresh system", data.display()).into());
    }
    let mut config = AuthorityConfig::new(&data);
    config.database = o.database.clone();
    let clock = Arc::new(FixedClock::on(date(2026, 11, 2)?));
    let authority = Authority::open(&config, clock.clone())?;
    let code = MunicipalityCode::parse(CHIYODA)?;
    authority.add_municipality(
        &Actor::system("setup"),
        "municipality-131016",
        &Municipality {
            code,
            name_ja: "千代田区".into(),
            name_en: "Chiyoda-ku".into(),
            settings: json!({}),
        },
    )?;
    let clerk = Actor::window("staff:131016-01", code);
    let producer = Actor::producer();
    let pins = pins();
    // Seconds spent in each operation, summed.
    let mut phases = [0.0f64; 4];
    let mut cards = 0u64;
    let started = Instant::now();
    loop {
        let k = cards;
        let mut lap = Instant::now();
        let mut split = |i: usize, phases: &mut [f64; 4]| {
            phases[i] += lap.elapsed().as_secs_f64();
            lap = Instant::now();
        };
        let resident = authority.register_resident(
            &clerk,
            &format!("register-{k}"),
            &NewResident {
                municipality: CHIYODA.into(),
                my_number: MyNumber::complete(&format!("{:011}", ISSUE_BASE + k))?.expose(),
                name: "番号　花子".into(),
                name_kana: "バンゴウ　ハナコ".into(),
                address: "東京都千代田区霞が関２－１－２".into(),
                birth_date: date(1985, 4, 1)?,
                sex: "female".into(),
                nationality: "JP".into(),
                stay_until: None,
                permanent_resident: false,
                seal_registered: true,
                honseki: Some("東京都千代田区千代田１番".into()),
                household_id: None,
                adult_ward: false,
            },
        )?;
        split(0, &mut phases);
        let application = authority.apply(
            &clerk,
            &format!("apply-{k}"),
            &NewApplication {
                resident_id: resident,
                kind: ApplicationKind::New,
                channel: ApplicationChannel::Window,
                face_recognition: false,
                signature_wanted: true,
                jlis_received_on: None,
            },
        )?;
        split(1, &mut phases);
        let produced = authority.produce(&producer, &format!("produce-{k}"), application)?;
        if produced.sign_certificate.is_none() {
            return Err("production made no signature certificate".into());
        }
        split(2, &mut phases);
        authority.deliver(&clerk, &format!("deliver-{k}"), &produced.card_serial, &pins)?;
        split(3, &mut phases);
        cards += 1;
        clock.advance(TimeDelta::seconds(1));
        if started.elapsed().as_secs_f64() >= o.seconds && cards >= 5 {
            break;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let ms = |s: f64| 1000.0 * s / cards as f64;
    Ok(json!({
        "mode": "issue",
        "backend": backend_name(authority.db()),
        "cards": cards,
        "seconds": seconds,
        "cards_per_second": cards as f64 / seconds,
        "ms_per_card": {
            "register": ms(phases[0]),
            "apply": ms(phases[1]),
            "produce": ms(phases[2]),
            "deliver": ms(phases[3]),
        },
    }))
}

/// The key-generation floor: RSA-2048 key pairs from the card's generator.
fn keygen(o: &Options) -> Result<serde_json::Value, Error> {
    let mut generator = AwsLcKeyGenerator;
    let mut keys = 0u64;
    let started = Instant::now();
    loop {
        let pkcs8 = generator.generate_rsa_2048()?;
        if pkcs8.is_empty() {
            return Err("an empty key".into());
        }
        keys += 1;
        if started.elapsed().as_secs_f64() >= o.seconds && keys >= 10 {
            break;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let per_second = keys as f64 / seconds;
    Ok(json!({
        "mode": "keygen",
        "keys": keys,
        "seconds": seconds,
        "keys_per_second": per_second,
        "cards_per_second_floor": per_second / 2.0,
    }))
}
