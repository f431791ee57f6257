//! The virtual card through real PC/SC, as a user's software sees it:
//! Debian's `pcscd` with vsmartcard's `vpcd` driver, the card served by
//! `mynacard card insert`, and unchanged clients on the other side —
//! OpenSC (`opensc-tool`, `pkcs15-tool`, `pkcs11-tool` with
//! `opensc-pkcs11.so`), `jpki-cli` (crates.io, jpki-rs), our own
//! `mynacard client` — with `openssl` checking every signature.
//!
//! Needs pcscd, vsmartcard-vpcd, opensc, openssl, python3 (it drives
//! jpki-cli's PIN prompt on a pseudo-terminal) and jpki-cli
//! (`$MYNACARD_JPKI_CLI`, else `~/.cache/mynacard-tools/bin/jpki-cli`);
//! `./scripts/test` installs them. A missing tool fails a test, never skips it.
//!
//! pcscd's socket is fixed (`/run/pcscd/pcscd.comm`), so there is one pcscd
//! per machine and one card in `Virtual PCD 00 00` at a time: every test holds
//! [`pcsc`]'s lock. A running pcscd is used; otherwise the tests start
//! `pcscd --foreground --auto-exit`, which leaves 60 s after its last client.
//! Each test makes a fresh card (the CA is made once per run), inserts it
//! with a guard that kills the card process and waits until pcscd sees the
//! card gone, failed test or not. Files live in a temp dir per test under
//! `CARGO_TARGET_TMPDIR`, kept (and named on stderr) when the test fails.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::Value;

mod support;

use support::{p, remove_stale_dirs, scratch_root, TempDir};

/// The root of this binary's scratch directories (tests/support).
const SCRATCH: &str = "card-pcsc";

const BIN: &str = env!("CARGO_BIN_EXE_mynacard");

const PCSCD_SOCKET: &str = "/run/pcscd/pcscd.comm";
/// The reader of vpcd's first slot, and the port its driver listens on.
const READER: &str = "Virtual PCD 00 00";
const VPCD: &str = "127.0.0.1:35963";
const ATR: &str = "3b:e0:00:ff:81:31:fe:45:14";
const AUTH_TOKEN: &str = "JPKI (User Authentication PIN)";
const SIGN_TOKEN: &str = "JPKI (Digital Signature PIN)";

const MY_NUMBER: &str = "123456789018";
const NAME: &str = "番号　花子";
const ADDRESS: &str = "東京都千代田区霞が関２－１－２";
const BIRTH: &str = "1985-04-01";

// The PINs of a test card, the wrong ones the tests type and the new ones
// they set. None is a part of anything else the client prints (My Number,
// dates, tries), so finding one in an output means the PIN leaked.
const AUTH_PIN: &str = "4826";
const SIGN_PIN: &str = "PQ7R3S";
const INPUT_PIN: &str = "6395";
const REGISTRY_PIN: &str = "7391";
const WRONG_AUTH: &str = "9073";
const WRONG_SIGN: &str = "WR0NG9";
const WRONG_INPUT: &str = "3051";
const NEW_AUTH: &str = "5917";
const NEW_SIGN: &str = "NEWP1N42";
const NEW_INPUT: &str = "8264";
const NEW_REGISTRY: &str = "2739";
const ALL_PINS: [&str; 11] = [
    AUTH_PIN,
    SIGN_PIN,
    INPUT_PIN,
    REGISTRY_PIN,
    WRONG_AUTH,
    WRONG_SIGN,
    WRONG_INPUT,
    NEW_AUTH,
    NEW_SIGN,
    NEW_INPUT,
    NEW_REGISTRY,
];

/// What a tool may print before we stop keeping it (jpki-cli can loop on
/// its PIN prompt and print without end).
const OUTPUT_CAP: usize = 1 << 20;
const TOOL_TIMEOUT: Duration = Duration::from_secs(60);
const JPKI_CLI_TIMEOUT: Duration = Duration::from_secs(20);

const TOOLS_HINT: &str = "the PC/SC tests need pcscd, vsmartcard-vpcd, opensc, openssl, python3 and jpki-cli; \
                          ./scripts/test installs them";

// ---------------------------------------------------------------------------
// Temp dirs and commands

/// What a finished command left.
#[derive(Debug)]
struct Out {
    code: i32,
    /// stdout as bytes (jpki-cli writes DER there).
    raw: Vec<u8>,
    stdout: String,
    stderr: String,
}

impl Out {
    /// stdout and stderr together.
    fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

fn describe(command: &Command) -> String {
    let args: Vec<String> = command.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
    format!("{} {}", command.get_program().to_string_lossy(), args.join(" "))
}

/// Reads a pipe to its end, keeping the first [`OUTPUT_CAP`] bytes.
fn drain(mut pipe: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut kept = Vec::new();
        let mut chunk = [0u8; 8192];
        loop {
            match pipe.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let room = OUTPUT_CAP.saturating_sub(kept.len());
                    kept.extend_from_slice(&chunk[..n.min(room)]);
                }
            }
        }
        kept
    })
}

/// Runs `command` to the end with `stdin`, killing it after `limit`. A tool
/// that cannot be started, or that hangs, fails the test.
fn run_with(command: &mut Command, stdin: Stdio, limit: Duration) -> Out {
    command.stdin(stdin).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `{}`: {e}. {TOOLS_HINT}", describe(command)));
    let stdout = drain(child.stdout.take().expect("stdout piped"));
    let stderr = drain(child.stderr.take().expect("stderr piped"));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for a tool") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(10));
    };
    let raw = stdout.join().expect("stdout reader");
    let stderr = String::from_utf8_lossy(&stderr.join().expect("stderr reader")).into_owned();
    let out = Out {
        code: status.and_then(|s| s.code()).unwrap_or(-1),
        stdout: String::from_utf8_lossy(&raw).into_owned(),
        raw,
        stderr,
    };
    assert!(
        status.is_some(),
        "`{}` did not finish within {limit:?}:\nstdout: {}\nstderr: {}",
        describe(command),
        out.stdout,
        out.stderr
    );
    if command.get_program() == BIN {
        assert!(
            !out.all().contains("panicked"),
            "`{}` panicked:\n{}",
            describe(command),
            out.all()
        );
    }
    out
}

fn run(command: &mut Command) -> Out {
    run_with(command, Stdio::null(), TOOL_TIMEOUT)
}

/// Runs `command`, which must succeed.
fn ok(command: &mut Command) -> Out {
    let out = run(command);
    assert_eq!(
        out.code,
        0,
        "`{}` failed:\nstdout: {}\nstderr: {}",
        describe(command),
        out.stdout,
        out.stderr
    );
    out
}

/// `mynacard …`, with no PINs or secrets inherited from the caller.
fn mynacard(args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command.args(args);
    for var in [
        "MYNACARD_PIN",
        "MYNACARD_NEW_PIN",
        "MYNACARD_SIGN_PIN",
        "MYNACARD_CA_PASSPHRASE",
        "MYNACARD_PKCS11_PIN",
    ] {
        command.env_remove(var);
    }
    command
}

fn tool(program: &str, args: &[&str]) -> Command {
    let mut command = Command::new(program);
    command.args(args);
    command
}

// ---------------------------------------------------------------------------
// pcscd and the reader

/// Serialises the tests on the one pcscd and the one reader, and makes sure
/// pcscd runs and lists vpcd's reader.
fn pcsc() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    let guard = LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    ensure_pcscd();
    guard
}

fn pcscd_program() -> PathBuf {
    let in_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|dir| dir.join("pcscd"))
        .find(|candidate| candidate.is_file());
    in_path
        .or_else(|| Some(PathBuf::from("/usr/sbin/pcscd")).filter(|p| p.is_file()))
        .unwrap_or_else(|| panic!("pcscd is not installed (Debian package pcscd). {TOOLS_HINT}"))
}

/// Uses the running pcscd or starts one (again, if an earlier one of ours
/// left through --auto-exit).
fn ensure_pcscd() {
    static STARTED: Mutex<Vec<Child>> = Mutex::new(Vec::new());
    if UnixStream::connect(PCSCD_SOCKET).is_err() {
        let dir = scratch_root().join(format!("pcscd-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create pcscd log dir");
        let log_path = dir.join("pcscd.log");
        let log = File::create(&log_path).expect("create pcscd log");
        let mut child = Command::new(pcscd_program())
            .args(["--foreground", "--auto-exit"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start pcscd: {e}. {TOOLS_HINT}"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while UnixStream::connect(PCSCD_SOCKET).is_err() {
            let exited = child.try_wait().expect("wait for pcscd");
            if exited.is_some() || Instant::now() > deadline {
                panic!(
                    "pcscd did not open {PCSCD_SOCKET} (exit: {exited:?}); its log {}:\n{}",
                    log_path.display(),
                    std::fs::read_to_string(&log_path).unwrap_or_default()
                );
            }
            thread::sleep(Duration::from_millis(50));
        }
        STARTED.lock().unwrap_or_else(PoisonError::into_inner).push(child);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = run(&mut tool("opensc-tool", &["-l"]));
        if out.stdout.contains(READER) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "pcscd runs but lists no reader {READER:?} (is vsmartcard-vpcd installed, with \
             /etc/reader.conf.d/vpcd?). opensc-tool -l:\n{}",
            out.all()
        );
        thread::sleep(Duration::from_millis(200));
    }
}

/// Whether pcscd sees a card in [`READER`] (None: the reader is not
/// listed, or opensc-tool did not run). Never panics: guards call it.
fn card_in_reader() -> Option<bool> {
    let output = Command::new("opensc-tool")
        .arg("-l")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.lines()
        .find(|line| line.trim_end().ends_with(READER))
        .map(|line| line.split_whitespace().nth(1) == Some("Yes"))
}

/// Waits up to `limit` until [`card_in_reader`] is `present`.
fn wait_for_card(present: bool, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if card_in_reader() == Some(present) {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(100));
    }
}

// ---------------------------------------------------------------------------
// The CA and the cards

struct Ca {
    dir: PathBuf,
    holder: PathBuf,
}

/// One test CA per run, shared by every card.
fn ca() -> &'static Ca {
    static CA: OnceLock<Ca> = OnceLock::new();
    CA.get_or_init(|| {
        remove_stale_dirs();
        let root = scratch_root().join(format!("ca-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).expect("create CA dir");
        let dir = root.join("ca");
        ok(&mut mynacard(&["ca", "init", "--dir", p(&dir), "--test"]));
        let holder = root.join("holder.json");
        let json = serde_json::json!({
            "name": NAME,
            "address": ADDRESS,
            "birth_date": BIRTH,
            "sex": "female",
            "municipality": "Chiyoda-ku"
        });
        std::fs::write(&holder, serde_json::to_vec_pretty(&json).expect("json")).expect("write holder");
        Ca { dir, holder }
    })
}

/// A card image made by `mynacard card new`.
struct Card {
    path: PathBuf,
    dir: PathBuf,
    /// The auth certificate's serial, lowercase hex (from `card new --json`).
    auth_serial: String,
    insertions: Cell<u32>,
}

/// A card with the PINs above, or with `face` a face-recognition card.
fn new_card(dir: &TempDir, face: bool) -> Card {
    let ca = ca();
    let path = dir.join("card.myna");
    let mut command = mynacard(&[
        "card",
        "new",
        "--json",
        "--out",
        p(&path),
        "--ca-dir",
        p(&ca.dir),
        "--holder",
        p(&ca.holder),
        "--my-number",
        MY_NUMBER,
    ]);
    if face {
        command.arg("--face-auth");
    } else {
        command.args([
            "--auth-pin",
            AUTH_PIN,
            "--sign-pin",
            SIGN_PIN,
            "--input-pin",
            INPUT_PIN,
            "--registry-pin",
            REGISTRY_PIN,
        ]);
    }
    let out = ok(&mut command);
    let v: Value = serde_json::from_str(&out.stdout).expect("card new --json prints one JSON object");
    assert_eq!(v["sign_certificate"].is_null(), face, "card new: {v}");
    Card {
        path,
        dir: dir.path().to_path_buf(),
        auth_serial: v["auth_certificate"]["serial"]
            .as_str()
            .expect("auth serial")
            .to_owned(),
        insertions: Cell::new(0),
    }
}

impl Card {
    /// `mynacard card insert CARD --trace`, until pcscd sees the card.
    fn insert(&self) -> Inserted {
        if !wait_for_card(false, Duration::from_secs(10)) {
            panic!(
                "{READER} already holds a card that does not go away: is another `mynacard card insert` \
                 running (pgrep -af 'card insert')?"
            );
        }
        let n = self.insertions.get() + 1;
        self.insertions.set(n);
        let log = self.dir.join(format!("insert-{n}.log"));
        let file = File::create(&log).expect("create insert log");
        let child = mynacard(&["card", "insert", p(&self.path), "--vpcd", VPCD, "--trace"])
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log handle"))
            .stderr(file)
            .spawn()
            .expect("start mynacard card insert");
        // From here the guard kills the process whatever happens.
        let mut inserted = Inserted {
            child: Some(child),
            log,
        };
        inserted.wait_inserted();
        inserted
    }

    /// `mynacard card show --json CARD` (the image must not be held).
    fn show(&self) -> Value {
        let out = ok(&mut mynacard(&["card", "show", "--json", p(&self.path)]));
        serde_json::from_str(&out.stdout).expect("card show --json prints one JSON object")
    }
}

/// A running `mynacard card insert`; dropping it removes the card.
struct Inserted {
    child: Option<Child>,
    log: PathBuf,
}

impl Inserted {
    fn wait_inserted(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait().expect("wait for card insert") {
                    panic!("`mynacard card insert` exited ({status}):\n{}", self.trace());
                }
            }
            if card_in_reader() == Some(true) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "pcscd did not see the card in {READER} within 15 s; card insert said:\n{}",
                self.trace()
            );
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// What the card process printed: its APDU trace.
    fn trace(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Takes the card out and waits until pcscd has noticed.
    fn remove(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            if !wait_for_card(false, Duration::from_secs(10)) {
                eprintln!("pcscd still shows a card in {READER} 10 s after the card process ended");
            }
        }
    }
}

impl Drop for Inserted {
    fn drop(&mut self) {
        if thread::panicking() {
            let trace = self.trace();
            let lines: Vec<&str> = trace.lines().collect();
            let tail = lines[lines.len().saturating_sub(40)..].join("\n");
            eprintln!("the card's trace ({}) ends with:\n{tail}", self.log.display());
        }
        self.stop();
    }
}

// ---------------------------------------------------------------------------
// Clients

/// `mynacard client ARGS` over PC/SC (with `env` set). Whatever it prints,
/// with the test's dir taken out of it, must hold none of the PINs.
fn client_with(dir: &TempDir, args: &[&str], env: &[(&str, &str)]) -> Out {
    let mut command = mynacard(&["client"]);
    command.args(args).envs(env.iter().copied());
    let out = run(&mut command);
    let shown = out.all().replace(p(dir.path()), "<dir>");
    for pin in ALL_PINS {
        assert!(
            !shown.contains(pin),
            "`{}` printed the PIN {pin}:\n{}",
            describe(&command),
            out.all()
        );
    }
    out
}

fn client(dir: &TempDir, args: &[&str]) -> Out {
    client_with(dir, args, &[])
}

/// `mynacard client --json ARGS`: the output and its JSON.
fn client_json(dir: &TempDir, args: &[&str]) -> (Out, Value) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = client(dir, &all);
    let v = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("client --json {args:?} printed no JSON ({e}):\n{}", out.all()));
    (out, v)
}

/// A failed `mynacard client --json ARGS`: exit status 1 and the error code.
fn client_fails(dir: &TempDir, args: &[&str], code: &str) -> Value {
    let (out, v) = client_json(dir, args);
    assert_eq!(
        out.code,
        1,
        "client {args:?} should fail with exit status 1:\n{}",
        out.all()
    );
    assert_eq!(v["error"]["code"], code, "client {args:?}:\n{}", out.all());
    v
}

/// Tries left per PIN (`sign`, `auth`, `input`, `registry`) from
/// `mynacard client --json status`, with the locked flag checked.
fn tries(dir: &TempDir) -> BTreeMap<String, u64> {
    let (out, v) = client_json(dir, &["status"]);
    assert_eq!(out.code, 0, "client status:\n{}", out.all());
    assert_eq!(v["reader"], READER, "{v}");
    pins_of(&v, true)
}

/// The `pins` of a status or `card show` answer.
fn pins_of(v: &Value, has_locked: bool) -> BTreeMap<String, u64> {
    v["pins"]
        .as_array()
        .unwrap_or_else(|| panic!("no pins in {v}"))
        .iter()
        .map(|pin| {
            let remaining = pin["remaining"].as_u64().expect("remaining");
            if has_locked {
                assert_eq!(pin["locked"], remaining == 0, "{pin}");
            }
            (pin["pin"].as_str().expect("pin").to_owned(), remaining)
        })
        .collect()
}

fn expect_tries(sign: u64, auth: u64, input: u64, registry: u64) -> BTreeMap<String, u64> {
    [("sign", sign), ("auth", auth), ("input", input), ("registry", registry)]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
}

fn pkcs11_module() -> &'static str {
    [
        "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so",
        "/usr/lib/aarch64-linux-gnu/opensc-pkcs11.so",
        "/usr/lib/opensc-pkcs11.so",
        "/usr/lib64/opensc-pkcs11.so",
    ]
    .into_iter()
    .find(|path| Path::new(path).exists())
    .unwrap_or_else(|| panic!("opensc-pkcs11.so not found (Debian package opensc). {TOOLS_HINT}"))
}

/// `pkcs11-tool --login --sign -m SHA256-RSA-PKCS` with the key `id` of `token`.
fn pkcs11_sign(token: &str, pin: &str, id: &str, input: &Path, out: &Path) -> Out {
    run(&mut tool(
        "pkcs11-tool",
        &[
            "--module",
            pkcs11_module(),
            "--token-label",
            token,
            "--login",
            "--pin",
            pin,
            "--sign",
            "-m",
            "SHA256-RSA-PKCS",
            "--id",
            id,
            "-i",
            p(input),
            "-o",
            p(out),
        ],
    ))
}

/// A failed pkcs11-tool run that names `rv` and wrote no signature.
fn assert_pkcs11_refused(out: &Out, rvs: &[&str], sig: &Path) {
    assert_ne!(out.code, 0, "pkcs11-tool should have failed:\n{}", out.all());
    assert!(
        rvs.iter().any(|rv| out.stderr.contains(rv)),
        "pkcs11-tool should fail with {rvs:?}:\n{}",
        out.all()
    );
    let written = std::fs::metadata(sig).map(|m| m.len()).unwrap_or(0);
    assert_eq!(written, 0, "pkcs11-tool wrote a signature despite failing");
}

/// The objects `pkcs15-tool --list-…` prints: header line, then its fields.
fn pkcs15_objects(text: &str) -> Vec<(String, BTreeMap<String, String>)> {
    let mut objects: Vec<(String, BTreeMap<String, String>)> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with(char::is_whitespace) {
            if let (Some((key, value)), Some(object)) = (line.split_once(':'), objects.last_mut()) {
                object.1.insert(key.trim().to_owned(), value.trim().to_owned());
            }
        } else {
            objects.push((line.trim().to_owned(), BTreeMap::new()));
        }
    }
    objects
}

fn pkcs15_object<'a>(objects: &'a [(String, BTreeMap<String, String>)], header: &str) -> &'a BTreeMap<String, String> {
    objects
        .iter()
        .find(|(h, _)| h == header)
        .map(|(_, fields)| fields)
        .unwrap_or_else(|| panic!("pkcs15-tool lists no {header:?}; it lists {objects:#?}"))
}

/// Tries left of (auth, sign) as `pkcs15-tool --list-pins` shows them.
fn pkcs15_tries() -> (String, String) {
    let out = ok(&mut tool("pkcs15-tool", &["--list-pins"]));
    let objects = pkcs15_objects(&out.stdout);
    let tries = |header: &str| {
        pkcs15_object(&objects, header)
            .get("Tries left")
            .cloned()
            .unwrap_or_else(|| panic!("no Tries left for {header}:\n{}", out.stdout))
    };
    (
        tries("PIN [User Authentication PIN]"),
        tries("PIN [Digital Signature PIN]"),
    )
}

/// The DER of a PEM certificate file (openssl normalises).
fn der_of(pem: &Path) -> Vec<u8> {
    let der = ok(&mut tool("openssl", &["x509", "-in", p(pem), "-outform", "DER"])).raw;
    assert!(der.len() > 500, "{} holds no certificate", pem.display());
    der
}

/// The public key of a certificate, written next to it as `NAME.pub`.
fn public_key(pem: &Path) -> PathBuf {
    let out = ok(&mut tool("openssl", &["x509", "-in", p(pem), "-noout", "-pubkey"]));
    let path = pem.with_extension("pub");
    std::fs::write(&path, out.stdout).expect("write public key");
    path
}

/// Whether `openssl dgst -DIGEST -verify` accepts `sig` over `msg`.
fn openssl_verifies(digest: &str, public_key: &Path, sig: &Path, msg: &Path) -> bool {
    let out = run(&mut tool(
        "openssl",
        &[
            "dgst",
            &format!("-{digest}"),
            "-verify",
            p(public_key),
            "-signature",
            p(sig),
            p(msg),
        ],
    ));
    let verified = out.code == 0 && out.stdout.contains("Verified OK");
    assert!(
        verified || out.all().contains("Verification failure"),
        "openssl dgst -verify neither verified nor refused:\n{}",
        out.all()
    );
    verified
}

fn openssl_serial(pem: &Path) -> String {
    let out = ok(&mut tool("openssl", &["x509", "-in", p(pem), "-noout", "-serial"]));
    out.stdout.trim().trim_start_matches("serial=").to_lowercase()
}

fn message(dir: &TempDir) -> PathBuf {
    let path = dir.join("message.txt");
    std::fs::write(&path, "Signed through PC/SC by the virtual My Number Card.\n").expect("write message");
    path
}

fn signature_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// `mynacard client certs --out DIR [--sign-pin SIGN_PIN]`, returning DIR.
fn export_certs(dir: &TempDir, name: &str, sign_pin: Option<&str>) -> PathBuf {
    let out_dir = dir.join(name);
    let mut args = vec!["certs", "--out", p(&out_dir)];
    if let Some(pin) = sign_pin {
        args.extend(["--sign-pin", pin]);
    }
    let out = client(dir, &args);
    assert_eq!(out.code, 0, "client certs:\n{}", out.all());
    out_dir
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The hex of `text` as the card's trace prints APDU bytes.
fn trace_hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(" ")
}

/// The card's trace shows VERIFYs with their data redacted, and no command
/// in it carries a PIN. (Responses are not searched: certificates hold
/// digits, e.g. times, that may spell a PIN by chance.)
fn assert_trace_hides_pins(inserted: &Inserted) {
    let trace = inserted.trace();
    assert!(
        trace.contains("> 00 20 00 80 <"),
        "the trace shows no redacted VERIFY:\n{trace}"
    );
    let commands: Vec<&str> = trace.lines().filter(|line| line.starts_with("> ")).collect();
    for pin in ALL_PINS {
        let hex = trace_hex(pin);
        let shown: Vec<&&str> = commands.iter().filter(|command| command.contains(&hex)).collect();
        assert!(shown.is_empty(), "the card's trace shows the PIN {pin}: {shown:?}");
    }
}

fn jpki_cli() -> PathBuf {
    let path = std::env::var_os("MYNACARD_JPKI_CLI")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/mynacard-tools/bin/jpki-cli")))
        .expect("MYNACARD_JPKI_CLI or HOME");
    assert!(
        path.is_file(),
        "jpki-cli is missing at {}: ./scripts/test installs it (or set MYNACARD_JPKI_CLI)",
        path.display()
    );
    path
}

/// jpki-cli without a terminal (no PIN asked), stdin from `stdin`.
fn jpki_cli_run(args: &[&str], stdin: Option<&Path>) -> Out {
    let stdin = match stdin {
        Some(path) => Stdio::from(File::open(path).expect("open stdin file")),
        None => Stdio::null(),
    };
    let mut command = Command::new(jpki_cli());
    command.args(args);
    let out = run_with(&mut command, stdin, JPKI_CLI_TIMEOUT);
    // jpki-cli exits 0 after an error too; it logs one on stderr.
    assert!(
        !out.stderr.contains("ERROR"),
        "`{}` failed:\n{}",
        describe(&command),
        out.stderr
    );
    out
}

/// Drives a program on a new pseudo-terminal: types `typed` then Ctrl-D
/// (unless empty), and once the program has turned echo off — its password
/// prompt has begun — types `pin` and Enter. jpki-cli reads PINs only from a
/// terminal and spins on its prompt at end of input, so this is the only
/// safe way to give it one (typing ahead is lost: the prompt flushes input).
const PTY_DRIVER: &str = r#"
import os, pty, select, signal, sys, termios, time
timeout, pin, typed, argv = float(sys.argv[1]), sys.argv[2].encode(), sys.argv[3].encode(), sys.argv[4:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
deadline = time.monotonic() + timeout
shown = bytearray()
if typed:
    os.write(fd, typed + b"\x04")
pin_sent = False
status = None
while status is None:
    if time.monotonic() > deadline:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        sys.stdout.write(shown[:4000].decode("utf-8", "replace") + "\n[pty driver: timed out]\n")
        sys.exit(124)
    if not pin_sent:
        try:
            if not termios.tcgetattr(fd)[3] & termios.ECHO:
                os.write(fd, pin + b"\n")
                pin_sent = True
        except termios.error:
            pass
    ready, _, _ = select.select([fd], [], [], 0.02)
    if ready:
        try:
            data = os.read(fd, 4096)
        except OSError:
            data = b""
        if data:
            if len(shown) < 100000:
                shown += data
            continue
    done, st = os.waitpid(pid, os.WNOHANG)
    if done:
        status = st
sys.stdout.write(shown[:4000].decode("utf-8", "replace"))
sys.exit(os.waitstatus_to_exitcode(status))
"#;

/// jpki-cli on a terminal (see [`PTY_DRIVER`]); `redirect` sends its stdout
/// to a file.
fn jpki_cli_on_terminal(args: &[&str], typed: &str, pin: &str, redirect: Option<&Path>) -> Out {
    let jpki = jpki_cli();
    let timeout = JPKI_CLI_TIMEOUT.as_secs().to_string();
    let mut command = tool("python3", &["-c", PTY_DRIVER, timeout.as_str(), pin, typed]);
    match redirect {
        Some(out) => {
            command
                .args(["sh", "-c", "out=$1; shift; exec \"$0\" \"$@\" > \"$out\""])
                .arg(&jpki)
                .arg(out)
                .args(args);
        }
        None => {
            command.arg(&jpki).args(args);
        }
    }
    let out = run_with(&mut command, Stdio::null(), JPKI_CLI_TIMEOUT + Duration::from_secs(10));
    assert!(
        out.code == 0 && !out.stdout.contains("ERROR") && !out.stdout.contains("timed out"),
        "`jpki-cli {}` on a terminal failed ({}):\n{}",
        args.join(" "),
        out.code,
        out.all()
    );
    out
}

// ---------------------------------------------------------------------------
// The tests

#[test]
fn opensc_tool_sees_the_atr_and_the_jpki_driver() {
    let _pcsc = pcsc();
    let dir = TempDir::new("atr");
    let card = new_card(&dir, false);
    let inserted = card.insert();

    let out = ok(&mut tool("opensc-tool", &["-l"]));
    let line = out
        .stdout
        .lines()
        .find(|l| l.ends_with(READER))
        .unwrap_or_else(|| panic!("opensc-tool -l lists no {READER}:\n{}", out.stdout));
    assert!(
        line.split_whitespace().nth(1) == Some("Yes"),
        "no card in {READER}: {line}"
    );

    let out = ok(&mut tool("opensc-tool", &["-a", "-n"]));
    let lines: Vec<&str> = out.stdout.lines().map(str::trim).collect();
    assert_eq!(lines, [ATR, "jpki"], "opensc-tool -a -n:\n{}", out.all());
    assert!(out.stderr.contains(READER), "{}", out.stderr);

    // Taken out, the reader is empty again.
    inserted.remove();
    let out = run(&mut tool("opensc-tool", &["--reader", READER, "-a"]));
    assert_ne!(out.code, 0, "opensc-tool -a still read an ATR:\n{}", out.all());
    assert!(out.stderr.contains("Card not present"), "{}", out.all());
}

#[test]
fn pkcs15_tool_lists_both_certificates_and_both_pins() {
    let _pcsc = pcsc();
    let dir = TempDir::new("pkcs15");
    let card = new_card(&dir, false);
    let _inserted = card.insert();

    let out = ok(&mut tool("pkcs15-tool", &["--list-certificates", "--list-pins"]));
    let objects = pkcs15_objects(&out.stdout);

    let auth = pkcs15_object(&objects, "X.509 Certificate [User Authentication Certificate]");
    assert_eq!(auth["Path"], "000a", "{auth:?}");
    assert_eq!(auth["ID"], "01", "{auth:?}");
    assert_eq!(auth["Authority"], "no", "{auth:?}");
    // "02 10 <serial>": the DER INTEGER of the certificate card new made.
    let serial = auth["Encoded serial"].replace(' ', "").to_lowercase();
    assert!(
        serial.ends_with(&card.auth_serial),
        "pkcs15-tool shows serial {serial}, card new issued {}",
        card.auth_serial
    );

    let sign = pkcs15_object(&objects, "X.509 Certificate [Digital Signature Certificate]");
    assert_eq!(sign["Path"], "0001", "{sign:?}");
    assert_eq!(sign["ID"], "02", "{sign:?}");
    assert!(sign["Object Flags"].contains("private"), "{sign:?}");

    for (header, path, id) in [
        ("X.509 Certificate [User Authentication Certificate CA]", "000b", "03"),
        ("X.509 Certificate [Digital Signature Certificate CA]", "0002", "04"),
    ] {
        let ca = pkcs15_object(&objects, header);
        assert_eq!(ca["Path"], path, "{header}: {ca:?}");
        assert_eq!(ca["ID"], id, "{header}: {ca:?}");
        assert_eq!(ca["Authority"], "yes", "{header}: {ca:?}");
    }

    let auth_pin = pkcs15_object(&objects, "PIN [User Authentication PIN]");
    assert_eq!(auth_pin["Tries left"], "3", "{auth_pin:?}");
    assert!(auth_pin["Length"].contains("min_len:4, max_len:4"), "{auth_pin:?}");
    let sign_pin = pkcs15_object(&objects, "PIN [Digital Signature PIN]");
    assert_eq!(sign_pin["Tries left"], "5", "{sign_pin:?}");
    assert!(sign_pin["Length"].contains("min_len:6, max_len:16"), "{sign_pin:?}");
}

#[test]
fn pkcs11_tool_signs_with_both_keys_and_openssl_verifies() {
    let _pcsc = pcsc();
    let dir = TempDir::new("pkcs11");
    let card = new_card(&dir, false);
    let msg = message(&dir);
    let _inserted = card.insert();

    let certs = export_certs(&dir, "certs", Some(SIGN_PIN));
    let auth_pem = certs.join("auth.pem");
    let sign_pem = certs.join("sign.pem");

    // OpenSC reads the same auth certificate as our client.
    let out = ok(&mut tool("pkcs15-tool", &["--read-certificate", "01"]));
    let opensc_pem = dir.join("opensc-auth.pem");
    std::fs::write(&opensc_pem, &out.stdout).expect("write certificate");
    assert_eq!(
        der_of(&opensc_pem),
        der_of(&auth_pem),
        "pkcs15-tool and mynacard client disagree"
    );
    assert_eq!(openssl_serial(&auth_pem), card.auth_serial);

    let auth_pub = public_key(&auth_pem);
    let sign_pub = public_key(&sign_pem);

    let auth_sig = dir.join("auth.sig");
    let out = pkcs11_sign(AUTH_TOKEN, AUTH_PIN, "01", &msg, &auth_sig);
    assert_eq!(out.code, 0, "pkcs11-tool sign (auth):\n{}", out.all());
    assert_eq!(signature_len(&auth_sig), 256);
    assert!(openssl_verifies("sha256", &auth_pub, &auth_sig, &msg), "auth signature");

    let sign_sig = dir.join("sign.sig");
    let out = pkcs11_sign(SIGN_TOKEN, SIGN_PIN, "02", &msg, &sign_sig);
    assert_eq!(out.code, 0, "pkcs11-tool sign (signature):\n{}", out.all());
    assert_eq!(signature_len(&sign_sig), 256);
    assert!(
        openssl_verifies("sha256", &sign_pub, &sign_sig, &msg),
        "signature-key signature"
    );

    // Two keys: neither signature verifies with the other certificate.
    assert!(!openssl_verifies("sha256", &sign_pub, &auth_sig, &msg));
    assert!(!openssl_verifies("sha256", &auth_pub, &sign_sig, &msg));
    // Signing spent no tries.
    assert_eq!(tries(&dir), expect_tries(5, 3, 3, 3));
}

#[test]
fn wrong_pins_cost_tries_and_a_locked_pin_stays_locked() {
    let _pcsc = pcsc();
    let dir = TempDir::new("wrong-pins");
    let card = new_card(&dir, false);
    let msg = message(&dir);
    let sig = dir.join("refused.sig");
    let sig_arg = p(&sig);
    let msg_arg = p(&msg);
    let inserted = card.insert();

    // One wrong auth PIN through OpenSC costs one try, seen by both clients.
    let out = pkcs11_sign(AUTH_TOKEN, WRONG_AUTH, "01", &msg, &sig);
    assert_pkcs11_refused(&out, &["CKR_PIN_INCORRECT"], &sig);
    assert_eq!(tries(&dir), expect_tries(5, 2, 3, 3));
    assert_eq!(pkcs15_tries(), ("2".into(), "5".into()));

    // Three in a row lock it.
    for _ in 0..2 {
        let out = pkcs11_sign(AUTH_TOKEN, WRONG_AUTH, "01", &msg, &sig);
        assert_pkcs11_refused(&out, &["CKR_PIN_INCORRECT", "CKR_PIN_LOCKED"], &sig);
    }
    assert_eq!(tries(&dir), expect_tries(5, 0, 3, 3));

    // Locked, the right PIN is refused too.
    let out = pkcs11_sign(AUTH_TOKEN, AUTH_PIN, "01", &msg, &sig);
    assert_pkcs11_refused(&out, &["CKR_PIN_LOCKED"], &sig);
    let sign_auth = [
        "sign", "--key", "auth", "--pin", AUTH_PIN, "--in", msg_arg, "--out", sig_arg,
    ];
    client_fails(&dir, &sign_auth, "pin_locked");
    assert!(!sig.exists());

    // Five wrong signature PINs lock the signature PIN: one through OpenSC,
    // the rest through our client, which counts down.
    let out = pkcs11_sign(SIGN_TOKEN, WRONG_SIGN, "02", &msg, &sig);
    assert_pkcs11_refused(&out, &["CKR_PIN_INCORRECT"], &sig);
    let wrong_sign = [
        "sign", "--key", "sign", "--pin", WRONG_SIGN, "--in", msg_arg, "--out", sig_arg,
    ];
    for left in [3, 2, 1] {
        let v = client_fails(&dir, &wrong_sign, "wrong_pin");
        let text = v["error"]["message"].as_str().expect("message");
        assert!(text.contains(&format!("{left} tries left")), "{text}");
    }
    client_fails(&dir, &wrong_sign, "pin_locked");
    assert_eq!(tries(&dir), expect_tries(0, 0, 3, 3));
    let sign_sign = [
        "sign", "--key", "sign", "--pin", SIGN_PIN, "--in", msg_arg, "--out", sig_arg,
    ];
    client_fails(&dir, &sign_sign, "pin_locked");
    assert!(!sig.exists());

    // The locks are in the card: taken out, the image says so; put back,
    // the PINs are still locked.
    inserted.remove();
    let shown = card.show();
    assert_eq!(pins_of(&shown, false), expect_tries(0, 0, 3, 3), "card show: {shown}");
    let _inserted = card.insert();
    assert_eq!(tries(&dir), expect_tries(0, 0, 3, 3));
    assert_eq!(pkcs15_tries(), ("0".into(), "0".into()));
    let out = pkcs11_sign(AUTH_TOKEN, AUTH_PIN, "01", &msg, &sig);
    assert_pkcs11_refused(&out, &["CKR_PIN_LOCKED"], &sig);
    let out = pkcs11_sign(SIGN_TOKEN, SIGN_PIN, "02", &msg, &sig);
    assert_pkcs11_refused(&out, &["CKR_PIN_LOCKED"], &sig);
    client_fails(&dir, &sign_sign, "pin_locked");
}

#[test]
fn a_right_pin_restores_the_tries() {
    let _pcsc = pcsc();
    let dir = TempDir::new("restore");
    let card = new_card(&dir, false);
    let msg = message(&dir);
    let sig = dir.join("message.sig");
    let (sig_arg, msg_arg) = (p(&sig), p(&msg));
    let _inserted = card.insert();

    // Auth: two wrong through OpenSC, then the right one signs and restores 3.
    for _ in 0..2 {
        let out = pkcs11_sign(AUTH_TOKEN, WRONG_AUTH, "01", &msg, &sig);
        assert_pkcs11_refused(&out, &["CKR_PIN_INCORRECT"], &sig);
    }
    assert_eq!(tries(&dir), expect_tries(5, 1, 3, 3));
    let out = pkcs11_sign(AUTH_TOKEN, AUTH_PIN, "01", &msg, &sig);
    assert_eq!(out.code, 0, "pkcs11-tool sign with the right PIN:\n{}", out.all());
    assert_eq!(signature_len(&sig), 256);
    assert_eq!(tries(&dir), expect_tries(5, 3, 3, 3));

    // Two more wrong ones do not lock it (four in all, never three in a row).
    let wrong_auth = [
        "sign", "--key", "auth", "--pin", WRONG_AUTH, "--in", msg_arg, "--out", sig_arg,
    ];
    client_fails(&dir, &wrong_auth, "wrong_pin");
    let v = client_fails(&dir, &wrong_auth, "wrong_pin");
    assert!(
        v["error"]["message"]
            .as_str()
            .expect("message")
            .contains("1 tries left"),
        "{v}"
    );
    assert_eq!(tries(&dir), expect_tries(5, 1, 3, 3));
    let out = client(
        &dir,
        &[
            "sign", "--key", "auth", "--pin", AUTH_PIN, "--in", msg_arg, "--out", sig_arg,
        ],
    );
    assert_eq!(out.code, 0, "client sign with the right PIN:\n{}", out.all());
    assert_eq!(tries(&dir), expect_tries(5, 3, 3, 3));

    // Signature PIN: four wrong, then the right one through OpenSC.
    let wrong_sign = [
        "sign", "--key", "sign", "--pin", WRONG_SIGN, "--in", msg_arg, "--out", sig_arg,
    ];
    for _ in 0..4 {
        client_fails(&dir, &wrong_sign, "wrong_pin");
    }
    assert_eq!(tries(&dir), expect_tries(1, 3, 3, 3));
    let sign_sig = dir.join("sign.sig");
    let out = pkcs11_sign(SIGN_TOKEN, SIGN_PIN, "02", &msg, &sign_sig);
    assert_eq!(out.code, 0, "pkcs11-tool sign with the right PIN:\n{}", out.all());
    assert_eq!(tries(&dir), expect_tries(5, 3, 3, 3));

    // Input-support PIN: two wrong, then my-info with the right one.
    for _ in 0..2 {
        client_fails(&dir, &["my-info", "--pin", WRONG_INPUT], "wrong_pin");
    }
    assert_eq!(tries(&dir), expect_tries(5, 3, 1, 3));
    let (out, v) = client_json(&dir, &["my-info", "--pin", INPUT_PIN]);
    assert_eq!(out.code, 0, "client my-info:\n{}", out.all());
    assert_eq!(v["my_number"], MY_NUMBER);
    assert_eq!(tries(&dir), expect_tries(5, 3, 3, 3));
}

#[test]
fn client_shows_status_exports_certificates_and_reads_my_info() {
    let _pcsc = pcsc();
    let dir = TempDir::new("client-read");
    let card = new_card(&dir, false);
    let _inserted = card.insert();

    let (out, v) = client_json(&dir, &["readers"]);
    assert_eq!(out.code, 0, "client readers:\n{}", out.all());
    let readers = v["readers"].as_array().expect("readers");
    assert!(readers.iter().any(|r| r == READER), "{v}");
    let out = client(&dir, &["readers"]);
    assert!(out.code == 0 && out.stdout.contains(READER), "{}", out.all());

    // Status, in words and in JSON; the reader picked by (part of) its name.
    let out = client(&dir, &["status"]);
    assert_eq!(out.code, 0, "client status:\n{}", out.all());
    for expected in [
        READER,
        "signature: 5/5",
        "user authentication: 3/3",
        "input support: 3/3",
        "resident registry: 3/3",
    ] {
        assert!(
            out.stdout.contains(expected),
            "client status lacks {expected:?}:\n{}",
            out.stdout
        );
    }
    assert_eq!(tries(&dir), expect_tries(5, 3, 3, 3));
    let (out, v) = client_json(&dir, &["--reader", "PCD 00 00", "status"]);
    assert_eq!(out.code, 0, "client --reader 'PCD 00 00' status:\n{}", out.all());
    assert_eq!(v["reader"], READER);
    client_fails(&dir, &["--reader", "Virtual PCD 00 01", "status"], "no_card");

    // Certificates: without the signature PIN, no signature certificate.
    let public = export_certs(&dir, "public", None);
    assert_eq!(files_in(&public), ["auth-ca.pem", "auth.pem", "sign-ca.pem"]);
    let all = export_certs(&dir, "all", Some(SIGN_PIN));
    assert_eq!(files_in(&all), ["auth-ca.pem", "auth.pem", "sign-ca.pem", "sign.pem"]);
    assert_eq!(der_of(&public.join("auth.pem")), der_of(&all.join("auth.pem")));
    assert_eq!(openssl_serial(&all.join("auth.pem")), card.auth_serial);
    for (cert, ca) in [("auth.pem", "auth-ca.pem"), ("sign.pem", "sign-ca.pem")] {
        let out = ok(&mut tool(
            "openssl",
            &["verify", "-CAfile", p(&all.join(ca)), p(&all.join(cert))],
        ));
        assert!(out.stdout.contains(": OK"), "openssl verify {cert}:\n{}", out.all());
    }
    // A wrong signature PIN gets no certificate.
    let bad = dir.join("bad");
    client_fails(
        &dir,
        &["certs", "--out", p(&bad), "--sign-pin", WRONG_SIGN],
        "wrong_pin",
    );
    assert!(!bad.join("sign.pem").exists());
    assert_eq!(tries(&dir), expect_tries(4, 3, 3, 3));

    // My Number and the basic 4, signed by the producer.
    let (out, v) = client_json(&dir, &["my-info", "--pin", INPUT_PIN]);
    assert_eq!(out.code, 0, "client my-info:\n{}", out.all());
    assert_eq!(v["my_number"], MY_NUMBER, "{v}");
    assert_eq!(v["name"], NAME, "{v}");
    assert_eq!(v["address"], ADDRESS, "{v}");
    assert_eq!(v["birth_date"], BIRTH, "{v}");
    assert!(v["sex"].as_str().expect("sex").contains("female"), "{v}");
    assert_eq!(v["producer_signature_valid"], true, "{v}");
    let out = client(&dir, &["my-info", "--pin", INPUT_PIN]);
    assert_eq!(out.code, 0, "client my-info:\n{}", out.all());
    assert!(
        out.stdout.contains(MY_NUMBER) && out.stdout.contains(NAME),
        "{}",
        out.stdout
    );
}

#[test]
fn client_signs_with_both_keys() {
    let _pcsc = pcsc();
    let dir = TempDir::new("client-sign");
    let card = new_card(&dir, false);
    let msg = message(&dir);
    let _inserted = card.insert();

    let certs = export_certs(&dir, "certs", Some(SIGN_PIN));
    let auth_pub = public_key(&certs.join("auth.pem"));
    let sign_pub = public_key(&certs.join("sign.pem"));

    let auth_sig = dir.join("auth.sig");
    let (out, v) = client_json(
        &dir,
        &[
            "sign",
            "--key",
            "auth",
            "--pin",
            AUTH_PIN,
            "--in",
            p(&msg),
            "--out",
            p(&auth_sig),
        ],
    );
    assert_eq!(out.code, 0, "client sign --key auth:\n{}", out.all());
    assert_eq!(v["key"], "auth", "{v}");
    assert_eq!(v["verified"], true, "{v}");
    assert_eq!(signature_len(&auth_sig), 256);
    assert!(openssl_verifies("sha256", &auth_pub, &auth_sig, &msg));
    assert!(!openssl_verifies("sha256", &sign_pub, &auth_sig, &msg));

    // The PIN from the environment keeps it out of `ps`.
    let sign_sig = dir.join("sign.sig");
    let out = client_with(
        &dir,
        &["sign", "--key", "sign", "--in", p(&msg), "--out", p(&sign_sig)],
        &[("MYNACARD_PIN", SIGN_PIN)],
    );
    assert_eq!(out.code, 0, "client sign --key sign:\n{}", out.all());
    assert!(out.stdout.contains("OK"), "{}", out.stdout);
    assert_eq!(signature_len(&sign_sig), 256);
    assert!(openssl_verifies("sha256", &sign_pub, &sign_sig, &msg));
    assert!(!openssl_verifies("sha256", &auth_pub, &sign_sig, &msg));

    // Another message, another signature (it is not a canned answer).
    let other = dir.join("other.txt");
    std::fs::write(&other, "something else\n").expect("write message");
    let other_sig = dir.join("other.sig");
    let out = client(
        &dir,
        &[
            "sign",
            "--key",
            "auth",
            "--pin",
            AUTH_PIN,
            "--in",
            p(&other),
            "--out",
            p(&other_sig),
        ],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(openssl_verifies("sha256", &auth_pub, &other_sig, &other));
    assert!(!openssl_verifies("sha256", &auth_pub, &other_sig, &msg));
    assert_eq!(tries(&dir), expect_tries(5, 3, 3, 3));
}

#[test]
fn client_changes_pins() {
    let _pcsc = pcsc();
    let dir = TempDir::new("change-pin");
    let card = new_card(&dir, false);
    let msg = message(&dir);
    let sig = dir.join("message.sig");
    let (sig_arg, msg_arg) = (p(&sig), p(&msg));
    let inserted = card.insert();
    let sign_with = |key: &str, pin: &str| {
        let args = ["sign", "--key", key, "--pin", pin, "--in", msg_arg, "--out", sig_arg];
        client(&dir, &args)
    };
    let change = |which: &str, old: &str, new: &str| {
        let (out, v) = client_json(&dir, &["change-pin", "--which", which, "--old", old, "--new", new]);
        assert_eq!(out.code, 0, "change-pin --which {which}:\n{}", out.all());
        assert_eq!(v["pin"], which, "{v}");
    };

    // Auth: the old PIN is refused (and costs a try), the new one signs.
    change("auth", AUTH_PIN, NEW_AUTH);
    let out = sign_with("auth", AUTH_PIN);
    assert_eq!(out.code, 1, "the old auth PIN still signs:\n{}", out.all());
    assert_eq!(tries(&dir), expect_tries(5, 2, 3, 3));
    let out = sign_with("auth", NEW_AUTH);
    assert_eq!(out.code, 0, "the new auth PIN does not sign:\n{}", out.all());
    assert_eq!(tries(&dir), expect_tries(5, 3, 3, 3));

    // A new PIN of the wrong format is refused and changes nothing.
    for (which, old, bad) in [
        ("auth", NEW_AUTH, "12345"),
        ("auth", NEW_AUTH, "12a4"),
        ("sign", SIGN_PIN, "abc123"),
        ("sign", SIGN_PIN, "ABCDEFG"),
        ("input", INPUT_PIN, "123"),
    ] {
        let (out, v) = client_json(&dir, &["change-pin", "--which", which, "--old", old, "--new", bad]);
        assert!(
            out.code == 1 || out.code == 2,
            "change-pin --new {bad} should fail:\n{}",
            out.all()
        );
        assert_eq!(v["error"]["code"], "pin_format", "{v}");
    }
    assert_eq!(tries(&dir), expect_tries(5, 3, 3, 3));
    assert_eq!(sign_with("auth", NEW_AUTH).code, 0, "the auth PIN changed after all");
    assert_eq!(
        sign_with("sign", SIGN_PIN).code,
        0,
        "the signature PIN changed after all"
    );

    // Signature PIN.
    change("sign", SIGN_PIN, NEW_SIGN);
    let out = sign_with("sign", SIGN_PIN);
    assert_eq!(out.code, 1, "the old signature PIN still signs:\n{}", out.all());
    assert_eq!(
        sign_with("sign", NEW_SIGN).code,
        0,
        "the new signature PIN does not sign"
    );

    // Input-support PIN.
    change("input", INPUT_PIN, NEW_INPUT);
    client_fails(&dir, &["my-info", "--pin", INPUT_PIN], "wrong_pin");
    let (out, v) = client_json(&dir, &["my-info", "--pin", NEW_INPUT]);
    assert_eq!(out.code, 0, "my-info with the new PIN:\n{}", out.all());
    assert_eq!(v["my_number"], MY_NUMBER);

    // Registry PIN: the old one no longer changes it, the new one does.
    change("registry", REGISTRY_PIN, NEW_REGISTRY);
    client_fails(
        &dir,
        &[
            "change-pin",
            "--which",
            "registry",
            "--old",
            REGISTRY_PIN,
            "--new",
            REGISTRY_PIN,
        ],
        "wrong_pin",
    );
    change("registry", NEW_REGISTRY, NEW_REGISTRY);
    assert_eq!(tries(&dir), expect_tries(5, 3, 3, 3));
    assert_trace_hides_pins(&inserted);

    // The new PINs are in the card: taken out and put back, OpenSC signs
    // with the new auth PIN and refuses the old one.
    inserted.remove();
    let inserted = card.insert();
    let certs = export_certs(&dir, "certs", Some(NEW_SIGN));
    let auth_pub = public_key(&certs.join("auth.pem"));
    let p11_sig = dir.join("p11.sig");
    let out = pkcs11_sign(AUTH_TOKEN, AUTH_PIN, "01", &msg, &p11_sig);
    assert_pkcs11_refused(&out, &["CKR_PIN_INCORRECT"], &p11_sig);
    let out = pkcs11_sign(AUTH_TOKEN, NEW_AUTH, "01", &msg, &p11_sig);
    assert_eq!(out.code, 0, "pkcs11-tool with the new auth PIN:\n{}", out.all());
    assert!(openssl_verifies("sha256", &auth_pub, &p11_sig, &msg));
    let (out, _) = client_json(&dir, &["my-info", "--pin", NEW_INPUT]);
    assert_eq!(out.code, 0, "my-info after re-insertion:\n{}", out.all());
    assert_trace_hides_pins(&inserted);
}

#[test]
fn client_wrong_pin_fails_with_status_1_and_never_shows_a_pin() {
    let _pcsc = pcsc();
    let dir = TempDir::new("client-wrong");
    let card = new_card(&dir, false);
    let msg = message(&dir);
    let sig = dir.join("message.sig");
    let inserted = card.insert();

    // In words: nothing on stdout, one line on stderr with the tries left.
    let args = [
        "sign",
        "--key",
        "auth",
        "--pin",
        WRONG_AUTH,
        "--in",
        p(&msg),
        "--out",
        p(&sig),
    ];
    let out = client(&dir, &args);
    assert_eq!(out.code, 1, "{}", out.all());
    assert_eq!(out.stdout, "", "{}", out.all());
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("2 tries left"), "{}", out.stderr);
    assert!(!sig.exists());

    // In JSON: the error code.
    let v = client_fails(&dir, &args, "wrong_pin");
    assert!(
        v["error"]["message"]
            .as_str()
            .expect("message")
            .contains("1 tries left"),
        "{v}"
    );
    assert!(!sig.exists());
    let args = [
        "sign",
        "--key",
        "sign",
        "--pin",
        WRONG_SIGN,
        "--in",
        p(&msg),
        "--out",
        p(&sig),
    ];
    client_fails(&dir, &args, "wrong_pin");
    client_fails(&dir, &["my-info", "--pin", WRONG_INPUT], "wrong_pin");
    client_fails(
        &dir,
        &["certs", "--out", p(&dir.join("c")), "--sign-pin", WRONG_SIGN],
        "wrong_pin",
    );
    let change = ["change-pin", "--which", "auth", "--old", WRONG_AUTH, "--new", NEW_AUTH];
    client_fails(&dir, &change, "pin_locked");
    // That was the third wrong auth PIN: locked, and the new PIN not set.
    assert_eq!(tries(&dir), expect_tries(3, 0, 2, 3));
    let args = [
        "sign",
        "--key",
        "auth",
        "--pin",
        NEW_AUTH,
        "--in",
        p(&msg),
        "--out",
        p(&sig),
    ];
    client_fails(&dir, &args, "pin_locked");

    // No PIN on stdout or stderr (client_with checks every run) nor in the
    // card's APDU trace.
    assert_trace_hides_pins(&inserted);
}

#[test]
fn face_recognition_card_has_no_usable_pin() {
    let _pcsc = pcsc();
    let dir = TempDir::new("face");
    let card = new_card(&dir, true);
    let msg = message(&dir);
    let sig = dir.join("message.sig");
    let _inserted = card.insert();

    let out = ok(&mut tool("opensc-tool", &["-a", "-n"]));
    assert!(out.stdout.contains("jpki"), "{}", out.all());

    // The auth certificate is public: OpenSC and our client read it.
    let certs = export_certs(&dir, "certs", None);
    assert_eq!(files_in(&certs), ["auth-ca.pem", "auth.pem"]);
    let out = ok(&mut tool("pkcs15-tool", &["--read-certificate", "01"]));
    let opensc_pem = dir.join("opensc-auth.pem");
    std::fs::write(&opensc_pem, &out.stdout).expect("write certificate");
    assert_eq!(der_of(&opensc_pem), der_of(&certs.join("auth.pem")));
    assert_eq!(openssl_serial(&opensc_pem), card.auth_serial);

    // No PIN works: every one shows 0 tries, OpenSC cannot log in and sign,
    // and neither can our client.
    assert_eq!(tries(&dir), expect_tries(0, 0, 0, 0));
    assert_eq!(pkcs15_tries(), ("0".into(), "0".into()));
    let out = pkcs11_sign(AUTH_TOKEN, AUTH_PIN, "01", &msg, &sig);
    assert_ne!(
        out.code,
        0,
        "pkcs11-tool signed on a face-recognition card:\n{}",
        out.all()
    );
    assert_eq!(signature_len(&sig), 0);
    let (out, _) = client_json(
        &dir,
        &[
            "sign",
            "--key",
            "auth",
            "--pin",
            AUTH_PIN,
            "--in",
            p(&msg),
            "--out",
            p(&sig),
        ],
    );
    assert_eq!(out.code, 1, "client signed on a face-recognition card:\n{}", out.all());
    assert!(!sig.exists());
    let (out, _) = client_json(&dir, &["my-info", "--pin", INPUT_PIN]);
    assert_eq!(
        out.code,
        1,
        "client read my-info on a face-recognition card:\n{}",
        out.all()
    );
}

#[test]
fn jpki_cli_reads_certificates_and_signs() {
    let _pcsc = pcsc();
    let dir = TempDir::new("jpki-cli");
    let card = new_card(&dir, false);
    let _inserted = card.insert();

    let certs = export_certs(&dir, "certs", Some(SIGN_PIN));
    let auth_pem = certs.join("auth.pem");
    let sign_pem = certs.join("sign.pem");

    // The certificates that need no PIN, as DER on stdout.
    for (args, pem) in [
        (&["crypto", "-a", "read-certificate"][..], "auth.pem"),
        (&["crypto", "-a", "-c", "read-certificate"][..], "auth-ca.pem"),
        (&["crypto", "-c", "read-certificate"][..], "sign-ca.pem"),
    ] {
        let out = jpki_cli_run(args, None);
        assert_eq!(
            out.raw,
            der_of(&certs.join(pem)),
            "jpki-cli {args:?} differs from {pem}"
        );
    }
    let auth_der = dir.join("auth.der");
    std::fs::write(&auth_der, der_of(&auth_pem)).expect("write DER");

    // PIN status.
    assert_eq!(jpki_cli_run(&["crypto", "-a", "stat"], None).stdout.trim(), "3");
    assert_eq!(jpki_cli_run(&["crypto", "stat"], None).stdout.trim(), "5");

    // The signature certificate, behind the signature PIN.
    let sign_der = dir.join("sign.der");
    jpki_cli_on_terminal(&["crypto", "read-certificate"], "", SIGN_PIN, Some(&sign_der));
    assert_eq!(
        std::fs::read(&sign_der).expect("read jpki-cli's certificate"),
        der_of(&sign_pem)
    );

    // Signing: jpki-cli reads the document from the terminal and signs a
    // SHA-1 DigestInfo of it with either key.
    let text = "Signed by jpki-cli through PC/SC.\n";
    let msg = dir.join("jpki-message.txt");
    std::fs::write(&msg, text).expect("write message");
    let auth_pub = public_key(&auth_pem);
    let sign_pub = public_key(&sign_pem);
    for (flags, pin, public, name) in [
        (&["crypto", "-a", "sign"][..], AUTH_PIN, &auth_pub, "auth.sig"),
        (&["crypto", "sign"][..], SIGN_PIN, &sign_pub, "sign.sig"),
    ] {
        let sig = dir.join(name);
        let mut args = flags.to_vec();
        args.push(p(&sig));
        jpki_cli_on_terminal(&args, text, pin, None);
        assert_eq!(signature_len(&sig), 256, "jpki-cli {args:?} wrote no signature");
        assert!(
            openssl_verifies("sha1", public, &sig, &msg),
            "jpki-cli {args:?}: openssl"
        );
        let other = if name == "auth.sig" { &sign_pub } else { &auth_pub };
        assert!(!openssl_verifies("sha1", other, &sig, &msg));
    }
    // jpki-cli's own check of the auth signature.
    let out = jpki_cli_run(
        &["crypto", "-a", "verify", p(&auth_der), p(&dir.join("auth.sig"))],
        Some(&msg),
    );
    assert!(out.stderr.contains("OK") && !out.stderr.contains("NG"), "{}", out.all());

    // The right PINs spent no tries.
    assert_eq!(jpki_cli_run(&["crypto", "-a", "stat"], None).stdout.trim(), "3");
    assert_eq!(jpki_cli_run(&["crypto", "stat"], None).stdout.trim(), "5");
    assert_eq!(tries(&dir), expect_tries(5, 3, 3, 3));
}
