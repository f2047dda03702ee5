// Set-up › Districts: the areas grants are scoped to. Listed and shown on
// the map; a district is drawn (click the corners, double-click to finish)
// or imported from a GeoJSON file (a Polygon or MultiPolygon, a Feature, or
// a FeatureCollection whose features carry a `name`), and saved with
// PUT /api/v1/districts/{name}.

import type { GeoJSONSource } from "maplibre-gl";
import { api, setupApi, type DistrictFeature, errorText } from "./api";
import { h } from "./dom";
import { register, t } from "./i18n";
import { createMap, type CityMap } from "./map";
import { FormFields, type Section, type SectionContext } from "./setup-form";

register("setup-districts", {
  en: {
    "setup-districts.list": "Districts",
    "setup-districts.none": "No district yet: draw one on the map or import a GeoJSON file.",
    "setup-districts.draw": "Draw a district",
    "setup-districts.drawing": "Click the corners on the map; double-click to finish, Esc to cancel.",
    "setup-districts.drawn": "Drawn: {n} corners. Name it and save.",
    "setup-districts.name": "Name",
    "setup-districts.save": "Save district",
    "setup-districts.saved": "District {name} saved.",
    "setup-districts.cancel": "Cancel",
    "setup-districts.import": "Import GeoJSON",
    "setup-districts.import_hint": "A Polygon or MultiPolygon (named below), a Feature, or a FeatureCollection whose features have a \"name\" property.",
    "setup-districts.import_name": "Name for a file without names",
    "setup-districts.import_ok": "{name}: saved",
    "setup-districts.import_bad": "{name}: {reason}",
    "setup-districts.unnamed": "feature {n} has no \"name\" property and no name was given",
    "setup-districts.not_json": "{file} is not JSON: {reason}",
    "setup-districts.no_polygons": "{file} holds no Polygon or MultiPolygon.",
    "setup-districts.too_few": "A district needs at least 3 corners.",
    "setup-districts.not_area": "its geometry is not a Polygon or MultiPolygon",
    "setup-districts.show": "Show on the map",
    "setup-districts.map_loading": "Loading the map…",
  },
  "sr-Latn": {
    "setup-districts.list": "Reoni",
    "setup-districts.none": "Još nema reona: nacrtajte jedan na mapi ili uvezite GeoJSON datoteku.",
    "setup-districts.draw": "Nacrtaj reon",
    "setup-districts.drawing": "Kliknite temena na mapi; dvoklik za kraj, Esc za otkazivanje.",
    "setup-districts.drawn": "Nacrtano temena: {n}. Dajte mu naziv i sačuvajte.",
    "setup-districts.name": "Naziv",
    "setup-districts.save": "Sačuvaj reon",
    "setup-districts.saved": "Reon {name} je sačuvan.",
    "setup-districts.cancel": "Otkaži",
    "setup-districts.import": "Uvezi GeoJSON",
    "setup-districts.import_hint": "Polygon ili MultiPolygon (naziv ispod), Feature, ili FeatureCollection čiji objekti imaju svojstvo \"name\".",
    "setup-districts.import_name": "Naziv za datoteku bez naziva",
    "setup-districts.import_ok": "{name}: sačuvano",
    "setup-districts.import_bad": "{name}: {reason}",
    "setup-districts.unnamed": "objekat {n} nema svojstvo \"name\", a naziv nije zadat",
    "setup-districts.not_json": "{file} nije JSON: {reason}",
    "setup-districts.no_polygons": "{file} ne sadrži Polygon ni MultiPolygon.",
    "setup-districts.too_few": "Reon mora imati bar 3 temena.",
    "setup-districts.not_area": "njegova geometrija nije Polygon ni MultiPolygon",
    "setup-districts.show": "Prikaži na mapi",
    "setup-districts.map_loading": "Mapa se učitava…",
  },
});

const SRC = "setup-districts";
type Area = GeoJSON.Polygon | GeoJSON.MultiPolygon;

/** The named areas in a parsed GeoJSON document, or the reason one cannot be used. */
function areasIn(doc: unknown, fallbackName: string): { name: string; geometry?: Area; problem?: string }[] {
  const isArea = (g: unknown): g is Area => typeof g === "object" && g !== null && ["Polygon", "MultiPolygon"].includes((g as { type?: string }).type ?? "");
  const d = doc as { type?: string; features?: unknown[]; geometry?: unknown; properties?: { name?: unknown } };
  const one = (f: { geometry?: unknown; properties?: { name?: unknown } | null }, i: number) => {
    const name = typeof f.properties?.name === "string" && f.properties.name.trim() ? f.properties.name.trim() : fallbackName;
    if (!name) return { name: `#${i}`, problem: t("setup-districts.unnamed", { n: i }) };
    return isArea(f.geometry) ? { name, geometry: f.geometry } : { name, problem: t("setup-districts.not_area") };
  };
  if (d?.type === "FeatureCollection" && Array.isArray(d.features)) return d.features.map((f, i) => one(f as { geometry?: unknown }, i));
  if (d?.type === "Feature") return [one(d, 0)];
  if (isArea(d)) return [one({ geometry: d }, 0)];
  return [];
}

export function createDistrictsSection(ctx: SectionContext): Section {
  let destroyed = false;
  let districts: DistrictFeature[] = [];
  let city: CityMap | null = null;
  let drawing: [number, number][] | null = null;
  let drawn: GeoJSON.Polygon | null = null;

  const list = h("ul", { class: "setup-list", "data-testid": "setup-district-list" });
  const drawBtn = h("button", { type: "button", class: "btn btn-primary", "data-testid": "district-draw" }, t("setup-districts.draw"));
  const hint = h("div", { class: "setup-status", role: "status", "data-testid": "district-hint" });
  const fields = new FormFields();
  const nameInput = h("input", { type: "text", autocomplete: "off", "data-testid": "district-name" });
  const saveBtn = h("button", { type: "submit", class: "btn btn-primary", "data-testid": "district-save" }, t("setup-districts.save"));
  const cancelBtn = h("button", { type: "button", class: "btn", "data-testid": "district-cancel" }, t("setup-districts.cancel"));
  const form = h("form", { class: "setup-form", hidden: true, "data-testid": "district-form" }, fields.general, fields.field("name", t("setup-districts.name"), nameInput), h("div", { class: "setup-actions" }, saveBtn, cancelBtn));

  const fileInput = h("input", { type: "file", accept: ".geojson,.json,application/geo+json,application/json", "data-testid": "district-import-file" });
  const importName = h("input", { type: "text", autocomplete: "off", "data-testid": "district-import-name" });
  const importReport = h("ul", { class: "setup-import-list", role: "status", "data-testid": "district-import-report" });
  const importBox = h(
    "details",
    { class: "setup-box" },
    h("summary", {}, t("setup-districts.import")),
    h("p", { class: "setup-hint" }, t("setup-districts.import_hint")),
    h("label", { class: "setup-field" }, h("span", { class: "setup-label" }, t("setup-districts.import_name")), importName),
    fileInput,
    importReport,
  );
  const mapEl = h("div", { class: "setup-map", "data-testid": "setup-district-map" }, h("div", { class: "map-loading" }, t("setup-districts.map_loading")));

  const el = h(
    "section",
    { class: "setup-section setup-districts" },
    h("div", { class: "setup-side" }, h("h3", {}, t("setup-districts.list")), list, h("div", { class: "setup-actions" }, drawBtn), hint, form, importBox),
    h("div", { class: "setup-main" }, mapEl),
  );

  function bounds(g: Area): [[number, number], [number, number]] {
    const pts = (g.type === "Polygon" ? g.coordinates : g.coordinates.flat()).flat() as number[][];
    const xs = pts.map((p) => p[0]);
    const ys = pts.map((p) => p[1]);
    return [
      [Math.min(...xs), Math.min(...ys)],
      [Math.max(...xs), Math.max(...ys)],
    ];
  }

  function renderList() {
    if (!districts.length) {
      list.replaceChildren(h("li", { class: "muted" }, t("setup-districts.none")));
      return;
    }
    list.replaceChildren(
      ...districts.map((d) => {
        const b = h("button", { type: "button", class: "setup-item", "data-testid": "setup-district-item", "data-name": d.properties.name, title: t("setup-districts.show") }, d.properties.name);
        b.addEventListener("click", () => city?.map.fitBounds(bounds(d.geometry), { padding: 40, duration: 0 }));
        return h("li", {}, b);
      }),
    );
  }

  function showOnMap() {
    const src = city?.map.getSource(SRC) as GeoJSONSource | undefined;
    src?.setData({ type: "FeatureCollection", features: districts.map((d) => ({ type: "Feature", geometry: d.geometry, properties: { name: d.properties.name } })) });
  }

  async function reload() {
    try {
      districts = (await setupApi.districts()).features.sort((a, b) => a.properties.name.localeCompare(b.properties.name));
    } catch (e) {
      ctx.report(e);
      return;
    }
    if (destroyed) return;
    renderList();
    showOnMap();
  }

  // ---- drawing
  function drawDraft() {
    if (!city) return;
    const pts = drawing ?? drawn?.coordinates[0].slice(0, -1) ?? [];
    const features: GeoJSON.Feature[] = pts.map((p, i) => ({ type: "Feature", geometry: { type: "Point", coordinates: p }, properties: { first: i === 0 } }));
    if (pts.length >= 3) features.push({ type: "Feature", geometry: { type: "Polygon", coordinates: [[...pts, pts[0]]] }, properties: {} });
    else if (pts.length === 2) features.push({ type: "Feature", geometry: { type: "LineString", coordinates: pts }, properties: {} });
    city.setDraft({ type: "FeatureCollection", features });
  }

  function stopDrawing() {
    drawing = null;
    drawn = null;
    form.hidden = true;
    hint.textContent = "";
    drawBtn.disabled = false;
    if (city) city.map.getCanvas().style.cursor = "";
    city?.setDraft(null);
  }

  drawBtn.addEventListener("click", () => {
    stopDrawing();
    drawing = [];
    drawBtn.disabled = true;
    hint.textContent = t("setup-districts.drawing");
    if (city) city.map.getCanvas().style.cursor = "crosshair";
  });
  cancelBtn.addEventListener("click", stopDrawing);

  const onKey = (ev: KeyboardEvent) => {
    if (ev.key === "Escape" && drawing) stopDrawing();
  };
  document.addEventListener("keydown", onKey);

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    fields.clear();
    if (!drawn) return;
    const name = nameInput.value.trim();
    saveBtn.disabled = true;
    try {
      await setupApi.putDistrict(name, drawn);
      hint.textContent = t("setup-districts.saved", { name });
      hint.dataset.saved = name;
      drawn = null;
      form.hidden = true;
      drawBtn.disabled = false;
      city?.setDraft(null);
      await reload();
    } catch (e) {
      if (!fields.showApiError(e)) ctx.report(e);
    } finally {
      saveBtn.disabled = false;
    }
  });

  // ---- import
  fileInput.addEventListener("change", async () => {
    const file = fileInput.files?.[0];
    if (!file) return;
    importReport.replaceChildren();
    let doc: unknown;
    try {
      doc = JSON.parse(await file.text());
    } catch (e) {
      importReport.replaceChildren(h("li", { class: "error-text" }, t("setup-districts.not_json", { file: file.name, reason: errorText(e) })));
      fileInput.value = "";
      return;
    }
    const areas = areasIn(doc, importName.value.trim());
    if (!areas.length) importReport.replaceChildren(h("li", { class: "error-text" }, t("setup-districts.no_polygons", { file: file.name })));
    for (const a of areas) {
      let line: HTMLElement;
      if (!a.geometry) line = h("li", { class: "error-text", "data-state": "bad" }, t("setup-districts.import_bad", { name: a.name, reason: a.problem ?? "" }));
      else {
        try {
          await setupApi.putDistrict(a.name, a.geometry);
          line = h("li", { "data-state": "ok" }, t("setup-districts.import_ok", { name: a.name }));
        } catch (e) {
          line = h("li", { class: "error-text", "data-state": "bad" }, t("setup-districts.import_bad", { name: a.name, reason: errorText(e) }));
        }
      }
      importReport.appendChild(line);
    }
    fileInput.value = "";
    await reload();
  });

  // ---- map
  let mapStarted = false;
  async function startMap() {
    mapStarted = true;
    try {
      const config = await api.config();
      const basemap = config.style_url ? null : await api.basemap().catch((e) => (ctx.report(e), null));
      if (destroyed) return;
      mapEl.replaceChildren();
      city = await createMap(mapEl, config, basemap);
      if (destroyed) {
        city.destroy();
        return;
      }
      const map = city.map;
      map.addSource(SRC, { type: "geojson", data: { type: "FeatureCollection", features: [] } });
      map.addLayer({ id: "setup-district-fill", type: "fill", source: SRC, paint: { "fill-color": "#1c7ed6", "fill-opacity": 0.08 } }, "cw-fov-fill");
      map.addLayer({ id: "setup-district-line", type: "line", source: SRC, paint: { "line-color": "#1864ab", "line-width": 2 } }, "cw-fov-fill");
      showOnMap();
      map.on("click", (ev) => {
        if (!drawing) return;
        drawing.push([ev.lngLat.lng, ev.lngLat.lat]);
        drawDraft();
      });
      map.on("dblclick", (ev) => {
        if (!drawing) return;
        ev.preventDefault();
        // The double-click's two clicks each added a corner at the same place: keep one.
        const pts = drawing.filter((p, i) => i === 0 || p[0] !== drawing![i - 1][0] || p[1] !== drawing![i - 1][1]);
        if (pts.length < 3) {
          hint.textContent = t("setup-districts.too_few");
          return;
        }
        drawn = { type: "Polygon", coordinates: [[...pts, pts[0]]] };
        drawing = null;
        map.getCanvas().style.cursor = "";
        hint.textContent = t("setup-districts.drawn", { n: pts.length });
        form.hidden = false;
        fields.clear();
        nameInput.focus();
        drawDraft();
      });
      (window as unknown as { __citywatchDistrictMap?: unknown }).__citywatchDistrictMap = map;
      mapEl.dataset.ready = "1";
    } catch (e) {
      ctx.report(e);
    }
  }

  void reload();

  return {
    el,
    shown() {
      if (!mapStarted) void startMap();
      else city?.map.resize();
    },
    destroy() {
      destroyed = true;
      document.removeEventListener("keydown", onKey);
      city?.destroy();
    },
  };
}
