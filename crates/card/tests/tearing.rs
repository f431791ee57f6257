//! Anti-tearing: a write that fails, or a process that dies right after a
//! write, never gives a free try; a locked PIN stays locked across resets
//! and across reloading the image file.

mod common;

use common::*;
use mynacard_card::layout::{jpki, Application};
use mynacard_card::storage::Fault;
use mynacard_card::{Card, CardImage, CardStorage, FileStorage, MemoryStorage, StorageSecret};
use proptest::prelude::*;

fn durable_tries(storage: &MemoryStorage) -> u8 {
    storage
        .durable()
        .expect("durable image")
        .pin(Application::Jpki, jpki::AUTH_PIN)
        .expect("pin")
        .remaining()
}

fn at_auth_pin(storage: MemoryStorage) -> Card<MemoryStorage> {
    let mut card = card_on(storage);
    select_app(&mut card, Application::Jpki);
    assert_eq!(select_ef(&mut card, jpki::AUTH_PIN), 0x9000);
    card
}

#[test]
fn a_torn_decrement_answers_nothing() {
    // The decrement's write fails: the PIN is not compared, the answer says so.
    let mut card = at_auth_pin(card().into_storage());
    card.storage_mut().inject(Fault::FailCommits { after: 0 });
    assert_eq!(verify(&mut card, b"0000"), 0x6581);
    assert_eq!(
        verify(&mut card, AUTH_PIN),
        0x6581,
        "the right PIN is not even looked at"
    );
    assert_eq!(durable_tries(card.storage()), 3);
    // The card reloaded what is durable and is usable once writes work again.
    assert!(!card.is_mute());
    card.storage_mut().inject(Fault::None);
    assert_eq!(verify(&mut card, b"0000"), 0x63C2);
}

#[test]
fn dying_after_the_decrement_spends_the_try() {
    for pin in [b"0000".as_slice(), AUTH_PIN] {
        let mut card = at_auth_pin(card().into_storage());
        card.storage_mut().inject(Fault::DieAfterCommit { after: 0 });
        assert_eq!(verify(&mut card, pin), 0x6581);
        // A new process: the try is gone, right PIN or not.
        let restarted = card.storage().reopen();
        assert_eq!(durable_tries(&restarted), 2);
        let mut card = at_auth_pin(restarted);
        assert_eq!(verify(&mut card, b""), 0x63C2);
    }
}

#[test]
fn dying_after_the_restore_keeps_the_restore_but_grants_nothing() {
    let mut card = at_auth_pin(card().into_storage());
    assert_eq!(verify(&mut card, b"0000"), 0x63C2);
    card.storage_mut().inject(Fault::DieAfterCommit { after: 1 });
    assert_eq!(verify(&mut card, AUTH_PIN), 0x6581);
    let restarted = card.storage().reopen();
    assert_eq!(durable_tries(&restarted), 3, "a right PIN restores the count");
    // Failing the restore instead: the decrement stands, nothing is granted.
    let mut card = at_auth_pin(restarted);
    card.storage_mut().inject(Fault::FailCommits { after: 1 });
    assert_eq!(verify(&mut card, AUTH_PIN), 0x6581);
    assert_eq!(durable_tries(card.storage()), 2);
    select_ef(&mut card, jpki::AUTH_KEY);
    assert_eq!(sw(&mut card, "802A008003010203 00"), 0x6982);
}

#[test]
fn killing_the_card_at_every_write_never_buys_a_guess() {
    // An attacker who cuts the power at each write, then at the next, and so
    // on, still gets at most 3 answers about wrong PINs before the lock.
    let mut storage = card().into_storage();
    let mut answered = 0;
    for round in 0..20 {
        let mut card = at_auth_pin(storage.reopen());
        card.storage_mut().inject(Fault::DieAfterCommit { after: round % 2 });
        match verify(&mut card, b"0000") {
            0x63C0..=0x63C2 => answered += 1,
            0x6581 | 0x6983 => {}
            other => panic!("unexpected {other:04X}"),
        }
        storage = card.into_storage();
    }
    assert!(answered <= 3);
    assert_eq!(durable_tries(&storage), 0);
    let mut card = at_auth_pin(storage.reopen());
    assert_eq!(verify(&mut card, AUTH_PIN), 0x6983);
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mynacard-tearing-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

#[test]
fn locked_stays_locked_across_reloading_the_file() {
    let dir = temp_dir("file");
    let path = dir.join("card.img");
    let secret = StorageSecret::from_bytes([7; 32]);
    let image = CardImage::decode(&fixture().image).expect("image");
    {
        let storage = FileStorage::create(&path, secret.clone(), &image).expect("create");
        let mut card = Card::new(storage).expect("card");
        select_app(&mut card, Application::Jpki);
        select_ef(&mut card, jpki::SIGN_PIN);
        for expected in [0x63C4, 0x63C3, 0x63C2, 0x63C1, 0x63C0] {
            assert_eq!(verify(&mut card, b"WRONG1"), expected);
        }
        card.reset();
    }
    // Reinserted: a new process, the image read back from the file.
    let mut card = Card::new(FileStorage::open(&path, secret.clone()).expect("open")).expect("card");
    select_app(&mut card, Application::Jpki);
    select_ef(&mut card, jpki::SIGN_PIN);
    assert_eq!(verify(&mut card, b""), 0x63C0);
    assert_eq!(verify(&mut card, SIGN_PIN), 0x6983);
    // The auth PIN counts in the file too, one commit per try.
    select_ef(&mut card, jpki::AUTH_PIN);
    assert_eq!(verify(&mut card, b"0000"), 0x63C2);
    drop(card);
    let mut storage = FileStorage::open(&path, secret.clone()).expect("open");
    let image = storage.load().expect("load");
    assert_eq!(
        image.pin(Application::Jpki, jpki::AUTH_PIN).map(|p| p.remaining()),
        Some(2)
    );
    assert_eq!(
        image.pin(Application::Jpki, jpki::SIGN_PIN).map(|p| p.remaining()),
        Some(0)
    );
    drop(storage);
    // A damaged file is refused, not half-read.
    let mut bytes = std::fs::read(&path).expect("read");
    let n = bytes.len();
    bytes[n / 2] ^= 0x40;
    std::fs::write(&path, &bytes).expect("write");
    let err = Card::new(FileStorage::open(&path, secret).expect("open")).expect_err("refused");
    assert_eq!(err.code(), "corrupt");
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn a_second_process_cannot_run_the_same_card() {
    let dir = temp_dir("lock");
    let path = dir.join("card.img");
    let secret = StorageSecret::from_bytes([8; 32]);
    let image = CardImage::decode(&fixture().image).expect("image");
    let _first = Card::new(FileStorage::create(&path, secret.clone(), &image).expect("create")).expect("card");
    assert_eq!(FileStorage::open(&path, secret).expect_err("busy").code(), "busy");
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[derive(Debug, Clone)]
enum Step {
    /// A PIN entry (right or wrong) with a fault armed for it.
    Entry { right: bool, fault: Fault },
    /// A new process on the same memory.
    Restart,
}

fn step() -> impl Strategy<Value = Step> {
    let fault = prop_oneof![
        Just(Fault::None),
        (0usize..3).prop_map(|after| Fault::FailCommits { after }),
        (0usize..3).prop_map(|after| Fault::DieAfterCommit { after }),
    ];
    prop_oneof![
        4 => (any::<bool>(), fault).prop_map(|(right, fault)| Step::Entry { right, fault }),
        1 => Just(Step::Restart),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Under any schedule of torn writes and restarts, the durable counter
    /// goes up only after a right PIN, every wrong PIN that got an answer
    /// cost a durable try, and an answer about a PIN never comes without
    /// its decrement being durable.
    #[test]
    fn tearing_never_gives_a_free_try(steps in proptest::collection::vec(step(), 1..30)) {
        let mut storage = card().into_storage();
        let mut card = at_auth_pin(storage.reopen());
        for step in steps {
            match step {
                Step::Restart => {
                    storage = card.into_storage();
                    card = at_auth_pin(storage.reopen());
                }
                Step::Entry { right, fault } => {
                    if card.is_mute() {
                        storage = card.into_storage();
                        card = at_auth_pin(storage.reopen());
                    }
                    let before = durable_tries(card.storage());
                    card.storage_mut().inject(fault);
                    let answer = verify(&mut card, if right { AUTH_PIN } else { b"0000" });
                    let after = durable_tries(card.storage());
                    prop_assert!(after <= 3);
                    if !right {
                        prop_assert!(after <= before, "a wrong PIN never raises the counter");
                    }
                    if after > before {
                        prop_assert!(right);
                    }
                    match answer {
                        0x63C0..=0x63CF => {
                            prop_assert!(!right);
                            prop_assert_eq!(after, before - 1);
                            prop_assert_eq!(answer & 0x0F, u16::from(after));
                        }
                        0x9000 => {
                            prop_assert!(right);
                            prop_assert_eq!(after, 3);
                        }
                        0x6983 => prop_assert_eq!(before, 0),
                        0x6581 => {
                            // Nothing was said about the PIN; whatever is durable
                            // is the decrement or (right PIN) the restore.
                            prop_assert!(after == before || after + 1 == before || (right && after == 3));
                        }
                        other => prop_assert!(false, "unexpected {:04X}", other),
                    }
                    card.storage_mut().inject(Fault::None);
                }
            }
        }
    }
}
