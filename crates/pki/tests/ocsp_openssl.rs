//! OCSP against the real `openssl` CLI as the oracle: openssl builds the
//! requests, our responder answers, and `openssl ocsp -respin` verifies the
//! responses (signature, responder delegation, status, reason, nonce).
//!
//! Skipped (with a message) when `openssl` is not installed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use mynacard_pki::ocsp::{
    encode_request, parse_request, parse_response, CertIdHash, OcspIssuer, Responder, SingleStatus,
};
use mynacard_pki::status::CrlReason;
use mynacard_pki::{Serial, SoftwareKey};

/// A throwaway CA made by openssl in a temporary directory.
struct Pki {
    dir: PathBuf,
}

impl Drop for Pki {
    fn drop(&mut self) {
        if std::env::var_os("MYNACARD_KEEP_OCSP_DIR").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

const EXTENSIONS: &str = "\
[ocsp]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = OCSPSigning
noCheck = ignored
[ee]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
";

/// Runs openssl in `dir`; returns (success, stdout + stderr).
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
    assert!(ok, "openssl {args:?} failed:\n{text}");
    text
}

fn have_openssl() -> bool {
    Command::new("openssl")
        .arg("version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

impl Pki {
    fn new(name: &str) -> Pki {
        let dir = std::env::temp_dir().join(format!("mynacard-ocsp-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(dir.join("ext.cnf"), EXTENSIONS).expect("ext.cnf");
        let pki = Pki { dir };
        let d = &pki.dir;
        openssl_ok(
            d,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "3650",
                "-sha256",
                "-subj",
                "/C=JP/O=JPKI/OU=JPKI for digital signature/OU=Japan Agency for Local Authority Information Systems",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        );
        for (who, serial, ext) in [
            ("responder", "0x1001", "ocsp"),
            ("ee1", "0x4a3b2c1d00112233", "ee"),
            ("ee2", "0x7fee0102", "ee"),
        ] {
            let subject = format!("/C=JP/CN={who}");
            let (key, csr, pem) = (format!("{who}.key"), format!("{who}.csr"), format!("{who}.pem"));
            openssl_ok(
                d,
                &[
                    "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &csr, "-subj", &subject,
                ],
            );
            openssl_ok(
                d,
                &[
                    "x509",
                    "-req",
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
                    "-sha256",
                    "-extfile",
                    "ext.cnf",
                    "-extensions",
                    ext,
                    "-out",
                    &pem,
                ],
            );
        }
        openssl_ok(
            d,
            &[
                "pkcs8",
                "-topk8",
                "-nocrypt",
                "-in",
                "responder.key",
                "-outform",
                "DER",
                "-out",
                "responder.pk8",
            ],
        );
        for c in ["ca", "responder", "ee1", "ee2"] {
            openssl_ok(
                d,
                &[
                    "x509",
                    "-in",
                    &format!("{c}.pem"),
                    "-outform",
                    "DER",
                    "-out",
                    &format!("{c}.der"),
                ],
            );
        }
        pki
    }

    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.dir.join(name)).expect(name)
    }

    fn responder(&self) -> Responder {
        let issuer = OcspIssuer::new(&self.read("ca.der")).expect("issuer");
        let key = SoftwareKey::from_pkcs8(&self.read("responder.pk8")).expect("responder key");
        Responder::new(issuer, self.read("responder.der"), Arc::new(key)).expect("responder")
    }

    /// `openssl ocsp -issuer ca.pem [-sha256] {-cert x.pem | -serial n}… -reqout name [-nonce|-no_nonce]`;
    /// `ids` are `x.pem` files or `0x…` serials.
    fn request(&self, name: &str, ids: &[&str], sha256: bool, nonce: bool) -> Vec<u8> {
        let mut args = vec!["ocsp", "-issuer", "ca.pem"];
        if sha256 {
            args.push("-sha256");
        }
        push_ids(&mut args, ids);
        args.extend(["-reqout", name, if nonce { "-nonce" } else { "-no_nonce" }]);
        openssl_ok(&self.dir, &args);
        self.read(name)
    }

    /// `openssl ocsp -respin resp -CAfile ca.pem -issuer ca.pem -cert … -resp_text`;
    /// with `reqin`, the request file instead of `-cert` (openssl then checks the
    /// nonce of the response against the request).
    fn check(&self, resp: &str, certs: &[&str], reqin: Option<&str>) -> (bool, String) {
        let mut args = vec![
            "ocsp",
            "-respin",
            resp,
            "-CAfile",
            "ca.pem",
            "-issuer",
            "ca.pem",
            "-resp_text",
        ];
        match reqin {
            Some(r) => args.extend(["-reqin", r]),
            None => {
                push_ids(&mut args, certs);
                args.push("-no_nonce");
            }
        }
        openssl(&self.dir, &args)
    }
}

fn push_ids<'a>(args: &mut Vec<&'a str>, ids: &[&'a str]) {
    for id in ids {
        args.extend([if id.starts_with("0x") { "-serial" } else { "-cert" }, id]);
    }
}

fn now() -> DateTime<Utc> {
    // Whole seconds: the responses carry no fractions.
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    Utc.timestamp_opt(i64::try_from(secs).expect("secs"), 0)
        .single()
        .expect("now")
}

#[test]
fn openssl_accepts_good_revoked_and_unknown() {
    if !have_openssl() {
        eprintln!("openssl not found: skipping");
        return;
    }
    let pki = Pki::new("statuses");
    let responder = pki.responder();
    let t = now() - Duration::minutes(5);
    let ee1 = Serial::from_hex("4a3b2c1d00112233").expect("serial");
    let ee2 = Serial::from_hex("7fee0102").expect("serial");
    for (reason, name) in [
        (CrlReason::KeyCompromise, "keyCompromise"),
        (CrlReason::CertificateHold, "certificateHold"),
    ] {
        // ee1 good, ee2 revoked, and serial 0x99, which this CA never issued: unknown.
        let ids = ["ee1.pem", "ee2.pem", "0x99"];
        let req = parse_request(&pki.request("req.der", &ids, false, false)).expect("parse");
        assert_eq!(req.requests.len(), 3);
        assert!(req
            .requests
            .iter()
            .all(|id| responder.issuer().matches(id) && id.hash() == Some(CertIdHash::Sha1)));
        let revoked_at = t - Duration::days(1);
        let der = responder
            .answer(&req, t, t, Some(t + Duration::days(1)), |serial| {
                if *serial == ee1 {
                    SingleStatus::Good
                } else if *serial == ee2 {
                    SingleStatus::Revoked {
                        at: revoked_at,
                        reason: Some(reason),
                    }
                } else {
                    SingleStatus::Unknown
                }
            })
            .expect("respond");
        std::fs::write(pki.dir.join("resp.der"), &der).expect("write");
        let (ok, text) = pki.check("resp.der", &ids, None);
        assert!(ok, "{text}");
        assert!(text.contains("Response verify OK"), "{text}");
        assert!(text.contains("ee1.pem: good"), "{text}");
        assert!(text.contains("ee2.pem: revoked"), "{text}");
        assert!(text.contains(&format!("Reason: {name}")), "{text}");
        assert!(text.contains("0x99: unknown"), "{text}");
        let key_id: String = responder
            .responder_key_hash()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        assert!(text.contains(&format!("Responder Id: {key_id}")), "{text}");
        assert!(!text.contains("WARNING"), "{text}");
    }
}

#[test]
fn openssl_checks_the_echoed_nonce() {
    if !have_openssl() {
        eprintln!("openssl not found: skipping");
        return;
    }
    let pki = Pki::new("nonce");
    let responder = pki.responder();
    let t = now() - Duration::minutes(1);
    for sha256 in [false, true] {
        let req = parse_request(&pki.request("req.der", &["ee1.pem"], sha256, true)).expect("parse");
        let nonce = req.nonce.clone().expect("openssl -nonce sends a nonce");
        assert_eq!(
            req.requests[0].hash(),
            Some(if sha256 { CertIdHash::Sha256 } else { CertIdHash::Sha1 })
        );
        let der = responder
            .answer(&req, t, t, Some(t + Duration::hours(4)), |_| SingleStatus::Good)
            .expect("answer");
        assert_eq!(parse_response(&der).expect("parse").nonce, Some(nonce));
        std::fs::write(pki.dir.join("resp.der"), &der).expect("write");
        let (ok, text) = pki.check("resp.der", &[], Some("req.der"));
        assert!(ok, "{text}");
        assert!(text.contains("Response verify OK"), "{text}");
        assert!(text.contains("Cert Status: good"), "{text}");
        assert!(text.contains("OCSP Nonce"), "{text}");
        assert!(
            !text.contains("Nonce Verify error") && !text.contains("WARNING"),
            "{text}"
        );

        // A response carrying some other nonce is refused by openssl.
        let other = [0x04, 0x10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
        let bad = responder
            .respond_one(&req.requests[0], SingleStatus::Good, t, t, None, Some(&other))
            .expect("bad");
        std::fs::write(pki.dir.join("bad.der"), &bad).expect("write");
        let (ok, text) = pki.check("bad.der", &[], Some("req.der"));
        assert!(!ok && text.contains("Nonce Verify error"), "{text}");
    }

    // A legacy client putting the raw nonce octets in extnValue: echoed as is, and openssl
    // (which compares whole extnValues) accepts the echo.
    let raw = [0x5au8; 20];
    let legacy = encode_request(
        &[responder.issuer().cert_id(CertIdHash::Sha1, ee1_serial())],
        Some(&raw),
    )
    .expect("req");
    std::fs::write(pki.dir.join("legacy.der"), &legacy).expect("write");
    let req = parse_request(&legacy).expect("parse");
    assert_eq!(req.nonce.as_deref(), Some(&raw[..]));
    let der = responder
        .answer(&req, t, t, None, |_| SingleStatus::Good)
        .expect("answer");
    std::fs::write(pki.dir.join("resp.der"), &der).expect("write");
    let (ok, text) = pki.check("resp.der", &[], Some("legacy.der"));
    assert!(
        ok && text.contains("Response verify OK") && !text.contains("Nonce Verify error"),
        "{text}"
    );
}

fn ee1_serial() -> Serial {
    Serial::from_hex("4a3b2c1d00112233").expect("serial")
}

#[test]
fn openssl_accepts_sha256_cert_ids_and_revoked_reasons() {
    if !have_openssl() {
        eprintln!("openssl not found: skipping");
        return;
    }
    let pki = Pki::new("sha256");
    let responder = pki.responder();
    let t = now() - Duration::minutes(1);
    let req = parse_request(&pki.request("req.der", &["ee2.pem"], true, false)).expect("parse");
    assert_eq!(req.requests[0].hash(), Some(CertIdHash::Sha256));
    for (reason, name) in [
        (CrlReason::Unspecified, "unspecified"),
        (CrlReason::KeyCompromise, "keyCompromise"),
        (CrlReason::CaCompromise, "cACompromise"),
        (CrlReason::AffiliationChanged, "affiliationChanged"),
        (CrlReason::Superseded, "superseded"),
        (CrlReason::CessationOfOperation, "cessationOfOperation"),
        (CrlReason::CertificateHold, "certificateHold"),
    ] {
        let status = SingleStatus::Revoked {
            at: t - Duration::hours(2),
            reason: Some(reason),
        };
        let der = responder
            .respond_one(&req.requests[0], status, t, t, Some(t + Duration::days(1)), None)
            .expect("r");
        std::fs::write(pki.dir.join("resp.der"), &der).expect("write");
        // openssl matches the SHA-256 CertID only if asked with -sha256 too.
        let (ok, text) = openssl(
            &pki.dir,
            &[
                "ocsp",
                "-respin",
                "resp.der",
                "-CAfile",
                "ca.pem",
                "-issuer",
                "ca.pem",
                "-sha256",
                "-cert",
                "ee2.pem",
                "-no_nonce",
                "-resp_text",
            ],
        );
        assert!(ok && text.contains("Response verify OK"), "{text}");
        assert!(
            text.contains("ee2.pem: revoked") && text.contains(&format!("Reason: {name}")),
            "{text}"
        );
        assert!(text.contains("Hash Algorithm: sha256"), "{text}");
    }
}

#[test]
fn openssl_rejects_tampered_responses_and_we_refuse_non_responders() {
    if !have_openssl() {
        eprintln!("openssl not found: skipping");
        return;
    }
    let pki = Pki::new("tampered");
    let t = now();
    // The EE's own key and certificate (no OCSPSigning EKU) cannot be a responder.
    openssl_ok(
        &pki.dir,
        &[
            "pkcs8", "-topk8", "-nocrypt", "-in", "ee1.key", "-outform", "DER", "-out", "ee1.pk8",
        ],
    );
    let key = SoftwareKey::from_pkcs8(&pki.read("ee1.pk8")).expect("key");
    let issuer = OcspIssuer::new(&pki.read("ca.der")).expect("issuer");
    assert!(Responder::new(issuer, pki.read("ee1.der"), Arc::new(key)).is_err());

    let req = parse_request(&pki.request("req.der", &["ee1.pem"], false, false)).expect("parse");
    let der = pki
        .responder()
        .respond_one(&req.requests[0], SingleStatus::Good, t, t, None, None)
        .expect("respond");
    // The signature ends just before `[0] EXPLICIT SEQUENCE OF Certificate` (8 header octets).
    let cert = pki.read("responder.der");
    let at = der
        .windows(cert.len())
        .position(|w| w == cert.as_slice())
        .expect("cert inside");
    let mut tampered = der.clone();
    tampered[at - 9] ^= 1;
    std::fs::write(pki.dir.join("resp.der"), &tampered).expect("write");
    let (ok, text) = pki.check("resp.der", &["ee1.pem"], None);
    assert!(!ok && !text.contains("Response verify OK"), "{text}");
    assert!(text.contains("Response Verify Failure"), "{text}");
    assert!(parse_response(&tampered)
        .expect("parse")
        .verify_signature(&spki(&cert))
        .is_err());
    assert!(parse_response(&der)
        .expect("parse")
        .verify_signature(&spki(&cert))
        .is_ok());
}

fn spki(cert_der: &[u8]) -> Vec<u8> {
    use der::{Decode, Encode};
    let cert = x509_cert::Certificate::from_der(cert_der).expect("cert");
    cert.tbs_certificate().subject_public_key_info().to_der().expect("spki")
}

#[test]
fn openssl_reads_the_error_responses() {
    if !have_openssl() {
        eprintln!("openssl not found: skipping");
        return;
    }
    use mynacard_pki::ocsp::{error_response, OcspResponseStatus};
    let pki = Pki::new("errors");
    for (status, text_status) in [
        (OcspResponseStatus::MalformedRequest, "malformedrequest"),
        (OcspResponseStatus::InternalError, "internalerror"),
        (OcspResponseStatus::TryLater, "trylater"),
        (OcspResponseStatus::SigRequired, "sigrequired"),
        (OcspResponseStatus::Unauthorized, "unauthorized"),
    ] {
        std::fs::write(pki.dir.join("err.der"), error_response(status)).expect("write");
        let (_, text) = openssl(&pki.dir, &["ocsp", "-respin", "err.der", "-resp_text", "-noverify"]);
        assert!(
            text.contains(&format!("Responder Error: {text_status} ({})", status as u8)),
            "{text}"
        );
    }
}
