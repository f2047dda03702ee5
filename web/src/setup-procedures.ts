// Set-up › Procedures: per incident type, the checklist a new incident of
// that type starts with. Listed; an incident type's steps are edited in
// order (add, remove, move) and saved with PUT /api/v1/procedures/{type}.
// Incidents already open keep the checklist they started with.

import { setupApi, type Procedure } from "./api";
import { h } from "./dom";
import { register, t } from "./i18n";
import { FormFields, type Section, type SectionContext } from "./setup-form";

register("setup-procedures", {
  en: {
    "setup-procedures.none": "No procedure yet: incidents start with an empty checklist.",
    "setup-procedures.add": "New procedure",
    "setup-procedures.type": "Incident type",
    "setup-procedures.type_hint": "e.g. robbery, traffic_accident",
    "setup-procedures.type_needed": "Give the incident type, e.g. robbery.",
    "setup-procedures.steps": "Steps, in order",
    "setup-procedures.step_n": "Step {n}",
    "setup-procedures.add_step": "Add a step",
    "setup-procedures.up": "Move up",
    "setup-procedures.down": "Move down",
    "setup-procedures.remove": "Remove step",
    "setup-procedures.save": "Save procedure",
    "setup-procedures.saved": "Procedure for {type} saved; new incidents of this type start with it.",
    "setup-procedures.count": "{n} steps",
    "setup-procedures.close": "Close",
    "setup-procedures.note": "Incidents already open keep the checklist they started with.",
  },
  "sr-Latn": {
    "setup-procedures.none": "Još nema procedura: incidenti počinju sa praznim spiskom koraka.",
    "setup-procedures.add": "Nova procedura",
    "setup-procedures.type": "Vrsta incidenta",
    "setup-procedures.type_hint": "npr. robbery, traffic_accident",
    "setup-procedures.type_needed": "Navedite vrstu incidenta, npr. robbery.",
    "setup-procedures.steps": "Koraci, redom",
    "setup-procedures.step_n": "Korak {n}",
    "setup-procedures.add_step": "Dodaj korak",
    "setup-procedures.up": "Pomeri gore",
    "setup-procedures.down": "Pomeri dole",
    "setup-procedures.remove": "Ukloni korak",
    "setup-procedures.save": "Sačuvaj proceduru",
    "setup-procedures.saved": "Procedura za {type} je sačuvana; novi incidenti ove vrste počinju njome.",
    "setup-procedures.count": "koraka: {n}",
    "setup-procedures.close": "Zatvori",
    "setup-procedures.note": "Incidenti koji su već otvoreni zadržavaju spisak koraka sa kojim su počeli.",
  },
});

export function createProceduresSection(ctx: SectionContext): Section {
  let destroyed = false;
  let procedures: Procedure[] = [];
  let editingType: string | null = null;

  const status = h("div", { class: "setup-status", role: "status", "data-testid": "procedure-status" });
  const addBtn = h("button", { type: "button", class: "btn btn-primary", "data-testid": "procedure-add" }, t("setup-procedures.add"));
  const list = h("ul", { class: "setup-list", "data-testid": "procedure-list" });

  const fields = new FormFields();
  const typeInput = h("input", { type: "text", autocomplete: "off", spellcheck: "false", placeholder: t("setup-procedures.type_hint"), "data-testid": "procedure-type" });
  const steps = h("ol", { class: "setup-steps", "data-testid": "procedure-steps" });
  const addStep = h("button", { type: "button", class: "btn btn-small", "data-testid": "procedure-add-step" }, t("setup-procedures.add_step"));
  const saveBtn = h("button", { type: "submit", class: "btn btn-primary", "data-testid": "procedure-save" }, t("setup-procedures.save"));
  const closeBtn = h("button", { type: "button", class: "btn", "data-testid": "procedure-close" }, t("setup-procedures.close"));
  const form = h(
    "form",
    { class: "setup-form", hidden: true, novalidate: true, "data-testid": "procedure-form" },
    fields.general,
    fields.field("incident_type", t("setup-procedures.type"), typeInput),
    fields.field("steps", t("setup-procedures.steps"), h("div", {}, steps, addStep)),
    h("p", { class: "setup-hint" }, t("setup-procedures.note")),
    h("div", { class: "setup-actions" }, saveBtn, closeBtn),
  );

  const el = h("section", { class: "setup-section setup-cols" }, h("div", { class: "setup-side" }, h("div", { class: "setup-actions" }, addBtn), list), h("div", { class: "setup-main setup-pad" }, status, form));

  function stepRow(text: string): HTMLLIElement {
    const input = h("input", { type: "text", value: text, "data-testid": "procedure-step", "aria-label": t("setup-procedures.steps") });
    const up = h("button", { type: "button", class: "icon-btn", title: t("setup-procedures.up"), "aria-label": t("setup-procedures.up") }, "↑");
    const down = h("button", { type: "button", class: "icon-btn", title: t("setup-procedures.down"), "aria-label": t("setup-procedures.down") }, "↓");
    const remove = h("button", { type: "button", class: "icon-btn", title: t("setup-procedures.remove"), "aria-label": t("setup-procedures.remove"), "data-testid": "procedure-remove-step" }, "×");
    const li = h("li", { class: "setup-step" }, input, up, down, remove);
    up.addEventListener("click", () => li.previousElementSibling?.before(li));
    down.addEventListener("click", () => li.nextElementSibling?.after(li));
    remove.addEventListener("click", () => li.remove());
    return li;
  }

  addStep.addEventListener("click", () => {
    const li = stepRow("");
    steps.appendChild(li);
    li.querySelector("input")?.focus();
  });

  function renderList() {
    if (!procedures.length) {
      list.replaceChildren(h("li", { class: "muted" }, t("setup-procedures.none")));
      return;
    }
    list.replaceChildren(
      ...procedures.map((p) => {
        const b = h(
          "button",
          { type: "button", class: p.incident_type === editingType ? "setup-item current" : "setup-item", "data-testid": "procedure-item", "data-type": p.incident_type },
          h("span", { class: "setup-item-name" }, p.incident_type),
          h("span", { class: "setup-item-sub" }, t("setup-procedures.count", { n: p.steps.length })),
        );
        b.addEventListener("click", () => open(p));
        return h("li", {}, b);
      }),
    );
  }

  async function reload() {
    try {
      procedures = (await setupApi.procedures()).sort((a, b) => a.incident_type.localeCompare(b.incident_type));
    } catch (e) {
      ctx.report(e);
      return;
    }
    if (!destroyed) renderList();
  }

  function open(p: Procedure | null) {
    editingType = p?.incident_type ?? null;
    fields.clear();
    status.textContent = "";
    typeInput.value = p?.incident_type ?? "";
    typeInput.readOnly = p !== null;
    steps.replaceChildren(...(p?.steps ?? [""]).map(stepRow));
    form.hidden = false;
    renderList();
    (p ? steps.querySelector("input") : typeInput)?.focus();
  }

  addBtn.addEventListener("click", () => open(null));
  closeBtn.addEventListener("click", () => {
    editingType = null;
    form.hidden = true;
    renderList();
  });

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    fields.clear();
    const type = typeInput.value.trim();
    // Empty rows are left out: an unused "Add a step" is not a step.
    const texts = Array.from(steps.querySelectorAll("input")).map((i) => i.value.trim()).filter(Boolean);
    if (!type) {
      fields.showErrors([{ field: "incident_type", reason: t("setup-procedures.type_needed") }]);
      return;
    }
    saveBtn.disabled = true;
    try {
      const saved = await setupApi.putProcedure(type, texts);
      if (destroyed) return;
      editingType = saved.incident_type;
      typeInput.readOnly = true;
      status.textContent = t("setup-procedures.saved", { type: saved.incident_type });
      status.dataset.saved = saved.incident_type;
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
