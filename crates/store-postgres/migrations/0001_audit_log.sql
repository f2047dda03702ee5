-- The audit log: one hash chain, written by every node of a cluster.
-- Rows are only ever appended (the trigger below); the chain and the
-- signed checkpoints, not this schema, are what prove that.
CREATE TABLE audit_log (
    seq bigint PRIMARY KEY CHECK (seq > 0),
    time timestamptz NOT NULL,
    actor text NOT NULL,
    action text NOT NULL,
    target text NOT NULL,
    purpose text,
    case_ref text,
    result text NOT NULL,
    -- The canonical JSON text the hash covers, byte for byte: text, not
    -- jsonb, which would re-encode it.
    detail text NOT NULL,
    prev_hash text NOT NULL,
    hash text NOT NULL,
    encoding smallint NOT NULL
);

-- One index per filter of the auditor's screen, ordered by seq within it.
CREATE INDEX audit_log_case_ref ON audit_log (case_ref, seq);
CREATE INDEX audit_log_actor ON audit_log (actor, seq);
CREATE INDEX audit_log_action ON audit_log (action, seq);
CREATE INDEX audit_log_target ON audit_log (target, seq);
CREATE INDEX audit_log_time ON audit_log (time);

-- The head of the chain, one row. An append locks it (SELECT ... FOR
-- UPDATE) for the length of its transaction, so appends from every
-- connection of every node are serialised by the database itself.
CREATE TABLE audit_chain_head (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    seq bigint NOT NULL,
    hash text NOT NULL
);
INSERT INTO audit_chain_head (one, seq, hash) VALUES (true, 0, '');

CREATE TABLE audit_checkpoint (
    seq bigint PRIMARY KEY,
    hash text NOT NULL,
    time timestamptz NOT NULL,
    signature text NOT NULL
);

-- An entry, once written, is never changed or removed by Citywatch. The
-- trigger turns a mistaken UPDATE or DELETE into an error; the owner of
-- the table can still drop it, which verification then catches.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % of seq % refused', TG_OP, OLD.seq;
END;
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_checkpoint_append_only BEFORE UPDATE OR DELETE ON audit_checkpoint
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
