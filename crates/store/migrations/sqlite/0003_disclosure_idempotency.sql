-- The disclosure log and idempotency records (SQLite).

-- 開示記録: every access to a resident's My Number or records, by whom and
-- why; the holder sees it in the portal. fields: JSON array of the field
-- names disclosed. Append-only.
CREATE TABLE disclosure_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT NOT NULL CHECK (length(at) = 27),
    actor       TEXT NOT NULL CHECK (length(actor) > 0),
    resident_id INTEGER NOT NULL REFERENCES residents (id),
    purpose     TEXT NOT NULL CHECK (length(purpose) > 0),
    fields      TEXT NOT NULL CHECK (json_valid(fields) AND json_type(fields) = 'array')
);
CREATE INDEX disclosure_log_resident ON disclosure_log (resident_id, at);
CREATE TRIGGER disclosure_log_no_update BEFORE UPDATE ON disclosure_log
BEGIN
    SELECT RAISE(ABORT, 'disclosure_log is append-only');
END;
CREATE TRIGGER disclosure_log_no_delete BEFORE DELETE ON disclosure_log
BEGIN
    SELECT RAISE(ABORT, 'disclosure_log is append-only');
END;

-- Idempotency records: the response of each operation by its key, with
-- the SHA-256 of the request it answered.
CREATE TABLE idempotency (
    key          TEXT PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 200),
    operation    TEXT NOT NULL CHECK (length(operation) > 0),
    request_hash BLOB NOT NULL CHECK (length(request_hash) = 32),
    response     TEXT NOT NULL CHECK (json_valid(response)),
    created_at   TEXT NOT NULL CHECK (length(created_at) = 27)
);
CREATE INDEX idempotency_created ON idempotency (created_at);
