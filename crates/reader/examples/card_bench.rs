//! The card's figures for bench/card.sh (issue 4): APDU round trips in
//! process and through pcscd, signatures and on-card key generation. Each
//! mode runs for `--seconds` and prints one line `RATE UNIT COUNT`.
//!
//! ```text
//! card_bench apdu      --card CARD --seconds S   SELECT EF + READ BINARY (256 bytes of the auth certificate), in process
//! card_bench status    --card CARD --seconds S   an empty VERIFY (tries left), in process
//! card_bench verify    --card CARD --seconds S   a right VERIFY on the card's file storage: two durable commits
//! card_bench sign      --card CARD --seconds S --pin P [--digest sha256|sha1]
//!                                                COMPUTE DIGITAL SIGNATURE with the auth key, in process
//! card_bench keygen    --seconds S               GENERATE KEY PAIR through a management session, in process
//! card_bench pcsc      --seconds S [--reader R]  SELECT EF + READ BINARY through pcscd (a card inserted with vpcd)
//! card_bench pcsc-sign --seconds S --pin P [--reader R]
//!                                                signatures through pcscd
//! ```
//!
//! In-process modes work on a copy of the card image in memory (except
//! `verify`, which measures the file storage itself on a copy of CARD), so
//! the card is not changed. The card is one made by `mynacard card new`, its
//! secret in CARD.secret.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use mynacard_card::admin::ManagementSession;
use mynacard_card::layout::{jpki, Application};
use mynacard_card::{
    Card, CardImage, CardSerial, CardStorage, FileStorage, ManagementKey, MemoryStorage, StorageSecret,
};
use mynacard_reader::client::digest_info_sha256;
use mynacard_reader::{CardReader, PcscReader};

type Error = Box<dyn std::error::Error>;

struct Options {
    card: Option<PathBuf>,
    seconds: f64,
    pin: String,
    digest: String,
    reader: Option<String>,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, Error> {
    let mut options = Options {
        card: None,
        seconds: 5.0,
        pin: "1234".into(),
        digest: "sha256".into(),
        reader: None,
    };
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--card" => options.card = Some(PathBuf::from(value()?)),
            "--seconds" => options.seconds = value()?.parse()?,
            "--pin" => options.pin = value()?,
            "--digest" => options.digest = value()?,
            "--reader" => options.reader = Some(value()?),
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    Ok(options)
}

fn secret_of(card: &std::path::Path) -> PathBuf {
    let mut name = card.as_os_str().to_owned();
    name.push(".secret");
    PathBuf::from(name)
}

/// The card image of `--card`, loaded once from a private copy (the card
/// itself may be held by a `card insert` process).
fn image(options: &Options) -> Result<CardImage, Error> {
    let path = options.card.as_ref().ok_or("--card CARD is required")?;
    let (dir, copy) = private_copy(path)?;
    let result = (|| {
        let mut storage = FileStorage::open(&copy, StorageSecret::load(&secret_of(&copy))?)?;
        Ok(storage.load()?)
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// A copy of the card image and its secret in a fresh temporary directory.
fn private_copy(path: &std::path::Path) -> Result<(PathBuf, PathBuf), Error> {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("card-bench-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let copy = dir.join("card");
    std::fs::copy(path, &copy)?;
    std::fs::copy(secret_of(path), secret_of(&copy))?;
    Ok((dir, copy))
}

/// Runs `step` until `seconds` have passed (at least 20 times); returns per second and count.
fn measure(seconds: f64, mut step: impl FnMut() -> Result<(), Error>) -> Result<(f64, u64), Error> {
    let budget = Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let mut n = 0u64;
    loop {
        step()?;
        n += 1;
        let elapsed = start.elapsed();
        if elapsed >= budget && n >= 20 {
            return Ok((n as f64 / elapsed.as_secs_f64(), n));
        }
    }
}

fn expect_ok(response: &[u8], what: &str) -> Result<(), Error> {
    match response {
        [.., 0x90, 0x00] => Ok(()),
        _ => Err(format!(
            "{what}: the card answered {:02X?}",
            &response[response.len().saturating_sub(2)..]
        )
        .into()),
    }
}

const SELECT_JPKI: [u8; 15] = [
    0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01,
];
const SELECT_AUTH_CERT: [u8; 7] = [0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x0A];
const READ_256: [u8; 5] = [0x00, 0xB0, 0x00, 0x00, 0x00];
const SELECT_AUTH_PIN: [u8; 7] = [0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x18];
const SELECT_AUTH_KEY: [u8; 7] = [0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x17];

fn verify_command(pin: &str) -> Vec<u8> {
    let mut command = vec![0x00, 0x20, 0x00, 0x80, pin.len() as u8];
    command.extend_from_slice(pin.as_bytes());
    command
}

fn sign_command(data: &[u8]) -> Vec<u8> {
    let mut command = vec![0x80, 0x2A, 0x00, 0x80, data.len() as u8];
    command.extend_from_slice(data);
    command.push(0x00);
    command
}

/// SHA-1 DigestInfo (what jpki-rs sends): takes the `rsa` crate path of the card.
fn digest_info_sha1(message: &[u8]) -> Vec<u8> {
    let mut out = vec![
        0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2B, 0x0E, 0x03, 0x02, 0x1A, 0x05, 0x00, 0x04, 0x14,
    ];
    out.extend_from_slice(&mynacard_pki::signer::sha1(message));
    out
}

fn in_process(options: &Options, mode: &str) -> Result<(f64, u64, &'static str), Error> {
    let mut card = Card::new(MemoryStorage::new(&image(options)?))?;
    card.power_on();
    expect_ok(&card.process(&SELECT_JPKI), "SELECT JPKI")?;
    match mode {
        "apdu" => {
            let (rate, n) = measure(options.seconds, || {
                expect_ok(&card.process(&SELECT_AUTH_CERT), "SELECT EF")?;
                let response = card.process(&READ_256);
                expect_ok(&response, "READ BINARY")?;
                if response.len() != 258 {
                    return Err("short read".into());
                }
                Ok(())
            })?;
            // Two APDUs per step.
            Ok((rate * 2.0, n * 2, "APDUs/s"))
        }
        "status" => {
            expect_ok(&card.process(&SELECT_AUTH_PIN), "SELECT PIN")?;
            let (rate, n) = measure(options.seconds, || match card.process(&[0x00, 0x20, 0x00, 0x80])[..] {
                [0x63, sw2] if sw2 & 0xF0 == 0xC0 => Ok(()),
                ref other => Err(format!("empty VERIFY: {other:02X?}").into()),
            })?;
            Ok((rate, n, "APDUs/s"))
        }
        "sign" => {
            expect_ok(&card.process(&SELECT_AUTH_PIN), "SELECT PIN")?;
            expect_ok(&card.process(&verify_command(&options.pin)), "VERIFY")?;
            expect_ok(&card.process(&SELECT_AUTH_KEY), "SELECT key")?;
            let mut counter = 0u64;
            let (rate, n) = measure(options.seconds, || {
                counter += 1;
                let message = counter.to_be_bytes();
                let data = match options.digest.as_str() {
                    "sha1" => digest_info_sha1(&message),
                    _ => digest_info_sha256(&message),
                };
                let response = card.process(&sign_command(&data));
                expect_ok(&response, "COMPUTE DIGITAL SIGNATURE")?;
                if response.len() != 258 {
                    return Err("not a 256-byte signature".into());
                }
                Ok(())
            })?;
            Ok((rate, n, "signatures/s"))
        }
        _ => Err(format!("unknown mode {mode}").into()),
    }
}

/// Right VERIFYs on the file storage (a private copy of the card): each
/// is a decrement committed durably before the compare, then the restore.
fn verify_on_file(options: &Options) -> Result<(f64, u64, &'static str), Error> {
    let path = options.card.as_ref().ok_or("--card CARD is required")?;
    let (dir, copy) = private_copy(path)?;
    let result = (|| {
        let mut card = Card::new(FileStorage::open(&copy, StorageSecret::load(&secret_of(&copy))?)?)?;
        card.power_on();
        expect_ok(&card.process(&SELECT_JPKI), "SELECT JPKI")?;
        expect_ok(&card.process(&SELECT_AUTH_PIN), "SELECT PIN")?;
        let verify = verify_command(&options.pin);
        let (rate, n) = measure(options.seconds, || expect_ok(&card.process(&verify), "VERIFY"))?;
        Ok((rate, n, "VERIFYs/s"))
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// GENERATE KEY PAIR of the auth key through a management session (AES-GCM
/// secure messaging, commit of the image with the new key).
fn keygen(options: &Options) -> Result<(f64, u64, &'static str), Error> {
    let serial = CardSerial(*b"BENCH001");
    let key = ManagementKey::derive(b"bench master", serial);
    let mut card = Card::new(MemoryStorage::new(&CardImage::blank(serial, key.clone())))?;
    card.power_on();
    let mut session = ManagementSession::open(&mut card, &key)?;
    let (rate, n) = measure(options.seconds, || {
        let spki = session.generate_key_pair(&mut card, Application::Jpki, jpki::AUTH_KEY)?;
        if spki.len() < 270 {
            return Err("not an RSA-2048 public key".into());
        }
        Ok(())
    })?;
    Ok((rate, n, "keys/s"))
}

fn through_pcsc(options: &Options, sign: bool) -> Result<(f64, u64, &'static str), Error> {
    let mut reader = PcscReader::connect(options.reader.as_deref())?;
    expect_ok(&reader.transmit(&SELECT_JPKI)?, "SELECT JPKI")?;
    if sign {
        let mut counter = 0u64;
        let (rate, n) = measure(options.seconds, || {
            counter += 1;
            // pcscd may power the card down between steps: VERIFY each time.
            expect_ok(&reader.transmit(&SELECT_JPKI)?, "SELECT JPKI")?;
            expect_ok(&reader.transmit(&SELECT_AUTH_PIN)?, "SELECT PIN")?;
            expect_ok(&reader.transmit(&verify_command(&options.pin))?, "VERIFY")?;
            expect_ok(&reader.transmit(&SELECT_AUTH_KEY)?, "SELECT key")?;
            let response = reader.transmit(&sign_command(&digest_info_sha256(&counter.to_be_bytes())))?;
            expect_ok(&response, "COMPUTE DIGITAL SIGNATURE")
        })?;
        return Ok((rate, n, "signatures/s"));
    }
    let (rate, n) = measure(options.seconds, || {
        expect_ok(&reader.transmit(&SELECT_AUTH_CERT)?, "SELECT EF")?;
        expect_ok(&reader.transmit(&READ_256)?, "READ BINARY")
    })?;
    Ok((rate * 2.0, n * 2, "APDUs/s"))
}

fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_default();
    let options = parse(args)?;
    let (rate, n, unit) = match mode.as_str() {
        "apdu" | "status" | "sign" => in_process(&options, &mode)?,
        "verify" => verify_on_file(&options)?,
        "keygen" => keygen(&options)?,
        "pcsc" => through_pcsc(&options, false)?,
        "pcsc-sign" => through_pcsc(&options, true)?,
        _ => {
            return Err(
                "usage: card_bench apdu|status|verify|sign|keygen|pcsc|pcsc-sign [options] (see the source)".into(),
            )
        }
    };
    println!("{rate:.2} {unit} {n}");
    Ok(())
}
