//! Times the streamed CRL writer on N entries, for comparison with the
//! `openssl ca -gencrl` anchor (../shared/anchors/crl-openssl.sh).
//!
//! ```text
//! cargo run --release -p mynacard-pki --example crl_bench -- [N] [--out PATH]
//!     [--ca-cert CA.der --ca-key CA.pk8.der] [--verify] [--no-size-hint]
//! ```
//!
//! Entries are the anchor's: 16-octet serials (a fixed 11-octet prefix and a
//! 5-octet counter), one revocation date (2026-01-02T03:04:05Z, UTCTime), and
//! reasons by counter mod 10: 40% none, 30% superseded, 20% keyCompromise, 10%
//! cessationOfOperation. They are generated lazily, as a database cursor
//! would yield them (`--no-size-hint` hides their count from the writer, as
//! a cursor does, so the buffer grows by reallocation). Without `--ca-cert/--ca-key` a fresh RSA-2048 key and
//! an issuer name of the anchor's length are used. With them (the anchor's
//! issuing CA, converted with `openssl x509 -outform DER` and `openssl pkcs8
//! -topk8 -nocrypt -outform DER`), `openssl crl -CAfile` can check the result.
//!
//! Prints entries, bytes, seconds (the entry source alone, and the whole
//! write: source + encode + hash + sign + write to the file) and peak RSS
//! (VmHWM). `--verify` then parses the file back and checks the signature
//! (after the RSS reading, so it does not count).

use std::io::BufWriter;
use std::str::FromStr;
use std::time::Instant;

use chrono::{DateTime, Utc};
use der::{Decode, Encode};
use mynacard_pki::crl::{write_crl, CrlIssuer, CrlParams, ParsedCrl};
use mynacard_pki::signer::sha1;
use mynacard_pki::status::{CrlReason, RevokedEntry};
use mynacard_pki::{PkiError, Serial, Signer, SoftwareKey};

/// The anchor's serial prefix (common.sh: SERIAL_PREFIX 4A1D3C5E7F90B2C4D6E8F0).
const SERIAL_PREFIX: [u8; 11] = [0x4a, 0x1d, 0x3c, 0x5e, 0x7f, 0x90, 0xb2, 0xc4, 0xd6, 0xe8, 0xf0];

fn reason(i: u64) -> CrlReason {
    match i % 10 {
        4..=6 => CrlReason::Superseded,
        7 | 8 => CrlReason::KeyCompromise,
        9 => CrlReason::CessationOfOperation,
        _ => CrlReason::Unspecified,
    }
}

fn entries(n: u64, revoked_at: DateTime<Utc>) -> impl Iterator<Item = Result<RevokedEntry, PkiError>> {
    (1..=n).map(move |i| {
        let mut bytes = [0u8; 16];
        bytes[..11].copy_from_slice(&SERIAL_PREFIX);
        bytes[11..].copy_from_slice(&i.to_be_bytes()[3..]);
        Ok(RevokedEntry {
            serial: Serial::from_der_content(&bytes)?,
            revoked_at,
            reason: reason(i),
            invalidity_date: None,
        })
    })
}

/// Peak resident set size in KiB (VmHWM), if the kernel reports it.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut n: u64 = 1_000_000;
    let mut out_path = std::env::temp_dir().join("mynacard-crl-bench.der");
    let (mut ca_cert, mut ca_key, mut verify, mut no_hint) = (None, None, false, false);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--out" => out_path = args.next().ok_or("--out needs a path")?.into(),
            "--ca-cert" => ca_cert = Some(args.next().ok_or("--ca-cert needs a path")?),
            "--ca-key" => ca_key = Some(args.next().ok_or("--ca-key needs a path")?),
            "--verify" => verify = true,
            "--no-size-hint" => no_hint = true,
            other => {
                n = other
                    .replace('_', "")
                    .parse()
                    .map_err(|_| format!("not a count: {other}"))?
            }
        }
    }

    let (issuer, key) = match (ca_cert, ca_key) {
        (Some(cert), Some(key)) => {
            let key = SoftwareKey::from_pkcs8(&std::fs::read(key)?)?;
            (CrlIssuer::new(&std::fs::read(cert)?)?, key)
        }
        (None, None) => {
            let key = SoftwareKey::generate()?;
            let name = x509_cert::name::Name::from_str("CN=Anchor eID Test Issuing CA 1,O=Anchor eID Test,C=XX")?;
            let spki = spki::SubjectPublicKeyInfoRef::from_der(key.public_key_der())?;
            let key_id = sha1(spki.subject_public_key.raw_bytes()).to_vec();
            (CrlIssuer::from_parts(name.to_der()?, key_id)?, key)
        }
        _ => return Err("give both --ca-cert and --ca-key, or neither".into()),
    };
    let revoked_at = at("2026-01-02T03:04:05Z");
    let params = CrlParams {
        this_update: at("2026-05-01T00:00:00Z"),
        next_update: at("2026-05-02T00:00:00Z"),
        crl_number: 4096,
    };

    // The entry source alone (serial allocation included).
    let started = Instant::now();
    let mut count = 0u64;
    for entry in entries(n, revoked_at) {
        count += u64::from(entry?.reason != CrlReason::Unspecified) + 1;
    }
    let source_s = started.elapsed().as_secs_f64();
    std::hint::black_box(count);

    let rss_before = peak_rss_kib();
    let started = Instant::now();
    let mut file = BufWriter::new(std::fs::File::create(&out_path)?);
    let source: Box<dyn Iterator<Item = Result<RevokedEntry, PkiError>>> = if no_hint {
        Box::new(entries(n, revoked_at).filter(|_| true))
    } else {
        Box::new(entries(n, revoked_at))
    };
    let stats = write_crl(&issuer, &key, &params, source, &mut file)?;
    drop(file);
    let total_s = started.elapsed().as_secs_f64();
    let rss = peak_rss_kib();

    println!("entries         {}", stats.entries);
    println!(
        "bytes           {} ({:.1} per entry)",
        stats.bytes,
        stats.bytes as f64 / stats.entries.max(1) as f64
    );
    println!(
        "seconds         {total_s:.3} (source alone {source_s:.3}; CRL work ≈ {:.3})",
        total_s - source_s
    );
    match (rss_before, rss) {
        (Some(before), Some(peak)) => {
            println!(
                "peak RSS        {:.1} MiB (VmHWM; {:.1} MiB before the write)",
                peak as f64 / 1024.0,
                before as f64 / 1024.0
            )
        }
        _ => println!("peak RSS        unavailable (no /proc/self/status)"),
    }
    println!("output          {}", out_path.display());

    if verify {
        let started = Instant::now();
        let crl = ParsedCrl::from_der_vec(std::fs::read(&out_path)?)?;
        let parse_s = started.elapsed().as_secs_f64();
        crl.verify_signature(key.public_key_der())?;
        if crl.len() as u64 != stats.entries {
            return Err(format!("parsed {} entries, wrote {}", crl.len(), stats.entries).into());
        }
        let mut probe = [0u8; 16];
        probe[..11].copy_from_slice(&SERIAL_PREFIX);
        probe[11..].copy_from_slice(&n.to_be_bytes()[3..]);
        let last = crl
            .get(&Serial::from_der_content(&probe)?)
            .ok_or("the last serial is missing")?;
        println!(
            "verify          ok: parsed in {parse_s:.3} s, signature good, last entry {:?}",
            last.reason
        );
    }
    Ok(())
}
