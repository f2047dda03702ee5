//! The OpenAPI 3.1 document, generated from one table of operations so that
//! a route cannot be documented without saying who may call it. The
//! authorization tests walk the same table.

use axum::Json;
use serde_json::{json, Map, Value};

/// Who may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Public,
    /// Any logged-in user.
    Session,
    /// Holders of this permission (see `citywatch_audit::Permission::roles`).
    Needs(citywatch_audit::Permission),
    /// Holders of this permission over all districts.
    NeedsAllDistricts(citywatch_audit::Permission),
    /// Holders of either permission.
    NeedsEither(citywatch_audit::Permission, citywatch_audit::Permission),
    /// A registered GPS device's own token (`token=` or `Authorization:
    /// Bearer`); no user session is accepted.
    DeviceToken,
}

pub struct Operation {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    pub access: Access,
    pub params: &'static [(&'static str, &'static str)],
    pub body: Option<&'static str>,
}

use citywatch_audit::Permission::*;
use Access::*;

/// The filters of the audit log's reads and exports (each matches exactly).
const AUDIT_FILTERS: [(&str, &str); 7] = [
    ("actor", "who did it (user name)"),
    ("action", "e.g. video.playback, plate.search, legal_hold.create"),
    ("target", "what it was done to (camera id, query, ...)"),
    ("case_ref", "the case or incident reference given"),
    ("result", "ok, denied, refused or failed"),
    ("from", "RFC 3339, inclusive"),
    ("to", "RFC 3339, exclusive"),
];

pub const OPERATIONS: &[Operation] = &[
    Operation { method: "get", path: "/health", summary: "Liveness", access: Public, params: &[], body: None },
    Operation { method: "get", path: "/api/openapi.json", summary: "This document", access: Public, params: &[], body: None },
    Operation { method: "post", path: "/api/v1/auth/login", summary: "Log in; returns a bearer token and sets an HttpOnly session cookie. The body is at most 8 KiB (413) and the username 1 to 64 printable characters (400). Throttled before the password is checked (429 with Retry-After): per client address (a burst of 30, then one a second; successful logins do not count), and per username and address (after 5 failures, waits of 1 s, 2 s, 4 s ... up to 15 min), so failures elsewhere never lock an account. Audited; refusals and repeated failures from one address are counted into one summary entry.", access: Public, params: &[], body: Some("{\"username\", \"password\"}") },
    Operation { method: "post", path: "/api/v1/auth/logout", summary: "End the session", access: Session, params: &[], body: None },
    Operation { method: "get", path: "/api/v1/me", summary: "The caller, the grants in force and the permissions they give (read_cameras, read_audit, ...: what the console builds its views from)", access: Session, params: &[], body: None },
    Operation { method: "get", path: "/api/v1/console/config", summary: "Map settings for the console (style_url, center, zoom) and blurred_max_span_s: the longest range one view.mp4 may cover when faces in it are blurred", access: Session, params: &[], body: None },
    Operation { method: "get", path: "/api/v1/basemap", summary: "Offline base layer: streets and the caller's districts (GeoJSON)", access: Session, params: &[], body: None },
    Operation { method: "get", path: "/api/v1/cameras", summary: "Cameras in the caller's districts; with one spatial filter, those matching it with distance_m, nearest first. Spatial queries are audited.", access: Needs(ReadCameras),
        params: &[("near", "LAT,LON; with radius_m: cameras within radius_m metres"), ("radius_m", "metres, 0..50000"), ("nearest", "LAT,LON; the k nearest"), ("k", "1..1000, default 5"), ("bbox", "MINLON,MINLAT,MAXLON,MAXLAT"), ("sees", "LAT,LON; cameras whose field of view contains the point")], body: None },
    Operation { method: "post", path: "/api/v1/cameras", summary: "Create a camera (strict body: unknown fields are refused). Credentials in URLs are stored apart and never returned.", access: Needs(ManageCameras), params: &[], body: Some("Camera") },
    Operation { method: "post", path: "/api/v1/cameras/search", summary: "Cameras inside a GeoJSON Polygon/MultiPolygon, or within within_m of a LineString route", access: Needs(ReadCameras), params: &[("within_m", "metres from the route, default 50, max 5000")], body: Some("GeoJSON geometry") },
    Operation { method: "post", path: "/api/v1/cameras/import", summary: "Bulk import: GeoJSON FeatureCollection of Points, or CSV with Content-Type text/csv. Reports the first bad rows' problems (errors, 100 by default) and counts them all (error_count, bad_rows); atomic=true applies nothing if any row is bad (422). A file over the row cap (200,000 by default) is refused whole (413).", access: Needs(ManageCameras), params: &[("atomic", "true or false (default)")], body: Some("GeoJSON or CSV") },
    Operation { method: "get", path: "/api/v1/cameras/export", summary: "The caller's cameras as a GeoJSON FeatureCollection", access: Needs(ReadCameras), params: &[], body: None },
    Operation { method: "get", path: "/api/v1/cameras/{id}", summary: "One camera (404 outside the caller's districts)", access: Needs(ReadCameras), params: &[], body: None },
    Operation { method: "put", path: "/api/v1/cameras/{id}", summary: "Replace a camera. Stream credentials are write-only: a URL given with user:password@ sets them, the same URL without them keeps those stored, another URL without them drops them", access: Needs(ManageCameras), params: &[], body: Some("Camera") },
    Operation { method: "delete", path: "/api/v1/cameras/{id}", summary: "Delete a camera", access: Needs(ManageCameras), params: &[], body: None },
    Operation { method: "get", path: "/api/v1/cameras/{id}/recordings", summary: "Recorded spans and gaps of a camera between start and end (RFC 3339)", access: Needs(ReadCameras), params: &[("start", "RFC 3339"), ("end", "RFC 3339, at most 24 h after start"), ("stream", "main (default) or sub")], body: None },
    Operation { method: "get", path: "/api/v1/cameras/{id}/view.mp4", summary: "A standard MP4 of any recorded range, built on the fly without transcoding; supports Range requests (one bytes= range: 400 if malformed, 416 past the end). Without an unmask grant (ViewUnmasked) covering the camera, faces are blurred instead: a fragmented MP4 transcoded as it is sent (200, chunked, Accept-Ranges: none; a range past bytes=0- is 416), at most [video] max_blurred_minutes (default 15; 422), 503 without a face model or past [video] max_blurred_streams, never the recording. Requires purpose and case_ref; every response that carries video is audited (video.playback: faces blurred|shown, and the bytes served).", access: Needs(PlayRecordings), params: &[("start", "RFC 3339"), ("end", "RFC 3339, at most 24 h after start"), ("stream", "main (default) or sub"), ("purpose", "why the video is viewed (required)"), ("case_ref", "case or incident reference (required)")], body: None },
    Operation { method: "get", path: "/api/v1/cameras/{id}/health", summary: "Ingest health of the camera's streams: state, frames, bytes, fps and bit rate over the last ~10 s, last frame time, reconnects, failures, dropped frames, last error; bytes recorded", access: Needs(ReadCameras), params: &[], body: None },
    Operation { method: "get", path: "/api/v1/cameras/{id}/retention", summary: "The camera's own retention limits (null: the configured default)", access: Needs(ReadCameras), params: &[], body: None },
    Operation { method: "put", path: "/api/v1/cameras/{id}/retention", summary: "Set the camera's retention limits; null restores the default. Audited.", access: Needs(ManageCameras), params: &[], body: Some("{\"max_age_days\": n|null, \"max_bytes\": n|null}") },
    Operation { method: "get", path: "/api/v1/legal-holds", summary: "Legal holds on cameras in the caller's districts, active and expired", access: Needs(ManageLegalHolds), params: &[], body: None },
    Operation { method: "post", path: "/api/v1/legal-holds", summary: "Keep a camera's recordings in [start, end) from retention until expires_at (required, in the future). Requires purpose and case_ref; audited.", access: Needs(ManageLegalHolds), params: &[], body: Some("{\"camera_id\", \"start\", \"end\", \"purpose\", \"case_ref\", \"expires_at\"} (times RFC 3339)") },
    Operation { method: "delete", path: "/api/v1/legal-holds/{id}", summary: "Release a legal hold; audited", access: Needs(ManageLegalHolds), params: &[], body: None },
    Operation { method: "get", path: "/api/v1/unmask-grants", summary: "Unmask grants (active, expired and revoked): a supervisor sees those naming cameras of their districts, an auditor all; each with uses (the views made under it, from the audit log) and last_used", access: Needs(ReadUnmaskGrants), params: &[], body: None },
    Operation { method: "post", path: "/api/v1/unmask-grants", summary: "Let one user see faces unblurred in the live video and event snapshots of cameras of the caller's districts until expires_at (required, at most 12 h ahead). Requires purpose and case_ref; audited, and so is each view under the grant. Open live views are re-checked periodically, so revocation or expiry re-blurs them.", access: Needs(GrantUnmask), params: &[], body: Some("{\"grantee\", \"camera_ids\": [..] or \"incident_id\" (the cameras that see the incident, else those within 150 m, of the caller's districts), \"expires_at\" (RFC 3339), \"purpose\", \"case_ref\"}") },
    Operation { method: "delete", path: "/api/v1/unmask-grants/{id}", summary: "Revoke an unmask grant (409 if already revoked); audited", access: Needs(GrantUnmask), params: &[], body: None },
    Operation { method: "get", path: "/api/v1/oversight/sensitive-reads", summary: "The day's sensitive reads in the caller's districts, newest first: playbacks, incident exports, plate searches, unit trail reads and views with faces unblurred, each with seq, time, actor, action, kind (playback, export, plate_search, trail, unmasked_view, snapshot), target, camera_id, purpose, case_ref, result and faces. In the caller's districts: by the camera's district, the unit's home district or the incident's place; a plate search when the searcher's plate-search grants reach one of them. truncated is true past 5,000 entries of the day. Audited.", access: Needs(OverseeSensitiveReads), params: &[("date", "the day, YYYY-MM-DD (default today)"), ("tz_offset_min", "the caller's time zone in minutes east of UTC, -840..840 (default 0)")], body: None },
    Operation { method: "get", path: "/metrics", summary: "Prometheus metrics (text format): per-stream state, frames, bytes, fps, bit rate, last frame age, reconnects, dropped frames; recorded bytes per camera; retention deletions; GPS fixes received and refused by reason (citywatch_avl_*). Needs an admin or supervisor session over all districts, or 'Authorization: Bearer <[metrics] token from citywatch.toml>'.", access: NeedsAllDistricts(ReadMetrics), params: &[], body: None },
    Operation { method: "get", path: "/api/v1/health/overview", summary: "The health wall: for the cameras in the caller's districts, each one's state (offline first, with last_seen; unknown: recorded here but never connected; not_recorded: this server does not connect to it; disabled), its streams as /cameras/{id}/health shows them, dropped frames, recording gaps of the last 24 h from the index (from its first recording if later), and analytics lag and skipped pictures; totals per state; events and alerts of the last 5 min and hour in the caller's districts; and, only with read_metrics over all districts, the video directory's recorded bytes, free bytes, write rate and time to full at that rate (otherwise disk is null). Not audited.", access: Needs(ReadCameras), params: &[], body: None },
    Operation { method: "get", path: "/api/v1/live", summary: "WebSocket (fMP4 for Media Source Extensions): one socket carries several cameras. Client text {\"subscribe\": CAMERA_ID, \"stream\": \"auto|main|sub\"} / {\"unsubscribe\": CHANNEL}; server text {\"subscribed\", \"channel\"}, {\"channel\", \"mime\"} and binary [channel byte][fMP4 init segment or fragment]. Without an unmask grant (ViewUnmasked) covering the camera, faces are pixelated server-side (or the subscription is refused when that cannot be done); {\"faces\": \"blurred|shown\"} says which. Each subscription is audited (video.live). See docs/design/live.md.", access: Needs(ViewLive), params: &[], body: None },
    Operation { method: "get", path: "/api/v1/districts", summary: "Districts in the caller's scope (GeoJSON)", access: Needs(ReadCameras), params: &[], body: None },
    Operation { method: "put", path: "/api/v1/districts/{name}", summary: "Create or replace a district (GeoJSON Polygon or MultiPolygon)", access: NeedsAllDistricts(ManageDistricts), params: &[], body: Some("GeoJSON geometry") },
    Operation { method: "get", path: "/api/v1/users", summary: "Users with their grants, open_sessions (unexpired sessions now) and last_login_at (null: never)", access: NeedsAllDistricts(ManageUsers), params: &[], body: None },
    Operation { method: "post", path: "/api/v1/users", summary: "Create a user with optional grants; the password needs at least 12 characters, not only blanks (422 otherwise); admin and auditor never together (409, audited)", access: NeedsAllDistricts(ManageUsers), params: &[], body: Some("{\"username\", \"password\", \"grants\": [{\"role\", \"districts\", \"expires_at\"}]}") },
    Operation { method: "put", path: "/api/v1/users/{username}/password", summary: "Set a user's password (at least 12 characters, not only blanks; 422 otherwise) and end every session of the user (204). Audited.", access: NeedsAllDistricts(ManageUsers), params: &[], body: Some("{\"password\"}") },
    Operation { method: "post", path: "/api/v1/users/{username}/disable", summary: "Disable a user: logins are refused and every session ends (open WebSockets close within about a second). Not one's own account (409). Audited.", access: NeedsAllDistricts(ManageUsers), params: &[], body: None },
    Operation { method: "post", path: "/api/v1/users/{username}/enable", summary: "Let a disabled user log in again. Audited.", access: NeedsAllDistricts(ManageUsers), params: &[], body: None },
    Operation { method: "post", path: "/api/v1/users/{username}/sessions/end", summary: "End every session of a user without disabling the account (open WebSockets close within about a second); answers sessions_ended. The user may log in again. Audited.", access: NeedsAllDistricts(ManageUsers), params: &[], body: None },
    Operation { method: "post", path: "/api/v1/users/{username}/grants", summary: "Give a role, scoped to districts (null = all), optionally expiring. Never to oneself (403), and never admin beside auditor on one account (409); refusals are audited", access: NeedsAllDistricts(ManageUsers), params: &[], body: Some("{\"role\", \"districts\", \"expires_at\"}") },
    Operation { method: "delete", path: "/api/v1/users/{username}/grants/{id}", summary: "Take a grant away; it ends with the user's next request. Not one's own last admin grant over all districts (409, audited).", access: NeedsAllDistricts(ManageUsers), params: &[], body: None },
    Operation { method: "get", path: "/api/v1/audit", summary: "Page through the audit log up to a fixed head, filtered on the server (auditors only; the read is itself audited, one entry per walk). The first page answers head_seq; pass it back with after_seq=next_after_seq on later pages, which never go past it; next_after_seq is null on the last page", access: Needs(ReadAudit), params: &[("after_seq", "entries after this seq, default 0"), ("limit", "1..1000, default 100"), ("head_seq", "the head_seq of the walk's first page; default: the log's head now"), AUDIT_FILTERS[0], AUDIT_FILTERS[1], AUDIT_FILTERS[2], AUDIT_FILTERS[3], AUDIT_FILTERS[4], AUDIT_FILTERS[5], AUDIT_FILTERS[6]], body: None },
    Operation { method: "get", path: "/api/v1/audit/verify", summary: "Verify the whole audit chain and every signed checkpoint against the server's public key: verified, entries, checkpoints, last_checkpoint {seq, hash, time, signature}, public_key and public_key_sha256 (its fingerprint); or verified false with the first failure {seq, reason}. Audited.", access: Needs(ReadAudit), params: &[], body: None },
    Operation { method: "get", path: "/api/v1/audit/export", summary: "Every entry matching the filters up to the log's head now, as a download: JSON {head_seq, filters, entries, checkpoint} or CSV (one row per entry, then a '# checkpoint ...' line). The checkpoint is the first signed one at or after the last exported entry (signed on the spot if none is yet), with the public key and its SHA-256. More than 200,000 matching entries: 413, narrow the filter. Audited.", access: Needs(ReadAudit), params: &[("format", "csv or json (default)"), AUDIT_FILTERS[0], AUDIT_FILTERS[1], AUDIT_FILTERS[2], AUDIT_FILTERS[3], AUDIT_FILTERS[4], AUDIT_FILTERS[5], AUDIT_FILTERS[6]], body: None },
    Operation { method: "post", path: "/api/v1/events", summary: "Raise an event; it is stored durably, run through the rules and published (bus, MQTT, webhooks) before the answer (201). A camera source must be in the caller's districts; a unit source needs a grant over all districts; {\"kind\": \"user\"} is the caller. Types only the server raises (plate_read, hotlist_hit, camera_offline, camera_online, unit_position, incident_change) and details only it writes (snapshot, persons) are refused (422). Audited.", access: Needs(RaiseEvents), params: &[], body: Some("{\"type\": motion|object|zone|line_crossing|camera_tamper, \"time\": RFC 3339 (default now), \"source\": {\"kind\": camera|unit|user, \"id\"}, \"location\": {\"lat\", \"lon\"}, \"details\": {...}}") },
    Operation { method: "get", path: "/api/v1/events/{id}/snapshot.jpg", summary: "The JPEG an analytics event was raised on (a file of that camera's own, named by the server), for a camera in the caller's districts. Faces are pixelated unless the caller holds an unmask grant (supervisor) over the camera's district; 503 if faces cannot be blurred on this server. Plate reads' and hotlist hits' snapshots need purpose and case_ref. Every view is audited, saying whether faces were shown.", access: Needs(ReadEvents), params: &[("purpose", "why (plate-bearing events)"), ("case_ref", "case or incident reference (plate-bearing events)")], body: None },
    Operation { method: "get", path: "/api/v1/events", summary: "Events in the caller's districts (events without a district, e.g. from units or users, need a grant over all districts), newest first, paged with before_id. Plate reads and hotlist hits only with purpose and case_ref (a plate search, audited); otherwise left out and listed in omitted_types.", access: Needs(ReadEvents), params: &[("type", "comma-separated event types"), ("source", "source id (camera or unit id, user name)"), ("source_kind", "camera, unit, user or system"), ("from", "RFC 3339, inclusive"), ("to", "RFC 3339, exclusive"), ("before_id", "events with a smaller id (next_before_id of the previous page)"), ("limit", "1..1000, default 100"), ("purpose", "why plate-bearing events are read"), ("case_ref", "case or incident reference")], body: None },
    Operation { method: "get", path: "/api/v1/rules", summary: "Alert rules", access: NeedsAllDistricts(ManageRules), params: &[], body: None },
    Operation { method: "post", path: "/api/v1/rules", summary: "Create an alert rule (strict body). Audited.", access: NeedsAllDistricts(ManageRules), params: &[], body: Some("{\"name\", \"enabled\", \"event_types\": [..], \"cameras\": [..], \"districts\": [..], \"area\": {\"lat\", \"lon\", \"radius_m\"}, \"schedule\": {\"days\": [1..7], \"start_hour\", \"end_hour\"} (UTC), \"min_hotlist_priority\", \"severity\": extreme|severe|moderate|minor, \"correlation_window_s\", \"correlation_radius_m\"}") },
    Operation { method: "get", path: "/api/v1/rules/{id}", summary: "One alert rule", access: NeedsAllDistricts(ManageRules), params: &[], body: None },
    Operation { method: "put", path: "/api/v1/rules/{id}", summary: "Replace an alert rule. Audited.", access: NeedsAllDistricts(ManageRules), params: &[], body: Some("Rule (as for POST)") },
    Operation { method: "delete", path: "/api/v1/rules/{id}", summary: "Delete an alert rule (its alerts stay). Audited.", access: NeedsAllDistricts(ManageRules), params: &[], body: None },
    Operation { method: "get", path: "/api/v1/alerts", summary: "Alerts in the caller's districts, newest first", access: Needs(HandleAlerts), params: &[("state", "new, acknowledged, resolved or false_alarm"), ("before_id", "alerts with a smaller id"), ("limit", "1..1000, default 100")], body: None },
    Operation { method: "get", path: "/api/v1/alerts/stream", summary: "WebSocket: JSON text {\"kind\": new|updated|state, \"alert\"} for every alert in the caller's districts as it is raised, joined by more events, or handled; {\"kind\": \"lagged\", \"missed\": n} if the console fell behind. Audited once per connection.", access: Needs(HandleAlerts), params: &[], body: None },
    Operation { method: "get", path: "/api/v1/alerts/{id}", summary: "One alert with the ids of its events", access: Needs(HandleAlerts), params: &[], body: None },
    Operation { method: "post", path: "/api/v1/alerts/{id}/acknowledge", summary: "new -> acknowledged (409 from any other state). Audited.", access: Needs(HandleAlerts), params: &[], body: None },
    Operation { method: "post", path: "/api/v1/alerts/{id}/resolve", summary: "acknowledged -> resolved (409 from any other state). Audited.", access: Needs(HandleAlerts), params: &[], body: None },
    Operation { method: "post", path: "/api/v1/alerts/{id}/false-alarm", summary: "acknowledged -> false_alarm (409 from any other state). Audited.", access: Needs(HandleAlerts), params: &[], body: None },
    Operation { method: "get", path: "/api/v1/alerts/{id}/cap.xml", summary: "The alert as an OASIS CAP 1.2 message (application/cap+xml). Audited.", access: Needs(HandleAlerts), params: &[], body: None },
    Operation { method: "get", path: "/api/v1/units", summary: "Dispatch units homed in the caller's districts (units without a home district: all-district grants only) with status, officers, capabilities, district and current position", access: Needs(ReadDispatch), params: &[], body: None },
    Operation { method: "post", path: "/api/v1/units", summary: "Create a unit (strict body); its home district must exist and be in the caller's districts (403 otherwise). Audited.", access: Needs(ManageUnits), params: &[], body: Some("{\"id\", \"call_sign\", \"district\", \"kind\": car|foot|motorbike, \"officers\": [usernames], \"capabilities\": [..]}") },
    Operation { method: "put", path: "/api/v1/units/{id}", summary: "Change a unit's call sign, kind, officers, capabilities and home district (404 for a unit outside the caller's districts). Audited.", access: Needs(ManageUnits), params: &[], body: Some("{\"district\", \"call_sign\", \"kind\", \"officers\", \"capabilities\"}") },
    Operation { method: "delete", path: "/api/v1/units/{id}", summary: "Delete a unit (409 while it is on an open incident). Audited.", access: Needs(ManageUnits), params: &[], body: None },
    Operation { method: "post", path: "/api/v1/units/{id}/devices", summary: "Register a GPS device for the unit; answers its token once (only the hash is kept; registering again re-keys). Audited.", access: Needs(ManageUnits), params: &[], body: Some("{\"device_id\"}") },
    Operation { method: "get", path: "/api/v1/units/{id}/trail", summary: "The unit's position trail in [start, end) (at most 7 days, 10,000 points). Requires purpose and case_ref; audited.", access: Needs(ReadDispatch), params: &[("start", "RFC 3339"), ("end", "RFC 3339"), ("purpose", "why the trail is read (required)"), ("case_ref", "case or incident reference (required)")], body: None },
    Operation { method: "post", path: "/api/v1/units/{id}/status", summary: "Report a unit's status: en_route, on_scene, available, out_of_service (dispatched only by assignment). Officers only for a unit they crew; 409 for a transition the workflow does not allow. Audited and on the incident's timeline.", access: Needs(ReportStatus), params: &[], body: Some("{\"status\"}") },
    Operation { method: "get", path: "/api/v1/dispatch/stream", summary: "WebSocket: {\"kind\": \"snapshot\", \"units\"} first, then {\"kind\": \"unit\", \"unit\"} for each committed position, status or record change and {\"kind\": \"removed\", \"unit_id\"}, for units homed in the caller's ReadDispatch districts and units the caller crews; a new snapshot after falling behind. Audited once per connection.", access: Needs(FollowUnits), params: &[], body: None },
    Operation { method: "get", path: "/api/v1/me/assignment", summary: "For the officer's terminal: the caller's units and the open incident one of them is on (null if none)", access: Needs(ReportStatus), params: &[], body: None },
    Operation { method: "post", path: "/api/v1/me/position", summary: "For the officer's terminal: a position from the browser's geolocation for a unit the caller crews (unit_id, else the assigned unit, else the only one; 403 for a unit not crewed). Same checks and answers as a GPS device's fix (out-of-range values 422 naming the field, more than 5 min ahead refused, duplicates ignored, late fixes kept in the trail only); published as unit_position.", access: Needs(ReportStatus), params: &[], body: Some("{\"lat\", \"lon\", \"speed\" (m/s), \"bearing\", \"timestamp\" (Unix ms or s, or RFC 3339), \"unit_id\"} (all but lat and lon optional)") },
    Operation { method: "get", path: "/api/v1/avl/osmand", summary: "A GPS fix in the OsmAnd/Traccar protocol: id, lat, lon, timestamp (Unix s or ISO 8601; more than 5 min ahead is refused), speed (knots), bearing. Device token as token= or 'Authorization: Bearer'; unknown devices and bad tokens 401, bad values 400 naming the field; duplicates are ignored and late fixes kept in the trail only (200, counted in /metrics); an implausible fix (over a day old, over a minute ahead, faster than the unit's kind) is answered stored_implausible: kept in the trail, flagged, never the position.", access: DeviceToken, params: &[("id", "device id"), ("lat", "latitude"), ("lon", "longitude"), ("timestamp", "Unix seconds or ISO 8601"), ("speed", "knots"), ("bearing", "degrees"), ("token", "the device token")], body: None },
    Operation { method: "post", path: "/api/v1/avl/osmand", summary: "As GET (query parameters or a form body), or the Traccar Client JSON body; same token, answers and counting", access: DeviceToken, params: &[("token", "the device token")], body: Some("{\"device_id\", \"location\": {\"timestamp\", \"coords\": {\"latitude\", \"longitude\", \"speed\" (m/s), \"heading\"}}}") },
    Operation { method: "get", path: "/api/v1/incidents", summary: "Incidents, newest first; flagged=true lists those closed with skipped checklist steps, for supervisors", access: Needs(ReadDispatch), params: &[("state", "open or closed"), ("flagged", "true or false"), ("limit", "1..1000, default 100")], body: None },
    Operation { method: "post", path: "/api/v1/incidents", summary: "Create an incident from a call or the map (lat, lon, optional address) or from an alert (alert_id: its location unless lat/lon are given; the alert must be in the caller's districts). The type's procedure becomes its checklist. Audited.", access: Needs(Dispatch), params: &[], body: Some("{\"type\", \"priority\": 1..5, \"lat\", \"lon\", \"address\", \"alert_id\", \"source\": call|map|alert}") },
    Operation { method: "get", path: "/api/v1/incidents/{id}", summary: "One incident with its units, checklist and timeline", access: Needs(ReadDispatch), params: &[], body: None },
    Operation { method: "post", path: "/api/v1/incidents/{id}/notes", summary: "Add a note (on the timeline). Audited.", access: Needs(Dispatch), params: &[], body: Some("{\"text\"}") },
    Operation { method: "get", path: "/api/v1/incidents/{id}/recommendations", summary: "Available units ranked by ETA (straight line over the unit kind's speed, or the configured road router), each with distance, ETA, status, capabilities and the reason. Audited.", access: Needs(Dispatch), params: &[("capabilities", "comma-separated; units must have all"), ("limit", "1..100, default 10")], body: None },
    Operation { method: "post", path: "/api/v1/incidents/{id}/assign", summary: "Send an available unit (409 otherwise); it becomes dispatched. Audited and on the timeline.", access: Needs(Dispatch), params: &[], body: Some("{\"unit_id\"}") },
    Operation { method: "post", path: "/api/v1/incidents/{id}/checklist/{step}", summary: "Mark checklist step (from 1) done or skipped. Audited and on the timeline.", access: Needs(Dispatch), params: &[], body: Some("{\"state\": done|skipped}") },
    Operation { method: "post", path: "/api/v1/incidents/{id}/close", summary: "Close; steps not done become skipped and flag the incident for supervisors; assigned units become available. Audited and on the timeline.", access: Needs(Dispatch), params: &[], body: Some("{\"note\"} (optional)") },
    Operation { method: "get", path: "/api/v1/incidents/{id}/eido.json", summary: "The incident as NENA EIDO JSON (NENA-STA-021 naming: incident, location, notes and emergency resource components). Audited.", access: Needs(ReadDispatch), params: &[], body: None },
    Operation { method: "get", path: "/api/v1/incidents/{id}/route", summary: "A unit's way to the incident as a GeoJSON LineString Feature (properties: distance_m, duration_s, router): along the roads when a road network is loaded, else the straight line. For the unit's crew while it is on the incident, or callers whose dispatch districts hold both the incident and the unit (404 otherwise); 409 if the unit has no position or no road joins them.", access: Needs(FollowUnits), params: &[("unit_id", "the unit (required)")], body: None },
    Operation { method: "get", path: "/api/v1/procedures", summary: "Procedures: per incident type, the ordered checklist", access: NeedsEither(ReadDispatch, ManageProcedures), params: &[], body: None },
    Operation { method: "get", path: "/api/v1/hotlists", summary: "Hotlists with their entry counts; covert lists only for supervisors", access: NeedsAllDistricts(ManageHotlists), params: &[], body: None },
    Operation { method: "post", path: "/api/v1/hotlists/{list}/import", summary: "Import entries from CSV (header: plate, reason, priority 0..10, optional source and expires_at RFC 3339); creates the list on first import (covert=true: supervisors only). Good rows are imported (same plate replaces), bad rows are answered with line, field and reason (errors: the first 100 by default; error_count and bad_rows count them all). More rows than the cap (200,000 by default) or a body over 32 MB: 413, nothing stored. Audited.", access: NeedsAllDistricts(ManageHotlists), params: &[("covert", "true or false (default); only when creating the list")], body: Some("text/csv") },
    Operation { method: "get", path: "/api/v1/hotlists/{list}/entries", summary: "A hotlist's entries, expired ones marked inactive (a covert list is 404 except for supervisors)", access: NeedsAllDistricts(ManageHotlists), params: &[], body: None },
    Operation { method: "delete", path: "/api/v1/hotlists/{list}/entries/{id}", summary: "Delete a hotlist entry. Audited.", access: NeedsAllDistricts(ManageHotlists), params: &[], body: None },
    Operation { method: "get", path: "/api/v1/plates/search", summary: "Plate history: reads of cameras in the caller's districts, newest first. Requires purpose and case_ref (400 without); audited.", access: Needs(SearchPlates), params: &[("plate", "letters and digits, '*' for any characters, e.g. BG 12* (required)"), ("start", "RFC 3339, inclusive"), ("end", "RFC 3339, exclusive"), ("limit", "1..1000, default 100"), ("purpose", "why the search is made (required)"), ("case_ref", "case or incident reference (required)")], body: None },
    Operation { method: "put", path: "/api/v1/procedures/{type}", summary: "Create or replace the procedure of an incident type (new incidents only). Audited.", access: Needs(ManageProcedures), params: &[], body: Some("{\"steps\": [..]}") },
];

pub fn openapi_document() -> Value {
    let mut paths = Map::new();
    for op in OPERATIONS {
        let path_params: Vec<Value> = op
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let query_params =
            op.params.iter().map(|(name, desc)| json!({"name": name, "in": "query", "required": false, "description": desc, "schema": {"type": "string"}}));
        let mut operation = json!({
            "summary": op.summary,
            "parameters": path_params.into_iter().chain(query_params).collect::<Vec<_>>(),
            "responses": {
                "200": {"description": "OK"},
                "400": {"description": "Malformed request; the error names what is wrong"},
                "401": {"description": "No valid session"},
                "403": {"description": "Role or district scope does not allow it"},
                "422": {"description": "Invalid fields: {\"error\", \"fields\": [{\"field\", \"reason\"}]}"},
            },
        });
        match op.access {
            Public => operation["security"] = json!([]),
            Session => operation["x-citywatch-roles"] = json!("any logged-in user"),
            DeviceToken => {
                operation["security"] = json!([{"deviceToken": []}, {"bearer": []}]);
                operation["x-citywatch-roles"] = json!("a registered GPS device (its own token; no user session)");
            }
            NeedsEither(a, b) => {
                let mut roles: Vec<&str> = a.roles().iter().chain(b.roles()).map(|r| r.as_str()).collect();
                roles.sort_unstable();
                roles.dedup();
                operation["x-citywatch-roles"] = json!(roles);
            }
            Needs(p) | NeedsAllDistricts(p) => {
                operation["x-citywatch-roles"] = json!(p.roles().iter().map(|r| r.as_str()).collect::<Vec<_>>());
                if matches!(op.access, NeedsAllDistricts(_)) {
                    operation["x-citywatch-scope"] = json!("all districts");
                }
            }
        }
        if let Some(body) = op.body {
            operation["requestBody"] = json!({"description": body, "required": true, "content": {"application/json": {"schema": {"type": "object"}}}});
        }
        paths.entry(op.path).or_insert_with(|| json!({}))[op.method] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Citywatch API", "version": env!("CARGO_PKG_VERSION"),
                 "description": "City video surveillance and dispatch. Every route but login, health and this document needs a session: send 'Authorization: Bearer <token>' from POST /api/v1/auth/login. The session cookie is for the console: with it, a change (any method but GET and HEAD) or a WebSocket must carry this server's own Origin (or Referer), and a body must be JSON (the imports also take CSV); otherwise 403. Purpose and case_ref, wherever required, are printable text of at most 500 characters (no control or invisible characters)."},
        "components": {"securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "cookie": {"type": "apiKey", "in": "cookie", "name": "cw_session"},
            "deviceToken": {"type": "apiKey", "in": "query", "name": "token"}}},
        "security": [{"bearer": []}, {"cookie": []}],
        "paths": paths,
    })
}

pub async fn serve() -> Json<Value> {
    Json(openapi_document())
}
