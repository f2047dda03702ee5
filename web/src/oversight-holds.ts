// Oversight: legal holds. Lists the holds on cameras of the supervisor's
// districts, places one (camera, time range, purpose, case reference,
// expiry; the API's reasons shown beside the fields) and releases one.

import { api, ApiError, oversightApi, type LegalHold } from "./api";
import { h } from "./dom";
import { fmtDateTime, register, t } from "./i18n";
import { clearErrors, field, frame, isoOf, loadInto, localInput, markError, showFieldErrors, table, twoStepButton, type Field, type Section, type SectionContext } from "./oversight-kit";

register("oversight.holds", {
  en: {
    "oversight.holds.title": "Legal holds",
    "oversight.holds.intro": "A hold keeps a camera's recordings in a time range from deletion until it expires. Placing and releasing one is recorded with its purpose and case reference.",
    "oversight.holds.camera": "Camera",
    "oversight.holds.camera_hint": "camera id",
    "oversight.holds.start": "Recordings from",
    "oversight.holds.end": "Until",
    "oversight.holds.purpose": "Purpose",
    "oversight.holds.purpose_hint": "why the recordings must be kept",
    "oversight.holds.case_ref": "Case reference",
    "oversight.holds.case_ref_hint": "e.g. KU-2026-114",
    "oversight.holds.expires": "Keep until",
    "oversight.holds.place": "Place hold",
    "oversight.holds.placed": "Hold {id} placed on {camera}.",
    "oversight.holds.range": "Recordings",
    "oversight.holds.placed_by": "Placed by",
    "oversight.holds.expiry": "Expires",
    "oversight.holds.state": "State",
    "oversight.holds.active": "active",
    "oversight.holds.expired": "expired",
    "oversight.holds.release": "Release",
    "oversight.holds.released": "Hold {id} released.",
    "oversight.holds.none": "No legal hold on the cameras of your districts.",
    "oversight.holds.count": "Holds: {n}",
  },
  "sr-Latn": {
    "oversight.holds.title": "Sudska zadržavanja",
    "oversight.holds.intro": "Zadržavanje čuva snimke kamere iz jednog vremenskog opsega od brisanja dok ne istekne. Postavljanje i ukidanje se beleže sa svrhom i brojem predmeta.",
    "oversight.holds.camera": "Kamera",
    "oversight.holds.camera_hint": "oznaka kamere",
    "oversight.holds.start": "Snimci od",
    "oversight.holds.end": "Do",
    "oversight.holds.purpose": "Svrha",
    "oversight.holds.purpose_hint": "zašto snimci moraju da se sačuvaju",
    "oversight.holds.case_ref": "Broj predmeta",
    "oversight.holds.case_ref_hint": "npr. `KU-2026-114`",
    "oversight.holds.expires": "Čuvati do",
    "oversight.holds.place": "Postavi zadržavanje",
    "oversight.holds.placed": "Zadržavanje {id} je postavljeno na kameru {camera}.",
    "oversight.holds.range": "Snimci",
    "oversight.holds.placed_by": "Postavio",
    "oversight.holds.expiry": "Ističe",
    "oversight.holds.state": "Stanje",
    "oversight.holds.active": "aktivno",
    "oversight.holds.expired": "isteklo",
    "oversight.holds.release": "Ukini",
    "oversight.holds.released": "Zadržavanje {id} je ukinuto.",
    "oversight.holds.none": "Nema sudskih zadržavanja na kamerama vaših okruga.",
    "oversight.holds.count": "Zadržavanja: {n}",
  },
});

export function holdsSection(ctx: SectionContext): Section {
  const { el, body, status, refreshBtn } = frame("oversight-holds", t("oversight.holds.title"), t("oversight.holds.intro"));

  // ---- the form
  const cameras = h("datalist", { id: "oversight-hold-cameras" });
  const input = (type: string, hint?: string) => h("input", { type, placeholder: hint ?? null, autocomplete: "off", spellcheck: "false" });
  const fields: Record<string, Field> = {
    camera_id: field("hold", "camera", t("oversight.holds.camera"), input("text", t("oversight.holds.camera_hint"))),
    start: field("hold", "start", t("oversight.holds.start"), input("datetime-local")),
    end: field("hold", "end", t("oversight.holds.end"), input("datetime-local")),
    purpose: field("hold", "purpose", t("oversight.holds.purpose"), input("text", t("oversight.holds.purpose_hint"))),
    case_ref: field("hold", "case-ref", t("oversight.holds.case_ref"), input("text", t("oversight.holds.case_ref_hint"))),
    expires_at: field("hold", "expires", t("oversight.holds.expires"), input("datetime-local")),
  };
  fields.camera_id.input.setAttribute("list", "oversight-hold-cameras");
  const submit = h("button", { type: "submit", class: "btn btn-primary", "data-testid": "hold-submit" }, t("oversight.holds.place"));
  const formNote = h("div", { class: "ov-form-note", "data-testid": "hold-form-note", "aria-live": "polite" });
  const form = h("form", { class: "ov-form", "data-testid": "hold-form", novalidate: true }, Object.values(fields).map((f) => f.el), h("div", { class: "ov-form-actions" }, submit, formNote), cameras);

  function defaults() {
    const now = new Date();
    fields.start.input.value = localInput(new Date(now.getTime() - 3_600_000));
    fields.end.input.value = localInput(now);
    fields.expires_at.input.value = localInput(new Date(now.getTime() + 30 * 86_400_000));
  }
  defaults();

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(fields);
    formNote.textContent = "";
    // Empty fields are named here; what is filled in is the API's to judge.
    let missing = false;
    for (const k of ["camera_id", "purpose", "case_ref"]) {
      if (!fields[k].input.value.trim()) {
        markError(fields[k], t("oversight.kit.required"));
        missing = true;
      }
    }
    const times: Record<string, string | null> = {};
    for (const k of ["start", "end", "expires_at"]) {
      times[k] = isoOf(fields[k].input);
      if (!times[k]) {
        markError(fields[k], t("oversight.kit.no_time"));
        missing = true;
      }
    }
    if (missing) {
      formNote.textContent = t("oversight.kit.check_fields");
      return;
    }
    submit.disabled = true;
    try {
      const hold = await oversightApi.placeHold({
        camera_id: fields.camera_id.input.value.trim(),
        start: times.start!,
        end: times.end!,
        purpose: fields.purpose.input.value.trim(),
        case_ref: fields.case_ref.input.value.trim(),
        expires_at: times.expires_at!,
      });
      formNote.textContent = t("oversight.holds.placed", { id: String(hold.id), camera: hold.camera_id });
      fields.purpose.input.value = "";
      fields.case_ref.input.value = "";
      await refresh();
    } catch (e) {
      if (showFieldErrors(fields, e)) formNote.textContent = t("oversight.kit.check_fields");
      else if (e instanceof ApiError && e.status === 404) markError(fields.camera_id, e.message);
      else ctx.reportError(e);
    } finally {
      submit.disabled = false;
    }
  });

  // ---- the list
  const tbody = h("tbody", { "data-testid": "holds-rows" });
  const summary = h("div", { class: "ov-summary", "data-testid": "holds-summary" });
  const headers = [t("oversight.holds.camera"), t("oversight.holds.range"), t("oversight.holds.purpose"), t("oversight.holds.case_ref"), t("oversight.holds.placed_by"), t("oversight.holds.expiry"), t("oversight.holds.state"), ""];

  function row(hold: LegalHold): HTMLTableRowElement {
    const release = twoStepButton(t("oversight.holds.release"), "hold-release", async () => {
      try {
        await oversightApi.releaseHold(hold.id);
        formNote.textContent = t("oversight.holds.released", { id: String(hold.id) });
        await refresh();
      } catch (e) {
        ctx.reportError(e);
      }
    });
    return h(
      "tr",
      { "data-testid": "hold-row", "data-hold-id": hold.id, "data-case-ref": hold.case_ref, "data-active": hold.active ? "1" : "0" },
      h("td", {}, hold.camera_id),
      h("td", { class: "ov-nowrap" }, `${fmtDateTime(hold.start)} – ${fmtDateTime(hold.end)}`),
      h("td", {}, hold.purpose),
      h("td", {}, hold.case_ref),
      h("td", {}, hold.created_by),
      h("td", { class: "ov-nowrap" }, fmtDateTime(hold.expires_at)),
      h("td", {}, hold.active ? t("oversight.holds.active") : t("oversight.holds.expired")),
      h("td", {}, release),
    );
  }

  async function refresh() {
    await loadInto(status, () => oversightApi.legalHolds(), (holds) => {
      if (ctx.destroyed()) return;
      holds.sort((a, b) => b.id - a.id);
      tbody.replaceChildren(...holds.map(row));
      summary.textContent = holds.length ? t("oversight.holds.count", { n: holds.length }) : t("oversight.holds.none");
      summary.dataset.count = String(holds.length);
    });
  }
  refreshBtn.addEventListener("click", () => void refresh());

  // Camera ids to pick from; a failure only loses the suggestions.
  void api
    .cameras()
    .then((cams) => {
      if (ctx.destroyed()) return;
      cameras.replaceChildren(...cams.map((c) => h("option", { value: c.id }, c.name && c.name !== c.id ? c.name : null)));
    })
    .catch(() => undefined);

  body.append(form, summary, table("holds-table", headers, tbody));
  return { el, refresh };
}
