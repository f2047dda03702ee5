// Oversight: one day's sensitive reads in the supervisor's districts —
// playbacks, exports, plate searches, trail reads and unmasked views —
// with who, when, why and under which case. The server picks them out of
// the audit log (and records that this list was read); the screen shows
// what was accessed, never the material.

import { oversightApi, type SensitiveRead } from "./api";
import { h } from "./dom";
import { fmtDateTime, register, t } from "./i18n";
import { frame, loadInto, localDay, table, type Section, type SectionContext } from "./oversight-kit";

register("oversight.reads", {
  en: {
    "oversight.reads.title": "Sensitive reads of the day",
    "oversight.reads.intro": "Who played back or exported video, searched plates, read a unit's trail or saw faces unblurred in your districts, and why. Reading this list is recorded too.",
    "oversight.reads.day": "Day",
    "oversight.reads.time": "Time",
    "oversight.reads.who": "Who",
    "oversight.reads.what": "What",
    "oversight.reads.target": "Of",
    "oversight.reads.purpose": "Purpose",
    "oversight.reads.case_ref": "Case reference",
    "oversight.reads.result": "Result",
    "oversight.reads.kind_playback": "playback",
    "oversight.reads.kind_export": "export",
    "oversight.reads.kind_plate_search": "plate search",
    "oversight.reads.kind_trail": "unit trail",
    "oversight.reads.kind_unmasked_view": "faces unblurred",
    "oversight.reads.kind_snapshot": "snapshot",
    "oversight.reads.faces_shown": "faces unblurred",
    "oversight.reads.under_grant": "under grant {id}",
    "oversight.reads.result_ok": "done",
    "oversight.reads.result_failed": "failed",
    "oversight.reads.result_denied": "refused",
    "oversight.reads.result_refused": "refused",
    "oversight.reads.none": "No sensitive read on this day in your districts.",
    "oversight.reads.count": "Reads: {n}",
    "oversight.reads.truncated": "The day holds more than the server lists at once; the newest are shown.",
  },
  "sr-Latn": {
    "oversight.reads.title": "Osetljivi uvidi tokom dana",
    "oversight.reads.intro": "Ko je u vašim okruzima pregledao ili izvezao snimak, pretraživao tablice, čitao kretanje jedinice ili video nezamagljena lica, i zašto. I čitanje ovog spiska se beleži.",
    "oversight.reads.day": "Dan",
    "oversight.reads.time": "Vreme",
    "oversight.reads.who": "Ko",
    "oversight.reads.what": "Šta",
    "oversight.reads.target": "Čega",
    "oversight.reads.purpose": "Svrha",
    "oversight.reads.case_ref": "Broj predmeta",
    "oversight.reads.result": "Ishod",
    "oversight.reads.kind_playback": "pregled snimka",
    "oversight.reads.kind_export": "izvoz",
    "oversight.reads.kind_plate_search": "pretraga tablica",
    "oversight.reads.kind_trail": "kretanje jedinice",
    "oversight.reads.kind_unmasked_view": "otkrivena lica",
    "oversight.reads.kind_snapshot": "fotografija",
    "oversight.reads.faces_shown": "otkrivena lica",
    "oversight.reads.under_grant": "po dozvoli {id}",
    "oversight.reads.result_ok": "urađeno",
    "oversight.reads.result_failed": "nije uspelo",
    "oversight.reads.result_denied": "odbijeno",
    "oversight.reads.result_refused": "odbijeno",
    "oversight.reads.none": "Tog dana nije bilo osetljivih uvida u vašim okruzima.",
    "oversight.reads.count": "Uvida: {n}",
    "oversight.reads.truncated": "Tog dana ima više uvida nego što server daje odjednom; prikazani su najnoviji.",
  },
});

const KINDS = new Set(["playback", "export", "plate_search", "trail", "unmasked_view", "snapshot"]);
const RESULTS = new Set(["ok", "failed", "denied", "refused"]);

export function readsSection(ctx: SectionContext): Section {
  const { el, body, status, refreshBtn } = frame("oversight-reads", t("oversight.reads.title"), t("oversight.reads.intro"));
  const day = h("input", { type: "date", id: "reads-day", "data-testid": "reads-day", value: localDay(new Date()) });
  const tbody = h("tbody", { "data-testid": "reads-rows" });
  const summary = h("div", { class: "ov-summary", "data-testid": "reads-summary", "aria-live": "polite" });
  const headers = [t("oversight.reads.time"), t("oversight.reads.who"), t("oversight.reads.what"), t("oversight.reads.target"), t("oversight.reads.purpose"), t("oversight.reads.case_ref"), t("oversight.reads.result")];

  function row(r: SensitiveRead): HTMLTableRowElement {
    const what = KINDS.has(r.kind) ? t(`oversight.reads.kind_${r.kind}`) : r.action;
    const notes: string[] = [];
    if (r.faces === "shown" && r.kind !== "unmasked_view") notes.push(t("oversight.reads.faces_shown"));
    if (r.unmask_grant !== null && r.unmask_grant !== undefined) notes.push(t("oversight.reads.under_grant", { id: String(r.unmask_grant) }));
    const result = RESULTS.has(r.result) ? t(`oversight.reads.result_${r.result}`) : r.result;
    return h(
      "tr",
      { "data-testid": "read-row", "data-seq": r.seq, "data-kind": r.kind, "data-actor": r.actor, "data-case-ref": r.case_ref ?? "", class: r.result === "ok" ? "" : "ov-not-ok" },
      h("td", { class: "ov-nowrap", title: r.time }, fmtDateTime(r.time)),
      h("td", {}, r.actor),
      h("td", {}, what, notes.length ? h("div", { class: "ov-muted" }, notes.join(", ")) : null),
      h("td", {}, r.target),
      h("td", {}, r.purpose ?? ""),
      h("td", {}, r.case_ref ?? ""),
      h("td", {}, result),
    );
  }

  let gen = 0;
  async function refresh() {
    const mine = ++gen;
    const date = day.value || localDay(new Date());
    delete summary.dataset.count;
    await loadInto(status, () => oversightApi.sensitiveReads(date), (list) => {
      if (ctx.destroyed() || mine !== gen) return;
      tbody.replaceChildren(...list.reads.map(row));
      summary.textContent = list.reads.length ? t("oversight.reads.count", { n: list.reads.length }) : t("oversight.reads.none");
      if (list.truncated) summary.textContent += ` ${t("oversight.reads.truncated")}`;
      summary.dataset.count = String(list.reads.length);
    });
  }
  day.addEventListener("change", () => void refresh());
  refreshBtn.addEventListener("click", () => void refresh());
  body.append(h("label", { class: "ov-field ov-inline", for: "reads-day" }, h("span", { class: "ov-label" }, t("oversight.reads.day")), day), summary, table("reads-table", headers, tbody));
  return { el, refresh };
}
