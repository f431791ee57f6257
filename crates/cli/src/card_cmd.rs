//! `mynacard card …`: the card producer's line and the card as a device.
//!
//! - `card new` makes a personalised virtual card: a blank chip whose
//!   management key is diversified from the producer's master key, keys
//!   generated **on the card**, the public keys certified by the CA of
//!   `mynacard ca`, My Number / basic 4 / surface written and signed by the
//!   producer key, the PINs set as at delivery.
//! - `card insert` connects the card to pcscd's vpcd driver, so that every
//!   PC/SC program sees it in `Virtual PCD 00 00`.
//! - `card show` prints what the card holds (owner's view of the image).
//!
//! A card is two files: the image `CARD` (encrypted, written atomically)
//! and its storage secret, by default `CARD.secret` (32 bytes, mode 0600;
//! `--secret` puts it elsewhere). Copy both to move a card. The producer's
//! keys live in `--producer-dir`, by default `CA_DIR/producer`.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use chrono::{NaiveDate, Utc};
use clap::{Args, Subcommand};
use mynacard_card::input_support::{BasicFour, Sex as CardSex};
use mynacard_card::layout::{jpki, Application};
use mynacard_card::{
    Card, CardImage, CardOrder, CardSerial, DeliveryPins, FileStorage, IssuedCertificate, JpkiKey, Producer,
    StorageSecret, DEFAULT_ATR,
};
use mynacard_pki::ca::IssueRequest;
use mynacard_pki::profile::{Profile, Sex};
use mynacard_pki::status::CrlReason;
use mynacard_pki::Serial;
use mynacard_reader::vpcd::{self, Event, VpcdOptions};
use mynacard_reader::{JpkiClient, PinRef, VirtualReader};
use mynacard_rules::card::{card_validity, CardIssuance, Residence};
use mynacard_rules::certificate::{certificate_validity, CertificateIssuance, SignCertRefusal};
use mynacard_rules::numbers::MyNumber;
use mynacard_rules::pin::PinKind;
use mynacard_rules::Policies;
use serde::Serialize;
use zeroize::Zeroizing;

use crate::ca_cmd::{self, KeyArgs};
use crate::output::{emit, line, Answer, Failure, Line, Phrase, EXIT_RULE};

/// `mynacard card`.
#[derive(Debug, Args)]
pub struct CardArgs {
    /// Print one JSON object instead of bilingual text
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: CardCommand,
}

#[derive(Debug, Subcommand)]
pub enum CardCommand {
    /// Produce a personalised virtual card (keys made on the card, certificates from the CA)
    New(Box<NewArgs>),
    /// Insert the card into pcscd's vsmartcard reader (vpcd) and serve it until stopped
    Insert(InsertArgs),
    /// Show what a card holds: serial, mode, PIN tries, certificates
    Show(ShowArgs),
}

/// Where a card's image and secret are.
#[derive(Debug, Args, Clone)]
pub struct CardFile {
    /// The card image
    #[arg(value_name = "CARD")]
    pub card: PathBuf,
    /// The card's storage secret (default: CARD.secret)
    #[arg(long, value_name = "FILE")]
    pub secret: Option<PathBuf>,
}

impl CardFile {
    fn secret_path(&self) -> PathBuf {
        self.secret.clone().unwrap_or_else(|| default_secret(&self.card))
    }

    /// Opens the image for this process (refused while another holds it).
    pub fn open(&self) -> Result<Card<FileStorage>, Failure> {
        let secret = StorageSecret::load(&self.secret_path()).map_err(storage_failure)?;
        let storage = FileStorage::open(&self.card, secret).map_err(storage_failure)?;
        Card::new(storage).map_err(storage_failure)
    }
}

fn default_secret(card: &Path) -> PathBuf {
    let mut name = card.as_os_str().to_owned();
    name.push(".secret");
    PathBuf::from(name)
}

fn storage_failure(e: mynacard_card::StorageError) -> Failure {
    use mynacard_card::StorageError as E;
    let usage = matches!(e, E::Missing(_) | E::AlreadyExists(_) | E::Busy(_));
    Failure::from_parts(
        if usage { crate::output::EXIT_USAGE } else { EXIT_RULE },
        e.code(),
        e.to_string(),
    )
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// Where to write the card image (must not exist)
    #[arg(long, value_name = "CARD")]
    out: PathBuf,
    /// The card's storage secret (default: CARD.secret, created)
    #[arg(long, value_name = "FILE")]
    secret: Option<PathBuf>,
    /// The CA directory of `mynacard ca init`
    #[arg(long, value_name = "DIR")]
    ca_dir: PathBuf,
    /// A file holding the passphrase of the CA's software keys
    #[arg(long, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
    /// The card producer's keys (default: CA_DIR/producer, created on first use)
    #[arg(long, value_name = "DIR")]
    producer_dir: Option<PathBuf>,
    /// The holder: JSON with name, address, birth_date, sex, municipality (as for `ca issue`)
    #[arg(long, value_name = "HOLDER.json")]
    holder: PathBuf,
    /// The holder's My Number (12 digits)
    #[arg(long, value_name = "N")]
    my_number: String,
    /// 利用者証明用電子証明書の暗証番号 (4 digits)
    #[arg(long, value_name = "PIN")]
    auth_pin: Option<String>,
    /// 署名用電子証明書の暗証番号 (6–16 of A–Z 0–9, a letter and a digit)
    #[arg(long, value_name = "PIN")]
    sign_pin: Option<String>,
    /// 券面事項入力補助用の暗証番号 (4 digits)
    #[arg(long, value_name = "PIN")]
    input_pin: Option<String>,
    /// 住民基本台帳用の暗証番号 (4 digits; default: the auth PIN, as most holders choose)
    #[arg(long, value_name = "PIN")]
    registry_pin: Option<String>,
    /// A face-recognition card (顔認証マイナンバーカード): no PINs, no signature certificate
    #[arg(long)]
    face_auth: bool,
    /// The issuance day (default: today in Japan)
    #[arg(long, value_name = "DATE", value_parser = ca_cmd::date_arg)]
    issued: Option<NaiveDate>,
    /// A foreign resident's end of the period of stay (在留期間満了日)
    #[arg(long, value_name = "DATE", value_parser = ca_cmd::date_arg, conflicts_with = "permanent_resident")]
    stay_until: Option<NaiveDate>,
    /// A foreign resident without a bounding period of stay (永住者 etc.)
    #[arg(long)]
    permanent_resident: bool,
    /// The holder is an adult ward (成年被後見人): no signature certificate
    #[arg(long)]
    adult_ward: bool,
    /// The face photograph for the surface (an image file; default: a placeholder)
    #[arg(long, value_name = "FILE")]
    face_image: Option<PathBuf>,
    /// The card serial, 16 hex digits (default: random)
    #[arg(long, value_name = "HEX")]
    serial: Option<String>,
}

#[derive(Debug, Args)]
pub struct InsertArgs {
    #[command(flatten)]
    file: CardFile,
    /// vpcd's address (pcscd's vsmartcard driver; 35963 is `Virtual PCD 00 00`, 35964 `… 00 01`)
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:35963")]
    vpcd: String,
    /// The answer to reset, hex
    #[arg(long, value_name = "HEX")]
    atr: Option<String>,
    /// Stop when vpcd hangs up instead of inserting the card again
    #[arg(long)]
    once: bool,
    /// Print every APDU on stderr (PIN and management data redacted)
    #[arg(long)]
    trace: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    file: CardFile,
}

/// Runs `mynacard card …`.
pub fn run(args: CardArgs) -> std::process::ExitCode {
    let json = args.json;
    let result = match args.command {
        CardCommand::New(a) => new(&a).and_then(|answer| emit(&answer, json)),
        CardCommand::Insert(a) => insert(&a),
        CardCommand::Show(a) => show(&a).and_then(|answer| emit(&answer, json)),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(failure) => failure.report(json),
    }
}

const L_CARD: Phrase = Phrase::new("カード", "Card");
const L_SERIAL: Phrase = Phrase::new("カード番号", "Card serial");
const L_MODE: Phrase = Phrase::new("種類", "Kind");
const L_EXPIRY: Phrase = Phrase::new("カードの有効期限", "Card valid until");
const L_SECURITY: Phrase = Phrase::new("セキュリティコード", "Security code");
const L_AUTH: Phrase = Phrase::new("利用者証明用電子証明書", "Auth certificate");
const L_SIGN: Phrase = Phrase::new("署名用電子証明書", "Signature certificate");
const L_PIN: Phrase = Phrase::new("暗証番号の残り回数", "PIN tries left");

const PIN_CARD: Phrase = Phrase::new("マイナンバーカード", "My Number Card");
const FACE_CARD: Phrase = Phrase::new("顔認証マイナンバーカード", "face-recognition card");

fn mode_phrase(face: bool) -> Phrase {
    if face {
        FACE_CARD
    } else {
        PIN_CARD
    }
}

#[derive(Serialize)]
struct CertificateSummary {
    serial: String,
    not_after: NaiveDate,
}

#[derive(Serialize)]
struct NewAnswer {
    card: String,
    secret: String,
    serial: String,
    kind: Phrase,
    expiry: NaiveDate,
    security_code: String,
    auth_certificate: CertificateSummary,
    sign_certificate: Option<CertificateSummary>,
    sign_refusal: Option<&'static str>,
}

impl Answer for NewAnswer {
    fn lines(&self) -> Vec<Line> {
        let cert = |c: &CertificateSummary| format!("{} ({} まで / until {})", c.serial, c.not_after, c.not_after);
        vec![
            line(L_CARD, &self.card),
            line(L_SERIAL, &self.serial),
            line(L_MODE, self.kind),
            line(L_EXPIRY, self.expiry),
            line(L_SECURITY, &self.security_code),
            line(L_AUTH, cert(&self.auth_certificate)),
            line(
                L_SIGN,
                match (&self.sign_certificate, self.sign_refusal) {
                    (Some(c), _) => cert(c),
                    (None, Some(why)) => format!("なし / none ({why})"),
                    (None, None) => "なし / none".into(),
                },
            ),
        ]
    }
}

fn pin_arg(kind: PinKind, flag: &str, value: &Option<String>) -> Result<Option<Zeroizing<String>>, Failure> {
    match value {
        None => Ok(None),
        Some(v) => {
            kind.check_format(v)
                .map_err(|e| Failure::usage("pin_format", format!("{flag}: {e}")))?;
            Ok(Some(Zeroizing::new(v.clone())))
        }
    }
}

fn card_sex(sex: Sex) -> CardSex {
    match sex {
        Sex::Male => CardSex::Male,
        Sex::Female => CardSex::Female,
        Sex::Unknown => CardSex::NotApplicable,
    }
}

fn random_serial() -> Result<CardSerial, Failure> {
    let mut bytes = [0u8; 8];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| Failure::internal("no randomness".into()))?;
    // "MN" then six random bytes: recognisably ours in a trace.
    bytes[0] = b'M';
    bytes[1] = b'N';
    Ok(CardSerial(bytes))
}

fn new(a: &NewArgs) -> Result<NewAnswer, Failure> {
    let holder = ca_cmd::read_holder(&a.holder)?;
    let my_number = MyNumber::parse(&a.my_number).map_err(|e| Failure::usage(e.code(), format!("--my-number: {e}")))?;
    let pins = DeliveryPins {
        auth: pin_arg(PinKind::UserAuthentication, "--auth-pin", &a.auth_pin)?,
        sign: pin_arg(PinKind::Signature, "--sign-pin", &a.sign_pin)?,
        input_support: pin_arg(PinKind::InputSupport, "--input-pin", &a.input_pin)?,
        registry: match pin_arg(PinKind::ResidentRegistry, "--registry-pin", &a.registry_pin)? {
            Some(pin) => Some(pin),
            None => pin_arg(PinKind::ResidentRegistry, "--auth-pin", &a.auth_pin)?,
        },
    };
    let issued = a.issued.unwrap_or_else(|| mynacard_pki::time::jst_date(Utc::now()));
    let residence = match (a.stay_until, a.permanent_resident) {
        (Some(stay_until), _) => Residence::ForeignWithStay { stay_until },
        (None, true) => Residence::ForeignPermanent,
        (None, false) => Residence::Japanese,
    };
    let policies = Policies::default();
    let card = card_validity(
        &CardIssuance {
            born: holder.birth_date,
            issued,
            application_received: None,
            residence,
        },
        &policies,
    )
    .map_err(|e| Failure::rule(&e))?;
    let certificates = certificate_validity(
        &CertificateIssuance {
            born: holder.birth_date,
            issued,
            card_expiry: card.expiry,
            existing_auth_expiry: None,
            previous_expiry: None,
            adult_ward: a.adult_ward,
        },
        &policies,
    )
    .map_err(|e| Failure::rule(&e))?;
    let signature = !a.face_auth && certificates.sign_refusal.is_none();
    if !a.face_auth {
        let missing: Vec<&str> = [
            ("--auth-pin", pins.auth.is_some()),
            ("--input-pin", pins.input_support.is_some()),
            ("--sign-pin", pins.sign.is_some() || !signature),
        ]
        .iter()
        .filter(|(_, given)| !given)
        .map(|(flag, _)| *flag)
        .collect();
        if !missing.is_empty() {
            return Err(Failure::usage(
                "pin_missing",
                format!("the holder sets these PINs at delivery: {}", missing.join(", ")),
            ));
        }
    }
    let face_image = match &a.face_image {
        Some(path) => {
            std::fs::read(path).map_err(|e| Failure::usage("face_image", format!("{}: {e}", path.display())))?
        }
        None => mynacard_card::production::placeholder_photo(&holder.name),
    };
    let serial = match &a.serial {
        Some(text) => CardSerial::parse(text).ok_or_else(|| Failure::usage("serial", "--serial: 16 hex digits"))?,
        None => random_serial()?,
    };
    if a.out.exists() {
        return Err(Failure::usage(
            "card_exists",
            format!("{}: a card is already there", a.out.display()),
        ));
    }

    let keys = KeyArgs {
        dir: a.ca_dir.clone(),
        passphrase_file: a.passphrase_file.clone(),
        pkcs11_pin: None,
    };
    let ca = ca_cmd::open(&keys)?;
    let producer_dir = a.producer_dir.clone().unwrap_or_else(|| a.ca_dir.join("producer"));
    let producer = Producer::load_or_create(&producer_dir)
        .map_err(|e| Failure::from_parts(EXIT_RULE, "producer", e.to_string()))?;

    let order = CardOrder {
        my_number,
        basic_four: BasicFour {
            name: holder.name.clone(),
            address: holder.address.clone(),
            birth: holder.birth_date,
            sex: card_sex(holder.sex),
        },
        expiry: card.expiry,
        face_image,
        signature,
        face_recognition: a.face_auth,
        pins,
    };

    let secret_path = a.secret.clone().unwrap_or_else(|| default_secret(&a.out));
    let secret = StorageSecret::load_or_create(&secret_path).map_err(storage_failure)?;
    let storage = FileStorage::create(
        &a.out,
        secret,
        &CardImage::blank(serial, producer.management_key(serial)),
    )
    .map_err(storage_failure)?;
    let mut chip = Card::new(storage).map_err(storage_failure)?;

    let now = Utc::now();
    let mut issued_serials: Vec<Serial> = Vec::new();
    let mut issue = |which: JpkiKey, spki: &[u8]| -> Result<IssuedCertificate, String> {
        let profile = match which {
            JpkiKey::Auth => Profile::UserAuthentication,
            JpkiKey::Sign => Profile::Signature,
        };
        let issued_cert = ca
            .issue(
                &IssueRequest {
                    profile,
                    public_key_der: spki.to_vec(),
                    holder: holder.clone(),
                    issued,
                    not_after_cap: Some(card.expiry),
                    previous_expiry: None,
                    adult_ward: a.adult_ward,
                    counter_code: "A01".into(),
                },
                now,
            )
            .map_err(|e| e.to_string())?;
        issued_serials.push(issued_cert.serial.clone());
        let ca_certificate = ca
            .issuer_of(&issued_cert.der)
            .map_err(|e| e.to_string())?
            .root_der
            .clone();
        Ok(IssuedCertificate {
            certificate: issued_cert.der,
            ca_certificate,
        })
    };
    let produced = match producer.personalise(&mut chip, &order, &mut issue) {
        Ok(produced) => produced,
        Err(e) => {
            // A card that failed on the line is shredded; what was
            // certified for its keys is revoked.
            drop(chip);
            let _ = std::fs::remove_file(&a.out);
            for serial in &issued_serials {
                let _ = ca.revoke(serial, CrlReason::CessationOfOperation, Utc::now());
            }
            return Err(Failure::from_parts(EXIT_RULE, "production", e.to_string()));
        }
    };
    let summary = |c: &IssuedCertificate| -> Result<CertificateSummary, Failure> {
        let (serial, not_after) = certificate_facts(&c.certificate)
            .ok_or_else(|| Failure::internal("the CA returned a certificate that does not parse".into()))?;
        Ok(CertificateSummary { serial, not_after })
    };
    Ok(NewAnswer {
        card: a.out.display().to_string(),
        secret: secret_path.display().to_string(),
        serial: produced.serial.to_string(),
        kind: mode_phrase(a.face_auth),
        expiry: card.expiry,
        security_code: produced.security_code.clone(),
        auth_certificate: summary(&produced.auth)?,
        sign_certificate: produced.sign.as_ref().map(summary).transpose()?,
        sign_refusal: if a.face_auth {
            Some("face-recognition card")
        } else {
            certificates.sign_refusal.map(|r| match r {
                SignCertRefusal::UnderMinimumAge => "under 15",
                SignCertRefusal::AdultWard => "adult ward",
            })
        },
    })
}

/// The serial (hex) and last valid day (Japan) of a certificate.
fn certificate_facts(der: &[u8]) -> Option<(String, NaiveDate)> {
    use der::Decode;
    let certificate = x509_cert::Certificate::from_der(der).ok()?;
    let tbs = certificate.tbs_certificate();
    let serial = tbs
        .serial_number()
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let not_after = tbs.validity().not_after.to_unix_duration().as_secs();
    let not_after = chrono::DateTime::from_timestamp(i64::try_from(not_after).ok()?, 0)?;
    Some((serial, mynacard_pki::time::jst_date(not_after)))
}

fn parse_hex(text: &str) -> Option<Vec<u8>> {
    let text: String = text.chars().filter(|c| !c.is_whitespace() && *c != ':').collect();
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(" ")
}

/// An APDU for a trace: the data of VERIFY, CHANGE REFERENCE DATA and
/// every management command hidden.
fn redacted(command: &[u8]) -> String {
    let secret = matches!(command, [0x00, 0x20 | 0x24 | 0x2C, ..] | [0x84, ..]);
    if secret && command.len() > 5 {
        format!("{} <{} bytes redacted>", hex(&command[..4]), command.len() - 4)
    } else {
        hex(command)
    }
}

fn insert(a: &InsertArgs) -> Result<(), Failure> {
    let atr = match &a.atr {
        Some(text) => parse_hex(text)
            .filter(|atr| (2..=33).contains(&atr.len()) && matches!(atr[0], 0x3B | 0x3F))
            .ok_or_else(|| Failure::usage("atr", "--atr: 2 to 33 bytes of hex starting with 3B or 3F"))?,
        None => DEFAULT_ATR.to_vec(),
    };
    let mut card = a.file.open()?;
    let serial = card.image().map(|i| i.serial().to_string()).unwrap_or_default();
    let options = VpcdOptions {
        atr,
        reinsert: !a.once,
        ..VpcdOptions::default()
    };
    eprintln!(
        "mynacard: card {serial} ({}) waiting for vpcd at {}; stop with Ctrl-C",
        a.file.card.display(),
        a.vpcd
    );
    let trace = a.trace;
    let mut on_event = |event: Event| match event {
        Event::Inserted => eprintln!("mynacard: カードを挿入しました / card inserted"),
        Event::Removed => eprintln!("mynacard: カードを取り出しました / card removed"),
        Event::Apdu { command, response } if trace => {
            eprintln!("> {}", redacted(&command));
            eprintln!("< {}", hex(&response));
        }
        Event::PowerOff | Event::PowerOn | Event::Reset if trace => eprintln!("* {event:?}"),
        _ => {}
    };
    let stop = AtomicBool::new(false);
    vpcd::run(&mut card, &a.vpcd, &options, &stop, &mut on_event)
        .map_err(|e| Failure::from_parts(EXIT_RULE, "vpcd", e.to_string()))
}

#[derive(Serialize)]
struct PinAnswer {
    pin: &'static str,
    name: Phrase,
    remaining: u8,
    limit: u8,
    /// Whether the PIN was ever set (a minor's signature PIN, a face card's PINs are not).
    set: bool,
}

#[derive(Serialize)]
struct ShowAnswer {
    card: String,
    serial: String,
    kind: Phrase,
    pins: Vec<PinAnswer>,
    auth_certificate: Option<CertificateSummary>,
    sign_certificate: Option<CertificateSummary>,
}

impl Answer for ShowAnswer {
    fn lines(&self) -> Vec<Line> {
        let cert = |c: &Option<CertificateSummary>| match c {
            Some(c) => format!("{} ({} まで / until {})", c.serial, c.not_after, c.not_after),
            None => "なし / none".into(),
        };
        let mut lines = vec![
            line(L_CARD, &self.card),
            line(L_SERIAL, &self.serial),
            line(L_MODE, self.kind),
            line(L_AUTH, cert(&self.auth_certificate)),
            line(L_SIGN, cert(&self.sign_certificate)),
        ];
        for pin in &self.pins {
            let value = if pin.set {
                format!("{}: {}/{}", pin.name, pin.remaining, pin.limit)
            } else {
                format!("{}: 未設定 / not set", pin.name)
            };
            lines.push(line(L_PIN, value));
        }
        lines
    }
}

/// The bilingual name of a PIN.
pub fn pin_phrase(pin: PinRef) -> Phrase {
    match pin {
        PinRef::Auth => Phrase::new("利用者証明用", "user authentication"),
        PinRef::Sign => Phrase::new("署名用", "signature"),
        PinRef::InputSupport => Phrase::new("券面事項入力補助用", "input support"),
        PinRef::Registry => Phrase::new("住民基本台帳用", "resident registry"),
    }
}

fn show(a: &ShowArgs) -> Result<ShowAnswer, Failure> {
    let card = a.file.open()?;
    let image = card
        .image()
        .ok_or_else(|| Failure::internal("the card image cannot be read".into()))?;
    let serial = image.serial().to_string();
    let face = image.face_recognition();
    let summary = |fid| {
        let der = image.file(Application::Jpki, fid);
        certificate_facts(der).map(|(serial, not_after)| CertificateSummary { serial, not_after })
    };
    let auth_certificate = summary(jpki::AUTH_CERT);
    let sign_certificate = summary(jpki::SIGN_CERT);
    let set: Vec<(PinRef, bool)> = PinRef::ALL
        .into_iter()
        .map(|pin| {
            let (app, fid) = pin.location();
            (pin, image.pin(app, fid).is_some_and(|p| p.is_set()))
        })
        .collect();
    let mut reader = VirtualReader::new(a.file.card.display().to_string(), card);
    let mut client = JpkiClient::new(&mut reader);
    let pins = PinRef::ALL
        .into_iter()
        .map(|pin| {
            client
                .pin_status(pin)
                .map(|s| PinAnswer {
                    pin: pin.short(),
                    name: pin_phrase(pin),
                    remaining: s.remaining,
                    limit: s.limit,
                    set: set.iter().any(|(p, is_set)| *p == pin && *is_set),
                })
                .map_err(|e| Failure::from_parts(EXIT_RULE, "card", e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ShowAnswer {
        card: a.file.card.display().to_string(),
        serial,
        kind: mode_phrase(face),
        pins,
        auth_certificate,
        sign_certificate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traces_hide_pins_and_management_data() {
        let verify = [0x00, 0x20, 0x00, 0x80, 0x04, b'1', b'2', b'3', b'4'];
        assert_eq!(redacted(&verify), "00 20 00 80 <5 bytes redacted>");
        assert!(!redacted(&[0x00, 0x24, 0x01, 0x80, 0x04, b'9', b'9', b'9', b'9']).contains("39"));
        assert!(redacted(&[0x84, 0x2C, 0x01, 0x18, 0x00, 0x00, 0x04, 1, 2, 3, 4]).contains("redacted"));
        assert_eq!(redacted(&[0x00, 0x20, 0x00, 0x80]), "00 20 00 80");
        assert_eq!(redacted(&[0x00, 0xB0, 0x00, 0x00, 0x04]), "00 B0 00 00 04");
    }

    #[test]
    fn atr_hex() {
        assert_eq!(parse_hex("3B E0 00 FF 81 31 FE 45 14"), Some(DEFAULT_ATR.to_vec()));
        assert_eq!(parse_hex("3b:e0"), Some(vec![0x3B, 0xE0]));
        assert_eq!(parse_hex("3B E"), None);
        assert_eq!(parse_hex("zz"), None);
    }
}
