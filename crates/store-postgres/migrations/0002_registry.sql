-- The camera registry: cameras, their sealed stream credentials, and the
-- districts that scope who may see and manage them. Each camera change
-- commits in one transaction with the audit entry recording it.
CREATE TABLE camera (
    id text PRIMARY KEY,
    name text NOT NULL,
    lat double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
    height_m double precision,
    heading_deg double precision NOT NULL,
    fov_deg double precision NOT NULL CHECK (fov_deg > 0 AND fov_deg <= 360),
    range_m double precision NOT NULL CHECK (range_m >= 0),
    district text,
    tags jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(tags) = 'array'),
    main_url text,
    sub_url text,
    status text NOT NULL DEFAULT 'unknown' CHECK (status IN ('online', 'offline', 'unknown', 'disabled')),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX camera_district ON camera (district);

-- Kept apart from `camera` so that no query that reads cameras can return
-- them; sealed with the node's credential key (`sealed:v1:…`).
CREATE TABLE camera_credential (
    camera_id text NOT NULL REFERENCES camera (id) ON DELETE CASCADE,
    stream text NOT NULL CHECK (stream IN ('main', 'sub')),
    credentials text NOT NULL,
    PRIMARY KEY (camera_id, stream)
);

CREATE TABLE district (
    name text PRIMARY KEY,
    geometry jsonb NOT NULL
);

-- How the nodes of a cluster learn that another node changed the
-- registry: every committed change to a camera or district moves this
-- one-row counter, which each node's registry polls and reloads on.
CREATE TABLE registry_change (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    version bigint NOT NULL
);
INSERT INTO registry_change (one, version) VALUES (true, 0);

CREATE FUNCTION registry_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE registry_change SET version = version + 1;
    RETURN NULL;
END;
$$;
CREATE TRIGGER camera_changed AFTER INSERT OR UPDATE OR DELETE ON camera
    FOR EACH STATEMENT EXECUTE FUNCTION registry_changed();
CREATE TRIGGER district_changed AFTER INSERT OR UPDATE OR DELETE ON district
    FOR EACH STATEMENT EXECUTE FUNCTION registry_changed();
