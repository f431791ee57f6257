//! Where a card image lives between commands: the card's EEPROM.
//!
//! The engine calls [`CardStorage::commit`] exactly where a real chip writes
//! EEPROM and does not answer until the write is durable; if it fails, the
//! engine reloads what is durable and answers `6581`. With the PIN
//! discipline of [`crate::engine`] (decrement, commit, compare), a process
//! killed at any instant never gains a try.
//!
//! [`FileStorage`] keeps one image in one file:
//!
//! ```text
//! "MYNACARD"  format u16 = 1  generation u64  salt[16]  nonce[12]  length u32
//! AES-256-GCM(image encoding)            (AAD: the 50 header bytes; tag inside length)
//! SHA-256 of everything above            (tells a damaged file from a wrong secret)
//! ```
//!
//! The whole image — keys, PIN values, the management key, counters — is
//! encrypted and authenticated under a per-commit key
//! `HMAC-SHA256(secret, "mynacard card image v1" ‖ salt)`, with a fresh
//! random salt each commit (so no key ever sees two nonces). The 32-byte
//! [`StorageSecret`] lives outside the image: the card store's key file,
//! mode 0600, or an HSM-wrapped secret in production. A damaged image is
//! refused ([`StorageError::Corrupt`]), never half-read. Writes are atomic
//! (`mynacard_pki::signer::write_atomically`: temporary file, fsync, rename,
//! fsync of the directory), and an exclusive lock on `IMAGE.lock` keeps a
//! second process from running the same card: two engines over one image
//! would each count their own tries.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use zeroize::Zeroizing;

use crate::crypto::{hmac_sha256, sha256, Entropy, SystemEntropy};
use crate::image::{CardImage, ImageError};

/// Why an image cannot be loaded or committed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// No image here.
    #[error("no card image at {0}")]
    Missing(String),
    /// An image already exists where a new one was to be created.
    #[error("a card image already exists at {0}")]
    AlreadyExists(String),
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// Another process holds the image.
    #[error("the card image {0} is in use by another process")]
    Busy(String),
    /// The image changed under us (another writer).
    #[error("the card image {0} was changed by another writer")]
    Conflict(String),
    /// Not a card image, or a damaged one (checksum, lengths).
    #[error("the card image {path} is damaged: {why}")]
    Corrupt {
        /// The file.
        path: String,
        /// What is wrong.
        why: &'static str,
    },
    /// A file format this build does not know.
    #[error("the card image {path} has format {format}, which this build does not read")]
    UnsupportedFormat {
        /// The file.
        path: String,
        /// Its format number.
        format: u16,
    },
    /// Intact, but it does not decrypt: the wrong storage secret, or tampering.
    #[error("the card image {0} does not decrypt: wrong storage secret or tampered")]
    Decryption(String),
    /// Decrypted, but not a valid image.
    #[error("{0}")]
    Image(#[from] ImageError),
    /// The random source failed.
    #[error("the random source failed")]
    Random,
    /// A fault injected by a test ([`MemoryStorage::inject`]).
    #[error("injected storage fault")]
    Injected,
}

impl StorageError {
    /// A stable code for machines.
    pub fn code(&self) -> &'static str {
        match self {
            StorageError::Missing(_) => "missing",
            StorageError::AlreadyExists(_) => "already_exists",
            StorageError::Io { .. } => "io",
            StorageError::Busy(_) => "busy",
            StorageError::Conflict(_) => "conflict",
            StorageError::Corrupt { .. } => "corrupt",
            StorageError::UnsupportedFormat { .. } => "unsupported_format",
            StorageError::Decryption(_) => "decryption",
            StorageError::Image(_) => "invalid_image",
            StorageError::Random => "random",
            StorageError::Injected => "injected",
        }
    }
}

/// The persistent memory of one card.
pub trait CardStorage {
    /// Reads the durable image.
    fn load(&mut self) -> Result<CardImage, StorageError>;

    /// Makes `image` durable; returns only once it is (or has failed, in
    /// which case what is durable is the previous image or this one, never
    /// a mixture).
    fn commit(&mut self, image: &CardImage) -> Result<(), StorageError>;
}

/// A test fault for [`MemoryStorage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// No fault.
    None,
    /// After `after` more good commits, every commit fails without writing
    /// (a write torn before it reached the EEPROM).
    FailCommits {
        /// Good commits before the fault.
        after: usize,
    },
    /// After `after` more good commits, the next one is written durably and
    /// then the process "dies": that commit and everything after fail, and
    /// loads fail too, until [`MemoryStorage::reopen`] (a new process).
    DieAfterCommit {
        /// Good commits before the fatal one.
        after: usize,
    },
}

/// A card image in memory, shared between handles like a file between
/// processes; with fault injection for tearing tests.
#[derive(Debug)]
pub struct MemoryStorage {
    durable: Arc<Mutex<Zeroizing<Vec<u8>>>>,
    fault: Fault,
    good_commits: usize,
    dead: bool,
}

impl MemoryStorage {
    /// A store holding `image`.
    pub fn new(image: &CardImage) -> MemoryStorage {
        MemoryStorage {
            durable: Arc::new(Mutex::new(image.encode())),
            fault: Fault::None,
            good_commits: 0,
            dead: false,
        }
    }

    /// A new handle on the same durable bytes, as a restarted process sees
    /// them: no fault, alive.
    pub fn reopen(&self) -> MemoryStorage {
        MemoryStorage {
            durable: Arc::clone(&self.durable),
            fault: Fault::None,
            good_commits: 0,
            dead: false,
        }
    }

    /// Arms a fault; the count of good commits starts from now.
    pub fn inject(&mut self, fault: Fault) {
        self.fault = fault;
        self.good_commits = 0;
    }

    /// What survives a crash now.
    pub fn durable(&self) -> Result<CardImage, StorageError> {
        Ok(CardImage::decode(&self.bytes())?)
    }

    fn bytes(&self) -> MutexGuard<'_, Zeroizing<Vec<u8>>> {
        // A poisoned lock still holds whole images: commits replace the vector in one assignment.
        self.durable.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl CardStorage for MemoryStorage {
    fn load(&mut self) -> Result<CardImage, StorageError> {
        if self.dead {
            return Err(StorageError::Injected);
        }
        self.durable()
    }

    fn commit(&mut self, image: &CardImage) -> Result<(), StorageError> {
        if self.dead {
            return Err(StorageError::Injected);
        }
        match self.fault {
            Fault::FailCommits { after } if self.good_commits >= after => return Err(StorageError::Injected),
            Fault::DieAfterCommit { after } if self.good_commits >= after => {
                *self.bytes() = image.encode();
                self.dead = true;
                return Err(StorageError::Injected);
            }
            _ => {}
        }
        *self.bytes() = image.encode();
        self.good_commits += 1;
        Ok(())
    }
}

/// The secret that encrypts card images at rest: 32 bytes kept outside them.
#[derive(Clone)]
pub struct StorageSecret(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for StorageSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StorageSecret(<secret>)")
    }
}

impl StorageSecret {
    /// From its bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> StorageSecret {
        StorageSecret(Zeroizing::new(bytes))
    }

    /// A random secret.
    pub fn generate() -> Result<StorageSecret, StorageError> {
        let mut bytes = [0u8; 32];
        SystemEntropy.fill(&mut bytes).map_err(|_| StorageError::Random)?;
        Ok(StorageSecret::from_bytes(bytes))
    }

    /// Reads the secret file at `path` (32 bytes); it must exist.
    pub fn load(path: &Path) -> Result<StorageSecret, StorageError> {
        match std::fs::read(path) {
            Ok(bytes) => {
                let bytes = Zeroizing::new(bytes);
                let array: [u8; 32] = bytes.as_slice().try_into().map_err(|_| StorageError::Corrupt {
                    path: path.display().to_string(),
                    why: "a storage secret file holds exactly 32 bytes",
                })?;
                Ok(StorageSecret::from_bytes(array))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(StorageError::Missing(path.display().to_string()))
            }
            Err(source) => Err(StorageError::Io {
                path: path.display().to_string(),
                source,
            }),
        }
    }

    /// Reads the secret file at `path` (32 bytes), creating it (mode 0600)
    /// with a random secret if there is none.
    pub fn load_or_create(path: &Path) -> Result<StorageSecret, StorageError> {
        match StorageSecret::load(path) {
            Err(StorageError::Missing(_)) => {
                let secret = StorageSecret::generate()?;
                write(path, &secret.0[..])?;
                Ok(secret)
            }
            other => other,
        }
    }

    fn image_key(&self, salt: &[u8]) -> Option<LessSafeKey> {
        let key = Zeroizing::new(hmac_sha256(&self.0[..], &[b"mynacard card image v1", salt]));
        UnboundKey::new(&AES_256_GCM, &key[..]).ok().map(LessSafeKey::new)
    }
}

const MAGIC: &[u8; 8] = b"MYNACARD";
/// The file format written by this build.
pub const FILE_FORMAT: u16 = 1;
const HEADER_LEN: usize = 8 + 2 + 8 + 16 + NONCE_LEN + 4;
const TAG_LEN: usize = 16;
const CHECKSUM_LEN: usize = 32;

fn write(path: &Path, bytes: &[u8]) -> Result<(), StorageError> {
    mynacard_pki::signer::write_atomically(path, bytes, true).map_err(|e| match e {
        mynacard_pki::PkiError::Io { path, source } => StorageError::Io { path, source },
        other => StorageError::Io {
            path: path.display().to_string(),
            source: std::io::Error::other(other.to_string()),
        },
    })
}

/// Removes what writers killed mid-commit left beside the image: the
/// temporary files `.NAME.tmp-PID` of `write_atomically`. Called with the
/// image's lock held, so no live writer owns one. Best effort.
fn remove_stale_temporaries(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = format!(".{}.tmp-", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// One card image in one file, encrypted at rest, written atomically, held
/// by one process at a time.
#[derive(Debug)]
pub struct FileStorage {
    path: PathBuf,
    secret: StorageSecret,
    /// The generation this handle last loaded or wrote; a different one on
    /// disk means another writer.
    generation: Option<u64>,
    _lock: File,
}

impl FileStorage {
    /// Creates the image file for a new card; refuses to overwrite one.
    pub fn create(path: &Path, secret: StorageSecret, image: &CardImage) -> Result<FileStorage, StorageError> {
        let mut storage = FileStorage::lock(path, secret)?;
        if path.exists() {
            return Err(StorageError::AlreadyExists(path.display().to_string()));
        }
        storage.commit(image)?;
        Ok(storage)
    }

    /// Opens an existing image for one card process.
    pub fn open(path: &Path, secret: StorageSecret) -> Result<FileStorage, StorageError> {
        let storage = FileStorage::lock(path, secret)?;
        if !path.exists() {
            return Err(StorageError::Missing(path.display().to_string()));
        }
        Ok(storage)
    }

    fn lock(path: &Path, secret: StorageSecret) -> Result<FileStorage, StorageError> {
        let mut lock_path = path.as_os_str().to_owned();
        lock_path.push(".lock");
        let lock_path = PathBuf::from(lock_path);
        let io = |source| StorageError::Io {
            path: lock_path.display().to_string(),
            source,
        };
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(StorageError::Busy(path.display().to_string())),
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        remove_stale_temporaries(path);
        Ok(FileStorage {
            path: path.to_owned(),
            secret,
            generation: None,
            _lock: lock,
        })
    }

    /// The image file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn corrupt(&self, why: &'static str) -> StorageError {
        StorageError::Corrupt {
            path: self.path.display().to_string(),
            why,
        }
    }

    /// Checks the container and returns (generation, decrypted encoding).
    fn open_container(&self, bytes: &[u8]) -> Result<(u64, Zeroizing<Vec<u8>>), StorageError> {
        if bytes.len() < HEADER_LEN + TAG_LEN + CHECKSUM_LEN || &bytes[..8] != MAGIC {
            return Err(self.corrupt("not a mynacard card image"));
        }
        let format = u16::from_be_bytes([bytes[8], bytes[9]]);
        if format != FILE_FORMAT {
            return Err(StorageError::UnsupportedFormat {
                path: self.path.display().to_string(),
                format,
            });
        }
        let (body, checksum) = bytes.split_at(bytes.len() - CHECKSUM_LEN);
        if sha256(body) != checksum {
            return Err(self.corrupt("checksum mismatch"));
        }
        let (header, sealed) = body.split_at(HEADER_LEN);
        let mut generation = [0u8; 8];
        generation.copy_from_slice(&header[10..18]);
        let generation = u64::from_be_bytes(generation);
        let salt = &header[18..34];
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&header[34..34 + NONCE_LEN]);
        let mut length = [0u8; 4];
        length.copy_from_slice(&header[34 + NONCE_LEN..HEADER_LEN]);
        if u32::from_be_bytes(length) as usize != sealed.len() {
            return Err(self.corrupt("length mismatch"));
        }
        let key = self.secret.image_key(salt).ok_or(StorageError::Random)?;
        let mut in_out = Zeroizing::new(sealed.to_vec());
        let len = key
            .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(header), &mut in_out)
            .map_err(|_| StorageError::Decryption(self.path.display().to_string()))?
            .len();
        in_out.truncate(len);
        Ok((generation, in_out))
    }

    fn read_generation(&self) -> Result<Option<u64>, StorageError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => Ok(Some(self.open_container(&bytes)?.0)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StorageError::Io {
                path: self.path.display().to_string(),
                source,
            }),
        }
    }
}

impl CardStorage for FileStorage {
    fn load(&mut self) -> Result<CardImage, StorageError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StorageError::Missing(self.path.display().to_string()))
            }
            Err(source) => {
                return Err(StorageError::Io {
                    path: self.path.display().to_string(),
                    source,
                })
            }
        };
        let (generation, plain) = self.open_container(&bytes)?;
        let image = CardImage::decode(&plain)?;
        if image.generation() != generation {
            return Err(self.corrupt("generation mismatch"));
        }
        self.generation = Some(generation);
        Ok(image)
    }

    fn commit(&mut self, image: &CardImage) -> Result<(), StorageError> {
        if self.read_generation()? != self.generation {
            return Err(StorageError::Conflict(self.path.display().to_string()));
        }
        let mut salt = [0u8; 16];
        let mut nonce = [0u8; NONCE_LEN];
        SystemEntropy.fill(&mut salt).map_err(|_| StorageError::Random)?;
        SystemEntropy.fill(&mut nonce).map_err(|_| StorageError::Random)?;
        let plain = image.encode();
        let mut out = Vec::with_capacity(HEADER_LEN + plain.len() + TAG_LEN + CHECKSUM_LEN);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FILE_FORMAT.to_be_bytes());
        out.extend_from_slice(&image.generation().to_be_bytes());
        out.extend_from_slice(&salt);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&((plain.len() + TAG_LEN) as u32).to_be_bytes());
        let key = self.secret.image_key(&salt).ok_or(StorageError::Random)?;
        let mut sealed = plain.to_vec();
        key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(&out[..]), &mut sealed)
            .map_err(|_| StorageError::Random)?;
        out.extend_from_slice(&sealed);
        let checksum = sha256(&out);
        out.extend_from_slice(&checksum);
        write(&self.path, &out)?;
        self.generation = Some(image.generation());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::ManagementKey;
    use crate::image::CardSerial;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mynacard-card-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    fn blank() -> CardImage {
        CardImage::blank(CardSerial([5; 8]), ManagementKey::from_bytes([6; 32]))
    }

    #[test]
    fn file_round_trip_damage_and_wrong_secret() {
        let dir = temp_dir("file");
        let path = dir.join("card.img");
        let secret = StorageSecret::from_bytes([1; 32]);
        let mut image = blank();
        {
            let mut storage = FileStorage::create(&path, secret.clone(), &image).expect("create");
            assert_eq!(storage.load().expect("load"), image);
            image.generation = 1;
            storage.commit(&image).expect("commit");
        }
        let bytes = std::fs::read(&path).expect("read");
        assert!(!bytes.windows(15).any(|w| w == b"JPKIAPICCTOKEN2"), "encrypted at rest");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let mut storage = FileStorage::open(&path, secret.clone()).expect("open");
        assert_eq!(storage.load().expect("load").generation(), 1);
        drop(storage);

        // Every single damaged byte is detected: checksum, header or tag.
        for at in [
            0,
            9,
            12,
            20,
            40,
            48,
            60,
            bytes.len() / 2,
            bytes.len() - 40,
            bytes.len() - 1,
        ] {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x01;
            std::fs::write(&path, &damaged).expect("write");
            let err = FileStorage::open(&path, secret.clone())
                .expect("open")
                .load()
                .expect_err("damage detected");
            assert!(
                matches!(err.code(), "corrupt" | "unsupported_format"),
                "byte {at}: {err}"
            );
        }
        // Truncated.
        std::fs::write(&path, &bytes[..bytes.len() - 5]).expect("write");
        assert_eq!(
            FileStorage::open(&path, secret.clone())
                .expect("open")
                .load()
                .expect_err("truncated")
                .code(),
            "corrupt"
        );
        // Intact but the wrong secret.
        std::fs::write(&path, &bytes).expect("write");
        let err = FileStorage::open(&path, StorageSecret::from_bytes([2; 32]))
            .expect("open")
            .load()
            .expect_err("wrong secret");
        assert_eq!(err.code(), "decryption");
        // Re-sealed checksum over a changed ciphertext: the tag catches it.
        let mut forged = bytes.clone();
        let n = forged.len();
        forged[n - 40] ^= 0x80;
        let checksum = sha256(&forged[..n - 32]);
        forged[n - 32..].copy_from_slice(&checksum);
        std::fs::write(&path, &forged).expect("write");
        let err = FileStorage::open(&path, secret)
            .expect("open")
            .load()
            .expect_err("forged");
        assert_eq!(err.code(), "decryption");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn one_process_per_image_and_no_overwrite() {
        let dir = temp_dir("lock");
        let path = dir.join("card.img");
        let secret = StorageSecret::from_bytes([3; 32]);
        let first = FileStorage::create(&path, secret.clone(), &blank()).expect("create");
        assert_eq!(
            FileStorage::open(&path, secret.clone()).expect_err("busy").code(),
            "busy"
        );
        drop(first);
        assert_eq!(
            FileStorage::create(&path, secret.clone(), &blank())
                .expect_err("exists")
                .code(),
            "already_exists"
        );
        assert_eq!(
            FileStorage::open(&dir.join("none.img"), secret.clone())
                .expect_err("missing")
                .code(),
            "missing"
        );
        // A writer that did not hold the lock: the next commit sees the change.
        let mut storage = FileStorage::open(&path, secret.clone()).expect("open");
        let mut image = storage.load().expect("load");
        let mut other = image.clone();
        other.generation = 5;
        let raw = FileStorage {
            path: path.clone(),
            secret: secret.clone(),
            generation: Some(0),
            _lock: File::open(&path).expect("file"),
        };
        let mut raw = raw;
        raw.commit(&other).expect("other writer");
        image.generation = 1;
        assert_eq!(storage.commit(&image).expect_err("conflict").code(), "conflict");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn secret_file_is_created_once() {
        let dir = temp_dir("secret");
        let path = dir.join("store.key");
        let a = StorageSecret::load_or_create(&path).expect("create");
        let b = StorageSecret::load_or_create(&path).expect("load");
        assert_eq!(a.0[..], b.0[..]);
        std::fs::write(&path, b"short").expect("write");
        assert_eq!(
            StorageSecret::load_or_create(&path).expect_err("short").code(),
            "corrupt"
        );
        assert_eq!(format!("{a:?}"), "StorageSecret(<secret>)");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn memory_faults() {
        let image = blank();
        let mut storage = MemoryStorage::new(&image);
        let mut next = image.clone();
        next.generation = 1;
        storage.inject(Fault::FailCommits { after: 1 });
        storage.commit(&next).expect("first good");
        next.generation = 2;
        assert!(storage.commit(&next).is_err());
        assert_eq!(storage.durable().expect("durable").generation(), 1);
        storage.inject(Fault::DieAfterCommit { after: 0 });
        assert!(storage.commit(&next).is_err());
        assert!(storage.load().is_err(), "dead");
        let mut restarted = storage.reopen();
        assert_eq!(restarted.load().expect("reload").generation(), 2);
    }
}
