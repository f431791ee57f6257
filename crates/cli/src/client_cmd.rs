//! `mynacard client …`: 利用者クライアントソフト, the resident's client.
//!
//! It talks to the card only through its public APDUs, via PC/SC (pcscd:
//! the virtual card behind vpcd, or a real My Number Card in a real reader)
//! or, with `--card`, to a virtual card image in this process.
//!
//! PINs come from the flags or, when a flag is absent, from the environment
//! (`MYNACARD_PIN`, `MYNACARD_NEW_PIN`, `MYNACARD_SIGN_PIN`), which keeps them
//! out of `ps`. They are never printed.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use mynacard_card::JpkiKey;
use mynacard_pki::profile::to_pem;
use mynacard_pki::signer::write_atomically;
use mynacard_reader::client::{verify_sha256, ClientError};
use mynacard_reader::{CardReader, JpkiClient, PcscReader, PinRef, ReaderError, VirtualReader};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::card_cmd::{pin_phrase, CardFile};
use crate::output::{emit, line, Answer, Failure, Line, Phrase, EXIT_RULE, EXIT_USAGE};

/// `mynacard client`.
#[derive(Debug, Args)]
pub struct ClientArgs {
    /// Print one JSON object instead of bilingual text
    #[arg(long, global = true)]
    pub json: bool,
    /// The PC/SC reader (a part of its name; default: the first reader with a card)
    #[arg(long, global = true, value_name = "NAME", conflicts_with = "card")]
    pub reader: Option<String>,
    /// A virtual card image, used in this process instead of PC/SC
    #[arg(long, global = true, value_name = "CARD")]
    pub card: Option<PathBuf>,
    /// The virtual card's storage secret (default: CARD.secret)
    #[arg(long, global = true, value_name = "FILE", requires = "card")]
    pub secret: Option<PathBuf>,
    #[command(subcommand)]
    pub command: ClientCommand,
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Tries left of every PIN (spends none)
    Status,
    /// Export the certificates (PEM): auth, its CA, the signature CA, and with --sign-pin the signature certificate
    Certs(CertsArgs),
    /// Sign a file: SHA-256, DigestInfo, PKCS#1 v1.5 on the card
    Sign(SignArgs),
    /// Change a PIN
    ChangePin(ChangePinArgs),
    /// My Number and the basic 4 information (input-support PIN)
    MyInfo(MyInfoArgs),
    /// List the PC/SC readers
    Readers,
}

#[derive(Debug, Args)]
pub struct CertsArgs {
    /// Directory to write auth.pem, auth-ca.pem, sign-ca.pem (and sign.pem)
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// The signature PIN, to read the signature certificate (or MYNACARD_SIGN_PIN)
    #[arg(long, value_name = "PIN")]
    sign_pin: Option<String>,
}

#[derive(Debug, Args)]
pub struct SignArgs {
    /// auth | sign
    #[arg(long, value_name = "KEY", value_parser = key_arg)]
    key: JpkiKey,
    /// The key's PIN (or MYNACARD_PIN)
    #[arg(long, value_name = "PIN")]
    pin: Option<String>,
    /// The file to sign
    #[arg(long = "in", value_name = "FILE")]
    input: PathBuf,
    /// Where to write the signature (256 bytes, raw)
    #[arg(long, value_name = "SIG")]
    out: PathBuf,
}

#[derive(Debug, Args)]
pub struct ChangePinArgs {
    /// auth | sign | input | registry
    #[arg(long, value_name = "PIN", value_parser = pin_ref_arg)]
    which: PinRef,
    /// The current PIN (or MYNACARD_PIN)
    #[arg(long, value_name = "PIN")]
    old: Option<String>,
    /// The new PIN (or MYNACARD_NEW_PIN)
    #[arg(long, value_name = "PIN")]
    new: Option<String>,
}

#[derive(Debug, Args)]
pub struct MyInfoArgs {
    /// The input-support PIN (or MYNACARD_PIN)
    #[arg(long, value_name = "PIN")]
    pin: Option<String>,
}

fn key_arg(text: &str) -> Result<JpkiKey, String> {
    match text {
        "auth" => Ok(JpkiKey::Auth),
        "sign" => Ok(JpkiKey::Sign),
        _ => Err("auth or sign".into()),
    }
}

fn pin_ref_arg(text: &str) -> Result<PinRef, String> {
    PinRef::from_short(text).ok_or_else(|| "auth, sign, input or registry".into())
}

/// Runs `mynacard client …`.
pub fn run(args: ClientArgs) -> std::process::ExitCode {
    let json = args.json;
    let result = match &args.command {
        ClientCommand::Readers => readers().and_then(|a| emit(&a, json)),
        command => with_reader(&args, |client| match command {
            ClientCommand::Status => status(client).and_then(|a| emit(&a, json)),
            ClientCommand::Certs(a) => certs(client, a).and_then(|a| emit(&a, json)),
            ClientCommand::Sign(a) => sign(client, a).and_then(|a| emit(&a, json)),
            ClientCommand::ChangePin(a) => change_pin(client, a).and_then(|a| emit(&a, json)),
            ClientCommand::MyInfo(a) => my_info(client, a).and_then(|a| emit(&a, json)),
            ClientCommand::Readers => Ok(()),
        }),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(failure) => failure.report(json),
    }
}

fn with_reader(args: &ClientArgs, f: impl FnOnce(&mut JpkiClient<'_>) -> Result<(), Failure>) -> Result<(), Failure> {
    let mut reader: Box<dyn CardReader> = match &args.card {
        Some(card) => {
            let file = CardFile {
                card: card.clone(),
                secret: args.secret.clone(),
            };
            Box::new(VirtualReader::new(card.display().to_string(), file.open()?))
        }
        None => Box::new(PcscReader::connect(args.reader.as_deref()).map_err(reader_failure)?),
    };
    let mut client = JpkiClient::new(reader.as_mut());
    f(&mut client)
}

fn reader_failure(e: ReaderError) -> Failure {
    let code = match e {
        ReaderError::NoCard(_) => "no_card",
        ReaderError::Pcsc(_) => "pcsc",
        ReaderError::Storage(_) => "card_storage",
        ReaderError::Malformed(_) => "card_response",
    };
    Failure::from_parts(EXIT_RULE, code, e.to_string())
}

fn client_failure(e: ClientError) -> Failure {
    match e {
        ClientError::Reader(e) => reader_failure(e),
        ClientError::WrongPin { remaining } => Failure::from_parts(
            EXIT_RULE,
            "wrong_pin",
            format!("暗証番号が違います。残り{remaining}回 / wrong PIN: {remaining} tries left"),
        ),
        ClientError::Locked => Failure::from_parts(
            EXIT_RULE,
            "pin_locked",
            "暗証番号がロックされています。市区町村の窓口で初期化してください / the PIN is locked: reset it at the municipal window"
                .into(),
        ),
        ClientError::NotSet => Failure::from_parts(EXIT_RULE, "pin_not_set", e.to_string()),
        ClientError::Format(_) => Failure::from_parts(EXIT_USAGE, "pin_format", e.to_string()),
        ClientError::NotMyNumberCard(_) => Failure::from_parts(EXIT_RULE, "not_my_number_card", e.to_string()),
        ClientError::Refused { .. } => Failure::from_parts(EXIT_RULE, "card_refused", e.to_string()),
        ClientError::Content(_) => Failure::from_parts(EXIT_RULE, "card_content", e.to_string()),
    }
}

/// A PIN from its flag, else from the environment variable `env`.
fn secret_arg(flag: &Option<String>, env: &str, name: &str) -> Result<Zeroizing<String>, Failure> {
    match flag {
        Some(value) => Ok(Zeroizing::new(value.clone())),
        None => std::env::var(env)
            .map(Zeroizing::new)
            .map_err(|_| Failure::usage("pin_missing", format!("give {name} or set {env}"))),
    }
}

const L_READER: Phrase = Phrase::new("カードリーダー", "Reader");
const L_PIN: Phrase = Phrase::new("暗証番号の残り回数", "PIN tries left");
const L_FILE: Phrase = Phrase::new("出力ファイル", "Written to");
const L_KEY: Phrase = Phrase::new("鍵", "Key");
const L_VERIFIED: Phrase = Phrase::new("署名の検証", "Signature check");
const L_CHANGED: Phrase = Phrase::new("暗証番号を変更しました", "PIN changed");
const L_MY_NUMBER: Phrase = Phrase::new("個人番号", "My Number");
const L_NAME: Phrase = Phrase::new("氏名", "Name");
const L_ADDRESS: Phrase = Phrase::new("住所", "Address");
const L_BIRTH: Phrase = Phrase::new("生年月日", "Date of birth");
const L_SEX: Phrase = Phrase::new("性別", "Sex");
const L_GENUINE: Phrase = Phrase::new("券面事項の署名", "Producer signature");

#[derive(Serialize)]
struct ReadersAnswer {
    readers: Vec<String>,
}

impl Answer for ReadersAnswer {
    fn lines(&self) -> Vec<Line> {
        self.readers.iter().map(|r| line(L_READER, r)).collect()
    }
}

fn readers() -> Result<ReadersAnswer, Failure> {
    Ok(ReadersAnswer {
        readers: mynacard_reader::readers().map_err(reader_failure)?,
    })
}

#[derive(Serialize)]
struct PinLine {
    pin: &'static str,
    name: Phrase,
    remaining: u8,
    limit: u8,
    locked: bool,
    /// `false` for the signature PIN of a card without a signature
    /// certificate (a minor's, an adult ward's): its tries mean nothing.
    in_use: bool,
}

#[derive(Serialize)]
struct StatusAnswer {
    reader: String,
    pins: Vec<PinLine>,
}

impl Answer for StatusAnswer {
    fn lines(&self) -> Vec<Line> {
        let mut lines = vec![line(L_READER, &self.reader)];
        for pin in &self.pins {
            let value = if !pin.in_use {
                format!("{}: 署名用電子証明書なし / no signature certificate", pin.name)
            } else if pin.locked {
                format!("{}: {}/{} ロック / locked", pin.name, pin.remaining, pin.limit)
            } else {
                format!("{}: {}/{}", pin.name, pin.remaining, pin.limit)
            };
            lines.push(line(L_PIN, value));
        }
        lines
    }
}

fn status(client: &mut JpkiClient<'_>) -> Result<StatusAnswer, Failure> {
    let pins = client.status().map_err(client_failure)?;
    // The signature CA's certificate is written only with a signature
    // certificate; its absence (free to read) says the signature PIN is unused.
    let signature = match client.read_ca_certificate(JpkiKey::Sign) {
        Ok(_) => true,
        Err(ClientError::Content(_)) | Err(ClientError::Refused { .. }) => false,
        Err(e) => return Err(client_failure(e)),
    };
    Ok(StatusAnswer {
        reader: client.reader().name(),
        pins: pins
            .into_iter()
            .map(|s| PinLine {
                pin: s.pin.short(),
                name: pin_phrase(s.pin),
                remaining: s.remaining,
                limit: s.limit,
                locked: s.remaining == 0,
                in_use: s.pin != PinRef::Sign || signature,
            })
            .collect(),
    })
}

#[derive(Serialize)]
struct FilesAnswer {
    files: Vec<String>,
}

impl Answer for FilesAnswer {
    fn lines(&self) -> Vec<Line> {
        self.files.iter().map(|f| line(L_FILE, f)).collect()
    }
}

fn certs(client: &mut JpkiClient<'_>, a: &CertsArgs) -> Result<FilesAnswer, Failure> {
    client.check_card().map_err(client_failure)?;
    let sign_pin = match &a.sign_pin {
        Some(pin) => Some(Zeroizing::new(pin.clone())),
        None => std::env::var("MYNACARD_SIGN_PIN").ok().map(Zeroizing::new),
    };
    let mut written = Vec::new();
    let mut files = vec![
        ("auth.pem", client.read_certificate(JpkiKey::Auth, None)),
        ("auth-ca.pem", client.read_ca_certificate(JpkiKey::Auth)),
    ];
    files.push(("sign-ca.pem", client.read_ca_certificate(JpkiKey::Sign)));
    if let Some(pin) = &sign_pin {
        files.push(("sign.pem", client.read_certificate(JpkiKey::Sign, Some(pin))));
    }
    std::fs::create_dir_all(&a.out).map_err(|e| Failure::usage("out", format!("{}: {e}", a.out.display())))?;
    for (name, der) in files {
        let der = match der {
            Ok(der) => der,
            // A face-recognition card or a minor's card has no signature side.
            Err(ClientError::Refused { .. }) | Err(ClientError::Content(_))
                if name.starts_with("sign") && sign_pin.is_none() =>
            {
                continue
            }
            Err(e) => return Err(client_failure(e)),
        };
        let path = a.out.join(name);
        write_atomically(&path, to_pem("CERTIFICATE", &der).as_bytes(), false).map_err(|e| Failure::pki(&e))?;
        written.push(path.display().to_string());
    }
    Ok(FilesAnswer { files: written })
}

#[derive(Serialize)]
struct SignAnswer {
    key: &'static str,
    out: String,
    verified: bool,
}

impl Answer for SignAnswer {
    fn lines(&self) -> Vec<Line> {
        vec![
            line(L_KEY, self.key),
            line(L_FILE, &self.out),
            line(L_VERIFIED, if self.verified { "OK" } else { "NG" }),
        ]
    }
}

fn sign(client: &mut JpkiClient<'_>, a: &SignArgs) -> Result<SignAnswer, Failure> {
    let pin = secret_arg(&a.pin, "MYNACARD_PIN", "--pin")?;
    let message = std::fs::read(&a.input).map_err(|e| Failure::usage("in", format!("{}: {e}", a.input.display())))?;
    client.check_card().map_err(client_failure)?;
    let signed = client.sign_sha256(a.key, &pin, &message).map_err(client_failure)?;
    let signature = signed.signature;
    let verified = verify_sha256(&signed.certificate, &message, &signature);
    if !verified {
        return Err(Failure::from_parts(
            EXIT_RULE,
            "signature_mismatch",
            "the card's signature does not verify with its certificate".into(),
        ));
    }
    write_atomically(&a.out, &signature, false).map_err(|e| Failure::pki(&e))?;
    Ok(SignAnswer {
        key: match a.key {
            JpkiKey::Auth => "auth",
            JpkiKey::Sign => "sign",
        },
        out: a.out.display().to_string(),
        verified,
    })
}

#[derive(Serialize)]
struct ChangedAnswer {
    pin: &'static str,
    name: Phrase,
}

impl Answer for ChangedAnswer {
    fn lines(&self) -> Vec<Line> {
        vec![line(L_CHANGED, self.name)]
    }
}

fn change_pin(client: &mut JpkiClient<'_>, a: &ChangePinArgs) -> Result<ChangedAnswer, Failure> {
    let old = secret_arg(&a.old, "MYNACARD_PIN", "--old")?;
    let new = secret_arg(&a.new, "MYNACARD_NEW_PIN", "--new")?;
    client.check_card().map_err(client_failure)?;
    client.change_pin(a.which, &old, &new).map_err(client_failure)?;
    Ok(ChangedAnswer {
        pin: a.which.short(),
        name: pin_phrase(a.which),
    })
}

#[derive(Serialize)]
struct MyInfoAnswer {
    my_number: String,
    name: String,
    address: String,
    birth_date: chrono::NaiveDate,
    sex: &'static str,
    producer_signature_valid: bool,
}

impl Answer for MyInfoAnswer {
    fn lines(&self) -> Vec<Line> {
        vec![
            line(L_MY_NUMBER, &self.my_number),
            line(L_NAME, &self.name),
            line(L_ADDRESS, &self.address),
            line(L_BIRTH, self.birth_date),
            line(L_SEX, self.sex),
            line(L_GENUINE, if self.producer_signature_valid { "OK" } else { "NG" }),
        ]
    }
}

fn my_info(client: &mut JpkiClient<'_>, a: &MyInfoArgs) -> Result<MyInfoAnswer, Failure> {
    use mynacard_card::input_support::Sex;
    let pin = secret_arg(&a.pin, "MYNACARD_PIN", "--pin")?;
    client.check_card().map_err(client_failure)?;
    let info = client.my_info(&pin).map_err(client_failure)?;
    let basic = info.basic_four.basic;
    Ok(MyInfoAnswer {
        my_number: info.my_number.expose(),
        name: basic.name,
        address: basic.address,
        birth_date: basic.birth,
        sex: match basic.sex {
            Sex::Male => "男 / male",
            Sex::Female => "女 / female",
            Sex::NotApplicable => "-",
        },
        producer_signature_valid: info.signature_valid,
    })
}
