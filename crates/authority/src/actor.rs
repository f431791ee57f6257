//! Who acts: every operation names its actor, for the audit log, the
//! disclosure log and the scope check.

use mynacard_rules::numbers::MunicipalityCode;
use serde::{Deserialize, Serialize};

/// What an actor may do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Role {
    /// 市区町村窓口: window staff of one municipality.
    Window {
        /// The municipality (全国地方公共団体コード).
        municipality: MunicipalityCode,
    },
    /// マイナンバー総合フリーダイヤル: a hotline operator (any municipality, suspension only).
    Hotline,
    /// J-LIS: card production and the CA.
    Producer,
    /// The system itself: the nightly batch, reconciliation.
    System,
    /// The holder, authenticated by the card.
    Resident {
        /// The resident's id in the registry.
        resident_id: i64,
    },
}

/// An authenticated actor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// A stable name for the logs: `staff:chiyoda-001`, `hotline:042`, `system:batch`.
    pub id: String,
    /// What it may do.
    pub role: Role,
}

impl Actor {
    /// Window staff of `municipality`.
    pub fn window(id: impl Into<String>, municipality: MunicipalityCode) -> Actor {
        Actor {
            id: id.into(),
            role: Role::Window { municipality },
        }
    }

    /// A hotline operator.
    pub fn hotline(id: impl Into<String>) -> Actor {
        Actor {
            id: id.into(),
            role: Role::Hotline,
        }
    }

    /// J-LIS's production line.
    pub fn producer() -> Actor {
        Actor {
            id: "jlis:production".into(),
            role: Role::Producer,
        }
    }

    /// The system (nightly batch, reconciliation).
    pub fn system(name: &str) -> Actor {
        Actor {
            id: format!("system:{name}"),
            role: Role::System,
        }
    }

    /// The holder of a card.
    pub fn resident(resident_id: i64) -> Actor {
        Actor {
            id: format!("resident:{resident_id}"),
            role: Role::Resident { resident_id },
        }
    }
}
