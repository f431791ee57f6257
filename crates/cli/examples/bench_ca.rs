//! Fixtures and timings for `bench/pki.sh` (docs/PERFORMANCE.md): fills a CA
//! made by `mynacard ca init` with many records, and times issuance.
//!
//! ```text
//! cargo run --release -p mynacard --example bench_ca -- populate --dir DIR [--count 100000]
//!     [--revoke-every 10] --cert-out REAL.pem
//! cargo run --release -p mynacard --example bench_ca -- revoked --dir DIR [--count 1000000]
//! cargo run --release -p mynacard --example bench_ca -- issue --dir DIR [--seconds 10]
//! ```
//!
//! The CA's keys are opened with the passphrase in `DIR/passphrase` (what
//! `ca init` writes when no passphrase is given).
//!
//! - `populate` issues one real signature certificate through
//!   [`CertificateAuthority::issue`] (written to `--cert-out`: the load test
//!   asks about it), then records `count - 1` more through the repository's own
//!   `record_pending` + `record_issued`, with the real certificate's TBS and
//!   DER as payload (so rows have a real size). Serials are the anchors'
//!   (`../shared/anchors/common.sh`): a fixed 11-octet prefix and a 5-octet
//!   counter (2..=count); every `revoke-every`-th counter is recorded revoked
//!   with the anchors' date and reason mix. Each repository call is its own
//!   transaction, so on a disk with a slow fsync run it on a tmpfs and copy
//!   the CA directory afterwards.
//! - `revoked` bulk-loads `count` revoked entries of the signature CA
//!   (`SqliteCaRepository::bulk_insert_revoked`, one transaction), for
//!   `mynacard ca crl`.
//! - `issue` measures, each for `--seconds`: the root key's RSA-2048 signature
//!   alone over a certificate's TBS; `CertificateAuthority::issue` in a loop
//!   (one key, one holder; also the rate of its first 200); and the repository's share of it
//!   (`issued_count`, `record_pending`, `record_issued` for synthetic serials).
//!   It leaves the certificates it issued (and the synthetic records) in the
//!   repository.
//!
//! Output: `key value` lines, read by the script.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use mynacard_pki::ca::{read_secret, CaRepository, CertificateAuthority, CertificateRecord, IssueRequest, KeyAccess};
use mynacard_pki::name::Hierarchy;
use mynacard_pki::profile::{self, Holder, Profile, Sex};
use mynacard_pki::status::{CertStatus, CrlReason, RevokedEntry};
use mynacard_pki::{Serial, Signer, SoftwareKey};
use mynacard_store::SqliteCaRepository;

type Error = Box<dyn std::error::Error>;

/// The anchors' serial prefix (common.sh: SERIAL_PREFIX 4A1D3C5E7F90B2C4D6E8F0).
const SERIAL_PREFIX: [u8; 11] = [0x4a, 0x1d, 0x3c, 0x5e, 0x7f, 0x90, 0xb2, 0xc4, 0xd6, 0xe8, 0xf0];

/// The anchors' serial for counter `i`.
fn anchor_serial(i: u64) -> Result<Serial, Error> {
    let mut bytes = [0u8; 16];
    bytes[..11].copy_from_slice(&SERIAL_PREFIX);
    bytes[11..].copy_from_slice(&i.to_be_bytes()[3..]);
    Ok(Serial::from_der_content(&bytes)?)
}

/// The anchors' reason mix, chosen by `(i / every) mod 10`: 40% none
/// (unspecified), 30% superseded, 20% keyCompromise, 10% cessationOfOperation.
fn anchor_reason(slot: u64) -> CrlReason {
    match slot % 10 {
        4..=6 => CrlReason::Superseded,
        7 | 8 => CrlReason::KeyCompromise,
        9 => CrlReason::CessationOfOperation,
        _ => CrlReason::Unspecified,
    }
}

/// The anchors' revocation date (common.sh: REV_DATE 260102030405Z).
fn anchor_revocation_date() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

struct Options {
    dir: PathBuf,
    count: Option<u64>,
    revoke_every: u64,
    cert_out: Option<PathBuf>,
    seconds: f64,
}

fn parse(args: impl Iterator<Item = String>) -> Result<Options, Error> {
    let mut options = Options {
        dir: PathBuf::new(),
        count: None,
        revoke_every: 10,
        cert_out: None,
        seconds: 10.0,
    };
    let mut args = args;
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--dir" => options.dir = value()?.into(),
            "--count" => options.count = Some(value()?.replace('_', "").parse()?),
            "--revoke-every" => options.revoke_every = value()?.parse()?,
            "--cert-out" => options.cert_out = Some(value()?.into()),
            "--seconds" => options.seconds = value()?.parse()?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    if options.dir.as_os_str().is_empty() {
        return Err("--dir is required".into());
    }
    Ok(options)
}

fn open(dir: &Path) -> Result<(CertificateAuthority, Arc<SqliteCaRepository>), Error> {
    let access = KeyAccess::Passphrase(read_secret(&dir.join("passphrase"))?);
    let repository = Arc::new(SqliteCaRepository::open(&dir.join("ca.db"))?);
    let ca = CertificateAuthority::open(dir, &access, repository.clone())?;
    Ok((ca, repository))
}

fn holder() -> Result<Holder, Error> {
    Ok(Holder {
        name: "山田　太郎".into(),
        sex: Sex::Male,
        birth_date: NaiveDate::from_ymd_opt(1980, 2, 17).ok_or("date")?,
        address: "東京都千代田区永田町一丁目７番１号".into(),
        prefecture: "Tokyo".into(),
        municipality: "Chiyoda-ku".into(),
        name_flags: None,
        address_flags: None,
    })
}

fn issue_request(public_key_der: Vec<u8>, now: DateTime<Utc>) -> Result<IssueRequest, Error> {
    Ok(IssueRequest {
        profile: Profile::Signature,
        public_key_der,
        holder: holder()?,
        issued: mynacard_pki::time::jst_date(now),
        not_after_cap: None,
        previous_expiry: None,
        adult_ward: false,
        counter_code: "A01".into(),
    })
}

fn populate(o: &Options) -> Result<(), Error> {
    let count = o.count.unwrap_or(100_000).max(1);
    let (ca, repository) = open(&o.dir)?;
    let generation = ca.current(Hierarchy::Signature)?.config.generation;
    let now = Utc::now();
    let holder_key = SoftwareKey::generate()?;
    let issued = ca.issue(&issue_request(holder_key.public_key_der().to_vec(), now)?, now)?;
    let record = repository
        .certificate(&issued.serial)?
        .ok_or("the issued certificate is not in the repository")?;
    if let Some(out) = &o.cert_out {
        std::fs::write(out, profile::to_pem("CERTIFICATE", &issued.der))?;
    }

    let started = Instant::now();
    let revoked_at = anchor_revocation_date();
    let mut revoked = 0u64;
    for i in 2..=count {
        let status = if o.revoke_every > 0 && i % o.revoke_every == 0 {
            revoked += 1;
            CertStatus::Revoked {
                at: revoked_at,
                reason: anchor_reason(i / o.revoke_every),
                invalidity_date: None,
            }
        } else {
            CertStatus::Good
        };
        let serial = anchor_serial(i)?;
        repository.record_pending(&CertificateRecord {
            serial: serial.clone(),
            hierarchy: Hierarchy::Signature,
            generation,
            profile: Profile::Signature.short().into(),
            not_before: record.not_before,
            not_after: record.not_after,
            tbs: record.tbs.clone(),
            der: None,
            status,
        })?;
        repository.record_issued(&serial, &issued.der)?;
    }
    let seconds = started.elapsed().as_secs_f64();
    println!("real_serial {}", issued.serial.to_hex());
    println!("records {count}");
    println!("revoked {revoked}");
    println!("tbs_bytes {}", record.tbs.len());
    println!("der_bytes {}", issued.der.len());
    println!("insert_seconds {seconds:.3}");
    println!(
        "insert_per_record_us {:.1}",
        seconds * 1e6 / count.saturating_sub(1).max(1) as f64
    );
    Ok(())
}

fn bulk_revoked(o: &Options) -> Result<(), Error> {
    let count = o.count.unwrap_or(1_000_000);
    let config = CertificateAuthority::read_config(&o.dir)?;
    let generation = config
        .generations
        .iter()
        .filter(|g| g.hierarchy == Hierarchy::Signature)
        .map(|g| g.generation)
        .max()
        .ok_or("no signature root")?;
    let repository = SqliteCaRepository::open(&o.dir.join("ca.db"))?;
    let revoked_at = anchor_revocation_date();
    let started = Instant::now();
    // Every entry revoked, reasons by counter as in the anchors' CRL cases.
    let entries = (1..=count).filter_map(|i| {
        anchor_serial(i).ok().map(|serial| RevokedEntry {
            serial,
            revoked_at,
            reason: anchor_reason(i),
            invalidity_date: None,
        })
    });
    let inserted = repository.bulk_insert_revoked(Hierarchy::Signature, generation, entries)?;
    if inserted != count {
        return Err(format!("inserted {inserted} of {count}").into());
    }
    println!("inserted {inserted}");
    println!("insert_seconds {:.3}", started.elapsed().as_secs_f64());
    Ok(())
}

/// Runs `step` until `budget` has passed (and at least `min` times); returns (count, seconds).
fn timed(budget: Duration, min: u64, mut step: impl FnMut(u64) -> Result<(), Error>) -> Result<(u64, f64), Error> {
    let started = Instant::now();
    let mut n = 0u64;
    while n < min || started.elapsed() < budget {
        step(n)?;
        n += 1;
    }
    Ok((n, started.elapsed().as_secs_f64()))
}

fn issue(o: &Options) -> Result<(), Error> {
    let budget = Duration::from_secs_f64(o.seconds.max(0.1));
    let (ca, repository) = open(&o.dir)?;
    let generation = ca.current(Hierarchy::Signature)?;
    let holder_key = SoftwareKey::generate()?;
    let request = issue_request(holder_key.public_key_der().to_vec(), Utc::now())?;
    let records_before = repository.issued_count(Hierarchy::Signature)?;

    // 1. The signature alone, over a real TBS.
    let first = ca.issue(&request, Utc::now())?;
    let tbs = repository.certificate(&first.serial)?.ok_or("no record")?.tbs;
    let (n, s) = timed(budget.min(Duration::from_secs(3)), 20, |_| {
        std::hint::black_box(generation.root_signer.sign(&tbs)?);
        Ok(())
    })?;
    println!("sign_per_s {:.1}", n as f64 / s);

    // 2. Issuance as the CA does it: rules, serial, TBS, record, sign, record.
    //    Also the rate over the first FIRST certificates, while the table is small.
    const FIRST: u64 = 200;
    let loop_started = Instant::now();
    let mut first_seconds = None;
    let (n, s) = timed(budget, 20, |i| {
        std::hint::black_box(ca.issue(&request, Utc::now())?);
        if i + 1 == FIRST {
            first_seconds = Some(loop_started.elapsed().as_secs_f64());
        }
        Ok(())
    })?;
    if let Some(seconds) = first_seconds {
        println!("issue_first{FIRST}_per_s {:.1}", FIRST as f64 / seconds);
    }
    println!("issued {n}");
    println!("issue_seconds {s:.3}");
    println!("issue_per_s {:.1}", n as f64 / s);
    println!("issue_ms {:.3}", s * 1e3 / n as f64);

    // 3. The repository's share: each of the three calls issue() makes.
    let (n, s) = timed(budget.min(Duration::from_secs(3)), 20, |_| {
        std::hint::black_box(repository.issued_count(Hierarchy::Signature)?);
        Ok(())
    })?;
    println!("issued_count_ms {:.3}", s * 1e3 / n as f64);
    let record = repository.certificate(&first.serial)?.ok_or("no record")?;
    let (mut pending_s, mut issued_s) = (0.0f64, 0.0f64);
    let (n, _) = timed(budget.min(Duration::from_secs(3)), 20, |_| {
        let serial = Serial::random()?;
        let t = Instant::now();
        repository.record_pending(&CertificateRecord {
            serial: serial.clone(),
            tbs: record.tbs.clone(),
            der: None,
            status: CertStatus::Good,
            not_before: Utc::now(),
            not_after: Utc::now() + TimeDelta::days(365),
            ..record.clone()
        })?;
        pending_s += t.elapsed().as_secs_f64();
        let t = Instant::now();
        repository.record_issued(&serial, &first.der)?;
        issued_s += t.elapsed().as_secs_f64();
        Ok(())
    })?;
    println!("record_pending_ms {:.3}", pending_s * 1e3 / n as f64);
    println!("record_issued_ms {:.3}", issued_s * 1e3 / n as f64);
    println!("records_at_start {records_before}");
    Ok(())
}

fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_default();
    let options = parse(args)?;
    match command.as_str() {
        "populate" => populate(&options),
        "revoked" => bulk_revoked(&options),
        "issue" => issue(&options),
        _ => Err("usage: bench_ca populate|revoked|issue --dir DIR [options] (see the source)".into()),
    }
}
