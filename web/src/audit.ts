// The auditor's screen: the audit log as a filtered, paged table, the
// chain's verification state with the signing key's fingerprint, and
// exports of the filtered range. It shows what was accessed, never the
// material: no video, no snapshots, no plate reads.

import "./audit.css";
import { ApiError, auditApi, type AuditEntry, type AuditFilter, type AuditResult, type AuditVerification, type Me } from "./api";
import { Banner } from "./banner";
import { h } from "./dom";
import { brand, logoutButton, viewNav } from "./topbar";

export interface AuditHandle {
  destroy(): void;
}

const PAGE = 100;
const RESULTS: AuditResult[] = ["ok", "denied", "refused", "failed"];
const TEXT_FIELDS = [
  { key: "actor", label: "Actor", hint: "user name" },
  { key: "action", label: "Action", hint: "e.g. video.playback" },
  { key: "target", label: "Target", hint: "camera id, query…" },
  { key: "case_ref", label: "Case reference", hint: "e.g. KU-2026-114" },
] as const;

/** `YYYY-MM-DDTHH:mm` in local time: what a datetime-local input holds. */
function localInput(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

function fmtTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

export function renderAudit(root: HTMLElement, me: Me, onLogout: () => void): AuditHandle {
  const banner = new Banner();
  let destroyed = false;
  const reportError = (e: unknown) => {
    if (destroyed) return;
    if (e instanceof ApiError && e.status === 401) return; // handled globally: back to login
    banner.error(e instanceof Error ? e.message : String(e));
  };

  // ---- header
  const logoutBtn = logoutButton(onLogout);
  const header = h(
    "header",
    { class: "topbar" },
    brand(),
    viewNav(me, "audit"),
    h("div", { class: "view-title" }, "Audit log"),
    h("div", { class: "spacer" }),
    h("div", { class: "user", "data-testid": "username" }, h("span", { class: "user-icon", "aria-hidden": "true" }, "●"), me.username),
    logoutBtn,
  );

  // ---- chain verification
  const chainState = h("div", { class: "chain-state", "data-testid": "audit-chain", "data-state": "checking", role: "status" }, "Checking the chain…");
  const chainDetail = h("div", { class: "chain-detail", "data-testid": "audit-chain-detail" });
  const verifyBtn = h("button", { type: "button", class: "btn btn-small", "data-testid": "audit-verify" }, "Verify again");
  const chain = h("section", { class: "audit-chain", "aria-label": "Chain verification" }, h("div", { class: "chain-row" }, chainState, verifyBtn), chainDetail);

  function showVerification(v: AuditVerification) {
    chainState.dataset.state = v.verified ? "verified" : "broken";
    chainState.textContent = v.verified
      ? `Chain verified: ${v.entries ?? 0} entries, ${v.checkpoints ?? 0} signed checkpoints`
      : `Chain broken: ${v.failure?.message ?? "verification failed"}. Keep this log as it is and report it.`;
    const cp = v.last_checkpoint;
    chainDetail.replaceChildren(
      h("span", {}, cp ? `Last signed checkpoint: entry ${cp.seq} at ${fmtTime(cp.time)}` : "No checkpoint signed yet"),
      h("span", { title: `Public key ${v.public_key}` }, "Key fingerprint (SHA-256): ", h("code", { "data-testid": "audit-key-fingerprint" }, v.public_key_sha256)),
    );
  }

  async function verify() {
    verifyBtn.disabled = true;
    chainState.dataset.state = "checking";
    chainState.textContent = "Checking the chain…";
    try {
      const v = await auditApi.verify();
      if (!destroyed) showVerification(v);
    } catch (e) {
      chainState.dataset.state = "unknown";
      chainState.textContent = "The chain could not be checked.";
      reportError(e);
    } finally {
      verifyBtn.disabled = false;
    }
  }
  verifyBtn.addEventListener("click", () => void verify());

  // ---- filters
  const inputs = {} as Record<(typeof TEXT_FIELDS)[number]["key"], HTMLInputElement>;
  const fieldEls = TEXT_FIELDS.map(({ key, label, hint }) => {
    const input = h("input", { id: `audit-${key}`, type: "text", placeholder: hint, autocomplete: "off", spellcheck: "false", "data-testid": `audit-filter-${key}` });
    inputs[key] = input;
    return h("label", { class: "audit-field", for: `audit-${key}` }, label, input);
  });
  const resultSel = h("select", { id: "audit-result", "data-testid": "audit-filter-result" }, h("option", { value: "" }, "any"), RESULTS.map((r) => h("option", { value: r }, r)));
  const fromInput = h("input", { id: "audit-from", type: "datetime-local", "data-testid": "audit-filter-from" });
  const toInput = h("input", { id: "audit-to", type: "datetime-local", "data-testid": "audit-filter-to" });
  const searchBtn = h("button", { type: "submit", class: "btn btn-primary", "data-testid": "audit-search" }, "Search");
  const clearBtn = h("button", { type: "button", class: "btn", "data-testid": "audit-clear" }, "Clear");
  const csvLink = h("a", { class: "btn", "data-testid": "audit-export-csv", download: "" }, "Export CSV");
  const jsonLink = h("a", { class: "btn", "data-testid": "audit-export-json", download: "" }, "Export JSON");
  const form = h(
    "form",
    { class: "audit-filters", "aria-label": "Filter the log", "data-testid": "audit-filters" },
    fieldEls,
    h("label", { class: "audit-field", for: "audit-result" }, "Result", resultSel),
    h("label", { class: "audit-field", for: "audit-from" }, "From", fromInput),
    h("label", { class: "audit-field", for: "audit-to" }, "Until", toInput),
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
    h("thead", {}, h("tr", {}, ["Time", "Actor", "Action", "Target", "Purpose", "Case reference", "Result"].map((c) => h("th", { scope: "col" }, c)))),
    tbody,
  );
  const moreBtn = h("button", { type: "button", class: "btn", "data-testid": "audit-more", hidden: true }, "Load more");

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
    const actor = h("button", { type: "button", class: "link-btn", "data-testid": "audit-user-day", title: `${e.actor}'s day: everything they did on this day` }, e.actor);
    actor.addEventListener("click", () => followUserDay(e.actor, e.time));
    let caseCell: Node | string = "";
    if (e.case_ref) {
      const b = h("button", { type: "button", class: "link-btn", "data-testid": "audit-follow-case", title: "Follow this case reference: everything done under it" }, e.case_ref);
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
      h("td", { class: `audit-result audit-result-${e.result}` }, e.result),
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
      summary.textContent =
        walk.shown === 0
          ? "No entry matches these filters."
          : `${walk.shown} ${walk.shown === 1 ? "entry" : "entries"} shown, oldest first, up to entry ${walk.head}${walk.next === null ? "" : "; more match"}.`;
      summary.dataset.count = String(walk.shown);
    } catch (e) {
      reportError(e);
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
    summary.textContent = "Searching…";
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
    h("p", { class: "audit-note" }, "This screen shows who accessed what, when, why and under which case; it never shows the video, snapshots or plate reads themselves."),
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
      document.removeEventListener("keydown", onKey);
    },
  };
}
