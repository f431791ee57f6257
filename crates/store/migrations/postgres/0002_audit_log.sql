-- The audit trail (PostgreSQL): append-only and hash-chained; see
-- migrations/sqlite/0002 and src/audit.rs. details is TEXT (not JSONB) so
-- that the bytes hashed are the bytes kept.
CREATE TABLE audit_log (
    seq       BIGINT PRIMARY KEY CHECK (seq >= 1),
    at        TIMESTAMPTZ NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL CHECK (length(action) > 0),
    subject   TEXT NOT NULL,
    details   TEXT NOT NULL CHECK ((details::jsonb) IS NOT NULL),
    prev_hash BYTEA NOT NULL CHECK (length(prev_hash) = 32),
    hash      BYTEA NOT NULL UNIQUE CHECK (length(hash) = 32)
);

CREATE TABLE audit_head (
    id   SMALLINT PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL CHECK (seq >= 0),
    hash BYTEA NOT NULL CHECK (length(hash) = 32)
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, decode(repeat('00', 32), 'hex'));

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP;
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

CREATE FUNCTION audit_log_extends_head() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    head audit_head%ROWTYPE;
BEGIN
    SELECT * INTO head FROM audit_head WHERE id = 1;
    IF NEW.seq IS DISTINCT FROM head.seq OR NEW.prev_hash IS DISTINCT FROM head.hash THEN
        RAISE EXCEPTION 'an audit row must extend the head of the chain';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_log_extends_head BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_extends_head();

CREATE FUNCTION audit_head_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' THEN
        RAISE EXCEPTION 'the audit head is never deleted';
    END IF;
    IF NEW.seq < OLD.seq OR NEW.seq > OLD.seq + 1 THEN
        RAISE EXCEPTION 'the audit head only moves forward, one row at a time';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_head_guard BEFORE UPDATE OR DELETE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION audit_head_guard();
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
