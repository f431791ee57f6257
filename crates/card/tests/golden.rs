//! Golden APDU traces: the exchanges card-interface.md describes, client by
//! client, as table-driven fixtures in tests/fixtures/traces/*.trace.
//!
//! Format, one item per line (`#` starts a comment):
//!
//! ```text
//! card personalised|face|blank   start over with a fresh card of that kind
//! reset | power-cycle            warm reset / power off then on
//! power-off | power-on           vpcd's control bytes 00 and 01
//! let NAME = <tokens>            name a byte string
//! > <tokens>                     send a command APDU
//! < <tokens>                     the exact response expected (data then SW)
//! tries <app> <FID> <n>          a PIN's counter, read from the card image
//! ```
//!
//! Tokens: hex bytes (`00A4` or `00 A4`), `$NAME`, `$NAME[a..b]`, `$NAME[a..]`
//! (decimal or 0x offsets) and, in responses only, `*N` for N bytes of any
//! value. Every `80 2A` that answers 9000 must carry a signature that
//! verifies, with the auth or the signature public key, over the data sent.
//! Named values come from tests/common (the personalised test card).

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{blank_card, card, face_card, fixture, tries};
use mynacard_card::layout::Application;
use mynacard_card::{Card, MemoryStorage};

fn to_hex(bytes: &[u8]) -> String {
    let text: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
    if text.len() > 120 {
        format!("{}…{} ({} bytes)", &text[..60], &text[text.len() - 40..], bytes.len())
    } else {
        text
    }
}

fn number(text: &str) -> Result<usize, String> {
    match text.strip_prefix("0x") {
        Some(h) => usize::from_str_radix(h, 16).map_err(|e| format!("{text}: {e}")),
        None => text.parse().map_err(|e| format!("{text}: {e}")),
    }
}

/// Expands tokens into bytes; `None` entries are wildcards.
fn expand(tokens: &[&str], names: &BTreeMap<String, Vec<u8>>, wildcards: bool) -> Result<Vec<Option<u8>>, String> {
    let mut out = Vec::new();
    for token in tokens {
        if let Some(rest) = token.strip_prefix('$') {
            let (name, range) = match rest.split_once('[') {
                Some((name, range)) => (name, Some(range.strip_suffix(']').ok_or(format!("bad slice {token}"))?)),
                None => (rest, None),
            };
            let value = names.get(name).ok_or(format!("unknown name {name}"))?;
            let slice = match range {
                None => &value[..],
                Some(range) => {
                    let (a, b) = range.split_once("..").ok_or(format!("bad slice {token}"))?;
                    let a = number(a)?;
                    let b = if b.is_empty() { value.len() } else { number(b)? };
                    value
                        .get(a..b)
                        .ok_or(format!("{token} is out of range ({} bytes)", value.len()))?
                }
            };
            out.extend(slice.iter().map(|b| Some(*b)));
        } else if let Some(n) = token.strip_prefix('*') {
            if !wildcards {
                return Err(format!("wildcard {token} in a command"));
            }
            out.extend(std::iter::repeat_n(None, number(n)?));
        } else {
            if token.len() % 2 != 0 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!("not hex: {token}"));
            }
            for i in (0..token.len()).step_by(2) {
                out.push(Some(
                    u8::from_str_radix(&token[i..i + 2], 16).map_err(|e| e.to_string())?,
                ));
            }
        }
    }
    Ok(out)
}

fn application(name: &str) -> Result<Application, String> {
    match name {
        "jpki" => Ok(Application::Jpki),
        "kenhojo" => Ok(Application::InputSupport),
        "kenkaku" => Ok(Application::Surface),
        "juki" => Ok(Application::ResidentRegistry),
        _ => Err(format!("unknown application {name}")),
    }
}

fn run_trace(path: &Path) -> Result<usize, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let mut names: BTreeMap<String, Vec<u8>> = fixture()
        .values
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let mut card: Card<MemoryStorage> = card();
    let mut last: Option<(Vec<u8>, Vec<u8>)> = None;
    let mut exchanges = 0;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let at = |e: String| format!("{}:{line_no}: {e}", path.display());
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        match words[0] {
            "card" => {
                card = match words.get(1).copied() {
                    Some("personalised") => common::card(),
                    Some("face") => face_card(),
                    Some("blank") => blank_card(),
                    other => return Err(at(format!("unknown card {other:?}"))),
                };
                last = None;
            }
            "reset" => card.reset(),
            "power-off" => card.power_off(),
            "power-on" => card.power_on(),
            "power-cycle" => {
                card.power_off();
                card.power_on();
            }
            "let" => {
                if words.get(2) != Some(&"=") {
                    return Err(at("let NAME = tokens".into()));
                }
                let bytes = expand(&words[3..], &names, false).map_err(at)?;
                names.insert(words[1].to_string(), bytes.into_iter().flatten().collect());
            }
            "tries" => {
                let [_, app, fid, n] = words[..] else {
                    return Err(at("tries <app> <FID> <n>".into()));
                };
                let app = application(app).map_err(at)?;
                let fid = u16::from_str_radix(fid, 16).map_err(|e| at(e.to_string()))?;
                let n: u8 = n.parse().map_err(|_| at("bad count".into()))?;
                let actual = tries(&card, app, fid);
                if actual != n {
                    return Err(at(format!("tries left {actual}, expected {n}")));
                }
            }
            ">" => {
                let command: Vec<u8> = expand(&words[1..], &names, false)
                    .map_err(at)?
                    .into_iter()
                    .flatten()
                    .collect();
                let response = card.process(&command);
                last = Some((command, response));
            }
            "<" => {
                let expected = expand(&words[1..], &names, true).map_err(at)?;
                let (command, response) = last.take().ok_or_else(|| at("a response without a command".into()))?;
                let matches = expected.len() == response.len()
                    && expected.iter().zip(&response).all(|(e, r)| e.is_none_or(|e| e == *r));
                if !matches {
                    let shown: Vec<u8> = expected.iter().map(|e| e.unwrap_or(0xEE)).collect();
                    return Err(at(format!(
                        "command {}\n  expected {}\n  got      {}",
                        to_hex(&command),
                        to_hex(&shown),
                        to_hex(&response)
                    )));
                }
                if command.get(..2) == Some(&[0x80, 0x2A]) && response.ends_with(&[0x90, 0x00]) {
                    let parsed = mynacard_card::Command::parse(&command).map_err(|e| at(format!("{e:?}")))?;
                    let signature = &response[..response.len() - 2];
                    let f = fixture();
                    if !(f.auth_public.verify_padded(parsed.data, signature)
                        || f.sign_public.verify_padded(parsed.data, signature))
                    {
                        return Err(at("the signature does not verify".into()));
                    }
                }
                exchanges += 1;
            }
            other => return Err(at(format!("unknown directive {other}"))),
        }
        if last.is_some() && words[0] != ">" {
            return Err(at("a command without its expected response".into()));
        }
    }
    if last.is_some() {
        return Err(format!("{}: ends with a command without its response", path.display()));
    }
    Ok(exchanges)
}

#[test]
fn golden_traces() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/traces");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("traces directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "trace"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 10, "the traces are there");
    let mut failures = Vec::new();
    let mut total = 0;
    for path in &paths {
        match run_trace(path) {
            Ok(n) => {
                assert!(n > 0, "{} has exchanges", path.display());
                total += n;
            }
            Err(e) => failures.push(e),
        }
    }
    assert!(
        failures.is_empty(),
        "{} trace(s) failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    println!("{} traces, {total} exchanges", paths.len());
}

#[test]
fn the_harness_catches_a_wrong_answer() {
    let dir = std::env::temp_dir().join(format!("mynacard-golden-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let cases = [
        ("> 00 A4 04 0C 0A $AID_JPKI\n< 6A82\n", "expected"),
        ("> 00 A4 04 0C 0A $AID_JPKI\n", "without its response"),
        (
            "> 00 A4 04 0C 0A $AID_JPKI\n< 9000\ntries jpki 0018 2\n",
            "tries left 3",
        ),
        ("> 00 A4 04 0C 0A $NOPE\n< 9000\n", "unknown name"),
        (
            "> 00 A4 04 0C 0A $AID_JPKI\n< 9000\n> 00 A4 02 0C 02 00 0A\n< 9000\n> 00 B0 00 00 04\n< *3 9000\n",
            "expected",
        ),
    ];
    for (i, (text, needle)) in cases.iter().enumerate() {
        let path = dir.join(format!("{i}.trace"));
        std::fs::write(&path, text).expect("write");
        let err = run_trace(&path).expect_err("must fail");
        assert!(err.contains(needle), "{err}");
    }
    std::fs::remove_dir_all(&dir).expect("cleanup");
}
