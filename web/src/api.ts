// Thin client for the Citywatch backend API (same origin, cookie auth).

export type CameraStatus = "online" | "offline" | "unknown" | "disabled";

export interface Camera {
  id: string;
  name: string;
  lat: number;
  lon: number;
  height_m: number | null;
  heading_deg: number;
  fov_deg: number;
  range_m: number;
  district: string | null;
  tags: string[];
  main_url: string | null;
  sub_url: string | null;
  status: CameraStatus | string;
  /** Present on spatial query results only. */
  distance_m?: number;
}

export interface Grant {
  role: string;
  districts: string[] | null;
  expires_at: string | null;
}

/** What a caller may do, as `/api/v1/me` lists it: the console builds its views from these, never from role names. */
export type Permission =
  | "read_cameras" | "manage_cameras" | "manage_districts" | "manage_users" | "read_audit" | "play_recordings"
  | "manage_legal_holds" | "read_metrics" | "view_live" | "raise_events" | "read_events" | "manage_rules"
  | "handle_alerts" | "read_dispatch" | "dispatch" | "manage_units" | "manage_procedures" | "report_status"
  | "follow_units" | "view_unmasked" | "grant_unmask" | "read_unmask_grants" | "manage_hotlists"
  | "manage_covert_hotlists" | "search_plates" | "oversee_sensitive_reads";

export interface Me {
  username: string;
  grants: Grant[];
  permissions: Permission[];
}

export interface LoginResponse {
  token: string;
  username: string;
  roles: string[];
}

export interface ConsoleConfig {
  style_url: string | null;
  center: [number, number];
  zoom: number;
  /** The longest range one view.mp4 may cover when faces in it are blurred. */
  blurred_max_span_s: number;
}

export interface TimeSpan {
  start: string;
  end: string;
}

/** What was recorded between two times (at most 24 hours apart). */
export interface Recordings {
  camera: string;
  spans: TimeSpan[];
  gaps: TimeSpan[];
}

export type LonLat = [number, number];

export interface PolygonGeometry {
  type: "Polygon";
  coordinates: LonLat[][];
}

/** One bad field of a request, as a 422 names it. */
export interface FieldProblem {
  field: string;
  reason: string;
}

/** An error answered by the API (or a network failure, status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly path: string;
  /** Each bad field and why (422), so a form can show it beside the field. */
  readonly fields: FieldProblem[];
  constructor(status: number, message: string, path: string, fields: FieldProblem[] = []) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.path = path;
    this.fields = fields;
  }
}

type UnauthorizedHandler = () => void;
let onUnauthorized: UnauthorizedHandler | null = null;

/** Called when any authenticated call answers 401 (session expired, logged out elsewhere). */
export function setUnauthorizedHandler(handler: UnauthorizedHandler | null): void {
  onUnauthorized = handler;
}

interface RequestOptions {
  method?: string;
  body?: unknown;
  /** Do not trigger the global 401 handler (login form, session probe). */
  quiet401?: boolean;
  signal?: AbortSignal;
}

async function request<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  let body: string | undefined;
  if (opts.body !== undefined) {
    // Required: the server refuses a body that rides on the session cookie
    // unless it is JSON (with the page's Origin, which the browser adds).
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.body);
  }
  let res: Response;
  try {
    res = await fetch(path, {
      method: opts.method ?? "GET",
      headers,
      body,
      credentials: "same-origin",
      signal: opts.signal,
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === "AbortError") throw e;
    throw new ApiError(0, `Network error: cannot reach the server (${String(e)})`, path);
  }
  if (!res.ok) {
    const { message, fields } = await errorMessage(res);
    if (res.status === 401 && !opts.quiet401 && onUnauthorized) onUnauthorized();
    throw new ApiError(res.status, message, path, fields);
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  if (!text) return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ApiError(res.status, `Invalid JSON from ${path}`, path);
  }
}

async function errorMessage(res: Response): Promise<{ message: string; fields: FieldProblem[] }> {
  let text = "";
  try {
    text = await res.text();
  } catch {
    /* ignore */
  }
  if (text) {
    try {
      const j = JSON.parse(text) as { error?: unknown; message?: unknown; fields?: unknown };
      const fields = Array.isArray(j.fields)
        ? j.fields.filter((f): f is FieldProblem => typeof f?.field === "string" && typeof f?.reason === "string")
        : [];
      if (typeof j.error === "string" && j.error) return { message: j.error, fields };
      if (typeof j.message === "string" && j.message) return { message: j.message, fields };
    } catch {
      /* not JSON */
    }
  }
  const message = (): string => {
    if (res.status === 429) return "Too many attempts. Wait a moment and try again.";
    if (res.status === 401) return "Not logged in.";
    if (res.status === 403) return "Access denied.";
    const short = text && text.length < 200 ? `: ${text}` : "";
    return `HTTP ${res.status} ${res.statusText}${short}`;
  };
  return { message: message(), fields: [] };
}

function fmtCoord(lat: number, lon: number): string {
  return `${lat.toFixed(7)},${lon.toFixed(7)}`;
}

export const api = {
  login(username: string, password: string): Promise<LoginResponse> {
    return request<LoginResponse>("/api/v1/auth/login", {
      method: "POST",
      body: { username, password },
      quiet401: true,
    });
  },
  logout(): Promise<void> {
    return request<void>("/api/v1/auth/logout", { method: "POST", quiet401: true });
  },
  me(): Promise<Me> {
    return request<Me>("/api/v1/me", { quiet401: true });
  },
  config(): Promise<ConsoleConfig> {
    return request<ConsoleConfig>("/api/v1/console/config");
  },
  basemap(): Promise<GeoJSON.FeatureCollection> {
    return request<GeoJSON.FeatureCollection>("/api/v1/basemap");
  },
  cameras(): Promise<Camera[]> {
    return request<Camera[]>("/api/v1/cameras");
  },
  camera(id: string): Promise<Camera> {
    return request<Camera>(`/api/v1/cameras/${encodeURIComponent(id)}`);
  },
  sees(lat: number, lon: number, signal?: AbortSignal): Promise<Camera[]> {
    return request<Camera[]>(`/api/v1/cameras?sees=${fmtCoord(lat, lon)}`, { signal });
  },
  near(lat: number, lon: number, radiusM: number, signal?: AbortSignal): Promise<Camera[]> {
    const r = Math.max(1, Math.round(radiusM));
    return request<Camera[]>(`/api/v1/cameras?near=${fmtCoord(lat, lon)}&radius_m=${r}`, { signal });
  },
  nearest(lat: number, lon: number, k: number, signal?: AbortSignal): Promise<Camera[]> {
    return request<Camera[]>(`/api/v1/cameras?nearest=${fmtCoord(lat, lon)}&k=${k}`, { signal });
  },
  searchPolygon(polygon: PolygonGeometry, signal?: AbortSignal): Promise<Camera[]> {
    return request<Camera[]>("/api/v1/cameras/search", { method: "POST", body: polygon, signal });
  },
  recordings(id: string, start: Date, end: Date, signal?: AbortSignal): Promise<Recordings> {
    const q = new URLSearchParams({ start: start.toISOString(), end: end.toISOString() });
    return request<Recordings>(`/api/v1/cameras/${encodeURIComponent(id)}/recordings?${q}`, { signal });
  },
};

// ---- alerts, incidents, units (dispatch)

export type AlertState = "new" | "acknowledged" | "resolved" | "false_alarm";

export interface Alert {
  id: number;
  rule_id: number;
  rule_name: string;
  state: AlertState;
  severity: "extreme" | "severe" | "moderate" | "minor" | string;
  event_type: string;
  source: { kind: string; id: string };
  district: string | null;
  location: { lat: number; lon: number } | null;
  first_event_at: string;
  last_event_at: string;
  event_count: number;
  created_at: string;
  acknowledged_by: string | null;
  acknowledged_at: string | null;
  closed_by: string | null;
  closed_at: string | null;
}

/** A message of `/api/v1/alerts/stream`. */
export type AlertUpdate = { kind: "new" | "updated" | "state"; alert: Alert } | { kind: "lagged"; missed: number };

export type UnitStatus = "available" | "dispatched" | "en_route" | "on_scene" | "out_of_service";

export interface UnitPosition {
  lat: number;
  lon: number;
  time: string;
  speed_mps: number | null;
  bearing_deg: number | null;
}

export interface Unit {
  id: string;
  call_sign: string;
  kind: "car" | "foot" | "motorbike" | string;
  officers: string[];
  capabilities: string[];
  status: UnitStatus;
  position: UnitPosition | null;
  /** Home district; null: seen by all-district grants only. */
  district: string | null;
}

export interface ChecklistStep {
  step: number;
  text: string;
  state: "pending" | "done" | "skipped" | string;
  by: string | null;
  at: string | null;
}

export interface TimelineEntry {
  time: string;
  actor: string;
  kind: string;
  detail: unknown;
}

export interface Incident {
  id: number;
  type: string;
  priority: number;
  location: { lat: number; lon: number; address: string | null };
  state: "open" | "closed";
  alert_id: number | null;
  created_by: string;
  created_at: string;
  closed_at: string | null;
  flagged: boolean;
  units: { unit_id: string; assigned_by: string; assigned_at: string; released_at: string | null }[];
  checklist: ChecklistStep[];
  timeline: TimelineEntry[];
}

export interface Recommendation {
  unit_id: string;
  call_sign: string;
  kind: string;
  status: UnitStatus;
  capabilities: string[];
  lat: number;
  lon: number;
  distance_m: number;
  eta_s: number;
  router: string;
  reason: string;
}

export interface MyAssignment {
  assignment: { unit: Unit; incident: Incident } | null;
  units: Unit[];
}

export interface PositionReport {
  lat: number;
  lon: number;
  speed?: number | null;
  bearing?: number | null;
  timestamp?: number;
  unit_id?: string;
}

export interface UnmaskGrant {
  id: number;
  grantee: string;
  camera_ids: string[];
  expires_at: string;
  active: boolean;
}

export const dispatchApi = {
  alerts(state: AlertState, limit = 100): Promise<{ alerts: Alert[] }> {
    return request(`/api/v1/alerts?state=${state}&limit=${limit}`);
  },
  alertAction(id: number, action: "acknowledge" | "resolve" | "false-alarm"): Promise<Alert> {
    return request(`/api/v1/alerts/${id}/${action}`, { method: "POST" });
  },
  createIncident(body: { type: string; priority: number; alert_id?: number; lat?: number; lon?: number; address?: string; source?: "call" | "map" }): Promise<Incident> {
    return request("/api/v1/incidents", { method: "POST", body });
  },
  /** A supervisor lets one user see faces in the incident's cameras (at most 12 h; audited). */
  grantUnmask(body: { grantee: string; incident_id: number; expires_at: string; purpose: string; case_ref: string }): Promise<UnmaskGrant> {
    return request("/api/v1/unmask-grants", { method: "POST", body });
  },
  revokeUnmask(id: number): Promise<void> {
    return request(`/api/v1/unmask-grants/${id}`, { method: "DELETE" });
  },
  addNote(id: number, text: string): Promise<Incident> {
    return request(`/api/v1/incidents/${id}/notes`, { method: "POST", body: { text } });
  },
  incidents(state: "open" | "closed", limit = 50): Promise<Incident[]> {
    return request(`/api/v1/incidents?state=${state}&limit=${limit}`);
  },
  incident(id: number): Promise<Incident> {
    return request(`/api/v1/incidents/${id}`);
  },
  recommendations(id: number): Promise<{ recommendations: Recommendation[] }> {
    return request(`/api/v1/incidents/${id}/recommendations`);
  },
  assign(id: number, unitId: string): Promise<Incident> {
    return request(`/api/v1/incidents/${id}/assign`, { method: "POST", body: { unit_id: unitId } });
  },
  checklistStep(id: number, step: number, state: "done" | "skipped"): Promise<Incident> {
    return request(`/api/v1/incidents/${id}/checklist/${step}`, { method: "POST", body: { state } });
  },
  units(): Promise<Unit[]> {
    return request("/api/v1/units");
  },
  unitStatus(id: string, status: UnitStatus): Promise<Unit> {
    return request(`/api/v1/units/${encodeURIComponent(id)}/status`, { method: "POST", body: { status } });
  },
  myAssignment(): Promise<MyAssignment> {
    return request("/api/v1/me/assignment");
  },
  myPosition(report: PositionReport): Promise<{ unit_id: string; result: string }> {
    return request("/api/v1/me/position", { method: "POST", body: report });
  },
  /** The unit's way to the incident: along the roads if the server has a road network. */
  route(incidentId: number, unitId: string): Promise<UnitRoute> {
    return request(`/api/v1/incidents/${incidentId}/route?unit_id=${encodeURIComponent(unitId)}`);
  },
};

export interface UnitRoute {
  type: "Feature";
  geometry: { type: "LineString"; coordinates: [number, number][] };
  properties: { incident_id: number; unit_id: string; distance_m: number; duration_s: number | null; router: string };
}

// ---- audit log (the auditor's screen)

export type AuditResult = "ok" | "denied" | "refused" | "failed";

export interface AuditEntry {
  seq: number;
  time: string;
  actor: string;
  action: string;
  target: string;
  purpose: string | null;
  case_ref: string | null;
  result: AuditResult | string;
  hash: string;
}

/** The server-side filters of the log; an absent field matches every entry. */
export interface AuditFilter {
  actor?: string;
  action?: string;
  target?: string;
  case_ref?: string;
  result?: AuditResult;
  /** RFC 3339, inclusive. */
  from?: string;
  /** RFC 3339, exclusive. */
  to?: string;
}

export interface AuditPage {
  entries: AuditEntry[];
  next_after_seq: number | null;
  head_seq: number;
}

export interface AuditCheckpoint {
  seq: number;
  hash: string;
  time: string;
  signature: string;
}

export interface AuditVerification {
  verified: boolean;
  entries?: number;
  checkpoints?: number;
  last_checkpoint: AuditCheckpoint | null;
  public_key: string;
  public_key_sha256: string;
  failure?: { seq: number; reason: string; message: string };
}

export function auditQuery(filter: AuditFilter, extra: Record<string, string | number> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(filter)) if (typeof v === "string" && v.trim()) q.set(k, v.trim());
  for (const [k, v] of Object.entries(extra)) q.set(k, String(v));
  return q.toString();
}

export const auditApi = {
  /** One page of a walk: pass back the first page's head_seq so later pages never go past it. */
  page(filter: AuditFilter, afterSeq: number, headSeq: number | null, limit = 100): Promise<AuditPage> {
    const extra: Record<string, number> = { after_seq: afterSeq, limit };
    if (headSeq !== null) extra.head_seq = headSeq;
    return request(`/api/v1/audit?${auditQuery(filter, extra)}`);
  },
  verify(): Promise<AuditVerification> {
    return request("/api/v1/audit/verify");
  },
  /** A download link (the session cookie authenticates it). */
  exportUrl(filter: AuditFilter, format: "csv" | "json"): string {
    return `/api/v1/audit/export?${auditQuery(filter, { format })}`;
  },
};

// ---- oversight (the supervisor's screen)

export interface LegalHold {
  id: number;
  camera_id: string;
  start: string;
  end: string;
  purpose: string;
  case_ref: string;
  created_by: string;
  created_at: string;
  expires_at: string;
  active: boolean;
}

export interface NewLegalHold {
  camera_id: string;
  start: string;
  end: string;
  purpose: string;
  case_ref: string;
  expires_at: string;
}

/** An unmask grant as the oversight list shows it, with its use from the audit log. */
export interface UnmaskGrantDetail {
  id: number;
  grantee: string;
  camera_ids: string[];
  purpose: string;
  case_ref: string;
  created_by: string;
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
  revoked_by: string | null;
  active: boolean;
  /** Views made under the grant. */
  uses: number;
  last_used: string | null;
}

export interface NewUnmaskGrant {
  grantee: string;
  camera_ids?: string[];
  incident_id?: number;
  expires_at: string;
  purpose: string;
  case_ref: string;
}

export interface Hotlist {
  name: string;
  covert: boolean;
  entries: number;
  created_by: string;
  created_at: string;
}

export interface HotlistEntry {
  id: number;
  list: string;
  plate: string;
  source: string | null;
  reason: string;
  priority: number;
  expires_at: string | null;
  active: boolean;
  created_by: string;
  created_at: string;
}

/** What a hotlist import did, with its bad rows by line. */
export interface HotlistImport {
  list: string;
  covert: boolean;
  rows: number;
  added: number;
  replaced: number;
  errors: { line: number; field: string; reason: string }[];
  error_count: number;
  bad_rows: number;
}

export type SensitiveReadKind = "playback" | "export" | "plate_search" | "trail" | "unmasked_view" | "snapshot";

export interface SensitiveRead {
  seq: number;
  time: string;
  actor: string;
  action: string;
  kind: SensitiveReadKind | string;
  target: string;
  camera_id: string | null;
  purpose: string | null;
  case_ref: string | null;
  result: string;
  faces: string | null;
  unmask_grant: number | null;
}

export interface SensitiveReads {
  date: string;
  from: string;
  to: string;
  districts: string[] | null;
  reads: SensitiveRead[];
  truncated: boolean;
}

export const oversightApi = {
  legalHolds(): Promise<LegalHold[]> {
    return request("/api/v1/legal-holds");
  },
  placeHold(body: NewLegalHold): Promise<LegalHold> {
    return request("/api/v1/legal-holds", { method: "POST", body });
  },
  releaseHold(id: number): Promise<void> {
    return request(`/api/v1/legal-holds/${id}`, { method: "DELETE" });
  },
  unmaskGrants(): Promise<UnmaskGrantDetail[]> {
    return request("/api/v1/unmask-grants");
  },
  grantUnmask(body: NewUnmaskGrant): Promise<UnmaskGrantDetail> {
    return request("/api/v1/unmask-grants", { method: "POST", body });
  },
  revokeUnmask(id: number): Promise<void> {
    return request(`/api/v1/unmask-grants/${id}`, { method: "DELETE" });
  },
  hotlists(): Promise<Hotlist[]> {
    return request("/api/v1/hotlists");
  },
  hotlistEntries(list: string): Promise<HotlistEntry[]> {
    return request(`/api/v1/hotlists/${encodeURIComponent(list)}/entries`);
  },
  /** CSV goes as text/csv: the server takes it with the page's Origin like JSON. */
  async importHotlist(list: string, csv: string, covert: boolean): Promise<HotlistImport> {
    const path = `/api/v1/hotlists/${encodeURIComponent(list)}/import?covert=${covert}`;
    return requestRaw(path, "text/csv", csv);
  },
  deleteHotlistEntry(list: string, id: number): Promise<void> {
    return request(`/api/v1/hotlists/${encodeURIComponent(list)}/entries/${id}`, { method: "DELETE" });
  },
  flaggedIncidents(limit = 100): Promise<Incident[]> {
    return request(`/api/v1/incidents?flagged=true&limit=${limit}`);
  },
  /** The day (YYYY-MM-DD, in the browser's time zone) of sensitive reads in the caller's districts. */
  sensitiveReads(date: string): Promise<SensitiveReads> {
    const offset = -new Date(`${date}T12:00:00`).getTimezoneOffset();
    return request(`/api/v1/oversight/sensitive-reads?date=${encodeURIComponent(date)}&tz_offset_min=${offset}`);
  },
};

/** A POST of a body that is not JSON (a CSV import), answered with JSON. */
async function requestRaw<T>(path: string, contentType: string, body: string): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, { method: "POST", headers: { Accept: "application/json", "Content-Type": contentType }, body, credentials: "same-origin" });
  } catch (e) {
    throw new ApiError(0, `Network error: cannot reach the server (${String(e)})`, path);
  }
  if (!res.ok) {
    const { message, fields } = await errorMessage(res);
    if (res.status === 401 && onUnauthorized) onUnauthorized();
    throw new ApiError(res.status, message, path, fields);
  }
  return (await res.json()) as T;
}
