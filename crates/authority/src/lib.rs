//! # mynacard-authority — the lifecycle authority
//!
//! One module that every front end calls (the window and hotline UIs and
//! APIs, the portal, the kiosk, the nightly batch, the simulation), and the
//! only caller of the CA and of card personalisation in the running system.
//! It decides with the rules engine, issues and revokes with the CA,
//! produces and changes cards through the card-management protocol, and
//! records in the registry.
//!
//! ## How an operation runs
//!
//! Every operation takes an [`Actor`] and an idempotency key, and goes in
//! three steps (`operation.rs`):
//!
//! 1. **Replay check and decision** (read transaction): a key already used
//!    for the same request answers the stored response and does nothing; a
//!    key used for another request is refused. Then the rules engine decides
//!    from the registry's state.
//! 2. **Effects outside the registry**: certificates issued or revoked by the
//!    CA, a card produced or changed through its management key. These run
//!    outside the database transaction because they cannot be rolled back
//!    and must not run twice when a PostgreSQL transaction is retried.
//! 3. **Record** (one write transaction): the registry rows, the idempotency
//!    record and the audit entry (and disclosure entries) commit together. If
//!    the state changed since step 1 the operation is refused, and if another
//!    request with the same key got there first its response is answered.
//!    Either way, or when the commit fails, the effects of step 2 are
//!    compensated: certificates issued for it are revoked
//!    (cessationOfOperation), a card being produced is discarded.
//!
//! A crash between steps 2 and 3 leaves effects the registry does not know:
//! certificates in the CA's database with no registry record, and card
//! images still named `.producing`. [`Authority::reconcile`] (run at start
//! and by the nightly batch) revokes the first and removes the second, once
//! they are older than a grace period. So an operation is either recorded
//! whole, or not at all; a retry with the same key acts once.
//!
//! ## Modules
//!
//! - [`clock`]: the injected clock (`MYNACARD_TODAY`).
//! - [`actor`]: who acts and what they may do.
//! - [`card_store`]: the card images, apart from the registry.
//! - [`issuance`]: residents, applications, production, delivery.
//! - [`certify`]: new key pairs and certificates on a card already delivered.
//! - [`moves`]: move-out, move-in, changes of the record, death, abroad.
//! - [`lapse`]: lapses found from the registry's facts.
//! - [`loss`]: hotline suspension, loss report, found, reissue, return.
//! - [`window`]: PIN reset, face-recognition conversion, certificate renewal.
//! - [`batch`]: the nightly batch.
//! - [`records`]: disclosure-logged reads of the registry.
//! - [`reconcile`]: what a crash left between effects and record.
//! - [`worklist`]: the window's resident search and work list, the production queue.

pub mod actor;
pub mod batch;
pub mod card_store;
pub mod certify;
pub mod clock;
pub mod error;
pub mod issuance;
pub mod lapse;
pub mod loss;
pub mod moves;
mod operation;
pub mod reconcile;
pub mod records;
pub mod window;
pub mod worklist;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use mynacard_card::Producer;
use mynacard_pki::ca::{default_passphrase, CertificateAuthority, IssuanceOptionsConfig, KeyAccess};
use mynacard_rules::Policies;
use mynacard_store::{Database, SqliteCaRepository};

pub use actor::{Actor, Role};
pub use card_store::CardStore;
pub use clock::{Clock, FixedClock, SystemClock};
pub use error::AuthorityError;

/// Where the system keeps its state.
#[derive(Debug, Clone)]
pub struct AuthorityConfig {
    /// The data directory: `ca/`, `producer/`, `cards/`, and the SQLite
    /// registry `registry.db` unless `database` says otherwise.
    pub data_dir: PathBuf,
    /// The registry's address (`postgres://…`, `sqlite:PATH`); default
    /// `sqlite:DATA/registry.db`.
    pub database: Option<String>,
    /// Name the CAs like the JPKI test hierarchy when setting them up.
    pub test_hierarchy: bool,
    /// The rules' policy switches.
    pub policies: Policies,
}

impl AuthorityConfig {
    /// The defaults for `data_dir`: SQLite, the test hierarchy, default policies.
    pub fn new(data_dir: impl Into<PathBuf>) -> AuthorityConfig {
        AuthorityConfig {
            data_dir: data_dir.into(),
            database: None,
            test_hierarchy: true,
            policies: Policies::default(),
        }
    }
}

/// The lifecycle authority.
pub struct Authority {
    db: Database,
    ca: CertificateAuthority,
    producer: Producer,
    cards: CardStore,
    clock: Arc<dyn Clock>,
    policies: Policies,
    /// A failure to inject at the next pass through a point of the
    /// operation run (tests of atomicity; see [`Fault`]).
    fault: std::sync::Mutex<Option<Fault>>,
    /// How old leftovers must be before reconciliation removes them.
    grace: std::sync::Mutex<chrono::TimeDelta>,
}

/// Points of the operation run where a failure can be injected
/// ([`Authority::inject_fault`]): the operation then fails there as if the
/// registry or the machine had, and must leave nothing half-done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// After the effects (CA, card), before the record transaction.
    BeforeRecord,
    /// Inside the record transaction, after its writes, before the commit.
    InRecord,
    /// After the commit, before the effects that follow it (the card image
    /// put in place, statuses pushed to the CA).
    AfterRecord,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority")
            .field("db", &self.db.description())
            .field("cards", &self.cards.dir())
            .finish_non_exhaustive()
    }
}

impl Authority {
    /// Opens the system in `config.data_dir`, setting up on first use: the
    /// registry (migrated), the CA (software keys under `ca/passphrase` or
    /// `MYNACARD_CA_PASSPHRASE`), the card producer, the card store. Then
    /// reconciles what a crash may have left.
    pub fn open(config: &AuthorityConfig, clock: Arc<dyn Clock>) -> Result<Authority, AuthorityError> {
        let data = &config.data_dir;
        std::fs::create_dir_all(data).map_err(|e| AuthorityError::Card(format!("{}: {e}", data.display())))?;
        let address = config
            .database
            .clone()
            .unwrap_or_else(|| format!("sqlite:{}", data.join("registry.db").display()));
        let db = Database::open(&address)?;
        db.migrate()?;
        let ca = open_ca(&data.join("ca"), config.test_hierarchy, clock.as_ref())?;
        let producer =
            Producer::load_or_create(&data.join("producer")).map_err(|e| AuthorityError::Card(e.to_string()))?;
        let cards = CardStore::open(&data.join("cards"))?;
        let authority = Authority {
            db,
            ca,
            producer,
            cards,
            clock,
            policies: config.policies,
            fault: std::sync::Mutex::new(None),
            grace: std::sync::Mutex::new(reconcile::GRACE),
        };
        authority.reconcile()?;
        Ok(authority)
    }

    /// The registry.
    pub fn db(&self) -> &Database {
        &self.db
    }

    /// The CA.
    pub fn ca(&self) -> &CertificateAuthority {
        &self.ca
    }

    /// The card store.
    pub fn cards(&self) -> &CardStore {
        &self.cards
    }

    /// The card producer.
    pub fn producer(&self) -> &Producer {
        &self.producer
    }

    /// The clock.
    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    /// The rules' policy switches.
    pub fn policies(&self) -> &Policies {
        &self.policies
    }

    /// Arms a one-shot failure at `point` of the next operation that passes
    /// it (for tests of atomicity and recovery; harmless otherwise).
    pub fn inject_fault(&self, point: Fault) {
        *self.fault.lock().unwrap_or_else(|e| e.into_inner()) = Some(point);
    }

    /// Fails here if a fault is armed for `point` (and disarms it).
    pub(crate) fn fault_point(&self, point: Fault) -> Result<(), AuthorityError> {
        let mut armed = self.fault.lock().unwrap_or_else(|e| e.into_inner());
        if *armed == Some(point) {
            *armed = None;
            return Err(AuthorityError::Card(format!("injected failure at {point:?}")));
        }
        Ok(())
    }

    /// How old a leftover must be before reconciliation removes it
    /// (default [`reconcile::GRACE`]; tests shorten it).
    pub fn set_reconcile_grace(&self, grace: chrono::TimeDelta) {
        *self.grace.lock().unwrap_or_else(|e| e.into_inner()) = grace;
    }

    pub(crate) fn reconcile_grace(&self) -> chrono::TimeDelta {
        *self.grace.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn open_ca(dir: &Path, test: bool, clock: &dyn Clock) -> Result<CertificateAuthority, AuthorityError> {
    std::fs::create_dir_all(dir).map_err(|e| AuthorityError::Card(format!("{}: {e}", dir.display())))?;
    let repository = Arc::new(SqliteCaRepository::open(&dir.join("ca.db"))?);
    let fresh = !dir.join("ca.json").exists();
    let access = KeyAccess::Passphrase(default_passphrase(dir, fresh)?);
    if fresh {
        Ok(CertificateAuthority::init(
            dir,
            test,
            &access,
            IssuanceOptionsConfig::default(),
            repository,
            clock.now(),
        )?)
    } else {
        Ok(CertificateAuthority::open(dir, &access, repository)?)
    }
}
