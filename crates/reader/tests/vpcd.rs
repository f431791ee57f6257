//! The card side of the vpcd protocol (card-interface.md §9) against a test
//! that plays pcscd's vpcd driver: it listens on 127.0.0.1 (a port of its
//! own, never 35963/35964) and the card, run by [`vpcd::run`] in a thread,
//! connects to it as a client.
//!
//! Every message is a 2-byte big-endian length and its payload. The 1-byte
//! control messages `00` (power off), `01` (power on) and `02` (reset) get
//! no reply, `04` gets the ATR; anything longer is an APDU that gets exactly
//! one response.
//!
//! The card is a real personalised one (keys made on the card by the
//! producer's line), in memory; its certificates are certificate-shaped
//! blobs that carry the public key, which is all the card checks.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use mynacard_card::crypto::RsaPublic;
use mynacard_card::input_support::{BasicFour, Sex};
use mynacard_card::{
    Card, CardImage, CardOrder, CardSerial, DeliveryPins, IssuedCertificate, JpkiKey, MemoryStorage, Producer,
    DEFAULT_ATR,
};
use mynacard_reader::vpcd::{self, Event, VpcdOptions};
use mynacard_rules::numbers::MyNumber;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use zeroize::Zeroizing;

const SIGN_PIN: &[u8] = b"ABC123";
const AUTH_PIN: &[u8] = b"1234";

const POWER_OFF: u8 = 0x00;
const POWER_ON: u8 = 0x01;
const RESET: u8 = 0x02;
const GET_ATR: u8 = 0x04;

/// Long enough for any reply on a loaded machine; a test that waits this
/// long has failed.
const PATIENCE: Duration = Duration::from_secs(10);
/// How long "no reply" is watched for.
const SILENCE: Duration = Duration::from_millis(300);

// ---------------------------------------------------------------------------
// The card

struct Fixture {
    /// The personalised image, encoded.
    image: Vec<u8>,
    /// The auth key's public key (SubjectPublicKeyInfo).
    auth_spki: Vec<u8>,
    /// The signature certificate as written (1800 bytes: over 256).
    sign_certificate: Vec<u8>,
}

/// A certificate-shaped blob: `30 82 HH LL`, the public key, filler.
fn fake_certificate(spki: &[u8], total: usize, seed: u8) -> Vec<u8> {
    let body = total - 4;
    let mut out = vec![0x30, 0x82, (body >> 8) as u8, body as u8];
    out.extend_from_slice(spki);
    let mut i = 0u8;
    while out.len() < total {
        out.push(i.wrapping_mul(31).wrapping_add(seed));
        i = i.wrapping_add(1);
    }
    out
}

fn pin(value: &[u8]) -> Option<Zeroizing<String>> {
    Some(Zeroizing::new(String::from_utf8(value.to_vec()).expect("ASCII PIN")))
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let producer = Producer::generate().expect("producer");
        let serial = CardSerial(*b"MNVPCD01");
        let blank = CardImage::blank(serial, producer.management_key(serial));
        let mut card = Card::new(MemoryStorage::new(&blank)).expect("blank card");
        let order = CardOrder {
            my_number: MyNumber::parse("123456789018").expect("My Number"),
            basic_four: BasicFour {
                name: "番号　花子".into(),
                address: "東京都千代田区霞が関２－１－２".into(),
                birth: NaiveDate::from_ymd_opt(1985, 4, 1).expect("date"),
                sex: Sex::Female,
            },
            expiry: NaiveDate::from_ymd_opt(2036, 4, 1).expect("date"),
            face_image: b"face".to_vec(),
            signature: true,
            face_recognition: false,
            pins: DeliveryPins {
                auth: pin(AUTH_PIN),
                sign: pin(SIGN_PIN),
                input_support: pin(b"5678"),
                registry: pin(b"2468"),
            },
        };
        let mut auth_spki = Vec::new();
        let mut sign_certificate = Vec::new();
        let mut issuer = |key: JpkiKey, spki: &[u8]| -> Result<IssuedCertificate, String> {
            let certificate = match key {
                JpkiKey::Auth => {
                    auth_spki = spki.to_vec();
                    fake_certificate(spki, 1500, 1)
                }
                JpkiKey::Sign => {
                    sign_certificate = fake_certificate(spki, 1800, 2);
                    sign_certificate.clone()
                }
            };
            Ok(IssuedCertificate {
                certificate,
                ca_certificate: fake_certificate(&[], 1200, 3),
            })
        };
        producer
            .personalise(&mut card, &order, &mut issuer)
            .expect("personalise");
        Fixture {
            image: card.image().expect("image").encode().to_vec(),
            auth_spki,
            sign_certificate,
        }
    })
}

fn fresh_card() -> Card<MemoryStorage> {
    let image = CardImage::decode(&fixture().image).expect("fixture image");
    Card::new(MemoryStorage::new(&image)).expect("card")
}

// ---------------------------------------------------------------------------
// The card's thread, the vpcd side

/// [`vpcd::run`] in a thread, with its events; stopped and joined on drop.
struct Running {
    stop: Arc<AtomicBool>,
    events: Arc<Mutex<Vec<Event>>>,
    handle: Option<JoinHandle<Result<(), String>>>,
}

impl Running {
    fn start(addr: String, options: VpcdOptions) -> Running {
        fixture();
        let stop = Arc::new(AtomicBool::new(false));
        let events = Arc::new(Mutex::new(Vec::new()));
        let handle = {
            let stop = Arc::clone(&stop);
            let events = Arc::clone(&events);
            std::thread::spawn(move || {
                let mut card = fresh_card();
                let mut on_event = |event: Event| {
                    events.lock().unwrap_or_else(PoisonError::into_inner).push(event);
                };
                vpcd::run(&mut card, &addr, &options, &stop, &mut on_event).map_err(|e| e.to_string())
            })
        };
        Running {
            stop,
            events,
            handle: Some(handle),
        }
    }

    fn events(&self) -> Vec<Event> {
        self.events.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn count(&self, wanted: &Event) -> usize {
        self.events().iter().filter(|e| *e == wanted).count()
    }

    fn is_finished(&self) -> bool {
        self.handle.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Waits for `run` to return by itself; its result.
    fn join_within(&mut self, limit: Duration) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        while !self.is_finished() {
            assert!(Instant::now() < deadline, "run() did not return within {limit:?}");
            std::thread::sleep(Duration::from_millis(5));
        }
        self.handle
            .take()
            .expect("a running card")
            .join()
            .expect("the card's thread did not panic")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

fn options() -> VpcdOptions {
    VpcdOptions {
        retry: Duration::from_millis(20),
        ..VpcdOptions::default()
    }
}

/// A listener on a port of its own, and the card started against it.
fn listen_and_start(options: VpcdOptions) -> (TcpListener, Running) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    (listener, Running::start(addr, options))
}

/// The card's next connection.
fn accept(listener: &TcpListener) -> Wire {
    listener.set_nonblocking(true).expect("nonblocking");
    let deadline = Instant::now() + PATIENCE;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).expect("blocking");
                stream.set_nodelay(true).expect("nodelay");
                stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
                return Wire(stream);
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => panic!("accept: {e}"),
        }
        assert!(Instant::now() < deadline, "the card did not connect");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Whether a connection comes within `wait`.
fn connects_within(listener: &TcpListener, wait: Duration) -> bool {
    listener.set_nonblocking(true).expect("nonblocking");
    let deadline = Instant::now() + wait;
    while Instant::now() < deadline {
        match listener.accept() {
            Ok(_) => return true,
            Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("accept: {e}"),
        }
    }
    false
}

/// The vpcd end of one connection.
struct Wire(TcpStream);

impl Wire {
    fn send(&mut self, payload: &[u8]) {
        let mut frame = u16::try_from(payload.len()).expect("length").to_be_bytes().to_vec();
        frame.extend_from_slice(payload);
        self.0.write_all(&frame).expect("send");
    }

    fn recv(&mut self) -> Vec<u8> {
        let mut header = [0u8; 2];
        self.0.read_exact(&mut header).expect("a reply's length");
        let mut payload = vec![0u8; usize::from(u16::from_be_bytes(header))];
        self.0.read_exact(&mut payload).expect("a reply's payload");
        payload
    }

    /// Nothing arrives for `wait`.
    fn assert_silent(&mut self, wait: Duration, after: &str) {
        self.0.set_read_timeout(Some(wait)).expect("timeout");
        let mut byte = [0u8; 1];
        match self.0.read(&mut byte) {
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Ok(0) => panic!("the card hung up after {after}"),
            Ok(_) => panic!("the card sent {byte:02X?}… after {after}, which gets no reply"),
            Err(e) => panic!("after {after}: {e}"),
        }
        self.0.set_read_timeout(Some(PATIENCE)).expect("timeout");
    }

    fn transmit(&mut self, apdu: &[u8]) -> Vec<u8> {
        self.send(apdu);
        self.recv()
    }

    fn sw(&mut self, apdu: &[u8]) -> u16 {
        sw(&self.transmit(apdu))
    }

    fn atr(&mut self) -> Vec<u8> {
        self.transmit(&[GET_ATR])
    }

    fn select_jpki(&mut self) {
        let mut apdu = vec![0x00, 0xA4, 0x04, 0x0C, 0x0A];
        apdu.extend_from_slice(&[0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01]);
        assert_eq!(self.sw(&apdu), 0x9000, "SELECT JPKI AP");
    }

    fn select_ef(&mut self, fid: u16) {
        let [hi, lo] = fid.to_be_bytes();
        assert_eq!(
            self.sw(&[0x00, 0xA4, 0x02, 0x0C, 0x02, hi, lo]),
            0x9000,
            "SELECT EF {fid:04X}"
        );
    }

    fn verify(&mut self, pin: &[u8]) -> u16 {
        let mut apdu = vec![0x00, 0x20, 0x00, 0x80, pin.len() as u8];
        apdu.extend_from_slice(pin);
        self.sw(&apdu)
    }
}

fn sw(response: &[u8]) -> u16 {
    assert!(response.len() >= 2, "no status word: {response:02X?}");
    u16::from_be_bytes([response[response.len() - 2], response[response.len() - 1]])
}

const SIGN_CERT: u16 = 0x0001;
const AUTH_KEY: u16 = 0x0017;
const AUTH_PIN_EF: u16 = 0x0018;
const SIGN_PIN_EF: u16 = 0x001B;
const READ_4: [u8; 5] = [0x00, 0xB0, 0x00, 0x00, 0x04];

// ---------------------------------------------------------------------------
// Tests

#[test]
fn get_atr_answers_the_default_atr_framed() {
    let (listener, running) = listen_and_start(options());
    let mut wire = accept(&listener);
    wire.send(&[POWER_ON]);
    wire.send(&[GET_ATR]);
    let mut raw = [0u8; 11];
    wire.0.read_exact(&mut raw).expect("the framed ATR");
    assert_eq!(raw, [0x00, 0x09, 0x3B, 0xE0, 0x00, 0xFF, 0x81, 0x31, 0xFE, 0x45, 0x14]);
    assert_eq!(raw[2..], DEFAULT_ATR);
    // Asked again (pcscd polls with 04 every 400 ms), the same answer.
    assert_eq!(wire.atr(), DEFAULT_ATR);
    wire.assert_silent(SILENCE, "the ATR");
    let events = running.events();
    assert_eq!(events.first(), Some(&Event::Inserted), "{events:?}");
    assert!(events.contains(&Event::PowerOn), "{events:?}");
}

#[test]
fn a_custom_atr_is_answered() {
    let atr = vec![
        0x3B, 0x8A, 0x80, 0x01, 0x4A, 0x50, 0x4B, 0x49, 0x2D, 0x54, 0x45, 0x53, 0x54, 0x72,
    ];
    let (listener, _running) = listen_and_start(VpcdOptions {
        atr: atr.clone(),
        ..options()
    });
    let mut wire = accept(&listener);
    wire.send(&[POWER_ON]);
    assert_eq!(wire.atr(), atr);
    // The card behind it is the same.
    wire.select_jpki();
}

#[test]
fn control_codes_get_no_reply_and_the_next_apdu_exactly_one() {
    let (listener, running) = listen_and_start(options());
    let mut wire = accept(&listener);
    for code in [POWER_OFF, POWER_ON, RESET, POWER_ON] {
        wire.send(&[code]);
    }
    wire.assert_silent(SILENCE, "00 01 02 01");
    // Codes the protocol does not define are ignored as well.
    for code in [0x03, 0x05, 0xFF] {
        wire.send(&[code]);
    }
    wire.assert_silent(SILENCE, "03 05 FF");
    wire.select_jpki();
    wire.assert_silent(SILENCE, "the reply to SELECT");
    assert_eq!(wire.atr(), DEFAULT_ATR, "the next frame is the ATR: nothing was queued");
    let events = running.events();
    for wanted in [
        Event::PowerOff,
        Event::PowerOn,
        Event::Reset,
        Event::Unknown(vec![0x03]),
    ] {
        assert!(events.contains(&wanted), "{wanted:?} not in {events:?}");
    }
    assert_eq!(running.count(&Event::PowerOn), 2, "{events:?}");
}

/// VERIFY the signature PIN, read the signature certificate; then the
/// control codes `codes`; then the PIN must be forgotten.
fn forgets_the_pin_on(codes: &[u8]) {
    let (listener, _running) = listen_and_start(options());
    let mut wire = accept(&listener);
    wire.send(&[POWER_ON]);
    wire.select_jpki();
    wire.select_ef(SIGN_PIN_EF);
    assert_eq!(wire.verify(SIGN_PIN), 0x9000);
    wire.select_ef(SIGN_CERT);
    let head = wire.transmit(&READ_4);
    assert_eq!(head, [0x30, 0x82, 0x07, 0x04, 0x90, 0x00], "read after the PIN");
    // Without a reset the PIN stays verified across SELECT EF.
    wire.select_ef(SIGN_PIN_EF);
    wire.select_ef(SIGN_CERT);
    assert_eq!(wire.sw(&READ_4), 0x9000);

    for code in codes {
        wire.send(&[*code]);
    }
    // Nothing is selected any more: the whole RAM state is gone.
    assert_eq!(wire.sw(&READ_4), 0x6986, "READ BINARY right after {codes:02X?}");
    // And the PIN is not verified. (Selecting the AP again would clear it
    // by itself; the 6986 above is what shows the control code did.)
    wire.select_jpki();
    wire.select_ef(SIGN_CERT);
    assert_eq!(wire.sw(&READ_4), 0x6982, "the signature certificate after {codes:02X?}");
    // The PIN's tries are untouched.
    wire.select_ef(SIGN_PIN_EF);
    assert_eq!(wire.sw(&[0x00, 0x20, 0x00, 0x80]), 0x63C5);
}

#[test]
fn reset_forgets_the_verified_pin() {
    forgets_the_pin_on(&[RESET]);
}

#[test]
fn power_off_forgets_the_verified_pin() {
    forgets_the_pin_on(&[POWER_OFF, POWER_ON]);
}

#[test]
fn extended_apdus_and_responses_over_256_bytes_pass() {
    let f = fixture();
    let (listener, _running) = listen_and_start(options());
    let mut wire = accept(&listener);
    wire.send(&[POWER_ON]);

    // Extended READ BINARY, Le = 65536: the whole certificate in one response.
    wire.select_jpki();
    wire.select_ef(SIGN_PIN_EF);
    assert_eq!(wire.verify(SIGN_PIN), 0x9000);
    wire.select_ef(SIGN_CERT);
    let response = wire.transmit(&[0x00, 0xB0, 0x00, 0x00, 0x00, 0x00, 0x00]);
    assert_eq!(response.len(), f.sign_certificate.len() + 2);
    assert_eq!(sw(&response), 0x9000);
    assert_eq!(&response[..response.len() - 2], f.sign_certificate.as_slice());

    // An extended COMPUTE DIGITAL SIGNATURE: 245 bytes in, 256 + SW out.
    wire.select_jpki();
    wire.select_ef(AUTH_PIN_EF);
    assert_eq!(wire.verify(AUTH_PIN), 0x9000);
    wire.select_ef(AUTH_KEY);
    let data: Vec<u8> = (0..245u32).map(|i| (i * 7 + 3) as u8).collect();
    let mut apdu = vec![0x80, 0x2A, 0x00, 0x80, 0x00, 0x00, 245];
    apdu.extend_from_slice(&data);
    apdu.extend_from_slice(&[0x00, 0x00]);
    let response = wire.transmit(&apdu);
    assert_eq!(response.len(), 258);
    assert_eq!(sw(&response), 0x9000);
    let public = RsaPublic::from_spki(&f.auth_spki).expect("auth public key");
    assert!(
        public.verify_padded(&data, &response[..256]),
        "the signature over exactly the bytes sent"
    );

    // An APDU of 309 bytes (300 of data: more than the card signs) gets
    // exactly one reply, and the stream stays in step.
    let mut apdu = vec![0x80, 0x2A, 0x00, 0x80, 0x00, 0x01, 0x2C];
    apdu.extend(std::iter::repeat_n(0x5A, 300));
    apdu.extend_from_slice(&[0x00, 0x00]);
    assert!(apdu.len() > 255);
    assert_eq!(wire.transmit(&apdu), [0x67, 0x00]);
    wire.assert_silent(SILENCE, "the reply to a 309-byte APDU");
    wire.select_ef(AUTH_PIN_EF);
    assert_eq!(wire.sw(&[0x00, 0x20, 0x00, 0x80]), 0x63C3);

    // The longest frame vpcd can send: one reply.
    let mut apdu = vec![0x00, 0xA4, 0x04, 0x0C, 0x00, 0xFF, 0xF8];
    apdu.extend(std::iter::repeat_n(0xA5, 0xFFF8));
    assert_eq!(apdu.len(), 0xFFFF);
    assert_eq!(wire.transmit(&apdu), [0x6A, 0x82]);
    assert_eq!(wire.atr(), DEFAULT_ATR);
}

/// A port that was free a moment ago.
fn free_port() -> u16 {
    let probe = TcpListener::bind("127.0.0.1:0").expect("bind");
    probe.local_addr().expect("addr").port()
}

#[test]
fn the_card_retries_until_the_port_opens() {
    let port = free_port();
    let running = Running::start(format!("127.0.0.1:{port}"), options());
    // The card tries every 20 ms against a closed port meanwhile.
    std::thread::sleep(Duration::from_millis(400));
    assert!(!running.is_finished(), "run() gave up on a closed port");
    assert_eq!(running.count(&Event::Inserted), 0);
    let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind the port the card waits for");
    let mut wire = accept(&listener);
    wire.send(&[POWER_ON]);
    assert_eq!(wire.atr(), DEFAULT_ATR);
    wire.select_jpki();
    assert_eq!(running.count(&Event::Inserted), 1);
}

#[test]
fn after_vpcd_hangs_up_the_card_is_inserted_again() {
    let (listener, running) = listen_and_start(options());
    let mut first = accept(&listener);
    first.send(&[POWER_ON]);
    first.select_jpki();
    first.select_ef(SIGN_PIN_EF);
    assert_eq!(first.verify(b"WRONG1"), 0x63C4, "one try spent");
    assert_eq!(first.verify(SIGN_PIN), 0x9000);
    assert_eq!(first.verify(b"WRONG1"), 0x63C4);
    drop(first);

    let mut second = accept(&listener);
    second.send(&[POWER_ON]);
    // Removal cleared the RAM: nothing selected, nothing verified…
    assert_eq!(second.sw(&READ_4), 0x6986);
    second.select_jpki();
    second.select_ef(SIGN_CERT);
    assert_eq!(second.sw(&READ_4), 0x6982);
    // …and the storage is the card's own: the try spent is still spent.
    second.select_ef(SIGN_PIN_EF);
    assert_eq!(second.sw(&[0x00, 0x20, 0x00, 0x80]), 0x63C4);
    let events = running.events();
    assert_eq!(running.count(&Event::Inserted), 2, "{events:?}");
    let removed = events.iter().position(|e| *e == Event::Removed).expect("removed");
    let inserted: Vec<usize> = (0..events.len()).filter(|&i| events[i] == Event::Inserted).collect();
    assert!(inserted[0] < removed && removed < inserted[1], "{events:?}");
}

#[test]
fn without_reinsert_run_returns_when_vpcd_hangs_up() {
    let (listener, mut running) = listen_and_start(VpcdOptions {
        reinsert: false,
        ..options()
    });
    let mut wire = accept(&listener);
    wire.send(&[POWER_ON]);
    assert_eq!(wire.atr(), DEFAULT_ATR);
    drop(wire);
    assert_eq!(running.join_within(PATIENCE), Ok(()));
    assert!(
        !connects_within(&listener, Duration::from_millis(300)),
        "inserted again"
    );
    let events = running.events();
    assert_eq!(events.last(), Some(&Event::Removed), "{events:?}");
    assert_eq!(running.count(&Event::Inserted), 1);
}

#[test]
fn the_stop_flag_ends_run_while_inserted() {
    let (listener, mut running) = listen_and_start(options());
    let mut wire = accept(&listener);
    wire.send(&[POWER_ON]);
    assert_eq!(wire.atr(), DEFAULT_ATR);
    running.stop.store(true, Ordering::Relaxed);
    assert_eq!(running.join_within(Duration::from_secs(3)), Ok(()));
    // The card let go of the connection.
    let mut byte = [0u8; 1];
    assert_eq!(wire.0.read(&mut byte).expect("EOF"), 0);
    assert_eq!(running.events().last(), Some(&Event::Removed));
}

#[test]
fn the_stop_flag_ends_run_while_waiting_for_the_port() {
    let port = free_port();
    let mut running = Running::start(format!("127.0.0.1:{port}"), options());
    std::thread::sleep(Duration::from_millis(100));
    running.stop.store(true, Ordering::Relaxed);
    assert_eq!(running.join_within(Duration::from_secs(3)), Ok(()));
    assert!(running.events().is_empty());
}

#[test]
fn a_bad_address_is_an_error() {
    let mut running = Running::start("127.0.0.1:not-a-port".into(), options());
    let result = running.join_within(PATIENCE);
    assert!(result.is_err(), "{result:?}");
}

/// A frame of 1 to 300 bytes: random bytes, or a command header the card
/// knows followed by random bytes.
fn frame() -> impl Strategy<Value = Vec<u8>> {
    let known: &[[u8; 2]] = &[
        [0x00, 0xA4],
        [0x00, 0xB0],
        [0x00, 0x20],
        [0x00, 0x24],
        [0x00, 0x84],
        [0x80, 0x2A],
        [0x80, 0x82],
        [0x80, 0xCA],
        [0x84, 0x46],
        [0x84, 0xD6],
    ];
    prop_oneof![
        prop::collection::vec(any::<u8>(), 1..=300),
        (prop::sample::select(known), prop::collection::vec(any::<u8>(), 0..=298)).prop_map(|(header, tail)| [
            &header[..],
            &tail
        ]
        .concat()),
    ]
}

fn is_status_word(sw1: u8) -> bool {
    sw1 == 0x90 || (0x61..=0x6F).contains(&sw1)
}

#[test]
fn random_frames_never_break_the_loop() {
    let (listener, running) = listen_and_start(options());
    let mut runner = TestRunner::new(Config {
        cases: 64,
        failure_persistence: None,
        ..Config::default()
    });
    // Each case is one insertion: the card comes back after every hang-up.
    let result = runner.run(&prop::collection::vec(frame(), 1..40), |frames| {
        let mut wire = accept(&listener);
        for frame in &frames {
            wire.send(frame);
            match frame.as_slice() {
                [GET_ATR] => prop_assert_eq!(wire.recv(), DEFAULT_ATR.to_vec()),
                // Control codes and unknown one-byte messages: no reply.
                [_] => {}
                _ => {
                    let reply = wire.recv();
                    prop_assert!(reply.len() >= 2, "reply {:02X?} to {:02X?}", reply, frame);
                    prop_assert!(
                        is_status_word(reply[reply.len() - 2]),
                        "reply {:02X?} to {:02X?}",
                        reply,
                        frame
                    );
                }
            }
        }
        // Exactly one reply each: the next frame to come is the ATR.
        prop_assert_eq!(wire.atr(), DEFAULT_ATR.to_vec(), "after {:02X?}", frames);
        if running.is_finished() {
            return Err(TestCaseError::fail("run() ended"));
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    assert!(!running.is_finished(), "the loop survived every frame");
}
