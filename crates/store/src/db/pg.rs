//! The PostgreSQL backend: one connection (the synchronous `postgres`
//! client), SERIALIZABLE transactions, prepared statements cached per
//! connection, each tenant or test in its own schema.

use std::collections::HashMap;
use std::error::Error;
use std::sync::Arc;

use bytes::{BufMut, BytesMut};
use postgres::error::SqlState;
use postgres::types::{FromSql, IsNull, ToSql, Type};
use postgres::{Client, Config, IsolationLevel, NoTls, Statement};

use super::placeholders::translate_placeholders;
use super::value::{format_timestamp, parse_date, parse_timestamp, Row, Value};
use super::Mode;
use crate::error::{Result, StoreError};

/// How many prepared statements a connection keeps.
const STATEMENT_CACHE: usize = 512;

/// A connection and what is needed to open it again.
pub(crate) struct PgConn {
    client: Client,
    config: Config,
    schema: Option<String>,
    statements: HashMap<String, Statement>,
}

/// A PostgreSQL address split into the driver's configuration and the
/// schema asked for with `?schema=NAME`.
pub(crate) fn parse_url(url: &str) -> Result<(Config, Option<String>)> {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, query),
        None => (url, ""),
    };
    let mut schema = None;
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("schema", name)) => schema = Some(name.to_owned()),
            _ => rest.push(pair),
        }
    }
    let driver_url = if rest.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    let config: Config = driver_url
        .parse()
        .map_err(|e| StoreError::Config(format!("not a PostgreSQL address: {e}")))?;
    if let Some(name) = &schema {
        check_schema_name(name)?;
    }
    Ok((config, schema))
}

/// A schema name we create and quote ourselves: ASCII letters, digits and
/// underscores, not starting with a digit, at most 63 bytes.
fn check_schema_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit();
    if ok {
        Ok(())
    } else {
        Err(StoreError::Config(format!(
            "schema name {name:?}: use 1–63 ASCII letters, digits and underscores, not starting with a digit"
        )))
    }
}

/// A description of the address without its password.
pub(crate) fn describe(config: &Config, schema: Option<&str>) -> String {
    let ports = config.get_ports();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let host = match h {
                postgres::config::Host::Tcp(name) => name.clone(),
                #[cfg(unix)]
                postgres::config::Host::Unix(path) => path.display().to_string(),
            };
            // One port for all hosts, or one per host; 5432 by default.
            let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
            format!("{host}:{port}")
        })
        .collect();
    let mut out = format!(
        "postgresql://{}@{}/{}",
        config.get_user().unwrap_or(""),
        hosts.join(","),
        config.get_dbname().unwrap_or("")
    );
    if let Some(schema) = schema {
        out.push_str(&format!("?schema={schema}"));
    }
    out
}

impl PgConn {
    /// Connects; with `schema`, creates it if missing and makes it the only
    /// schema on the search path. Without, the search path from the address
    /// (`options=-csearch_path%3D…`) stands, and its first schema is created
    /// if missing.
    pub(crate) fn connect(config: Config, schema: Option<String>) -> Result<(PgConn, String)> {
        let mut client = config.connect(NoTls).map_err(|e| {
            let cause = e.source().map(|s| format!(": {s}")).unwrap_or_default();
            StoreError::Unavailable(format!(
                "cannot connect to PostgreSQL at {}: {e}{cause}",
                describe(&config, schema.as_deref())
            ))
        })?;
        client
            .batch_execute("SET TIME ZONE 'UTC'; SET client_min_messages = warning")
            .map_err(map_err)?;
        let effective = match &schema {
            Some(name) => {
                create_schema(&mut client, name)?;
                client
                    .batch_execute(&format!("SET search_path TO \"{name}\""))
                    .map_err(map_err)?;
                name.clone()
            }
            None => match current_schema(&mut client)? {
                Some(name) => name,
                None => {
                    let path: String = client
                        .query_one("SHOW search_path", &[])
                        .and_then(|r| r.try_get(0))
                        .map_err(map_err)?;
                    let first = path
                        .split(',')
                        .map(|s| s.trim().trim_matches('"'))
                        .find(|s| !s.is_empty() && *s != "$user")
                        .ok_or_else(|| StoreError::Config("the search path names no schema".into()))?
                        .to_owned();
                    check_schema_name(&first)?;
                    create_schema(&mut client, &first)?;
                    first
                }
            },
        };
        Ok((
            PgConn {
                client,
                config,
                schema,
                statements: HashMap::new(),
            },
            effective,
        ))
    }

    /// Opens the connection again if the server closed it.
    fn ensure_open(&mut self) -> Result<()> {
        if self.client.is_closed() {
            let (fresh, _) = PgConn::connect(self.config.clone(), self.schema.clone())?;
            *self = fresh;
        }
        Ok(())
    }

    /// Begins a transaction: SERIALIZABLE for writes, REPEATABLE READ READ
    /// ONLY for reads, READ COMMITTED for migrations (which take an
    /// advisory lock first and must see what a concurrent migrator
    /// committed while they waited).
    pub(crate) fn begin(&mut self, mode: Mode) -> Result<PgTx<'_>> {
        self.ensure_open()?;
        let PgConn { client, statements, .. } = self;
        let builder = client.build_transaction();
        let builder = match mode {
            Mode::Write => builder.isolation_level(IsolationLevel::Serializable),
            Mode::Read => builder.isolation_level(IsolationLevel::RepeatableRead).read_only(true),
            Mode::Migrate => builder.isolation_level(IsolationLevel::ReadCommitted),
        };
        let transaction = builder.start().map_err(map_err)?;
        Ok(PgTx {
            transaction,
            statements,
        })
    }
}

fn current_schema(client: &mut Client) -> Result<Option<String>> {
    client
        .query_one("SELECT current_schema()::text", &[])
        .and_then(|r| r.try_get(0))
        .map_err(map_err)
}

fn create_schema(client: &mut Client, name: &str) -> Result<()> {
    match client.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS \"{name}\"")) {
        Ok(()) => Ok(()),
        // Two connections creating the same schema at once: one loses the
        // race on the catalog's unique index, and the schema exists.
        Err(e) if matches!(e.code(), Some(c) if *c == SqlState::UNIQUE_VIOLATION || *c == SqlState::DUPLICATE_SCHEMA) => {
            Ok(())
        }
        Err(e) => Err(map_err(e)),
    }
}

/// A PostgreSQL transaction with the connection's statement cache.
pub(crate) struct PgTx<'c> {
    transaction: postgres::Transaction<'c>,
    statements: &'c mut HashMap<String, Statement>,
}

impl PgTx<'_> {
    fn statement(&mut self, sql: &str) -> Result<Statement> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self
            .transaction
            .prepare(&translate_placeholders(sql))
            .map_err(map_err)?;
        if self.statements.len() >= STATEMENT_CACHE {
            self.statements.clear();
        }
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    pub(crate) fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        let statement = self.statement(sql)?;
        let params: Vec<Param<'_>> = params.iter().map(Param).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        self.transaction.execute(&statement, &refs).map_err(map_err)
    }

    pub(crate) fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        let statement = self.statement(sql)?;
        let columns: Arc<[String]> = statement.columns().iter().map(|c| c.name().to_owned()).collect();
        let params: Vec<Param<'_>> = params.iter().map(Param).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        let rows = self.transaction.query(&statement, &refs).map_err(map_err)?;
        rows.iter().map(|row| row_of(row, &columns)).collect()
    }

    pub(crate) fn execute_batch(&mut self, sql: &str) -> Result<()> {
        // DDL may change what a cached statement refers to.
        self.statements.clear();
        self.transaction.batch_execute(sql).map_err(map_err)
    }

    pub(crate) fn commit(self) -> Result<()> {
        self.transaction.commit().map_err(map_err)
    }

    pub(crate) fn rollback(self) -> Result<()> {
        self.transaction.rollback().map_err(map_err)
    }
}

/// A [`Value`] bound to a parameter of whatever type PostgreSQL inferred
/// for it.
#[derive(Debug)]
struct Param<'a>(&'a Value);

type BoxError = Box<dyn Error + Sync + Send>;

fn is_text(ty: &Type) -> bool {
    *ty == Type::TEXT || *ty == Type::VARCHAR || *ty == Type::BPCHAR || *ty == Type::NAME || *ty == Type::UNKNOWN
}

fn mismatch(value: &Value, ty: &Type) -> BoxError {
    format!("cannot bind a {} value to a parameter of type {ty}", value.kind()).into()
}

fn put_text(text: &str, ty: &Type, out: &mut BytesMut) -> std::result::Result<IsNull, BoxError> {
    if *ty == Type::JSONB {
        // JSONB's binary format: version 1, then the text.
        out.put_u8(1);
    }
    out.put_slice(text.as_bytes());
    Ok(IsNull::No)
}

impl ToSql for Param<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> std::result::Result<IsNull, BoxError> {
        let value = self.0;
        match value {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) => {
                if *ty == Type::INT8 {
                    i.to_sql(ty, out)
                } else if *ty == Type::INT4 {
                    i32::try_from(*i)?.to_sql(ty, out)
                } else if *ty == Type::INT2 {
                    i16::try_from(*i)?.to_sql(ty, out)
                } else if is_text(ty) {
                    put_text(&i.to_string(), ty, out)
                } else {
                    Err(mismatch(value, ty))
                }
            }
            Value::Text(s) => {
                if is_text(ty) || *ty == Type::JSON || *ty == Type::JSONB {
                    put_text(s, ty, out)
                } else if *ty == Type::DATE {
                    parse_date(s).ok_or("text that is no YYYY-MM-DD date")?.to_sql(ty, out)
                } else if *ty == Type::TIMESTAMPTZ {
                    parse_timestamp(s).ok_or("text that is no timestamp")?.to_sql(ty, out)
                } else {
                    Err(mismatch(value, ty))
                }
            }
            Value::Bytes(b) => {
                if *ty == Type::BYTEA {
                    b.as_slice().to_sql(ty, out)
                } else {
                    Err(mismatch(value, ty))
                }
            }
            Value::Bool(b) => {
                if *ty == Type::BOOL {
                    b.to_sql(ty, out)
                } else if *ty == Type::INT8 || *ty == Type::INT4 || *ty == Type::INT2 {
                    Param(&Value::Int(i64::from(*b))).to_sql(ty, out)
                } else {
                    Err(mismatch(value, ty))
                }
            }
            Value::Date(d) => {
                if *ty == Type::DATE {
                    d.to_sql(ty, out)
                } else if is_text(ty) {
                    put_text(&d.format("%Y-%m-%d").to_string(), ty, out)
                } else {
                    Err(mismatch(value, ty))
                }
            }
            Value::Timestamp(t) => {
                if *ty == Type::TIMESTAMPTZ {
                    t.to_sql(ty, out)
                } else if *ty == Type::TIMESTAMP {
                    t.naive_utc().to_sql(ty, out)
                } else if is_text(ty) {
                    put_text(&format_timestamp(t), ty, out)
                } else {
                    Err(mismatch(value, ty))
                }
            }
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

/// A JSON or JSONB column read as its text.
struct JsonText(String);

impl<'a> FromSql<'a> for JsonText {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> std::result::Result<JsonText, BoxError> {
        let text = if *ty == Type::JSONB {
            match raw.split_first() {
                Some((1, rest)) => rest,
                _ => return Err("unknown JSONB format version".into()),
            }
        } else {
            raw
        };
        Ok(JsonText(std::str::from_utf8(text)?.to_owned()))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::JSON || *ty == Type::JSONB
    }
}

fn get<'a, T: FromSql<'a>>(row: &'a postgres::Row, i: usize) -> Result<Option<T>> {
    row.try_get::<_, Option<T>>(i).map_err(map_err)
}

fn row_of(row: &postgres::Row, columns: &Arc<[String]>) -> Result<Row> {
    let mut values = Vec::with_capacity(columns.len());
    for (i, column) in row.columns().iter().enumerate() {
        let ty = column.type_();
        let value = if *ty == Type::INT8 {
            get::<i64>(row, i)?.map(Value::Int)
        } else if *ty == Type::INT4 {
            get::<i32>(row, i)?.map(|v| Value::Int(i64::from(v)))
        } else if *ty == Type::INT2 {
            get::<i16>(row, i)?.map(|v| Value::Int(i64::from(v)))
        } else if *ty == Type::OID {
            get::<u32>(row, i)?.map(|v| Value::Int(i64::from(v)))
        } else if is_text(ty) {
            get::<String>(row, i)?.map(Value::Text)
        } else if *ty == Type::JSON || *ty == Type::JSONB {
            get::<JsonText>(row, i)?.map(|j| Value::Text(j.0))
        } else if *ty == Type::BOOL {
            get::<bool>(row, i)?.map(Value::Bool)
        } else if *ty == Type::BYTEA {
            get::<Vec<u8>>(row, i)?.map(Value::Bytes)
        } else if *ty == Type::DATE {
            get::<chrono::NaiveDate>(row, i)?.map(Value::Date)
        } else if *ty == Type::TIMESTAMPTZ {
            get::<chrono::DateTime<chrono::Utc>>(row, i)?.map(Value::Timestamp)
        } else if *ty == Type::TIMESTAMP {
            get::<chrono::NaiveDateTime>(row, i)?.map(|t| Value::Timestamp(t.and_utc()))
        } else {
            return Err(StoreError::Backend(format!(
                "column {} has type {ty}, which the store does not read (cast it)",
                column.name()
            )));
        };
        values.push(value.unwrap_or(Value::Null));
    }
    Ok(Row::new(columns.clone(), values))
}

/// Maps PostgreSQL's errors to the store's by SQLSTATE. The message and the
/// constraint's name are kept; the detail, which quotes the row's values,
/// is not.
pub(crate) fn map_err(e: postgres::Error) -> StoreError {
    let Some(db) = e.as_db_error() else {
        if e.is_closed() {
            return StoreError::Unavailable(e.to_string());
        }
        return StoreError::Backend(e.to_string());
    };
    let text = match db.constraint() {
        Some(constraint) => format!("{} ({constraint})", db.message()),
        None => db.message().to_owned(),
    };
    let code = db.code();
    if *code == SqlState::UNIQUE_VIOLATION {
        StoreError::Conflict(text)
    } else if *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED {
        StoreError::Serialization(text)
    } else if *code == SqlState::RAISE_EXCEPTION {
        StoreError::Refused(text)
    } else if *code == SqlState::LOCK_NOT_AVAILABLE {
        StoreError::Busy(text)
    } else if code.code().starts_with("23") || code.code().starts_with("22") {
        // Integrity constraints (check, foreign key, not null, exclusion)
        // and data exceptions (a value not of its column's format).
        StoreError::Constraint(text)
    } else if code.code().starts_with("08") || code.code().starts_with("57") {
        StoreError::Unavailable(text)
    } else {
        StoreError::Backend(format!("{text} [SQLSTATE {}]", code.code()))
    }
}
