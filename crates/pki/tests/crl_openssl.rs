//! CRLs checked with the real `openssl` CLI as the oracle: a CA and
//! end-entity certificates made by openssl (RSA-2048), our CRL signed with
//! the CA's key, then `openssl crl` (text and signature) and `openssl verify
//! -crl_check` (revoked, held, good). Also the reverse: a CRL made by
//! `openssl ca -gencrl`, read by our parser.
//!
//! Needs `openssl` on PATH; set MYNACARD_SKIP_OPENSSL=1 to skip where it is
//! missing. If pkilint's `lint_crl` is on PATH, the CRL is linted too (PKIX
//! profile, pki-profile.md §4).

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{DateTime, TimeDelta, Utc};
use mynacard_pki::crl::{parse_crl, write_crl, CrlIssuer, CrlParams};
use mynacard_pki::status::{CertStatus, CrlReason, RevokedEntry};
use mynacard_pki::{Serial, Signer, SoftwareKey};

const CA_SUBJECT: &str =
    "/C=JP/O=JPKI/OU=JPKI for digital signature/OU=Japan Agency for Local Authority Information Systems";

const CONFIG: &str = r#"
[ req ]
distinguished_name = req_dn
string_mask = utf8only
[ req_dn ]

[ ca_ext ]
basicConstraints     = critical, CA:TRUE
keyUsage             = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[ ca_no_ski ]
basicConstraints       = critical, CA:TRUE
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = none
authorityKeyIdentifier = none

[ ee_ext ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature, nonRepudiation
authorityKeyIdentifier = keyid:always
crlDistributionPoints  = crldp

[ crldp ]
fullname = dirName:ca_dn

[ ca_dn ]
C    = JP
O    = JPKI
0.OU = JPKI for digital signature
1.OU = Japan Agency for Local Authority Information Systems
"#;

/// A scratch directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("mynacard-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `openssl args…` in `dir`; returns (success, stdout + stderr).
fn openssl(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn openssl_ok(dir: &Path, args: &[&str]) -> String {
    let (ok, text) = openssl(dir, args);
    assert!(ok, "openssl {} failed:\n{text}", args.join(" "));
    text
}

fn have_openssl() -> bool {
    if std::env::var_os("MYNACARD_SKIP_OPENSSL").is_some() {
        eprintln!("MYNACARD_SKIP_OPENSSL is set: skipping the openssl oracle");
        return false;
    }
    // Fail (not skip) when openssl is missing: this test is the oracle.
    true
}

/// A CA (RSA-2048, SKI = hash) and three end-entity certificates with the given serials.
struct Pki {
    dir: TempDir,
    key: SoftwareKey,
    ca_der: Vec<u8>,
}

fn make_pki(label: &str, ee_serials: &[&str]) -> Pki {
    let dir = TempDir::new(label);
    let d = dir.0.as_path();
    std::fs::write(dir.path("openssl.cnf"), CONFIG).expect("config");
    let rsa = ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"];
    openssl_ok(d, &[&["genpkey"][..], &rsa, &["-out", "ca.key"]].concat());
    openssl_ok(
        d,
        &[
            "req",
            "-new",
            "-x509",
            "-sha256",
            "-key",
            "ca.key",
            "-subj",
            CA_SUBJECT,
            "-days",
            "3650",
            "-set_serial",
            "0x067C6A21",
            "-config",
            "openssl.cnf",
            "-extensions",
            "ca_ext",
            "-out",
            "ca.pem",
        ],
    );
    openssl_ok(d, &["x509", "-in", "ca.pem", "-outform", "DER", "-out", "ca.der"]);
    openssl_ok(
        d,
        &[
            "pkcs8", "-topk8", "-nocrypt", "-in", "ca.key", "-outform", "DER", "-out", "ca.pk8",
        ],
    );
    // One end-entity key for every certificate (key generation is slow in OpenSSL 3.0).
    openssl_ok(d, &[&["genpkey"][..], &rsa, &["-out", "ee.key"]].concat());
    for (i, serial) in ee_serials.iter().enumerate() {
        let n = i + 1;
        let subject = format!("/C=JP/CN=ee{n}");
        let (csr, pem) = (format!("ee{n}.csr"), format!("ee{n}.pem"));
        openssl_ok(
            d,
            &[
                "req",
                "-new",
                "-key",
                "ee.key",
                "-subj",
                &subject,
                "-config",
                "openssl.cnf",
                "-out",
                &csr,
            ],
        );
        openssl_ok(
            d,
            &[
                "x509",
                "-req",
                "-sha256",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-set_serial",
                serial,
                "-days",
                "365",
                "-extfile",
                "openssl.cnf",
                "-extensions",
                "ee_ext",
                "-out",
                &pem,
            ],
        );
    }
    let key = SoftwareKey::from_pkcs8(&std::fs::read(dir.path("ca.pk8")).expect("pk8")).expect("CA key");
    let ca_der = std::fs::read(dir.path("ca.der")).expect("ca.der");
    Pki { dir, key, ca_der }
}

fn hex_colon(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

fn now() -> DateTime<Utc> {
    // Whole seconds: what a CRL can carry.
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    DateTime::from_timestamp(i64::try_from(secs).expect("secs"), 0).expect("now")
}

const EE_SERIALS: [&str; 3] = [
    "0x4A1D3C5E7F90B2C4D6E8F00000000001",
    "0x4A1D3C5E7F90B2C4D6E8F00000000002",
    "0x4A1D3C5E7F90B2C4D6E8F00000000003",
];

#[test]
fn openssl_accepts_our_crl() {
    if !have_openssl() {
        return;
    }
    let pki = make_pki("crl-openssl", &EE_SERIALS);
    let d = pki.dir.0.as_path();
    let issuer = CrlIssuer::new(&pki.ca_der).expect("issuer");
    let now = now();
    let revoked = RevokedEntry {
        serial: Serial::from_hex(EE_SERIALS[0]).expect("serial"),
        revoked_at: now - TimeDelta::hours(1),
        reason: CrlReason::KeyCompromise,
        invalidity_date: Some(now - TimeDelta::days(2)),
    };
    let held = RevokedEntry {
        serial: Serial::from_hex(EE_SERIALS[1]).expect("serial"),
        revoked_at: now - TimeDelta::minutes(30),
        reason: CrlReason::CertificateHold,
        invalidity_date: None,
    };
    let params = CrlParams {
        this_update: now - TimeDelta::minutes(5),
        next_update: now + TimeDelta::days(1),
        crl_number: 4242,
    };
    let file = std::fs::File::create(pki.dir.path("crl.der")).expect("create");
    let mut out = std::io::BufWriter::new(file);
    let entries = [Ok(revoked.clone()), Ok(held.clone())];
    let stats = write_crl(&issuer, &pki.key, &params, entries, &mut out).expect("write CRL");
    drop(out);
    assert_eq!(stats.entries, 2);
    let der = std::fs::read(pki.dir.path("crl.der")).expect("read");
    assert_eq!(stats.bytes, der.len() as u64);

    // Text dump: version, algorithm, both reasons, the invalidity date, CRL number and AKI.
    let text = openssl_ok(d, &["crl", "-inform", "DER", "-in", "crl.der", "-noout", "-text"]);
    for needle in [
        "Version 2 (0x1)",
        "sha256WithRSAEncryption",
        "Issuer: C = JP, O = JPKI, OU = JPKI for digital signature",
        "X509v3 CRL Number:",
        "4242",
        "X509v3 Authority Key Identifier:",
        &hex_colon(issuer.key_id()),
        "Key Compromise",
        "Certificate Hold",
        "Invalidity Date:",
        "4A1D3C5E7F90B2C4D6E8F00000000001",
        "4A1D3C5E7F90B2C4D6E8F00000000002",
    ] {
        assert!(text.contains(needle), "`openssl crl -text` lacks {needle:?}:\n{text}");
    }
    eprintln!("openssl crl -text:\n{text}");
    assert!(!text.contains("4A1D3C5E7F90B2C4D6E8F00000000003"));
    assert!(!text.contains("critical"), "no extension is critical:\n{text}");

    // Signature.
    let verify = openssl_ok(
        d,
        &["crl", "-inform", "DER", "-in", "crl.der", "-CAfile", "ca.pem", "-noout"],
    );
    eprintln!("openssl crl -CAfile: {verify}");
    assert!(verify.contains("verify OK"), "{verify}");

    // Path validation with the CRL: revoked and held certificates fail, the good one passes.
    openssl_ok(d, &["crl", "-inform", "DER", "-in", "crl.der", "-out", "crl.pem"]);
    for (ee, expect_revoked) in [("ee1.pem", true), ("ee2.pem", true), ("ee3.pem", false)] {
        let (ok, text) = openssl(
            d,
            &["verify", "-crl_check", "-CAfile", "ca.pem", "-CRLfile", "crl.pem", ee],
        );
        eprintln!("openssl verify -crl_check {ee}: {text}");
        if expect_revoked {
            assert!(
                !ok && text.contains("certificate revoked"),
                "{ee} should be revoked:\n{text}"
            );
        } else {
            assert!(ok && text.contains(&format!("{ee}: OK")), "{ee} should verify:\n{text}");
        }
    }

    // Our parser agrees, and checks the issuer.
    let crl = parse_crl(&der).expect("parse");
    assert_eq!(crl.get(&revoked.serial), Some(revoked));
    assert_eq!(crl.get(&held.serial), Some(held));
    assert_eq!(
        crl.status(&Serial::from_hex(EE_SERIALS[2]).expect("serial")),
        CertStatus::Good
    );
    crl.verify_issued_by(&issuer).expect("issued by the CA");

    if let Ok(lint) = Command::new("lint_crl")
        .args(["lint", "-t", "CRL", "-p", "PKIX"])
        .arg(d.join("crl.pem"))
        .output()
    {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&lint.stdout),
            String::from_utf8_lossy(&lint.stderr)
        );
        eprintln!("lint_crl (PKIX): exit {:?}\n{text}", lint.status.code());
        assert!(lint.status.success(), "pkilint findings:\n{text}");
    } else {
        eprintln!("pkilint (lint_crl) not on PATH: lint skipped");
    }
}

#[test]
fn method_1_key_id_matches_openssl_hash() {
    if !have_openssl() {
        return;
    }
    let pki = make_pki("crl-keyid", &[]);
    let d = pki.dir.0.as_path();
    // The same key, without SKI: CrlIssuer computes method 1 itself.
    openssl_ok(
        d,
        &[
            "req",
            "-new",
            "-x509",
            "-sha256",
            "-key",
            "ca.key",
            "-subj",
            CA_SUBJECT,
            "-days",
            "3650",
            "-config",
            "openssl.cnf",
            "-extensions",
            "ca_no_ski",
            "-outform",
            "DER",
            "-out",
            "ca-no-ski.der",
        ],
    );
    let text = openssl_ok(
        d,
        &["x509", "-inform", "DER", "-in", "ca-no-ski.der", "-noout", "-text"],
    );
    assert!(!text.contains("Subject Key Identifier"), "{text}");
    let with_ski = CrlIssuer::new(&pki.ca_der).expect("issuer");
    let without = CrlIssuer::new(&std::fs::read(d.join("ca-no-ski.der")).expect("read")).expect("issuer");
    assert_eq!(with_ski.key_id(), without.key_id(), "openssl's `hash` SKI is method 1");
    assert_eq!(with_ski.name_der(), without.name_der());
}

#[test]
fn we_read_openssl_crls() {
    if !have_openssl() {
        return;
    }
    let pki = make_pki("crl-gencrl", &[]);
    let d = pki.dir.0.as_path();
    let ca_cnf = format!(
        "[ ca ]\ndefault_ca = myca\n[ myca ]\ndir = {dir}\ndatabase = $dir/index.txt\ncrlnumber = $dir/crlnumber\n\
         certificate = $dir/ca.pem\nprivate_key = $dir/ca.key\ndefault_md = sha256\ndefault_crl_days = 1\n\
         crl_extensions = crl_ext\n[ crl_ext ]\nauthorityKeyIdentifier = keyid:always\n",
        dir = d.display()
    );
    std::fs::write(d.join("ca.cnf"), ca_cnf).expect("ca.cnf");
    std::fs::write(d.join("crlnumber"), "1000\n").expect("crlnumber");
    let index = [
        "R\t310601000000Z\t260102030405Z,keyCompromise\t4A1D3C5E7F90B2C4D6E8F00000000001\tunknown\t/CN=ee1",
        "R\t310601000000Z\t260102030405Z\t4A1D3C5E7F90B2C4D6E8F00000000002\tunknown\t/CN=ee2",
        "R\t310601000000Z\t260102030405Z,certificateHold,holdInstructionReject\t4A1D3C5E7F90B2C4D6E8F00000000003\tunknown\t/CN=ee3",
        "V\t310601000000Z\t\t4A1D3C5E7F90B2C4D6E8F00000000004\tunknown\t/CN=ee4",
    ];
    std::fs::write(d.join("index.txt"), index.join("\n") + "\n").expect("index");
    openssl_ok(d, &["ca", "-gencrl", "-config", "ca.cnf", "-out", "openssl-crl.pem"]);
    openssl_ok(
        d,
        &[
            "crl",
            "-in",
            "openssl-crl.pem",
            "-outform",
            "DER",
            "-out",
            "openssl-crl.der",
        ],
    );

    let crl = parse_crl(&std::fs::read(d.join("openssl-crl.der")).expect("read")).expect("parse openssl's CRL");
    let issuer = CrlIssuer::new(&pki.ca_der).expect("issuer");
    crl.verify_issued_by(&issuer).expect("signature, issuer and AKI");
    assert_eq!(crl.crl_number(), Some(0x1000));
    assert_eq!(crl.len(), 3);
    let at = DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
        .expect("time")
        .with_timezone(&Utc);
    let reason = |n: &str| {
        crl.get(&Serial::from_hex(n).expect("serial"))
            .map(|e| (e.revoked_at, e.reason))
    };
    assert_eq!(
        reason("4A1D3C5E7F90B2C4D6E8F00000000001"),
        Some((at, CrlReason::KeyCompromise))
    );
    assert_eq!(
        reason("4A1D3C5E7F90B2C4D6E8F00000000002"),
        Some((at, CrlReason::Unspecified))
    );
    assert_eq!(
        reason("4A1D3C5E7F90B2C4D6E8F00000000003"),
        Some((at, CrlReason::CertificateHold))
    );
    assert_eq!(reason("4A1D3C5E7F90B2C4D6E8F00000000004"), None);
    assert!(crl.verify_signature(pki.key.public_key_der()).is_ok());
}
