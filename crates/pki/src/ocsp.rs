//! OCSP (RFC 6960), pure: requests in, signed responses out. No HTTP, no storage.
//!
//! - [`parse_request`] reads a DER `OCSPRequest` (and [`decode_get_path`] the
//!   base64 path of an RFC 6960 §A.1 GET). It never panics, refuses requests
//!   over 64 KiB or with more than 64 CertIDs, and ignores any
//!   `optionalSignature`. A CertID with a hash algorithm other than SHA-1 or
//!   SHA-256 still parses; it matches no issuer, so it is answered `unknown`.
//! - [`Responder`] signs `BasicOCSPResponse`s as the delegated responder of one
//!   CA ([`OcspIssuer`]): responderID byKey, its certificate in `certs`,
//!   sha256WithRSAEncryption. The output is a pure function of its inputs
//!   (DER is canonical and PKCS#1 v1.5 signatures are deterministic), so a
//!   response without a nonce can be signed ahead of time and cached.
//! - [`error_response`] gives the constant unsigned error responses.
//! - [`parse_response`] reads a response back for relying parties and tests.
//!
//! The ASN.1 is our own `der` derive types (the `x509-ocsp` crate is built on
//! x509-cert 0.2, while this crate uses 0.3). Decoding borrows from the input;
//! the only allocations are the returned values.
//!
//! **Nonce.** The nonce extension's `extnValue` is echoed byte for byte. RFC
//! 8954 (now RFC 9654) makes it the DER of `Nonce ::= OCTET STRING`, which is
//! what `openssl ocsp -nonce` sends (`04 10` + 16 random octets); older clients
//! put the raw nonce octets in `extnValue` directly. Both are accepted: a
//! nonce of 0 octets or more than [`MAX_NONCE_LEN`] (RFC 9654: 128) is a
//! `malformedRequest`. Clients (openssl among them) compare the whole
//! `extnValue`, so echoing it verbatim satisfies both forms.

use std::sync::Arc;

use aws_lc_rs::signature::{self, UnparsedPublicKey};
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use chrono::{DateTime, TimeZone, Utc};
use const_oid::ObjectIdentifier;
use der::asn1::{AnyRef, BitStringRef, GeneralizedTime, IntRef, Null, OctetStringRef};
use der::referenced::{OwnedToRef, RefToOwned};
use der::{
    Choice, Decode, DecodeValue, Encode, EncodeValue, Enumerated, FixedTag, Header, Length, Reader, Sequence,
    SliceReader, Tag, Writer,
};
use spki::{AlgorithmIdentifierOwned, AlgorithmIdentifierRef, SubjectPublicKeyInfoRef};
use x509_cert::ext::pkix::ExtendedKeyUsage;
use x509_cert::Certificate;

use crate::oid;
use crate::signer::{sha1, sha256, Signer};
use crate::status::{CertStatus, CrlReason};
use crate::{PkiError, Serial};

/// Requests larger than this are refused as malformed.
pub const MAX_REQUEST_LEN: usize = 64 * 1024;
/// Requests with more CertIDs than this are refused as malformed.
pub const MAX_CERT_IDS: usize = 64;
/// The longest nonce accepted (RFC 9654 §2.1; RFC 8954 had 32).
pub const MAX_NONCE_LEN: usize = 128;
/// Responses larger than this are refused by [`parse_response`].
pub const MAX_RESPONSE_LEN: usize = 1024 * 1024;

// ---------------------------------------------------------------------------
// Errors and statuses
// ---------------------------------------------------------------------------

/// Why a request was refused. Every variant is answered `malformedRequest`
/// ([`OcspError::status`]); the text is for logs and never echoes input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OcspError {
    /// Not a well-formed, supported OCSPRequest.
    #[error("malformed OCSP request: {0}")]
    Malformed(&'static str),
}

impl OcspError {
    /// The response status to answer with.
    pub fn status(&self) -> OcspResponseStatus {
        OcspResponseStatus::MalformedRequest
    }

    /// A stable code for machines.
    pub fn code(&self) -> &'static str {
        "malformed"
    }
}

impl From<OcspError> for PkiError {
    fn from(e: OcspError) -> PkiError {
        match e {
            OcspError::Malformed(why) => PkiError::Malformed {
                what: "OCSP request",
                why: why.to_owned(),
            },
        }
    }
}

fn malformed(why: &'static str) -> OcspError {
    OcspError::Malformed(why)
}

/// OCSPResponseStatus (RFC 6960 §4.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enumerated)]
#[repr(u8)]
pub enum OcspResponseStatus {
    /// Response has valid confirmations.
    Successful = 0,
    /// Illegal confirmation request.
    MalformedRequest = 1,
    /// Internal error in issuer.
    InternalError = 2,
    /// Try again later.
    TryLater = 3,
    /// Must sign the request.
    SigRequired = 5,
    /// Request unauthorized.
    Unauthorized = 6,
}

/// The DER `OCSPResponse` for an error status: `SEQUENCE { ENUMERATED n }`,
/// unsigned, 5 octets. `Successful` has no such form (it needs a signed body);
/// asking for it is a caller bug and gives the `internalError` response.
pub fn error_response(status: OcspResponseStatus) -> &'static [u8] {
    const MALFORMED: [u8; 5] = [0x30, 0x03, 0x0a, 0x01, 0x01];
    const INTERNAL: [u8; 5] = [0x30, 0x03, 0x0a, 0x01, 0x02];
    const TRY_LATER: [u8; 5] = [0x30, 0x03, 0x0a, 0x01, 0x03];
    const SIG_REQUIRED: [u8; 5] = [0x30, 0x03, 0x0a, 0x01, 0x05];
    const UNAUTHORIZED: [u8; 5] = [0x30, 0x03, 0x0a, 0x01, 0x06];
    match status {
        OcspResponseStatus::MalformedRequest => &MALFORMED,
        OcspResponseStatus::Successful | OcspResponseStatus::InternalError => &INTERNAL,
        OcspResponseStatus::TryLater => &TRY_LATER,
        OcspResponseStatus::SigRequired => &SIG_REQUIRED,
        OcspResponseStatus::Unauthorized => &UNAUTHORIZED,
    }
}

// ---------------------------------------------------------------------------
// CertID
// ---------------------------------------------------------------------------

/// The hash algorithms of CertIDs we answer for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CertIdHash {
    /// SHA-1 (what most clients, openssl included, send by default).
    Sha1,
    /// SHA-256.
    Sha256,
}

impl CertIdHash {
    /// The algorithm's OID.
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            CertIdHash::Sha1 => oid::SHA1,
            CertIdHash::Sha256 => oid::SHA256,
        }
    }

    /// The digest length in octets.
    pub fn digest_len(self) -> usize {
        match self {
            CertIdHash::Sha1 => 20,
            CertIdHash::Sha256 => 32,
        }
    }

    /// The AlgorithmIdentifier with NULL parameters, as openssl encodes it.
    pub fn algorithm_identifier(self) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid: self.oid(),
            parameters: Some(der::asn1::Any::null()),
        }
    }
}

/// A CertID (RFC 6960 §4.1.1): which certificate a request or a single
/// response is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertId {
    /// `hashAlgorithm` exactly as received (it is echoed in the response;
    /// some clients compare its parameters). [`CertId::hash`] reads it.
    pub hash_algorithm: AlgorithmIdentifierOwned,
    /// `issuerNameHash`: the hash of the issuer's subject DN (DER).
    pub issuer_name_hash: Vec<u8>,
    /// `issuerKeyHash`: the hash of the issuer's subjectPublicKey BIT STRING contents.
    pub issuer_key_hash: Vec<u8>,
    /// `serialNumber`.
    pub serial: Serial,
}

impl CertId {
    /// A CertID with the canonical algorithm identifier (NULL parameters).
    pub fn new(hash: CertIdHash, issuer_name_hash: Vec<u8>, issuer_key_hash: Vec<u8>, serial: Serial) -> CertId {
        CertId {
            hash_algorithm: hash.algorithm_identifier(),
            issuer_name_hash,
            issuer_key_hash,
            serial,
        }
    }

    /// The hash algorithm, or `None` if it is one we do not support (such a
    /// CertID matches no issuer and is answered `unknown`). Parameters must be
    /// absent or NULL.
    pub fn hash(&self) -> Option<CertIdHash> {
        let params_ok = match &self.hash_algorithm.parameters {
            None => true,
            Some(p) => p.is_null(),
        };
        if !params_ok {
            return None;
        }
        if self.hash_algorithm.oid == oid::SHA1 {
            Some(CertIdHash::Sha1)
        } else if self.hash_algorithm.oid == oid::SHA256 {
            Some(CertIdHash::Sha256)
        } else {
            None
        }
    }

    /// The DER of this CertID, exactly as it appears in a response: a good
    /// cache key for pre-signed responses (it includes the hash algorithm and
    /// its parameter encoding, both of which the response echoes).
    pub fn to_der(&self) -> Result<Vec<u8>, PkiError> {
        CertIdAsn::from_cert_id(self)?
            .to_der()
            .map_err(|e| PkiError::der("OCSP CertID", e))
    }

    fn from_asn(asn: &CertIdAsn<'_>) -> Result<CertId, OcspError> {
        let serial = Serial::from_der_content(asn.serial_number.as_bytes())
            .map_err(|_| malformed("serial number is not a positive integer of at most 20 octets"))?;
        Ok(CertId {
            hash_algorithm: asn.hash_algorithm.ref_to_owned(),
            issuer_name_hash: asn.issuer_name_hash.as_bytes().to_vec(),
            issuer_key_hash: asn.issuer_key_hash.as_bytes().to_vec(),
            serial,
        })
    }

    /// Same certificate: same algorithm OID, hashes and serial (parameters
    /// NULL vs. absent are not distinguished, as in openssl).
    pub fn same_certificate(&self, other: &CertId) -> bool {
        self.hash_algorithm.oid == other.hash_algorithm.oid
            && self.issuer_name_hash == other.issuer_name_hash
            && self.issuer_key_hash == other.issuer_key_hash
            && self.serial == other.serial
    }
}

// ---------------------------------------------------------------------------
// ASN.1 (RFC 6960 §4, module with EXPLICIT TAGS)
// ---------------------------------------------------------------------------

/// A complete TLV, kept as raw bytes: decoding captures it without looking
/// inside, encoding writes it back unchanged (used for the signed
/// ResponseData and for certificates).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RawTlv<'a>(&'a [u8]);

impl<'a> Decode<'a> for RawTlv<'a> {
    type Error = der::Error;

    fn decode<R: Reader<'a>>(reader: &mut R) -> der::Result<Self> {
        reader.tlv_bytes().map(RawTlv)
    }
}

impl Encode for RawTlv<'_> {
    fn encoded_len(&self) -> der::Result<Length> {
        Length::try_from(self.0.len())
    }

    fn encode(&self, writer: &mut impl Writer) -> der::Result<()> {
        writer.write(self.0)
    }
}

/// The contents of a SEQUENCE (or SEQUENCE OF), walked by hand later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SeqBody<'a>(&'a [u8]);

impl FixedTag for SeqBody<'_> {
    const TAG: Tag = Tag::Sequence;
}

impl<'a> DecodeValue<'a> for SeqBody<'a> {
    type Error = der::Error;

    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        reader.read_slice(header.length()).map(SeqBody)
    }
}

impl EncodeValue for SeqBody<'_> {
    fn value_len(&self) -> der::Result<Length> {
        Length::try_from(self.0.len())
    }

    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        writer.write(self.0)
    }
}

/// CRLReason, an ENUMERATED; kept as its code so that codes outside
/// [`CrlReason`] (7–10) still decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ReasonCode(u8);

impl FixedTag for ReasonCode {
    const TAG: Tag = Tag::Enumerated;
}

impl<'a> DecodeValue<'a> for ReasonCode {
    type Error = der::Error;

    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        // ENUMERATED content octets follow the INTEGER rules.
        u8::decode_value(reader, header).map(ReasonCode)
    }
}

impl EncodeValue for ReasonCode {
    fn value_len(&self) -> der::Result<Length> {
        self.0.value_len()
    }

    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        self.0.encode_value(writer)
    }
}

/// `OCSPRequest ::= SEQUENCE { tbsRequest, optionalSignature [0] EXPLICIT Signature OPTIONAL }`
#[derive(Sequence)]
struct OcspRequestAsn<'a> {
    tbs_request: TbsRequestAsn<'a>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    optional_signature: Option<SeqBody<'a>>,
}

/// `TBSRequest` (requestList and requestExtensions are walked by hand so that
/// the CertID count is bounded before anything is allocated).
#[derive(Sequence)]
struct TbsRequestAsn<'a> {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", default = "Default::default")]
    version: u8,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    requestor_name: Option<AnyRef<'a>>,
    request_list: SeqBody<'a>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    request_extensions: Option<SeqBody<'a>>,
}

/// `Request ::= SEQUENCE { reqCert CertID, singleRequestExtensions [0] EXPLICIT Extensions OPTIONAL }`
#[derive(Sequence)]
struct RequestAsn<'a> {
    req_cert: CertIdAsn<'a>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    single_request_extensions: Option<SeqBody<'a>>,
}

/// `CertID`
#[derive(Sequence)]
struct CertIdAsn<'a> {
    hash_algorithm: AlgorithmIdentifierRef<'a>,
    issuer_name_hash: &'a OctetStringRef,
    issuer_key_hash: &'a OctetStringRef,
    serial_number: IntRef<'a>,
}

impl<'a> CertIdAsn<'a> {
    fn from_cert_id(id: &'a CertId) -> Result<CertIdAsn<'a>, PkiError> {
        let bad = |e| PkiError::der("OCSP CertID", e);
        Ok(CertIdAsn {
            hash_algorithm: id.hash_algorithm.owned_to_ref(),
            issuer_name_hash: OctetStringRef::new(&id.issuer_name_hash).map_err(bad)?,
            issuer_key_hash: OctetStringRef::new(&id.issuer_key_hash).map_err(bad)?,
            serial_number: IntRef::new(id.serial.as_bytes()).map_err(bad)?,
        })
    }
}

/// `Extension` (RFC 5280), borrowed.
#[derive(Sequence)]
struct ExtensionAsn<'a> {
    extn_id: ObjectIdentifier,
    #[asn1(default = "Default::default")]
    critical: bool,
    extn_value: &'a OctetStringRef,
}

/// `OCSPResponse ::= SEQUENCE { responseStatus, responseBytes [0] EXPLICIT ResponseBytes OPTIONAL }`
#[derive(Sequence)]
struct OcspResponseAsn<'a> {
    response_status: OcspResponseStatus,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    response_bytes: Option<ResponseBytesAsn<'a>>,
}

/// `ResponseBytes ::= SEQUENCE { responseType OBJECT IDENTIFIER, response OCTET STRING }`
#[derive(Sequence)]
struct ResponseBytesAsn<'a> {
    response_type: ObjectIdentifier,
    response: &'a OctetStringRef,
}

/// `BasicOCSPResponse`; the ResponseData is kept raw: those are the signed octets.
#[derive(Sequence)]
struct BasicOcspResponseAsn<'a> {
    tbs_response_data: RawTlv<'a>,
    signature_algorithm: AlgorithmIdentifierRef<'a>,
    signature: BitStringRef<'a>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    certs: Option<Vec<RawTlv<'a>>>,
}

/// `ResponseData`
#[derive(Sequence)]
struct ResponseDataAsn<'a> {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", default = "Default::default")]
    version: u8,
    responder_id: ResponderIdAsn<'a>,
    produced_at: GeneralizedTime,
    responses: Vec<SingleResponseAsn<'a>>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    response_extensions: Option<Vec<ExtensionAsn<'a>>>,
}

/// `ResponderID ::= CHOICE { byName [1] Name, byKey [2] KeyHash }` (explicit tags).
#[derive(Choice)]
enum ResponderIdAsn<'a> {
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", constructed = "true")]
    ByName(AnyRef<'a>),
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", constructed = "true")]
    ByKey(&'a OctetStringRef),
}

/// `SingleResponse`
#[derive(Sequence)]
struct SingleResponseAsn<'a> {
    cert_id: CertIdAsn<'a>,
    cert_status: CertStatusAsn,
    this_update: GeneralizedTime,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    next_update: Option<GeneralizedTime>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    single_extensions: Option<SeqBody<'a>>,
}

/// `CertStatus ::= CHOICE { good [0] IMPLICIT NULL, revoked [1] IMPLICIT RevokedInfo, unknown [2] IMPLICIT NULL }`
#[derive(Choice)]
enum CertStatusAsn {
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT")]
    Good(Null),
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", constructed = "true")]
    Revoked(RevokedInfoAsn),
    #[asn1(context_specific = "2", tag_mode = "IMPLICIT")]
    Unknown(Null),
}

/// `RevokedInfo ::= SEQUENCE { revocationTime GeneralizedTime, revocationReason [0] EXPLICIT CRLReason OPTIONAL }`
#[derive(Sequence)]
struct RevokedInfoAsn {
    revocation_time: GeneralizedTime,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    revocation_reason: Option<ReasonCode>,
}

/// The signature, certificate and signed part of an X.509 certificate,
/// with the TBSCertificate kept raw (the signed octets).
#[derive(Sequence)]
struct CertificateAsn<'a> {
    tbs_certificate: RawTlv<'a>,
    signature_algorithm: AlgorithmIdentifierRef<'a>,
    signature: BitStringRef<'a>,
}

// ---------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------

/// A parsed OCSP request: what to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcspRequest {
    /// The CertIDs asked about, in request order (1 to [`MAX_CERT_IDS`]).
    pub requests: Vec<CertId>,
    /// The nonce extension's `extnValue` octets exactly as sent: pass them to
    /// [`Responder::respond`] unchanged to echo them (see the module docs).
    pub nonce: Option<Vec<u8>>,
}

/// Parses a DER `OCSPRequest`. Never panics; every refusal is
/// [`OcspError::Malformed`] (answer [`error_response`]`(MalformedRequest)`).
///
/// Version must be v1. `requestorName`, `optionalSignature`, and extensions
/// other than the nonce are checked for shape and otherwise ignored; a
/// repeated nonce extension is malformed.
pub fn parse_request(der: &[u8]) -> Result<OcspRequest, OcspError> {
    if der.is_empty() {
        return Err(malformed("empty request"));
    }
    if der.len() > MAX_REQUEST_LEN {
        return Err(malformed("request larger than 64 KiB"));
    }
    let request = OcspRequestAsn::from_der(der).map_err(|_| malformed("not a DER OCSPRequest"))?;
    let _ = (request.optional_signature, request.tbs_request.requestor_name);
    let tbs = request.tbs_request;
    if tbs.version != 0 {
        return Err(malformed("unsupported request version"));
    }

    let mut requests = Vec::with_capacity(1);
    let mut reader = SliceReader::new(tbs.request_list.0).map_err(|_| malformed("bad requestList"))?;
    while !reader.is_finished() {
        if requests.len() == MAX_CERT_IDS {
            return Err(malformed("more than 64 CertIDs"));
        }
        let one: RequestAsn<'_> = reader.decode().map_err(|_| malformed("bad Request in requestList"))?;
        if let Some(exts) = one.single_request_extensions {
            for_each_extension(exts, |_| Ok(()))?;
        }
        requests.push(CertId::from_asn(&one.req_cert)?);
    }
    if requests.is_empty() {
        return Err(malformed("empty requestList"));
    }

    let mut nonce: Option<Vec<u8>> = None;
    if let Some(exts) = tbs.request_extensions {
        for_each_extension(exts, |ext| {
            if ext.extn_id == oid::OCSP_NONCE {
                if nonce.is_some() {
                    return Err(malformed("repeated nonce extension"));
                }
                let value = ext.extn_value.as_bytes();
                check_nonce(value)?;
                nonce = Some(value.to_vec());
            }
            Ok(())
        })?;
    }
    Ok(OcspRequest { requests, nonce })
}

/// Calls `f` on each Extension of an `Extensions` SEQUENCE (contents given).
fn for_each_extension<'a>(
    exts: SeqBody<'a>,
    mut f: impl FnMut(&ExtensionAsn<'a>) -> Result<(), OcspError>,
) -> Result<(), OcspError> {
    let mut reader = SliceReader::new(exts.0).map_err(|_| malformed("bad Extensions"))?;
    while !reader.is_finished() {
        let ext: ExtensionAsn<'a> = reader.decode().map_err(|_| malformed("bad Extension"))?;
        f(&ext)?;
    }
    Ok(())
}

/// The nonce proper inside an `extnValue`: the contents of the inner OCTET
/// STRING (RFC 8954/9654 form) or, if `extn_value` is not exactly one DER
/// OCTET STRING, the raw octets (legacy form).
pub fn nonce_value(extn_value: &[u8]) -> &[u8] {
    match <&OctetStringRef>::from_der(extn_value) {
        Ok(inner) => inner.as_bytes(),
        Err(_) => extn_value,
    }
}

fn check_nonce(extn_value: &[u8]) -> Result<(), OcspError> {
    let n = nonce_value(extn_value).len();
    if n == 0 {
        return Err(malformed("empty nonce"));
    }
    if n > MAX_NONCE_LEN {
        return Err(malformed("nonce longer than 128 octets"));
    }
    Ok(())
}

/// The `extnValue` for a nonce in the RFC 8954/9654 form: the DER of an
/// OCTET STRING holding `nonce` (what `openssl ocsp -nonce` sends).
pub fn nonce_extension_value(nonce: &[u8]) -> Result<Vec<u8>, PkiError> {
    OctetStringRef::new(nonce)
        .and_then(|o| o.to_der())
        .map_err(|e| PkiError::der("OCSP nonce", e))
}

/// A DER `OCSPRequest` (unsigned, v1) for `ids`, with the nonce extension if
/// `nonce_extn_value` is given (its `extnValue` octets; see
/// [`nonce_extension_value`]). For relying parties and tests.
pub fn encode_request(ids: &[CertId], nonce_extn_value: Option<&[u8]>) -> Result<Vec<u8>, PkiError> {
    #[derive(Sequence)]
    struct TbsOut<'a> {
        request_list: Vec<RequestOut<'a>>,
        #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
        request_extensions: Option<Vec<ExtensionAsn<'a>>>,
    }
    #[derive(Sequence)]
    struct RequestOut<'a> {
        req_cert: CertIdAsn<'a>,
    }
    #[derive(Sequence)]
    struct OcspRequestOut<'a> {
        tbs_request: TbsOut<'a>,
    }
    let bad = |e| PkiError::der("OCSP request", e);
    let request_list = ids
        .iter()
        .map(|id| {
            Ok(RequestOut {
                req_cert: CertIdAsn::from_cert_id(id)?,
            })
        })
        .collect::<Result<_, PkiError>>()?;
    let request_extensions = match nonce_extn_value {
        Some(v) => Some(vec![ExtensionAsn {
            extn_id: oid::OCSP_NONCE,
            critical: false,
            extn_value: OctetStringRef::new(v).map_err(bad)?,
        }]),
        None => None,
    };
    OcspRequestOut {
        tbs_request: TbsOut {
            request_list,
            request_extensions,
        },
    }
    .to_der()
    .map_err(bad)
}

/// Decodes the path of an RFC 6960 §A.1 GET request: `/{url-encoding of
/// base64 of the DER OCSPRequest}`, given as the part of the request path
/// after the responder's base URL (one leading `/` is optional; the base64
/// may itself contain unescaped `/`). Handles `%XX` escapes (`%2B`, `%2F`,
/// `%3D`, any case), `+` as plus (and a space, from over-eager form decoding,
/// as plus), the URL-safe alphabet, and missing padding. Returns the DER
/// (not yet parsed: pass it to [`parse_request`]).
pub fn decode_get_path(path: &str) -> Result<Vec<u8>, OcspError> {
    const ENGINE: GeneralPurpose = GeneralPurpose::new(
        &alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let path = path.strip_prefix('/').unwrap_or(path).as_bytes();
    if path.is_empty() {
        return Err(malformed("empty GET path"));
    }
    // Base64 of 64 KiB is 87 384 characters; allow every one of them escaped.
    if path.len() > 3 * (MAX_REQUEST_LEN / 3 + 1) * 4 {
        return Err(malformed("GET path too long"));
    }
    let hex = |h: Option<u8>| match h? {
        d @ b'0'..=b'9' => Some(d - b'0'),
        h @ b'a'..=b'f' => Some(h - b'a' + 10),
        h @ b'A'..=b'F' => Some(h - b'A' + 10),
        _ => None,
    };
    let unescaped;
    let b64 = if path.iter().any(|c| matches!(c, b'%' | b' ' | b'-' | b'_')) {
        let mut out = Vec::with_capacity(path.len());
        let mut bytes = path.iter().copied();
        while let Some(c) = bytes.next() {
            out.push(match c {
                b'%' => match (hex(bytes.next()), hex(bytes.next())) {
                    (Some(hi), Some(lo)) => hi << 4 | lo,
                    _ => return Err(malformed("bad percent escape in GET path")),
                },
                b' ' | b'-' => b'+',
                b'_' => b'/',
                other => other,
            });
        }
        unescaped = out;
        unescaped.as_slice()
    } else {
        path
    };
    let der = ENGINE.decode(b64).map_err(|_| malformed("GET path is not base64"))?;
    if der.is_empty() {
        return Err(malformed("empty request"));
    }
    if der.len() > MAX_REQUEST_LEN {
        return Err(malformed("request larger than 64 KiB"));
    }
    Ok(der)
}

// ---------------------------------------------------------------------------
// Issuer and responder
// ---------------------------------------------------------------------------

/// The CA whose certificates a responder answers for: the hashes a CertID
/// must carry to be ours.
#[derive(Debug, Clone)]
pub struct OcspIssuer {
    subject_der: Vec<u8>,
    spki_der: Vec<u8>,
    name_sha1: [u8; 20],
    key_sha1: [u8; 20],
    name_sha256: [u8; 32],
    key_sha256: [u8; 32],
}

impl OcspIssuer {
    /// From the CA certificate (DER).
    pub fn new(issuer_cert_der: &[u8]) -> Result<OcspIssuer, PkiError> {
        let cert = Certificate::from_der(issuer_cert_der).map_err(|e| PkiError::der("issuer certificate", e))?;
        let tbs = cert.tbs_certificate();
        let subject_der = tbs.subject().to_der().map_err(|e| PkiError::der("issuer subject", e))?;
        let spki = tbs.subject_public_key_info();
        let spki_der = spki.to_der().map_err(|e| PkiError::der("issuer public key", e))?;
        let key = spki.subject_public_key.raw_bytes();
        Ok(OcspIssuer {
            name_sha1: sha1(&subject_der),
            key_sha1: sha1(key),
            name_sha256: sha256(&subject_der),
            key_sha256: sha256(key),
            subject_der,
            spki_der,
        })
    }

    /// `issuerNameHash` under `hash`.
    pub fn name_hash(&self, hash: CertIdHash) -> &[u8] {
        match hash {
            CertIdHash::Sha1 => &self.name_sha1,
            CertIdHash::Sha256 => &self.name_sha256,
        }
    }

    /// `issuerKeyHash` under `hash`.
    pub fn key_hash(&self, hash: CertIdHash) -> &[u8] {
        match hash {
            CertIdHash::Sha1 => &self.key_sha1,
            CertIdHash::Sha256 => &self.key_sha256,
        }
    }

    /// The issuer's subject DN (DER).
    pub fn subject_der(&self) -> &[u8] {
        &self.subject_der
    }

    /// The issuer's SubjectPublicKeyInfo (DER).
    pub fn public_key_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// Whether `id` names a certificate of this issuer (supported hash, both
    /// hashes equal). The serial is not looked at.
    pub fn matches(&self, id: &CertId) -> bool {
        match id.hash() {
            Some(h) => id.issuer_name_hash == self.name_hash(h) && id.issuer_key_hash == self.key_hash(h),
            None => false,
        }
    }

    /// The CertID of this issuer's certificate `serial`.
    pub fn cert_id(&self, hash: CertIdHash, serial: Serial) -> CertId {
        CertId::new(
            hash,
            self.name_hash(hash).to_vec(),
            self.key_hash(hash).to_vec(),
            serial,
        )
    }
}

/// The status to answer for one CertID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SingleStatus {
    /// Not revoked.
    Good,
    /// Revoked or on hold (reason `CertificateHold`).
    Revoked {
        /// revocationTime.
        at: DateTime<Utc>,
        /// revocationReason; every reason is written when given, including
        /// `Unspecified` and `CertificateHold`.
        reason: Option<CrlReason>,
    },
    /// Not a certificate of this issuer, or never issued.
    Unknown,
}

impl From<CertStatus> for SingleStatus {
    fn from(status: CertStatus) -> SingleStatus {
        match status {
            CertStatus::Good => SingleStatus::Good,
            CertStatus::Revoked { at, reason, .. } => SingleStatus::Revoked {
                at,
                reason: Some(reason),
            },
        }
    }
}

/// A delegated OCSP responder for one CA: signs responses with the
/// responder key and includes the responder certificate.
pub struct Responder {
    issuer: OcspIssuer,
    responder_cert_der: Vec<u8>,
    signer: Arc<dyn Signer>,
    key_hash: [u8; 20],
}

impl std::fmt::Debug for Responder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Responder")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl Responder {
    /// A responder. Checks that `signer` holds the key of `responder_cert_der`
    /// and that the certificate is either the issuer's own or issued by it
    /// (name and signature) with extendedKeyUsage id-kp-OCSPSigning, as
    /// clients require of a delegated responder.
    pub fn new(
        issuer: OcspIssuer,
        responder_cert_der: Vec<u8>,
        signer: Arc<dyn Signer>,
    ) -> Result<Responder, PkiError> {
        let cert = Certificate::from_der(&responder_cert_der).map_err(|e| PkiError::der("responder certificate", e))?;
        let tbs = cert.tbs_certificate();
        let key = tbs.subject_public_key_info().subject_public_key.raw_bytes();
        let signer_spki = SubjectPublicKeyInfoRef::from_der(signer.public_key_der())
            .map_err(|e| PkiError::der("signer public key", e))?;
        if signer_spki.subject_public_key.raw_bytes() != key {
            return Err(PkiError::Verification(
                "the signer's key is not the responder certificate's key".into(),
            ));
        }
        let is_issuer = tbs
            .subject_public_key_info()
            .to_der()
            .map(|d| d == issuer.spki_der)
            .map_err(|e| PkiError::der("responder public key", e))?;
        if !is_issuer {
            let issuer_name = tbs
                .issuer()
                .to_der()
                .map_err(|e| PkiError::der("responder issuer", e))?;
            if issuer_name != issuer.subject_der {
                return Err(PkiError::Verification(
                    "the responder certificate is not issued by the CA".into(),
                ));
            }
            let raw =
                CertificateAsn::from_der(&responder_cert_der).map_err(|e| PkiError::der("responder certificate", e))?;
            let signature = raw.signature.as_bytes().ok_or_else(|| PkiError::Malformed {
                what: "responder certificate",
                why: "signature has unused bits".into(),
            })?;
            verify_rsa(
                &issuer.spki_der,
                raw.signature_algorithm.oid,
                raw.tbs_certificate.0,
                signature,
            )
            .map_err(|_| PkiError::Verification("the responder certificate is not signed by the CA".into()))?;
            let eku = tbs
                .get_extension::<ExtendedKeyUsage>()
                .map_err(|e| PkiError::der("responder extendedKeyUsage", e))?;
            if !eku.is_some_and(|(_, eku)| eku.0.contains(&oid::KP_OCSP_SIGNING)) {
                return Err(PkiError::Verification(
                    "the responder certificate lacks extendedKeyUsage id-kp-OCSPSigning".into(),
                ));
            }
        }
        Ok(Responder {
            key_hash: sha1(key),
            issuer,
            responder_cert_der,
            signer,
        })
    }

    /// The CA answered for.
    pub fn issuer(&self) -> &OcspIssuer {
        &self.issuer
    }

    /// The responder certificate (DER), as included in responses.
    pub fn responder_cert_der(&self) -> &[u8] {
        &self.responder_cert_der
    }

    /// The responderID byKey value: SHA-1 of the responder's subjectPublicKey.
    pub fn responder_key_hash(&self) -> &[u8; 20] {
        &self.key_hash
    }

    /// A signed, successful DER `OCSPResponse` with one SingleResponse per
    /// answer, in order, each with `this_update` and `next_update`;
    /// `nonce` is the request's nonce `extnValue` to echo
    /// ([`OcspRequest::nonce`]). Deterministic in its inputs.
    pub fn respond(
        &self,
        answers: &[(CertId, SingleStatus)],
        produced_at: DateTime<Utc>,
        this_update: DateTime<Utc>,
        next_update: Option<DateTime<Utc>>,
        nonce: Option<&[u8]>,
    ) -> Result<Vec<u8>, PkiError> {
        self.sign(
            answers.iter().map(|(id, s)| (id, *s)),
            produced_at,
            this_update,
            next_update,
            nonce,
        )
    }

    /// [`Responder::respond`] for a single CertID (the usual request; the
    /// result for `nonce: None` is what to pre-sign and cache, keyed on
    /// [`CertId::to_der`]).
    pub fn respond_one(
        &self,
        id: &CertId,
        status: SingleStatus,
        produced_at: DateTime<Utc>,
        this_update: DateTime<Utc>,
        next_update: Option<DateTime<Utc>>,
        nonce: Option<&[u8]>,
    ) -> Result<Vec<u8>, PkiError> {
        self.sign(
            std::iter::once((id, status)),
            produced_at,
            this_update,
            next_update,
            nonce,
        )
    }

    /// Answers a parsed request: CertIDs that are not this issuer's get
    /// `unknown`; the others get `status_of(serial)`. The nonce is echoed.
    pub fn answer(
        &self,
        request: &OcspRequest,
        produced_at: DateTime<Utc>,
        this_update: DateTime<Utc>,
        next_update: Option<DateTime<Utc>>,
        mut status_of: impl FnMut(&Serial) -> SingleStatus,
    ) -> Result<Vec<u8>, PkiError> {
        let answers = request.requests.iter().map(|id| {
            let status = if self.issuer.matches(id) {
                status_of(&id.serial)
            } else {
                SingleStatus::Unknown
            };
            (id, status)
        });
        self.sign(answers, produced_at, this_update, next_update, request.nonce.as_deref())
    }

    fn sign<'a>(
        &self,
        answers: impl Iterator<Item = (&'a CertId, SingleStatus)>,
        produced_at: DateTime<Utc>,
        this_update: DateTime<Utc>,
        next_update: Option<DateTime<Utc>>,
        nonce: Option<&[u8]>,
    ) -> Result<Vec<u8>, PkiError> {
        let bad = |e| PkiError::der("OCSP response", e);
        let this_update = crate::time::generalized_time(this_update)?;
        let next_update = next_update.map(crate::time::generalized_time).transpose()?;
        let mut responses = Vec::with_capacity(1);
        for (id, status) in answers {
            let cert_status = match status {
                SingleStatus::Good => CertStatusAsn::Good(Null),
                SingleStatus::Unknown => CertStatusAsn::Unknown(Null),
                SingleStatus::Revoked { at, reason } => CertStatusAsn::Revoked(RevokedInfoAsn {
                    revocation_time: crate::time::generalized_time(at)?,
                    revocation_reason: reason.map(|r| ReasonCode(r.code())),
                }),
            };
            responses.push(SingleResponseAsn {
                cert_id: CertIdAsn::from_cert_id(id)?,
                cert_status,
                this_update,
                next_update,
                single_extensions: None,
            });
        }
        if responses.is_empty() {
            return Err(PkiError::Malformed {
                what: "OCSP response",
                why: "no answers".into(),
            });
        }
        let response_extensions = match nonce {
            Some(v) => Some(vec![ExtensionAsn {
                extn_id: oid::OCSP_NONCE,
                critical: false,
                extn_value: OctetStringRef::new(v).map_err(bad)?,
            }]),
            None => None,
        };
        let data = ResponseDataAsn {
            version: 0,
            responder_id: ResponderIdAsn::ByKey(OctetStringRef::new(&self.key_hash).map_err(bad)?),
            produced_at: crate::time::generalized_time(produced_at)?,
            responses,
            response_extensions,
        };
        let tbs = data.to_der().map_err(bad)?;
        let signature = self.signer.sign(&tbs)?;
        let basic = BasicOcspResponseAsn {
            tbs_response_data: RawTlv(&tbs),
            signature_algorithm: AlgorithmIdentifierRef {
                oid: oid::SHA256_WITH_RSA,
                parameters: Some(AnyRef::NULL),
            },
            signature: BitStringRef::from_bytes(&signature).map_err(bad)?,
            certs: Some(vec![RawTlv(&self.responder_cert_der)]),
        }
        .to_der()
        .map_err(bad)?;
        OcspResponseAsn {
            response_status: OcspResponseStatus::Successful,
            response_bytes: Some(ResponseBytesAsn {
                response_type: oid::OCSP_BASIC,
                response: OctetStringRef::new(&basic).map_err(bad)?,
            }),
        }
        .to_der()
        .map_err(bad)
    }
}

// ---------------------------------------------------------------------------
// Parsing responses (relying parties, tests)
// ---------------------------------------------------------------------------

/// The responderID of a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponderId {
    /// byName: the responder's subject DN (DER).
    ByName(Vec<u8>),
    /// byKey: SHA-1 of the responder's subjectPublicKey.
    ByKey(Vec<u8>),
}

/// One SingleResponse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SingleResponse {
    /// certID, as the responder wrote it.
    pub cert_id: CertId,
    /// certStatus. A revocation reason outside [`CrlReason`] (7–10) reads as `None`.
    pub status: SingleStatus,
    /// thisUpdate.
    pub this_update: DateTime<Utc>,
    /// nextUpdate.
    pub next_update: Option<DateTime<Utc>>,
}

/// A parsed `OCSPResponse`. The signature is not checked here: call
/// [`ParsedResponse::verify_signature`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedResponse {
    /// responseStatus. Everything below is empty unless `Successful`.
    pub status: OcspResponseStatus,
    /// producedAt.
    pub produced_at: Option<DateTime<Utc>>,
    /// responderID.
    pub responder_id: Option<ResponderId>,
    /// The SingleResponses, in order.
    pub responses: Vec<SingleResponse>,
    /// The nonce extension's `extnValue` octets, if present (compare with
    /// the request's [`OcspRequest::nonce`]).
    pub nonce: Option<Vec<u8>>,
    /// The certificates in `certs` (DER), usually the responder's.
    pub certs: Vec<Vec<u8>>,
    /// signatureAlgorithm.
    pub signature_algorithm: Option<ObjectIdentifier>,
    tbs_response_data: Vec<u8>,
    signature: Vec<u8>,
}

/// Parses a DER `OCSPResponse` (up to 1 MiB). Basic responses only; a
/// critical response or single extension other than the nonce is refused.
pub fn parse_response(der: &[u8]) -> Result<ParsedResponse, PkiError> {
    let bad = |why: &str| PkiError::Malformed {
        what: "OCSP response",
        why: why.to_owned(),
    };
    let der_err = |e| PkiError::der("OCSP response", e);
    if der.len() > MAX_RESPONSE_LEN {
        return Err(bad("larger than 1 MiB"));
    }
    let outer = OcspResponseAsn::from_der(der).map_err(der_err)?;
    let mut parsed = ParsedResponse {
        status: outer.response_status,
        produced_at: None,
        responder_id: None,
        responses: Vec::new(),
        nonce: None,
        certs: Vec::new(),
        signature_algorithm: None,
        tbs_response_data: Vec::new(),
        signature: Vec::new(),
    };
    let bytes = match (outer.response_status, outer.response_bytes) {
        (OcspResponseStatus::Successful, Some(b)) => b,
        (OcspResponseStatus::Successful, None) => return Err(bad("successful without responseBytes")),
        (_, None) => return Ok(parsed),
        (_, Some(_)) => return Err(bad("responseBytes in an error response")),
    };
    if bytes.response_type != oid::OCSP_BASIC {
        return Err(bad("responseType is not id-pkix-ocsp-basic"));
    }
    let basic = BasicOcspResponseAsn::from_der(bytes.response.as_bytes()).map_err(der_err)?;
    let data = ResponseDataAsn::from_der(basic.tbs_response_data.0).map_err(der_err)?;
    if data.version != 0 {
        return Err(bad("unsupported ResponseData version"));
    }
    parsed.responder_id = Some(match data.responder_id {
        ResponderIdAsn::ByName(name) => ResponderId::ByName(name.to_der().map_err(der_err)?),
        ResponderIdAsn::ByKey(key) => ResponderId::ByKey(key.as_bytes().to_vec()),
    });
    parsed.produced_at = Some(from_generalized(&data.produced_at));
    for single in &data.responses {
        if let Some(exts) = single.single_extensions {
            for_each_extension(exts, |e| {
                if e.critical {
                    return Err(malformed("critical single extension"));
                }
                Ok(())
            })
            .map_err(|_| bad("bad or critical singleExtensions"))?;
        }
        let status = match &single.cert_status {
            CertStatusAsn::Good(_) => SingleStatus::Good,
            CertStatusAsn::Unknown(_) => SingleStatus::Unknown,
            CertStatusAsn::Revoked(info) => SingleStatus::Revoked {
                at: from_generalized(&info.revocation_time),
                reason: info.revocation_reason.and_then(|r| CrlReason::from_code(r.0)),
            },
        };
        parsed.responses.push(SingleResponse {
            cert_id: CertId::from_asn(&single.cert_id).map_err(|_| bad("bad certID"))?,
            status,
            this_update: from_generalized(&single.this_update),
            next_update: single.next_update.as_ref().map(from_generalized),
        });
    }
    for ext in data.response_extensions.iter().flatten() {
        if ext.extn_id == oid::OCSP_NONCE {
            if parsed.nonce.is_some() {
                return Err(bad("repeated nonce extension"));
            }
            parsed.nonce = Some(ext.extn_value.as_bytes().to_vec());
        } else if ext.critical {
            return Err(bad("unsupported critical response extension"));
        }
    }
    for cert in basic.certs.iter().flatten() {
        if cert.0.first() != Some(&0x30) {
            return Err(bad("certs holds a non-SEQUENCE"));
        }
        parsed.certs.push(cert.0.to_vec());
    }
    parsed.signature_algorithm = Some(basic.signature_algorithm.oid);
    parsed.signature = basic
        .signature
        .as_bytes()
        .ok_or_else(|| bad("signature has unused bits"))?
        .to_vec();
    parsed.tbs_response_data = basic.tbs_response_data.0.to_vec();
    Ok(parsed)
}

fn from_generalized(t: &GeneralizedTime) -> DateTime<Utc> {
    let secs = i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX);
    Utc.timestamp_opt(secs, 0).single().unwrap_or(DateTime::<Utc>::MAX_UTC)
}

impl ParsedResponse {
    /// Checks the signature over ResponseData with the given public key
    /// (DER SubjectPublicKeyInfo, RSA). Accepts sha256/384/512WithRSAEncryption.
    pub fn verify_signature(&self, responder_spki_der: &[u8]) -> Result<(), PkiError> {
        let alg = self
            .signature_algorithm
            .ok_or_else(|| PkiError::Verification(format!("a {:?} response is not signed", self.status)))?;
        verify_rsa(responder_spki_der, alg, &self.tbs_response_data, &self.signature)
    }

    /// The SingleResponse for `id` (same algorithm, hashes and serial).
    pub fn find(&self, id: &CertId) -> Option<&SingleResponse> {
        self.responses.iter().find(|r| r.cert_id.same_certificate(id))
    }

    /// The certificate in `certs` that the responderID names, if any.
    pub fn responder_certificate(&self) -> Option<&[u8]> {
        let id = self.responder_id.as_ref()?;
        self.certs.iter().map(Vec::as_slice).find(|der| {
            let Ok(cert) = Certificate::from_der(der) else {
                return false;
            };
            let tbs = cert.tbs_certificate();
            match id {
                ResponderId::ByKey(hash) => {
                    sha1(tbs.subject_public_key_info().subject_public_key.raw_bytes()).as_slice() == hash.as_slice()
                }
                ResponderId::ByName(name) => tbs.subject().to_der().is_ok_and(|s| &s == name),
            }
        })
    }
}

/// Verifies an RSA PKCS#1 v1.5 signature with a DER SubjectPublicKeyInfo.
fn verify_rsa(spki_der: &[u8], alg: ObjectIdentifier, message: &[u8], sig: &[u8]) -> Result<(), PkiError> {
    const SHA384_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
    const SHA512_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
    let params: &'static signature::RsaParameters = if alg == oid::SHA256_WITH_RSA {
        &signature::RSA_PKCS1_2048_8192_SHA256
    } else if alg == SHA384_WITH_RSA {
        &signature::RSA_PKCS1_2048_8192_SHA384
    } else if alg == SHA512_WITH_RSA {
        &signature::RSA_PKCS1_2048_8192_SHA512
    } else {
        return Err(PkiError::Verification(format!("unsupported signature algorithm {alg}")));
    };
    let spki = SubjectPublicKeyInfoRef::from_der(spki_der).map_err(|e| PkiError::der("public key", e))?;
    if spki.algorithm.oid != oid::RSA_ENCRYPTION {
        return Err(PkiError::UnsupportedKey(format!(
            "{} is not rsaEncryption",
            spki.algorithm.oid
        )));
    }
    UnparsedPublicKey::new(params, spki.subject_public_key.raw_bytes())
        .verify(message, sig)
        .map_err(|_| PkiError::Verification("bad signature".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SoftwareKey;
    use chrono::TimeZone;
    use proptest::prelude::*;

    const CA: &[u8] = include_bytes!("../tests/data/ocsp/ca.der");
    const EE: &[u8] = include_bytes!("../tests/data/ocsp/ee.der");
    const RESPONDER: &[u8] = include_bytes!("../tests/data/ocsp/responder.der");
    const RESPONDER_KEY: &[u8] = include_bytes!("../tests/data/ocsp/responder.pk8");
    /// `openssl ocsp -issuer ca.pem -cert ee.pem -nonce` (SHA-1 CertID).
    const REQ_SHA1_NONCE: &[u8] = include_bytes!("../tests/data/ocsp/req_sha1_nonce.der");
    /// `openssl ocsp -issuer ca.pem -sha256 -cert ee.pem -no_nonce`.
    const REQ_SHA256: &[u8] = include_bytes!("../tests/data/ocsp/req_sha256.der");
    const SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");

    fn ee_serial() -> Serial {
        Serial::from_hex("4A3B2C1D00112233").expect("serial")
    }

    fn issuer() -> OcspIssuer {
        OcspIssuer::new(CA).expect("issuer")
    }

    fn responder() -> Responder {
        let key = SoftwareKey::from_pkcs8(RESPONDER_KEY).expect("key");
        Responder::new(issuer(), RESPONDER.to_vec(), Arc::new(key)).expect("responder")
    }

    fn t(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, h, 0, 0).single().expect("time")
    }

    fn spki_of(cert: &[u8]) -> Vec<u8> {
        let cert = Certificate::from_der(cert).expect("cert");
        cert.tbs_certificate().subject_public_key_info().to_der().expect("spki")
    }

    /// An OCSPRequest with the given request extensions (id, critical, extnValue).
    fn request_with_extensions(ids: &[CertId], exts: &[(ObjectIdentifier, bool, &[u8])]) -> Vec<u8> {
        #[derive(Sequence)]
        struct Tbs<'a> {
            request_list: Vec<CertIdOnly<'a>>,
            #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
            request_extensions: Option<Vec<ExtensionAsn<'a>>>,
        }
        #[derive(Sequence)]
        struct CertIdOnly<'a> {
            req_cert: CertIdAsn<'a>,
        }
        #[derive(Sequence)]
        struct Req<'a> {
            tbs: Tbs<'a>,
        }
        let list = ids
            .iter()
            .map(|id| CertIdOnly {
                req_cert: CertIdAsn::from_cert_id(id).expect("id"),
            })
            .collect();
        let exts = exts
            .iter()
            .map(|(id, critical, v)| ExtensionAsn {
                extn_id: *id,
                critical: *critical,
                extn_value: OctetStringRef::new(v).expect("value"),
            })
            .collect();
        Req {
            tbs: Tbs {
                request_list: list,
                request_extensions: Some(exts),
            },
        }
        .to_der()
        .expect("der")
    }

    #[test]
    fn parses_openssl_sha1_request_with_nonce() {
        let req = parse_request(REQ_SHA1_NONCE).expect("parses");
        assert_eq!(req.requests.len(), 1);
        let id = &req.requests[0];
        assert_eq!(id.hash(), Some(CertIdHash::Sha1));
        assert_eq!(id.serial, ee_serial());
        assert!(issuer().matches(id));
        // openssl 3.0 sends the RFC 8954 form: extnValue = OCTET STRING of 16 random octets.
        let nonce = req.nonce.as_deref().expect("nonce");
        assert_eq!(&nonce[..2], &[0x04, 0x10]);
        assert_eq!(nonce.len(), 18);
        assert_eq!(nonce_value(nonce).len(), 16);
        assert_eq!(id, &issuer().cert_id(CertIdHash::Sha1, ee_serial()));
    }

    #[test]
    fn parses_openssl_sha256_request() {
        let req = parse_request(REQ_SHA256).expect("parses");
        assert_eq!(req.nonce, None);
        let id = &req.requests[0];
        assert_eq!(id.hash(), Some(CertIdHash::Sha256));
        assert_eq!(id.issuer_name_hash.len(), 32);
        assert!(issuer().matches(id));
        assert_eq!(id.serial, ee_serial());
        assert!(!issuer().matches(&CertId::new(CertIdHash::Sha256, vec![0; 32], vec![0; 32], ee_serial())));
    }

    #[test]
    fn issuer_hashes_are_the_ones_openssl_computes() {
        let req = parse_request(REQ_SHA1_NONCE).expect("parses");
        let i = issuer();
        assert_eq!(req.requests[0].issuer_name_hash, i.name_hash(CertIdHash::Sha1));
        assert_eq!(req.requests[0].issuer_key_hash, i.key_hash(CertIdHash::Sha1));
        let ee = Certificate::from_der(EE).expect("ee");
        assert_eq!(ee.tbs_certificate().issuer().to_der().expect("der"), i.subject_der());
    }

    #[test]
    fn respond_round_trips_every_status_and_verifies() {
        let r = responder();
        let i = issuer();
        let good = i.cert_id(CertIdHash::Sha1, Serial::from_hex("01").expect("s"));
        let held = i.cert_id(CertIdHash::Sha256, Serial::from_hex("02").expect("s"));
        let unspecified = i.cert_id(CertIdHash::Sha1, Serial::from_hex("03").expect("s"));
        let no_reason = i.cert_id(CertIdHash::Sha1, Serial::from_hex("04").expect("s"));
        let unknown = i.cert_id(CertIdHash::Sha1, Serial::from_hex("05").expect("s"));
        let answers = vec![
            (good.clone(), SingleStatus::Good),
            (
                held.clone(),
                SingleStatus::Revoked {
                    at: t(1),
                    reason: Some(CrlReason::CertificateHold),
                },
            ),
            (
                unspecified.clone(),
                SingleStatus::Revoked {
                    at: t(2),
                    reason: Some(CrlReason::Unspecified),
                },
            ),
            (no_reason.clone(), SingleStatus::Revoked { at: t(3), reason: None }),
            (unknown.clone(), SingleStatus::Unknown),
        ];
        let nonce = nonce_extension_value(&[7u8; 32]).expect("nonce");
        let der = r
            .respond(&answers, t(10), t(9), Some(t(12)), Some(&nonce))
            .expect("respond");
        let parsed = parse_response(&der).expect("parse");
        assert_eq!(parsed.status, OcspResponseStatus::Successful);
        assert_eq!(parsed.produced_at, Some(t(10)));
        assert_eq!(parsed.nonce.as_deref(), Some(nonce.as_slice()));
        assert_eq!(
            parsed.responder_id,
            Some(ResponderId::ByKey(r.responder_key_hash().to_vec()))
        );
        assert_eq!(parsed.certs, vec![RESPONDER.to_vec()]);
        assert_eq!(parsed.responder_certificate(), Some(RESPONDER));
        assert_eq!(parsed.signature_algorithm, Some(oid::SHA256_WITH_RSA));
        parsed
            .verify_signature(&spki_of(RESPONDER))
            .expect("verifies with the responder key");
        assert!(parsed.verify_signature(&spki_of(CA)).is_err());
        assert_eq!(parsed.responses.len(), 5);
        for (single, (id, status)) in parsed.responses.iter().zip(&answers) {
            assert_eq!(&single.cert_id, id);
            assert_eq!(&single.status, status);
            assert_eq!(single.this_update, t(9));
            assert_eq!(single.next_update, Some(t(12)));
        }
        assert_eq!(parsed.find(&held).map(|s| s.status), Some(answers[1].1));
        // Deterministic: the same inputs give the same octets (cacheable).
        assert_eq!(
            der,
            r.respond(&answers, t(10), t(9), Some(t(12)), Some(&nonce))
                .expect("again")
        );
        let one = r
            .respond_one(&good, SingleStatus::Good, t(10), t(9), None, None)
            .expect("one");
        assert_eq!(one, r.respond(&answers[..1], t(10), t(9), None, None).expect("same"));
        let p = parse_response(&one).expect("parse");
        assert_eq!((p.nonce, p.responses[0].next_update), (None, None));
    }

    #[test]
    fn revoked_reason_is_explicitly_tagged_enumerated() {
        let r = responder();
        let id = issuer().cert_id(CertIdHash::Sha1, ee_serial());
        let at = t(1);
        let der = r
            .respond_one(
                &id,
                SingleStatus::Revoked {
                    at,
                    reason: Some(CrlReason::KeyCompromise),
                },
                t(2),
                t(2),
                None,
                None,
            )
            .expect("respond");
        // [1] IMPLICIT RevokedInfo { GeneralizedTime "20261128010000Z", [0] EXPLICIT ENUMERATED 1 }
        let expected: &[u8] = &[
            0xa1, 0x16, 0x18, 0x0f, b'2', b'0', b'2', b'6', b'1', b'1', b'2', b'8', b'0', b'1', b'0', b'0', b'0', b'0',
            b'Z', 0xa0, 0x03, 0x0a, 0x01, 0x01,
        ];
        assert!(der.windows(expected.len()).any(|w| w == expected));
    }

    #[test]
    fn answer_applies_issuer_match_and_echoes_nonce() {
        let r = responder();
        let mut req = parse_request(REQ_SHA1_NONCE).expect("parse");
        let foreign = CertId::new(CertIdHash::Sha1, vec![1; 20], vec![2; 20], ee_serial());
        let mut odd = issuer().cert_id(CertIdHash::Sha1, ee_serial());
        odd.hash_algorithm = AlgorithmIdentifierOwned {
            oid: SHA512,
            parameters: None,
        };
        req.requests.push(foreign.clone());
        req.requests.push(odd.clone());
        let mut asked = Vec::new();
        let der = r
            .answer(&req, t(3), t(3), Some(t(5)), |s| {
                asked.push(s.clone());
                SingleStatus::Good
            })
            .expect("answer");
        assert_eq!(asked, vec![ee_serial()]);
        let p = parse_response(&der).expect("parse");
        assert_eq!(p.nonce, req.nonce);
        let statuses: Vec<_> = p.responses.iter().map(|s| s.status).collect();
        assert_eq!(
            statuses,
            vec![SingleStatus::Good, SingleStatus::Unknown, SingleStatus::Unknown]
        );
        // The unsupported algorithm is echoed as received.
        assert_eq!(p.responses[2].cert_id, odd);
    }

    #[test]
    fn cert_id_keeps_null_or_absent_parameters_as_sent() {
        let mut id = issuer().cert_id(CertIdHash::Sha1, ee_serial());
        id.hash_algorithm.parameters = None;
        let req = parse_request(&encode_request(std::slice::from_ref(&id), None).expect("req")).expect("parse");
        assert_eq!(req.requests[0], id);
        assert_eq!(req.requests[0].hash(), Some(CertIdHash::Sha1));
        assert!(issuer().matches(&req.requests[0]));
        let with_null = issuer().cert_id(CertIdHash::Sha1, ee_serial());
        assert_ne!(id.to_der().expect("der"), with_null.to_der().expect("der"));
        assert!(id.same_certificate(&with_null));
        // Parameters other than NULL make the algorithm unsupported.
        id.hash_algorithm.parameters = Some(der::asn1::Any::from(der::asn1::AnyRef::from(
            OctetStringRef::new(&[1]).expect("o"),
        )));
        assert_eq!(id.hash(), None);
        assert!(!issuer().matches(&id));
    }

    #[test]
    fn error_responses_are_five_octets_and_parse() {
        for (status, code) in [
            (OcspResponseStatus::MalformedRequest, 1u8),
            (OcspResponseStatus::InternalError, 2),
            (OcspResponseStatus::TryLater, 3),
            (OcspResponseStatus::SigRequired, 5),
            (OcspResponseStatus::Unauthorized, 6),
        ] {
            let der = error_response(status);
            assert_eq!(der, &[0x30, 0x03, 0x0a, 0x01, code]);
            let p = parse_response(der).expect("parse");
            assert_eq!(p.status, status);
            assert!(p.responses.is_empty() && p.verify_signature(&spki_of(RESPONDER)).is_err());
        }
        assert_eq!(
            error_response(OcspResponseStatus::Successful),
            error_response(OcspResponseStatus::InternalError)
        );
        assert!(parse_response(&[0x30, 0x03, 0x0a, 0x01, 0x00]).is_err());
        assert!(parse_response(&[0x30, 0x03, 0x0a, 0x01, 0x04]).is_err());
    }

    #[test]
    fn nonce_forms_and_bounds() {
        let id = issuer().cert_id(CertIdHash::Sha1, ee_serial());
        let ids = std::slice::from_ref(&id);
        let with = |v: &[u8]| parse_request(&request_with_extensions(ids, &[(oid::OCSP_NONCE, false, v)]));
        // RFC 8954/9654 form, 1..=128 octets.
        for n in [1usize, 16, 32, 128] {
            let v = nonce_extension_value(&vec![0xab; n]).expect("v");
            assert_eq!(with(&v).expect("ok").nonce, Some(v.clone()));
        }
        // Legacy raw form: echoed as is.
        let raw = [0x5au8; 16];
        assert_eq!(with(&raw).expect("ok").nonce, Some(raw.to_vec()));
        // Empty or too long: malformed.
        assert!(with(&[0x04, 0x00]).is_err());
        assert!(with(&[]).is_err());
        assert!(with(&nonce_extension_value(&[1; 129]).expect("v")).is_err());
        assert!(with(&[9; 129]).is_err());
        // Repeated nonce: malformed. Other extensions, critical or not: ignored.
        let v = nonce_extension_value(&[1; 16]).expect("v");
        let twice = [
            (oid::OCSP_NONCE, false, v.as_slice()),
            (oid::OCSP_NONCE, false, v.as_slice()),
        ];
        assert!(parse_request(&request_with_extensions(ids, &twice)).is_err());
        let other = [
            (oid::OCSP_BASIC, true, &b"\x05\x00"[..]),
            (oid::OCSP_NONCE, false, v.as_slice()),
        ];
        assert_eq!(
            parse_request(&request_with_extensions(ids, &other)).expect("ok").nonce,
            Some(v.clone())
        );
        assert_eq!(
            parse_request(&request_with_extensions(ids, &[])).expect("ok").nonce,
            None
        );
    }

    #[test]
    fn bounds_on_size_and_count() {
        let id = issuer().cert_id(CertIdHash::Sha1, ee_serial());
        let ids = vec![id; MAX_CERT_IDS];
        assert_eq!(
            parse_request(&encode_request(&ids, None).expect("req"))
                .expect("64")
                .requests
                .len(),
            64
        );
        let mut more = ids.clone();
        more.push(more[0].clone());
        assert_eq!(
            parse_request(&encode_request(&more, None).expect("req")),
            Err(OcspError::Malformed("more than 64 CertIDs"))
        );
        assert!(parse_request(&encode_request(&[], None).expect("req")).is_err());
        let mut big = vec![0u8; MAX_REQUEST_LEN + 1];
        big[0] = 0x30;
        assert_eq!(
            parse_request(&big),
            Err(OcspError::Malformed("request larger than 64 KiB"))
        );
    }

    #[test]
    fn version_serial_and_trailing_data() {
        let list = &REQ_SHA256[4..];
        let with_version = |v: u8| tlv(0x30, &tlv(0x30, &[&[0xa0, 0x03, 0x02, 0x01, v][..], list].concat()));
        assert_eq!(
            parse_request(&with_version(1)),
            Err(OcspError::Malformed("unsupported request version"))
        );
        // An explicit v1 is not DER (DEFAULT), but tolerated.
        assert!(parse_request(&with_version(0)).is_ok());
        let mut trailing = REQ_SHA256.to_vec();
        trailing.push(0);
        assert!(parse_request(&trailing).is_err());
        // Negative serial: malformed (the serial is the last 8 content octets).
        let mut negative = REQ_SHA256.to_vec();
        let at = negative.len() - 8;
        negative[at] = 0x80;
        assert!(matches!(parse_request(&negative), Err(OcspError::Malformed(_))));
    }

    #[test]
    fn optional_signature_and_requestor_name_are_ignored() {
        // OCSPRequest { TBSRequest { [1] requestorName, requestList }, [0] EXPLICIT Signature }
        let list = &REQ_SHA256[4..];
        let name: &[u8] = &[0xa1, 0x06, 0x82, 0x04, b'a', b'.', b'j', b'p']; // [1] EXPLICIT dNSName
        let tbs = tlv(0x30, &[name, list].concat());
        let alg: &[u8] = &[
            0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00,
        ];
        let signature = tlv(0x30, &[alg, &tlv(0x03, &[0x00; 257])].concat());
        let der = tlv(0x30, &[tbs.as_slice(), &tlv(0xa0, &signature)].concat());
        let req = parse_request(&der).expect("signed request with requestorName parses");
        assert_eq!(req.requests[0].serial, ee_serial());
        // But a Signature that is not a SEQUENCE is malformed.
        let der = tlv(0x30, &[tbs.as_slice(), &tlv(0xa0, &[0x05, 0x00])].concat());
        assert!(parse_request(&der).is_err());
    }

    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        Length::try_from(content.len())
            .expect("len")
            .encode(&mut out)
            .expect("len");
        out.extend_from_slice(content);
        out
    }

    #[test]
    fn get_path_decoding() {
        use base64::engine::general_purpose::STANDARD;
        let b64 = STANDARD.encode(REQ_SHA1_NONCE);
        let escaped: String = b64
            .chars()
            .map(|c| match c {
                '+' => "%2B".to_owned(),
                '/' => "%2f".to_owned(),
                '=' => "%3D".to_owned(),
                c => c.to_string(),
            })
            .collect();
        assert_eq!(
            decode_get_path(&format!("/{escaped}")).expect("escaped"),
            REQ_SHA1_NONCE
        );
        assert_eq!(decode_get_path(&format!("/{b64}")).expect("raw"), REQ_SHA1_NONCE);
        assert_eq!(decode_get_path(&b64).expect("no slash"), REQ_SHA1_NONCE);
        let unpadded = b64.trim_end_matches('=');
        assert_eq!(
            decode_get_path(&format!("/{unpadded}")).expect("unpadded"),
            REQ_SHA1_NONCE
        );
        let url_safe = unpadded.replace('+', "-").replace('/', "_");
        assert_eq!(decode_get_path(&url_safe).expect("url-safe"), REQ_SHA1_NONCE);
        assert!(parse_request(&decode_get_path(&escaped).expect("der")).is_ok());
        for bad in ["", "/", "/%", "/%2", "/%zz", "/MEow?x=1", "/!!!!", "/A"] {
            assert!(decode_get_path(bad).is_err(), "{bad:?}");
        }
        assert!(decode_get_path(&"A".repeat(400_000)).is_err());
    }

    #[test]
    fn responder_checks_its_certificate() {
        let other = SoftwareKey::generate().expect("key");
        assert!(Responder::new(issuer(), RESPONDER.to_vec(), Arc::new(other)).is_err());
        // The EE certificate has no OCSPSigning EKU.
        let key = SoftwareKey::from_pkcs8(RESPONDER_KEY).expect("key");
        assert!(Responder::new(issuer(), EE.to_vec(), Arc::new(key)).is_err());
        assert!(OcspIssuer::new(b"not a certificate").is_err());
    }

    #[test]
    fn garbage_is_refused_without_panicking() {
        assert_eq!(parse_request(&[]), Err(OcspError::Malformed("empty request")));
        for n in 0..REQ_SHA1_NONCE.len() {
            assert!(parse_request(&REQ_SHA1_NONCE[..n]).is_err(), "prefix {n}");
        }
        for der in [
            &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff][..],
            &[0x30, 0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            &[0x30, 0x80, 0x30, 0x80, 0x00, 0x00, 0x00, 0x00],
            &[0x30, 0x82, 0x00, 0x02, 0x30, 0x00],
            &[0x30, 0x00],
            &[0x05, 0x00],
            &[0xff; 64],
        ] {
            assert!(parse_request(der).is_err(), "{der:02x?}");
            assert!(parse_response(der).is_err(), "{der:02x?}");
        }
        // 15 000 nested SEQUENCEs (about 60 KB, under the size limit).
        let mut nested: Vec<u8> = Vec::new();
        for _ in 0..15_000 {
            let len = Length::try_from(nested.len()).expect("len");
            let mut next = Vec::with_capacity(nested.len() + 6);
            next.push(0x30);
            len.encode(&mut next).expect("len");
            next.extend_from_slice(&nested);
            nested = next;
        }
        assert!(nested.len() <= MAX_REQUEST_LEN);
        assert!(parse_request(&nested).is_err());
        assert!(parse_response(&nested).is_err());
        // Deep nesting of explicit tags / indefinite lengths.
        let indefinite: Vec<u8> = std::iter::repeat_n([0x30u8, 0x80], 30_000).flatten().collect();
        assert!(parse_request(&indefinite).is_err());
        assert!(parse_response(&indefinite).is_err());
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_request(&bytes);
            let _ = parse_response(&bytes);
            if let Ok(text) = std::str::from_utf8(&bytes) {
                let _ = decode_get_path(text);
            }
        }

        #[test]
        fn random_sequences_never_panic(body in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut der = vec![0x30];
            Length::try_from(body.len()).expect("len").encode(&mut der).expect("len");
            der.extend_from_slice(&body);
            let _ = parse_request(&der);
            let _ = parse_response(&der);
        }

        #[test]
        fn single_byte_mutations_never_panic(at in 0..REQ_SHA1_NONCE.len(), value in any::<u8>()) {
            let mut der = REQ_SHA1_NONCE.to_vec();
            der[at] = value;
            if let Ok(req) = parse_request(&der) {
                prop_assert!(!req.requests.is_empty() && req.requests.len() <= MAX_CERT_IDS);
                if let Some(n) = &req.nonce {
                    let len = nonce_value(n).len();
                    prop_assert!((1..=MAX_NONCE_LEN).contains(&len));
                }
            }
        }

        #[test]
        fn response_mutations_never_panic(at in 0..2000usize, value in any::<u8>()) {
            static RESPONSE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
            let good = RESPONSE.get_or_init(|| {
                let id = issuer().cert_id(CertIdHash::Sha1, ee_serial());
                let status = SingleStatus::Revoked { at: t(1), reason: Some(CrlReason::CertificateHold) };
                responder().respond_one(&id, status, t(2), t(2), Some(t(3)), Some(&[4, 1, 9])).expect("respond")
            });
            let mut der = good.clone();
            let at = at % der.len();
            der[at] = value;
            if let Ok(p) = parse_response(&der) {
                let _ = p.verify_signature(&spki_of(RESPONDER));
                let _ = p.responder_certificate();
            }
        }

        #[test]
        fn encode_parse_round_trip(serials in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..20), 1..8),
                                   nonce in proptest::collection::vec(any::<u8>(), 1..=128usize), sha256 in any::<bool>()) {
            let i = issuer();
            let hash = if sha256 { CertIdHash::Sha256 } else { CertIdHash::Sha1 };
            let ids: Vec<CertId> = serials
                .iter()
                .map(|s| {
                    let hex: String = s.iter().map(|b| format!("{b:02x}")).collect();
                    i.cert_id(hash, Serial::from_hex(&hex).expect("serial"))
                })
                .collect();
            let ext = nonce_extension_value(&nonce).expect("nonce");
            let req = parse_request(&encode_request(&ids, Some(&ext)).expect("req")).expect("parse");
            prop_assert_eq!(&req.requests, &ids);
            prop_assert_eq!(req.nonce.as_deref(), Some(ext.as_slice()));
            prop_assert!(req.requests.iter().all(|id| i.matches(id)));
        }
    }
}
