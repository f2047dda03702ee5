// Set-up › Hotlists: lists of wanted plates that are not covert (covert
// lists are the supervisors' oversight, never shown or written here).
// Import a CSV into a list with its per-row report, list a list's entries,
// delete an entry after asking.

import { setupApi, type Hotlist, type HotlistEntry, type HotlistImportReport, errorText } from "./api";
import { h } from "./dom";
import { fmtDateTime, register, t } from "./i18n";
import { confirmInPlace, rowReport, type Section, type SectionContext } from "./setup-form";

register("setup-hotlists", {
  en: {
    "setup-hotlists.lists": "Hotlists",
    "setup-hotlists.none": "No hotlist yet: import a CSV file to make one.",
    "setup-hotlists.count": "{n} entries",
    "setup-hotlists.import": "Import a CSV file",
    "setup-hotlists.import_hint": "A header row with plate, reason, priority (0–10) and optionally source, expires_at (RFC 3339). An entry with a plate already listed replaces it.",
    "setup-hotlists.list_name": "Into the list",
    "setup-hotlists.list_hint": "an existing list or a new name",
    "setup-hotlists.need_name": "Name the list to import into first.",
    "setup-hotlists.importing": "Importing {name}…",
    "setup-hotlists.import_done": "{file} into {list}: {rows} rows read, {added} added, {replaced} replaced, {bad} bad rows not imported.",
    "setup-hotlists.entries": "Entries of {list}",
    "setup-hotlists.pick": "Pick a list to see its entries.",
    "setup-hotlists.no_entries": "This list has no entries.",
    "setup-hotlists.plate": "Plate",
    "setup-hotlists.reason": "Reason",
    "setup-hotlists.priority": "Priority",
    "setup-hotlists.expires": "Expires",
    "setup-hotlists.never": "never",
    "setup-hotlists.active": "Active",
    "setup-hotlists.yes": "yes",
    "setup-hotlists.no": "no (expired)",
    "setup-hotlists.added_by": "Added by",
    "setup-hotlists.delete": "Delete",
    "setup-hotlists.delete_q": "Delete {plate} from {list}?",
    "setup-hotlists.deleted": "{plate} deleted from {list}.",
  },
  "sr-Latn": {
    "setup-hotlists.lists": "Liste traženih tablica",
    "setup-hotlists.none": "Još nema lista: uvezite CSV datoteku da napravite jednu.",
    "setup-hotlists.count": "stavki: {n}",
    "setup-hotlists.import": "Uvezi CSV datoteku",
    "setup-hotlists.import_hint": "Red zaglavlja sa plate, reason, priority (0–10) i po želji source, expires_at (RFC 3339). Stavka sa tablicom koja je već na listi zamenjuje postojeću.",
    "setup-hotlists.list_name": "U listu",
    "setup-hotlists.list_hint": "postojeća lista ili novi naziv",
    "setup-hotlists.need_name": "Prvo navedite listu u koju se uvozi.",
    "setup-hotlists.importing": "Uvozi se {name}…",
    "setup-hotlists.import_done": "{file} u {list}: pročitano redova {rows}, dodato {added}, zamenjeno {replaced}, loših redova koji nisu uvezeni {bad}.",
    "setup-hotlists.entries": "Stavke liste {list}",
    "setup-hotlists.pick": "Izaberite listu da vidite njene stavke.",
    "setup-hotlists.no_entries": "Ova lista nema stavki.",
    "setup-hotlists.plate": "Tablica",
    "setup-hotlists.reason": "Razlog",
    "setup-hotlists.priority": "Prioritet",
    "setup-hotlists.expires": "Ističe",
    "setup-hotlists.never": "nikad",
    "setup-hotlists.active": "Aktivna",
    "setup-hotlists.yes": "da",
    "setup-hotlists.no": "ne (istekla)",
    "setup-hotlists.added_by": "Dodao",
    "setup-hotlists.delete": "Obriši",
    "setup-hotlists.delete_q": "Obrisati {plate} sa liste {list}?",
    "setup-hotlists.deleted": "{plate} je obrisana sa liste {list}.",
  },
});

export function createHotlistsSection(ctx: SectionContext): Section {
  let destroyed = false;
  let lists: Hotlist[] = [];
  let current: string | null = null;

  const list = h("ul", { class: "setup-list", "data-testid": "hotlist-list" });
  const listName = h("input", { type: "text", autocomplete: "off", spellcheck: "false", list: "setup-hotlist-names", placeholder: t("setup-hotlists.list_hint"), "data-testid": "hotlist-import-name" });
  const names = h("datalist", { id: "setup-hotlist-names" });
  const fileInput = h("input", { type: "file", accept: ".csv,text/csv", "data-testid": "hotlist-import-file" });
  const importState = h("div", { class: "setup-status", role: "status", "data-testid": "hotlist-import-summary" });
  const importReport = h("div", { class: "setup-import-report", "data-testid": "hotlist-import-report" });
  const importBox = h(
    "details",
    { class: "setup-box", open: true },
    h("summary", {}, t("setup-hotlists.import")),
    h("p", { class: "setup-hint" }, t("setup-hotlists.import_hint")),
    h("label", { class: "setup-field" }, h("span", { class: "setup-label" }, t("setup-hotlists.list_name")), listName, names),
    fileInput,
    importState,
    importReport,
  );

  const entriesTitle = h("h3", {}, t("setup-hotlists.pick"));
  const status = h("div", { class: "setup-status", role: "status", "data-testid": "hotlist-status" });
  const tbody = h("tbody", { "data-testid": "hotlist-entries" });
  const table = h(
    "table",
    { class: "setup-table", hidden: true },
    h(
      "thead",
      {},
      h("tr", {}, [t("setup-hotlists.plate"), t("setup-hotlists.reason"), t("setup-hotlists.priority"), t("setup-hotlists.expires"), t("setup-hotlists.active"), t("setup-hotlists.added_by"), ""].map((c) => h("th", { scope: "col" }, c))),
    ),
    tbody,
  );

  const el = h(
    "section",
    { class: "setup-section setup-cols" },
    h("div", { class: "setup-side" }, h("h3", {}, t("setup-hotlists.lists")), list, importBox),
    h("div", { class: "setup-main setup-pad" }, entriesTitle, status, h("div", { class: "setup-report-table" }, table)),
  );

  function renderLists() {
    names.replaceChildren(...lists.map((l) => h("option", { value: l.name })));
    if (!lists.length) {
      list.replaceChildren(h("li", { class: "muted" }, t("setup-hotlists.none")));
      return;
    }
    list.replaceChildren(
      ...lists.map((l) => {
        const b = h(
          "button",
          { type: "button", class: l.name === current ? "setup-item current" : "setup-item", "data-testid": "hotlist-item", "data-list": l.name },
          h("span", { class: "setup-item-name" }, l.name),
          h("span", { class: "setup-item-sub" }, t("setup-hotlists.count", { n: l.entries })),
        );
        b.addEventListener("click", () => void showEntries(l.name));
        return h("li", {}, b);
      }),
    );
  }

  async function reload() {
    try {
      // Covert lists belong to the supervisors' oversight view.
      lists = (await setupApi.hotlists()).filter((l) => !l.covert).sort((a, b) => a.name.localeCompare(b.name));
    } catch (e) {
      ctx.report(e);
      return;
    }
    if (!destroyed) renderLists();
  }

  function entryRow(e: HotlistEntry): HTMLTableRowElement {
    const del = h("button", { type: "button", class: "btn btn-small btn-danger", "data-testid": "hotlist-entry-delete" }, t("setup-hotlists.delete"));
    del.addEventListener("click", () =>
      confirmInPlace(del, t("setup-hotlists.delete_q", { plate: e.plate, list: e.list }), async () => {
        try {
          await setupApi.deleteHotlistEntry(e.list, e.id);
          status.textContent = t("setup-hotlists.deleted", { plate: e.plate, list: e.list });
          await Promise.all([showEntries(e.list), reload()]);
        } catch (err) {
          ctx.report(err);
        }
      }),
    );
    return h(
      "tr",
      { "data-testid": "hotlist-entry", "data-entry-id": e.id, "data-plate": e.plate },
      h("td", {}, h("code", {}, e.plate)),
      h("td", {}, e.reason),
      h("td", {}, String(e.priority)),
      h("td", {}, e.expires_at ? fmtDateTime(e.expires_at) : t("setup-hotlists.never")),
      h("td", {}, e.active ? t("setup-hotlists.yes") : t("setup-hotlists.no")),
      h("td", {}, e.created_by),
      h("td", {}, del),
    );
  }

  async function showEntries(name: string) {
    current = name;
    renderLists();
    entriesTitle.textContent = t("setup-hotlists.entries", { list: name });
    try {
      const entries = await setupApi.hotlistEntries(name);
      if (destroyed || current !== name) return;
      table.hidden = false;
      tbody.replaceChildren(...(entries.length ? entries.map(entryRow) : [h("tr", {}, h("td", { colspan: "7", class: "muted" }, t("setup-hotlists.no_entries")))]));
      tbody.dataset.count = String(entries.length);
    } catch (e) {
      ctx.report(e);
    }
  }

  fileInput.addEventListener("change", async () => {
    const file = fileInput.files?.[0];
    if (!file) return;
    const name = listName.value.trim();
    importReport.replaceChildren();
    if (!name) {
      importState.textContent = t("setup-hotlists.need_name");
      importState.dataset.state = "error";
      fileInput.value = "";
      listName.focus();
      return;
    }
    importState.textContent = t("setup-hotlists.importing", { name: file.name });
    importState.dataset.state = "importing";
    let report: HotlistImportReport;
    try {
      report = await setupApi.importHotlist(name, file);
    } catch (e) {
      importState.textContent = errorText(e);
      importState.dataset.state = "error";
      return;
    } finally {
      fileInput.value = "";
    }
    if (destroyed) return;
    importState.textContent = t("setup-hotlists.import_done", { file: file.name, list: report.list, rows: report.rows, added: report.added, replaced: report.replaced, bad: report.bad_rows });
    importState.dataset.state = "done";
    importState.dataset.badRows = String(report.bad_rows);
    if (report.errors.length) importReport.replaceChildren(rowReport(report.errors, report.error_count, "hotlist-import-errors"));
    await reload();
    await showEntries(report.list);
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
