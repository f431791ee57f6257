//! The resident registry: tables and typed repositories.
//!
//! Functions take the caller's transaction (`&mut Tx`), so that an
//! operation of the lifecycle authority — say, a move-out: the resident's
//! status, the signature certificate revoked, the audit entry, the
//! idempotency record — commits as one. "Now" and "today" come from the
//! caller; the store reads no clock.
//!
//! Records with a natural key (municipality code, card serial, certificate
//! serial) are plain structs; records numbered by the database come back as
//! [`Stored<T>`] (the id and the record), residents as [`StoredResident`]
//! (with their version for optimistic locking).
//!
//! What the database itself enforces (migrations/*/0001_registry.sql):
//! municipality-code and My Number check digits, one My Number per
//! resident, at most one card in use and one in production per resident,
//! at most one good-or-held certificate per person and kind (二重発行禁止),
//! revoked and expired certificates final and card-certificate holds never
//! released (triggers), certificates never deleted, cards never back in use
//! once out of it, one notice per subject, kind and due date, and the
//! consistency checks of each row (dates in order, a hold's reason, a
//! foreign resident's period of stay, …).

mod applications;
mod batch;
mod cards;
mod certificates;
mod fees;
mod insurance;
mod loss;
mod municipalities;
mod municipality_list;
mod notices;
mod pin_resets;
mod queries;
mod residents;
mod window_queries;

use std::ops::Deref;

use serde::de::DeserializeOwned;
use serde::Serialize;

pub use applications::*;
pub use batch::*;
pub use cards::*;
pub use certificates::*;
pub use fees::*;
pub use insurance::*;
pub use loss::*;
pub use municipalities::*;
pub use municipality_list::*;
pub use notices::*;
pub use pin_resets::*;
pub use queries::*;
pub use residents::*;
pub use window_queries::*;

use crate::db::Row;
use crate::error::{Result, StoreError};

/// A record with the id the database gave it. Dereferences to the record.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored<T> {
    /// The row's id.
    pub id: i64,
    /// The record.
    pub record: T,
}

impl<T> Deref for Stored<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.record
    }
}

/// Defines an enum stored as text, with its column values.
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text)] $variant, )+
        }

        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value stored in the column.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// The value for a column's text.
            pub fn parse(text: &str) -> Option<$name> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use text_enum;

/// Reads a text column into one of our text enums.
pub(crate) fn enum_column<T>(row: &Row, i: usize, parse: fn(&str) -> Option<T>) -> Result<T> {
    let text = row.text(i)?;
    parse(&text).ok_or_else(|| corrupt(row, i, &text))
}

fn corrupt(row: &Row, i: usize, text: &str) -> StoreError {
    let name = row.columns().get(i).map(String::as_str).unwrap_or("?");
    StoreError::Corrupt(format!("{name}: unknown value {text:?}"))
}

/// The column text of an enum of the rules crate (its serde name).
pub(crate) fn serde_name<T: Serialize>(value: &T) -> Result<String> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => Ok(name),
        _ => Err(StoreError::Backend("a value without a name".into())),
    }
}

/// An enum of the rules crate from its column text.
pub(crate) fn from_serde_name<T: DeserializeOwned>(row: &Row, i: usize) -> Result<T> {
    let text = row.text(i)?;
    serde_json::from_value(serde_json::Value::String(text.clone())).map_err(|_| corrupt(row, i, &text))
}

/// An optional enum of the rules crate from its column text.
pub(crate) fn opt_from_serde_name<T: DeserializeOwned>(row: &Row, i: usize) -> Result<Option<T>> {
    if row.is_null(i)? {
        return Ok(None);
    }
    from_serde_name(row, i).map(Some)
}

/// The one row a statement with `RETURNING` must give.
pub(crate) fn returned_id(rows: Vec<Row>) -> Result<i64> {
    rows.first()
        .ok_or_else(|| StoreError::Backend("INSERT … RETURNING returned no row".into()))?
        .i64(0)
}
