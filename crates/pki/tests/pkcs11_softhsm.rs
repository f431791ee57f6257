//! The PKCS#11 signer against SoftHSM2: key generation on the token,
//! signatures checked by aws-lc-rs and by `openssl`, reopening, transparent
//! re-login, what `pkcs11-tool` shows of the key, and clean errors.
//!
//! Needs the Debian packages softhsm2, opensc and openssl, which
//! `./scripts/test` installs. SoftHSM2 reads its configuration from the
//! process-wide `SOFTHSM2_CONF` when the module is initialised, once per
//! process, so everything runs in one test function, in order.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use aws_lc_rs::signature::{UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::object::{Attribute, AttributeInfo, AttributeType, ObjectClass};
use mynacard_pki::pkcs11::{rsa_spki_parts, Pkcs11Config, Pkcs11Signer};
use mynacard_pki::signer::sha1;
use mynacard_pki::{PkiError, Signer, SoftwareKey};

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const TOKEN: &str = "mynacard-test";
const SO_PIN: &str = "1234";
const PIN: &str = "5678";
const WRONG_PIN: &str = "8765";
const KEY: &str = "mynacard-test-ca-key";

/// Fails (never skips) when the tools are missing.
fn require_tools() {
    let mut missing = Vec::new();
    if !Path::new(MODULE).exists() {
        missing.push(format!("{MODULE} (package softhsm2)"));
    }
    for (tool, package) in [
        ("softhsm2-util", "softhsm2"),
        ("pkcs11-tool", "opensc"),
        ("openssl", "openssl"),
    ] {
        if Command::new(tool).arg("--version").output().is_err() {
            missing.push(format!("{tool} (package {package})"));
        }
    }
    assert!(
        missing.is_empty(),
        "the PKCS#11 tests need SoftHSM2, OpenSC and OpenSSL; missing: {}. Run ./scripts/test, which installs them",
        missing.join(", ")
    );
}

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("mynacard-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("temp dir");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs a command that must succeed; returns its stdout.
fn run(command: &mut Command) -> String {
    let output = command.output().unwrap_or_else(|e| panic!("{command:?}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn config(pin: &str, key_label: &str) -> Pkcs11Config {
    Pkcs11Config {
        module: MODULE.into(),
        token_label: TOKEN.into(),
        pin: pin.into(),
        key_label: key_label.into(),
    }
}

/// The raw RSAPublicKey inside a SubjectPublicKeyInfo (what aws-lc-rs verifies with).
fn rsa_public_key(spki: &[u8]) -> Vec<u8> {
    use der::Decode;
    let info = spki::SubjectPublicKeyInfoRef::from_der(spki).expect("SubjectPublicKeyInfo");
    info.subject_public_key.raw_bytes().to_vec()
}

fn verifies(signer: &dyn Signer, message: &[u8], signature: &[u8]) -> bool {
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, rsa_public_key(signer.public_key_der()))
        .verify(message, signature)
        .is_ok()
}

/// An expected error: a one-line `PkiError::Signer` containing `needle`, without any PIN.
fn assert_signer_error(result: Result<Pkcs11Signer, PkiError>, needle: &str) -> String {
    let error = result.expect_err(needle);
    let text = error.to_string();
    assert!(matches!(error, PkiError::Signer(_)), "{error:?}");
    assert!(text.contains(needle), "{text:?} does not mention {needle:?}");
    assert!(!text.contains('\n'), "{text:?} is not one line");
    for pin in [PIN, WRONG_PIN, SO_PIN] {
        assert!(!text.contains(pin), "{text:?} shows a PIN");
    }
    text
}

fn pem(spki: &[u8]) -> String {
    let b64 = B64.encode(spki);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("base64"))
        .collect();
    format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        lines.join("\n")
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Signatures per second over `n` signatures.
fn rate(signer: &dyn Signer, n: u32) -> f64 {
    let start = std::time::Instant::now();
    for i in 0..n {
        signer.sign(&i.to_be_bytes()).expect("sign");
    }
    f64::from(n) / start.elapsed().as_secs_f64()
}

#[test]
fn pkcs11_signer_on_softhsm2() {
    require_tools();
    let dir = TempDir::new("softhsm2");
    let tokens = dir.0.join("tokens");
    std::fs::create_dir_all(&tokens).expect("token dir");
    let conf = dir.0.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .expect("softhsm2.conf");
    // The only test of this binary, and before any thread of ours exists.
    std::env::set_var("SOFTHSM2_CONF", &conf);
    run(Command::new("softhsm2-util").env("SOFTHSM2_CONF", &conf).args([
        "--init-token",
        "--free",
        "--label",
        TOKEN,
        "--so-pin",
        SO_PIN,
        "--pin",
        PIN,
    ]));

    // A key generated on the token signs, and aws-lc-rs verifies.
    let signer = Pkcs11Signer::generate(&config(PIN, KEY)).expect("generate");
    let (modulus, exponent) = rsa_spki_parts(signer.public_key_der()).expect("SPKI");
    assert_eq!((modulus.len(), exponent.as_slice()), (256, &[1u8, 0, 1][..]));
    assert_eq!(
        signer.key_id(),
        sha1(&rsa_public_key(signer.public_key_der())),
        "CKA_ID is the key identifier"
    );
    let message = b"mynacard: signed on a PKCS#11 token";
    let signature = signer.sign(message).expect("sign");
    assert_eq!(signature.len(), 256);
    assert!(verifies(&signer, message, &signature));
    assert!(!verifies(&signer, b"mynacard: signed on a PKCS#11 tokem", &signature));
    assert_eq!(
        signer.sign(message).expect("sign"),
        signature,
        "PKCS#1 v1.5 is deterministic"
    );

    // OpenSSL agrees.
    let public_pem = dir.0.join("pub.pem");
    let signature_file = dir.0.join("sig.bin");
    let message_file = dir.0.join("msg");
    std::fs::write(&public_pem, pem(signer.public_key_der())).expect("pub.pem");
    std::fs::write(&signature_file, &signature).expect("sig.bin");
    std::fs::write(&message_file, message).expect("msg");
    let verified = run(Command::new("openssl")
        .arg("dgst")
        .arg("-sha256")
        .arg("-verify")
        .arg(&public_pem)
        .arg("-signature")
        .arg(&signature_file)
        .arg(&message_file));
    assert!(verified.contains("Verified OK"), "{verified}");

    // One label, one key.
    assert_signer_error(Pkcs11Signer::generate(&config(PIN, KEY)), "already exists");

    // Reopened by label: same key, same signatures.
    let reopened = Pkcs11Signer::open(&config(PIN, KEY)).expect("open");
    assert_eq!(reopened.public_key_der(), signer.public_key_der());
    assert_eq!(reopened.key_id(), signer.key_id());
    assert_eq!(reopened.sign(message).expect("sign"), signature);

    // Shared between threads.
    let shared = Arc::new(reopened);
    std::thread::scope(|scope| {
        for t in 0..4u8 {
            let shared = shared.clone();
            scope.spawn(move || {
                for i in 0..10u8 {
                    let m = [t, i];
                    let s = shared.sign(&m).expect("sign in a thread");
                    assert!(verifies(shared.as_ref(), &m, &s));
                }
            });
        }
    });

    // Somebody logs the token out: the signers log in again by themselves.
    {
        let ctx = Pkcs11::new(MODULE).expect("module");
        // Already initialised by the signers: the library is loaded once per process.
        let _ = ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK));
        let slot = ctx
            .get_slots_with_token()
            .expect("slots")
            .into_iter()
            .find(|s| ctx.get_token_info(*s).map(|i| i.label() == TOKEN).unwrap_or(false))
            .expect("our token");
        let session = ctx.open_ro_session(slot).expect("session");
        session.logout().expect("logout");
        // While logged out, the private key is invisible.
        let private = [
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::Label(KEY.as_bytes().to_vec()),
        ];
        assert!(session.find_objects(&private).expect("find").is_empty());
        let again = signer.sign(message).expect("sign after logout");
        assert_eq!(again, signature);
        assert!(verifies(
            shared.as_ref(),
            message,
            &shared.sign(message).expect("sign after logout")
        ));

        // The private key: sensitive and never extractable; its secret parts unreadable.
        let key = *session
            .find_objects(&private)
            .expect("find")
            .first()
            .expect("the private key");
        let attributes = session
            .get_attributes(
                key,
                &[
                    AttributeType::Sensitive,
                    AttributeType::Extractable,
                    AttributeType::NeverExtractable,
                ],
            )
            .expect("attributes");
        for expected in [
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::NeverExtractable(true),
        ] {
            assert!(
                attributes.iter().any(|a| format!("{a:?}") == format!("{expected:?}")),
                "{expected:?} not in {attributes:?}"
            );
        }
        let secret = session
            .get_attribute_info(key, &[AttributeType::PrivateExponent, AttributeType::Prime1])
            .expect("attribute info");
        assert!(
            secret.iter().all(|i| matches!(i, AttributeInfo::Sensitive)),
            "{secret:?}"
        );
    }

    // What an operator sees with OpenSC.
    let listing = run(Command::new("pkcs11-tool").env("SOFTHSM2_CONF", &conf).args([
        "--module",
        MODULE,
        "--token-label",
        TOKEN,
        "--list-objects",
        "--login",
        "--pin",
        PIN,
    ]));
    let private = listing
        .split("Private Key Object")
        .nth(1)
        .and_then(|s| s.split("Object;").next())
        .unwrap_or_else(|| panic!("no private key in:\n{listing}"));
    assert!(private.contains(&format!("label:      {KEY}")), "{listing}");
    assert!(
        private.contains(&format!("ID:         {}", hex(signer.key_id()))),
        "{listing}"
    );
    assert!(private.contains("Usage:      sign\n"), "{listing}");
    assert!(
        private.contains("sensitive, always sensitive, never extractable"),
        "{listing}"
    );
    assert!(listing.contains("Public Key Object; RSA 2048 bits"), "{listing}");

    // Clean errors, never showing a PIN. First while the token is logged in
    // (by `signer`): a second login with another PIN would "succeed".
    assert_signer_error(Pkcs11Signer::open(&config(WRONG_PIN, KEY)), "wrong PIN");
    drop(shared);
    drop(signer);
    // Now that no session is open, the token checks the PIN itself.
    assert_signer_error(Pkcs11Signer::open(&config(WRONG_PIN, KEY)), "wrong PIN");
    assert_signer_error(Pkcs11Signer::generate(&config(WRONG_PIN, "another")), "wrong PIN");
    assert_signer_error(
        Pkcs11Signer::open(&config(PIN, "no-such-key")),
        "no private key labelled \"no-such-key\"",
    );
    let mut no_token = config(PIN, KEY);
    no_token.token_label = "no-such-token".into();
    let text = assert_signer_error(Pkcs11Signer::open(&no_token), "no token labelled \"no-such-token\"");
    assert!(text.contains(TOKEN), "{text} should list the tokens present");
    let mut no_module = config(PIN, KEY);
    no_module.module = dir.0.join("libnothere.so");
    assert_signer_error(Pkcs11Signer::open(&no_module), "libnothere.so does not exist");
    let mut not_a_module = config(PIN, KEY);
    not_a_module.module = message_file.clone();
    assert_signer_error(Pkcs11Signer::open(&not_a_module), "cannot load the PKCS#11 module");

    // After all that, the right PIN still works (SoftHSM2 does not lock the PIN).
    let signer = Pkcs11Signer::open(&config(PIN, KEY)).expect("open after wrong PINs");
    assert!(verifies(&signer, message, &signer.sign(message).expect("sign")));

    // Throughput, for the record (`cargo test --release -- --nocapture`).
    let software = SoftwareKey::generate().expect("software key");
    let n = 200;
    eprintln!(
        "RSA-2048 signatures/s over {n}: SoftHSM2 {:.0}, SoftwareKey {:.0}",
        rate(&signer, n),
        rate(&software, n)
    );
}
