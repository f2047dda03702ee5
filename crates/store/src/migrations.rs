//! Schema versions, applied in order inside one transaction each;
//! `PRAGMA user_version` records the last one applied.

use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE setting (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE camera (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    lat         REAL NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon         REAL NOT NULL CHECK (lon BETWEEN -180 AND 180),
    height_m    REAL,
    heading_deg REAL NOT NULL,
    fov_deg     REAL NOT NULL CHECK (fov_deg > 0 AND fov_deg <= 360),
    range_m     REAL NOT NULL CHECK (range_m >= 0),
    district    TEXT,
    tags        TEXT NOT NULL DEFAULT '[]',
    main_url    TEXT,
    sub_url     TEXT,
    status      TEXT NOT NULL DEFAULT 'unknown',
    updated_at  TEXT NOT NULL
);
CREATE INDEX camera_district ON camera (district);

-- Kept apart from `camera` so that no query that reads cameras can return them.
CREATE TABLE camera_credential (
    camera_id   TEXT NOT NULL REFERENCES camera (id) ON DELETE CASCADE,
    stream      TEXT NOT NULL CHECK (stream IN ('main', 'sub')),
    credentials TEXT NOT NULL,
    PRIMARY KEY (camera_id, stream)
);

CREATE TABLE district (
    name     TEXT PRIMARY KEY,
    geometry TEXT NOT NULL
);

CREATE TABLE user (
    username      TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL
);

CREATE TABLE user_grant (
    id         INTEGER PRIMARY KEY,
    username   TEXT NOT NULL REFERENCES user (username) ON DELETE CASCADE,
    role       TEXT NOT NULL,
    districts  TEXT,            -- JSON list, NULL for all districts
    expires_at TEXT
);
CREATE INDEX user_grant_username ON user_grant (username);

CREATE TABLE session (
    token_hash TEXT PRIMARY KEY,
    username   TEXT NOT NULL REFERENCES user (username) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY,
    time      TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    target    TEXT NOT NULL,
    purpose   TEXT,
    case_ref  TEXT,
    result    TEXT NOT NULL,
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);

CREATE TABLE audit_checkpoint (
    seq       INTEGER PRIMARY KEY,
    hash      TEXT NOT NULL,
    time      TEXT NOT NULL,
    signature TEXT NOT NULL
);
"#,
    r#"
-- Video: codec parameters shared by recordings.
CREATE TABLE video_params (
    id            INTEGER PRIMARY KEY,
    codec         TEXT NOT NULL,
    width         INTEGER NOT NULL,
    height        INTEGER NOT NULL,
    rfc6381_codec TEXT NOT NULL,
    extra_data    BLOB NOT NULL,
    par_h         INTEGER,
    par_v         INTEGER
);

-- A recording: a run of frames stored contiguously in one sample file,
-- with one codec configuration. Times are Unix time in 90 kHz units.
-- `frame_index` holds, per frame, varint(size << 1 | is_key) then
-- varint(duration_90k). A row is committed only after its file's bytes are
-- on disk (see docs/design/recording.md).
CREATE TABLE recording (
    id             INTEGER PRIMARY KEY,
    camera_id      TEXT NOT NULL,
    stream         TEXT NOT NULL CHECK (stream IN ('main', 'sub')),
    run_id         INTEGER NOT NULL,
    start_90k      INTEGER NOT NULL,
    duration_90k   INTEGER NOT NULL,
    frames         INTEGER NOT NULL,
    bytes          INTEGER NOT NULL,
    params_id      INTEGER NOT NULL REFERENCES video_params (id),
    file           TEXT NOT NULL UNIQUE,
    frame_index    BLOB NOT NULL
);
CREATE INDEX recording_camera_time ON recording (camera_id, stream, start_90k);

-- Sample files to delete: a row is written in the same transaction that
-- removes its recording, and removed after the file is gone.
CREATE TABLE garbage (
    file TEXT PRIMARY KEY
);
"#,
    r#"
-- Retention: per-camera limits that replace the configured defaults
-- (NULL: use the default).
CREATE TABLE retention_override (
    camera_id    TEXT PRIMARY KEY,
    max_age_days INTEGER CHECK (max_age_days > 0),
    max_bytes    INTEGER CHECK (max_bytes > 0)
);

-- A legal hold keeps a camera's recordings overlapping [start, end) (Unix
-- time, 90 kHz) from deletion until it expires or is released.
CREATE TABLE legal_hold (
    id          INTEGER PRIMARY KEY,
    camera_id   TEXT NOT NULL,
    start_90k   INTEGER NOT NULL,
    end_90k     INTEGER NOT NULL CHECK (end_90k > start_90k),
    purpose     TEXT NOT NULL CHECK (purpose <> ''),
    case_ref    TEXT NOT NULL CHECK (case_ref <> ''),
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
CREATE INDEX legal_hold_camera ON legal_hold (camera_id);

-- Retention deletes the oldest recordings first: of the whole disk, or of
-- one camera (both streams).
CREATE INDEX recording_start ON recording (start_90k);
CREATE INDEX recording_camera_start ON recording (camera_id, start_90k);
"#,
    r#"
-- Events: one row per event, in arrival order (id). `details` is a JSON
-- object. See crates/events.
CREATE TABLE event (
    id          INTEGER PRIMARY KEY,
    type        TEXT NOT NULL,
    time        TEXT NOT NULL,
    source_kind TEXT NOT NULL,
    source_id   TEXT NOT NULL,
    district    TEXT,
    lat         REAL,
    lon         REAL,
    details     TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE INDEX event_time ON event (time);
CREATE INDEX event_source ON event (source_id, id);
CREATE INDEX event_type ON event (type, id);

-- A rule's definition is a JSON RuleSpec (citywatch-model).
CREATE TABLE rule (
    id         INTEGER PRIMARY KEY,
    spec       TEXT NOT NULL,
    created_by TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE alert (
    id              INTEGER PRIMARY KEY,
    rule_id         INTEGER NOT NULL,
    rule_name       TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('new', 'acknowledged', 'resolved', 'false_alarm')),
    severity        TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    source_kind     TEXT NOT NULL,
    source_id       TEXT NOT NULL,
    district        TEXT,
    lat             REAL,
    lon             REAL,
    first_event_at  TEXT NOT NULL,
    last_event_at   TEXT NOT NULL,
    event_count     INTEGER NOT NULL,
    created_at      TEXT NOT NULL,
    acknowledged_by TEXT,
    acknowledged_at TEXT,
    closed_by       TEXT,
    closed_at       TEXT
);
CREATE INDEX alert_state ON alert (state, id);
CREATE INDEX alert_rule_open ON alert (rule_id, last_event_at) WHERE state IN ('new', 'acknowledged');

CREATE TABLE alert_event (
    alert_id INTEGER NOT NULL REFERENCES alert (id) ON DELETE CASCADE,
    event_id INTEGER NOT NULL,
    PRIMARY KEY (alert_id, event_id)
);
"#,
    r#"
-- Dispatch: units, the devices that report their positions, the position
-- trail, incidents with their units, timeline and checklist, and the
-- per-type procedures checklists are copied from.
CREATE TABLE unit (
    id           TEXT PRIMARY KEY,
    call_sign    TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('car', 'foot', 'motorbike')),
    officers     TEXT NOT NULL DEFAULT '[]',
    capabilities TEXT NOT NULL DEFAULT '[]',
    status       TEXT NOT NULL DEFAULT 'available',
    -- The newest fix by device time (the trail keeps them all).
    lat          REAL,
    lon          REAL,
    pos_time     TEXT,
    speed_mps    REAL,
    bearing_deg  REAL
);

-- A GPS device has no session: it proves itself with a token whose SHA-256
-- alone is kept.
CREATE TABLE unit_device (
    id         TEXT PRIMARY KEY,
    unit_id    TEXT NOT NULL REFERENCES unit (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX unit_device_unit ON unit_device (unit_id);

CREATE TABLE unit_position (
    id          INTEGER PRIMARY KEY,
    unit_id     TEXT NOT NULL REFERENCES unit (id) ON DELETE CASCADE,
    device_id   TEXT NOT NULL,
    lat         REAL NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon         REAL NOT NULL CHECK (lon BETWEEN -180 AND 180),
    time        TEXT NOT NULL,
    speed_mps   REAL,
    bearing_deg REAL,
    received_at TEXT NOT NULL,
    UNIQUE (device_id, time)
);
CREATE INDEX unit_position_unit_time ON unit_position (unit_id, time);

CREATE TABLE incident (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL,
    priority   INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 5),
    lat        REAL NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon        REAL NOT NULL CHECK (lon BETWEEN -180 AND 180),
    address    TEXT,
    state      TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'closed')),
    alert_id   INTEGER,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    closed_at  TEXT,
    flagged    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX incident_state ON incident (state);

CREATE TABLE incident_unit (
    incident_id INTEGER NOT NULL REFERENCES incident (id) ON DELETE CASCADE,
    unit_id     TEXT NOT NULL,
    assigned_by TEXT NOT NULL,
    assigned_at TEXT NOT NULL,
    released_at TEXT
);
CREATE INDEX incident_unit_incident ON incident_unit (incident_id);
CREATE INDEX incident_unit_unit ON incident_unit (unit_id, released_at);

CREATE TABLE incident_timeline (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incident (id) ON DELETE CASCADE,
    time        TEXT NOT NULL,
    actor       TEXT NOT NULL,
    kind        TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX incident_timeline_incident ON incident_timeline (incident_id, id);

CREATE TABLE procedure (
    incident_type TEXT PRIMARY KEY,
    steps         TEXT NOT NULL
);

-- Each incident's own copy of its procedure, so later edits to the
-- procedure do not rewrite what was asked of an earlier incident.
CREATE TABLE incident_checklist (
    incident_id INTEGER NOT NULL REFERENCES incident (id) ON DELETE CASCADE,
    step        INTEGER NOT NULL,
    text        TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'skipped')),
    by_user     TEXT,
    at          TEXT,
    PRIMARY KEY (incident_id, step)
);
"#,
    r#"
-- Hotlists: named lists of plates; a covert list is seen only by
-- supervisors. Plates are kept in their normalised form (A-Z, 0-9 only)
-- for matching, with the text as imported for display.
CREATE TABLE hotlist (
    name       TEXT PRIMARY KEY,
    covert     INTEGER NOT NULL DEFAULT 0,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE hotlist_entry (
    id         INTEGER PRIMARY KEY,
    list       TEXT NOT NULL REFERENCES hotlist (name) ON DELETE CASCADE,
    plate      TEXT NOT NULL,
    plate_key  TEXT NOT NULL,
    source     TEXT NOT NULL,
    reason     TEXT NOT NULL,
    priority   INTEGER NOT NULL CHECK (priority BETWEEN 0 AND 10),
    expires_at TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (list, plate_key)
);
CREATE INDEX hotlist_entry_key ON hotlist_entry (plate_key);

-- Plate reads: kept for search; those that hit no hotlist are purged after
-- a short window.
CREATE TABLE plate_read (
    id         INTEGER PRIMARY KEY,
    time       TEXT NOT NULL,
    camera_id  TEXT NOT NULL,
    district   TEXT,
    plate      TEXT NOT NULL,
    plate_key  TEXT NOT NULL,
    confidence REAL NOT NULL,
    lat        REAL,
    lon        REAL,
    track_id   INTEGER,
    crop_ref   TEXT,
    event_id   INTEGER,
    hit        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX plate_read_key ON plate_read (plate_key, time);
CREATE INDEX plate_read_time ON plate_read (hit, time);
"#,
    r#"
-- A unit's home district: who may see, recommend and assign it. Existing
-- units have none, so only all-district grants see them until an admin
-- gives each its district.
ALTER TABLE unit ADD COLUMN district TEXT;
"#,
    r#"
-- Unmask grants: a supervisor lets one user see faces in the live video
-- and snapshots of a few cameras until an expiry, for a stated purpose.
-- Revoked grants are kept (revoked_at set) so the list shows what was allowed.
CREATE TABLE unmask_grant (
    id         INTEGER PRIMARY KEY,
    grantee    TEXT NOT NULL,
    cameras    TEXT NOT NULL,
    purpose    TEXT NOT NULL CHECK (purpose <> ''),
    case_ref   TEXT NOT NULL CHECK (case_ref <> ''),
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT,
    revoked_by TEXT
);
CREATE INDEX unmask_grant_grantee ON unmask_grant (grantee, expires_at);
"#,
    r#"
-- Audit entries say how their hash covers them (docs/design/audit-log.md):
-- 1 = detail re-encoded as canonical JSON (entries written before this
-- migration), 2 = the stored text of time and detail, byte for byte.
ALTER TABLE audit_log ADD COLUMN encoding INTEGER NOT NULL DEFAULT 1;
"#,
    r#"
-- A fix that cannot be where its unit was (device clock far off, a jump no
-- unit of its kind can make) is kept in the trail with the reason, and
-- never becomes the unit's position. NULL: plausible.
ALTER TABLE unit_position ADD COLUMN implausible TEXT;
"#,
    r#"
-- The auditor follows one case reference, one user or one action across
-- the whole log, a page at a time in seq order: each filter finds its
-- rows through (column, seq) instead of reading every entry. Time ranges
-- alone go through the time index (times are fixed-width RFC 3339 text).
CREATE INDEX audit_log_case_ref ON audit_log (case_ref, seq) WHERE case_ref IS NOT NULL;
CREATE INDEX audit_log_actor ON audit_log (actor, seq);
CREATE INDEX audit_log_action ON audit_log (action, seq);
CREATE INDEX audit_log_target ON audit_log (target, seq);
CREATE INDEX audit_log_time ON audit_log (time);
"#,
    r#"
-- When each user last logged in, for the administrator's list of users
-- (set with the session a login creates; NULL: never since this column).
ALTER TABLE user ADD COLUMN last_login_at TEXT;
"#,
];

pub(crate) fn apply(conn: &mut Connection) -> rusqlite::Result<()> {
    let current: usize = conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))? as usize;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}
