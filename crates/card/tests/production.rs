//! The producer's directory: created once, read back the same, safe when
//! several production runs start together.

use std::path::PathBuf;

use mynacard_card::{CardSerial, Producer};

fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mynacard-producer-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn a_producer_is_read_back_with_the_same_keys() {
    let dir = fresh_dir("reload");
    let made = Producer::load_or_create(&dir).expect("created");
    let read = Producer::load_or_create(&dir).expect("read back");
    assert_eq!(made.public_key_der(), read.public_key_der());
    assert_eq!(made.issuer_public_key_der(), read.issuer_public_key_der());
    let serial = CardSerial(*b"MNTEST01");
    assert_eq!(made.management_key(serial), read.management_key(serial));
    assert_ne!(
        made.management_key(serial),
        read.management_key(CardSerial(*b"MNTEST02"))
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn runs_starting_together_share_one_producer() {
    let dir = fresh_dir("race");
    let keys: Vec<Vec<u8>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    Producer::load_or_create(&dir)
                        .expect("producer")
                        .public_key_der()
                        .to_vec()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("thread")).collect()
    });
    assert!(keys.windows(2).all(|w| w[0] == w[1]), "four producers were made");
    let after = Producer::load_or_create(&dir).expect("read back");
    assert_eq!(after.public_key_der(), keys[0].as_slice());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_damaged_producer_directory_is_refused() {
    let dir = fresh_dir("damaged");
    Producer::load_or_create(&dir).expect("created");
    std::fs::write(dir.join("master.key"), b"short").expect("damage");
    let err = Producer::load_or_create(&dir).expect_err("refused");
    assert!(err.to_string().contains("32 bytes"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
