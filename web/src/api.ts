// Thin client for the Citywatch backend API (same origin, cookie auth).

import { register, t } from "./i18n";
import type * as wire from "./generated/api";

// The shapes the API sends come from its Rust types (web/src/generated/api.ts,
// docs/design/console-types.md): re-exported here under the console's names.
// A type written out below is one a handler still builds with `json!`, so
// no Rust type describes it yet; keep it in step with the handler by hand.
import type {
  Alert,
  Rule as AlertRule,
  AlertState,
  Area,
  CameraStatus,
  ChecklistStep,
  EventType as EventTypeName,
  FieldError as FieldProblem,
  Hotlist,
  HotlistEntry,
  Incident,
  IncidentLocation,
  LegalHold,
  Procedure,
  Recommendation,
  Role as RoleName,
  RuleSpec,
  Schedule,
  Severity,
  StepState,
  TimelineEntry,
  Unit,
  UnitKind,
  UnitPosition,
  UnitStatus,
  UnmaskGrant,
  UnmaskGrantDetail,
  UserAccount,
  Grant as UserGrant,
} from "./generated/api";
export type {
  Alert,
  AlertRule,
  AlertState,
  Area,
  CameraStatus,
  ChecklistStep,
  EventTypeName,
  FieldProblem,
  Hotlist,
  HotlistEntry,
  Incident,
  IncidentLocation,
  LegalHold,
  Procedure,
  Recommendation,
  RoleName,
  RuleSpec,
  Schedule,
  Severity,
  StepState,
  TimelineEntry,
  Unit,
  UnitKind,
  UnitPosition,
  UnitStatus,
  UnmaskGrant,
  UnmaskGrantDetail,
  UserAccount,
  UserGrant,
};

// What the console says when the server gives no sentence of its own (or
// cannot be reached): never a bare status code, JSON or `[object Object]`.
register("api", {
  en: {
    "api.network": "Cannot reach the server. Check the network connection, then try again.",
    "api.unauthorized": "You are not logged in. Log in again.",
    "api.forbidden": "Your roles do not allow this. Ask an administrator for the role this task needs.",
    "api.not_found": "This was not found: it may have been removed. Reload the page and try again.",
    "api.too_large": "What you sent is too large for the server. Send a smaller file or fewer items.",
    "api.too_many": "Too many requests in a short time. Wait a moment and try again.",
    "api.server": "The server ran into a problem ({status}). Try again in a moment; if it goes on, tell the system administrator.",
    "api.unavailable": "The server is not available right now ({status}). Try again in a moment.",
    "api.bad_answer": "The server sent an answer the console cannot read. Reload the page; if it goes on, tell the system administrator.",
    "api.other": "The request failed ({status}). Try again; if it goes on, tell the system administrator.",
    "api.unexpected": "Something went wrong in the console: {detail}. Reload the page and try again.",
  },
  "sr-Latn": {
    "api.network": "Server nije dostupan. Proverite mrežnu vezu, pa pokušajte ponovo.",
    "api.unauthorized": "Niste prijavljeni. Prijavite se ponovo.",
    "api.forbidden": "Vaše uloge ne dozvoljavaju ovu radnju. Zatražite od administratora ulogu potrebnu za ovaj zadatak.",
    "api.not_found": "Traženo nije pronađeno: možda je uklonjeno. Osvežite stranicu i pokušajte ponovo.",
    "api.too_large": "Poslati sadržaj je prevelik za server. Pošaljite manju datoteku ili manje stavki.",
    "api.too_many": "Previše zahteva u kratkom roku. Sačekajte trenutak i pokušajte ponovo.",
    "api.server": "Na serveru je došlo do greške ({status}). Pokušajte ponovo za trenutak; ako se ponavlja, obavestite administratora sistema.",
    "api.unavailable": "Server trenutno nije dostupan ({status}). Pokušajte ponovo za trenutak.",
    "api.bad_answer": "Server je poslao odgovor koji konzola ne može da pročita. Osvežite stranicu; ako se ponavlja, obavestite administratora sistema.",
    "api.other": "Zahtev nije uspeo ({status}). Pokušajte ponovo; ako se ponavlja, obavestite administratora sistema.",
    "api.unexpected": "Greška u konzoli: {detail}. Osvežite stranicu i pokušajte ponovo.",
  },
});

/** A camera, with what the camera list and queries add to the registry's record. */
export type Camera = wire.Camera & {
  /** Present on spatial query results only. */
  distance_m?: number;
  /** Whether this server connects to (records) the camera; its status is nobody's observation otherwise. */
  recorded?: boolean;
};

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
  | "manage_covert_hotlists" | "search_plates";

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

/** An error answered by the API (or a network failure, status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly path: string;
  /** The bad fields of a 422 answer, for showing next to the form's inputs. */
  readonly fields: FieldProblem[];
  /** The answer's JSON body, when it had one (an atomic import's report). */
  readonly body: unknown;
  constructor(status: number, message: string, path: string, fields: FieldProblem[] = [], body: unknown = undefined) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.path = path;
    this.fields = fields;
    this.body = body;
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
  /** A body sent as it is (a CSV or GeoJSON file), with its media type. */
  raw?: { type: string; data: Blob | string };
}

async function request<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  let body: Blob | string | undefined;
  if (opts.raw) {
    headers["Content-Type"] = opts.raw.type;
    body = opts.raw.data;
  } else if (opts.body !== undefined) {
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
    throw new ApiError(0, t("api.network"), path);
  }
  if (!res.ok) {
    const { message, fields, body: answer } = await errorMessage(res);
    if (res.status === 401 && !opts.quiet401 && onUnauthorized) onUnauthorized();
    throw new ApiError(res.status, message, path, fields, answer);
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  if (!text) return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ApiError(res.status, t("api.bad_answer"), path);
  }
}

async function errorMessage(res: Response): Promise<{ message: string; fields: FieldProblem[]; body: unknown }> {
  let text = "";
  try {
    text = await res.text();
  } catch {
    /* ignore */
  }
  // A 5xx's body may be a proxy's page or an internal detail: our sentence instead.
  let body: unknown = undefined;
  let fields: FieldProblem[] = [];
  if (text && res.status < 500) {
    try {
      const j = JSON.parse(text) as { error?: unknown; message?: unknown; fields?: unknown };
      body = j;
      if (Array.isArray(j.fields)) fields = j.fields.filter((f): f is FieldProblem => typeof f?.field === "string" && typeof f?.reason === "string");
      if (typeof j.error === "string" && j.error) return { message: j.error, fields, body };
      if (typeof j.message === "string" && j.message) return { message: j.message, fields, body };
    } catch {
      /* not JSON */
    }
  }
  return { message: statusMessage(res.status), fields, body };
}

/** A sentence for a refused or failed request with no message of its own. */
export function statusMessage(status: number): string {
  const s = String(status);
  if (status === 0) return t("api.network");
  if (status === 401) return t("api.unauthorized");
  if (status === 403) return t("api.forbidden");
  if (status === 404) return t("api.not_found");
  if (status === 413) return t("api.too_large");
  if (status === 429) return t("api.too_many");
  if (status === 502 || status === 503 || status === 504) return t("api.unavailable", { status: s });
  if (status >= 500) return t("api.server", { status: s });
  return t("api.other", { status: s });
}

/** What to show a person for any error caught in the console. */
export function errorText(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  // fetch's own failure (a WebSocket or media request outside `request`).
  if (e instanceof TypeError && /fetch|network/i.test(e.message)) return t("api.network");
  if (e instanceof Error && e.message) return t("api.unexpected", { detail: e.message });
  if (typeof e === "string" && e) return e;
  return t("api.unexpected", { detail: e instanceof Error ? e.name : typeof e });
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


/** A message of `/api/v1/alerts/stream`. */
export type AlertUpdate = { kind: "new" | "updated" | "state"; alert: Alert } | { kind: "lagged"; missed: number };

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

// ---- health wall (`GET /api/v1/health/overview`)

/** A camera's state on the health wall; `not_recorded`: this server does not connect to it. */
export type WallState = "offline" | "unknown" | "online" | "not_recorded" | "disabled";

export interface WallStream {
  stream: string;
  state: string;
  frames: number;
  dropped_frames: number;
  reconnects: number;
  failures: number;
  fps: number | null;
  bitrate_bps: number | null;
  last_frame_at: string | null;
  last_error: string | null;
}

export interface WallGap {
  start: string;
  end: string;
}

export interface WallCamera {
  id: string;
  name: string;
  district: string | null;
  state: WallState;
  /** The last frame of any stream; null: not seen since the server started. */
  last_seen: string | null;
  streams: WallStream[];
  dropped_frames: number;
  /** Recording gaps of the last 24 h (null: not recorded here). */
  gaps: { from: string | null; count: number; seconds: number; recent: WallGap[] } | null;
  analytics: { lag_ms: number; skipped: number; analysed: number } | null;
}

export interface HealthOverview {
  generated_at: string;
  totals: Record<WallState, number> & { cameras: number; dropped_frames: number; gap_seconds: number };
  rates: { events_5m: number; events_1h: number; alerts_5m: number; alerts_1h: number };
  analytics: { cameras: number; max_lag_ms: number | null; skipped: number } | null;
  /** Only for callers who read metrics over all districts. */
  disk: { path: string; recorded_bytes: number; free_bytes: number | null; write_bytes_per_s: number; time_to_full_s: number | null } | null;
  cameras: WallCamera[];
}

export const healthApi = {
  overview(signal?: AbortSignal): Promise<HealthOverview> {
    return request("/api/v1/health/overview", { signal });
  },
};

// ---- users and grants (the administrator's Users view)

/** The roles a grant may give: the API's own names (values, not labels), in the order the form lists them. */
export const ROLES = ["admin", "supervisor", "operator", "dispatcher", "officer", "auditor"] as const satisfies readonly wire.Role[];
// Fails to compile when the server gains a role the list above lacks.
const everyRoleListed: Exclude<wire.Role, (typeof ROLES)[number]> extends never ? true : never = true;
void everyRoleListed;

export interface NewGrant {
  role: string;
  /** null: every district. */
  districts: string[] | null;
  /** RFC 3339; null: no expiry. */
  expires_at: string | null;
}

export const usersApi = {
  list(): Promise<UserAccount[]> {
    return request("/api/v1/users");
  },
  create(username: string, password: string, grants: NewGrant[]): Promise<{ username: string; grants: UserGrant[] }> {
    return request("/api/v1/users", { method: "POST", body: { username, password, grants } });
  },
  setDisabled(username: string, disabled: boolean): Promise<{ username: string; disabled: boolean; sessions_ended: number }> {
    return request(`/api/v1/users/${encodeURIComponent(username)}/${disabled ? "disable" : "enable"}`, { method: "POST" });
  },
  /** Sets the password; every session of the user ends. */
  setPassword(username: string, password: string): Promise<void> {
    return request(`/api/v1/users/${encodeURIComponent(username)}/password`, { method: "PUT", body: { password } });
  },
  endSessions(username: string): Promise<{ username: string; sessions_ended: number }> {
    return request(`/api/v1/users/${encodeURIComponent(username)}/sessions/end`, { method: "POST" });
  },
  addGrant(username: string, grant: NewGrant): Promise<UserGrant> {
    return request(`/api/v1/users/${encodeURIComponent(username)}/grants`, { method: "POST", body: grant });
  },
  removeGrant(username: string, id: number): Promise<void> {
    return request(`/api/v1/users/${encodeURIComponent(username)}/grants/${id}`, { method: "DELETE" });
  },
  /** The names of the districts (all of them, for an admin over all districts). */
  async districtNames(): Promise<string[]> {
    const fc = await request<{ features: { properties: { name: string } }[] }>("/api/v1/districts");
    return fc.features.map((f) => f.properties.name).sort((a, b) => a.localeCompare(b));
  },
};

// ---- set-up (the administrator's screen): cameras, districts, rules, procedures, hotlists

/** What a camera is created or replaced with; URLs may carry `user:password@`, which is stored apart and never shown back. */
export interface CameraInput {
  id?: string;
  name: string;
  lat: number;
  lon: number;
  height_m?: number | null;
  heading_deg: number;
  fov_deg: number;
  range_m: number;
  district?: string | null;
  tags?: string[];
  main_url?: string | null;
  sub_url?: string | null;
  status?: CameraStatus;
}

/** One bad row of an import: a CSV line (the header is line 1) or a GeoJSON feature (0-based). */
export interface ImportRowError {
  line?: number;
  feature?: number;
  field: string;
  reason: string;
}

export interface CameraImportReport {
  rows: number;
  created: number;
  updated: number;
  atomic: boolean;
  errors: ImportRowError[];
  error_count: number;
  bad_rows: number;
  /** Set when an atomic import applied nothing. */
  error?: string;
}

export interface Retention {
  camera_id: string;
  max_age_days: number | null;
  max_bytes: number | null;
}

export interface DistrictFeature {
  type: "Feature";
  id: string;
  properties: { name: string };
  geometry: GeoJSON.Polygon | GeoJSON.MultiPolygon;
}


export interface HotlistImportReport {
  list: string;
  covert: boolean;
  rows: number;
  added: number;
  replaced: number;
  errors: { line: number; field: string; reason: string }[];
  error_count: number;
  bad_rows: number;
}

const enc = encodeURIComponent;

export const setupApi = {
  createCamera(c: CameraInput): Promise<Camera> {
    return request("/api/v1/cameras", { method: "POST", body: c });
  },
  replaceCamera(id: string, c: CameraInput): Promise<Camera> {
    return request(`/api/v1/cameras/${enc(id)}`, { method: "PUT", body: { ...c, id } });
  },
  deleteCamera(id: string): Promise<void> {
    return request(`/api/v1/cameras/${enc(id)}`, { method: "DELETE" });
  },
  /** CSV when the file's name says so, else GeoJSON; with `atomic`, a file with any bad row applies nothing. */
  importCameras(file: Blob, csv: boolean, atomic: boolean): Promise<CameraImportReport> {
    return request(`/api/v1/cameras/import${atomic ? "?atomic=true" : ""}`, { method: "POST", raw: { type: csv ? "text/csv" : "application/geo+json", data: file } });
  },
  retention(id: string): Promise<Retention> {
    return request(`/api/v1/cameras/${enc(id)}/retention`);
  },
  setRetention(id: string, r: { max_age_days: number | null; max_bytes: number | null }): Promise<Retention> {
    return request(`/api/v1/cameras/${enc(id)}/retention`, { method: "PUT", body: r });
  },
  districts(): Promise<{ type: "FeatureCollection"; features: DistrictFeature[] }> {
    return request("/api/v1/districts");
  },
  putDistrict(name: string, geometry: GeoJSON.Polygon | GeoJSON.MultiPolygon): Promise<DistrictFeature> {
    return request(`/api/v1/districts/${enc(name)}`, { method: "PUT", body: geometry });
  },
  rules(): Promise<AlertRule[]> {
    return request("/api/v1/rules");
  },
  createRule(r: RuleSpec): Promise<AlertRule> {
    return request("/api/v1/rules", { method: "POST", body: r });
  },
  replaceRule(id: number, r: RuleSpec): Promise<AlertRule> {
    return request(`/api/v1/rules/${id}`, { method: "PUT", body: r });
  },
  deleteRule(id: number): Promise<void> {
    return request(`/api/v1/rules/${id}`, { method: "DELETE" });
  },
  procedures(): Promise<Procedure[]> {
    return request("/api/v1/procedures");
  },
  putProcedure(type: string, steps: string[]): Promise<Procedure> {
    return request(`/api/v1/procedures/${enc(type)}`, { method: "PUT", body: { steps } });
  },
  hotlists(): Promise<Hotlist[]> {
    return request("/api/v1/hotlists");
  },
  hotlistEntries(list: string): Promise<HotlistEntry[]> {
    return request(`/api/v1/hotlists/${enc(list)}/entries`);
  },
  /** Never into a covert list: those are the supervisor's oversight, refused here by `covert=false`. */
  importHotlist(list: string, file: Blob): Promise<HotlistImportReport> {
    return request(`/api/v1/hotlists/${enc(list)}/import?covert=false`, { method: "POST", raw: { type: "text/csv", data: file } });
  },
  deleteHotlistEntry(list: string, id: number): Promise<void> {
    return request(`/api/v1/hotlists/${enc(list)}/entries/${id}`, { method: "DELETE" });
  },
};

// ---- oversight (the supervisor's screen)

export interface NewLegalHold {
  camera_id: string;
  start: string;
  end: string;
  purpose: string;
  case_ref: string;
  expires_at: string;
}

export interface NewUnmaskGrant {
  grantee: string;
  camera_ids?: string[];
  incident_id?: number;
  expires_at: string;
  purpose: string;
  case_ref: string;
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
  /** Answers the grant without its use (only the list reads that, from the audit log). */
  grantUnmask(body: NewUnmaskGrant): Promise<UnmaskGrant> {
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
  importHotlist(list: string, csv: string, covert: boolean): Promise<HotlistImportReport> {
    return request(`/api/v1/hotlists/${encodeURIComponent(list)}/import?covert=${covert}`, { method: "POST", raw: { type: "text/csv", data: csv } });
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
