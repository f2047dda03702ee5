-- Exceptional access to video: unmask grants (one user sees faces in a few
-- cameras until an expiry) and legal holds (a camera's recordings in a
-- range kept from retention). Each grant made or revoked and each hold
-- placed or released commits in one transaction with its audit entry.

-- Revoked grants are kept (revoked_at set) so the list shows what was allowed.
CREATE TABLE unmask_grant (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    grantee text NOT NULL,
    -- In the order given; the rules sort and deduplicate them.
    cameras text[] NOT NULL,
    purpose text NOT NULL CHECK (purpose <> ''),
    case_ref text NOT NULL CHECK (case_ref <> ''),
    created_by text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    revoked_by text,
    CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
);
-- The live, playback and snapshot routes ask for one user's grants in force.
CREATE INDEX unmask_grant_grantee ON unmask_grant (grantee, expires_at) WHERE revoked_at IS NULL;

-- A hold keeps a camera's recordings overlapping [start, end) (Unix time,
-- 90 kHz, as recordings) from deletion until it expires or is released;
-- releasing deletes the row (the audit log keeps what it was).
CREATE TABLE legal_hold (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    camera_id text NOT NULL,
    start_90k bigint NOT NULL,
    end_90k bigint NOT NULL CHECK (end_90k > start_90k),
    purpose text NOT NULL CHECK (purpose <> ''),
    case_ref text NOT NULL CHECK (case_ref <> ''),
    created_by text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX legal_hold_camera ON legal_hold (camera_id);
