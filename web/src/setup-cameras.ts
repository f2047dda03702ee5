// Set-up › Cameras: a searchable list; add and edit with a form; delete
// after asking; move a camera on the map (drag its marker) and turn its
// field of view (drag the handle at the cone's edge, or type the heading);
// retention per camera; import a CSV or GeoJSON file with its per-row report.
// Stream credentials are write-only: typed into a URL they are stored apart
// and never shown back, and an unchanged address keeps them (the API's rule).

import * as maplibregl from "maplibre-gl";
import { api, setupApi, ApiError, type Camera, type CameraImportReport, type CameraInput, type Retention, errorText } from "./api";
import { h } from "./dom";
import { sectorRing } from "./geo";
import { register, t } from "./i18n";
import { createMap, type CityMap } from "./map";
import { confirmInPlace, FormFields, numberOrNull, rowReport, words, type Section, type SectionContext } from "./setup-form";

register("setup-cameras", {
  en: {
    "setup-cameras.filter": "Find a camera",
    "setup-cameras.filter_hint": "id, name or district",
    "setup-cameras.count": "{shown} of {total} cameras",
    "setup-cameras.add": "Add camera",
    "setup-cameras.import": "Import a file",
    "setup-cameras.import_hint": "CSV with a header row (id, name, lat, lon, heading_deg, fov_deg, range_m, district, tags, main_url, sub_url) or GeoJSON points with the same properties.",
    "setup-cameras.atomic": "Apply nothing if any row is bad",
    "setup-cameras.importing": "Importing {name}…",
    "setup-cameras.import_done": "{name}: {rows} rows read, {created} cameras added, {updated} updated, {bad} bad rows not applied.",
    "setup-cameras.import_refused": "{name}: {bad} bad rows, so nothing was applied. Fix them and import again.",
    "setup-cameras.new": "New camera",
    "setup-cameras.edit": "Camera {id}",
    "setup-cameras.none": "Pick a camera in the list or on the map, or add one.",
    "setup-cameras.id": "Id",
    "setup-cameras.id_hint": "Letters, digits, '-', '_' or '.'; left empty, the server makes one.",
    "setup-cameras.name": "Name",
    "setup-cameras.lat": "Latitude",
    "setup-cameras.lon": "Longitude",
    "setup-cameras.heading": "Heading (°)",
    "setup-cameras.heading_hint": "Clockwise from north; or drag the handle at the cone's edge.",
    "setup-cameras.fov": "Field of view (°)",
    "setup-cameras.range": "Range (m)",
    "setup-cameras.height": "Height (m)",
    "setup-cameras.district": "District",
    "setup-cameras.tags": "Tags",
    "setup-cameras.tags_hint": "Separated by commas",
    "setup-cameras.main_url": "Main stream (RTSP)",
    "setup-cameras.sub_url": "Sub-stream (RTSP)",
    "setup-cameras.url_hint": "rtsp://user:password@host/path: credentials are stored apart and never shown back; leave the address as it is to keep them.",
    "setup-cameras.disabled": "Disabled (not recorded)",
    "setup-cameras.move_hint": "Drag the marker to move the camera, the small handle to turn it; click the map to place a new camera. Then save.",
    "setup-cameras.save": "Save camera",
    "setup-cameras.delete": "Delete",
    "setup-cameras.delete_q": "Delete camera {id}? Its recordings stay until retention removes them.",
    "setup-cameras.deleted": "Camera {id} deleted.",
    "setup-cameras.saved": "Camera {id} saved.",
    "setup-cameras.cancel": "Close",
    "setup-cameras.retention": "Retention",
    "setup-cameras.retention_hint": "Empty: the server's default.",
    "setup-cameras.max_age": "Keep at most (days)",
    "setup-cameras.max_size": "Use at most (GB)",
    "setup-cameras.retention_save": "Save retention",
    "setup-cameras.retention_saved": "Retention saved.",
    "setup-cameras.retention_default": "default",
    "setup-cameras.map_loading": "Loading the map…",
    "setup-cameras.move_marker": "Camera position: drag to move",
    "setup-cameras.turn_handle": "Heading: drag to turn",
  },
  "sr-Latn": {
    "setup-cameras.filter": "Nađi kameru",
    "setup-cameras.filter_hint": "oznaka, naziv ili reon",
    "setup-cameras.count": "{shown} od {total} kamera",
    "setup-cameras.add": "Dodaj kameru",
    "setup-cameras.import": "Uvezi datoteku",
    "setup-cameras.import_hint": "CSV sa redom zaglavlja (id, name, lat, lon, heading_deg, fov_deg, range_m, district, tags, main_url, sub_url) ili GeoJSON tačke sa istim svojstvima.",
    "setup-cameras.atomic": "Ne primeni ništa ako je ijedan red loš",
    "setup-cameras.importing": "Uvozi se {name}…",
    "setup-cameras.import_done": "{name}: pročitano redova {rows}, dodato kamera {created}, izmenjeno {updated}, loših redova koji nisu primenjeni {bad}.",
    "setup-cameras.import_refused": "{name}: loših redova {bad}, pa ništa nije primenjeno. Ispravite ih i uvezite ponovo.",
    "setup-cameras.new": "Nova kamera",
    "setup-cameras.edit": "Kamera {id}",
    "setup-cameras.none": "Izaberite kameru na spisku ili na mapi, ili dodajte novu.",
    "setup-cameras.id": "Oznaka",
    "setup-cameras.id_hint": "Slova, cifre, '-', '_' ili '.'; ako ostane prazno, server je sam napravi.",
    "setup-cameras.name": "Naziv",
    "setup-cameras.lat": "Geografska širina",
    "setup-cameras.lon": "Geografska dužina",
    "setup-cameras.heading": "Pravac (°)",
    "setup-cameras.heading_hint": "U smeru kazaljke od severa; ili prevucite ručicu na ivici kupe.",
    "setup-cameras.fov": "Vidno polje (°)",
    "setup-cameras.range": "Domet (m)",
    "setup-cameras.height": "Visina (m)",
    "setup-cameras.district": "Reon",
    "setup-cameras.tags": "Oznake",
    "setup-cameras.tags_hint": "Odvojene zarezima",
    "setup-cameras.main_url": "Glavni tok (RTSP)",
    "setup-cameras.sub_url": "Pomoćni tok (RTSP)",
    "setup-cameras.url_hint": "rtsp://korisnik:lozinka@host/putanja: pristupni podaci se čuvaju odvojeno i nikad se ne prikazuju; ostavite adresu kakva jeste da biste ih zadržali.",
    "setup-cameras.disabled": "Isključena (ne snima se)",
    "setup-cameras.move_hint": "Prevucite oznaku da pomerite kameru, malu ručicu da je okrenete; kliknite na mapu da postavite novu kameru. Zatim sačuvajte.",
    "setup-cameras.save": "Sačuvaj kameru",
    "setup-cameras.delete": "Obriši",
    "setup-cameras.delete_q": "Obrisati kameru {id}? Njeni snimci ostaju dok ih pravila čuvanja ne uklone.",
    "setup-cameras.deleted": "Kamera {id} je obrisana.",
    "setup-cameras.saved": "Kamera {id} je sačuvana.",
    "setup-cameras.cancel": "Zatvori",
    "setup-cameras.retention": "Čuvanje snimaka",
    "setup-cameras.retention_hint": "Prazno: podrazumevana vrednost servera.",
    "setup-cameras.max_age": "Čuvaj najviše (dana)",
    "setup-cameras.max_size": "Zauzmi najviše (GB)",
    "setup-cameras.retention_save": "Sačuvaj čuvanje",
    "setup-cameras.retention_saved": "Pravila čuvanja su sačuvana.",
    "setup-cameras.retention_default": "podrazumevano",
    "setup-cameras.map_loading": "Mapa se učitava…",
    "setup-cameras.move_marker": "Položaj kamere: prevucite da pomerite",
    "setup-cameras.turn_handle": "Pravac: prevucite da okrenete",
  },
});

const GB = 1e9;
const DEG = Math.PI / 180;

/** Bearing in degrees [0, 360) from a to b (local flat approximation, fine over a camera's range). */
function bearing(from: [number, number], to: [number, number]): number {
  const east = (to[0] - from[0]) * Math.cos(from[1] * DEG);
  const north = to[1] - from[1];
  return ((Math.atan2(east, north) / DEG) % 360 + 360) % 360;
}

/** Round to what a person types: 7 decimals of a degree is about a centimetre. */
const round = (v: number, digits: number) => Number(v.toFixed(digits));

export function createCamerasSection(ctx: SectionContext): Section {
  let destroyed = false;
  let cameras: Camera[] = [];
  /** The camera being edited, or null for a new one; undefined: the form is closed. */
  let editing: Camera | null | undefined = undefined;
  let city: CityMap | null = null;
  let moveMarker: maplibregl.Marker | null = null;
  let turnMarker: maplibregl.Marker | null = null;

  // ---- list
  const filter = h("input", { type: "search", class: "filter-input", placeholder: t("setup-cameras.filter_hint"), "aria-label": t("setup-cameras.filter"), "data-testid": "setup-camera-filter" });
  const count = h("div", { class: "muted", "data-testid": "setup-camera-count" });
  const list = h("ul", { class: "setup-list", "data-testid": "setup-camera-list" });
  const addBtn = h("button", { type: "button", class: "btn btn-primary", "data-testid": "camera-add" }, t("setup-cameras.add"));

  // ---- import
  const fileInput = h("input", { type: "file", accept: ".csv,.geojson,.json,text/csv,application/geo+json,application/json", "data-testid": "camera-import-file" });
  const atomic = h("input", { type: "checkbox", "data-testid": "camera-import-atomic" });
  const importState = h("div", { class: "setup-status", role: "status", "data-testid": "camera-import-summary" });
  const importReport = h("div", { class: "setup-import-report", "data-testid": "camera-import-report" });
  const importBox = h(
    "details",
    { class: "setup-box" },
    h("summary", {}, t("setup-cameras.import")),
    h("p", { class: "setup-hint" }, t("setup-cameras.import_hint")),
    fileInput,
    h("label", { class: "setup-check" }, atomic, t("setup-cameras.atomic")),
    importState,
    importReport,
  );

  // ---- form
  const fields = new FormFields();
  const num = (testid: string, step = "any") => h("input", { type: "number", step, "data-testid": testid });
  const text = (testid: string, extra: Record<string, string> = {}) => h("input", { type: "text", autocomplete: "off", spellcheck: "false", "data-testid": testid, ...extra });
  const inp = {
    id: text("camera-id"),
    name: text("camera-name"),
    lat: num("camera-lat"),
    lon: num("camera-lon"),
    heading_deg: num("camera-heading"),
    fov_deg: num("camera-fov"),
    range_m: num("camera-range"),
    height_m: num("camera-height"),
    district: text("camera-district", { list: "setup-district-names" }),
    tags: text("camera-tags"),
    main_url: text("camera-main-url", { placeholder: "rtsp://user:password@10.0.0.5/main" }),
    sub_url: text("camera-sub-url", { placeholder: "rtsp://user:password@10.0.0.5/sub" }),
  };
  const disabled = h("input", { type: "checkbox", "data-testid": "camera-disabled" });
  const districtNames = h("datalist", { id: "setup-district-names" });
  const formTitle = h("h3", { class: "setup-form-title", "data-testid": "camera-form-title" });
  const saveBtn = h("button", { type: "submit", class: "btn btn-primary", "data-testid": "camera-save" }, t("setup-cameras.save"));
  const deleteBtn = h("button", { type: "button", class: "btn btn-danger", "data-testid": "camera-delete" }, t("setup-cameras.delete"));
  const closeBtn = h("button", { type: "button", class: "btn", "data-testid": "camera-close" }, t("setup-cameras.cancel"));
  const formStatus = h("div", { class: "setup-status", role: "status", "data-testid": "camera-form-status" });
  const form = h(
    "form",
    { class: "setup-form", "data-testid": "camera-form", hidden: true, novalidate: true },
    formTitle,
    fields.general,
    h("p", { class: "setup-hint" }, t("setup-cameras.move_hint")),
    h(
      "div",
      { class: "setup-grid" },
      fields.field("id", t("setup-cameras.id"), inp.id, t("setup-cameras.id_hint")),
      fields.field("name", t("setup-cameras.name"), inp.name),
      fields.field("lat", t("setup-cameras.lat"), inp.lat),
      fields.field("lon", t("setup-cameras.lon"), inp.lon),
      fields.field("heading_deg", t("setup-cameras.heading"), inp.heading_deg, t("setup-cameras.heading_hint")),
      fields.field("fov_deg", t("setup-cameras.fov"), inp.fov_deg),
      fields.field("range_m", t("setup-cameras.range"), inp.range_m),
      fields.field("height_m", t("setup-cameras.height"), inp.height_m),
      fields.field("district", t("setup-cameras.district"), inp.district),
      fields.field("tags", t("setup-cameras.tags"), inp.tags, t("setup-cameras.tags_hint")),
    ),
    fields.field("main_url", t("setup-cameras.main_url"), inp.main_url),
    fields.field("sub_url", t("setup-cameras.sub_url"), inp.sub_url, t("setup-cameras.url_hint")),
    districtNames,
    h("label", { class: "setup-check" }, disabled, t("setup-cameras.disabled")),
    h("div", { class: "setup-actions" }, saveBtn, deleteBtn, closeBtn),
    formStatus,
  );
  const noneSelected = h("p", { class: "muted", "data-testid": "camera-none" }, t("setup-cameras.none"));

  // ---- retention
  const retDays = h("input", { type: "number", min: "1", step: "1", "data-testid": "retention-days" });
  const retGb = h("input", { type: "number", min: "0", step: "any", "data-testid": "retention-gb" });
  const retFields = new FormFields();
  const retSave = h("button", { type: "button", class: "btn", "data-testid": "retention-save" }, t("setup-cameras.retention_save"));
  const retStatus = h("div", { class: "setup-status", role: "status", "data-testid": "retention-status" });
  const retention = h(
    "section",
    { class: "setup-box", "data-testid": "camera-retention", hidden: true },
    h("h4", {}, t("setup-cameras.retention")),
    h("p", { class: "setup-hint" }, t("setup-cameras.retention_hint")),
    retFields.general,
    h("div", { class: "setup-grid" }, retFields.field("max_age_days", t("setup-cameras.max_age"), retDays), retFields.field("max_bytes", t("setup-cameras.max_size"), retGb)),
    h("div", { class: "setup-actions" }, retSave),
    retStatus,
  );

  // ---- map
  const mapEl = h("div", { class: "setup-map", "data-testid": "setup-camera-map" }, h("div", { class: "map-loading" }, t("setup-cameras.map_loading")));

  const el = h(
    "section",
    { class: "setup-section setup-cameras" },
    h("div", { class: "setup-side" }, h("div", { class: "setup-actions" }, addBtn), filter, count, list, importBox),
    h("div", { class: "setup-main" }, mapEl, h("div", { class: "setup-editor" }, noneSelected, form, retention)),
  );

  // ---- list rendering
  function renderList() {
    const q = filter.value.trim().toLowerCase();
    const shown = cameras.filter((c) => !q || c.id.toLowerCase().includes(q) || c.name.toLowerCase().includes(q) || (c.district ?? "").toLowerCase().includes(q));
    count.textContent = t("setup-cameras.count", { shown: shown.length, total: cameras.length });
    count.dataset.count = String(shown.length);
    list.replaceChildren(
      ...shown.slice(0, 500).map((c) => {
        const b = h(
          "button",
          { type: "button", class: editing && editing.id === c.id ? "setup-item current" : "setup-item", "data-testid": "setup-camera-item", "data-camera-id": c.id },
          h("span", { class: "setup-item-name" }, c.name),
          h("span", { class: "setup-item-sub" }, [c.id, c.district].filter(Boolean).join(" · ")),
        );
        b.addEventListener("click", () => edit(c));
        return h("li", {}, b);
      }),
    );
  }
  filter.addEventListener("input", renderList);

  async function reload(selectId?: string) {
    try {
      cameras = (await api.cameras()).sort((a, b) => a.id.localeCompare(b.id));
    } catch (e) {
      ctx.report(e);
      return;
    }
    if (destroyed) return;
    renderList();
    await city?.setCameras(cameras);
    if (selectId !== undefined) {
      const c = cameras.find((x) => x.id === selectId);
      if (c) edit(c);
    }
  }

  // ---- form state
  function formCamera(): { lat: number; lon: number; heading_deg: number; fov_deg: number; range_m: number } | null {
    const lat = Number(inp.lat.value);
    const lon = Number(inp.lon.value);
    if (inp.lat.value === "" || inp.lon.value === "" || !Number.isFinite(lat) || !Number.isFinite(lon)) return null;
    return { lat, lon, heading_deg: Number(inp.heading_deg.value) || 0, fov_deg: Number(inp.fov_deg.value) || 360, range_m: Number(inp.range_m.value) || 50 };
  }

  /** The draft cone, the move marker and the turn handle follow the form. */
  function syncMap() {
    if (!city) return;
    const c = editing === undefined ? null : formCamera();
    if (!c) {
      city.setDraft(null);
      moveMarker?.remove();
      turnMarker?.remove();
      return;
    }
    city.setDraft({ type: "FeatureCollection", features: [{ type: "Feature", geometry: { type: "Polygon", coordinates: [sectorRing(c)] }, properties: {} }] });
    moveMarker ??= makeMoveMarker();
    moveMarker.setLngLat([c.lon, c.lat]).addTo(city.map);
    if (c.fov_deg < 360) {
      turnMarker ??= makeTurnMarker();
      const tip = sectorRing({ ...c, fov_deg: 0.0001 })[1];
      turnMarker.setLngLat(tip).addTo(city.map);
    } else {
      turnMarker?.remove();
    }
  }
  for (const i of [inp.lat, inp.lon, inp.heading_deg, inp.fov_deg, inp.range_m]) i.addEventListener("input", syncMap);

  function makeMoveMarker(): maplibregl.Marker {
    const elm = h("div", { class: "setup-move-marker", "data-testid": "camera-move-marker", title: t("setup-cameras.move_marker") });
    const m = new maplibregl.Marker({ element: elm, draggable: true, anchor: "center" });
    m.on("drag", () => {
      const p = m.getLngLat();
      inp.lat.value = String(round(p.lat, 7));
      inp.lon.value = String(round(p.lng, 7));
      syncMap();
    });
    m.on("dragend", () => {
      elm.dataset.moved = "1";
    });
    return m;
  }

  function makeTurnMarker(): maplibregl.Marker {
    const elm = h("div", { class: "setup-turn-handle", "data-testid": "camera-turn-handle", title: t("setup-cameras.turn_handle") });
    const m = new maplibregl.Marker({ element: elm, draggable: true, anchor: "center" });
    m.on("drag", () => {
      const c = formCamera();
      if (!c) return;
      const p = m.getLngLat();
      inp.heading_deg.value = String(Math.round(bearing([c.lon, c.lat], [p.lng, p.lat])));
      const draft = { ...c, heading_deg: Number(inp.heading_deg.value) };
      city?.setDraft({ type: "FeatureCollection", features: [{ type: "Feature", geometry: { type: "Polygon", coordinates: [sectorRing(draft)] }, properties: {} }] });
    });
    m.on("dragend", syncMap);
    return m;
  }

  function fill(c: Camera | null) {
    fields.clear();
    formStatus.textContent = "";
    const center = city?.map.getCenter();
    inp.id.value = c?.id ?? "";
    inp.id.readOnly = c !== null;
    inp.name.value = c?.name ?? "";
    inp.lat.value = c ? String(c.lat) : center ? String(round(center.lat, 7)) : "";
    inp.lon.value = c ? String(c.lon) : center ? String(round(center.lng, 7)) : "";
    inp.heading_deg.value = String(c?.heading_deg ?? 0);
    inp.fov_deg.value = String(c?.fov_deg ?? 90);
    inp.range_m.value = String(c?.range_m ?? 50);
    inp.height_m.value = c?.height_m == null ? "" : String(c.height_m);
    inp.district.value = c?.district ?? "";
    inp.tags.value = (c?.tags ?? []).join(", ");
    inp.main_url.value = c?.main_url ?? "";
    inp.sub_url.value = c?.sub_url ?? "";
    disabled.checked = c?.status === "disabled";
  }

  function edit(c: Camera | null) {
    editing = c;
    fill(c);
    form.hidden = false;
    noneSelected.hidden = true;
    formTitle.textContent = c ? t("setup-cameras.edit", { id: c.id }) : t("setup-cameras.new");
    form.dataset.cameraId = c?.id ?? "";
    deleteBtn.hidden = c === null;
    retention.hidden = c === null;
    city?.setSelected(c?.id ?? null);
    if (c && city) city.map.easeTo({ center: [c.lon, c.lat], zoom: Math.max(city.map.getZoom(), 16), duration: 0 });
    syncMap();
    renderList();
    if (c) void loadRetention(c.id);
  }

  function closeForm() {
    editing = undefined;
    form.hidden = true;
    retention.hidden = true;
    noneSelected.hidden = false;
    city?.setSelected(null);
    syncMap();
    renderList();
  }

  addBtn.addEventListener("click", () => {
    edit(null);
    inp.id.focus();
  });
  closeBtn.addEventListener("click", closeForm);

  function input(): CameraInput {
    const n = (i: HTMLInputElement) => numberOrNull(i);
    const body: CameraInput = {
      name: inp.name.value.trim() || inp.id.value.trim(),
      lat: n(inp.lat) ?? NaN,
      lon: n(inp.lon) ?? NaN,
      height_m: n(inp.height_m),
      heading_deg: n(inp.heading_deg) ?? 0,
      fov_deg: n(inp.fov_deg) ?? 360,
      range_m: n(inp.range_m) ?? 50,
      district: inp.district.value.trim() || null,
      tags: words(inp.tags.value),
      main_url: inp.main_url.value.trim() || null,
      sub_url: inp.sub_url.value.trim() || null,
      // The status is the recorder's to set; only "disabled" is the administrator's.
      status: disabled.checked ? "disabled" : editing && editing.status !== "disabled" ? (editing.status as CameraInput["status"]) : "unknown",
    };
    if (inp.id.value.trim()) body.id = inp.id.value.trim();
    if (!body.name) delete (body as Partial<CameraInput>).name;
    return body;
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    fields.clear();
    const body = input();
    // JSON has no NaN: an empty or unreadable coordinate is named here, as the API would.
    const missing = (["lat", "lon"] as const).filter((k) => !Number.isFinite(body[k]));
    if (missing.length) {
      fields.showErrors(missing.map((k) => ({ field: k, reason: k === "lat" ? "must be a latitude in [-90, 90]" : "must be a longitude in [-180, 180]" })));
      return;
    }
    saveBtn.disabled = true;
    try {
      const saved = editing ? await setupApi.replaceCamera(editing.id, body) : await setupApi.createCamera(body);
      if (destroyed) return;
      await reload(saved.id);
      formStatus.textContent = t("setup-cameras.saved", { id: saved.id });
      formStatus.dataset.saved = saved.id;
    } catch (e) {
      if (!fields.showApiError(e)) ctx.report(e);
    } finally {
      saveBtn.disabled = false;
    }
  });

  deleteBtn.addEventListener("click", () => {
    const c = editing;
    if (!c) return;
    confirmInPlace(deleteBtn, t("setup-cameras.delete_q", { id: c.id }), async () => {
      try {
        await setupApi.deleteCamera(c.id);
        closeForm();
        noneSelected.textContent = t("setup-cameras.deleted", { id: c.id });
        await reload();
      } catch (e) {
        ctx.report(e);
      }
    });
  });

  // ---- retention
  async function loadRetention(id: string) {
    retFields.clear();
    retStatus.textContent = "";
    retDays.value = "";
    retGb.value = "";
    retDays.placeholder = retGb.placeholder = t("setup-cameras.retention_default");
    try {
      const r: Retention = await setupApi.retention(id);
      if (destroyed || editing?.id !== id) return;
      retDays.value = r.max_age_days === null ? "" : String(r.max_age_days);
      retGb.value = r.max_bytes === null ? "" : String(round(r.max_bytes / GB, 3));
    } catch (e) {
      ctx.report(e);
    }
  }

  retSave.addEventListener("click", async () => {
    const c = editing;
    if (!c) return;
    retFields.clear();
    const gb = numberOrNull(retGb);
    const body = { max_age_days: numberOrNull(retDays), max_bytes: gb === null ? null : Math.round(gb * GB) };
    retSave.disabled = true;
    try {
      const r = await setupApi.setRetention(c.id, body);
      retStatus.textContent = t("setup-cameras.retention_saved");
      retStatus.dataset.saved = `${r.max_age_days ?? ""}/${r.max_bytes ?? ""}`;
    } catch (e) {
      if (!retFields.showApiError(e)) ctx.report(e);
    } finally {
      retSave.disabled = false;
    }
  });

  // ---- import
  fileInput.addEventListener("change", async () => {
    const file = fileInput.files?.[0];
    if (!file) return;
    const csv = /\.csv$/i.test(file.name) || file.type === "text/csv";
    importReport.replaceChildren();
    importState.textContent = t("setup-cameras.importing", { name: file.name });
    importState.dataset.state = "importing";
    let report: CameraImportReport | null = null;
    try {
      report = await setupApi.importCameras(file, csv, atomic.checked);
    } catch (e) {
      // An atomic import with bad rows answers 422 with its report.
      const body = e instanceof ApiError ? (e.body as CameraImportReport | undefined) : undefined;
      if (body && Array.isArray(body.errors)) report = body;
      else {
        importState.textContent = errorText(e);
        importState.dataset.state = "error";
        ctx.report(e);
      }
    } finally {
      fileInput.value = "";
    }
    if (!report || destroyed) return;
    const refused = report.atomic && report.bad_rows > 0;
    importState.textContent = refused
      ? t("setup-cameras.import_refused", { name: file.name, bad: report.bad_rows })
      : t("setup-cameras.import_done", { name: file.name, rows: report.rows, created: report.created, updated: report.updated, bad: report.bad_rows });
    importState.dataset.state = refused ? "refused" : "done";
    importState.dataset.badRows = String(report.bad_rows);
    if (report.errors.length) importReport.replaceChildren(rowReport(report.errors, report.error_count, "camera-import-errors"));
    await reload();
  });

  // ---- map, once shown
  let mapStarted = false;
  async function startMap() {
    mapStarted = true;
    try {
      const config = await api.config();
      let basemap: GeoJSON.FeatureCollection | null = null;
      if (!config.style_url) basemap = await api.basemap().catch((e) => (ctx.report(e), null));
      if (destroyed) return;
      mapEl.replaceChildren();
      city = await createMap(mapEl, config, basemap);
      if (destroyed) {
        city.destroy();
        return;
      }
      (window as unknown as { __citywatchSetupMap?: maplibregl.Map }).__citywatchSetupMap = city.map;
      city.map.on("click", (ev) => {
        // In a new camera's form, a click places it; otherwise a click on a camera opens it.
        if (editing === null) {
          inp.lat.value = String(round(ev.lngLat.lat, 7));
          inp.lon.value = String(round(ev.lngLat.lng, 7));
          syncMap();
          return;
        }
        const hit = city?.map.queryRenderedFeatures(ev.point, { layers: ["cw-cameras"] })[0];
        const id = hit?.properties?.id;
        const c = typeof id === "string" ? cameras.find((x) => x.id === id) : undefined;
        if (c) edit(c);
      });
      await city.setCameras(cameras);
      if (editing !== undefined) {
        city.setSelected(editing?.id ?? null);
        if (editing) city.map.jumpTo({ center: [editing.lon, editing.lat], zoom: Math.max(city.map.getZoom(), 16) });
        syncMap();
      }
      mapEl.dataset.ready = "1";
    } catch (e) {
      ctx.report(e);
    }
  }

  void reload();
  void setupApi
    .districts()
    .then((fc) => districtNames.replaceChildren(...fc.features.map((f) => h("option", { value: f.properties.name }))))
    .catch(ctx.report);

  return {
    el,
    shown() {
      if (!mapStarted) void startMap();
      else city?.map.resize();
    },
    destroy() {
      destroyed = true;
      moveMarker?.remove();
      turnMarker?.remove();
      city?.destroy();
    },
  };
}
