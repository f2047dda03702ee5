// The forms of the Users view: a grant's fields (role × districts ×
// expiry), creating a user with a first grant, adding a grant, and
// resetting a password. Each shows the API's field errors next to the
// field they name (422 `fields`), and anything else under the form.

import { ApiError, ROLES, usersApi, type NewGrant, errorText } from "./api";
import { h } from "./dom";
import { register, t } from "./i18n";

register("userforms", {
  en: {
    "userforms.username": "User name",
    "userforms.username_hint": "a-z, 0-9, . _ - @",
    "userforms.password": "Initial password",
    "userforms.password_hint": "at least 12 characters",
    "userforms.new_password": "New password",
    "userforms.role": "Role",
    "userforms.districts": "Districts",
    "userforms.districts_hint": "None ticked: all districts.",
    "userforms.no_districts": "No districts are defined yet: the grant covers all districts.",
    "userforms.expires": "Expires",
    "userforms.expires_hint": "empty: no expiry",
    "userforms.create": "Create user",
    "userforms.creating": "Creating…",
    "userforms.add_grant": "Add grant",
    "userforms.set_password": "Set password",
    "userforms.cancel": "Cancel",
    "userforms.bad_expiry": "is not a date and time",
    "userforms.role.admin": "Administrator",
    "userforms.role.supervisor": "Supervisor",
    "userforms.role.operator": "Operator",
    "userforms.role.dispatcher": "Dispatcher",
    "userforms.role.officer": "Officer",
    "userforms.role.auditor": "Auditor",
  },
  "sr-Latn": {
    "userforms.username": "Korisničko ime",
    "userforms.username_hint": "a-z, 0-9, . _ - @",
    "userforms.password": "Početna lozinka",
    "userforms.password_hint": "najmanje 12 znakova",
    "userforms.new_password": "Nova lozinka",
    "userforms.role": "Uloga",
    "userforms.districts": "Reoni",
    "userforms.districts_hint": "Ako nijedan nije označen: svi reoni.",
    "userforms.no_districts": "Još nema definisanih reona: dozvola važi za sve reone.",
    "userforms.expires": "Ističe",
    "userforms.expires_hint": "prazno: ne ističe",
    "userforms.create": "Napravi korisnika",
    "userforms.creating": "Pravim…",
    "userforms.add_grant": "Dodaj dozvolu",
    "userforms.set_password": "Postavi lozinku",
    "userforms.cancel": "Otkaži",
    "userforms.bad_expiry": "nije ispravan datum i vreme",
    "userforms.role.admin": "Administrator",
    "userforms.role.supervisor": "Nadzornik",
    "userforms.role.operator": "Operater",
    "userforms.role.dispatcher": "Dispečer",
    "userforms.role.officer": "Policajac",
    "userforms.role.auditor": "Revizor",
  },
});

/** The role's name for people; the API's own name if it is one we do not know. */
export function roleLabel(role: string): string {
  return (ROLES as readonly string[]).includes(role) ? t(`userforms.role.${role}`) : role;
}

/** Error slots next to fields, filled from the API's `fields`; what names no slot goes to the form's own slot. */
class FieldErrors {
  private slots = new Map<string, HTMLElement>();
  readonly general = h("div", { class: "form-error", role: "alert", "data-testid": "form-error", hidden: true });

  slot(field: string): HTMLElement {
    const el = h("div", { class: "field-error", role: "alert", "data-testid": `field-error-${field}`, hidden: true });
    this.slots.set(field, el);
    return el;
  }

  clear(): void {
    for (const el of [...this.slots.values(), this.general]) {
      el.textContent = "";
      el.hidden = true;
    }
  }

  set(field: string, reason: string): void {
    const el = this.slots.get(field) ?? this.general;
    el.textContent = el === this.general ? `${field}: ${reason}` : reason;
    el.hidden = false;
  }

  /** Shows an API error where it belongs; false if it was not the form's (401: the session is gone). */
  show(e: unknown): boolean {
    this.clear();
    if (e instanceof ApiError && e.status === 401) return false;
    if (e instanceof ApiError && e.fields.length) {
      for (const f of e.fields) this.set(f.field, f.reason);
      return true;
    }
    this.general.textContent = errorText(e);
    this.general.hidden = false;
    return true;
  }
}

function field(label: string, input: HTMLElement, error: HTMLElement, hint?: string): HTMLElement {
  return h("label", { class: "user-field" }, h("span", { class: "user-field-label" }, label), input, hint ? h("span", { class: "user-field-hint" }, hint) : null, error);
}

/** A grant's fields: role, districts (none ticked = all), optional expiry. */
function grantFields(districts: string[], errors: FieldErrors) {
  const role = h("select", { "data-testid": "grant-role" }, ROLES.map((r) => h("option", { value: r, selected: r === "operator" }, roleLabel(r))));
  const boxes = districts.map((d) => h("input", { type: "checkbox", value: d, "data-testid": "grant-district", "data-district": d }));
  const districtList =
    districts.length === 0
      ? h("span", { class: "user-field-hint" }, t("userforms.no_districts"))
      : h("div", { class: "district-choices" }, boxes.map((b, i) => h("label", { class: "district-choice" }, b, districts[i])));
  const expires = h("input", { type: "datetime-local", "data-testid": "grant-expires" });
  const el = h(
    "div",
    { class: "grant-fields" },
    field(t("userforms.role"), role, errors.slot("role")),
    h("div", { class: "user-field" }, h("span", { class: "user-field-label" }, t("userforms.districts")), districtList, h("span", { class: "user-field-hint" }, t("userforms.districts_hint")), errors.slot("districts")),
    field(t("userforms.expires"), expires, errors.slot("expires_at"), t("userforms.expires_hint")),
  );
  /** The grant, or null when a field is wrong here already (shown next to it). */
  const read = (): NewGrant | null => {
    let expiresAt: string | null = null;
    if (expires.value) {
      const d = new Date(expires.value);
      if (Number.isNaN(d.getTime())) {
        errors.set("expires_at", t("userforms.bad_expiry"));
        return null;
      }
      expiresAt = d.toISOString();
    }
    const chosen = boxes.filter((b) => b.checked).map((b) => b.value);
    return { role: role.value, districts: chosen.length ? chosen : null, expires_at: expiresAt };
  };
  return { el, read };
}

function busy(button: HTMLButtonElement, on: boolean, label?: string): void {
  button.disabled = on;
  if (label) button.textContent = label;
}

/** Creating a user: name, initial password and a first grant. */
export function createUserForm(districts: string[], onCreated: (username: string) => void): HTMLFormElement {
  const errors = new FieldErrors();
  const username = h("input", { type: "text", autocomplete: "off", spellcheck: "false", "data-testid": "new-username" });
  const password = h("input", { type: "password", autocomplete: "new-password", "data-testid": "new-password" });
  const grant = grantFields(districts, errors);
  const submit = h("button", { type: "submit", class: "btn btn-primary", "data-testid": "create-user" }, t("userforms.create"));
  // No browser validation: the API's rules and words are the ones shown.
  const form = h(
    "form",
    { class: "user-form create-user-form", novalidate: true, "data-testid": "create-user-form" },
    field(t("userforms.username"), username, errors.slot("username"), t("userforms.username_hint")),
    field(t("userforms.password"), password, errors.slot("password"), t("userforms.password_hint")),
    grant.el,
    h("div", { class: "user-form-actions" }, submit),
    errors.general,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    errors.clear();
    const g = grant.read();
    if (!g) return;
    busy(submit, true, t("userforms.creating"));
    try {
      const name = username.value.trim();
      await usersApi.create(name, password.value, [g]);
      form.reset();
      onCreated(name);
    } catch (e) {
      errors.show(e);
    } finally {
      busy(submit, false, t("userforms.create"));
    }
  });
  return form;
}

/** Adding a grant to `username`. */
export function addGrantForm(username: string, districts: string[], onDone: () => void, onCancel: () => void): HTMLFormElement {
  const errors = new FieldErrors();
  const grant = grantFields(districts, errors);
  const submit = h("button", { type: "submit", class: "btn btn-primary", "data-testid": "grant-submit" }, t("userforms.add_grant"));
  const cancel = h("button", { type: "button", class: "btn", "data-testid": "form-cancel" }, t("userforms.cancel"));
  cancel.addEventListener("click", onCancel);
  const form = h("form", { class: "user-form", novalidate: true, "data-testid": "add-grant-form" }, grant.el, h("div", { class: "user-form-actions" }, submit, cancel), errors.general);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    errors.clear();
    const g = grant.read();
    if (!g) return;
    busy(submit, true);
    try {
      await usersApi.addGrant(username, g);
      onDone();
    } catch (e) {
      errors.show(e);
    } finally {
      busy(submit, false);
    }
  });
  return form;
}

/** Setting `username`'s password (which ends every session of theirs). */
export function passwordForm(username: string, onDone: () => void, onCancel: () => void): HTMLFormElement {
  const errors = new FieldErrors();
  const password = h("input", { type: "password", autocomplete: "new-password", "data-testid": "reset-password-input" });
  const submit = h("button", { type: "submit", class: "btn btn-primary", "data-testid": "reset-password-submit" }, t("userforms.set_password"));
  const cancel = h("button", { type: "button", class: "btn", "data-testid": "form-cancel" }, t("userforms.cancel"));
  cancel.addEventListener("click", onCancel);
  const form = h(
    "form",
    { class: "user-form", novalidate: true, "data-testid": "reset-password-form" },
    field(t("userforms.new_password"), password, errors.slot("password"), t("userforms.password_hint")),
    h("div", { class: "user-form-actions" }, submit, cancel),
    errors.general,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    errors.clear();
    busy(submit, true);
    try {
      await usersApi.setPassword(username, password.value);
      onDone();
    } catch (e) {
      errors.show(e);
    } finally {
      busy(submit, false);
    }
  });
  return form;
}
