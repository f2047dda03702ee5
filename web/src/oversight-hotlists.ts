// Oversight: covert hotlists, which only supervisors see. Lists them with
// their entries, imports entries from CSV (the import's report shown row
// by row), deletes entries.

import { oversightApi, type Hotlist, type HotlistEntry, type HotlistImportReport } from "./api";
import { h } from "./dom";
import { fmtDateTime, register, t } from "./i18n";
import { clearErrors, field, frame, loadInto, markError, showFieldErrors, table, twoStepButton, type Field, type Section, type SectionContext } from "./oversight-kit";

register("oversight.hotlists", {
  en: {
    "oversight.hotlists.title": "Covert hotlists",
    "oversight.hotlists.intro": "Plates whose reads raise a hit that only supervisors see. Administrators keep the other lists. Every change is recorded.",
    "oversight.hotlists.list": "List",
    "oversight.hotlists.list_hint": "name: letters, digits, - _ .",
    "oversight.hotlists.csv": "CSV",
    "oversight.hotlists.csv_hint": "plate,reason,priority[,source,expires_at]",
    "oversight.hotlists.file": "or a file",
    "oversight.hotlists.import": "Import",
    "oversight.hotlists.report": "{list}: {rows} rows read, {added} added, {replaced} replaced, {bad} bad rows.",
    "oversight.hotlists.report_more": "Only the first {shown} of {count} problems are listed.",
    "oversight.hotlists.line": "Line",
    "oversight.hotlists.field": "Field",
    "oversight.hotlists.reason": "Problem",
    "oversight.hotlists.entries": "{n} entries",
    "oversight.hotlists.show": "Show entries",
    "oversight.hotlists.hide": "Hide entries",
    "oversight.hotlists.plate": "Plate",
    "oversight.hotlists.why": "Reason",
    "oversight.hotlists.priority": "Priority",
    "oversight.hotlists.source": "Source",
    "oversight.hotlists.expires": "Expires",
    "oversight.hotlists.added_by": "Added by",
    "oversight.hotlists.never": "never",
    "oversight.hotlists.inactive": "expired",
    "oversight.hotlists.delete": "Delete",
    "oversight.hotlists.none": "No covert hotlist yet. Import one below.",
    "oversight.hotlists.empty_csv": "Paste CSV or choose a file.",
  },
  "sr-Latn": {
    "oversight.hotlists.title": "Tajne liste traženih tablica",
    "oversight.hotlists.intro": "Tablice čije očitavanje daje pogodak koji vide samo nadzornici. Ostale liste vode administratori. Svaka izmena se beleži.",
    "oversight.hotlists.list": "Lista",
    "oversight.hotlists.list_hint": "naziv: slova, cifre, - _ .",
    "oversight.hotlists.csv": "CSV",
    "oversight.hotlists.csv_hint": "`plate,reason,priority[,source,expires_at]`",
    "oversight.hotlists.file": "ili datoteka",
    "oversight.hotlists.import": "Uvezi",
    "oversight.hotlists.report": "{list}: pročitano redova {rows}, dodato {added}, zamenjeno {replaced}, loših redova {bad}.",
    "oversight.hotlists.report_more": "Navedeno je samo prvih {shown} od {count} problema.",
    "oversight.hotlists.line": "Red",
    "oversight.hotlists.field": "Polje",
    "oversight.hotlists.reason": "Problem",
    "oversight.hotlists.entries": "Stavki: {n}",
    "oversight.hotlists.show": "Prikaži stavke",
    "oversight.hotlists.hide": "Sakrij stavke",
    "oversight.hotlists.plate": "Tablica",
    "oversight.hotlists.why": "Razlog",
    "oversight.hotlists.priority": "Prioritet",
    "oversight.hotlists.source": "Izvor",
    "oversight.hotlists.expires": "Ističe",
    "oversight.hotlists.added_by": "Dodao",
    "oversight.hotlists.never": "nikad",
    "oversight.hotlists.inactive": "isteklo",
    "oversight.hotlists.delete": "Obriši",
    "oversight.hotlists.none": "Još nema tajnih lista. Uvezite jednu ispod.",
    "oversight.hotlists.empty_csv": "Nalepite CSV ili izaberite datoteku.",
  },
});

export function hotlistsSection(ctx: SectionContext): Section {
  const { el, body, status, refreshBtn } = frame("oversight-hotlists", t("oversight.hotlists.title"), t("oversight.hotlists.intro"));

  // ---- the import
  const names = h("datalist", { id: "oversight-hotlist-names" });
  const fields: Record<string, Field> = {
    list: field("hotlist", "list", t("oversight.hotlists.list"), h("input", { type: "text", placeholder: t("oversight.hotlists.list_hint"), autocomplete: "off", spellcheck: "false", list: "oversight-hotlist-names" })),
    csv: field("hotlist", "csv", t("oversight.hotlists.csv"), h("textarea", { rows: 4, placeholder: t("oversight.hotlists.csv_hint"), spellcheck: "false" })),
  };
  const file = h("input", { type: "file", accept: ".csv,text/csv", "data-testid": "hotlist-file" });
  file.addEventListener("change", async () => {
    const f = file.files?.[0];
    if (f) fields.csv.input.value = await f.text();
  });
  const submit = h("button", { type: "submit", class: "btn btn-primary", "data-testid": "hotlist-import" }, t("oversight.hotlists.import"));
  const report = h("div", { class: "ov-report", "data-testid": "hotlist-report", "aria-live": "polite" });
  const form = h(
    "form",
    { class: "ov-form", "data-testid": "hotlist-form", novalidate: true },
    fields.list.el,
    fields.csv.el,
    h("label", { class: "ov-field" }, h("span", { class: "ov-label" }, t("oversight.hotlists.file")), file),
    h("div", { class: "ov-form-actions" }, submit),
    names,
  );

  function showReport(r: HotlistImportReport) {
    const lines: (HTMLElement | string)[] = [h("p", { "data-testid": "hotlist-report-summary" }, t("oversight.hotlists.report", { list: r.list, rows: r.rows, added: r.added, replaced: r.replaced, bad: r.bad_rows }))];
    if (r.errors.length) {
      const rows = h("tbody", {}, r.errors.map((e) => h("tr", { "data-testid": "hotlist-report-row", "data-line": e.line }, h("td", {}, String(e.line)), h("td", {}, e.field), h("td", {}, e.reason))));
      lines.push(table("hotlist-report-table", [t("oversight.hotlists.line"), t("oversight.hotlists.field"), t("oversight.hotlists.reason")], rows));
      if (r.error_count > r.errors.length) lines.push(h("p", {}, t("oversight.hotlists.report_more", { shown: r.errors.length, count: r.error_count })));
    }
    report.replaceChildren(...lines);
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(fields);
    report.replaceChildren();
    const list = fields.list.input.value.trim();
    const csv = fields.csv.input.value;
    let missing = false;
    if (!list) {
      markError(fields.list, t("oversight.kit.required"));
      missing = true;
    }
    if (!csv.trim()) {
      markError(fields.csv, t("oversight.hotlists.empty_csv"));
      missing = true;
    }
    if (missing) return;
    submit.disabled = true;
    try {
      const r = await oversightApi.importHotlist(list, csv, true);
      showReport(r);
      open.add(list);
      await refresh();
    } catch (e) {
      if (!showFieldErrors(fields, e)) ctx.reportError(e);
    } finally {
      submit.disabled = false;
    }
  });

  // ---- the lists and their entries
  const listsEl = h("div", { class: "ov-hotlists", "data-testid": "hotlists" });
  const open = new Set<string>();
  const entryBoxes = new Map<string, HTMLElement>();

  function entryRow(list: string, e: HotlistEntry): HTMLTableRowElement {
    const del = twoStepButton(t("oversight.hotlists.delete"), "hotlist-entry-delete", async () => {
      try {
        await oversightApi.deleteHotlistEntry(list, e.id);
        await refresh();
      } catch (err) {
        ctx.reportError(err);
      }
    });
    return h(
      "tr",
      { "data-testid": "hotlist-entry", "data-entry-id": e.id, "data-plate": e.plate, class: e.active ? "" : "ov-inactive" },
      h("td", { class: "ov-plate" }, e.plate),
      h("td", {}, e.reason),
      h("td", {}, String(e.priority)),
      h("td", {}, e.source ?? ""),
      h("td", { class: "ov-nowrap" }, e.expires_at ? fmtDateTime(e.expires_at) : t("oversight.hotlists.never"), e.active ? "" : ` (${t("oversight.hotlists.inactive")})`),
      h("td", {}, e.created_by),
      h("td", {}, del),
    );
  }

  async function showEntries(list: string) {
    const box = entryBoxes.get(list);
    if (!box) return;
    const st = h("div", { class: "ov-status", role: "status" });
    box.replaceChildren(st);
    await loadInto(st, () => oversightApi.hotlistEntries(list), (entries) => {
      if (ctx.destroyed()) return;
      const headers = [t("oversight.hotlists.plate"), t("oversight.hotlists.why"), t("oversight.hotlists.priority"), t("oversight.hotlists.source"), t("oversight.hotlists.expires"), t("oversight.hotlists.added_by"), ""];
      box.append(table(`hotlist-entries-${list}`, headers, h("tbody", {}, entries.map((e) => entryRow(list, e)))));
    });
  }

  function listEl(l: Hotlist): HTMLElement {
    const box = h("div", { class: "ov-entries" });
    entryBoxes.set(l.name, box);
    const toggle = h("button", { type: "button", class: "btn btn-small", "data-testid": "hotlist-toggle" }, open.has(l.name) ? t("oversight.hotlists.hide") : t("oversight.hotlists.show"));
    toggle.addEventListener("click", () => {
      if (open.has(l.name)) {
        open.delete(l.name);
        box.replaceChildren();
        toggle.textContent = t("oversight.hotlists.show");
      } else {
        open.add(l.name);
        toggle.textContent = t("oversight.hotlists.hide");
        void showEntries(l.name);
      }
    });
    if (open.has(l.name)) void showEntries(l.name);
    return h(
      "div",
      { class: "ov-hotlist", "data-testid": "hotlist", "data-list": l.name, "data-entries": l.entries },
      h("div", { class: "ov-hotlist-head" }, h("strong", {}, l.name), h("span", { class: "ov-muted" }, t("oversight.hotlists.entries", { n: l.entries })), toggle),
      box,
    );
  }

  async function refresh() {
    await loadInto(status, () => oversightApi.hotlists(), (lists) => {
      if (ctx.destroyed()) return;
      const covert = lists.filter((l) => l.covert).sort((a, b) => a.name.localeCompare(b.name));
      entryBoxes.clear();
      listsEl.replaceChildren(...(covert.length ? covert.map(listEl) : [h("p", { class: "ov-muted" }, t("oversight.hotlists.none"))]));
      names.replaceChildren(...covert.map((l) => h("option", { value: l.name })));
    });
  }
  refreshBtn.addEventListener("click", () => void refresh());

  body.append(listsEl, form, report);
  return { el, refresh };
}
