// The incident panel: the open incidents, or one incident's details, the
// units on it, the checklist, the timeline and the recommended units with
// one Assign button each. It refreshes itself, so status reports from
// officers appear.

import { dispatchApi, type Incident, type Recommendation, type TimelineEntry, type UnmaskGrant } from "./api";
import { clock } from "./alerts";
import { h } from "./dom";
import { unitColor, unitLabel } from "./dispatchmap";

const REFRESH_MS = 4000;

export class IncidentPanel {
  readonly el: HTMLElement;
  private readonly body: HTMLElement;
  private readonly title: HTMLElement;
  private incident: Incident | null = null;
  private recs: Recommendation[] | null = null;
  private recsError: string | null = null;
  private timer = 0;
  private busy = false;
  /** Where a new incident from a call goes: the last point clicked on the map. */
  private point: { lat: number; lon: number } | null = null;
  private readonly newForm: HTMLFormElement | null;
  private readonly pointLabel: HTMLElement;

  constructor(
    private readonly canDispatch: boolean,
    private readonly hooks: { onShow(i: Incident | null): void; onLocate(i: Incident): void; onSees(i: Incident): void; onError(e: unknown): void },
    /** A supervisor: may let one officer see faces in this incident's cameras. */
    private readonly canUnmask = false,
  ) {
    this.title = h("h2", { id: "incident-title" }, "Open incidents");
    this.close = h("button", { type: "button", class: "btn btn-small", "data-testid": "incident-back", title: "Back to the open incidents", hidden: true }, "All incidents");
    this.close.addEventListener("click", () => this.hide());
    this.body = h("div", { class: "incident-body" });
    this.pointLabel = h("span", { class: "muted", "data-testid": "new-incident-point" }, "Click the map where it happens.");
    this.newForm = canDispatch ? this.newIncidentForm() : null;
    this.el = h(
      "section",
      { class: "panel-section incident-section", "data-testid": "incident-panel", "aria-labelledby": "incident-title" },
      h("div", { class: "section-head" }, this.title, this.close),
      this.body,
    );
    this.hide();
  }

  private readonly close: HTMLButtonElement;

  get current(): Incident | null {
    return this.incident;
  }

  async open(id: number): Promise<void> {
    const i = await dispatchApi.incident(id);
    this.show(i);
  }

  show(i: Incident): void {
    const changed = this.incident?.id !== i.id;
    this.incident = i;
    this.close.hidden = false;
    this.el.dataset.incidentId = String(i.id);
    if (changed) {
      this.recs = null;
      this.recsError = null;
      this.hooks.onShow(i);
    }
    this.render();
    if (changed && this.canDispatch && i.state === "open") void this.loadRecommendations();
    window.clearInterval(this.timer);
    this.timer = window.setInterval(() => void this.refresh(), REFRESH_MS);
  }

  /** Back to the list of open incidents. */
  hide(): void {
    window.clearInterval(this.timer);
    const had = this.incident !== null;
    this.incident = null;
    this.close.hidden = true;
    delete this.el.dataset.incidentId;
    delete this.el.dataset.state;
    this.title.textContent = "Open incidents";
    if (had) this.hooks.onShow(null);
    void this.list();
    this.timer = window.setInterval(() => void this.list(), REFRESH_MS);
  }

  private async list(): Promise<void> {
    let open: Incident[];
    try {
      open = await dispatchApi.incidents("open");
    } catch (e) {
      this.hooks.onError(e);
      return;
    }
    if (this.incident) return;
    // The same form node each time, so what the dispatcher typed survives the refresh.
    if (open.length === 0) {
      this.body.replaceChildren(...(this.newForm ? [this.newForm] : []), h("div", { class: "muted" }, "No open incident. Raise one from an alert or a call."));
      return;
    }
    this.body.replaceChildren(
      ...(this.newForm ? [this.newForm] : []),
      h(
        "ol",
        { class: "rec-list", "data-testid": "open-incidents" },
        open.map((i) => {
          const b = h(
            "button",
            { type: "button", class: "result-row", "data-testid": "open-incident", "data-incident-id": i.id },
            h("span", { class: `prio prio-${i.priority}` }, `P${i.priority}`),
            h("span", { class: "row-main" }, h("span", { class: "row-name" }, `#${i.id} ${i.type}`), h("span", { class: "row-sub" }, `${i.units.filter((u) => !u.released_at).length} unit(s) · ${clock(i.created_at)}`)),
          );
          b.addEventListener("click", () => this.show(i));
          return h("li", {}, b);
        }),
      ),
    );
  }

  destroy(): void {
    window.clearInterval(this.timer);
  }

  /** The map was clicked: a new incident from a call goes there. */
  setPoint(lat: number, lon: number): void {
    this.point = { lat, lon };
    this.pointLabel.textContent = `At ${lat.toFixed(5)}, ${lon.toFixed(5)} (click the map to move it)`;
    this.pointLabel.classList.remove("muted");
    this.newForm?.querySelector<HTMLButtonElement>("button[type=submit]")?.removeAttribute("disabled");
  }

  /** An incident from a call or seen on the map: type, priority, place, what the caller said. */
  private newIncidentForm(): HTMLFormElement {
    const type = h("input", { name: "type", required: true, placeholder: "e.g. traffic_accident", pattern: "[a-z0-9_]+", title: "Lower-case letters, digits and _", "data-testid": "new-incident-type" });
    const priority = h("select", { name: "priority", "data-testid": "new-incident-priority", "aria-label": "Priority (1 highest)" });
    for (let p = 1; p <= 5; p++) priority.appendChild(h("option", { value: String(p), selected: p === 2 }, `P${p}`));
    const address = h("input", { name: "address", placeholder: "Address (optional)", "data-testid": "new-incident-address" });
    const note = h("textarea", { name: "note", rows: 2, placeholder: "What the caller said (optional)", "data-testid": "new-incident-note" });
    const submit = h("button", { type: "submit", class: "btn btn-primary btn-small", disabled: true, "data-testid": "new-incident-create" }, "Create incident");
    const form = h(
      "form",
      { class: "new-incident", "data-testid": "new-incident", "aria-label": "New incident from a call" },
      h("h3", {}, "New incident (call or map)"),
      h("div", { class: "new-incident-row" }, type, priority),
      this.pointLabel,
      address,
      note,
      submit,
    );
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const at = this.point;
      if (!at) return;
      submit.disabled = true;
      const text = note.value.trim();
      dispatchApi
        .createIncident({ type: type.value.trim(), priority: Number(priority.value), lat: at.lat, lon: at.lon, address: address.value.trim() || undefined, source: "call" })
        .then((i) => (text ? dispatchApi.addNote(i.id, text) : i))
        .then((i) => {
          form.reset();
          this.show(i);
        })
        .catch((e) => this.hooks.onError(e))
        .finally(() => (submit.disabled = false));
    });
    return form;
  }

  private noteForm(i: Incident): HTMLElement {
    const text = h("textarea", { rows: 2, placeholder: "Add a note to the timeline", "data-testid": "incident-note-text", "aria-label": "Note" });
    const add = h("button", { type: "submit", class: "btn btn-small", "data-testid": "incident-note-add" }, "Add note");
    const form = h("form", { class: "note-form" }, text, add);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const t = text.value.trim();
      if (!t) return;
      add.disabled = true;
      this.busy = true;
      dispatchApi
        .addNote(i.id, t)
        .then((updated) => {
          this.incident = updated;
          this.render();
        })
        .catch((e) => this.hooks.onError(e))
        .finally(() => {
          add.disabled = false;
          this.busy = false;
        });
    });
    return form;
  }

  /** "Unmask for officer…": faces shown to one user in the cameras of this incident, until revoked or expired. */
  private unmaskForm(i: Incident): HTMLElement {
    const user = h("input", { type: "text", placeholder: "officer's username", required: true, "data-testid": "unmask-grantee", "aria-label": "Officer" });
    const hours = h("input", { type: "number", min: 1, max: 12, value: 2, required: true, "data-testid": "unmask-hours", "aria-label": "Hours (at most 12)" });
    const purpose = h("input", { type: "text", placeholder: "purpose (required)", required: true, maxlength: "500", "data-testid": "unmask-purpose", "aria-label": "Purpose" });
    const caseRef = h("input", { type: "text", value: `INC-${i.id}`, required: true, maxlength: "500", "data-testid": "unmask-case-ref", "aria-label": "Case reference" });
    const submit = h("button", { type: "submit", class: "btn btn-small", "data-testid": "unmask-grant" }, "Unmask for officer…");
    const result = h("div", { class: "muted", "data-testid": "unmask-result" });
    const form = h("form", { class: "note-form" }, user, hours, purpose, caseRef, submit);
    const shown = (g: UnmaskGrant) => {
      const revoke = h("button", { type: "button", class: "btn btn-small", "data-testid": "unmask-revoke" }, "Revoke");
      revoke.addEventListener("click", () => {
        revoke.disabled = true;
        dispatchApi
          .revokeUnmask(g.id)
          .then(() => result.replaceChildren(`Faces blurred again for ${g.grantee}.`))
          .catch((e) => {
            revoke.disabled = false;
            this.hooks.onError(e);
          });
      });
      result.replaceChildren(`Faces shown to ${g.grantee} on ${g.camera_ids.join(", ")} until ${clock(g.expires_at)}. `, revoke);
    };
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const expires = new Date(Date.now() + Math.min(12, Math.max(1, Number(hours.value) || 1)) * 3_600_000 - 60_000);
      submit.disabled = true;
      dispatchApi
        .grantUnmask({ grantee: user.value.trim(), incident_id: i.id, expires_at: expires.toISOString(), purpose: purpose.value.trim(), case_ref: caseRef.value.trim() })
        .then(shown)
        .catch((e) => this.hooks.onError(e))
        .finally(() => (submit.disabled = false));
    });
    return h("div", {}, h("h3", {}, "Faces"), form, result);
  }

  private async refresh(): Promise<void> {
    const cur = this.incident;
    if (!cur || this.busy) return;
    try {
      const i = await dispatchApi.incident(cur.id);
      if (this.incident?.id === i.id) {
        this.incident = i;
        this.render();
      }
    } catch (e) {
      this.hooks.onError(e);
    }
  }

  private async loadRecommendations(): Promise<void> {
    const cur = this.incident;
    if (!cur) return;
    this.el.dataset.recommendations = "loading";
    try {
      const r = await dispatchApi.recommendations(cur.id);
      if (this.incident?.id !== cur.id) return;
      this.recs = r.recommendations;
      this.recsError = null;
    } catch (e) {
      this.recsError = e instanceof Error ? e.message : String(e);
    }
    this.el.dataset.recommendations = "done";
    this.render();
  }

  private async assign(unitId: string, btn: HTMLButtonElement): Promise<void> {
    const cur = this.incident;
    if (!cur) return;
    btn.disabled = true;
    this.busy = true;
    try {
      this.incident = await dispatchApi.assign(cur.id, unitId);
      this.render();
      await this.loadRecommendations();
    } catch (e) {
      this.hooks.onError(e);
      btn.disabled = false;
    } finally {
      this.busy = false;
    }
  }

  private async step(n: number, state: "done" | "skipped", btn: HTMLButtonElement): Promise<void> {
    const cur = this.incident;
    if (!cur) return;
    btn.disabled = true;
    try {
      this.incident = await dispatchApi.checklistStep(cur.id, n, state);
      this.render();
    } catch (e) {
      this.hooks.onError(e);
      btn.disabled = false;
    }
  }

  private render(): void {
    const i = this.incident;
    if (!i) return;
    this.title.textContent = `Incident #${i.id}`;
    this.el.dataset.state = i.state;
    const loc = i.location.address ?? `${i.location.lat.toFixed(5)}, ${i.location.lon.toFixed(5)}`;
    const locate = h("button", { type: "button", class: "btn btn-small" }, "Show on map");
    locate.addEventListener("click", () => this.hooks.onLocate(i));
    const sees = h("button", { type: "button", class: "btn btn-small", "data-testid": "incident-sees" }, "Cameras that see this");
    sees.addEventListener("click", () => this.hooks.onSees(i));
    const units = i.units.filter((u) => !u.released_at);
    const parts: (HTMLElement | null)[] = [
      h(
        "div",
        { class: "incident-head" },
        h("span", { class: `prio prio-${i.priority}`, title: "Priority (1 highest)" }, `P${i.priority}`),
        h("span", { class: "incident-type" }, i.type),
        h("span", { class: `incident-state state-${i.state}`, "data-testid": "incident-state" }, i.flagged ? `${i.state} · flagged` : i.state),
      ),
      h("div", { class: "incident-meta" }, loc, " · ", `by ${i.created_by} at ${clock(i.created_at)}`, i.alert_id !== null ? ` · alert ${i.alert_id}` : ""),
      h("div", { class: "details-actions" }, locate, sees),
      h("h3", {}, "Units"),
      units.length
        ? h(
            "ul",
            { class: "incident-units" },
            units.map((u) => h("li", { "data-testid": "incident-unit", "data-unit-id": u.unit_id }, u.unit_id, h("span", { class: "muted" }, ` · by ${u.assigned_by} at ${clock(u.assigned_at)}`))),
          )
        : h("div", { class: "muted" }, "No unit assigned yet."),
      this.canDispatch && i.state === "open" ? this.recommendationsEl() : null,
      this.canDispatch && i.state === "open" ? this.noteForm(i) : null,
      this.canUnmask && i.state === "open" ? this.unmaskForm(i) : null,
      i.checklist.length ? this.checklistEl(i) : null,
      h("h3", {}, "Timeline"),
      h("ol", { class: "timeline-list", "data-testid": "incident-timeline" }, [...i.timeline].reverse().map(timelineRow)),
    ];
    this.body.replaceChildren(...parts.filter((p): p is HTMLElement => p !== null));
  }

  private recommendationsEl(): HTMLElement {
    const refresh = h("button", { type: "button", class: "btn btn-small" }, "Refresh");
    refresh.addEventListener("click", () => void this.loadRecommendations());
    let content: HTMLElement;
    if (this.recsError) content = h("div", { class: "muted error-text" }, this.recsError);
    else if (this.recs === null) content = h("div", { class: "muted" }, "Ranking units…");
    else if (this.recs.length === 0) content = h("div", { class: "muted" }, "No available unit with a known position.");
    else {
      content = h(
        "ol",
        { class: "rec-list", "data-testid": "recommendations" },
        this.recs.map((r) => {
          const assign = h("button", { type: "button", class: "btn btn-primary q-btn", "data-testid": "assign-unit", "data-unit-id": r.unit_id }, "Assign");
          assign.addEventListener("click", () => void this.assign(r.unit_id, assign));
          return h(
            "li",
            { class: "rec-item", "data-testid": "recommendation", "data-unit-id": r.unit_id },
            h(
              "div",
              { class: "rec-main" },
              h("div", { class: "rec-name" }, h("span", { class: "legend-dot", style: `background:${unitColor(r.status)}` }), `${r.call_sign} `, h("span", { class: "muted" }, `(${r.kind})`)),
              h("div", { class: "rec-figures" }, h("b", { "data-testid": "rec-eta" }, eta(r.eta_s)), ` · ${formatKm(r.distance_m)} · ${unitLabel(r.status)}`),
              h("div", { class: "rec-reason muted" }, r.reason),
            ),
            assign,
          );
        }),
      );
    }
    return h("div", { class: "rec-section" }, h("div", { class: "section-head" }, h("h3", {}, "Recommended units"), refresh), content);
  }

  private checklistEl(i: Incident): HTMLElement {
    return h(
      "div",
      {},
      h("h3", {}, "Checklist"),
      h(
        "ol",
        { class: "checklist", "data-testid": "incident-checklist" },
        i.checklist.map((s) => {
          const row = h("li", { class: `check-${s.state}`, "data-step": s.step }, h("span", { class: "check-text" }, s.text));
          if (s.state === "pending" && this.canDispatch && i.state === "open") {
            const done = h("button", { type: "button", class: "btn btn-small" }, "Done");
            const skip = h("button", { type: "button", class: "btn btn-small" }, "Skip");
            done.addEventListener("click", () => void this.step(s.step, "done", done));
            skip.addEventListener("click", () => void this.step(s.step, "skipped", skip));
            row.append(h("span", { class: "check-actions" }, done, skip));
          } else {
            row.append(h("span", { class: "muted" }, ` ${s.state}${s.by ? ` · ${s.by}` : ""}`));
          }
          return row;
        }),
      ),
    );
  }
}

function timelineRow(t: TimelineEntry): HTMLElement {
  return h("li", {}, h("time", { datetime: t.time }, clock(t.time)), " ", h("b", {}, t.kind), ` · ${t.actor}`, describe(t.detail));
}

function describe(detail: unknown): string {
  if (!detail || typeof detail !== "object") return "";
  const parts = Object.entries(detail as Record<string, unknown>)
    .filter(([, v]) => v !== null && v !== undefined && typeof v !== "object")
    .map(([k, v]) => `${k}: ${String(v)}`);
  return parts.length ? ` — ${parts.join(", ")}` : "";
}

export function eta(s: number): string {
  if (!Number.isFinite(s)) return "—";
  const m = Math.floor(s / 60);
  const sec = Math.round(s % 60);
  return m > 0 ? `ETA ${m} min ${sec} s` : `ETA ${sec} s`;
}

export function formatKm(m: number): string {
  return m >= 1000 ? `${(m / 1000).toFixed(1)} km` : `${Math.round(m)} m`;
}
