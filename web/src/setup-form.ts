// What the set-up sections share: a section's contract, labelled inputs
// with the API's field errors shown next to them, an import's row report
// as a table, and a confirmation asked in place.

import { ApiError, type FieldProblem, type ImportRowError } from "./api";
import { h } from "./dom";
import { register, t } from "./i18n";

register("setup-form", {
  en: {
    "setup-form.where": "Where",
    "setup-form.field": "Field",
    "setup-form.problem": "What is wrong",
    "setup-form.line": "line {n}",
    "setup-form.feature": "feature {n}",
    "setup-form.more": "{n} more problems are counted but not listed; fix these and import again to see them.",
    "setup-form.confirm": "Yes, delete",
    "setup-form.cancel": "Cancel",
    "setup-form.fix_fields": "Some fields need fixing; see the messages next to them.",
  },
  "sr-Latn": {
    "setup-form.where": "Gde",
    "setup-form.field": "Polje",
    "setup-form.problem": "Šta nije u redu",
    "setup-form.line": "red {n}",
    "setup-form.feature": "objekat {n}",
    "setup-form.more": "Još {n} problema je prebrojano, ali nije navedeno; ispravite ove i uvezite ponovo da biste ih videli.",
    "setup-form.confirm": "Da, obriši",
    "setup-form.cancel": "Otkaži",
    "setup-form.fix_fields": "Neka polja treba ispraviti; pogledajte poruke pored njih.",
  },
});

/** One part of the set-up view: built once, shown when its tab is picked. */
export interface Section {
  el: HTMLElement;
  /** Called each time the section is shown (a map inside needs its size again). */
  shown(): void;
  destroy(): void;
}

export interface SectionContext {
  /** Shows an error in the view's banner (a 401 is left to the login screen). */
  report(e: unknown): void;
}

/**
 * A form's inputs by the API's field names, each with a place for its error.
 * `showErrors` puts each problem next to the input it names (`area.lat` falls
 * back to `area`, `cameras[2]` to `cameras`) and returns those that name none.
 */
export class FormFields {
  private readonly slots = new Map<string, { wrap: HTMLElement; error: HTMLElement }>();
  readonly general = h("div", { class: "setup-form-error", role: "alert", "data-testid": "form-error", hidden: true });

  field(key: string, label: string, input: HTMLElement, hint?: string): HTMLElement {
    const error = h("div", { class: "setup-field-error", "data-testid": `field-error-${key}`, hidden: true });
    const wrap = h("label", { class: "setup-field", "data-field": key }, h("span", { class: "setup-label" }, label), input, hint ? h("span", { class: "setup-hint" }, hint) : null, error);
    this.slots.set(key, { wrap, error });
    return wrap;
  }

  clear(): void {
    for (const { wrap, error } of this.slots.values()) {
      wrap.classList.remove("invalid");
      error.hidden = true;
      error.textContent = "";
    }
    this.general.hidden = true;
    this.general.textContent = "";
  }

  private slotFor(field: string): { wrap: HTMLElement; error: HTMLElement } | undefined {
    let key = field;
    for (;;) {
      const slot = this.slots.get(key);
      if (slot) return slot;
      const cut = Math.max(key.lastIndexOf("."), key.lastIndexOf("["));
      if (cut <= 0) return undefined;
      key = key.slice(0, cut);
    }
  }

  showErrors(problems: FieldProblem[]): FieldProblem[] {
    const left: FieldProblem[] = [];
    for (const p of problems) {
      const slot = this.slotFor(p.field);
      if (!slot) {
        left.push(p);
        continue;
      }
      slot.wrap.classList.add("invalid");
      slot.error.hidden = false;
      const text = p.field.includes(".") || p.field.includes("[") ? `${p.field}: ${p.reason}` : p.reason;
      slot.error.textContent = slot.error.textContent ? `${slot.error.textContent}; ${text}` : text;
    }
    return left;
  }

  /**
   * Shows a refused save: field errors next to their inputs, anything else in
   * the form's own message line. True when the error was shown here.
   */
  showApiError(e: unknown): boolean {
    this.clear();
    if (!(e instanceof ApiError) || e.status === 401 || e.status === 0) return false;
    const left = this.showErrors(e.fields);
    const placed = e.fields.length - left.length;
    const message = left.length ? left.map((p) => `${p.field}: ${p.reason}`).join("; ") : placed ? t("setup-form.fix_fields") : e.message;
    this.general.textContent = message;
    this.general.hidden = false;
    return true;
  }
}

/** An import's bad rows as a table: where (line or feature), which field, and why. */
export function rowReport(errors: ImportRowError[], errorCount: number, testid: string): HTMLElement {
  const rows = errors.map((e) =>
    h(
      "tr",
      { "data-line": e.line ?? null, "data-feature": e.feature ?? null },
      h("td", { class: "setup-where" }, e.line !== undefined ? t("setup-form.line", { n: e.line }) : e.feature !== undefined ? t("setup-form.feature", { n: e.feature }) : ""),
      h("td", {}, h("code", {}, e.field)),
      h("td", {}, e.reason),
    ),
  );
  const more = errorCount - errors.length;
  return h(
    "div",
    { class: "setup-report-table" },
    h(
      "table",
      { class: "setup-table", "data-testid": testid },
      h("thead", {}, h("tr", {}, [t("setup-form.where"), t("setup-form.field"), t("setup-form.problem")].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, rows),
    ),
    more > 0 ? h("p", { class: "muted" }, t("setup-form.more", { n: more })) : null,
  );
}

/**
 * Replaces `button` with a question and two buttons until answered; runs
 * `onConfirm` on yes. Asked in place so nothing is deleted by one stray click.
 */
export function confirmInPlace(button: HTMLButtonElement, question: string, onConfirm: () => void | Promise<void>): void {
  const yes = h("button", { type: "button", class: "btn btn-danger btn-small", "data-testid": "confirm-yes" }, t("setup-form.confirm"));
  const no = h("button", { type: "button", class: "btn btn-small", "data-testid": "confirm-no" }, t("setup-form.cancel"));
  const box = h("span", { class: "setup-confirm", role: "group" }, h("span", {}, question), yes, no);
  button.replaceWith(box);
  const restore = () => box.replaceWith(button);
  no.addEventListener("click", restore);
  yes.addEventListener("click", async () => {
    yes.disabled = no.disabled = true;
    try {
      await onConfirm();
    } finally {
      if (box.isConnected) restore();
    }
  });
  no.focus();
}

/** A number input's value, or null when empty; NaN when it holds something that is not a number. */
export function numberOrNull(input: HTMLInputElement): number | null {
  const v = input.value.trim();
  if (v === "") return null;
  return Number(v);
}

/** Comma- or space-separated words, without empties. */
export function words(text: string): string[] {
  return text
    .split(/[\s,;]+/)
    .map((w) => w.trim())
    .filter(Boolean);
}
