//! `mynacard card new|show` and `mynacard client --card …` as an operator
//! and a resident run them: the card producer's line with the CA of
//! `mynacard ca init`, the expiries of rules.md §2–3, PIN formats (§4)
//! refused without echoing a PIN, the owner's view of a card, the resident's
//! client on a card image in process, and a card image guarded against a
//! second process and a wrong storage secret.
//!
//! One test CA (with its producer directory) is made once per run; every
//! test works in a temp dir of its own under `CARGO_TARGET_TMPDIR` (kept,
//! and named on stderr, when the test fails).

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::Duration;

use der::Decode;
use serde_json::Value;

mod support;

use support::{p, remove_stale_dirs, scratch_root, TempDir};

/// The root of this binary's scratch directories (tests/support).
const SCRATCH: &str = "card-cli";

const BIN: &str = env!("CARGO_BIN_EXE_mynacard");

const AUTH_PIN: &str = "1234";
const SIGN_PIN: &str = "ABC123";
const INPUT_PIN: &str = "5678";
const MY_NUMBER: &str = "123456789018";
const ISSUED: &str = "2026-11-01";

// ---------------------------------------------------------------------------
// Temp dirs, commands

/// What a finished command left.
#[derive(Debug)]
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
    command: String,
}

impl Out {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("`{}`: stdout is not JSON ({e}):\n{}", self.command, self.stdout))
    }

    /// stdout and stderr together.
    fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

fn describe(command: &Command) -> String {
    let args: Vec<String> = command.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
    format!("{} {}", command.get_program().to_string_lossy(), args.join(" "))
}

/// `mynacard …`, with no PIN or passphrase inherited from the caller.
fn mynacard<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env_remove("MYNACARD_PIN")
        .env_remove("MYNACARD_NEW_PIN")
        .env_remove("MYNACARD_SIGN_PIN")
        .env_remove("MYNACARD_CA_PASSPHRASE");
    command
}

fn run(mut command: Command) -> Out {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{}`: {e}", describe(&command)));
    let out = Out {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(output.stderr).expect("UTF-8 stderr"),
        command: describe(&command),
    };
    assert!(
        !out.all().contains("panicked"),
        "`{}` panicked:\n{}",
        out.command,
        out.all()
    );
    out
}

/// Runs `command`, which must succeed.
fn ok(command: Command) -> Out {
    let out = run(command);
    assert_eq!(
        out.code, 0,
        "`{}` failed:\nstdout: {}\nstderr: {}",
        out.command, out.stdout, out.stderr
    );
    out
}

/// Runs `command`, which must fail with `code`: one line `mynacard: …` on
/// stderr, and on stdout nothing (text) or one error object (`--json`).
/// Returns the stderr line.
fn fails(command: Command, code: i32) -> Out {
    let out = run(command);
    assert_eq!(
        out.code, code,
        "`{}`:\nstdout: {}\nstderr: {}",
        out.command, out.stdout, out.stderr
    );
    assert_eq!(out.stderr.lines().count(), 1, "`{}`: {:?}", out.command, out.stderr);
    assert!(
        out.stderr.starts_with("mynacard: "),
        "`{}`: {}",
        out.command,
        out.stderr
    );
    if out.command.contains(" --json") {
        let v = out.json();
        assert!(v["error"]["code"].is_string(), "{v}");
        assert!(v["error"]["message"].is_string(), "{v}");
    } else {
        assert!(out.stdout.is_empty(), "`{}`: {}", out.command, out.stdout);
    }
    out
}

// ---------------------------------------------------------------------------
// The CA, holders, cards

/// The CA shared by every test, with its producer made (so that no two
/// `card new` race to create it).
fn ca_dir() -> &'static Path {
    static CA: OnceLock<PathBuf> = OnceLock::new();
    CA.get_or_init(|| {
        remove_stale_dirs();
        let dir = scratch_root().join(format!("ca-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("CA dir");
        let ca = dir.join("ca");
        ok(mynacard(["ca", "init", "--dir", p(&ca), "--test", "--json"]));
        let holder = holder(&dir, "1985-04-01");
        ok(card_new_with(&ca, &holder, &dir.join("first.img"), &standard_pins()));
        assert!(ca.join("producer").join("master.key").exists());
        ca
    })
}

/// A holder file in `dir` (`holder-BIRTH.json`).
fn holder(dir: &Path, birth: &str) -> PathBuf {
    let path = dir.join(format!("holder-{birth}.json"));
    let text = format!(
        r#"{{"name":"番号　花子","address":"東京都千代田区霞が関２－１－２","birth_date":"{birth}","sex":"female","municipality":"Chiyoda-ku"}}"#
    );
    std::fs::write(&path, text).expect("holder file");
    path
}

fn standard_pins() -> Vec<String> {
    ["--auth-pin", AUTH_PIN, "--sign-pin", SIGN_PIN, "--input-pin", INPUT_PIN]
        .map(String::from)
        .to_vec()
}

/// `card new --out OUT` for `holder` with the CA in `ca`, issued
/// 2026-11-01, with `extra`.
fn card_new_with(ca: &Path, holder: &Path, out: &Path, extra: &[String]) -> Command {
    let mut command = mynacard([
        "card",
        "new",
        "--out",
        p(out),
        "--ca-dir",
        p(ca),
        "--holder",
        p(holder),
        "--my-number",
        MY_NUMBER,
        "--issued",
        ISSUED,
    ]);
    command.args(extra);
    command
}

/// `card new` with the shared CA.
fn card_new(holder: &Path, out: &Path, extra: &[String]) -> Command {
    card_new_with(ca_dir(), holder, out, extra)
}

/// A fresh adult card with the standard PINs; its `card new --json` answer.
fn new_card(dir: &TempDir, name: &str) -> (PathBuf, Value) {
    let holder = holder(dir.path(), "1985-04-01");
    let card = dir.join(name);
    let mut extra = standard_pins();
    extra.push("--json".into());
    let answer = ok(card_new(&holder, &card, &extra)).json();
    (card, answer)
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string in {v}"))
}

fn client(card: &Path, args: &[&str]) -> Command {
    let mut command = mynacard(["client", "--card", p(card)]);
    command.args(args);
    command
}

/// (pin, remaining, limit) of `card show --json` or `client status --json`.
fn pins_of(v: &Value) -> Vec<(String, u64, u64)> {
    v["pins"]
        .as_array()
        .unwrap_or_else(|| panic!("no pins in {v}"))
        .iter()
        .map(|pin| {
            (
                s(pin, "pin").to_owned(),
                pin["remaining"].as_u64().expect("remaining"),
                pin["limit"].as_u64().expect("limit"),
            )
        })
        .collect()
}

fn full_tries() -> Vec<(String, u64, u64)> {
    [("sign", 5), ("auth", 3), ("registry", 3), ("input", 3)]
        .map(|(pin, n)| (pin.to_owned(), n, n))
        .to_vec()
}

/// The serial (lowercase hex) and subject of a certificate in a PEM file.
fn pem_certificate(path: &Path) -> (String, Vec<u8>) {
    let pem = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let der = mynacard_pki::profile::from_pem("CERTIFICATE", &pem).expect("PEM certificate");
    let certificate = x509_cert::Certificate::from_der(&der).expect("X.509");
    let serial = certificate
        .tbs_certificate()
        .serial_number()
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    (serial, der)
}

/// The expiries the rules engine gives for a holder born `born`, issued on ISSUED.
fn rules_card_expiry(born: &str, extra: &[&str]) -> String {
    let mut args = vec!["rules", "card-expiry", "--born", born, "--issued", ISSUED, "--json"];
    args.extend_from_slice(extra);
    s(&ok(mynacard(args)).json(), "card_expiry").to_owned()
}

fn rules_cert_expiry(born: &str, card_expiry: &str) -> Value {
    ok(mynacard([
        "rules",
        "cert-expiry",
        "--born",
        born,
        "--issued",
        ISSUED,
        "--card-expiry",
        card_expiry,
        "--json",
    ]))
    .json()
}

// ---------------------------------------------------------------------------
// card new

#[test]
fn card_new_makes_a_card_with_the_expiries_of_the_rules() {
    let dir = TempDir::new("new");
    let holder = holder(dir.path(), "1985-04-01");
    let card = dir.join("card.img");
    let mut extra = standard_pins();
    extra.extend(["--serial", "4D4E0000000000A1", "--json"].map(String::from));
    let answer = ok(card_new(&holder, &card, &extra)).json();

    // rules.md §2: 18 or older → the 10th birthday after issuance; §3: the
    // certificates → the 5th birthday after issuance, capped by the card.
    // Born 1985-04-01, issued 2026-11-01: birthdays after it 2027-04-01 (1st)
    // … 2031-04-01 (5th) … 2036-04-01 (10th).
    assert_eq!(rules_card_expiry("1985-04-01", &[]), "2036-04-01");
    let certs = rules_cert_expiry("1985-04-01", "2036-04-01");
    assert_eq!(s(&certs, "auth_cert_expiry"), "2031-04-01", "{certs}");
    assert_eq!(s(&certs, "sign_cert_expiry"), "2031-04-01", "{certs}");

    assert_eq!(s(&answer, "serial"), "4D4E0000000000A1");
    assert_eq!(s(&answer, "expiry"), "2036-04-01");
    assert_eq!(s(&answer["auth_certificate"], "not_after"), "2031-04-01");
    assert_eq!(s(&answer["sign_certificate"], "not_after"), "2031-04-01");
    assert!(answer["sign_refusal"].is_null(), "{answer}");
    assert_eq!(s(&answer["kind"], "en"), "My Number Card");
    let code = s(&answer, "security_code");
    assert!(code.len() == 4 && code.bytes().all(|b| b.is_ascii_digit()), "{code}");
    assert_eq!(s(&answer, "card"), p(&card));
    let secret = PathBuf::from(s(&answer, "secret"));
    assert_eq!(secret, dir.join("card.img.secret"));
    assert_eq!(std::fs::read(&secret).expect("secret").len(), 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for file in [&card, &secret] {
            let mode = std::fs::metadata(file).expect("metadata").permissions().mode();
            assert_eq!(mode & 0o077, 0, "{} is readable by others: {mode:o}", file.display());
        }
    }
    // The image is encrypted: no personal data in clear.
    let image = std::fs::read(&card).expect("image");
    assert!(!image.windows(MY_NUMBER.len()).any(|w| w == MY_NUMBER.as_bytes()));
    assert!(!image.windows(SIGN_PIN.len()).any(|w| w == SIGN_PIN.as_bytes()));

    // The text answer says the same, in both languages.
    let card2 = dir.join("card2.img");
    let text = ok(card_new(&holder, &card2, &standard_pins())).stdout;
    assert!(
        text.contains("カードの有効期限 / Card valid until: 2036-04-01\n"),
        "{text}"
    );
    assert!(text.contains("(2031-04-01 まで / until 2031-04-01)"), "{text}");
    assert!(text.contains("カード番号 / Card serial: "), "{text}");
    for l in text.lines() {
        let (label, _) = l.split_once(": ").unwrap_or_else(|| panic!("no label in {l:?}"));
        assert!(label.contains(" / "), "label not bilingual: {l:?}");
    }
}

#[test]
fn card_new_refuses_an_existing_out_and_changes_nothing() {
    let dir = TempDir::new("exists");
    let (card, _) = new_card(&dir, "card.img");
    let secret = dir.join("card.img.secret");
    let before = (
        std::fs::read(&card).expect("image"),
        std::fs::read(&secret).expect("secret"),
    );
    let holder = holder(dir.path(), "1985-04-01");
    let out = fails(card_new(&holder, &card, &standard_pins()), 2);
    assert!(out.stderr.contains("already there"), "{}", out.stderr);
    let mut extra = standard_pins();
    extra.push("--json".into());
    let out = fails(card_new(&holder, &card, &extra), 2);
    assert_eq!(s(&out.json()["error"], "code"), "card_exists");
    assert_eq!(
        (
            std::fs::read(&card).expect("image"),
            std::fs::read(&secret).expect("secret")
        ),
        before,
        "the card was changed"
    );
    // Nor is any other file overwritten.
    let other = dir.join("notes.txt");
    std::fs::write(&other, "not a card").expect("write");
    fails(card_new(&holder, &other, &standard_pins()), 2);
    assert_eq!(std::fs::read_to_string(&other).expect("read"), "not a card");
    assert!(!dir.join("notes.txt.secret").exists());
    // The card still works.
    assert_eq!(
        pins_of(&ok(mynacard(["card", "show", p(&card), "--json"])).json()),
        full_tries()
    );
}

/// No file of a card at `card` (image, secret, lock).
fn assert_no_card(card: &Path) {
    for suffix in ["", ".secret", ".lock"] {
        let mut name = card.as_os_str().to_owned();
        name.push(suffix);
        assert!(!Path::new(&name).exists(), "{} was created", Path::new(&name).display());
    }
}

#[test]
fn card_new_refuses_a_malformed_my_number() {
    let dir = TempDir::new("my-number");
    let holder = holder(dir.path(), "1985-04-01");
    let card = dir.join("card.img");
    for bad in ["123456789012", "12345678901", "1234567890189", "12345678901X", ""] {
        let mut command = mynacard([
            "card",
            "new",
            "--out",
            p(&card),
            "--ca-dir",
            p(ca_dir()),
            "--holder",
            p(&holder),
            "--my-number",
            bad,
            "--issued",
            ISSUED,
        ]);
        command.args(standard_pins());
        let out = fails(command, 2);
        assert!(out.stderr.contains("--my-number"), "{bad}: {}", out.stderr);
        for pin in [AUTH_PIN, SIGN_PIN, INPUT_PIN] {
            assert!(!out.all().contains(pin), "{bad}: a PIN is echoed: {}", out.all());
        }
        assert_no_card(&card);
    }
}

#[test]
fn card_new_refuses_bad_pins_without_echoing_them() {
    let dir = TempDir::new("bad-pins");
    let holder = holder(dir.path(), "1985-04-01");
    let card = dir.join("card.img");
    // Good PINs that are unlikely to appear by chance, and bad ones.
    let (auth, sign, input) = ("4826", "PQX947", "7351");
    let cases: &[(&str, &str)] = &[
        ("--auth-pin", "98765"),
        ("--auth-pin", "9a8b"),
        ("--auth-pin", "９８７６"),
        ("--sign-pin", "zq9x8w"),
        ("--sign-pin", "QWERTYUI"),
        ("--sign-pin", "QZ8"),
        ("--sign-pin", "QZ8QZ8QZ8QZ8QZ8QZ"),
        ("--input-pin", "77"),
        ("--registry-pin", "4x4x"),
    ];
    for (flag, bad) in cases {
        for json in [false, true] {
            for joined in [false, true] {
                let mut args: Vec<String> = Vec::new();
                for (f, good) in [("--auth-pin", auth), ("--sign-pin", sign), ("--input-pin", input)] {
                    if f != *flag {
                        args.extend([f.to_owned(), good.to_owned()]);
                    }
                }
                if joined {
                    args.push(format!("{flag}={bad}"));
                } else {
                    args.extend([flag.to_string(), bad.to_string()]);
                }
                if json {
                    args.push("--json".into());
                }
                let out = fails(card_new(&holder, &card, &args), 2);
                assert!(out.stderr.contains(flag), "{flag} {bad}: {}", out.stderr);
                if json {
                    assert_eq!(s(&out.json()["error"], "code"), "pin_format");
                }
                let all = out.all().replace(p(dir.path()), "<dir>");
                for secret in [*bad, auth, sign, input] {
                    assert!(!all.contains(secret), "{flag} {bad}: {secret} is echoed:\n{all}");
                }
                assert_no_card(&card);
            }
        }
    }
}

#[test]
fn card_new_needs_the_pins_unless_face_auth() {
    let dir = TempDir::new("need-pins");
    let holder = holder(dir.path(), "1985-04-01");
    let card = dir.join("card.img");
    let out = fails(card_new(&holder, &card, &[]), 2);
    for flag in ["--auth-pin", "--sign-pin", "--input-pin"] {
        assert!(out.stderr.contains(flag), "{}", out.stderr);
    }
    for missing in ["--auth-pin", "--sign-pin", "--input-pin"] {
        let mut args = Vec::new();
        for (flag, value) in [
            ("--auth-pin", AUTH_PIN),
            ("--sign-pin", SIGN_PIN),
            ("--input-pin", INPUT_PIN),
        ] {
            if flag != missing {
                args.extend([flag.to_owned(), value.to_owned()]);
            }
        }
        args.push("--json".into());
        let out = fails(card_new(&holder, &card, &args), 2);
        assert_eq!(s(&out.json()["error"], "code"), "pin_missing");
        assert!(out.stderr.contains(missing), "{}", out.stderr);
        assert_no_card(&card);
    }

    // A face-recognition card: no PINs at all, no signature certificate.
    let answer = ok(card_new(&holder, &card, &["--face-auth".into(), "--json".into()])).json();
    assert_eq!(s(&answer["kind"], "en"), "face-recognition card");
    assert!(answer["sign_certificate"].is_null(), "{answer}");
    assert_eq!(s(&answer, "sign_refusal"), "face-recognition card");
    assert_eq!(s(&answer["auth_certificate"], "not_after"), "2031-04-01");
    let show = ok(mynacard(["card", "show", p(&card), "--json"])).json();
    assert_eq!(s(&show["kind"], "en"), "face-recognition card");
    for (pin, remaining, _) in pins_of(&show) {
        assert_eq!(remaining, 0, "{pin} on a face card");
    }
    assert!(show["sign_certificate"].is_null());
    assert_eq!(
        s(&show["auth_certificate"], "serial"),
        s(&answer["auth_certificate"], "serial")
    );
    // The resident's client: the PINs are locked, the auth certificate readable.
    let status = ok(client(&card, &["status", "--json"])).json();
    assert!(status["pins"]
        .as_array()
        .expect("pins")
        .iter()
        .all(|p| p["locked"] == true));
    let certs = dir.join("certs");
    ok(client(&card, &["certs", "--out", p(&certs)]));
    assert_eq!(
        pem_certificate(&certs.join("auth.pem")).0,
        s(&show["auth_certificate"], "serial")
    );
    assert!(!certs.join("sign.pem").exists());
    let message = dir.join("message.txt");
    std::fs::write(&message, "x").expect("message");
    let out = fails(
        client(
            &card,
            &[
                "sign",
                "--key",
                "auth",
                "--pin",
                AUTH_PIN,
                "--in",
                p(&message),
                "--out",
                p(&dir.join("sig")),
            ],
        ),
        1,
    );
    assert!(out.stderr.contains("locked"), "{}", out.stderr);
    assert!(!dir.join("sig").exists());
}

#[test]
fn an_under_15_holder_gets_no_signature_certificate() {
    let dir = TempDir::new("minor");
    let holder = holder(dir.path(), "2015-01-01");
    let card = dir.join("card.img");
    // rules.md §2: under 18 → the 5th birthday after issuance (2027-01-01 is
    // the 1st); §3: auth certificate the same, no signature certificate
    // under 15 (policy sign_cert_min_age).
    assert_eq!(rules_card_expiry("2015-01-01", &[]), "2031-01-01");
    let certs = rules_cert_expiry("2015-01-01", "2031-01-01");
    assert_eq!(s(&certs, "auth_cert_expiry"), "2031-01-01", "{certs}");
    assert!(certs["sign_cert_expiry"].is_null(), "{certs}");

    // No --sign-pin needed.
    let args = ["--auth-pin", AUTH_PIN, "--input-pin", INPUT_PIN].map(String::from);
    let text = ok(card_new(&holder, &card, &args)).stdout;
    assert!(
        text.contains("署名用電子証明書 / Signature certificate: なし / none (under 15)\n"),
        "{text}"
    );
    assert!(
        text.contains("カードの有効期限 / Card valid until: 2031-01-01\n"),
        "{text}"
    );
    let show = ok(mynacard(["card", "show", p(&card), "--json"])).json();
    assert!(show["sign_certificate"].is_null(), "{show}");
    assert_eq!(s(&show["auth_certificate"], "not_after"), "2031-01-01");

    let card2 = dir.join("card2.img");
    let mut args = standard_pins();
    args.push("--json".into());
    let answer = ok(card_new(&holder, &card2, &args)).json();
    assert!(answer["sign_certificate"].is_null(), "{answer}");
    assert_eq!(s(&answer, "sign_refusal"), "under 15");
    // The client exports what there is: the auth side only.
    let out_dir = dir.join("certs");
    let files = ok(client(&card2, &["certs", "--out", p(&out_dir), "--json"])).json();
    let names: Vec<String> = files["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| {
            Path::new(f.as_str().expect("path"))
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(names, ["auth.pem", "auth-ca.pem"]);
}

#[test]
fn an_adult_ward_gets_no_signature_certificate() {
    let dir = TempDir::new("ward");
    let holder = holder(dir.path(), "1985-04-01");
    let card = dir.join("card.img");
    let args = [
        "--auth-pin",
        AUTH_PIN,
        "--input-pin",
        INPUT_PIN,
        "--adult-ward",
        "--json",
    ]
    .map(String::from);
    let answer = ok(card_new(&holder, &card, &args)).json();
    assert!(answer["sign_certificate"].is_null(), "{answer}");
    assert_eq!(s(&answer, "sign_refusal"), "adult ward");
    assert_eq!(s(&answer, "expiry"), "2036-04-01");
    assert_eq!(s(&answer["auth_certificate"], "not_after"), "2031-04-01");
    let show = ok(mynacard(["card", "show", p(&card), "--json"])).json();
    assert!(show["sign_certificate"].is_null(), "{show}");
}

#[test]
fn a_period_of_stay_caps_the_card() {
    let dir = TempDir::new("stay");
    let holder = holder(dir.path(), "1985-04-01");
    // rules.md §2: the end of the period of stay, or the birthday rule if
    // earlier; §3: the certificates are capped by the card.
    for (flags, card_expiry, cert_expiry) in [
        (vec!["--stay-until", "2029-06-30"], "2029-06-30", "2029-06-30"),
        (vec!["--stay-until", "2033-01-15"], "2033-01-15", "2031-04-01"),
        (vec!["--stay-until", "2040-12-31"], "2036-04-01", "2031-04-01"),
        (vec!["--permanent-resident"], "2036-04-01", "2031-04-01"),
    ] {
        assert_eq!(rules_card_expiry("1985-04-01", &flags), card_expiry, "{flags:?}");
        let card = dir.join(&format!("card-{}.img", card_expiry));
        let mut args = standard_pins();
        args.extend(flags.iter().map(|f| f.to_string()));
        args.push("--json".into());
        let answer = ok(card_new(&holder, &card, &args)).json();
        assert_eq!(s(&answer, "expiry"), card_expiry, "{flags:?}");
        assert_eq!(s(&answer["auth_certificate"], "not_after"), cert_expiry, "{flags:?}");
        assert_eq!(s(&answer["sign_certificate"], "not_after"), cert_expiry, "{flags:?}");
        std::fs::remove_file(&card).expect("remove");
        std::fs::remove_file(dir.join(&format!("card-{}.img.secret", card_expiry))).expect("remove");
    }
    // A stay that ended before issuance: refused by the rules, nothing made.
    let card = dir.join("late.img");
    let mut args = standard_pins();
    args.extend(["--stay-until", "2026-10-01", "--json"].map(String::from));
    let out = fails(card_new(&holder, &card, &args), 1);
    assert_eq!(s(&out.json()["error"], "code"), "stay_ended_before_issuance");
    assert_no_card(&card);
}

// ---------------------------------------------------------------------------
// card show, client --card

#[test]
fn card_show_reports_the_card_as_made() {
    let dir = TempDir::new("show");
    let (card, made) = new_card(&dir, "card.img");
    let show = ok(mynacard(["card", "show", p(&card), "--json"])).json();
    assert_eq!(pins_of(&show), full_tries());
    assert_eq!(s(&show, "serial"), s(&made, "serial"));
    assert_eq!(s(&show["kind"], "en"), "My Number Card");
    for cert in ["auth_certificate", "sign_certificate"] {
        assert_eq!(s(&show[cert], "serial"), s(&made[cert], "serial"), "{cert}");
        assert_eq!(s(&show[cert], "not_after"), "2031-04-01", "{cert}");
    }
    // Showing spends nothing and leaves the image as it was.
    let before = std::fs::read(&card).expect("image");
    let text = ok(mynacard(["card", "show", p(&card)])).stdout;
    assert!(
        text.contains("暗証番号の残り回数 / PIN tries left: 署名用 / signature: 5/5"),
        "{text}"
    );
    assert_eq!(std::fs::read(&card).expect("image"), before);
}

#[test]
fn the_client_works_on_a_card_image() {
    let dir = TempDir::new("client");
    let (card, made) = new_card(&dir, "card.img");
    let show = ok(mynacard(["card", "show", p(&card), "--json"])).json();

    // status
    let status = ok(client(&card, &["status", "--json"])).json();
    assert_eq!(pins_of(&status), full_tries());
    assert_eq!(s(&status, "reader"), p(&card));
    let text = ok(client(&card, &["status"])).stdout;
    assert!(text.contains("利用者証明用 / user authentication: 3/3"), "{text}");

    // certs: the certificates card show reports.
    let certs = dir.join("certs");
    ok(client(&card, &["certs", "--out", p(&certs), "--sign-pin", SIGN_PIN]));
    let (auth_serial, auth_der) = pem_certificate(&certs.join("auth.pem"));
    let (sign_serial, sign_der) = pem_certificate(&certs.join("sign.pem"));
    assert_eq!(auth_serial, s(&show["auth_certificate"], "serial"));
    assert_eq!(sign_serial, s(&show["sign_certificate"], "serial"));
    assert_eq!(sign_serial, s(&made["sign_certificate"], "serial"));
    let (_, auth_ca) = pem_certificate(&certs.join("auth-ca.pem"));
    let (_, sign_ca) = pem_certificate(&certs.join("sign-ca.pem"));
    assert_ne!(auth_ca, sign_ca, "two hierarchies");
    // Without the signature PIN (flag or MYNACARD_SIGN_PIN) no sign.pem.
    let certs2 = dir.join("certs2");
    let files = ok(client(&card, &["certs", "--out", p(&certs2), "--json"])).json();
    assert_eq!(files["files"].as_array().expect("files").len(), 3);
    assert!(!certs2.join("sign.pem").exists());
    let certs3 = dir.join("certs3");
    let mut command = client(&card, &["certs", "--out", p(&certs3)]);
    command.env("MYNACARD_SIGN_PIN", SIGN_PIN);
    ok(command);
    assert_eq!(pem_certificate(&certs3.join("sign.pem")).0, sign_serial);

    // sign: with each key, checked against the certificate.
    let message = dir.join("message.txt");
    std::fs::write(&message, "電子申請 / e-application\n").expect("message");
    let message_bytes = std::fs::read(&message).expect("message");
    for (key, pin, der) in [("auth", AUTH_PIN, &auth_der), ("sign", SIGN_PIN, &sign_der)] {
        let sig = dir.join(&format!("{key}.sig"));
        let answer = ok(client(
            &card,
            &[
                "sign",
                "--key",
                key,
                "--pin",
                pin,
                "--in",
                p(&message),
                "--out",
                p(&sig),
                "--json",
            ],
        ))
        .json();
        assert_eq!(answer["verified"], true, "{answer}");
        let signature = std::fs::read(&sig).expect("signature");
        assert_eq!(signature.len(), 256);
        assert!(
            mynacard_reader::client::verify_sha256(der, &message_bytes, &signature),
            "{key}"
        );
    }
    // The PIN from the environment.
    let sig = dir.join("env.sig");
    let mut command = client(&card, &["sign", "--key", "sign", "--in", p(&message), "--out", p(&sig)]);
    command.env("MYNACARD_PIN", SIGN_PIN);
    ok(command);
    assert!(mynacard_reader::client::verify_sha256(
        &sign_der,
        &message_bytes,
        &std::fs::read(&sig).expect("signature")
    ));
    // No PIN at all: a usage error.
    let out = fails(
        client(&card, &["sign", "--key", "auth", "--in", p(&message), "--out", p(&sig)]),
        2,
    );
    assert!(out.stderr.contains("MYNACARD_PIN"), "{}", out.stderr);

    // A wrong PIN: refused, one try spent, the PIN not echoed.
    let out = fails(client(&card, &["my-info", "--pin", "8642", "--json"]), 1);
    assert_eq!(s(&out.json()["error"], "code"), "wrong_pin");
    assert!(out.stderr.contains("2 tries left"), "{}", out.stderr);
    assert!(!out.all().contains("8642"), "{}", out.all());

    // my-info: My Number and the basic 4, genuine.
    let info = ok(client(&card, &["my-info", "--pin", INPUT_PIN, "--json"])).json();
    assert_eq!(s(&info, "my_number"), MY_NUMBER);
    assert_eq!(s(&info, "name"), "番号　花子");
    assert_eq!(s(&info, "address"), "東京都千代田区霞が関２－１－２");
    assert_eq!(s(&info, "birth_date"), "1985-04-01");
    assert_eq!(s(&info, "sex"), "女 / female");
    assert_eq!(info["producer_signature_valid"], true);
    // The right PIN restored the try.
    let status = ok(client(&card, &["status", "--json"])).json();
    assert_eq!(pins_of(&status), full_tries());

    // change-pin: the old PIN stops working, the new one works.
    ok(client(
        &card,
        &["change-pin", "--which", "auth", "--old", AUTH_PIN, "--new", "4321"],
    ));
    let sig = dir.join("after-change.sig");
    let out = fails(
        client(
            &card,
            &[
                "sign",
                "--key",
                "auth",
                "--pin",
                AUTH_PIN,
                "--in",
                p(&message),
                "--out",
                p(&sig),
            ],
        ),
        1,
    );
    assert!(out.stderr.contains("2 tries left"), "{}", out.stderr);
    ok(client(
        &card,
        &[
            "sign",
            "--key",
            "auth",
            "--pin",
            "4321",
            "--in",
            p(&message),
            "--out",
            p(&sig),
        ],
    ));
    // From the environment, and the registry PIN (defaulted to the auth PIN).
    let mut command = client(&card, &["change-pin", "--which", "registry"]);
    command.env("MYNACARD_PIN", AUTH_PIN).env("MYNACARD_NEW_PIN", "0000");
    ok(command);
    // A new PIN in the wrong format: exit 2, not echoed, no try spent.
    let out = fails(
        client(
            &card,
            &[
                "change-pin",
                "--which",
                "sign",
                "--old",
                SIGN_PIN,
                "--new",
                "lower9",
                "--json",
            ],
        ),
        2,
    );
    assert_eq!(s(&out.json()["error"], "code"), "pin_format");
    assert!(
        !out.all().contains("lower9") && !out.all().contains(SIGN_PIN),
        "{}",
        out.all()
    );
    assert_eq!(pins_of(&ok(client(&card, &["status", "--json"])).json()), full_tries());
    // card show sees what the client did.
    assert_eq!(
        pins_of(&ok(mynacard(["card", "show", p(&card), "--json"])).json()),
        full_tries()
    );
}

// ---------------------------------------------------------------------------
// The image guarded

/// A local address nothing listens on: 127.0.0.2 (loopback) on a port that
/// was free a moment ago; tests elsewhere listen on 127.0.0.1 only.
fn closed_address() -> String {
    let probe = TcpListener::bind("127.0.0.2:0").expect("bind 127.0.0.2");
    let port = probe.local_addr().expect("addr").port();
    drop(probe);
    format!("127.0.0.2:{port}")
}

/// `mynacard card insert` holding the image while it retries vpcd; killed on drop.
struct Inserted(Child);

impl Inserted {
    fn start(card: &Path) -> Inserted {
        let mut command = mynacard(["card", "insert", p(card), "--vpcd", &closed_address()]);
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("start card insert");
        // It says it is waiting once it holds the image.
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut inserted = Inserted(child);
        loop {
            match rx.recv_timeout(Duration::from_secs(20)) {
                Ok(line) if line.contains("waiting for vpcd") => break,
                Ok(_) => {}
                Err(e) => {
                    let status = inserted.0.try_wait();
                    panic!("card insert did not start waiting ({e}); status {status:?}");
                }
            }
        }
        assert!(inserted.0.try_wait().expect("try_wait").is_none(), "card insert exited");
        inserted
    }
}

impl Drop for Inserted {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_card_in_use_by_another_process_is_refused() {
    let dir = TempDir::new("busy");
    let (card, _) = new_card(&dir, "card.img");
    let before = std::fs::read(&card).expect("image");
    let holder = Inserted::start(&card);

    let out = fails(mynacard(["card", "show", p(&card)]), 2);
    assert!(out.stderr.contains("in use by another process"), "{}", out.stderr);
    let out = fails(mynacard(["card", "show", p(&card), "--json"]), 2);
    assert_eq!(s(&out.json()["error"], "code"), "busy");
    let out = fails(client(&card, &["status"]), 2);
    assert!(out.stderr.contains("in use by another process"), "{}", out.stderr);
    let out = fails(
        client(
            &card,
            &["change-pin", "--which", "auth", "--old", AUTH_PIN, "--new", "4321"],
        ),
        2,
    );
    assert!(out.stderr.contains("in use by another process"), "{}", out.stderr);
    let out = fails(
        mynacard(["card", "insert", p(&card), "--vpcd", &closed_address(), "--once"]),
        2,
    );
    assert!(out.stderr.contains("in use by another process"), "{}", out.stderr);
    assert_eq!(std::fs::read(&card).expect("image"), before);

    // The lock goes with the process.
    drop(holder);
    assert_eq!(
        pins_of(&ok(mynacard(["card", "show", p(&card), "--json"])).json()),
        full_tries()
    );
}

#[test]
fn a_wrong_storage_secret_is_refused_and_the_image_untouched() {
    let dir = TempDir::new("secret");
    let (card, _) = new_card(&dir, "card.img");
    let right = std::fs::read(dir.join("card.img.secret")).expect("secret");
    let before = std::fs::read(&card).expect("image");
    let wrong = dir.join("wrong.secret");
    std::fs::write(&wrong, right.iter().map(|b| b ^ 0x5A).collect::<Vec<u8>>()).expect("write");

    let out = fails(mynacard(["card", "show", p(&card), "--secret", p(&wrong)]), 1);
    assert!(out.stderr.contains("wrong storage secret"), "{}", out.stderr);
    let out = fails(mynacard(["card", "show", p(&card), "--secret", p(&wrong), "--json"]), 1);
    assert_eq!(s(&out.json()["error"], "code"), "decryption");
    let out = fails(
        mynacard(["client", "--card", p(&card), "--secret", p(&wrong), "status"]),
        1,
    );
    assert!(out.stderr.contains("wrong storage secret"), "{}", out.stderr);
    let out = fails(
        mynacard([
            "client",
            "--card",
            p(&card),
            "--secret",
            p(&wrong),
            "change-pin",
            "--which",
            "auth",
            "--old",
            AUTH_PIN,
            "--new",
            "4321",
        ]),
        1,
    );
    assert!(out.stderr.contains("wrong storage secret"), "{}", out.stderr);
    let out = fails(
        mynacard([
            "card",
            "insert",
            p(&card),
            "--secret",
            p(&wrong),
            "--vpcd",
            &closed_address(),
            "--once",
        ]),
        1,
    );
    assert!(out.stderr.contains("wrong storage secret"), "{}", out.stderr);

    // A secret file of the wrong size, and none at all.
    let short = dir.join("short.secret");
    std::fs::write(&short, &right[..31]).expect("write");
    let out = fails(mynacard(["card", "show", p(&card), "--secret", p(&short)]), 1);
    assert!(out.stderr.contains("32 bytes"), "{}", out.stderr);
    let out = fails(
        mynacard(["card", "show", p(&card), "--secret", p(&dir.join("none.secret"))]),
        2,
    );
    assert!(out.stderr.contains("none.secret"), "{}", out.stderr);

    assert_eq!(std::fs::read(&card).expect("image"), before, "the image was changed");
    assert_eq!(std::fs::read(dir.join("card.img.secret")).expect("secret"), right);
    // With the right secret (explicit or default), all is well.
    let show = ok(mynacard([
        "card",
        "show",
        p(&card),
        "--secret",
        p(&dir.join("card.img.secret")),
        "--json",
    ]))
    .json();
    assert_eq!(pins_of(&show), full_tries());
}
