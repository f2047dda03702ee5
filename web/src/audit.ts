// The auditor's screen: the audit log as a filtered, paged table, the
// chain's verification state with the signing key's fingerprint, and
// exports of the filtered range. It shows what was accessed, never the
// material: no video, no snapshots, no plate reads.

import "./audit.css";
import { auditApi, type AuditEntry, type AuditFilter, type AuditResult, type AuditVerification, type Me } from "./api";
import { Banner } from "./banner";
import { h } from "./dom";
import { fmtDateTime, fmtNumber, register, t } from "./i18n";
import { viewHeader } from "./topbar";

register("audit", {
  en: {
    "audit.title": "Audit log",
    "audit.actor": "Actor",
    "audit.actor_hint": "user name",
    "audit.action": "Action",
    "audit.action_hint": "e.g. video.playback",
    "audit.target": "Target",
    "audit.target_hint": "camera id, query…",
    "audit.case_ref": "Case reference",
    "audit.case_ref_hint": "e.g. KU-2026-114",
    "audit.checking": "Checking the chain…",
    "audit.verify_again": "Verify again",
    "audit.chain_section": "Chain verification",
    "audit.chain_verified": "Chain verified: {entries} entries, {checkpoints} signed checkpoints",
    "audit.chain_broken": "Chain broken: {reason}. Keep this log as it is and report it.",
    "audit.verification_failed": "verification failed",
    "audit.last_checkpoint": "Last signed checkpoint: entry {seq} at {time}",
    "audit.no_checkpoint": "No checkpoint signed yet",
    "audit.public_key": "Public key {key}",
    "audit.fingerprint": "Key fingerprint (SHA-256): ",
    "audit.chain_unknown": "The chain could not be checked.",
    "audit.result": "Result",
    "audit.any": "any",
    "audit.result_ok": "ok",
    "audit.result_denied": "denied",
    "audit.result_refused": "refused",
    "audit.result_failed": "failed",
    "audit.from": "From",
    "audit.until": "Until",
    "audit.search": "Search",
    "audit.clear": "Clear",
    "audit.export_csv": "Export CSV",
    "audit.export_json": "Export JSON",
    "audit.filters": "Filter the log",
    "audit.col_time": "Time",
    "audit.col_purpose": "Purpose",
    "audit.load_more": "Load more",
    "audit.user_day": "{user}'s day: everything they did on this day",
    "audit.follow_case": "Follow this case reference: everything done under it",
    "audit.none": "No entry matches these filters.",
    "audit.shown": "{count} entries shown, oldest first, up to entry {head}.",
    "audit.shown_one": "1 entry shown, oldest first, up to entry {head}.",
    "audit.shown_more": "{count} entries shown, oldest first, up to entry {head}; more match.",
    "audit.searching": "Searching…",
    "audit.note": "This screen shows who accessed what, when, why and under which case; it never shows the video, snapshots or plate reads themselves.",
  },
  "sr-Latn": {
    "audit.title": "Revizorski dnevnik",
    "audit.actor": "Korisnik",
    "audit.actor_hint": "korisničko ime",
    "audit.action": "Radnja",
    "audit.action_hint": "npr. `video.playback`",
    "audit.target": "Objekat radnje",
    "audit.target_hint": "ID kamere, upit…",
    "audit.case_ref": "Broj predmeta",
    "audit.case_ref_hint": "npr. `KU-2026-114`",
    "audit.checking": "Provera lanca…",
    "audit.verify_again": "Proveri ponovo",
    "audit.chain_section": "Provera lanca",
    "audit.chain_verified": "Lanac je proveren: {entries} zapisa, {checkpoints} potpisanih kontrolnih tačaka",
    "audit.chain_broken": "Lanac je narušen: {reason}. Sačuvajte dnevnik neizmenjen i prijavite to.",
    "audit.verification_failed": "provera nije uspela",
    "audit.last_checkpoint": "Poslednja potpisana kontrolna tačka: zapis {seq}, {time}",
    "audit.no_checkpoint": "Još nema potpisane kontrolne tačke",
    "audit.public_key": "Javni ključ {key}",
    "audit.fingerprint": "Otisak ključa (SHA-256): ",
    "audit.chain_unknown": "Lanac nije mogao da se proveri.",
    "audit.result": "Ishod",
    "audit.any": "bilo koji",
    "audit.result_ok": "uspešno",
    "audit.result_denied": "odbijeno (pristup)",
    "audit.result_refused": "odbijeno (zahtev)",
    "audit.result_failed": "neuspešno",
    "audit.from": "Od",
    "audit.until": "Do",
    "audit.search": "Pretraži",
    "audit.clear": "Očisti",
    "audit.export_csv": "Izvoz CSV",
    "audit.export_json": "Izvoz JSON",
    "audit.filters": "Filtriranje dnevnika",
    "audit.col_time": "Vreme",
    "audit.col_purpose": "Svrha",
    "audit.load_more": "Učitaj još",
    "audit.user_day": "Dan korisnika {user}: sve što je uradio tog dana",
    "audit.follow_case": "Prati ovaj broj predmeta: sve što je urađeno pod njim",
    "audit.none": "Nijedan zapis ne odgovara ovim filterima.",
    "audit.shown": "Prikazano zapisa: {count}, od najstarijeg, do zapisa {head}.",
    "audit.shown_one": "Prikazan je 1 zapis, do zapisa {head}.",
    "audit.shown_more": "Prikazano zapisa: {count}, od najstarijeg, do zapisa {head}; ima ih još.",
    "audit.searching": "Pretraga…",
    "audit.note": "Ovaj ekran pokazuje ko je čemu pristupio, kada, zašto i u okviru kog predmeta; nikada ne prikazuje sam video, snimke ekrana ni očitane tablice.",
  },
});

export interface AuditHandle {
  destroy(): void;
}

const PAGE = 100;
const RESULTS: AuditResult[] = ["ok", "denied", "refused", "failed"];
const TEXT_FIELDS = [
  { key: "actor", label: "audit.actor", hint: "audit.actor_hint" },
  { key: "action", label: "audit.action", hint: "audit.action_hint" },
  { key: "target", label: "audit.target", hint: "audit.target_hint" },
  { key: "case_ref", label: "audit.case_ref", hint: "audit.case_ref_hint" },
] as const;

/** `YYYY-MM-DDTHH:mm` in local time: what a datetime-local input holds. */
function localInput(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

function fmtTime(iso: string): string {
  return fmtDateTime(iso, { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

export function renderAudit(root: HTMLElement, me: Me, onLogout: () => void): AuditHandle {
  const banner = new Banner();
  let destroyed = false;

  // ---- header
  const header = viewHeader(me, "audit", t("audit.title"), onLogout);

  // ---- chain verification
  const chainState = h("div", { class: "chain-state", "data-testid": "audit-chain", "data-state": "checking", role: "status" }, t("audit.checking"));
  const chainDetail = h("div", { class: "chain-detail", "data-testid": "audit-chain-detail" });
  const verifyBtn = h("button", { type: "button", class: "btn btn-small", "data-testid": "audit-verify" }, t("audit.verify_again"));
  const chain = h("section", { class: "audit-chain", "aria-label": t("audit.chain_section") }, h("div", { class: "chain-row" }, chainState, verifyBtn), chainDetail);

  function showVerification(v: AuditVerification) {
    chainState.dataset.state = v.verified ? "verified" : "broken";
    chainState.textContent = v.verified
      ? t("audit.chain_verified", { entries: v.entries ?? 0, checkpoints: v.checkpoints ?? 0 })
      : t("audit.chain_broken", { reason: v.failure?.message ?? t("audit.verification_failed") });
    const cp = v.last_checkpoint;
    chainDetail.replaceChildren(
      h("span", {}, cp ? t("audit.last_checkpoint", { seq: String(cp.seq), time: fmtTime(cp.time) }) : t("audit.no_checkpoint")),
      h("span", { title: t("audit.public_key", { key: v.public_key }) }, t("audit.fingerprint"), h("code", { "data-testid": "audit-key-fingerprint" }, v.public_key_sha256)),
    );
  }

  async function verify() {
    verifyBtn.disabled = true;
    chainState.dataset.state = "checking";
    chainState.textContent = t("audit.checking");
    try {
      const v = await auditApi.verify();
      if (!destroyed) showVerification(v);
    } catch (e) {
      chainState.dataset.state = "unknown";
      chainState.textContent = t("audit.chain_unknown");
      banner.reportError(e);
    } finally {
      verifyBtn.disabled = false;
    }
  }
  verifyBtn.addEventListener("click", () => void verify());

  // ---- filters
  const inputs = {} as Record<(typeof TEXT_FIELDS)[number]["key"], HTMLInputElement>;
  const fieldEls = TEXT_FIELDS.map(({ key, label, hint }) => {
    const input = h("input", { id: `audit-${key}`, type: "text", placeholder: t(hint), autocomplete: "off", spellcheck: "false", "data-testid": `audit-filter-${key}` });
    inputs[key] = input;
    return h("label", { class: "audit-field", for: `audit-${key}` }, t(label), input);
  });
  const resultSel = h("select", { id: "audit-result", "data-testid": "audit-filter-result" }, h("option", { value: "" }, t("audit.any")), RESULTS.map((r) => h("option", { value: r }, t(`audit.result_${r}`))));
  const fromInput = h("input", { id: "audit-from", type: "datetime-local", "data-testid": "audit-filter-from" });
  const toInput = h("input", { id: "audit-to", type: "datetime-local", "data-testid": "audit-filter-to" });
  const searchBtn = h("button", { type: "submit", class: "btn btn-primary", "data-testid": "audit-search" }, t("audit.search"));
  const clearBtn = h("button", { type: "button", class: "btn", "data-testid": "audit-clear" }, t("audit.clear"));
  const csvLink = h("a", { class: "btn", "data-testid": "audit-export-csv", download: "" }, t("audit.export_csv"));
  const jsonLink = h("a", { class: "btn", "data-testid": "audit-export-json", download: "" }, t("audit.export_json"));
  const form = h(
    "form",
    { class: "audit-filters", "aria-label": t("audit.filters"), "data-testid": "audit-filters" },
    fieldEls,
    h("label", { class: "audit-field", for: "audit-result" }, t("audit.result"), resultSel),
    h("label", { class: "audit-field", for: "audit-from" }, t("audit.from"), fromInput),
    h("label", { class: "audit-field", for: "audit-to" }, t("audit.until"), toInput),
    h("div", { class: "audit-actions" }, searchBtn, clearBtn, csvLink, jsonLink),
  );

  function currentFilter(): AuditFilter {
    const f: AuditFilter = {};
    for (const { key } of TEXT_FIELDS) if (inputs[key].value.trim()) f[key] = inputs[key].value.trim();
    if (resultSel.value) f.result = resultSel.value as AuditResult;
    if (fromInput.value) f.from = new Date(fromInput.value).toISOString();
    if (toInput.value) f.to = new Date(toInput.value).toISOString();
    return f;
  }

  function setFilter(f: { actor?: string; case_ref?: string; from?: Date; to?: Date }) {
    for (const { key } of TEXT_FIELDS) inputs[key].value = "";
    resultSel.value = "";
    inputs.actor.value = f.actor ?? "";
    inputs.case_ref.value = f.case_ref ?? "";
    fromInput.value = f.from ? localInput(f.from) : "";
    toInput.value = f.to ? localInput(f.to) : "";
  }

  // ---- table
  const summary = h("div", { class: "audit-summary", "data-testid": "audit-summary", "aria-live": "polite" });
  const tbody = h("tbody", { "data-testid": "audit-rows" });
  const table = h(
    "table",
    { class: "audit-table", "data-testid": "audit-table" },
    h("thead", {}, h("tr", {}, ["audit.col_time", "audit.actor", "audit.action", "audit.target", "audit.col_purpose", "audit.case_ref", "audit.result"].map((c) => h("th", { scope: "col" }, t(c))))),
    tbody,
  );
  const moreBtn = h("button", { type: "button", class: "btn", "data-testid": "audit-more", hidden: true }, t("audit.load_more"));

  /** "This user's day": everything the actor did on the local day of `time`. */
  function followUserDay(actor: string, time: string) {
    const from = new Date(time);
    from.setHours(0, 0, 0, 0);
    const to = new Date(from);
    to.setDate(to.getDate() + 1);
    setFilter({ actor, from, to });
    void search();
  }

  /** "Follow this case reference": everything done under it, by anyone. */
  function followCase(caseRef: string) {
    setFilter({ case_ref: caseRef });
    void search();
  }

  function row(e: AuditEntry): HTMLTableRowElement {
    const actor = h("button", { type: "button", class: "link-btn", "data-testid": "audit-user-day", title: t("audit.user_day", { user: e.actor }) }, e.actor);
    actor.addEventListener("click", () => followUserDay(e.actor, e.time));
    let caseCell: Node | string = "";
    if (e.case_ref) {
      const b = h("button", { type: "button", class: "link-btn", "data-testid": "audit-follow-case", title: t("audit.follow_case") }, e.case_ref);
      const ref = e.case_ref;
      b.addEventListener("click", () => followCase(ref));
      caseCell = b;
    }
    return h(
      "tr",
      { "data-seq": e.seq, "data-result": e.result, class: e.result === "ok" ? "" : "audit-not-ok" },
      h("td", { class: "audit-time", title: e.time }, fmtTime(e.time)),
      h("td", {}, actor),
      h("td", { class: "audit-action" }, e.action),
      h("td", { class: "audit-target" }, e.target),
      h("td", {}, e.purpose ?? ""),
      h("td", { "data-testid": "audit-case-ref" }, caseCell),
      h("td", { class: `audit-result audit-result-${e.result}` }, RESULTS.includes(e.result as AuditResult) ? t(`audit.result_${e.result}`) : e.result),
    );
  }

  // One walk: the filter and head fixed by its first page.
  let walk: { filter: AuditFilter; head: number | null; next: number | null; shown: number; gen: number } = { filter: {}, head: null, next: null, shown: 0, gen: 0 };

  async function load(first: boolean) {
    const gen = walk.gen;
    moreBtn.disabled = true;
    searchBtn.disabled = first;
    try {
      const page = await auditApi.page(walk.filter, first ? 0 : (walk.next ?? 0), first ? null : walk.head, PAGE);
      if (destroyed || gen !== walk.gen) return;
      if (first) {
        tbody.replaceChildren();
        walk.head = page.head_seq;
        walk.shown = 0;
      }
      for (const e of page.entries) tbody.appendChild(row(e));
      walk.shown += page.entries.length;
      walk.next = page.next_after_seq;
      moreBtn.hidden = walk.next === null;
      const head = String(walk.head);
      summary.textContent =
        walk.shown === 0
          ? t("audit.none")
          : walk.next !== null
            ? t("audit.shown_more", { count: fmtNumber(walk.shown), head })
            : walk.shown === 1
              ? t("audit.shown_one", { head })
              : t("audit.shown", { count: fmtNumber(walk.shown), head });
      summary.dataset.count = String(walk.shown);
    } catch (e) {
      banner.reportError(e);
    } finally {
      moreBtn.disabled = false;
      searchBtn.disabled = false;
    }
  }

  async function search() {
    const filter = currentFilter();
    walk = { filter, head: null, next: null, shown: 0, gen: walk.gen + 1 };
    csvLink.setAttribute("href", auditApi.exportUrl(filter, "csv"));
    jsonLink.setAttribute("href", auditApi.exportUrl(filter, "json"));
    summary.textContent = t("audit.searching");
    delete summary.dataset.count;
    tbody.replaceChildren(); // the last filter's rows would read as this one's
    await load(true);
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    void search();
  });
  clearBtn.addEventListener("click", () => {
    setFilter({});
    void search();
  });
  moreBtn.addEventListener("click", () => void load(false));

  const main = h(
    "main",
    { class: "audit-view", "data-testid": "audit-view" },
    chain,
    form,
    summary,
    h("div", { class: "audit-table-wrap" }, table),
    moreBtn,
    h("p", { class: "audit-note" }, t("audit.note")),
  );
  root.replaceChildren(h("div", { class: "app" }, header, h("div", { class: "audit-workspace" }, banner.el, main)));

  const onKey = (ev: KeyboardEvent) => {
    if (ev.key === "Escape") banner.dismissLatest();
  };
  document.addEventListener("keydown", onKey);
  void verify();
  void search();

  return {
    destroy() {
      destroyed = true;
      banner.close();
      document.removeEventListener("keydown", onKey);
    },
  };
}
