//! Property tests: random bytes and random command sequences never panic,
//! never return private-key material, and never raise a try counter except
//! by a right PIN or an authorised reset; a wrong PIN costs exactly one try.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::sync::OnceLock;

use common::*;
use mynacard_card::admin::ManagementSession;
use mynacard_card::apdu::Command;
use mynacard_card::crypto::digest_info;
use mynacard_card::layout::{self, input_support as kenhojo, jpki, resident_registry, surface as kenkaku, Application};
use mynacard_card::{Card, MemoryStorage};
use proptest::prelude::*;
use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::PrivateKeyParts;

const WINDOW: usize = 12;

/// Every 12-byte window of every private number of both card keys, and of
/// the management key.
fn secrets() -> &'static HashSet<[u8; WINDOW]> {
    static SECRETS: OnceLock<HashSet<[u8; WINDOW]>> = OnceLock::new();
    SECRETS.get_or_init(|| {
        let mut numbers: Vec<Vec<u8>> = Vec::new();
        for der in [AUTH_KEY, SIGN_KEY] {
            let key = rsa::PrivateKey::from_pkcs8_der(der).expect("key");
            numbers.push(key.d().to_be_bytes().to_vec());
            for p in key.primes() {
                numbers.push(p.to_be_bytes().to_vec());
            }
            numbers.extend(key.dp().map(|v| v.to_be_bytes().to_vec()));
            numbers.extend(key.dq().map(|v| v.to_be_bytes().to_vec()));
            numbers.extend(key.crt_coefficient().map(|v| v.to_be_bytes().to_vec()));
        }
        numbers.push(management_key().expose().to_vec());
        let mut set = HashSet::new();
        for n in numbers {
            let skip = n.iter().take_while(|b| **b == 0).count();
            for w in n[skip..].windows(WINDOW) {
                set.insert(<[u8; WINDOW]>::try_from(w).expect("window"));
            }
        }
        set
    })
}

fn leaks(response: &[u8]) -> bool {
    response
        .windows(WINDOW)
        .any(|w| secrets().contains(&<[u8; WINDOW]>::try_from(w).expect("window")))
}

/// Every PIN's tries left.
fn counters(card: &Card<MemoryStorage>) -> BTreeMap<(Application, u16), u8> {
    layout::pins()
        .map(|(app, fid, _)| ((app, fid), tries(card, app, fid)))
        .collect()
}

/// The value each PIN of the personalised card has.
fn right_pins() -> BTreeMap<(Application, u16), Vec<u8>> {
    [
        (Application::Jpki, jpki::AUTH_PIN, AUTH_PIN),
        (Application::Jpki, jpki::SIGN_PIN, SIGN_PIN),
        (Application::InputSupport, kenhojo::PIN, INPUT_PIN),
        (Application::InputSupport, kenhojo::PIN_A, MY_NUMBER.as_bytes()),
        (Application::InputSupport, kenhojo::PIN_B, PIN_B),
        (Application::Surface, kenkaku::BIRTH_PIN, BIRTH_PIN),
        (Application::Surface, kenkaku::PIN_A, MY_NUMBER.as_bytes()),
        (Application::Surface, kenkaku::PIN_B, PIN_B),
        (Application::ResidentRegistry, resident_registry::PIN, REGISTRY_PIN),
    ]
    .into_iter()
    .map(|(a, f, v)| ((a, f), v.to_vec()))
    .collect()
}

#[derive(Debug, Clone)]
enum Op {
    SelectApp(usize),
    SelectEf(u16),
    /// READ BINARY of an EF of the layout (its application selected first if need be).
    Read {
        file: usize,
        by_sfi: bool,
        offset: u16,
        le: usize,
    },
    /// VERIFY of a PIN (its application selected first if need be), by SFI or current EF.
    Verify {
        pin: usize,
        by_sfi: bool,
        entry: Entry,
    },
    /// CHANGE REFERENCE DATA of a PIN, after a right VERIFY if `login`.
    Change {
        pin: usize,
        login: bool,
        value: NewValue,
    },
    /// COMPUTE DIGITAL SIGNATURE with the auth (false) or signature (true)
    /// key, after a right VERIFY if `login`.
    Sign {
        sign_key: bool,
        login: bool,
        by_sfi: bool,
        data: Vec<u8>,
    },
    /// Wrong entries in a row.
    Hammer {
        pin: usize,
        times: u8,
    },
    GetChallenge,
    ExternalAuthenticate(Vec<u8>),
    Management {
        ins: u8,
        p1: u8,
        p2: u8,
        data: Vec<u8>,
    },
    /// An authorised reset through a real management session.
    WindowReset {
        pin: usize,
    },
    Reset,
    PowerCycle,
    Raw(Vec<u8>),
}

#[derive(Debug, Clone)]
enum Entry {
    Right,
    Wrong(Vec<u8>),
    Empty,
}

#[derive(Debug, Clone)]
enum NewValue {
    /// A value in the PIN's format.
    Valid,
    Random(Vec<u8>),
}

fn pins() -> Vec<(Application, u16)> {
    layout::pins().map(|(a, f, _)| (a, f)).collect()
}

fn valid_value(format: layout::PinFormat) -> Vec<u8> {
    match format {
        layout::PinFormat::FourDigits => b"0852".to_vec(),
        layout::PinFormat::SignPassword => b"NEW2PASS".to_vec(),
        layout::PinFormat::MyNumber => MY_NUMBER.as_bytes().to_vec(),
        layout::PinFormat::Digits(n) => vec![b'7'; usize::from(n)],
    }
}

fn op() -> impl Strategy<Value = Op> {
    let n_pins = pins().len();
    let n_files = layout::FILES.len();
    let entry = prop_oneof![
        3 => Just(Entry::Right),
        3 => proptest::collection::vec(any::<u8>(), 1..20).prop_map(Entry::Wrong),
        1 => Just(Entry::Empty),
    ];
    let new_value = prop_oneof![
        Just(NewValue::Valid),
        proptest::collection::vec(any::<u8>(), 0..18).prop_map(NewValue::Random),
    ];
    let sign_data = prop_oneof![
        proptest::collection::vec(any::<u8>(), 32).prop_map(|d| digest_info::wrap(&digest_info::SHA256, &d)),
        proptest::collection::vec(any::<u8>(), 20).prop_map(|d| digest_info::wrap(&digest_info::SHA1, &d)),
        proptest::collection::vec(any::<u8>(), 0..250),
    ];
    prop_oneof![
        2 => (0usize..5).prop_map(Op::SelectApp),
        2 => prop_oneof![(1u16..0x1F), any::<u16>()].prop_map(Op::SelectEf),
        4 => (0..n_files, any::<bool>(), prop_oneof![0u16..300, 1500u16..1600, any::<u16>()], prop_oneof![Just(256usize), Just(65536), 1usize..300])
            .prop_map(|(file, by_sfi, offset, le)| Op::Read { file, by_sfi, offset, le }),
        8 => (0..n_pins, any::<bool>(), entry).prop_map(|(pin, by_sfi, entry)| Op::Verify { pin, by_sfi, entry }),
        2 => (0..n_pins, any::<bool>(), new_value).prop_map(|(pin, login, value)| Op::Change { pin, login, value }),
        3 => (any::<bool>(), any::<bool>(), any::<bool>(), sign_data)
            .prop_map(|(sign_key, login, by_sfi, data)| Op::Sign { sign_key, login, by_sfi, data }),
        1 => (0..n_pins, 1u8..12).prop_map(|(pin, times)| Op::Hammer { pin, times }),
        1 => Just(Op::GetChallenge),
        1 => proptest::collection::vec(any::<u8>(), 0..60).prop_map(Op::ExternalAuthenticate),
        1 => (prop::sample::select(mynacard_card::admin::ins::ALL.to_vec()), any::<u8>(), any::<u8>(), proptest::collection::vec(any::<u8>(), 0..40))
            .prop_map(|(ins, p1, p2, data)| Op::Management { ins, p1, p2, data }),
        1 => (0..n_pins).prop_map(|pin| Op::WindowReset { pin }),
        1 => Just(Op::Reset),
        1 => Just(Op::PowerCycle),
        2 => proptest::collection::vec(any::<u8>(), 0..40).prop_map(Op::Raw),
    ]
}

/// SELECT of `app` unless it is the current application.
fn enter(card: &Card<MemoryStorage>, app: Application) -> Vec<Vec<u8>> {
    if card.selection().0 == Some(app) {
        Vec::new()
    } else {
        vec![apdu(0x00, 0xA4, 0x04, 0x0C, app.aid(), None)]
    }
}

fn apdu(cla: u8, ins: u8, p1: u8, p2: u8, data: &[u8], le: Option<usize>) -> Vec<u8> {
    Command::encode(cla, ins, p1, p2, data, le)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_get_a_status_word(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut card = card();
        let before = counters(&card);
        let response = card.process(&bytes);
        prop_assert!(response.len() >= 2);
        prop_assert!(!leaks(&response));
        prop_assert_eq!(counters(&card), before);
    }

    #[test]
    fn random_bytes_after_a_selection(app in 0usize..4, fid in 1u16..0x1F, bytes in proptest::collection::vec(any::<u8>(), 4..300)) {
        let mut card = card();
        select_app(&mut card, Application::ALL[app]);
        let _ = select_ef(&mut card, fid);
        let response = card.process(&bytes);
        prop_assert!(response.len() >= 2);
        prop_assert!(!leaks(&response));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn random_sessions_keep_the_invariants(ops in proptest::collection::vec(op(), 1..40)) {
        let mut card = card();
        let pin_list = pins();
        let mut right = right_pins();
        for op in ops {
            let apdus: Vec<Vec<u8>> = match &op {
                Op::SelectApp(i) => {
                    let aid: Vec<u8> = match Application::ALL.get(*i) {
                        Some(a) => a.aid().to_vec(),
                        None => vec![0xA0, 0, 0, 0, 0x79, 1, 0],
                    };
                    vec![apdu(0x00, 0xA4, 0x04, 0x0C, &aid, None)]
                }
                Op::SelectEf(fid) => vec![apdu(0x00, 0xA4, 0x02, 0x0C, &fid.to_be_bytes(), None)],
                Op::Read { file, by_sfi, offset, le } => {
                    let spec = &layout::FILES[*file];
                    let mut apdus = enter(&card, spec.app);
                    if *by_sfi {
                        apdus.push(apdu(0x00, 0xB0, 0x80 | spec.fid as u8, *offset as u8, &[], Some(*le)));
                    } else {
                        apdus.push(apdu(0x00, 0xA4, 0x02, 0x0C, &spec.fid.to_be_bytes(), None));
                        apdus.push(apdu(0x00, 0xB0, (offset >> 8) as u8, *offset as u8, &[], Some(*le)));
                    }
                    apdus
                }
                Op::Verify { pin, by_sfi, entry } => {
                    let (pin_app, fid) = pin_list[*pin];
                    let data = match entry {
                        Entry::Right => right[&(pin_app, fid)].clone(),
                        Entry::Wrong(v) => v.clone(),
                        Entry::Empty => Vec::new(),
                    };
                    let mut apdus = enter(&card, pin_app);
                    if *by_sfi {
                        apdus.push(apdu(0x00, 0x20, 0x00, 0x80 | fid as u8, &data, None));
                    } else {
                        apdus.push(apdu(0x00, 0xA4, 0x02, 0x0C, &fid.to_be_bytes(), None));
                        apdus.push(apdu(0x00, 0x20, 0x00, 0x80, &data, None));
                    }
                    apdus
                }
                Op::Change { pin, login, value } => {
                    let (pin_app, fid) = pin_list[*pin];
                    let value = match value {
                        NewValue::Valid => valid_value(layout::pin_spec(pin_app, fid).expect("spec").format),
                        NewValue::Random(v) => v.clone(),
                    };
                    let mut apdus = Vec::new();
                    if *login {
                        apdus.extend(enter(&card, pin_app));
                        apdus.push(apdu(0x00, 0x20, 0x00, 0x80 | fid as u8, &right[&(pin_app, fid)], None));
                    }
                    apdus.push(apdu(0x00, 0x24, 0x01, 0x80 | fid as u8, &value, None));
                    apdus
                }
                Op::Hammer { pin, times } => {
                    let (pin_app, fid) = pin_list[*pin];
                    let mut apdus = enter(&card, pin_app);
                    for _ in 0..*times {
                        apdus.push(apdu(0x00, 0x20, 0x00, 0x80 | fid as u8, b"X", None));
                    }
                    apdus
                }
                Op::Sign { sign_key, login, by_sfi, data } => {
                    let (fid, pin) = if *sign_key { (jpki::SIGN_KEY, jpki::SIGN_PIN) } else { (jpki::AUTH_KEY, jpki::AUTH_PIN) };
                    let mut apdus = enter(&card, Application::Jpki);
                    if *login {
                        apdus.push(apdu(0x00, 0x20, 0x00, 0x80 | pin as u8, &right[&(Application::Jpki, pin)], None));
                    }
                    if *by_sfi {
                        apdus.push(apdu(0x80, 0x2A, 0x00, 0x80 | fid as u8, data, Some(256)));
                    } else {
                        apdus.push(apdu(0x00, 0xA4, 0x02, 0x0C, &fid.to_be_bytes(), None));
                        apdus.push(apdu(0x80, 0x2A, 0x00, 0x80, data, Some(256)));
                    }
                    apdus
                }
                Op::GetChallenge => vec![apdu(0x00, 0x84, 0x00, 0x00, &[], Some(16))],
                Op::ExternalAuthenticate(data) => vec![apdu(0x80, 0x82, 0x00, 0x00, data, Some(32))],
                Op::Management { ins, p1, p2, data } => vec![apdu(0x84, *ins, *p1, *p2, data, Some(65536))],
                Op::Raw(bytes) => vec![bytes.clone()],
                Op::WindowReset { pin } => {
                    // An authorised reset through a real management session.
                    let id = pin_list[*pin];
                    let before = counters(&card);
                    let mut session = ManagementSession::open(&mut card, &management_key()).expect("session");
                    let value = right_pins()[&id].clone();
                    session.set_pin(&mut card, id.0, id.1, &value).expect("authorised reset");
                    right.insert(id, value);
                    let after = counters(&card);
                    for (other, n) in &after {
                        if *other != id {
                            prop_assert_eq!(*n, before[other]);
                        }
                    }
                    prop_assert_eq!(after[&id], layout::pin_spec(id.0, id.1).expect("spec").limit);
                    continue;
                }
                Op::Reset => {
                    card.reset();
                    continue;
                }
                Op::PowerCycle => {
                    card.power_off();
                    card.power_on();
                    continue;
                }
            };
            for bytes in apdus {
                // What this APDU may do to a counter, from the card's selection.
                let (app, ef) = card.selection();
                let parsed = Command::parse(&bytes).ok();
                let target = parsed.and_then(|c| {
                    let fid = match c.p2 {
                        0x80 => ef?,
                        0x81..=0x9E => u16::from(c.p2 & 0x1F),
                        _ => return None,
                    };
                    let app = app?;
                    layout::pin_spec(app, fid).map(|_| (app, fid))
                });
                let kind = parsed.map(|c| (c.cla, c.ins, c.p1, c.data.to_vec()));
                let before = counters(&card);
                let response = card.process(&bytes);
                prop_assert!(response.len() >= 2, "{:?}", op);
                prop_assert!(!leaks(&response), "{:?} leaked key material", op);
                let ok = response == [0x90, 0x00];
                let after = counters(&card);
                let (mut restored, mut spent) = (None, None);
                match (kind, target) {
                    (Some((0x00, 0x20, 0x00, data)), Some(id)) if !data.is_empty() => {
                        if data == right[&id] {
                            restored = Some(id);
                        } else {
                            spent = Some(id);
                        }
                    }
                    (Some((0x00, 0x24, 0x01, data)), Some(id)) if ok => {
                        right.insert(id, data);
                        restored = Some(id);
                    }
                    _ => {}
                }
                for (id, n) in &after {
                    let was = before[id];
                    if Some(*id) == restored {
                        prop_assert!(*n == was || *n == layout::pin_spec(id.0, id.1).expect("spec").limit);
                    } else if Some(*id) == spent && was > 0 && response[response.len() - 2] == 0x63 {
                        prop_assert_eq!(*n, was - 1, "a wrong PIN costs exactly one try");
                    } else {
                        prop_assert_eq!(*n, was, "{:?} changed the counter of {:?}", op, id);
                    }
                }
            }
        }
    }

    #[test]
    fn a_wrong_pin_costs_exactly_one_try(pin in 0usize..9, guesses in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..20), 1..8)) {
        let mut card = card();
        let (app, fid) = pins()[pin];
        let right = right_pins()[&(app, fid)].clone();
        let limit = layout::pin_spec(app, fid).expect("spec").limit;
        select_app(&mut card, app);
        prop_assert_eq!(select_ef(&mut card, fid), 0x9000);
        let mut left = limit;
        for guess in guesses.into_iter().filter(|g| *g != right) {
            let sw = verify(&mut card, &guess);
            if left == 0 {
                prop_assert_eq!(sw, 0x6983);
            } else {
                left -= 1;
                prop_assert_eq!(sw, 0x63C0 | u16::from(left));
            }
            prop_assert_eq!(tries(&card, app, fid), left);
            prop_assert_eq!(verify(&mut card, b""), 0x63C0 | u16::from(left));
        }
        let sw = verify(&mut card, &right);
        prop_assert_eq!(sw, if left == 0 { 0x6983 } else { 0x9000 });
        prop_assert_eq!(tries(&card, app, fid), if left == 0 { 0 } else { limit });
    }
}
