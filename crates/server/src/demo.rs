//! Demo mode (`mynacard serve --demo`): municipalities, staff accounts and
//! residents at every interesting point of a card's life, with their
//! virtual cards in a card wallet.
//!
//! (Seeding being written.)

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::web::Lang;

/// A demo staff account, printed at start and shown on the login page.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoAccount {
    /// The login.
    pub login: String,
    /// The password (demo only: kept in `DATA/demo/accounts.json`).
    pub password: String,
    /// `window`, `hotline` or `admin`.
    pub role: String,
    /// The municipality's name, for window staff.
    pub municipality: Option<String>,
}

impl DemoAccount {
    /// What the account is for.
    pub fn description(&self, lang: Lang) -> String {
        match (self.role.as_str(), &self.municipality) {
            ("window", Some(m)) => format!("{}（{m}）", lang.t("窓口", "Window")),
            ("hotline", _) => lang.t("コールセンター", "Hotline").to_owned(),
            ("admin", _) => lang.t("管理者", "Administrator").to_owned(),
            (other, _) => other.to_owned(),
        }
    }
}

/// The demo accounts of the data directory (none outside demo mode).
pub fn accounts(data_dir: &Path) -> Vec<DemoAccount> {
    std::fs::read(data_dir.join("demo").join("accounts.json"))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

/// Seeds the demo on first use (idempotent: a seeded data directory is
/// left as it is) and answers the demo accounts.
pub fn prepare(state: &crate::state::AppState) -> Result<Vec<DemoAccount>, String> {
    Ok(accounts(&state.settings.data_dir))
}
