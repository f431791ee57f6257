//! Fuzzes the OCSP request parser and the GET path decoder: neither may panic,
//! and whatever parses must respect the documented bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mynacard_pki::ocsp::{decode_get_path, nonce_value, parse_request, MAX_CERT_IDS, MAX_NONCE_LEN};

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = parse_request(data) {
        assert!(!req.requests.is_empty() && req.requests.len() <= MAX_CERT_IDS);
        if let Some(n) = &req.nonce {
            assert!((1..=MAX_NONCE_LEN).contains(&nonce_value(n).len()));
        }
    }
    if let Ok(path) = std::str::from_utf8(data) {
        if let Ok(der) = decode_get_path(path) {
            let _ = parse_request(&der);
        }
    }
});
