// Generated from the Rust types the API serialises (crates/api/src/typescript.rs).
// Do not edit: change the Rust type, then run
//   CITYWATCH_WRITE_TS=1 cargo nextest run --workspace -E 'test(typescript)'
// and commit this file. `web/src/api.ts` re-exports what the console uses.

/**
 * An alert: events one rule matched, grouped by time and place.
 */
export type Alert = { id: number, rule_id: number, rule_name: string, state: AlertState, severity: Severity, 
/**
 * Type of the first event.
 */
event_type: EventType, 
/**
 * Source of the first event.
 */
source: Source, district: string | null, location: Location | null, first_event_at: string, last_event_at: string, event_count: number, created_at: string, acknowledged_by: string | null, acknowledged_at: string | null, 
/**
 * Who resolved it or called it a false alarm, and when.
 */
closed_by: string | null, closed_at: string | null, };

export type AlertState = "new" | "acknowledged" | "resolved" | "false_alarm";

/**
 * A circle on the map.
 */
export type Area = { lat: number, lon: number, radius_m: number, };

/**
 * A unit on an incident: who sent it and when; `released_at` once it left
 * (back to available, or the incident closed).
 */
export type Assignment = { unit_id: string, assigned_by: string, assigned_at: string, released_at: string | null, };

/**
 * A camera as the registry knows it. `main_url` and `sub_url` never carry
 * credentials: those are split off on input (see [`RtspUrl`]) and stored
 * apart, so no read path can leak them.
 */
export type Camera = { id: string, name: string, 
/**
 * WGS84 degrees.
 */
lat: number, lon: number, height_m: number | null, 
/**
 * Clockwise from true north, [0, 360).
 */
heading_deg: number, 
/**
 * Horizontal field of view, (0, 360]; 360 is a dome that sees all round.
 */
fov_deg: number, range_m: number, district: string | null, tags: Array<string>, main_url: string | null, sub_url: string | null, status: CameraStatus, };

export type CameraStatus = "online" | "offline" | "unknown" | "disabled";

/**
 * One step of an incident's checklist, numbered from 1 in procedure order.
 */
export type ChecklistStep = { step: number, text: string, state: StepState, by: string | null, at: string | null, };

export type EventType = "motion" | "object" | "zone" | "line_crossing" | "plate_read" | "hotlist_hit" | "camera_offline" | "camera_online" | "camera_tamper" | "unit_position" | "incident_change";

/**
 * A rejected value: which field, and why. Import reports and API 4xx bodies
 * are built from these so a user can find and fix the exact cell.
 */
export type FieldError = { field: string, reason: string, };

/**
 * One role given to one user, scoped to districts (`None` means every
 * district) and optionally ending at `expires_at`.
 */
export type Grant = { id: number, username: string, role: Role, districts: Array<string> | null, expires_at: string | null, };

/**
 * A hotlist as the API lists it.
 */
export type Hotlist = { name: string, covert: boolean, 
/**
 * Entries, expired ones included.
 */
entries: number, created_by: string, created_at: string, };

/**
 * One plate of a hotlist as the API lists it.
 */
export type HotlistEntry = { id: number, list: string, 
/**
 * As written in the import.
 */
plate: string, 
/**
 * Normalised (A-Z, 0-9): what reads are matched on.
 */
plate_key: string, source: string, reason: string, 
/**
 * 0 (lowest) to 10.
 */
priority: number, expires_at: string | null, 
/**
 * Not expired now.
 */
active: boolean, created_by: string, created_at: string, };

/**
 * An incident as the API sends it: the model's, with its kind under the
 * name callers give it (`type`, as in the create body and NENA EIDO).
 */
export type Incident = { id: number, type: string, 
/**
 * 1 (most urgent) to 5.
 */
priority: number, location: IncidentLocation, state: IncidentState, alert_id: number | null, created_by: string, created_at: string, closed_at: string | null, 
/**
 * Closed with skipped checklist steps, for supervisors to review.
 */
flagged: boolean, units: Array<Assignment>, checklist: Array<ChecklistStep>, timeline: Array<TimelineEntry>, };

/**
 * Where an incident is: a point, and the civic address if one was given.
 */
export type IncidentLocation = { lat: number, lon: number, address: string | null, };

export type IncidentState = "open" | "closed";

/**
 * A legal hold as the API sends it: the held range as times, not the
 * store's 90 kHz ticks.
 */
export type LegalHold = { id: number, camera_id: string, start: string, end: string, purpose: string, case_ref: string, created_by: string, created_at: string, expires_at: string, 
/**
 * Not expired yet.
 */
active: boolean, };

/**
 * WGS84 degrees.
 */
export type Location = { lat: number, lon: number, };

/**
 * The checklist for one incident type, in order.
 */
export type Procedure = { incident_type: string, steps: Array<string>, };

export type Recommendation = { unit_id: string, call_sign: string, kind: UnitKind, status: UnitStatus, capabilities: Array<string>, lat: number, lon: number, distance_m: number, eta_s: number, 
/**
 * Which router measured `distance_m`.
 */
router: string, reason: string, };

/**
 * Roles from DESIGN.md, "Accountability by construction". What each may do
 * is decided in `citywatch-audit`'s policy, not here.
 */
export type Role = "admin" | "supervisor" | "operator" | "dispatcher" | "officer" | "auditor";

export type Rule = { id: number, created_by: string, updated_at: string, name: string, enabled: boolean, event_types: Array<EventType>, cameras: Array<string>, districts: Array<string>, 
/**
 * Events located inside this circle (events without a location do not match).
 */
area: Area | null, schedule: Schedule | null, 
/**
 * For hotlist hits: the least hotlist priority that raises an alert.
 */
min_hotlist_priority: number | null, severity: Severity, 
/**
 * Events matched within this many seconds of an open alert's last
 * event ...
 */
correlation_window_s: number, 
/**
 * ... and this many metres of its location (or, without locations, from
 * the same source) join that alert instead of raising a new one.
 */
correlation_radius_m: number, };

/**
 * What a rule watches for and how it groups what it finds. Empty lists
 * match anything.
 */
export type RuleSpec = { name: string, enabled: boolean, event_types: Array<EventType>, cameras: Array<string>, districts: Array<string>, 
/**
 * Events located inside this circle (events without a location do not match).
 */
area: Area | null, schedule: Schedule | null, 
/**
 * For hotlist hits: the least hotlist priority that raises an alert.
 */
min_hotlist_priority: number | null, severity: Severity, 
/**
 * Events matched within this many seconds of an open alert's last
 * event ...
 */
correlation_window_s: number, 
/**
 * ... and this many metres of its location (or, without locations, from
 * the same source) join that alert instead of raising a new one.
 */
correlation_radius_m: number, };

/**
 * When a rule is armed: on these days (1 = Monday .. 7 = Sunday, UTC) from
 * `start_hour` up to `end_hour` (UTC, 0..24; `end_hour < start_hour` wraps
 * past midnight, e.g. 22..6 for nights).
 */
export type Schedule = { days: Array<number>, start_hour: number, end_hour: number, };

/**
 * CAP severities (OASIS CAP 1.2, `severity`).
 */
export type Severity = "extreme" | "severe" | "moderate" | "minor";

/**
 * Where an event came from.
 */
export type Source = { kind: SourceKind, id: string, };

export type SourceKind = "camera" | "unit" | "user" | "system";

export type StepState = "pending" | "done" | "skipped";

/**
 * One line of an incident's history: everything that happened to it.
 */
export type TimelineEntry = { time: string, actor: string, 
/**
 * created, note, assigned, status, checklist, closed.
 */
kind: string, 
/**
 * Whatever the change records; the console reads it field by field.
 */
detail: unknown, };

/**
 * A unit as the API sends it (lists, the dispatch stream, an officer's
 * assignment): its position without the unit id it would repeat.
 */
export type Unit = { id: string, call_sign: string, kind: UnitKind, 
/**
 * Usernames of the officers crewing the unit.
 */
officers: Array<string>, capabilities: Array<string>, status: UnitStatus, 
/**
 * Home district; `null`: seen by all-district grants only.
 */
district: string | null, position: UnitPosition | null, };

export type UnitKind = "car" | "foot" | "motorbike";

/**
 * A unit's newest fix.
 */
export type UnitPosition = { lat: number, lon: number, time: string, speed_mps: number | null, bearing_deg: number | null, };

export type UnitStatus = "available" | "dispatched" | "en_route" | "on_scene" | "out_of_service";

/**
 * An unmask grant as the API sends it (what a create answers).
 */
export type UnmaskGrant = { id: number, grantee: string, camera_ids: Array<string>, purpose: string, case_ref: string, created_by: string, created_at: string, expires_at: string, revoked_at: string | null, revoked_by: string | null, 
/**
 * Neither expired nor revoked now.
 */
active: boolean, };

/**
 * A grant as the oversight list shows it: with its use, from the audit log.
 */
export type UnmaskGrantDetail = { 
/**
 * Views made under the grant.
 */
uses: number, last_used: string | null, id: number, grantee: string, camera_ids: Array<string>, purpose: string, case_ref: string, created_by: string, created_at: string, expires_at: string, revoked_at: string | null, revoked_by: string | null, 
/**
 * Neither expired nor revoked now.
 */
active: boolean, };

/**
 * A user as the administrator's list shows it.
 */
export type UserAccount = { username: string, disabled: boolean, created_at: string, 
/**
 * `null`: never logged in (since this was recorded).
 */
last_login_at: string | null, 
/**
 * Unexpired sessions now.
 */
open_sessions: number, grants: Array<Grant>, };
