//! Command APDU parsing: never panics; what parses encodes back to the same command.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mynacard_card::apdu::Command;

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = Command::parse(data) {
        let again = Command::encode(c.cla, c.ins, c.p1, c.p2, c.data, c.le);
        let back = Command::parse(&again).expect("an encoded command parses");
        assert_eq!(
            (back.cla, back.ins, back.p1, back.p2, back.data, back.le),
            (c.cla, c.ins, c.p1, c.p2, c.data, c.le)
        );
    }
});
