// Set-up › Alert rules: which events raise alerts. A table of the rules;
// a form to create or edit one whose errors are the API's own, each shown
// next to the field it names; delete after asking.

import { setupApi, type AlertRule, type EventTypeName, type RuleSpec } from "./api";
import { h } from "./dom";
import { register, t } from "./i18n";
import { confirmInPlace, FormFields, numberOrNull, words, type Section, type SectionContext } from "./setup-form";

register("setup-rules", {
  en: {
    "setup-rules.title": "Alert rules",
    "setup-rules.none": "No rule yet: events raise no alerts until one matches them.",
    "setup-rules.add": "New rule",
    "setup-rules.name": "Name",
    "setup-rules.enabled": "Enabled",
    "setup-rules.on": "on",
    "setup-rules.off": "off",
    "setup-rules.event_types": "Event types",
    "setup-rules.severity": "Severity",
    "setup-rules.cameras": "Only these cameras",
    "setup-rules.districts": "Only these districts",
    "setup-rules.list_hint": "Ids separated by commas; empty: all.",
    "setup-rules.area": "Only within a circle",
    "setup-rules.area_lat": "Centre latitude",
    "setup-rules.area_lon": "Centre longitude",
    "setup-rules.area_radius": "Radius (m)",
    "setup-rules.schedule": "Only at these times (UTC)",
    "setup-rules.days": "Days",
    "setup-rules.start_hour": "From hour",
    "setup-rules.end_hour": "Until hour",
    "setup-rules.min_priority": "Least hotlist priority (0–10)",
    "setup-rules.window": "Join an open alert within (s)",
    "setup-rules.radius": "… and within (m)",
    "setup-rules.save": "Save rule",
    "setup-rules.saved": "Rule {name} saved.",
    "setup-rules.edit": "Edit",
    "setup-rules.delete": "Delete",
    "setup-rules.delete_q": "Delete the rule {name}? Alerts it raised stay.",
    "setup-rules.deleted": "Rule {name} deleted.",
    "setup-rules.cancel": "Close",
    "setup-rules.new_title": "New rule",
    "setup-rules.edit_title": "Rule {id}: {name}",
    "setup-rules.sev_extreme": "extreme",
    "setup-rules.sev_severe": "severe",
    "setup-rules.sev_moderate": "moderate",
    "setup-rules.sev_minor": "minor",
    "setup-rules.day1": "Mon",
    "setup-rules.day2": "Tue",
    "setup-rules.day3": "Wed",
    "setup-rules.day4": "Thu",
    "setup-rules.day5": "Fri",
    "setup-rules.day6": "Sat",
    "setup-rules.day7": "Sun",
    "setup-rules.not_number": "must be a number",
  },
  "sr-Latn": {
    "setup-rules.title": "Pravila za uzbune",
    "setup-rules.none": "Još nema pravila: događaji ne podižu uzbune dok ih neko pravilo ne obuhvati.",
    "setup-rules.add": "Novo pravilo",
    "setup-rules.name": "Naziv",
    "setup-rules.enabled": "Uključeno",
    "setup-rules.on": "uključeno",
    "setup-rules.off": "isključeno",
    "setup-rules.event_types": "Vrste događaja",
    "setup-rules.severity": "Ozbiljnost",
    "setup-rules.cameras": "Samo ove kamere",
    "setup-rules.districts": "Samo ovi reoni",
    "setup-rules.list_hint": "Oznake odvojene zarezima; prazno: sve.",
    "setup-rules.area": "Samo unutar kruga",
    "setup-rules.area_lat": "Širina središta",
    "setup-rules.area_lon": "Dužina središta",
    "setup-rules.area_radius": "Poluprečnik (m)",
    "setup-rules.schedule": "Samo u ovo vreme (UTC)",
    "setup-rules.days": "Dani",
    "setup-rules.start_hour": "Od sata",
    "setup-rules.end_hour": "Do sata",
    "setup-rules.min_priority": "Najmanji prioritet liste (0–10)",
    "setup-rules.window": "Pridruži otvorenoj uzbuni u roku od (s)",
    "setup-rules.radius": "… i na udaljenosti do (m)",
    "setup-rules.save": "Sačuvaj pravilo",
    "setup-rules.saved": "Pravilo {name} je sačuvano.",
    "setup-rules.edit": "Izmeni",
    "setup-rules.delete": "Obriši",
    "setup-rules.delete_q": "Obrisati pravilo {name}? Uzbune koje je podiglo ostaju.",
    "setup-rules.deleted": "Pravilo {name} je obrisano.",
    "setup-rules.cancel": "Zatvori",
    "setup-rules.new_title": "Novo pravilo",
    "setup-rules.edit_title": "Pravilo {id}: {name}",
    "setup-rules.sev_extreme": "krajnja",
    "setup-rules.sev_severe": "velika",
    "setup-rules.sev_moderate": "umerena",
    "setup-rules.sev_minor": "mala",
    "setup-rules.day1": "pon",
    "setup-rules.day2": "uto",
    "setup-rules.day3": "sre",
    "setup-rules.day4": "čet",
    "setup-rules.day5": "pet",
    "setup-rules.day6": "sub",
    "setup-rules.day7": "ned",
    "setup-rules.not_number": "mora biti broj",
  },
});

const EVENT_TYPES: EventTypeName[] = ["motion", "object", "zone", "line_crossing", "plate_read", "hotlist_hit", "camera_offline", "camera_online", "camera_tamper", "unit_position", "incident_change"];
const SEVERITIES = ["extreme", "severe", "moderate", "minor"] as const;

export function createRulesSection(ctx: SectionContext): Section {
  let destroyed = false;
  let rules: AlertRule[] = [];
  let editing: AlertRule | null = null;

  const status = h("div", { class: "setup-status", role: "status", "data-testid": "rule-status" });
  const addBtn = h("button", { type: "button", class: "btn btn-primary", "data-testid": "rule-add" }, t("setup-rules.add"));
  const tbody = h("tbody", { "data-testid": "rule-rows" });
  const table = h(
    "table",
    { class: "setup-table", "data-testid": "rule-table" },
    h("thead", {}, h("tr", {}, [t("setup-rules.name"), t("setup-rules.enabled"), t("setup-rules.event_types"), t("setup-rules.severity"), ""].map((c) => h("th", { scope: "col" }, c)))),
    tbody,
  );

  // ---- form
  const fields = new FormFields();
  const num = (testid: string, extra: Record<string, string> = {}) => h("input", { type: "number", step: "any", "data-testid": testid, ...extra });
  const inp = {
    name: h("input", { type: "text", autocomplete: "off", "data-testid": "rule-name" }),
    enabled: h("input", { type: "checkbox", "data-testid": "rule-enabled" }),
    severity: h("select", { "data-testid": "rule-severity" }, SEVERITIES.map((s) => h("option", { value: s }, t(`setup-rules.sev_${s}`)))),
    cameras: h("input", { type: "text", autocomplete: "off", "data-testid": "rule-cameras" }),
    districts: h("input", { type: "text", autocomplete: "off", "data-testid": "rule-districts" }),
    useArea: h("input", { type: "checkbox", "data-testid": "rule-use-area" }),
    areaLat: num("rule-area-lat"),
    areaLon: num("rule-area-lon"),
    areaRadius: num("rule-area-radius"),
    useSchedule: h("input", { type: "checkbox", "data-testid": "rule-use-schedule" }),
    startHour: num("rule-start-hour", { step: "1" }),
    endHour: num("rule-end-hour", { step: "1" }),
    minPriority: num("rule-min-priority", { step: "1" }),
    window: num("rule-window", { step: "1" }),
    radius: num("rule-radius"),
  };
  const typeBoxes = new Map<EventTypeName, HTMLInputElement>(EVENT_TYPES.map((e) => [e, h("input", { type: "checkbox", value: e, "data-testid": `rule-type-${e}` })]));
  const dayBoxes = [1, 2, 3, 4, 5, 6, 7].map((d) => h("input", { type: "checkbox", value: String(d), "data-testid": `rule-day-${d}` }));
  const areaBox = h("div", { class: "setup-grid" }, fields.field("area.lat", t("setup-rules.area_lat"), inp.areaLat), fields.field("area.lon", t("setup-rules.area_lon"), inp.areaLon), fields.field("area.radius_m", t("setup-rules.area_radius"), inp.areaRadius));
  const scheduleBox = h(
    "div",
    {},
    fields.field("schedule.days", t("setup-rules.days"), h("span", { class: "setup-checks" }, dayBoxes.map((b, i) => h("label", { class: "setup-check" }, b, t(`setup-rules.day${i + 1}`))))),
    h("div", { class: "setup-grid" }, fields.field("schedule.start_hour", t("setup-rules.start_hour"), inp.startHour), fields.field("schedule.end_hour", t("setup-rules.end_hour"), inp.endHour)),
  );
  const formTitle = h("h3", { class: "setup-form-title" });
  const saveBtn = h("button", { type: "submit", class: "btn btn-primary", "data-testid": "rule-save" }, t("setup-rules.save"));
  const closeBtn = h("button", { type: "button", class: "btn", "data-testid": "rule-close" }, t("setup-rules.cancel"));
  const form = h(
    "form",
    { class: "setup-form", hidden: true, novalidate: true, "data-testid": "rule-form" },
    formTitle,
    fields.general,
    h("div", { class: "setup-grid" }, fields.field("name", t("setup-rules.name"), inp.name), fields.field("severity", t("setup-rules.severity"), inp.severity)),
    h("label", { class: "setup-check" }, inp.enabled, t("setup-rules.enabled")),
    fields.field("event_types", t("setup-rules.event_types"), h("span", { class: "setup-checks" }, EVENT_TYPES.map((e) => h("label", { class: "setup-check" }, typeBoxes.get(e)!, h("code", {}, e))))),
    h("div", { class: "setup-grid" }, fields.field("cameras", t("setup-rules.cameras"), inp.cameras, t("setup-rules.list_hint")), fields.field("districts", t("setup-rules.districts"), inp.districts, t("setup-rules.list_hint"))),
    h("label", { class: "setup-check" }, inp.useArea, t("setup-rules.area")),
    areaBox,
    h("label", { class: "setup-check" }, inp.useSchedule, t("setup-rules.schedule")),
    scheduleBox,
    h(
      "div",
      { class: "setup-grid" },
      fields.field("min_hotlist_priority", t("setup-rules.min_priority"), inp.minPriority),
      fields.field("correlation_window_s", t("setup-rules.window"), inp.window),
      fields.field("correlation_radius_m", t("setup-rules.radius"), inp.radius),
    ),
    h("div", { class: "setup-actions" }, saveBtn, closeBtn),
  );
  const syncOptional = () => {
    areaBox.hidden = !inp.useArea.checked;
    scheduleBox.hidden = !inp.useSchedule.checked;
  };
  inp.useArea.addEventListener("change", syncOptional);
  inp.useSchedule.addEventListener("change", syncOptional);

  const el = h("section", { class: "setup-section setup-wide" }, h("div", { class: "setup-actions" }, addBtn), status, h("div", { class: "setup-report-table" }, table), form);

  function renderTable() {
    if (!rules.length) {
      tbody.replaceChildren(h("tr", {}, h("td", { colspan: "5", class: "muted" }, t("setup-rules.none"))));
      return;
    }
    tbody.replaceChildren(
      ...rules.map((r) => {
        const editBtn = h("button", { type: "button", class: "btn btn-small", "data-testid": "rule-edit" }, t("setup-rules.edit"));
        editBtn.addEventListener("click", () => open(r));
        const delBtn = h("button", { type: "button", class: "btn btn-small btn-danger", "data-testid": "rule-delete" }, t("setup-rules.delete"));
        delBtn.addEventListener("click", () =>
          confirmInPlace(delBtn, t("setup-rules.delete_q", { name: r.name }), async () => {
            try {
              await setupApi.deleteRule(r.id);
              if (editing?.id === r.id) close();
              status.textContent = t("setup-rules.deleted", { name: r.name });
              await reload();
            } catch (e) {
              ctx.report(e);
            }
          }),
        );
        return h(
          "tr",
          { "data-rule-id": r.id, "data-testid": "rule-row" },
          h("td", {}, r.name),
          h("td", {}, r.enabled ? t("setup-rules.on") : t("setup-rules.off")),
          h("td", {}, r.event_types.map((e) => h("code", { class: "setup-code" }, e))),
          h("td", {}, t(`setup-rules.sev_${r.severity}`)),
          h("td", { class: "setup-row-actions" }, editBtn, delBtn),
        );
      }),
    );
  }

  async function reload() {
    try {
      rules = await setupApi.rules();
    } catch (e) {
      ctx.report(e);
      return;
    }
    if (!destroyed) renderTable();
  }

  function open(r: AlertRule | null) {
    editing = r;
    fields.clear();
    formTitle.textContent = r ? t("setup-rules.edit_title", { id: String(r.id), name: r.name }) : t("setup-rules.new_title");
    inp.name.value = r?.name ?? "";
    inp.enabled.checked = r?.enabled ?? true;
    inp.severity.value = r?.severity ?? "moderate";
    for (const [e, box] of typeBoxes) box.checked = r?.event_types.includes(e) ?? false;
    inp.cameras.value = (r?.cameras ?? []).join(", ");
    inp.districts.value = (r?.districts ?? []).join(", ");
    inp.useArea.checked = !!r?.area;
    inp.areaLat.value = r?.area ? String(r.area.lat) : "";
    inp.areaLon.value = r?.area ? String(r.area.lon) : "";
    inp.areaRadius.value = r?.area ? String(r.area.radius_m) : "";
    inp.useSchedule.checked = !!r?.schedule;
    for (const b of dayBoxes) b.checked = r?.schedule ? r.schedule.days.includes(Number(b.value)) : true;
    inp.startHour.value = r?.schedule ? String(r.schedule.start_hour) : "";
    inp.endHour.value = r?.schedule ? String(r.schedule.end_hour) : "";
    inp.minPriority.value = r?.min_hotlist_priority == null ? "" : String(r.min_hotlist_priority);
    inp.window.value = String(r?.correlation_window_s ?? 60);
    inp.radius.value = String(r?.correlation_radius_m ?? 100);
    syncOptional();
    form.hidden = false;
    form.dataset.ruleId = r ? String(r.id) : "";
    inp.name.focus();
  }

  function close() {
    editing = null;
    form.hidden = true;
  }

  addBtn.addEventListener("click", () => open(null));
  closeBtn.addEventListener("click", close);

  /** The rule as the form holds it; numbers that are not numbers are named before anything is sent. */
  function spec(): { spec: RuleSpec; bad: string[] } {
    const bad: string[] = [];
    const n = (i: HTMLInputElement, field: string): number | null => {
      const v = numberOrNull(i);
      if (v !== null && !Number.isFinite(v)) bad.push(field);
      return v;
    };
    const s: RuleSpec = {
      name: inp.name.value.trim(),
      enabled: inp.enabled.checked,
      event_types: EVENT_TYPES.filter((e) => typeBoxes.get(e)!.checked),
      cameras: words(inp.cameras.value),
      districts: words(inp.districts.value),
      area: inp.useArea.checked ? { lat: n(inp.areaLat, "area.lat") ?? NaN, lon: n(inp.areaLon, "area.lon") ?? NaN, radius_m: n(inp.areaRadius, "area.radius_m") ?? NaN } : null,
      schedule: inp.useSchedule.checked
        ? { days: dayBoxes.filter((b) => b.checked).map((b) => Number(b.value)), start_hour: n(inp.startHour, "schedule.start_hour") ?? NaN, end_hour: n(inp.endHour, "schedule.end_hour") ?? NaN }
        : null,
      min_hotlist_priority: n(inp.minPriority, "min_hotlist_priority"),
      severity: inp.severity.value as RuleSpec["severity"],
      correlation_window_s: n(inp.window, "correlation_window_s") ?? 60,
      correlation_radius_m: n(inp.radius, "correlation_radius_m") ?? 100,
    };
    // An empty field inside a chosen area or schedule is not a number either.
    if (s.area) for (const [k, v] of Object.entries(s.area)) if (!Number.isFinite(v) && !bad.includes(`area.${k}`)) bad.push(`area.${k}`);
    if (s.schedule) for (const k of ["start_hour", "end_hour"] as const) if (!Number.isFinite(s.schedule[k]) && !bad.includes(`schedule.${k}`)) bad.push(`schedule.${k}`);
    return { spec: s, bad };
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    fields.clear();
    const { spec: s, bad } = spec();
    if (bad.length) {
      fields.showErrors(bad.map((field) => ({ field, reason: t("setup-rules.not_number") })));
      return;
    }
    saveBtn.disabled = true;
    try {
      const saved = editing ? await setupApi.replaceRule(editing.id, s) : await setupApi.createRule(s);
      if (destroyed) return;
      status.textContent = t("setup-rules.saved", { name: saved.name });
      status.dataset.saved = String(saved.id);
      close();
      await reload();
    } catch (e) {
      if (!fields.showApiError(e)) ctx.report(e);
    } finally {
      saveBtn.disabled = false;
    }
  });

  void reload();

  return {
    el,
    shown() {},
    destroy() {
      destroyed = true;
    },
  };
}
