// The alert queue: open alerts (new and acknowledged), newest first, fed by
// the WebSocket /api/v1/alerts/stream after one initial load. Each alert has
// one-click actions; nothing here opens a dialog over the map.

import { dispatchApi, ApiError, type Alert, type AlertUpdate } from "./api";
import { h } from "./dom";
import { fmtDateTime, register, t } from "./i18n";

register("alerts", {
  en: {
    "alerts.feed": "Live alert feed",
    "alerts.connecting": "connecting…",
    "alerts.live": "● live",
    "alerts.reconnecting": "reconnecting…",
    "alerts.title": "Alerts ",
    "alerts.none": "No open alerts.",
    "alerts.acknowledge": "Acknowledge",
    "alerts.resolve": "Resolve",
    "alerts.false_alarm": "False alarm",
    "alerts.sees": "Cameras that see this",
    "alerts.clip": "Clip",
    "alerts.create_incident": "Create incident",
    "alerts.severity": "Severity: {severity}",
    "alerts.sev_extreme": "extreme",
    "alerts.sev_severe": "severe",
    "alerts.sev_moderate": "moderate",
    "alerts.sev_minor": "minor",
    "alerts.source": "{kind} {id}",
    "alerts.events": " · {n} events",
    "alerts.acked_by": " · acknowledged by {user}",
  },
  "sr-Latn": {
    "alerts.feed": "Uzbune uživo",
    "alerts.connecting": "povezivanje…",
    "alerts.live": "● uživo",
    "alerts.reconnecting": "ponovno povezivanje…",
    "alerts.title": "Uzbune ",
    "alerts.none": "Nema otvorenih uzbuna.",
    "alerts.acknowledge": "Potvrdi prijem",
    "alerts.resolve": "Reši",
    "alerts.false_alarm": "Lažna uzbuna",
    "alerts.sees": "Kamere koje vide ovo",
    "alerts.clip": "Snimak",
    "alerts.create_incident": "Otvori intervenciju",
    "alerts.severity": "Ozbiljnost: {severity}",
    "alerts.sev_extreme": "krajnja",
    "alerts.sev_severe": "visoka",
    "alerts.sev_moderate": "srednja",
    "alerts.sev_minor": "niska",
    "alerts.source": "{kind} {id}",
    "alerts.events": " · događaja: {n}",
    "alerts.acked_by": " · prijem potvrdio {user}",
  },
});

/** A severity in the reader's language (an unknown one as the server names it). */
function severityLabel(s: string): string {
  return s in SEVERITY_RANK ? t(`alerts.sev_${s}`) : s;
}

export interface AlertActions {
  /** Centre the map on the alert. */
  onLocate(a: Alert): void;
  /** Open the cameras that see the alert's location. */
  onSees(a: Alert): void;
  /** Open the alert's camera's recording at the alert's first event. */
  onClip?(a: Alert): void;
  /** Raise an incident from the alert. */
  onCreateIncident(a: Alert): Promise<void>;
  /** The open alerts changed (for the map). */
  onChange(alerts: Alert[], selected: number | null): void;
  /** A camera id → its name, if known. */
  cameraName(id: string): string | undefined;
  onError(e: unknown): void;
}

const OPEN = new Set(["new", "acknowledged"]);

/** Higher first: how urgent a severity is. */
const SEVERITY_RANK: Record<string, number> = { extreme: 4, severe: 3, moderate: 2, minor: 1 };

export class AlertQueue {
  readonly el: HTMLElement;
  private readonly list: HTMLElement;
  private readonly streamState: HTMLElement;
  private readonly countEl: HTMLElement;
  private alerts = new Map<number, Alert>();
  private selected: number | null = null;
  private ws: WebSocket | null = null;
  private retry = 0;
  private retryTimer = 0;
  private closed = false;

  constructor(private readonly actions: AlertActions) {
    this.countEl = h("span", { class: "queue-count", "data-testid": "alert-count" }, "0");
    this.streamState = h("span", { class: "stream-state", "data-testid": "alert-stream", "data-state": "connecting", title: t("alerts.feed") }, t("alerts.connecting"));
    this.list = h("ol", { class: "alert-list", "aria-live": "polite" });
    this.el = h(
      "section",
      { class: "panel-section queue-section", "data-testid": "alert-queue", "aria-labelledby": "queue-title" },
      h("div", { class: "section-head" }, h("h2", { id: "queue-title" }, t("alerts.title"), this.countEl), this.streamState),
      this.list,
    );
    this.render();
    this.connect();
  }

  destroy(): void {
    this.closed = true;
    window.clearTimeout(this.retryTimer);
    this.ws?.close();
    this.ws = null;
  }

  select(id: number | null): void {
    this.selected = id;
    this.render();
    if (id !== null) this.list.querySelector(`[data-alert-id="${id}"]`)?.scrollIntoView({ block: "nearest" });
  }

  private connect(): void {
    if (this.closed) return;
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${proto}//${location.host}/api/v1/alerts/stream`);
    this.ws = ws;
    this.setStream("connecting");
    ws.onopen = () => {
      this.retry = 0;
      this.setStream("open");
      // Load after subscribing, so an alert raised in between is not missed.
      void this.reload();
    };
    ws.onmessage = (ev) => {
      if (typeof ev.data !== "string") return;
      let m: AlertUpdate;
      try {
        m = JSON.parse(ev.data) as AlertUpdate;
      } catch {
        return;
      }
      if (m.kind === "lagged") void this.reload();
      else this.upsert(m.alert);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.setStream("closed");
      if (this.closed || ev.code === 4401 || ev.code === 4403) return;
      const delay = Math.min(30_000, 500 * 2 ** this.retry++);
      this.retryTimer = window.setTimeout(() => this.connect(), delay);
    };
  }

  private setStream(state: "connecting" | "open" | "closed"): void {
    this.streamState.dataset.state = state;
    this.streamState.textContent = state === "open" ? t("alerts.live") : state === "connecting" ? t("alerts.connecting") : t("alerts.reconnecting");
  }

  private async reload(): Promise<void> {
    try {
      const [fresh, acked] = await Promise.all([dispatchApi.alerts("new"), dispatchApi.alerts("acknowledged")]);
      for (const a of [...fresh.alerts, ...acked.alerts]) {
        // The stream may already have told us something newer.
        if (!this.alerts.has(a.id)) this.alerts.set(a.id, a);
      }
      this.render();
    } catch (e) {
      this.actions.onError(e);
    }
  }

  private upsert(a: Alert): void {
    if (OPEN.has(a.state)) this.alerts.set(a.id, a);
    else this.alerts.delete(a.id);
    if (this.selected === a.id && !OPEN.has(a.state)) this.selected = null;
    this.render();
  }

  private async act(a: Alert, action: "acknowledge" | "resolve" | "false-alarm", btn: HTMLButtonElement): Promise<void> {
    btn.disabled = true;
    try {
      // One click resolves a new alert too: it is acknowledged on the way.
      if (action !== "acknowledge" && a.state === "new") this.upsert(await dispatchApi.alertAction(a.id, "acknowledge"));
      this.upsert(await dispatchApi.alertAction(a.id, action));
    } catch (e) {
      // Someone else handled it first: show what it is now.
      if (e instanceof ApiError && e.status === 409) void this.reload();
      this.actions.onError(e);
    } finally {
      btn.disabled = false;
    }
  }

  private sorted(): Alert[] {
    return [...this.alerts.values()].sort((x, y) => y.id - x.id);
  }

  private render(): void {
    const alerts = this.sorted();
    this.countEl.textContent = String(alerts.length);
    this.el.dataset.count = String(alerts.length);
    if (alerts.length === 0) {
      this.list.replaceChildren(h("li", { class: "muted queue-empty" }, t("alerts.none")));
    } else {
      this.list.replaceChildren(...alerts.map((a) => this.row(a)));
    }
    this.actions.onChange(alerts, this.selected);
  }

  private row(a: Alert): HTMLElement {
    const camera = a.source.kind === "camera" ? (this.actions.cameraName(a.source.id) ?? a.source.id) : t("alerts.source", { kind: a.source.kind, id: a.source.id });
    const btn = (label: string, testid: string, cls: string, fn: (b: HTMLButtonElement) => void) => {
      const b = h("button", { type: "button", class: `btn q-btn ${cls}`, "data-testid": testid }, label);
      b.addEventListener("click", (ev) => {
        ev.stopPropagation();
        fn(b);
      });
      return b;
    };
    const actions: HTMLElement[] = [];
    if (a.state === "new") actions.push(btn(t("alerts.acknowledge"), "alert-ack", "btn-primary", (b) => void this.act(a, "acknowledge", b)));
    actions.push(btn(t("alerts.resolve"), "alert-resolve", "", (b) => void this.act(a, "resolve", b)));
    actions.push(btn(t("alerts.false_alarm"), "alert-false", "", (b) => void this.act(a, "false-alarm", b)));
    if (a.location) actions.push(btn(t("alerts.sees"), "alert-sees", "", () => this.actions.onSees(a)));
    const onClip = this.actions.onClip;
    if (onClip && a.source.kind === "camera") actions.push(btn(t("alerts.clip"), "alert-clip", "", () => onClip(a)));
    actions.push(
      btn(t("alerts.create_incident"), "alert-incident", "btn-incident", (b) => {
        b.disabled = true;
        this.actions.onCreateIncident(a).finally(() => (b.disabled = false));
      }),
    );
    const sev = SEVERITY_RANK[a.severity] ?? 0;
    const li = h(
      "li",
      {
        class: `alert-item${a.id === this.selected ? " selected" : ""}`,
        "data-testid": "alert-item",
        "data-alert-id": a.id,
        "data-state": a.state,
        "data-severity": a.severity,
        tabindex: 0,
      },
      h(
        "div",
        { class: "alert-top" },
        h("span", { class: `sev sev-${sev}`, title: t("alerts.severity", { severity: severityLabel(a.severity) }) }, severityLabel(a.severity).toLocaleUpperCase()),
        h("span", { class: "alert-type" }, a.event_type.replace(/_/g, " ")),
        h("span", { class: "spacer" }),
        h("time", { class: "alert-time", datetime: a.last_event_at, title: a.last_event_at }, clock(a.last_event_at)),
      ),
      h(
        "div",
        { class: "alert-sub" },
        h("span", { class: "alert-camera", "data-testid": "alert-camera" }, camera),
        " · ",
        a.rule_name,
        a.event_count > 1 ? t("alerts.events", { n: a.event_count }) : "",
        a.state === "acknowledged" ? t("alerts.acked_by", { user: a.acknowledged_by ?? "" }) : "",
      ),
      h("div", { class: "alert-actions" }, actions),
    );
    li.addEventListener("click", () => {
      this.select(a.id);
      this.actions.onLocate(a);
    });
    return li;
  }
}

/** Local wall-clock time of an RFC 3339 timestamp (date too if not today). */
export function clock(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const today = new Date().toDateString() === d.toDateString();
  return fmtDateTime(d, today ? { hour: "2-digit", minute: "2-digit", second: "2-digit" } : { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" });
}
