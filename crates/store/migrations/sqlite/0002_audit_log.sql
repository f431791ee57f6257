-- The audit trail (SQLite): append-only and hash-chained. Row n holds
-- prev_hash = hash of row n − 1 (32 zero bytes for row 1) and
-- hash = SHA-256 over prev_hash and the row's canonical encoding (see
-- src/audit.rs and README.md). details is the JSON text exactly as hashed.
CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY CHECK (seq >= 1),
    at        TEXT NOT NULL CHECK (length(at) = 27 AND at GLOB
        '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL CHECK (length(action) > 0),
    subject   TEXT NOT NULL,
    details   TEXT NOT NULL CHECK (json_valid(details)),
    prev_hash BLOB NOT NULL CHECK (length(prev_hash) = 32),
    hash      BLOB NOT NULL UNIQUE CHECK (length(hash) = 32)
);

-- The head of the chain: the last seq and its hash. Appending updates it
-- first, which serializes appenders (SQLite: the write lock; PostgreSQL:
-- the row lock) and lets the verifier notice rows cut off the end.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL CHECK (seq >= 0),
    hash BLOB NOT NULL CHECK (length(hash) = 32)
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, zeroblob(32));

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
-- A row extends the head: its seq is the head's and its prev_hash the hash
-- the head held before this append (the appender advanced seq first).
CREATE TRIGGER audit_log_extends_head BEFORE INSERT ON audit_log
WHEN NEW.seq IS NOT (SELECT seq FROM audit_head WHERE id = 1)
    OR NEW.prev_hash IS NOT (SELECT hash FROM audit_head WHERE id = 1)
BEGIN
    SELECT RAISE(ABORT, 'an audit row must extend the head of the chain');
END;
CREATE TRIGGER audit_head_forward BEFORE UPDATE ON audit_head
WHEN NEW.seq < OLD.seq OR NEW.seq > OLD.seq + 1
BEGIN
    SELECT RAISE(ABORT, 'the audit head only moves forward, one row at a time');
END;
CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
BEGIN
    SELECT RAISE(ABORT, 'the audit head is never deleted');
END;
