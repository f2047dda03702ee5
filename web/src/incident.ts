// The incident panel: the open incidents, or one incident's details, the
// units on it, the checklist, the timeline and the recommended units with
// one Assign button each. It refreshes itself, so status reports from
// officers appear.

import { dispatchApi, errorText, type Incident, type Recommendation, type TimelineEntry, type UnmaskGrant } from "./api";
import { clock } from "./alerts";
import { h } from "./dom";
import { unitColor, unitKind, unitLabel } from "./dispatchmap";
import { fmtNumber, register, t } from "./i18n";

register("incident", {
  en: {
    "incident.open_title": "Open incidents",
    "incident.back_hint": "Back to the open incidents",
    "incident.all": "All incidents",
    "incident.click_map": "Click the map where it happens.",
    "incident.none_open": "No open incident. Raise one from an alert or a call.",
    "incident.units_since": "{n} unit(s) · {time}",
    "incident.at_point": "At {lat}, {lon} (click the map to move it)",
    "incident.type_placeholder": "e.g. traffic_accident",
    "incident.type_title": "Lower-case letters, digits and _",
    "incident.priority": "Priority (1 highest)",
    "incident.address": "Address (optional)",
    "incident.caller_said": "What the caller said (optional)",
    "incident.create": "Create incident",
    "incident.new_form": "New incident from a call",
    "incident.new_title": "New incident (call or map)",
    "incident.note_placeholder": "Add a note to the timeline",
    "incident.note": "Note",
    "incident.add_note": "Add note",
    "incident.officer_placeholder": "officer's username",
    "incident.officer": "Officer",
    "incident.hours": "Hours (at most 12)",
    "incident.purpose_placeholder": "purpose (required)",
    "incident.purpose": "Purpose",
    "incident.case_ref": "Case reference",
    "incident.unmask": "Unmask for officer…",
    "incident.revoke": "Revoke",
    "incident.blurred_again": "Faces blurred again for {user}.",
    "incident.faces_shown": "Faces shown to {user} on {cameras} until {time}. ",
    "incident.faces": "Faces",
    "incident.title": "Incident #{id}",
    "incident.show_on_map": "Show on map",
    "incident.sees": "Cameras that see this",
    "incident.state_open": "open",
    "incident.state_closed": "closed",
    "incident.flagged": "{state} · flagged",
    "incident.by_at": "by {user} at {time}",
    "incident.alert": " · alert {id}",
    "incident.units": "Units",
    "incident.assigned_by": " · by {user} at {time}",
    "incident.no_unit": "No unit assigned yet.",
    "incident.timeline": "Timeline",
    "incident.refresh": "Refresh",
    "incident.ranking": "Ranking units…",
    "incident.no_available": "No available unit with a known position.",
    "incident.assign": "Assign",
    "incident.recommended": "Recommended units",
    "incident.checklist": "Checklist",
    "incident.done": "Done",
    "incident.skip": "Skip",
    "incident.step_pending": "pending",
    "incident.step_done": "done",
    "incident.step_skipped": "skipped",
    "incident.kind_created": "created",
    "incident.kind_assigned": "assigned",
    "incident.kind_status": "status",
    "incident.kind_note": "note",
    "incident.kind_checklist": "checklist",
    "incident.kind_closed": "closed",
    "incident.kind_released_units": "units released",
    "incident.eta_min": "ETA {m} min {s} s",
    "incident.eta_s": "ETA {s} s",
  },
  "sr-Latn": {
    "incident.open_title": "Otvorene intervencije",
    "incident.back_hint": "Nazad na otvorene intervencije",
    "incident.all": "Sve intervencije",
    "incident.click_map": "Kliknite na mapu gde se događaj odigrava.",
    "incident.none_open": "Nema otvorenih intervencija. Otvorite je iz uzbune ili poziva.",
    "incident.units_since": "Patrola: {n} · {time}",
    "incident.at_point": "Na {lat}, {lon} (kliknite na mapu da pomerite)",
    "incident.type_placeholder": "npr. `traffic_accident`",
    "incident.type_title": "Mala slova, cifre i _",
    "incident.priority": "Prioritet (1 najviši)",
    "incident.address": "Adresa (nije obavezno)",
    "incident.caller_said": "Šta je pozivalac rekao (nije obavezno)",
    "incident.create": "Otvori intervenciju",
    "incident.new_form": "Nova intervencija po pozivu",
    "incident.new_title": "Nova intervencija (poziv ili mapa)",
    "incident.note_placeholder": "Dodajte belešku u hronologiju",
    "incident.note": "Beleška",
    "incident.add_note": "Dodaj belešku",
    "incident.officer_placeholder": "korisničko ime policajca",
    "incident.officer": "Policajac",
    "incident.hours": "Sati (najviše 12)",
    "incident.purpose_placeholder": "svrha (obavezno)",
    "incident.purpose": "Svrha",
    "incident.case_ref": "Broj predmeta",
    "incident.unmask": "Otkrij lica policajcu…",
    "incident.revoke": "Opozovi",
    "incident.blurred_again": "Lica su ponovo zamućena za korisnika {user}.",
    "incident.faces_shown": "Lica su vidljiva korisniku {user} na kamerama {cameras} do {time}. ",
    "incident.faces": "Lica",
    "incident.title": "Intervencija br. {id}",
    "incident.show_on_map": "Prikaži na mapi",
    "incident.sees": "Kamere koje vide ovo",
    "incident.state_open": "otvorena",
    "incident.state_closed": "zatvorena",
    "incident.flagged": "{state} · označena",
    "incident.by_at": "otvorio {user}, {time}",
    "incident.alert": " · uzbuna {id}",
    "incident.units": "Patrole",
    "incident.assigned_by": " · uputio {user}, {time}",
    "incident.no_unit": "Još nije upućena nijedna patrola.",
    "incident.timeline": "Hronologija",
    "incident.refresh": "Osveži",
    "incident.ranking": "Rangiranje patrola…",
    "incident.no_available": "Nema slobodne patrole sa poznatim položajem.",
    "incident.assign": "Uputi",
    "incident.recommended": "Predložene patrole",
    "incident.checklist": "Kontrolna lista",
    "incident.done": "Urađeno",
    "incident.skip": "Preskoči",
    "incident.step_pending": "na čekanju",
    "incident.step_done": "urađeno",
    "incident.step_skipped": "preskočeno",
    "incident.kind_created": "otvorena",
    "incident.kind_assigned": "upućena patrola",
    "incident.kind_status": "stanje",
    "incident.kind_note": "beleška",
    "incident.kind_checklist": "kontrolna lista",
    "incident.kind_closed": "zatvorena",
    "incident.kind_released_units": "patrole oslobođene",
    "incident.eta_min": "Dolazak za {m} min {s} s",
    "incident.eta_s": "Dolazak za {s} s",
  },
});

const STEP_STATES = ["pending", "done", "skipped"];
const TIMELINE_KINDS = ["created", "assigned", "status", "note", "checklist", "closed", "released_units"];

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
    this.title = h("h2", { id: "incident-title" }, t("incident.open_title"));
    this.close = h("button", { type: "button", class: "btn btn-small", "data-testid": "incident-back", title: t("incident.back_hint"), hidden: true }, t("incident.all"));
    this.close.addEventListener("click", () => this.hide());
    this.body = h("div", { class: "incident-body" });
    this.pointLabel = h("span", { class: "muted", "data-testid": "new-incident-point" }, t("incident.click_map"));
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
    this.title.textContent = t("incident.open_title");
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
      this.body.replaceChildren(...(this.newForm ? [this.newForm] : []), h("div", { class: "muted" }, t("incident.none_open")));
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
            h("span", { class: "row-main" }, h("span", { class: "row-name" }, `#${i.id} ${i.type}`), h("span", { class: "row-sub" }, t("incident.units_since", { n: i.units.filter((u) => !u.released_at).length, time: clock(i.created_at) }))),
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
    this.pointLabel.textContent = t("incident.at_point", { lat: lat.toFixed(5), lon: lon.toFixed(5) });
    this.pointLabel.classList.remove("muted");
    this.newForm?.querySelector<HTMLButtonElement>("button[type=submit]")?.removeAttribute("disabled");
  }

  /** An incident from a call or seen on the map: type, priority, place, what the caller said. */
  private newIncidentForm(): HTMLFormElement {
    const type = h("input", { name: "type", required: true, placeholder: t("incident.type_placeholder"), pattern: "[a-z0-9_]+", title: t("incident.type_title"), "data-testid": "new-incident-type" });
    const priority = h("select", { name: "priority", "data-testid": "new-incident-priority", "aria-label": t("incident.priority") });
    for (let p = 1; p <= 5; p++) priority.appendChild(h("option", { value: String(p), selected: p === 2 }, `P${p}`));
    const address = h("input", { name: "address", placeholder: t("incident.address"), "data-testid": "new-incident-address" });
    const note = h("textarea", { name: "note", rows: 2, placeholder: t("incident.caller_said"), "data-testid": "new-incident-note" });
    const submit = h("button", { type: "submit", class: "btn btn-primary btn-small", disabled: true, "data-testid": "new-incident-create" }, t("incident.create"));
    const form = h(
      "form",
      { class: "new-incident", "data-testid": "new-incident", "aria-label": t("incident.new_form") },
      h("h3", {}, t("incident.new_title")),
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
    const text = h("textarea", { rows: 2, placeholder: t("incident.note_placeholder"), "data-testid": "incident-note-text", "aria-label": t("incident.note") });
    const add = h("button", { type: "submit", class: "btn btn-small", "data-testid": "incident-note-add" }, t("incident.add_note"));
    const form = h("form", { class: "note-form" }, text, add);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const note = text.value.trim();
      if (!note) return;
      add.disabled = true;
      this.busy = true;
      dispatchApi
        .addNote(i.id, note)
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
    const user = h("input", { type: "text", placeholder: t("incident.officer_placeholder"), required: true, "data-testid": "unmask-grantee", "aria-label": t("incident.officer") });
    const hours = h("input", { type: "number", min: 1, max: 12, value: 2, required: true, "data-testid": "unmask-hours", "aria-label": t("incident.hours") });
    const purpose = h("input", { type: "text", placeholder: t("incident.purpose_placeholder"), required: true, maxlength: "500", "data-testid": "unmask-purpose", "aria-label": t("incident.purpose") });
    const caseRef = h("input", { type: "text", value: `INC-${i.id}`, required: true, maxlength: "500", "data-testid": "unmask-case-ref", "aria-label": t("incident.case_ref") });
    const submit = h("button", { type: "submit", class: "btn btn-small", "data-testid": "unmask-grant" }, t("incident.unmask"));
    const result = h("div", { class: "muted", "data-testid": "unmask-result" });
    const form = h("form", { class: "note-form" }, user, hours, purpose, caseRef, submit);
    const shown = (g: UnmaskGrant) => {
      const revoke = h("button", { type: "button", class: "btn btn-small", "data-testid": "unmask-revoke" }, t("incident.revoke"));
      revoke.addEventListener("click", () => {
        revoke.disabled = true;
        dispatchApi
          .revokeUnmask(g.id)
          .then(() => result.replaceChildren(t("incident.blurred_again", { user: g.grantee })))
          .catch((e) => {
            revoke.disabled = false;
            this.hooks.onError(e);
          });
      });
      result.replaceChildren(t("incident.faces_shown", { user: g.grantee, cameras: g.camera_ids.join(", "), time: clock(g.expires_at) }), revoke);
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
    return h("div", {}, h("h3", {}, t("incident.faces")), form, result);
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
      this.recsError = errorText(e);
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
    this.title.textContent = t("incident.title", { id: String(i.id) });
    this.el.dataset.state = i.state;
    const loc = i.location.address ?? `${i.location.lat.toFixed(5)}, ${i.location.lon.toFixed(5)}`;
    const locate = h("button", { type: "button", class: "btn btn-small" }, t("incident.show_on_map"));
    locate.addEventListener("click", () => this.hooks.onLocate(i));
    const sees = h("button", { type: "button", class: "btn btn-small", "data-testid": "incident-sees" }, t("incident.sees"));
    sees.addEventListener("click", () => this.hooks.onSees(i));
    const units = i.units.filter((u) => !u.released_at);
    const parts: (HTMLElement | null)[] = [
      h(
        "div",
        { class: "incident-head" },
        h("span", { class: `prio prio-${i.priority}`, title: t("incident.priority") }, `P${i.priority}`),
        h("span", { class: "incident-type" }, i.type),
        h("span", { class: `incident-state state-${i.state}`, "data-testid": "incident-state" }, i.flagged ? t("incident.flagged", { state: stateLabel(i.state) }) : stateLabel(i.state)),
      ),
      h("div", { class: "incident-meta" }, loc, " · ", t("incident.by_at", { user: i.created_by, time: clock(i.created_at) }), i.alert_id !== null ? t("incident.alert", { id: String(i.alert_id) }) : ""),
      h("div", { class: "details-actions" }, locate, sees),
      h("h3", {}, t("incident.units")),
      units.length
        ? h(
            "ul",
            { class: "incident-units" },
            units.map((u) => h("li", { "data-testid": "incident-unit", "data-unit-id": u.unit_id }, u.unit_id, h("span", { class: "muted" }, t("incident.assigned_by", { user: u.assigned_by, time: clock(u.assigned_at) })))),
          )
        : h("div", { class: "muted" }, t("incident.no_unit")),
      this.canDispatch && i.state === "open" ? this.recommendationsEl() : null,
      this.canDispatch && i.state === "open" ? this.noteForm(i) : null,
      this.canUnmask && i.state === "open" ? this.unmaskForm(i) : null,
      i.checklist.length ? this.checklistEl(i) : null,
      h("h3", {}, t("incident.timeline")),
      h("ol", { class: "timeline-list", "data-testid": "incident-timeline" }, [...i.timeline].reverse().map(timelineRow)),
    ];
    this.body.replaceChildren(...parts.filter((p): p is HTMLElement => p !== null));
  }

  private recommendationsEl(): HTMLElement {
    const refresh = h("button", { type: "button", class: "btn btn-small" }, t("incident.refresh"));
    refresh.addEventListener("click", () => void this.loadRecommendations());
    let content: HTMLElement;
    if (this.recsError) content = h("div", { class: "muted error-text" }, this.recsError);
    else if (this.recs === null) content = h("div", { class: "muted" }, t("incident.ranking"));
    else if (this.recs.length === 0) content = h("div", { class: "muted" }, t("incident.no_available"));
    else {
      content = h(
        "ol",
        { class: "rec-list", "data-testid": "recommendations" },
        this.recs.map((r) => {
          const assign = h("button", { type: "button", class: "btn btn-primary q-btn", "data-testid": "assign-unit", "data-unit-id": r.unit_id }, t("incident.assign"));
          assign.addEventListener("click", () => void this.assign(r.unit_id, assign));
          return h(
            "li",
            { class: "rec-item", "data-testid": "recommendation", "data-unit-id": r.unit_id },
            h(
              "div",
              { class: "rec-main" },
              h("div", { class: "rec-name" }, h("span", { class: "legend-dot", style: `background:${unitColor(r.status)}` }), `${r.call_sign} `, h("span", { class: "muted" }, `(${unitKind(r.kind)})`)),
              h("div", { class: "rec-figures" }, h("b", { "data-testid": "rec-eta" }, eta(r.eta_s)), ` · ${formatKm(r.distance_m)} · ${unitLabel(r.status)}`),
              h("div", { class: "rec-reason muted" }, r.reason),
            ),
            assign,
          );
        }),
      );
    }
    return h("div", { class: "rec-section" }, h("div", { class: "section-head" }, h("h3", {}, t("incident.recommended")), refresh), content);
  }

  private checklistEl(i: Incident): HTMLElement {
    return h(
      "div",
      {},
      h("h3", {}, t("incident.checklist")),
      h(
        "ol",
        { class: "checklist", "data-testid": "incident-checklist" },
        i.checklist.map((s) => {
          const row = h("li", { class: `check-${s.state}`, "data-step": s.step }, h("span", { class: "check-text" }, s.text));
          if (s.state === "pending" && this.canDispatch && i.state === "open") {
            const done = h("button", { type: "button", class: "btn btn-small" }, t("incident.done"));
            const skip = h("button", { type: "button", class: "btn btn-small" }, t("incident.skip"));
            done.addEventListener("click", () => void this.step(s.step, "done", done));
            skip.addEventListener("click", () => void this.step(s.step, "skipped", skip));
            row.append(h("span", { class: "check-actions" }, done, skip));
          } else {
            row.append(h("span", { class: "muted" }, ` ${STEP_STATES.includes(s.state) ? t(`incident.step_${s.state}`) : s.state}${s.by ? ` · ${s.by}` : ""}`));
          }
          return row;
        }),
      ),
    );
  }
}

function timelineRow(e: TimelineEntry): HTMLElement {
  const kind = TIMELINE_KINDS.includes(e.kind) ? t(`incident.kind_${e.kind}`) : e.kind;
  return h("li", { "data-kind": e.kind }, h("time", { datetime: e.time }, clock(e.time)), " ", h("b", {}, kind), ` · ${e.actor}`, describe(e.detail));
}

function stateLabel(state: string): string {
  return state === "open" || state === "closed" ? t(`incident.state_${state}`) : state;
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
  return m > 0 ? t("incident.eta_min", { m, s: sec }) : t("incident.eta_s", { s: sec });
}

export function formatKm(m: number): string {
  return m >= 1000 ? `${fmtNumber(m / 1000, { minimumFractionDigits: 1, maximumFractionDigits: 1 })} km` : `${Math.round(m)} m`;
}
