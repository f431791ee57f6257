//! Card image decoding: never panics, and what decodes encodes back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mynacard_card::CardImage;

fuzz_target!(|data: &[u8]| {
    if let Ok(image) = CardImage::decode(data) {
        assert_eq!(CardImage::decode(&image.encode()).expect("round trip"), image);
    }
});
