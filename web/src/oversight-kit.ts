// What the oversight view's sections share: a section's frame with its own
// loading/refusal line, form fields with the API's reason shown beside
// them, the two-step button for an irreversible action, and time inputs.

import { ApiError, type Me, errorText } from "./api";
import { h } from "./dom";
import { register, t } from "./i18n";

register("oversight.kit", {
  en: {
    "oversight.kit.loading": "Loading…",
    "oversight.kit.confirm": "Click again to confirm",
    "oversight.kit.required": "Fill this in.",
    "oversight.kit.no_time": "Enter a date and time.",
    "oversight.kit.check_fields": "Check the fields marked below.",
    "oversight.kit.refresh": "Refresh",
  },
  "sr-Latn": {
    "oversight.kit.loading": "Učitava se…",
    "oversight.kit.confirm": "Kliknite ponovo da potvrdite",
    "oversight.kit.required": "Popunite ovo polje.",
    "oversight.kit.no_time": "Unesite datum i vreme.",
    "oversight.kit.check_fields": "Proverite označena polja ispod.",
    "oversight.kit.refresh": "Osveži",
  },
});

/** What every section gets from the view. */
export interface SectionContext {
  me: Me;
  /** An action's failure: to the view's error banner. */
  reportError(e: unknown): void;
  /** Whether the view is gone (late answers are dropped). */
  destroyed(): boolean;
}

export interface Section {
  el: HTMLElement;
  refresh(): Promise<void>;
  destroy?(): void;
}

export function may(me: Me, permission: string): boolean {
  return (me.permissions as string[]).includes(permission);
}

/** A section's frame: a heading, a refresh button, a status line, and the body. */
export function frame(id: string, title: string, intro: string): { el: HTMLElement; body: HTMLElement; status: HTMLElement; refreshBtn: HTMLButtonElement } {
  const status = h("div", { class: "ov-status", "data-testid": `${id}-status`, role: "status" });
  const refreshBtn = h("button", { type: "button", class: "btn btn-small", "data-testid": `${id}-refresh` }, t("oversight.kit.refresh"));
  const body = h("div", { class: "ov-body" });
  const el = h(
    "section",
    { class: "ov-section", id: `ov-${id}`, "data-testid": id, "aria-labelledby": `ov-${id}-title` },
    h("div", { class: "ov-head" }, h("h2", { id: `ov-${id}-title` }, title), refreshBtn),
    h("p", { class: "ov-intro" }, intro),
    status,
    body,
  );
  return { el, body, status, refreshBtn };
}

/**
 * Loads a section's list, showing "loading" and then either nothing or
 * the API's refusal in the section itself: a list the caller may not read
 * (a grant over too few districts, say) is that section's news, not an
 * error of the whole view.
 */
export async function loadInto<T>(status: HTMLElement, load: () => Promise<T>, show: (v: T) => void): Promise<void> {
  status.dataset.state = "loading";
  status.textContent = t("oversight.kit.loading");
  try {
    const v = await load();
    show(v);
    status.dataset.state = "done";
    status.textContent = "";
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return; // back to login
    status.dataset.state = "error";
    status.textContent = errorText(e);
  }
}

/** A labelled input with a place for its error, keyed by the API's field name. */
export interface Field {
  el: HTMLElement;
  input: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;
  error: HTMLElement;
}

export function field(prefix: string, name: string, label: string, input: Field["input"]): Field {
  const id = `${prefix}-${name}`;
  input.id = id;
  input.setAttribute("data-testid", id);
  const error = h("span", { class: "ov-field-error", "data-testid": `${id}-error`, id: `${id}-error`, "aria-live": "polite" });
  input.setAttribute("aria-describedby", `${id}-error`);
  const el = h("label", { class: "ov-field", for: id }, h("span", { class: "ov-label" }, label), input, error);
  return { el, input, error };
}

export function clearErrors(fields: Record<string, Field>): void {
  for (const f of Object.values(fields)) {
    f.error.textContent = "";
    f.input.removeAttribute("aria-invalid");
  }
}

export function markError(f: Field, reason: string): void {
  f.error.textContent = f.error.textContent ? `${f.error.textContent} ${reason}` : reason;
  f.input.setAttribute("aria-invalid", "true");
}

/**
 * Shows a refused request's field reasons beside their fields; true if
 * every reason found its field (else the caller shows the whole message).
 */
export function showFieldErrors(fields: Record<string, Field>, e: unknown): boolean {
  if (!(e instanceof ApiError) || e.fields.length === 0) return false;
  let placed = true;
  for (const p of e.fields) {
    const f = fields[p.field];
    if (f) markError(f, p.reason);
    else placed = false;
  }
  return placed;
}

/** `YYYY-MM-DDTHH:mm` in local time: what a datetime-local input holds. */
export function localInput(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** `YYYY-MM-DD` of the local day. */
export function localDay(d: Date): string {
  return localInput(d).slice(0, 10);
}

/** A datetime-local input's value as RFC 3339, or null when empty or unreadable. */
export function isoOf(input: Field["input"]): string | null {
  if (!input.value) return null;
  const d = new Date(input.value);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/**
 * A button for an action that cannot be undone (release, revoke, delete):
 * the first click asks, a second within a few seconds does it.
 */
export function twoStepButton(label: string, testId: string, act: () => Promise<void>): HTMLButtonElement {
  const b = h("button", { type: "button", class: "btn btn-small ov-danger", "data-testid": testId }, label);
  let armed: number | null = null;
  b.addEventListener("click", async () => {
    if (armed === null) {
      b.textContent = t("oversight.kit.confirm");
      b.dataset.armed = "1";
      armed = window.setTimeout(() => {
        armed = null;
        b.textContent = label;
        delete b.dataset.armed;
      }, 5000);
      return;
    }
    window.clearTimeout(armed);
    armed = null;
    b.disabled = true;
    try {
      await act();
    } finally {
      b.disabled = false;
      b.textContent = label;
      delete b.dataset.armed;
    }
  });
  return b;
}

export function table(testId: string, headers: string[], tbody: HTMLTableSectionElement): HTMLElement {
  return h(
    "div",
    { class: "ov-table-wrap" },
    h("table", { class: "ov-table", "data-testid": testId }, h("thead", {}, h("tr", {}, headers.map((c) => h("th", { scope: "col" }, c)))), tbody),
  );
}
