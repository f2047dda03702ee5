// Oversight: incidents closed with checklist steps skipped, which the
// supervisor reviews. Each opens on the map (`#/map?incident=N`) where the
// caller has the map, and shows its checklist and timeline here.

import { oversightApi, type Incident } from "./api";
import { h } from "./dom";
import { fmtDateTime, register, t } from "./i18n";
import { frame, loadInto, may, table, type Section, type SectionContext } from "./oversight-kit";

register("oversight.incidents", {
  en: {
    "oversight.incidents.title": "Incidents with skipped steps",
    "oversight.incidents.intro": "Incidents closed before every step of their procedure was done. Review why.",
    "oversight.incidents.number": "No.",
    "oversight.incidents.type": "Type",
    "oversight.incidents.priority": "Priority",
    "oversight.incidents.place": "Place",
    "oversight.incidents.closed": "Closed",
    "oversight.incidents.skipped": "Skipped steps",
    "oversight.incidents.on_map": "Open on the map",
    "oversight.incidents.details": "Details",
    "oversight.incidents.hide": "Hide",
    "oversight.incidents.created": "Created by {user} at {time}",
    "oversight.incidents.step": "{n}. {text}: {state}",
    "oversight.incidents.step_by": "{n}. {text}: {state} ({user}, {time})",
    "oversight.incidents.state_done": "done",
    "oversight.incidents.state_skipped": "skipped",
    "oversight.incidents.state_pending": "not done",
    "oversight.incidents.timeline": "Timeline",
    "oversight.incidents.none": "No incident was closed with skipped steps.",
    "oversight.incidents.count": "Incidents: {n}",
  },
  "sr-Latn": {
    "oversight.incidents.title": "Događaji sa preskočenim koracima",
    "oversight.incidents.intro": "Događaji zatvoreni pre nego što su urađeni svi koraci procedure. Proverite zašto.",
    "oversight.incidents.number": "Br.",
    "oversight.incidents.type": "Vrsta",
    "oversight.incidents.priority": "Prioritet",
    "oversight.incidents.place": "Mesto",
    "oversight.incidents.closed": "Zatvoren",
    "oversight.incidents.skipped": "Preskočeni koraci",
    "oversight.incidents.on_map": "Otvori na mapi",
    "oversight.incidents.details": "Detalji",
    "oversight.incidents.hide": "Sakrij",
    "oversight.incidents.created": "Otvorio {user} u {time}",
    "oversight.incidents.step": "{n}. {text}: {state}",
    "oversight.incidents.step_by": "{n}. {text}: {state} ({user}, {time})",
    "oversight.incidents.state_done": "urađeno",
    "oversight.incidents.state_skipped": "preskočeno",
    "oversight.incidents.state_pending": "nije urađeno",
    "oversight.incidents.timeline": "Tok događaja",
    "oversight.incidents.none": "Nijedan događaj nije zatvoren sa preskočenim koracima.",
    "oversight.incidents.count": "Događaja: {n}",
  },
});

function stepState(state: string): string {
  if (state === "done") return t("oversight.incidents.state_done");
  if (state === "skipped") return t("oversight.incidents.state_skipped");
  return t("oversight.incidents.state_pending");
}

export function incidentsSection(ctx: SectionContext): Section {
  const { el, body, status, refreshBtn } = frame("oversight-incidents", t("oversight.incidents.title"), t("oversight.incidents.intro"));
  const hasMap = may(ctx.me, "read_cameras");
  const tbody = h("tbody", { "data-testid": "flagged-rows" });
  const summary = h("div", { class: "ov-summary", "data-testid": "flagged-summary" });
  const headers = [t("oversight.incidents.number"), t("oversight.incidents.type"), t("oversight.incidents.priority"), t("oversight.incidents.place"), t("oversight.incidents.closed"), t("oversight.incidents.skipped"), ""];

  function details(i: Incident): HTMLElement {
    const steps = i.checklist.map((s) =>
      h(
        "li",
        { class: `ov-step ov-step-${s.state}` },
        s.by && s.at ? t("oversight.incidents.step_by", { n: s.step, text: s.text, state: stepState(s.state), user: s.by, time: fmtDateTime(s.at) }) : t("oversight.incidents.step", { n: s.step, text: s.text, state: stepState(s.state) }),
      ),
    );
    const timeline = i.timeline.map((e) => h("li", {}, `${fmtDateTime(e.time)} · ${e.actor} · ${e.kind}`));
    return h(
      "div",
      { class: "ov-incident-details", "data-testid": "flagged-details" },
      h("p", { class: "ov-muted" }, t("oversight.incidents.created", { user: i.created_by, time: fmtDateTime(i.created_at) })),
      h("ol", { class: "ov-steps" }, steps),
      h("h3", {}, t("oversight.incidents.timeline")),
      h("ul", { class: "ov-timeline" }, timeline),
    );
  }

  function rows(i: Incident): HTMLTableRowElement[] {
    const skipped = i.checklist.filter((s) => s.state !== "done");
    const place = i.location.address ?? `${i.location.lat.toFixed(5)}, ${i.location.lon.toFixed(5)}`;
    const detailRow = h("tr", { class: "ov-detail-row", hidden: true }, h("td", { colspan: headers.length }, details(i)));
    const toggle = h("button", { type: "button", class: "btn btn-small", "data-testid": "flagged-toggle" }, t("oversight.incidents.details"));
    toggle.addEventListener("click", () => {
      detailRow.hidden = !detailRow.hidden;
      toggle.textContent = detailRow.hidden ? t("oversight.incidents.details") : t("oversight.incidents.hide");
    });
    const onMap = hasMap ? h("a", { class: "btn btn-small", href: `#/map?incident=${i.id}`, "data-testid": "flagged-open-map" }, t("oversight.incidents.on_map")) : null;
    const row = h(
      "tr",
      { "data-testid": "flagged-row", "data-incident-id": i.id },
      h("td", {}, String(i.id)),
      h("td", {}, i.type),
      h("td", {}, String(i.priority)),
      h("td", {}, place),
      h("td", { class: "ov-nowrap" }, i.closed_at ? fmtDateTime(i.closed_at) : ""),
      h("td", { class: "ov-wrap" }, skipped.map((s) => s.text).join("; ")),
      h("td", { class: "ov-actions" }, onMap, toggle),
    );
    return [row, detailRow];
  }

  async function refresh() {
    await loadInto(status, () => oversightApi.flaggedIncidents(), (incidents) => {
      if (ctx.destroyed()) return;
      tbody.replaceChildren(...incidents.flatMap(rows));
      summary.textContent = incidents.length ? t("oversight.incidents.count", { n: incidents.length }) : t("oversight.incidents.none");
      summary.dataset.count = String(incidents.length);
    });
  }
  refreshBtn.addEventListener("click", () => void refresh());
  body.append(summary, table("flagged-table", headers, tbody));
  return { el, refresh };
}
