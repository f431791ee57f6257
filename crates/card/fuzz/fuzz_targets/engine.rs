//! The engine on a card with its PINs set: any sequence of APDUs (each
//! prefixed by its length byte) gets status words, never a panic, and never
//! raises a try counter (no right PIN is known to the fuzzer but by chance,
//! so a counter that goes up is a bug unless the APDU answered 9000).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mynacard_card::admin::ManagementSession;
use mynacard_card::layout::{self, Application};
use mynacard_card::{Card, CardImage, CardSerial, ManagementKey, MemoryStorage};

fn image() -> &'static Vec<u8> {
    static IMAGE: OnceLock<Vec<u8>> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let key = ManagementKey::from_bytes([7; 32]);
        let blank = CardImage::blank(CardSerial([1; 8]), key.clone());
        let mut card = Card::new(MemoryStorage::new(&blank)).expect("card");
        let mut s = ManagementSession::open(&mut card, &key).expect("session");
        for (app, fid, value) in [
            (Application::Jpki, layout::jpki::AUTH_PIN, &b"1234"[..]),
            (Application::Jpki, layout::jpki::SIGN_PIN, b"ABC123"),
            (Application::InputSupport, layout::input_support::PIN, b"5678"),
            (Application::ResidentRegistry, layout::resident_registry::PIN, b"2468"),
        ] {
            s.set_pin(&mut card, app, fid, value).expect("pin");
        }
        card.image().expect("image").encode().to_vec()
    })
}

fn counters(card: &Card<MemoryStorage>) -> Vec<u8> {
    let image = card.image().expect("loaded");
    layout::pins()
        .map(|(a, f, _)| image.pin(a, f).map_or(0, |p| p.remaining()))
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let image = CardImage::decode(image()).expect("image");
    let mut card = Card::new(MemoryStorage::new(&image)).expect("card");
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        let take = usize::from(len).min(tail.len());
        let (apdu, tail) = tail.split_at(take);
        rest = tail;
        let before = counters(&card);
        let response = card.process(apdu);
        assert!(response.len() >= 2);
        let after = counters(&card);
        if response != [0x90, 0x00] {
            assert!(after.iter().zip(&before).all(|(a, b)| a <= b), "a counter went up");
        }
    }
});
