-- Dispatch: units, the devices that report their positions, the position
-- trail, incidents with their units, timeline and checklist, and the
-- per-type procedures checklists are copied from. Each change a person
-- makes commits in one transaction with the audit entry recording it; a
-- unit's fixes are observations and are not audited one by one (the trail
-- is the record). Times are timestamptz: SQLite keeps them as fixed-width
-- RFC 3339 text in UTC, whose text order is this time order.
CREATE TABLE unit (
    id text PRIMARY KEY,
    call_sign text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('car', 'foot', 'motorbike')),
    officers jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(officers) = 'array'),
    capabilities jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(capabilities) = 'array'),
    status text NOT NULL DEFAULT 'available'
        CHECK (status IN ('available', 'dispatched', 'en_route', 'on_scene', 'out_of_service')),
    -- The home district: who may see, recommend and assign the unit.
    district text,
    -- The newest believed fix by device time (the trail keeps them all).
    lat double precision,
    lon double precision,
    pos_time timestamptz,
    speed_mps double precision,
    bearing_deg double precision
);

-- A GPS device has no session: it proves itself with a token whose SHA-256
-- alone is kept.
CREATE TABLE unit_device (
    id text PRIMARY KEY,
    unit_id text NOT NULL REFERENCES unit (id) ON DELETE CASCADE,
    token_hash text NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX unit_device_unit ON unit_device (unit_id);

CREATE TABLE unit_position (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    unit_id text NOT NULL REFERENCES unit (id) ON DELETE CASCADE,
    device_id text NOT NULL,
    lat double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
    time timestamptz NOT NULL,
    speed_mps double precision,
    bearing_deg double precision,
    received_at timestamptz NOT NULL,
    -- Why the fix was not believed; NULL: plausible.
    implausible text CHECK (implausible IN ('too_old', 'ahead_of_clock', 'too_fast')),
    -- A device's second fix with the same time is a duplicate.
    UNIQUE (device_id, time)
);
CREATE INDEX unit_position_unit_time ON unit_position (unit_id, time);

CREATE TABLE incident (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind text NOT NULL,
    priority smallint NOT NULL CHECK (priority BETWEEN 1 AND 5),
    lat double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
    address text,
    state text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'closed')),
    alert_id bigint,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL,
    closed_at timestamptz,
    flagged boolean NOT NULL DEFAULT false
);
CREATE INDEX incident_state ON incident (state);

-- Not a foreign key to unit: an incident keeps its record of a unit
-- deleted since.
CREATE TABLE incident_unit (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id bigint NOT NULL REFERENCES incident (id) ON DELETE CASCADE,
    unit_id text NOT NULL,
    assigned_by text NOT NULL,
    assigned_at timestamptz NOT NULL,
    released_at timestamptz
);
CREATE INDEX incident_unit_incident ON incident_unit (incident_id);
CREATE INDEX incident_unit_unit ON incident_unit (unit_id, released_at);

CREATE TABLE incident_timeline (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id bigint NOT NULL REFERENCES incident (id) ON DELETE CASCADE,
    time timestamptz NOT NULL,
    actor text NOT NULL,
    kind text NOT NULL,
    detail jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX incident_timeline_incident ON incident_timeline (incident_id, id);

CREATE TABLE procedure (
    incident_type text PRIMARY KEY,
    steps jsonb NOT NULL CHECK (jsonb_typeof(steps) = 'array')
);

-- Each incident's own copy of its procedure, so later edits to the
-- procedure do not rewrite what was asked of an earlier incident.
CREATE TABLE incident_checklist (
    incident_id bigint NOT NULL REFERENCES incident (id) ON DELETE CASCADE,
    step integer NOT NULL,
    text text NOT NULL,
    state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'skipped')),
    by_user text,
    at timestamptz,
    PRIMARY KEY (incident_id, step)
);
