// Oversight: unmask grants. Lists the grants on cameras of the
// supervisor's districts with how often and when the grantee used each
// (the server counts the views made under it in the audit log), grants one
// (a user, cameras or an incident, purpose, case reference, at most 12 h)
// and revokes one.

import { oversightApi, type NewUnmaskGrant, type UnmaskGrantDetail } from "./api";
import { h } from "./dom";
import { fmtDateTime, register, t } from "./i18n";
import { clearErrors, field, frame, isoOf, loadInto, localInput, markError, may, showFieldErrors, table, twoStepButton, type Field, type Section, type SectionContext } from "./oversight-kit";

/** The longest grant the API allows. */
const MAX_HOURS = 12;

register("oversight.unmask", {
  en: {
    "oversight.unmask.title": "Unmask grants",
    "oversight.unmask.intro": "A grant lets one user see faces unblurred in the live video, recordings and snapshots of chosen cameras, for at most 12 hours. Every view under it is recorded; the list shows how often and when it was used.",
    "oversight.unmask.grantee": "User",
    "oversight.unmask.grantee_hint": "user name",
    "oversight.unmask.target": "For",
    "oversight.unmask.by_cameras": "cameras",
    "oversight.unmask.by_incident": "an incident's cameras",
    "oversight.unmask.cameras": "Cameras",
    "oversight.unmask.cameras_hint": "camera ids, separated by commas",
    "oversight.unmask.incident": "Incident number",
    "oversight.unmask.purpose": "Purpose",
    "oversight.unmask.purpose_hint": "why faces must be shown",
    "oversight.unmask.case_ref": "Case reference",
    "oversight.unmask.expires": "Until (at most 12 h)",
    "oversight.unmask.grant": "Grant",
    "oversight.unmask.granted": "Grant {id} given to {user}.",
    "oversight.unmask.revoke": "Revoke",
    "oversight.unmask.revoked": "Grant {id} revoked.",
    "oversight.unmask.too_long": "At most 12 hours from now.",
    "oversight.unmask.granted_by": "Granted by",
    "oversight.unmask.state": "State",
    "oversight.unmask.used": "Used",
    "oversight.unmask.active": "active",
    "oversight.unmask.expired": "expired",
    "oversight.unmask.revoked_state": "revoked by {user}",
    "oversight.unmask.never_used": "not used",
    "oversight.unmask.uses": "{n}×, last {time}",
    "oversight.unmask.none": "No unmask grant on the cameras of your districts.",
    "oversight.unmask.count": "Grants: {n}, active: {active}",
  },
  "sr-Latn": {
    "oversight.unmask.title": "Dozvole za otkrivanje lica",
    "oversight.unmask.intro": "Dozvola jednom korisniku omogućava da vidi nezamagljena lica u živoj slici, snimcima i fotografijama izabranih kamera, najviše 12 sati. Svaki pregled po dozvoli se beleži; spisak pokazuje koliko puta i kada je korišćena.",
    "oversight.unmask.grantee": "Korisnik",
    "oversight.unmask.grantee_hint": "korisničko ime",
    "oversight.unmask.target": "Za",
    "oversight.unmask.by_cameras": "kamere",
    "oversight.unmask.by_incident": "kamere jednog događaja",
    "oversight.unmask.cameras": "Kamere",
    "oversight.unmask.cameras_hint": "oznake kamera, odvojene zarezima",
    "oversight.unmask.incident": "Broj događaja",
    "oversight.unmask.purpose": "Svrha",
    "oversight.unmask.purpose_hint": "zašto lica moraju da se vide",
    "oversight.unmask.case_ref": "Broj predmeta",
    "oversight.unmask.expires": "Do (najviše 12 h)",
    "oversight.unmask.grant": "Dodeli",
    "oversight.unmask.granted": "Dozvola {id} je dodeljena korisniku {user}.",
    "oversight.unmask.revoke": "Opozovi",
    "oversight.unmask.revoked": "Dozvola {id} je opozvana.",
    "oversight.unmask.too_long": "Najviše 12 sati od sada.",
    "oversight.unmask.granted_by": "Dodelio",
    "oversight.unmask.state": "Stanje",
    "oversight.unmask.used": "Korišćena",
    "oversight.unmask.active": "aktivna",
    "oversight.unmask.expired": "istekla",
    "oversight.unmask.revoked_state": "opozvao {user}",
    "oversight.unmask.never_used": "nije korišćena",
    "oversight.unmask.uses": "{n}×, poslednji put {time}",
    "oversight.unmask.none": "Nema dozvola za otkrivanje lica na kamerama vaših okruga.",
    "oversight.unmask.count": "Dozvola: {n}, aktivnih: {active}",
  },
});

export function unmaskSection(ctx: SectionContext): Section {
  const { el, body, status, refreshBtn } = frame("oversight-unmask", t("oversight.unmask.title"), t("oversight.unmask.intro"));
  const canGrant = may(ctx.me, "grant_unmask");
  const input = (type: string, hint?: string) => h("input", { type, placeholder: hint ?? null, autocomplete: "off", spellcheck: "false" });

  // ---- the form
  const fields: Record<string, Field> = {
    grantee: field("grant", "grantee", t("oversight.unmask.grantee"), input("text", t("oversight.unmask.grantee_hint"))),
    camera_ids: field("grant", "cameras", t("oversight.unmask.cameras"), input("text", t("oversight.unmask.cameras_hint"))),
    incident_id: field("grant", "incident", t("oversight.unmask.incident"), input("number")),
    purpose: field("grant", "purpose", t("oversight.unmask.purpose"), input("text", t("oversight.unmask.purpose_hint"))),
    case_ref: field("grant", "case-ref", t("oversight.unmask.case_ref"), input("text")),
    expires_at: field("grant", "expires", t("oversight.unmask.expires"), input("datetime-local")),
  };
  fields.incident_id.input.setAttribute("min", "1");
  const mode = h(
    "select",
    { id: "grant-mode", "data-testid": "grant-mode" },
    h("option", { value: "cameras" }, t("oversight.unmask.by_cameras")),
    h("option", { value: "incident" }, t("oversight.unmask.by_incident")),
  );
  const showMode = () => {
    fields.camera_ids.el.hidden = mode.value !== "cameras";
    fields.incident_id.el.hidden = mode.value !== "incident";
  };
  mode.addEventListener("change", showMode);
  showMode();
  const submit = h("button", { type: "submit", class: "btn btn-primary", "data-testid": "grant-submit" }, t("oversight.unmask.grant"));
  const formNote = h("div", { class: "ov-form-note", "data-testid": "grant-form-note", "aria-live": "polite" });
  const form = h(
    "form",
    { class: "ov-form", "data-testid": "grant-form", novalidate: true },
    fields.grantee.el,
    h("label", { class: "ov-field", for: "grant-mode" }, h("span", { class: "ov-label" }, t("oversight.unmask.target")), mode),
    fields.camera_ids.el,
    fields.incident_id.el,
    fields.purpose.el,
    fields.case_ref.el,
    fields.expires_at.el,
    h("div", { class: "ov-form-actions" }, submit, formNote),
  );
  const setExpiryDefault = () => {
    const now = Date.now();
    (fields.expires_at.input as HTMLInputElement).value = localInput(new Date(now + 4 * 3_600_000));
    fields.expires_at.input.setAttribute("max", localInput(new Date(now + MAX_HOURS * 3_600_000)));
  };
  setExpiryDefault();

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(fields);
    formNote.textContent = "";
    const byIncident = mode.value === "incident";
    const value = (k: string) => fields[k].input.value.trim();
    let missing = false;
    for (const k of ["grantee", "purpose", "case_ref", byIncident ? "incident_id" : "camera_ids"]) {
      if (!value(k)) {
        markError(fields[k], t("oversight.kit.required"));
        missing = true;
      }
    }
    const expires = isoOf(fields.expires_at.input);
    if (!expires) {
      markError(fields.expires_at, t("oversight.kit.no_time"));
      missing = true;
    } else if (Date.parse(expires) > Date.now() + MAX_HOURS * 3_600_000 + 60_000) {
      markError(fields.expires_at, t("oversight.unmask.too_long"));
      missing = true;
    }
    if (missing) {
      formNote.textContent = t("oversight.kit.check_fields");
      return;
    }
    const req: NewUnmaskGrant = { grantee: value("grantee"), purpose: value("purpose"), case_ref: value("case_ref"), expires_at: expires! };
    if (byIncident) req.incident_id = Number(value("incident_id"));
    else req.camera_ids = value("camera_ids").split(/[,\s]+/).filter(Boolean);
    submit.disabled = true;
    try {
      const g = await oversightApi.grantUnmask(req);
      formNote.textContent = t("oversight.unmask.granted", { id: String(g.id), user: g.grantee });
      for (const k of ["grantee", "camera_ids", "incident_id", "purpose", "case_ref"]) fields[k].input.value = "";
      setExpiryDefault();
      await refresh();
    } catch (e) {
      if (showFieldErrors(fields, e)) formNote.textContent = t("oversight.kit.check_fields");
      else ctx.reportError(e);
    } finally {
      submit.disabled = false;
    }
  });

  // ---- the list
  const tbody = h("tbody", { "data-testid": "grants-rows" });
  const summary = h("div", { class: "ov-summary", "data-testid": "grants-summary" });
  const headers = [t("oversight.unmask.grantee"), t("oversight.unmask.cameras"), t("oversight.unmask.purpose"), t("oversight.unmask.case_ref"), t("oversight.unmask.granted_by"), t("oversight.unmask.expires"), t("oversight.unmask.state"), t("oversight.unmask.used"), ""];

  function stateOf(g: UnmaskGrantDetail): { id: string; text: string } {
    if (g.revoked_at) return { id: "revoked", text: t("oversight.unmask.revoked_state", { user: g.revoked_by ?? "" }) };
    return g.active ? { id: "active", text: t("oversight.unmask.active") } : { id: "expired", text: t("oversight.unmask.expired") };
  }

  function row(g: UnmaskGrantDetail): HTMLTableRowElement {
    const state = stateOf(g);
    const revoke =
      canGrant && state.id === "active"
        ? twoStepButton(t("oversight.unmask.revoke"), "grant-revoke", async () => {
            try {
              await oversightApi.revokeUnmask(g.id);
              formNote.textContent = t("oversight.unmask.revoked", { id: String(g.id) });
              await refresh();
            } catch (e) {
              ctx.reportError(e);
            }
          })
        : null;
    const used = g.uses > 0 && g.last_used ? t("oversight.unmask.uses", { n: g.uses, time: fmtDateTime(g.last_used) }) : t("oversight.unmask.never_used");
    return h(
      "tr",
      { "data-testid": "grant-row", "data-grant-id": g.id, "data-grantee": g.grantee, "data-state": state.id, "data-uses": g.uses },
      h("td", {}, g.grantee),
      h("td", { class: "ov-wrap" }, g.camera_ids.join(", ")),
      h("td", {}, g.purpose),
      h("td", {}, g.case_ref),
      h("td", {}, g.created_by),
      h("td", { class: "ov-nowrap" }, fmtDateTime(g.expires_at)),
      h("td", { "data-testid": "grant-state" }, state.text),
      h("td", { "data-testid": "grant-uses" }, used),
      h("td", {}, revoke),
    );
  }

  async function refresh() {
    await loadInto(status, () => oversightApi.unmaskGrants(), (grants) => {
      if (ctx.destroyed()) return;
      grants.sort((a, b) => Number(b.active) - Number(a.active) || b.id - a.id);
      tbody.replaceChildren(...grants.map(row));
      const active = grants.filter((g) => g.active).length;
      summary.textContent = grants.length ? t("oversight.unmask.count", { n: grants.length, active }) : t("oversight.unmask.none");
      summary.dataset.count = String(grants.length);
    });
  }
  refreshBtn.addEventListener("click", () => void refresh());

  if (canGrant) body.append(form);
  body.append(summary, table("grants-table", headers, tbody));
  return { el, refresh };
}
