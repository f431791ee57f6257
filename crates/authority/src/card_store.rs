//! The card store: where the virtual cards' images live, apart from the
//! registry (which never holds a card's keys or PINs). One directory, one
//! image per card `SERIAL.card`, all encrypted under the store's secret
//! `.secret` (32 bytes, 0600).
//!
//! A card being produced is written as `SERIAL.card.producing` and renamed
//! to `SERIAL.card` only after the registry has recorded it, so a crash
//! leaves either a recorded card with its image, or an unrecorded
//! `.producing` file that [`CardStore::sweep`] removes.

use std::path::{Path, PathBuf};

use mynacard_card::{Card, CardImage, CardSerial, FileStorage, StorageError, StorageSecret};

use crate::error::AuthorityError;

/// The directory of card images.
#[derive(Debug)]
pub struct CardStore {
    dir: PathBuf,
    secret: StorageSecret,
}

const PRODUCING: &str = ".producing";

/// How long an operation waits for a card another one is using.
pub const CARD_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

fn card_error(e: impl std::fmt::Display) -> AuthorityError {
    AuthorityError::Card(e.to_string())
}

impl CardStore {
    /// The store in `dir` (created, with its secret, if missing).
    pub fn open(dir: &Path) -> Result<CardStore, AuthorityError> {
        std::fs::create_dir_all(dir).map_err(|e| card_error(format!("{}: {e}", dir.display())))?;
        let secret = StorageSecret::load_or_create(&dir.join(".secret")).map_err(card_error)?;
        Ok(CardStore {
            dir: dir.to_owned(),
            secret,
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the image of `serial` lives once produced.
    pub fn path(&self, serial: &str) -> PathBuf {
        self.dir.join(format!("{serial}.card"))
    }

    fn producing_path(&self, serial: &str) -> PathBuf {
        self.dir.join(format!("{serial}.card{PRODUCING}"))
    }

    fn secret(&self) -> StorageSecret {
        self.secret.clone()
    }

    /// A blank card for production, in its `.producing` file.
    pub fn create_blank(&self, image: &CardImage) -> Result<Card<FileStorage>, AuthorityError> {
        let serial = image.serial().to_string();
        let storage = FileStorage::create(&self.producing_path(&serial), self.secret(), image).map_err(card_error)?;
        Card::new(storage).map_err(card_error)
    }

    /// Makes a produced card's image the card's (after the registry recorded it).
    pub fn finish_production(&self, serial: &str) -> Result<(), AuthorityError> {
        let from = self.producing_path(serial);
        if from.exists() {
            std::fs::rename(&from, self.path(serial)).map_err(card_error)?;
            let mut lock = from.into_os_string();
            lock.push(".lock");
            let _ = std::fs::remove_file(lock);
        }
        Ok(())
    }

    /// Throws away a card that failed in production (the line shreds it).
    pub fn discard_production(&self, serial: &str) {
        let path = self.producing_path(serial);
        let _ = std::fs::remove_file(&path);
        let mut lock = path.into_os_string();
        lock.push(".lock");
        let _ = std::fs::remove_file(lock);
    }

    /// Opens a produced card (at the window: delivery, PIN reset, conversion).
    ///
    /// A card is one chip: one operation at a time holds its image. Another
    /// operation on the same card (a second request, the virtual reader)
    /// waits for it, up to [`CARD_WAIT`], then gets
    /// [`AuthorityError::CardBusy`] — a refusal to retry, not a failure.
    pub fn open_card(&self, serial: &str) -> Result<Card<FileStorage>, AuthorityError> {
        let path = self.path(serial);
        let started = std::time::Instant::now();
        let mut pause = std::time::Duration::from_millis(5);
        let storage = loop {
            match FileStorage::open(&path, self.secret()) {
                Ok(storage) => break storage,
                Err(StorageError::Busy(_)) if started.elapsed() < CARD_WAIT => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(std::time::Duration::from_millis(100));
                }
                Err(StorageError::Busy(_)) => return Err(AuthorityError::CardBusy(serial.to_owned())),
                Err(e) => return Err(card_error(e)),
            }
        };
        Card::new(storage).map_err(card_error)
    }

    /// Whether `serial` has an image (produced, or still `.producing`).
    pub fn has_image(&self, serial: &str) -> (bool, bool) {
        (self.path(serial).exists(), self.producing_path(serial).exists())
    }

    /// How long ago the `.producing` image of `serial` was last written
    /// (wall clock: the files' own time, whatever the authority's clock says).
    pub fn producing_age(&self, serial: &str) -> Option<chrono::TimeDelta> {
        crate::reconcile::age_of(&self.producing_path(serial), chrono::Utc::now())
    }

    /// The serials of the `.producing` images.
    pub fn producing(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.strip_suffix(&format!(".card{PRODUCING}")).map(str::to_owned)
            })
            .collect()
    }

    /// A new random serial (`MN` and 6 random bytes) not used in this store.
    pub fn new_serial(&self) -> Result<CardSerial, AuthorityError> {
        loop {
            let mut bytes = [0u8; 8];
            aws_lc_rs::rand::fill(&mut bytes).map_err(|_| card_error("no randomness"))?;
            bytes[0] = b'M';
            bytes[1] = b'N';
            let serial = CardSerial(bytes);
            let text = serial.to_string();
            if !self.path(&text).exists() && !self.producing_path(&text).exists() {
                return Ok(serial);
            }
        }
    }
}
