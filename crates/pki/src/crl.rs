//! X.509 v2 CRLs (RFC 5280 §5), written as a stream and parsed without
//! building a tree.
//!
//! # Writing
//!
//! [`write_crl`] encodes each [`RevokedEntry`] into one byte buffer as the
//! iterator yields it; no entry struct is kept. The buffer starts with a
//! reserved prefix that is big enough for the outer `CertificateList`
//! header, the `TBSCertList` header, the fixed fields (version, signature,
//! issuer, thisUpdate, nextUpdate) and the `revokedCertificates` header. Once
//! the last entry and the CRL extensions are in, the lengths are known and
//! those parts are written right-aligned into the prefix, so the TBS is one
//! contiguous slice: it is hashed (SHA-256), signed with
//! [`Signer::sign_digest`], the signature is appended, and the CRL goes out
//! with a single `write_all`. The entries are never copied, so peak memory is
//! about the size of the CRL (≈ 43 bytes per entry) and the cost is one pass
//! to encode and one to hash.
//!
//! Profile (RFC 5280 §5, pki-profile.md §2): version v2; sha256WithRSAEncryption
//! with NULL parameters; times as UTCTime up to 2049 and GeneralizedTime from
//! 2050; `revokedCertificates` omitted when empty; CRL extensions
//! authorityKeyIdentifier (keyIdentifier only) and cRLNumber, both
//! non-critical; entry extensions reasonCode (omitted for `unspecified`, as
//! §5.3.1 advises; `certificateHold` included) and invalidityDate
//! (GeneralizedTime) when known. The caller gives each serial once (the CA's
//! database has one row per certificate); the writer does not check, as that
//! would need a set of every serial.
//!
//! # Parsing
//!
//! [`parse_crl`] walks the DER once, checks every entry, and keeps only an
//! index of entry offsets sorted by serial (8 bytes per entry); lookups
//! decode the one entry they find. A million-entry CRL parses in well under a
//! second. Unknown critical extensions, indirect CRLs (certificateIssuer),
//! delta CRLs and issuingDistributionPoint are refused, as RFC 5280 requires
//! of a relying party that does not process them.

use std::cmp::Ordering;
use std::io::Write;
use std::ops::Range;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Timelike, Utc};

use crate::signer::{sha1, sha256, Signer};
use crate::status::{CertStatus, CrlReason, RevokedEntry};
use crate::{PkiError, Serial};

// ---------------------------------------------------------------------------
// DER constants

const BOOLEAN: u8 = 0x01;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OCTET_STRING: u8 = 0x04;
const OBJECT_IDENTIFIER: u8 = 0x06;
const ENUMERATED: u8 = 0x0a;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;
const SEQUENCE: u8 = 0x30;
/// `[0] EXPLICIT` (constructed): crlExtensions, and a certificate's version.
const CONTEXT_0_CONSTRUCTED: u8 = 0xa0;
/// `[0] IMPLICIT OCTET STRING`: AuthorityKeyIdentifier.keyIdentifier.
const CONTEXT_0_PRIMITIVE: u8 = 0x80;

/// AlgorithmIdentifier { sha256WithRSAEncryption, NULL } (RFC 4055 §5).
const SHA256_WITH_RSA: [u8; 15] = [
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00,
];
/// The same without the NULL, which some encoders emit; accepted when parsing.
const SHA256_WITH_RSA_NO_NULL: [u8; 13] = [
    0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b,
];

/// Content octets of the extension OIDs (checked against `crate::oid` in the tests).
const OID_CRL_NUMBER: [u8; 3] = [0x55, 0x1d, 0x14];
const OID_CRL_REASON: [u8; 3] = [0x55, 0x1d, 0x15];
const OID_HOLD_INSTRUCTION_CODE: [u8; 3] = [0x55, 0x1d, 0x17];
const OID_INVALIDITY_DATE: [u8; 3] = [0x55, 0x1d, 0x18];
const OID_CERTIFICATE_ISSUER: [u8; 3] = [0x55, 0x1d, 0x1d];
const OID_AUTHORITY_KEY_ID: [u8; 3] = [0x55, 0x1d, 0x23];

/// The longest header written: tag, 0x84, four length octets.
const MAX_HEADER: usize = 6;
/// Largest CRL the four-octet lengths (and the parser's u32 offsets) allow.
const MAX_CRL_LEN: usize = u32::MAX as usize;
/// A typical entry (16-octet serial, UTCTime, reasonCode), to size the buffer.
const TYPICAL_ENTRY_LEN: usize = 49;

fn malformed(what: &'static str, why: impl Into<String>) -> PkiError {
    PkiError::Malformed { what, why: why.into() }
}

// ---------------------------------------------------------------------------
// Writing

/// The issuing CA as a CRL names it: its subject DN and key identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlIssuer {
    name_der: Vec<u8>,
    key_id: Vec<u8>,
    spki_der: Option<Vec<u8>>,
}

impl CrlIssuer {
    /// From the issuing CA's certificate (DER): its subject Name exactly as
    /// encoded there, and its subjectKeyIdentifier, or, when it has none, the
    /// RFC 5280 §4.2.1.2 method-1 key identifier (SHA-1 of the
    /// subjectPublicKey bits). Refuses a certificate whose keyUsage lacks
    /// cRLSign.
    pub fn new(issuer_cert_der: &[u8]) -> Result<CrlIssuer, PkiError> {
        use der::Decode;
        use x509_cert::ext::pkix::{KeyUsage, SubjectKeyIdentifier};

        let cert =
            x509_cert::Certificate::from_der(issuer_cert_der).map_err(|e| PkiError::der("issuer certificate", e))?;
        let tbs = cert.tbs_certificate();
        let ski = tbs
            .get_extension::<SubjectKeyIdentifier>()
            .map_err(|e| PkiError::der("issuer certificate", e))?;
        let key_id = match ski {
            Some((_, ski)) => ski.0.as_bytes().to_vec(),
            None => sha1(tbs.subject_public_key_info().subject_public_key.raw_bytes()).to_vec(),
        };
        if let Some((_, usage)) = tbs
            .get_extension::<KeyUsage>()
            .map_err(|e| PkiError::der("issuer certificate", e))?
        {
            if !usage.crl_sign() {
                return Err(malformed("issuer certificate", "its keyUsage does not allow cRLSign"));
            }
        }
        let (name, spki) = raw_subject_and_spki(issuer_cert_der)?;
        Ok(CrlIssuer {
            name_der: name.to_vec(),
            key_id,
            spki_der: Some(spki.to_vec()),
        })
    }

    /// From the issuer's Name (DER) and key identifier, when the certificate
    /// is not at hand. The signer's key is then not checked against it.
    pub fn from_parts(name_der: Vec<u8>, key_id: Vec<u8>) -> Result<CrlIssuer, PkiError> {
        let mut r = Reader::new(&name_der);
        r.expect(SEQUENCE, "issuer name")?;
        r.finish("issuer name")?;
        if key_id.is_empty() || key_id.len() > 64 {
            return Err(malformed("key identifier", "must be 1 to 64 octets"));
        }
        if name_der.len() > 65_536 {
            return Err(malformed("issuer name", "longer than 64 KiB"));
        }
        Ok(CrlIssuer {
            name_der,
            key_id,
            spki_der: None,
        })
    }

    /// The issuer Name, DER.
    pub fn name_der(&self) -> &[u8] {
        &self.name_der
    }

    /// The key identifier that goes into the CRL's authorityKeyIdentifier.
    pub fn key_id(&self) -> &[u8] {
        &self.key_id
    }

    /// The issuer's SubjectPublicKeyInfo, DER (known when built from the certificate).
    pub fn spki_der(&self) -> Option<&[u8]> {
        self.spki_der.as_deref()
    }

    /// Refuses a signer whose key is not the issuer certificate's.
    fn check_signer(&self, signer: &dyn Signer) -> Result<(), PkiError> {
        let Some(ours) = &self.spki_der else { return Ok(()) };
        if public_key_bits(ours)? != public_key_bits(signer.public_key_der())? {
            return Err(PkiError::Signer(
                "the signer's key is not the key of the CRL issuer's certificate".into(),
            ));
        }
        Ok(())
    }
}

/// The subjectPublicKey bits of a SubjectPublicKeyInfo.
fn public_key_bits(spki_der: &[u8]) -> Result<&[u8], PkiError> {
    use der::Decode;
    let info = spki::SubjectPublicKeyInfoRef::from_der(spki_der).map_err(|e| PkiError::der("public key", e))?;
    Ok(info.subject_public_key.raw_bytes())
}

/// The raw subject Name and SubjectPublicKeyInfo of a certificate.
fn raw_subject_and_spki(cert_der: &[u8]) -> Result<(&[u8], &[u8]), PkiError> {
    const WHAT: &str = "issuer certificate";
    let mut r = Reader::new(cert_der);
    let cert = r.expect(SEQUENCE, WHAT)?;
    let mut r = r.inside(cert);
    let tbs = r.expect(SEQUENCE, WHAT)?;
    let mut r = r.inside(tbs);
    if r.peek() == Some(CONTEXT_0_CONSTRUCTED) {
        r.next(WHAT)?; // version
    }
    r.expect(INTEGER, WHAT)?; // serialNumber
    r.expect(SEQUENCE, WHAT)?; // signature
    r.expect(SEQUENCE, WHAT)?; // issuer
    r.expect(SEQUENCE, WHAT)?; // validity
    let subject = r.expect(SEQUENCE, WHAT)?;
    let spki = r.expect(SEQUENCE, WHAT)?;
    Ok((&cert_der[subject.start..subject.end], &cert_der[spki.start..spki.end]))
}

/// What a CRL says besides its entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlParams {
    /// thisUpdate: when the CRL was issued.
    pub this_update: DateTime<Utc>,
    /// nextUpdate: when the next CRL is due at the latest (RFC 5280 makes it mandatory for CAs).
    pub next_update: DateTime<Utc>,
    /// cRLNumber: monotonically increasing per CA.
    pub crl_number: u64,
}

/// What [`write_crl`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrlStats {
    /// revokedCertificates entries.
    pub entries: u64,
    /// DER bytes of the whole CRL.
    pub bytes: u64,
}

/// Encodes, signs and writes a DER CRL. Entries are encoded as they arrive
/// (see the module docs); the first `Err` from `entries` aborts with that
/// error and nothing is written.
pub fn write_crl<W, I>(
    issuer: &CrlIssuer,
    signer: &dyn Signer,
    params: &CrlParams,
    entries: I,
    out: &mut W,
) -> Result<CrlStats, PkiError>
where
    W: Write + ?Sized,
    I: IntoIterator<Item = Result<RevokedEntry, PkiError>>,
{
    let built = build_crl(issuer, signer, params, entries.into_iter())?;
    let der = built.der();
    out.write_all(der)
        .and_then(|()| out.flush())
        .map_err(|source| PkiError::Io {
            path: "CRL output".into(),
            source,
        })?;
    Ok(CrlStats {
        entries: built.entries,
        bytes: der.len() as u64,
    })
}

/// Like [`write_crl`], returning the DER in a `Vec` (the header gap at the
/// front is closed with one in-place move).
pub fn encode_crl<I>(
    issuer: &CrlIssuer,
    signer: &dyn Signer,
    params: &CrlParams,
    entries: I,
) -> Result<(Vec<u8>, CrlStats), PkiError>
where
    I: IntoIterator<Item = Result<RevokedEntry, PkiError>>,
{
    let built = build_crl(issuer, signer, params, entries.into_iter())?;
    let entries = built.entries;
    let mut buf = built.buf;
    buf.drain(..built.start);
    let bytes = buf.len() as u64;
    Ok((buf, CrlStats { entries, bytes }))
}

/// A finished CRL: `buf[start..]` is the DER.
struct BuiltCrl {
    buf: Vec<u8>,
    start: usize,
    entries: u64,
}

impl BuiltCrl {
    fn der(&self) -> &[u8] {
        &self.buf[self.start..]
    }
}

fn build_crl(
    issuer: &CrlIssuer,
    signer: &dyn Signer,
    params: &CrlParams,
    entries: impl Iterator<Item = Result<RevokedEntry, PkiError>>,
) -> Result<BuiltCrl, PkiError> {
    issuer.check_signer(signer)?;
    if params.next_update <= params.this_update {
        return Err(malformed("CRL parameters", "nextUpdate must be after thisUpdate"));
    }

    // version, signature, issuer, thisUpdate, nextUpdate: small, known now,
    // but placed in the prefix only at the end (they sit between the TBS
    // header and the revokedCertificates header, whose lengths come last).
    let mut fixed = Vec::with_capacity(64 + issuer.name_der.len());
    push_tlv(&mut fixed, INTEGER, &[0x01]); // v2
    fixed.extend_from_slice(&SHA256_WITH_RSA);
    fixed.extend_from_slice(&issuer.name_der);
    fixed.extend_from_slice(encode_time(params.this_update, TimeKind::X509)?.as_slice());
    fixed.extend_from_slice(encode_time(params.next_update, TimeKind::X509)?.as_slice());

    let prefix = MAX_HEADER + MAX_HEADER + fixed.len() + MAX_HEADER;
    let expected = entries.size_hint().0.min(MAX_CRL_LEN / TYPICAL_ENTRY_LEN);
    let mut buf = Vec::with_capacity(prefix + expected * TYPICAL_ENTRY_LEN + 512);
    buf.resize(prefix, 0);

    let mut count = 0u64;
    let mut times = EntryTimes::default();
    for entry in entries {
        push_entry(&mut buf, &entry?, &mut times)?;
        count += 1;
        if buf.len() > MAX_CRL_LEN - 4096 {
            return Err(malformed("CRL", "larger than 4 GiB"));
        }
    }
    let entries_len = buf.len() - prefix;
    push_crl_extensions(&mut buf, issuer, params.crl_number);
    let tbs_end = buf.len();

    // Headers and fixed fields, right-aligned into the prefix.
    let mut start = prefix;
    if entries_len > 0 {
        start = put_header_before(&mut buf, start, SEQUENCE, entries_len);
    }
    start -= fixed.len();
    buf[start..start + fixed.len()].copy_from_slice(&fixed);
    start = put_header_before(&mut buf, start, SEQUENCE, tbs_end - start);
    let tbs_start = start;

    let signature = signer.sign_digest(&sha256(&buf[tbs_start..tbs_end]))?;
    buf.extend_from_slice(&SHA256_WITH_RSA);
    push_header(&mut buf, BIT_STRING, signature.len() + 1);
    buf.push(0); // no unused bits
    buf.extend_from_slice(&signature);
    let body_len = buf.len() - tbs_start;
    let start = put_header_before(&mut buf, tbs_start, SEQUENCE, body_len);
    if buf.len() - start > MAX_CRL_LEN {
        return Err(malformed("CRL", "larger than 4 GiB"));
    }
    Ok(BuiltCrl {
        buf,
        start,
        entries: count,
    })
}

/// One revokedCertificates entry. Its length is always below 128 (serial
/// ≤ 23, time ≤ 17, extensions ≤ 42 octets), so the header is two octets.
fn push_entry(buf: &mut Vec<u8>, entry: &RevokedEntry, times: &mut EntryTimes) -> Result<(), PkiError> {
    let serial = entry.serial.as_bytes();
    let revoked_at = times.revocation.get(entry.revoked_at, TimeKind::X509)?;
    let invalidity = match entry.invalidity_date {
        Some(at) => Some(times.invalidity.get(at, TimeKind::Generalized)?),
        None => None,
    };
    let with_reason = entry.reason != CrlReason::Unspecified;
    // reasonCode: 30 0a 06 03 55 1d 15 04 03 0a 01 nn
    // invalidityDate: 30 18 06 03 55 1d 18 04 11 18 0f YYYYMMDDHHMMSSZ
    let exts_len = if with_reason { 12 } else { 0 } + if invalidity.is_some() { 26 } else { 0 };
    let exts_tlv_len = if exts_len > 0 { 2 + exts_len } else { 0 };
    let len = 2 + serial.len() + revoked_at.len as usize + exts_tlv_len;
    debug_assert!(len < 0x80 && serial.len() < 0x80);

    buf.reserve(2 + len);
    buf.extend_from_slice(&[SEQUENCE, len as u8, INTEGER, serial.len() as u8]);
    buf.extend_from_slice(serial);
    buf.extend_from_slice(revoked_at.as_slice());
    if exts_len > 0 {
        buf.extend_from_slice(&[SEQUENCE, exts_len as u8]);
        if with_reason {
            buf.extend_from_slice(&[SEQUENCE, 0x0a, OBJECT_IDENTIFIER, 0x03]);
            buf.extend_from_slice(&OID_CRL_REASON);
            buf.extend_from_slice(&[OCTET_STRING, 0x03, ENUMERATED, 0x01, entry.reason.code()]);
        }
        if let Some(at) = invalidity {
            buf.extend_from_slice(&[SEQUENCE, 0x18, OBJECT_IDENTIFIER, 0x03]);
            buf.extend_from_slice(&OID_INVALIDITY_DATE);
            buf.extend_from_slice(&[OCTET_STRING, 0x11]);
            buf.extend_from_slice(at.as_slice());
        }
    }
    Ok(())
}

/// `[0] EXPLICIT Extensions { authorityKeyIdentifier, cRLNumber }`.
fn push_crl_extensions(buf: &mut Vec<u8>, issuer: &CrlIssuer, crl_number: u64) {
    let mut aki_value = Vec::with_capacity(issuer.key_id.len() + 8);
    let mut key_id = Vec::with_capacity(issuer.key_id.len() + 6);
    push_tlv(&mut key_id, CONTEXT_0_PRIMITIVE, &issuer.key_id);
    push_tlv(&mut aki_value, SEQUENCE, &key_id);

    let mut number = Vec::with_capacity(11);
    push_uint(&mut number, crl_number);

    let mut exts = Vec::with_capacity(aki_value.len() + number.len() + 32);
    push_extension(&mut exts, &OID_AUTHORITY_KEY_ID, &aki_value);
    push_extension(&mut exts, &OID_CRL_NUMBER, &number);

    let mut seq = Vec::with_capacity(exts.len() + MAX_HEADER);
    push_tlv(&mut seq, SEQUENCE, &exts);
    push_tlv(buf, CONTEXT_0_CONSTRUCTED, &seq);
}

/// A non-critical Extension (critical DEFAULT FALSE is omitted in DER).
fn push_extension(buf: &mut Vec<u8>, oid: &[u8], value_der: &[u8]) {
    let mut ext = Vec::with_capacity(oid.len() + value_der.len() + 2 * MAX_HEADER);
    push_tlv(&mut ext, OBJECT_IDENTIFIER, oid);
    push_tlv(&mut ext, OCTET_STRING, value_der);
    push_tlv(buf, SEQUENCE, &ext);
}

/// A non-negative INTEGER, minimally encoded.
fn push_uint(buf: &mut Vec<u8>, value: u64) {
    let bytes = value.to_be_bytes();
    let skip = bytes.iter().take(7).take_while(|b| **b == 0).count();
    let magnitude = &bytes[skip..];
    if magnitude[0] & 0x80 != 0 {
        push_header(buf, INTEGER, magnitude.len() + 1);
        buf.push(0);
        buf.extend_from_slice(magnitude);
    } else {
        push_tlv(buf, INTEGER, magnitude);
    }
}

/// The identifier and length octets of a DER TLV.
fn header(tag: u8, len: usize) -> ([u8; MAX_HEADER], usize) {
    let mut out = [0u8; MAX_HEADER];
    out[0] = tag;
    if len < 0x80 {
        out[1] = len as u8;
        return (out, 2);
    }
    let octets = (usize::BITS - len.leading_zeros()).div_ceil(8) as usize;
    debug_assert!(octets <= 4, "lengths are capped at MAX_CRL_LEN");
    out[1] = 0x80 | octets as u8;
    for i in 0..octets {
        out[2 + i] = (len >> (8 * (octets - 1 - i))) as u8;
    }
    (out, 2 + octets)
}

fn push_header(buf: &mut Vec<u8>, tag: u8, len: usize) {
    let (h, n) = header(tag, len);
    buf.extend_from_slice(&h[..n]);
}

fn push_tlv(buf: &mut Vec<u8>, tag: u8, content: &[u8]) {
    push_header(buf, tag, content.len());
    buf.extend_from_slice(content);
}

/// Writes a header so that it ends at `end`; returns where it starts.
fn put_header_before(buf: &mut [u8], end: usize, tag: u8, len: usize) -> usize {
    let (h, n) = header(tag, len);
    buf[end - n..end].copy_from_slice(&h[..n]);
    end - n
}

/// Which time type to write.
#[derive(Clone, Copy, PartialEq, Eq)]
enum TimeKind {
    /// X.509 `Time`: UTCTime through 2049, GeneralizedTime from 2050.
    X509,
    /// Always GeneralizedTime (invalidityDate).
    Generalized,
}

/// An encoded time TLV (15 or 17 octets).
#[derive(Clone, Copy)]
struct TimeTlv {
    bytes: [u8; 17],
    len: u8,
}

impl TimeTlv {
    fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }
}

/// Encodes a time to whole seconds (fractions are dropped, RFC 5280 §4.1.2.5).
fn encode_time(at: DateTime<Utc>, kind: TimeKind) -> Result<TimeTlv, PkiError> {
    // 1970 as in `crate::time`: RustCrypto's `der`, used by relying parties, stops there.
    let year = at.year();
    if !(1970..=9999).contains(&year) {
        return Err(malformed("time", format!("{at} is outside 1970–9999")));
    }
    let mut t = TimeTlv { bytes: [0; 17], len: 0 };
    let mut i;
    if kind == TimeKind::X509 && year < 2050 {
        t.bytes[0] = UTC_TIME;
        t.bytes[1] = 13;
        i = 2;
        put2(&mut t.bytes, &mut i, (year % 100) as u32);
    } else {
        t.bytes[0] = GENERALIZED_TIME;
        t.bytes[1] = 15;
        i = 2;
        put2(&mut t.bytes, &mut i, (year / 100) as u32);
        put2(&mut t.bytes, &mut i, (year % 100) as u32);
    }
    for part in [at.month(), at.day(), at.hour(), at.minute(), at.second()] {
        put2(&mut t.bytes, &mut i, part);
    }
    t.bytes[i] = b'Z';
    t.len = (i + 1) as u8;
    Ok(t)
}

fn put2(out: &mut [u8], i: &mut usize, v: u32) {
    out[*i] = b'0' + (v / 10 % 10) as u8;
    out[*i + 1] = b'0' + (v % 10) as u8;
    *i += 2;
}

/// The last time encoded (CRL entries often share a revocation second).
#[derive(Default)]
struct TimeCache {
    last: Option<(i64, TimeTlv)>,
}

impl TimeCache {
    fn get(&mut self, at: DateTime<Utc>, kind: TimeKind) -> Result<TimeTlv, PkiError> {
        let secs = at.timestamp();
        if let Some((s, tlv)) = self.last {
            if s == secs {
                return Ok(tlv);
            }
        }
        let tlv = encode_time(at, kind)?;
        self.last = Some((secs, tlv));
        Ok(tlv)
    }
}

#[derive(Default)]
struct EntryTimes {
    revocation: TimeCache,
    invalidity: TimeCache,
}

// ---------------------------------------------------------------------------
// Parsing

/// A parsed CRL: the DER plus an index of its entries by serial.
#[derive(Clone)]
pub struct ParsedCrl {
    der: Vec<u8>,
    /// The TBSCertList TLV (the signed bytes).
    tbs: Range<usize>,
    /// The outer signatureAlgorithm TLV.
    signature_algorithm: Range<usize>,
    /// The signature octets (after the unused-bits octet).
    signature: Range<usize>,
    issuer: Range<usize>,
    this_update: DateTime<Utc>,
    next_update: Option<DateTime<Utc>>,
    /// cRLNumber magnitude octets (no leading zero).
    crl_number: Option<Range<usize>>,
    authority_key_id: Option<Range<usize>>,
    /// Content of revokedCertificates (empty when absent).
    revoked: Range<usize>,
    /// (entry offset, serial content offset), sorted by serial.
    index: Vec<(u32, u32)>,
}

impl std::fmt::Debug for ParsedCrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParsedCrl")
            .field("bytes", &self.der.len())
            .field("this_update", &self.this_update)
            .field("next_update", &self.next_update)
            .field("crl_number", &self.crl_number_bytes())
            .field("entries", &self.index.len())
            .finish()
    }
}

/// Parses a DER CRL (copying it). See [`ParsedCrl::from_der_vec`].
pub fn parse_crl(der: &[u8]) -> Result<ParsedCrl, PkiError> {
    ParsedCrl::from_der_vec(der.to_vec())
}

impl ParsedCrl {
    /// Parses a DER CRL, taking ownership of the bytes. Every entry is
    /// checked; the signature is not (see [`ParsedCrl::verify_signature`]).
    pub fn from_der_vec(der: Vec<u8>) -> Result<ParsedCrl, PkiError> {
        const WHAT: &str = "CRL";
        if der.len() > MAX_CRL_LEN {
            return Err(malformed(WHAT, "larger than 4 GiB"));
        }
        let d = der.as_slice();
        let mut r = Reader::new(d);
        let outer = r.expect(SEQUENCE, WHAT)?;
        r.finish(WHAT)?;
        let mut r = r.inside(outer);
        let tbs = r.expect(SEQUENCE, WHAT)?;
        let sig_alg = r.expect(SEQUENCE, "CRL signatureAlgorithm")?;
        let sig = r.expect(BIT_STRING, "CRL signature")?;
        r.finish(WHAT)?;
        let sig_content = &d[sig.body..sig.end];
        if sig_content.first() != Some(&0) {
            return Err(malformed("CRL signature", "not a whole number of octets"));
        }

        let mut t = r.inside(tbs);
        let v2 = if t.peek() == Some(INTEGER) {
            let version = t.next(WHAT)?;
            if d[version.body..version.end] != [0x01] {
                return Err(malformed(WHAT, "version is not v2"));
            }
            true
        } else {
            false
        };
        let inner_alg = t.expect(SEQUENCE, "CRL signature algorithm")?;
        if d[inner_alg.start..inner_alg.end] != d[sig_alg.start..sig_alg.end] {
            return Err(malformed(WHAT, "the two signature algorithm fields differ"));
        }
        let issuer = t.expect(SEQUENCE, "CRL issuer")?;
        let this_update = t.next("CRL thisUpdate")?;
        let this_update = parse_time(d, this_update, false, "CRL thisUpdate")?;
        let next_update = match t.peek() {
            Some(UTC_TIME | GENERALIZED_TIME) => Some(parse_time(d, t.next(WHAT)?, false, "CRL nextUpdate")?),
            _ => None,
        };

        let mut revoked = 0..0;
        let mut index = Vec::new();
        if t.peek() == Some(SEQUENCE) {
            let list = t.next(WHAT)?;
            revoked = list.body..list.end;
            index.reserve(revoked.len() / 40);
            let mut entries = t.inside(list);
            while !entries.at_end() {
                let entry = entries.expect(SEQUENCE, "CRL entry")?;
                let view = parse_entry(d, entry, v2)?;
                // Offsets fit in u32: the CRL is at most MAX_CRL_LEN bytes (checked above).
                index.push((entry.start as u32, view.serial.start as u32));
            }
        }

        let mut crl_number = None;
        let mut authority_key_id = None;
        if t.peek() == Some(CONTEXT_0_CONSTRUCTED) {
            if !v2 {
                return Err(malformed(WHAT, "a v1 CRL has extensions"));
            }
            let wrapper = t.next(WHAT)?;
            let mut w = t.inside(wrapper);
            let exts = w.expect(SEQUENCE, "CRL extensions")?;
            w.finish("CRL extensions")?;
            for_each_extension(d, exts, "CRL extensions", |oid, _critical, value| {
                match oid {
                    o if o == OID_AUTHORITY_KEY_ID => authority_key_id = parse_aki(d, value)?,
                    o if o == OID_CRL_NUMBER => crl_number = Some(parse_crl_number(d, value)?),
                    _ => return Ok(false),
                }
                Ok(true)
            })?;
        }
        t.finish(WHAT)?;

        let serial_of = |slot: &(u32, u32)| serial_at(d, slot.1 as usize);
        index.sort_unstable_by(|a, b| cmp_serial(serial_of(a), serial_of(b)));
        if let Some(pair) = index.windows(2).find(|w| serial_of(&w[0]) == serial_of(&w[1])) {
            let hex: String = serial_of(&pair[0]).iter().map(|b| format!("{b:02X}")).collect();
            return Err(malformed(WHAT, format!("serial {hex} is listed twice")));
        }

        Ok(ParsedCrl {
            tbs: tbs.start..tbs.end,
            signature_algorithm: sig_alg.start..sig_alg.end,
            signature: sig.body + 1..sig.end,
            issuer: issuer.start..issuer.end,
            this_update,
            next_update,
            crl_number,
            authority_key_id,
            revoked,
            index,
            der,
        })
    }

    /// The whole CRL, DER.
    pub fn as_der(&self) -> &[u8] {
        &self.der
    }

    /// The issuer Name, DER.
    pub fn issuer_der(&self) -> &[u8] {
        &self.der[self.issuer.clone()]
    }

    /// thisUpdate.
    pub fn this_update(&self) -> DateTime<Utc> {
        self.this_update
    }

    /// nextUpdate, if present.
    pub fn next_update(&self) -> Option<DateTime<Utc>> {
        self.next_update
    }

    /// The cRLNumber, if present and at most 64 bits (see [`ParsedCrl::crl_number_bytes`]).
    pub fn crl_number(&self) -> Option<u64> {
        let bytes = self.crl_number_bytes()?;
        if bytes.len() > 8 {
            return None;
        }
        Some(bytes.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b)))
    }

    /// The cRLNumber as big-endian magnitude octets (up to 20), if present.
    pub fn crl_number_bytes(&self) -> Option<&[u8]> {
        self.crl_number.clone().map(|r| &self.der[r])
    }

    /// The authorityKeyIdentifier's keyIdentifier, if present.
    pub fn authority_key_id(&self) -> Option<&[u8]> {
        self.authority_key_id.clone().map(|r| &self.der[r])
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// No entries.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The entry for `serial`, if the CRL lists it.
    pub fn get(&self, serial: &Serial) -> Option<RevokedEntry> {
        let key = serial.as_bytes();
        let i = self
            .index
            .binary_search_by(|slot| cmp_serial(serial_at(&self.der, slot.1 as usize), key))
            .ok()?;
        // The entry was checked by from_der_vec, so decoding it again cannot fail.
        self.entry_at(self.index[i].0 as usize).ok()
    }

    /// Whether the CRL lists `serial` as revoked (or on hold). Whether the
    /// CRL is current, and genuine, is the caller's check.
    pub fn status(&self, serial: &Serial) -> CertStatus {
        match self.get(serial) {
            Some(e) => CertStatus::Revoked {
                at: e.revoked_at,
                reason: e.reason,
                invalidity_date: e.invalidity_date,
            },
            None => CertStatus::Good,
        }
    }

    /// The entries in the order of the CRL.
    pub fn entries(&self) -> impl Iterator<Item = RevokedEntry> + '_ {
        let mut r = Reader {
            der: &self.der,
            pos: self.revoked.start,
            end: self.revoked.end,
        };
        // Every entry was checked by from_der_vec, so neither step can fail.
        std::iter::from_fn(move || {
            if r.at_end() {
                return None;
            }
            let tlv = r.next("CRL entry").ok()?;
            self.entry_at(tlv.start).ok()
        })
    }

    fn entry_at(&self, offset: usize) -> Result<RevokedEntry, PkiError> {
        let mut r = Reader {
            der: &self.der,
            pos: offset,
            end: self.revoked.end,
        };
        let tlv = r.expect(SEQUENCE, "CRL entry")?;
        let view = parse_entry(&self.der, tlv, true)?;
        Ok(RevokedEntry {
            serial: Serial::from_der_content(&self.der[view.serial])?,
            revoked_at: view.revoked_at,
            reason: view.reason,
            invalidity_date: view.invalidity_date,
        })
    }

    /// Checks the signature (sha256WithRSAEncryption) with the issuer's
    /// public key, given as a DER SubjectPublicKeyInfo.
    pub fn verify_signature(&self, issuer_spki_der: &[u8]) -> Result<(), PkiError> {
        use aws_lc_rs::signature::{UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
        use der::Decode;

        let alg = &self.der[self.signature_algorithm.clone()];
        if alg != SHA256_WITH_RSA && alg != SHA256_WITH_RSA_NO_NULL {
            return Err(PkiError::Verification(
                "the CRL is not signed with sha256WithRSAEncryption".into(),
            ));
        }
        let info =
            spki::SubjectPublicKeyInfoRef::from_der(issuer_spki_der).map_err(|e| PkiError::der("public key", e))?;
        if info.algorithm.oid != crate::oid::RSA_ENCRYPTION {
            return Err(PkiError::UnsupportedKey(format!(
                "{} is not rsaEncryption",
                info.algorithm.oid
            )));
        }
        let key = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, info.subject_public_key.raw_bytes());
        key.verify(&self.der[self.tbs.clone()], &self.der[self.signature.clone()])
            .map_err(|_| PkiError::Verification("the CRL signature does not verify with the issuer's key".into()))
    }

    /// Checks that `issuer` issued this CRL: the issuer names are equal, the
    /// authorityKeyIdentifier (if any) is the issuer's key identifier, and the
    /// signature verifies with the issuer certificate's key.
    pub fn verify_issued_by(&self, issuer: &CrlIssuer) -> Result<(), PkiError> {
        if self.issuer_der() != issuer.name_der() {
            return Err(PkiError::Verification("the CRL's issuer is not this CA".into()));
        }
        if let Some(aki) = self.authority_key_id() {
            if aki != issuer.key_id() {
                return Err(PkiError::Verification(
                    "the CRL's authorityKeyIdentifier is not this CA's key".into(),
                ));
            }
        }
        let spki = issuer
            .spki_der()
            .ok_or_else(|| PkiError::Verification("the issuer's public key is not known".into()))?;
        self.verify_signature(spki)
    }
}

/// The content of the serial INTEGER whose content starts at `offset`
/// (serials are at most 21 octets, so the length octet is just before it).
fn serial_at(der: &[u8], offset: usize) -> &[u8] {
    let len = der[offset - 1] as usize;
    &der[offset..offset + len]
}

/// Numeric order of minimal positive INTEGER contents.
fn cmp_serial(a: &[u8], b: &[u8]) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// A checked entry.
struct EntryView {
    serial: Range<usize>,
    revoked_at: DateTime<Utc>,
    reason: CrlReason,
    invalidity_date: Option<DateTime<Utc>>,
}

fn parse_entry(d: &[u8], entry: Tlv, v2: bool) -> Result<EntryView, PkiError> {
    const WHAT: &str = "CRL entry";
    let mut r = Reader {
        der: d,
        pos: entry.body,
        end: entry.end,
    };
    let serial = r.expect(INTEGER, "CRL entry serial")?;
    check_serial(&d[serial.body..serial.end])?;
    let revoked_at = parse_time(d, r.next(WHAT)?, false, "CRL entry revocationDate")?;
    let mut reason = CrlReason::Unspecified;
    let mut invalidity_date = None;
    if !r.at_end() {
        if !v2 {
            return Err(malformed(WHAT, "a v1 CRL entry has extensions"));
        }
        let exts = r.expect(SEQUENCE, "CRL entry extensions")?;
        for_each_extension(d, exts, "CRL entry extensions", |oid, _critical, value| {
            match oid {
                o if o == OID_CRL_REASON => reason = parse_reason(d, value)?,
                o if o == OID_INVALIDITY_DATE => {
                    let mut v = Reader {
                        der: d,
                        pos: value.body,
                        end: value.end,
                    };
                    let t = v.expect(GENERALIZED_TIME, "invalidityDate")?;
                    v.finish("invalidityDate")?;
                    invalidity_date = Some(parse_time(d, t, true, "invalidityDate")?);
                }
                o if o == OID_CERTIFICATE_ISSUER => {
                    return Err(malformed(WHAT, "indirect CRLs (certificateIssuer) are not supported"))
                }
                // holdInstructionCode is informational: JPKI never releases a hold.
                o if o == OID_HOLD_INSTRUCTION_CODE => {}
                _ => return Ok(false),
            }
            Ok(true)
        })?;
    }
    r.finish(WHAT)?;
    Ok(EntryView {
        serial: serial.body..serial.end,
        revoked_at,
        reason,
        invalidity_date,
    })
}

/// What [`Serial::from_der_content`] accepts, without allocating.
fn check_serial(c: &[u8]) -> Result<(), PkiError> {
    if c.is_empty() || c.len() > 21 {
        return Err(malformed("serial number", "must be 1 to 20 octets"));
    }
    if c[0] & 0x80 != 0 {
        return Err(malformed("serial number", "must be positive"));
    }
    if c.len() > 1 && c[0] == 0 && c[1] & 0x80 == 0 {
        return Err(malformed("serial number", "not minimally encoded"));
    }
    Ok(())
}

fn parse_reason(d: &[u8], value: Tlv) -> Result<CrlReason, PkiError> {
    let mut v = Reader {
        der: d,
        pos: value.body,
        end: value.end,
    };
    let e = v.expect(ENUMERATED, "reasonCode")?;
    v.finish("reasonCode")?;
    let value = &d[e.body..e.end];
    if let Some(reason) = <[u8; 1]>::try_from(value)
        .ok()
        .and_then(|[code]| CrlReason::from_code(code))
    {
        return Ok(reason);
    }
    Err(match value {
        [8] => malformed(
            "reasonCode",
            "removeFromCRL belongs in delta CRLs, which are not supported",
        ),
        other => malformed("reasonCode", format!("unsupported value {other:02X?}")),
    })
}

fn parse_aki(d: &[u8], value: Tlv) -> Result<Option<Range<usize>>, PkiError> {
    let mut v = Reader {
        der: d,
        pos: value.body,
        end: value.end,
    };
    let seq = v.expect(SEQUENCE, "authorityKeyIdentifier")?;
    v.finish("authorityKeyIdentifier")?;
    let mut s = v.inside(seq);
    let mut key_id = None;
    while !s.at_end() {
        let field = s.next("authorityKeyIdentifier")?;
        if field.tag == CONTEXT_0_PRIMITIVE {
            key_id = Some(field.body..field.end);
        }
    }
    Ok(key_id)
}

fn parse_crl_number(d: &[u8], value: Tlv) -> Result<Range<usize>, PkiError> {
    let mut v = Reader {
        der: d,
        pos: value.body,
        end: value.end,
    };
    let n = v.expect(INTEGER, "cRLNumber")?;
    v.finish("cRLNumber")?;
    let c = &d[n.body..n.end];
    if c.is_empty() || c[0] & 0x80 != 0 {
        return Err(malformed("cRLNumber", "must be a non-negative INTEGER"));
    }
    if c.len() > 1 && c[0] == 0 && c[1] & 0x80 == 0 {
        return Err(malformed("cRLNumber", "not minimally encoded"));
    }
    if c.len() > 21 {
        return Err(malformed("cRLNumber", "longer than 20 octets"));
    }
    let skip = usize::from(c.len() > 1 && c[0] == 0);
    Ok(n.body + skip..n.end)
}

/// Calls `f(oid, critical, extnValue)` for each Extension; `f` returns whether
/// it knows the extension. Unknown critical extensions and repeated
/// extensions are errors.
fn for_each_extension(
    d: &[u8],
    exts: Tlv,
    what: &'static str,
    mut f: impl FnMut(&[u8], bool, Tlv) -> Result<bool, PkiError>,
) -> Result<(), PkiError> {
    let mut r = Reader {
        der: d,
        pos: exts.body,
        end: exts.end,
    };
    if r.at_end() {
        return Err(malformed(what, "empty"));
    }
    let mut seen: Vec<&[u8]> = Vec::new();
    while !r.at_end() {
        let ext = r.expect(SEQUENCE, what)?;
        let mut e = r.inside(ext);
        let oid = e.expect(OBJECT_IDENTIFIER, what)?;
        let oid = &d[oid.body..oid.end];
        let critical = if e.peek() == Some(BOOLEAN) {
            let b = e.next(what)?;
            match &d[b.body..b.end] {
                [0xff] => true,
                [0x00] => return Err(malformed(what, "critical FALSE is encoded (DER omits the default)")),
                _ => return Err(malformed(what, "bad BOOLEAN")),
            }
        } else {
            false
        };
        let value = e.expect(OCTET_STRING, what)?;
        e.finish(what)?;
        if seen.contains(&oid) {
            return Err(malformed(what, format!("extension {oid:02X?} appears twice")));
        }
        seen.push(oid);
        if !f(oid, critical, value)? && critical {
            return Err(malformed(what, format!("unsupported critical extension {oid:02X?}")));
        }
    }
    Ok(())
}

/// Parses a UTCTime or GeneralizedTime (`YY`/`YYYY` `MMDDhhmmss` `Z`, as RFC
/// 5280 requires). `generalized_only` refuses UTCTime.
fn parse_time(d: &[u8], tlv: Tlv, generalized_only: bool, what: &'static str) -> Result<DateTime<Utc>, PkiError> {
    let c = &d[tlv.body..tlv.end];
    let (year, rest) = match tlv.tag {
        UTC_TIME if !generalized_only && c.len() == 13 => {
            let yy = digits2(c, 0).ok_or_else(|| malformed(what, "bad UTCTime"))? as i32;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, &c[2..])
        }
        GENERALIZED_TIME if c.len() == 15 => {
            let hi = digits2(c, 0).ok_or_else(|| malformed(what, "bad GeneralizedTime"))?;
            let lo = digits2(c, 2).ok_or_else(|| malformed(what, "bad GeneralizedTime"))?;
            ((hi * 100 + lo) as i32, &c[4..])
        }
        _ => {
            return Err(malformed(
                what,
                "not a UTCTime/GeneralizedTime of the form RFC 5280 requires",
            ))
        }
    };
    let field = |i| digits2(rest, i).ok_or_else(|| malformed(what, "not digits"));
    if rest[10] != b'Z' {
        return Err(malformed(what, "not in UTC (Z)"));
    }
    let (month, day, hour, minute, second) = (field(0)?, field(2)?, field(4)?, field(6)?, field(8)?);
    NaiveDate::from_ymd_opt(year, month, day)
        .and_then(|date| date.and_hms_opt(hour, minute, second))
        .map(|naive| Utc.from_utc_datetime(&naive))
        .ok_or_else(|| malformed(what, "not a valid date and time"))
}

fn digits2(c: &[u8], i: usize) -> Option<u32> {
    let (a, b) = (*c.get(i)?, *c.get(i + 1)?);
    if a.is_ascii_digit() && b.is_ascii_digit() {
        Some(u32::from(a - b'0') * 10 + u32::from(b - b'0'))
    } else {
        None
    }
}

/// One TLV, as absolute offsets into the DER.
#[derive(Clone, Copy, Debug)]
struct Tlv {
    tag: u8,
    /// Start of the identifier octet.
    start: usize,
    /// Start of the contents.
    body: usize,
    /// End of the contents.
    end: usize,
}

/// A strict DER reader over `der[pos..end]`.
struct Reader<'a> {
    der: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> Reader<'a> {
    fn new(der: &'a [u8]) -> Reader<'a> {
        Reader {
            der,
            pos: 0,
            end: der.len(),
        }
    }

    fn inside(&self, tlv: Tlv) -> Reader<'a> {
        Reader {
            der: self.der,
            pos: tlv.body,
            end: tlv.end,
        }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.end
    }

    fn peek(&self) -> Option<u8> {
        if self.at_end() {
            None
        } else {
            Some(self.der[self.pos])
        }
    }

    fn finish(&self, what: &'static str) -> Result<(), PkiError> {
        if self.at_end() {
            Ok(())
        } else {
            Err(malformed(what, "unexpected trailing data"))
        }
    }

    fn expect(&mut self, tag: u8, what: &'static str) -> Result<Tlv, PkiError> {
        let tlv = self.next(what)?;
        if tlv.tag != tag {
            return Err(malformed(
                what,
                format!("expected tag {tag:#04x}, found {:#04x}", tlv.tag),
            ));
        }
        Ok(tlv)
    }

    fn next(&mut self, what: &'static str) -> Result<Tlv, PkiError> {
        let truncated = || malformed(what, "truncated");
        let start = self.pos;
        let avail = &self.der[start..self.end];
        let (&tag, rest) = avail.split_first().ok_or_else(truncated)?;
        if tag & 0x1f == 0x1f {
            return Err(malformed(what, "multi-octet tags are not used in CRLs"));
        }
        let (&first, rest) = rest.split_first().ok_or_else(truncated)?;
        let (len, len_octets) = if first < 0x80 {
            (first as usize, 0)
        } else {
            let n = (first & 0x7f) as usize;
            if n == 0 {
                return Err(malformed(what, "indefinite length is not DER"));
            }
            if n > 4 {
                return Err(malformed(what, "length over 4 GiB"));
            }
            let octets = rest.get(..n).ok_or_else(truncated)?;
            if octets[0] == 0 {
                return Err(malformed(what, "length not minimally encoded"));
            }
            let len = octets.iter().fold(0usize, |l, b| (l << 8) | *b as usize);
            if len < 0x80 {
                return Err(malformed(what, "length not minimally encoded"));
            }
            (len, n)
        };
        let body = start + 2 + len_octets;
        let end = body.checked_add(len).filter(|e| *e <= self.end).ok_or_else(truncated)?;
        self.pos = end;
        Ok(Tlv { tag, start, body, end })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SoftwareKey;
    use der::{Decode, Encode};
    use std::sync::OnceLock;
    use x509_cert::crl::CertificateList;

    type Crl = CertificateList<x509_cert::certificate::Rfc5280>;
    use x509_cert::ext::pkix::{AuthorityKeyIdentifier, CrlNumber};

    /// One RSA-2048 key for every test (key generation is the slow part).
    fn key() -> &'static SoftwareKey {
        static KEY: OnceLock<SoftwareKey> = OnceLock::new();
        KEY.get_or_init(|| SoftwareKey::generate().expect("keygen"))
    }

    fn other_key() -> &'static SoftwareKey {
        static KEY: OnceLock<SoftwareKey> = OnceLock::new();
        KEY.get_or_init(|| SoftwareKey::generate().expect("keygen"))
    }

    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        push_tlv(&mut v, tag, content);
        v
    }

    fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    /// The signature CA's DN: C (PrintableString), O and two OU (UTF8String).
    fn jpki_name() -> Vec<u8> {
        let rdn = |oid: &[u8], tag: u8, value: &str| {
            tlv(
                0x31,
                &tlv(
                    SEQUENCE,
                    &cat(&[&tlv(OBJECT_IDENTIFIER, oid), &tlv(tag, value.as_bytes())]),
                ),
            )
        };
        tlv(
            SEQUENCE,
            &cat(&[
                &rdn(&[0x55, 0x04, 0x06], 0x13, "JP"),
                &rdn(&[0x55, 0x04, 0x0a], 0x0c, "JPKI"),
                &rdn(&[0x55, 0x04, 0x0b], 0x0c, "JPKI for digital signature"),
                &rdn(
                    &[0x55, 0x04, 0x0b],
                    0x0c,
                    "Japan Agency for Local Authority Information Systems",
                ),
            ]),
        )
    }

    /// A self-signed CA certificate, hand-encoded; `key_usage` is the
    /// KeyUsage BIT STRING content (None: no extension).
    fn ca_cert(key: &SoftwareKey, ski: Option<&[u8]>, key_usage: Option<&[u8]>) -> Vec<u8> {
        let name = jpki_name();
        let mut exts = Vec::new();
        // basicConstraints critical CA:TRUE
        exts.extend(tlv(
            SEQUENCE,
            &cat(&[
                &tlv(OBJECT_IDENTIFIER, &[0x55, 0x1d, 0x13]),
                &[0x01, 0x01, 0xff],
                &tlv(4, &[0x30, 3, 1, 1, 0xff]),
            ]),
        ));
        if let Some(ku) = key_usage {
            exts.extend(tlv(
                SEQUENCE,
                &cat(&[
                    &tlv(OBJECT_IDENTIFIER, &[0x55, 0x1d, 0x0f]),
                    &[0x01, 0x01, 0xff],
                    &tlv(4, &tlv(3, ku)),
                ]),
            ));
        }
        if let Some(ski) = ski {
            exts.extend(tlv(
                SEQUENCE,
                &cat(&[&tlv(OBJECT_IDENTIFIER, &[0x55, 0x1d, 0x0e]), &tlv(4, &tlv(4, ski))]),
            ));
        }
        let tbs = tlv(
            SEQUENCE,
            &cat(&[
                &tlv(0xa0, &[0x02, 0x01, 0x02]),
                &tlv(INTEGER, &[0x06, 0x7c, 0x6a, 0x21]),
                &SHA256_WITH_RSA,
                &name,
                &tlv(
                    SEQUENCE,
                    &cat(&[&tlv(UTC_TIME, b"230716000000Z"), &tlv(UTC_TIME, b"330715145959Z")]),
                ),
                &name,
                key.public_key_der(),
                &tlv(0xa3, &tlv(SEQUENCE, &exts)),
            ]),
        );
        let sig = key.sign(&tbs).expect("sign");
        tlv(
            SEQUENCE,
            &cat(&[&tbs, &SHA256_WITH_RSA, &tlv(BIT_STRING, &cat(&[&[0], &sig]))]),
        )
    }

    const CA_USAGE: &[u8] = &[0x01, 0x06]; // keyCertSign, cRLSign

    fn issuer() -> CrlIssuer {
        CrlIssuer::new(&ca_cert(key(), Some(&[0x11; 20]), Some(CA_USAGE))).expect("issuer")
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("time").with_timezone(&Utc)
    }

    fn params() -> CrlParams {
        CrlParams {
            this_update: at("2026-05-01T00:00:00Z"),
            next_update: at("2026-05-02T00:00:00Z"),
            crl_number: 42,
        }
    }

    /// A 16-octet serial from a counter (the anchor's layout: fixed prefix, counter last).
    fn serial(n: u64) -> Serial {
        let mut b = [0x4a, 0x1d, 0x3c, 0x5e, 0x7f, 0x90, 0xb2, 0xc4, 0, 0, 0, 0, 0, 0, 0, 0];
        b[8..].copy_from_slice(&n.to_be_bytes());
        Serial::from_der_content(&b).expect("serial")
    }

    const REASONS: [CrlReason; 7] = CrlReason::ALL;

    fn every_reason() -> Vec<RevokedEntry> {
        REASONS
            .iter()
            .enumerate()
            .map(|(i, reason)| RevokedEntry {
                serial: serial(i as u64 + 1),
                revoked_at: at("2026-04-30T12:00:00Z") + chrono::TimeDelta::minutes(i as i64),
                reason: *reason,
                invalidity_date: Some(at("2026-04-29T03:04:05Z") - chrono::TimeDelta::days(i as i64)),
            })
            .collect()
    }

    fn encode(entries: &[RevokedEntry]) -> Vec<u8> {
        let (der, stats) = encode_crl(&issuer(), key(), &params(), entries.iter().cloned().map(Ok)).expect("encode");
        assert_eq!(stats.entries, entries.len() as u64);
        assert_eq!(stats.bytes, der.len() as u64);
        der
    }

    #[test]
    fn oid_constants_match_the_oid_module() {
        assert_eq!(OID_CRL_NUMBER, crate::oid::EXT_CRL_NUMBER.as_bytes());
        assert_eq!(OID_CRL_REASON, crate::oid::EXT_CRL_REASON.as_bytes());
        assert_eq!(OID_INVALIDITY_DATE, crate::oid::EXT_INVALIDITY_DATE.as_bytes());
        assert_eq!(OID_AUTHORITY_KEY_ID, crate::oid::EXT_AUTHORITY_KEY_ID.as_bytes());
        assert_eq!(
            OID_HOLD_INSTRUCTION_CODE,
            crate::oid::EXT_HOLD_INSTRUCTION_CODE.as_bytes()
        );
        assert_eq!(&SHA256_WITH_RSA[4..13], crate::oid::SHA256_WITH_RSA.as_bytes());
    }

    #[test]
    fn every_reason_round_trips() {
        let entries = every_reason();
        let der = encode(&entries);
        let crl = parse_crl(&der).expect("parse");
        assert_eq!(crl.as_der(), der.as_slice());
        assert_eq!(crl.issuer_der(), jpki_name().as_slice());
        assert_eq!(crl.this_update(), params().this_update);
        assert_eq!(crl.next_update(), Some(params().next_update));
        assert_eq!(crl.crl_number(), Some(42));
        assert_eq!(crl.crl_number_bytes(), Some(&[42u8][..]));
        assert_eq!(crl.authority_key_id(), Some(&[0x11u8; 20][..]));
        assert_eq!(crl.len(), 7);
        for e in &entries {
            assert_eq!(crl.get(&e.serial).as_ref(), Some(e), "{:?}", e.reason);
            assert_eq!(
                crl.status(&e.serial),
                CertStatus::Revoked {
                    at: e.revoked_at,
                    reason: e.reason,
                    invalidity_date: e.invalidity_date
                }
            );
        }
        assert_eq!(crl.entries().collect::<Vec<_>>(), entries);
        assert_eq!(crl.get(&serial(99)), None);
        assert_eq!(crl.status(&serial(99)), CertStatus::Good);
        crl.verify_signature(key().public_key_der()).expect("signature");
        crl.verify_issued_by(&issuer()).expect("issued by");
        let err = crl
            .verify_signature(other_key().public_key_der())
            .expect_err("other key");
        assert_eq!(err.code(), "verification");
    }

    #[test]
    fn der_is_canonical_and_matches_x509_cert() {
        let mut entries = every_reason();
        // One entry without extensions at all, one revoked from 2050 (GeneralizedTime).
        entries.push(RevokedEntry {
            serial: Serial::from_hex("80").expect("hex"),
            revoked_at: at("2026-04-30T00:00:00Z"),
            reason: CrlReason::Unspecified,
            invalidity_date: None,
        });
        entries.push(RevokedEntry {
            serial: Serial::from_hex("01").expect("hex"),
            revoked_at: at("2050-01-01T00:00:00Z"),
            reason: CrlReason::Superseded,
            invalidity_date: None,
        });
        let der = encode(&entries);
        let list = Crl::from_der(&der).expect("x509-cert decodes it");
        assert_eq!(
            list.to_der().expect("re-encode"),
            der,
            "re-encoding with x509-cert gives the same bytes"
        );

        let tbs = &list.tbs_cert_list;
        assert_eq!(tbs.version, x509_cert::Version::V2);
        assert_eq!(tbs.signature.oid, crate::oid::SHA256_WITH_RSA);
        assert_eq!(list.signature_algorithm, tbs.signature);
        assert_eq!(tbs.issuer.to_der().expect("name"), jpki_name());
        assert!(matches!(tbs.this_update, x509_cert::time::Time::UtcTime(_)));
        let revoked = tbs.revoked_certificates.as_ref().expect("entries");
        assert_eq!(revoked.len(), entries.len());
        for (got, want) in revoked.iter().zip(&entries) {
            assert_eq!(got.serial_number.as_bytes(), want.serial.as_bytes());
            assert_eq!(crate::time::from_x509_time(&got.revocation_date), want.revoked_at);
            let exts = got.crl_entry_extensions.as_deref().unwrap_or_default();
            let reason = exts.iter().find(|e| e.extn_id == crate::oid::EXT_CRL_REASON);
            match want.reason {
                CrlReason::Unspecified => assert!(reason.is_none(), "unspecified is omitted"),
                r => {
                    let ext = reason.expect("reasonCode");
                    assert!(!ext.critical);
                    let code = x509_cert::ext::pkix::CrlReason::from_der(ext.extn_value.as_bytes()).expect("reason");
                    assert_eq!(code as u32, u32::from(r.code()));
                }
            }
            let inv = exts.iter().find(|e| e.extn_id == crate::oid::EXT_INVALIDITY_DATE);
            assert_eq!(inv.is_some(), want.invalidity_date.is_some());
            if let (Some(ext), Some(when)) = (inv, want.invalidity_date) {
                let t = der::asn1::GeneralizedTime::from_der(ext.extn_value.as_bytes()).expect("GeneralizedTime");
                assert_eq!(t, crate::time::generalized_time(when).expect("time"));
            }
            if want.reason == CrlReason::Unspecified && want.invalidity_date.is_none() {
                assert!(got.crl_entry_extensions.is_none(), "no empty Extensions");
            }
        }
        let last = revoked.last().expect("entry");
        assert!(matches!(last.revocation_date, x509_cert::time::Time::GeneralTime(_)));

        let exts = tbs.crl_extensions.as_ref().expect("CRL extensions");
        assert_eq!(exts.len(), 2);
        assert!(exts.iter().all(|e| !e.critical));
        let aki = exts
            .iter()
            .find(|e| e.extn_id == crate::oid::EXT_AUTHORITY_KEY_ID)
            .expect("AKI");
        let aki = AuthorityKeyIdentifier::from_der(aki.extn_value.as_bytes()).expect("AKI");
        assert_eq!(aki.key_identifier.expect("keyIdentifier").as_bytes(), &[0x11; 20]);
        assert!(aki.authority_cert_issuer.is_none() && aki.authority_cert_serial_number.is_none());
        let number = exts
            .iter()
            .find(|e| e.extn_id == crate::oid::EXT_CRL_NUMBER)
            .expect("cRLNumber");
        let number = CrlNumber::from_der(number.extn_value.as_bytes()).expect("number");
        assert_eq!(number.0.as_bytes(), &[42]);

        let crl = parse_crl(&der).expect("parse");
        assert_eq!(crl.entries().collect::<Vec<_>>(), entries);
        crl.verify_issued_by(&issuer()).expect("verifies");
    }

    #[test]
    fn empty_crl_omits_revoked_certificates() {
        let der = encode(&[]);
        let list = Crl::from_der(&der).expect("decode");
        assert!(list.tbs_cert_list.revoked_certificates.is_none());
        assert_eq!(list.to_der().expect("re-encode"), der);
        let crl = parse_crl(&der).expect("parse");
        assert!(crl.is_empty());
        assert_eq!(crl.entries().count(), 0);
        assert_eq!(crl.status(&serial(1)), CertStatus::Good);
        crl.verify_issued_by(&issuer()).expect("verifies");
    }

    #[test]
    fn write_crl_and_encode_crl_agree() {
        let entries = every_reason();
        let mut out = Vec::new();
        let stats = write_crl(&issuer(), key(), &params(), entries.iter().cloned().map(Ok), &mut out).expect("write");
        assert_eq!(
            stats,
            CrlStats {
                entries: 7,
                bytes: out.len() as u64
            }
        );
        assert_eq!(out, encode(&entries), "PKCS#1 v1.5 is deterministic");
    }

    #[test]
    fn crl_numbers_encode_minimally() {
        for n in [0u64, 1, 127, 128, 255, 256, 0x7fff_ffff, 1 << 40, u64::MAX] {
            let p = CrlParams {
                crl_number: n,
                ..params()
            };
            let (der, _) = encode_crl(&issuer(), key(), &p, std::iter::empty()).expect("encode");
            let list = Crl::from_der(&der).expect("decode");
            assert_eq!(list.to_der().expect("re-encode"), der);
            assert_eq!(parse_crl(&der).expect("parse").crl_number(), Some(n));
        }
    }

    #[test]
    fn times_are_utc_time_before_2050_and_whole_seconds() {
        let p = CrlParams {
            this_update: at("2049-12-31T23:59:59.750Z"),
            next_update: at("2050-01-01T00:00:00Z"),
            crl_number: 1,
        };
        let entry = RevokedEntry {
            serial: serial(7),
            revoked_at: at("2049-12-31T23:59:58.999Z"),
            reason: CrlReason::KeyCompromise,
            invalidity_date: Some(at("1999-01-01T00:00:00.5Z")),
        };
        let (der, _) = encode_crl(&issuer(), key(), &p, [Ok(entry.clone())]).expect("encode");
        let list = Crl::from_der(&der).expect("decode");
        assert!(matches!(
            list.tbs_cert_list.this_update,
            x509_cert::time::Time::UtcTime(_)
        ));
        assert!(matches!(
            list.tbs_cert_list.next_update,
            Some(x509_cert::time::Time::GeneralTime(_))
        ));
        let crl = parse_crl(&der).expect("parse");
        assert_eq!(crl.this_update(), at("2049-12-31T23:59:59Z"));
        assert_eq!(crl.next_update(), Some(at("2050-01-01T00:00:00Z")));
        let got = crl.get(&entry.serial).expect("entry");
        assert_eq!(got.revoked_at, at("2049-12-31T23:59:58Z"));
        assert_eq!(got.invalidity_date, Some(at("1999-01-01T00:00:00Z")));

        let bad = RevokedEntry {
            revoked_at: at("1949-12-31T00:00:00Z"),
            ..entry
        };
        assert!(encode_crl(&issuer(), key(), &params(), [Ok(bad)]).is_err());
    }

    #[test]
    fn bad_parameters_and_entry_errors_write_nothing() {
        let mut out = Vec::new();
        let p = CrlParams {
            next_update: params().this_update,
            ..params()
        };
        assert!(write_crl(&issuer(), key(), &p, std::iter::empty(), &mut out).is_err());
        let source = every_reason()
            .into_iter()
            .map(Ok)
            .chain(std::iter::once(Err(PkiError::Repository("database went away".into()))));
        let err = write_crl(&issuer(), key(), &params(), source, &mut out).expect_err("source error");
        assert_eq!(err.code(), "repository");
        assert!(out.is_empty());
    }

    #[test]
    fn issuer_from_certificate() {
        let with_ski = CrlIssuer::new(&ca_cert(key(), Some(&[0xab; 20]), Some(CA_USAGE))).expect("issuer");
        assert_eq!(with_ski.key_id(), &[0xab; 20]);
        assert_eq!(with_ski.name_der(), jpki_name().as_slice());
        assert_eq!(with_ski.spki_der(), Some(key().public_key_der()));

        // No SKI: method 1, SHA-1 of the subjectPublicKey bits.
        let without = CrlIssuer::new(&ca_cert(key(), None, None)).expect("issuer");
        let bits = public_key_bits(key().public_key_der()).expect("spki");
        assert_eq!(without.key_id(), sha1(bits));

        let no_crl_sign = ca_cert(key(), None, Some(&[0x02, 0x04])); // keyCertSign only
        assert!(CrlIssuer::new(&no_crl_sign).is_err());
        assert!(CrlIssuer::new(b"not a certificate").is_err());

        // A signer that is not the certificate's key is refused.
        let err = encode_crl(&with_ski, other_key(), &params(), std::iter::empty()).expect_err("wrong key");
        assert_eq!(err.code(), "signer");

        // from_parts: no key to check against.
        let parts = CrlIssuer::from_parts(jpki_name(), vec![1, 2, 3]).expect("parts");
        let (der, _) = encode_crl(&parts, key(), &params(), std::iter::empty()).expect("encode");
        let crl = parse_crl(&der).expect("parse");
        assert_eq!(crl.authority_key_id(), Some(&[1u8, 2, 3][..]));
        crl.verify_signature(key().public_key_der()).expect("verifies");
        assert!(crl.verify_issued_by(&parts).is_err(), "no public key to verify with");
        assert!(CrlIssuer::from_parts(vec![0x04, 0x00], vec![1]).is_err());
        assert!(CrlIssuer::from_parts(jpki_name(), vec![]).is_err());
    }

    #[test]
    fn tampering_and_truncation_are_detected() {
        let der = encode(&every_reason());
        // Change the last octet of the first serial: still parses, no longer verifies.
        let mut tampered = der.clone();
        let crl = parse_crl(&der).expect("parse");
        let first = serial(1);
        let pos = der
            .windows(16)
            .position(|w| w == first.as_bytes())
            .expect("serial in DER")
            + 15;
        tampered[pos] ^= 0x01;
        let t = parse_crl(&tampered).expect("still DER");
        assert!(t.verify_signature(key().public_key_der()).is_err());
        assert!(crl.verify_signature(key().public_key_der()).is_ok());

        for cut in [1, 10, der.len() / 2, der.len() - 1] {
            assert!(parse_crl(&der[..cut]).is_err(), "truncated at {cut}");
        }
        let mut trailing = der.clone();
        trailing.push(0);
        assert!(parse_crl(&trailing).is_err());
        assert!(parse_crl(&[]).is_err());
    }

    /// A CRL around a hand-made TBSCertList content (dummy signature: the parser does not verify).
    fn raw_crl(tbs_content: &[u8]) -> Vec<u8> {
        let tbs = tlv(SEQUENCE, tbs_content);
        tlv(
            SEQUENCE,
            &cat(&[&tbs, &SHA256_WITH_RSA, &tlv(BIT_STRING, &[0, 1, 2, 3])]),
        )
    }

    fn tbs_head() -> Vec<u8> {
        cat(&[
            &[0x02, 0x01, 0x01],
            &SHA256_WITH_RSA,
            &jpki_name(),
            &tlv(UTC_TIME, b"260501000000Z"),
            &tlv(UTC_TIME, b"260502000000Z"),
        ])
    }

    fn raw_entry(serial: &[u8], exts: &[&[u8]]) -> Vec<u8> {
        let mut body = cat(&[&tlv(INTEGER, serial), &tlv(UTC_TIME, b"260430120000Z")]);
        if !exts.is_empty() {
            body.extend(tlv(SEQUENCE, &exts.concat()));
        }
        tlv(SEQUENCE, &body)
    }

    fn raw_ext(oid: &[u8], critical: bool, value: &[u8]) -> Vec<u8> {
        let crit: &[u8] = if critical { &[0x01, 0x01, 0xff] } else { &[] };
        tlv(
            SEQUENCE,
            &cat(&[&tlv(OBJECT_IDENTIFIER, oid), crit, &tlv(OCTET_STRING, value)]),
        )
    }

    #[test]
    fn parser_accepts_hand_made_crl_and_refuses_what_it_cannot_process() {
        let reason = raw_ext(&OID_CRL_REASON, false, &[ENUMERATED, 1, 6]);
        let hold = raw_ext(
            &OID_HOLD_INSTRUCTION_CODE,
            false,
            &tlv(OBJECT_IDENTIFIER, &[0x2a, 0x86, 0x48, 0xce, 0x38, 2, 2]),
        );
        let unknown = raw_ext(&[0x2a, 0x03], false, &[0x05, 0x00]);
        let ok = raw_crl(&cat(&[
            &tbs_head(),
            &tlv(SEQUENCE, &raw_entry(&[5], &[&reason, &hold, &unknown])),
        ]));
        let crl = parse_crl(&ok).expect("parse");
        let e = crl.get(&Serial::from_hex("05").expect("hex")).expect("entry");
        assert_eq!(e.reason, CrlReason::CertificateHold);
        assert_eq!(crl.crl_number(), None);
        assert_eq!(crl.authority_key_id(), None);

        let refuse = |tbs: Vec<u8>, why: &str| {
            let err = parse_crl(&raw_crl(&tbs)).expect_err(why);
            assert_eq!(err.code(), "malformed", "{why}: {err}");
        };
        let unknown_critical = raw_ext(&[0x2a, 0x03], true, &[0x05, 0x00]);
        refuse(
            cat(&[&tbs_head(), &tlv(SEQUENCE, &raw_entry(&[5], &[&unknown_critical]))]),
            "unknown critical entry extension",
        );
        refuse(
            cat(&[&tbs_head(), &tlv(0xa0, &tlv(SEQUENCE, &unknown_critical))]),
            "unknown critical CRL extension",
        );
        refuse(
            cat(&[&tbs_head(), &tlv(SEQUENCE, &raw_entry(&[5], &[&reason, &reason]))]),
            "repeated extension",
        );
        let cert_issuer = raw_ext(&OID_CERTIFICATE_ISSUER, true, &tlv(SEQUENCE, &[]));
        refuse(
            cat(&[&tbs_head(), &tlv(SEQUENCE, &raw_entry(&[5], &[&cert_issuer]))]),
            "indirect CRL",
        );
        let remove = raw_ext(&OID_CRL_REASON, false, &[ENUMERATED, 1, 8]);
        refuse(
            cat(&[&tbs_head(), &tlv(SEQUENCE, &raw_entry(&[5], &[&remove]))]),
            "removeFromCRL",
        );
        refuse(
            cat(&[
                &tbs_head(),
                &tlv(SEQUENCE, &cat(&[&raw_entry(&[5], &[]), &raw_entry(&[5], &[])])),
            ]),
            "duplicate serial",
        );
        refuse(
            cat(&[&tbs_head(), &tlv(SEQUENCE, &raw_entry(&[0x00, 0x05], &[]))]),
            "non-minimal serial",
        );
        refuse(
            cat(&[&tbs_head(), &tlv(SEQUENCE, &raw_entry(&[0x85], &[]))]),
            "negative serial",
        );
        refuse(
            cat(&[&tbs_head(), &tlv(SEQUENCE, &raw_entry(&[5], &[&[]]))]),
            "empty entry extensions",
        );
        let mut v3 = tbs_head();
        v3[2] = 2;
        refuse(v3, "version v3");
        let mut other_alg = tbs_head();
        other_alg[3 + 12] = 0x0c; // sha384WithRSAEncryption in the TBS only
        refuse(other_alg, "signature algorithms differ");
        let mut bad_time = tbs_head();
        let p = bad_time.windows(13).position(|w| w == b"260501000000Z").expect("time");
        bad_time[p + 2] = b'1';
        bad_time[p + 3] = b'3'; // month 13
        refuse(bad_time, "invalid month");
    }

    #[test]
    fn reader_is_strict_der() {
        let read = |bytes: &[u8]| Reader::new(bytes).next("test").map(|t| (t.tag, t.body, t.end));
        assert_eq!(read(&[0x04, 0x01, 0xaa]).expect("short form"), (0x04, 2, 3));
        let mut long = vec![0x04, 0x81, 0x80];
        long.extend([0u8; 0x80]);
        assert_eq!(read(&long).expect("long form"), (0x04, 3, 0x83));
        assert!(read(&[0x04, 0x81, 0x01, 0xaa]).is_err(), "long form for a short length");
        assert!(read(&[0x04, 0x82, 0x00, 0x80]).is_err(), "leading zero length octet");
        assert!(read(&[0x30, 0x80, 0x00, 0x00]).is_err(), "indefinite length");
        assert!(read(&[0x04, 0x85, 1, 0, 0, 0, 0]).is_err(), "length over 4 GiB");
        assert!(read(&[0x1f, 0x81, 0x01, 0x00]).is_err(), "multi-octet tag");
        assert!(read(&[0x04, 0x02, 0xaa]).is_err(), "truncated");
        assert!(read(&[0x04]).is_err(), "no length");
    }

    #[test]
    fn hundred_thousand_entries() {
        many_entries(100_000);
    }

    /// The anchor's size; run with `cargo test --release -p mynacard-pki -- --ignored million`
    /// (or see `examples/crl_bench.rs` for timings and peak RSS).
    #[test]
    #[ignore = "1M entries: slow in debug builds"]
    fn million_entries() {
        many_entries(1_000_000);
    }

    fn many_entries(n: u64) {
        let reasons = [
            None,
            None,
            None,
            None,
            Some(CrlReason::Superseded),
            Some(CrlReason::Superseded),
            Some(CrlReason::Superseded),
            Some(CrlReason::KeyCompromise),
            Some(CrlReason::KeyCompromise),
            Some(CrlReason::CessationOfOperation),
        ];
        let revoked_at = at("2026-01-02T03:04:05Z");
        let make = move |i: u64| RevokedEntry {
            serial: serial(i),
            revoked_at,
            reason: reasons[(i % 10) as usize].unwrap_or(CrlReason::Unspecified),
            invalidity_date: None,
        };
        let started = std::time::Instant::now();
        let mut out = Vec::new();
        let stats = write_crl(&issuer(), key(), &params(), (1..=n).map(|i| Ok(make(i))), &mut out).expect("write");
        let encoded = started.elapsed();
        assert_eq!(stats.entries, n);
        // 35 octets without a reason, 49 with; 60% carry one: 43.4 per entry.
        assert_eq!(stats.bytes as usize, out.len());
        let per_entry = (out.len() as f64 - 500.0) / n as f64;
        assert!((43.3..43.5).contains(&per_entry), "{per_entry}");

        let started = std::time::Instant::now();
        let crl = ParsedCrl::from_der_vec(out).expect("parse");
        let parsed = started.elapsed();
        assert_eq!(crl.len(), n as usize);
        for i in [1, 2, 5, 8, 10, 4_999, 77_777, n] {
            assert_eq!(crl.get(&serial(i)), Some(make(i)), "serial {i}");
        }
        assert_eq!(crl.get(&serial(n + 1)), None);
        assert_eq!(crl.get(&serial(0)), None);
        crl.verify_issued_by(&issuer()).expect("verifies");
        eprintln!(
            "{n} entries: encode+sign {encoded:?}, parse {parsed:?}, {} bytes",
            crl.as_der().len()
        );
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn arb_time() -> impl Strategy<Value = DateTime<Utc>> {
            // 1970-01-01 .. 9999-12-31, whole seconds.
            (0i64..253_402_300_799).prop_map(|s| Utc.timestamp_opt(s, 0).single().expect("time"))
        }

        fn arb_entry() -> impl Strategy<Value = RevokedEntry> {
            (
                proptest::collection::vec(any::<u8>(), 1..=20),
                arb_time(),
                0usize..7,
                proptest::option::of(arb_time()),
            )
                .prop_map(|(mut bytes, revoked_at, r, invalidity_date)| {
                    bytes[0] &= 0x7f;
                    while bytes.len() > 1 && bytes[0] == 0 && bytes[1] & 0x80 == 0 {
                        bytes.remove(0);
                    }
                    RevokedEntry {
                        serial: Serial::from_der_content(&bytes).expect("serial"),
                        revoked_at,
                        reason: REASONS[r],
                        invalidity_date,
                    }
                })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(48))]
            #[test]
            fn entries_round_trip(entries in proptest::collection::vec(arb_entry(), 0..24), number in any::<u64>()) {
                let mut seen = std::collections::HashSet::new();
                let entries: Vec<_> = entries.into_iter().filter(|e| seen.insert(e.serial.clone())).collect();
                let p = CrlParams { crl_number: number, ..params() };
                let (der, _) = encode_crl(&issuer(), key(), &p, entries.iter().cloned().map(Ok)).expect("encode");
                let list = Crl::from_der(&der).expect("x509-cert decodes");
                prop_assert_eq!(list.to_der().expect("re-encode"), der.clone());
                let crl = parse_crl(&der).expect("parse");
                prop_assert_eq!(crl.crl_number(), Some(number));
                prop_assert_eq!(crl.entries().collect::<Vec<_>>(), entries.clone());
                for e in &entries {
                    prop_assert_eq!(crl.get(&e.serial), Some(e.clone()));
                }
            }
        }
    }
}
