-- Accounts: users (only the argon2id hash of a password), their grants,
-- and their sessions (only the SHA-256 of a session token).
CREATE TABLE app_user (
    username text PRIMARY KEY,
    password_hash text NOT NULL,
    disabled boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_login_at timestamptz
);

CREATE TABLE user_grant (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username text NOT NULL REFERENCES app_user (username) ON DELETE CASCADE,
    role text NOT NULL CHECK (role IN ('admin', 'supervisor', 'operator', 'dispatcher', 'officer', 'auditor')),
    -- A JSON list of district names; NULL for all districts.
    districts jsonb CHECK (districts IS NULL OR jsonb_typeof(districts) = 'array'),
    expires_at timestamptz
);
CREATE INDEX user_grant_username ON user_grant (username, id);

CREATE TABLE session (
    token_hash text PRIMARY KEY,
    username text NOT NULL REFERENCES app_user (username) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX session_username ON session (username);

-- How a node learns that sessions ended or a user was disabled elsewhere
-- (the command line, another node): every such commit moves this counter,
-- which each node polls to re-check its open streams at once.
CREATE TABLE sessions_change (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    version bigint NOT NULL
);
INSERT INTO sessions_change (one, version) VALUES (true, 0);

CREATE FUNCTION sessions_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE sessions_change SET version = version + 1;
    RETURN NULL;
END;
$$;
CREATE TRIGGER session_ended AFTER DELETE ON session
    FOR EACH STATEMENT EXECUTE FUNCTION sessions_changed();
CREATE TRIGGER user_disabled AFTER UPDATE OF disabled, password_hash ON app_user
    FOR EACH STATEMENT EXECUTE FUNCTION sessions_changed();
CREATE TRIGGER grant_changed AFTER INSERT OR DELETE OR UPDATE ON user_grant
    FOR EACH STATEMENT EXECUTE FUNCTION sessions_changed();
