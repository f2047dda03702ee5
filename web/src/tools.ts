// Map tools: point ("which cameras see this point"), circle and polygon selection.

import type * as maplibregl from "maplibre-gl";
import type { LonLat } from "./api";
import { circleRing, counterClockwise, distanceM } from "./geo";
import { register, t } from "./i18n";
import type { CityMap } from "./map";

register("tools", {
  en: {
    "tools.point_hint": "Click the map: which cameras see that point?",
    "tools.circle_edge": "Click the edge of the circle (Esc cancels)",
    "tools.circle_centre": "Click the centre of the circle",
    "tools.polygon_first": "Click the corners of the area",
    "tools.polygon_corner": "Corner {n}… (Esc cancels)",
    "tools.polygon_finish": "Click the first corner, double-click or press Enter to finish (Esc cancels)",
    "tools.radius": "Radius {r} m: click to search (Esc cancels)",
    "tools.sees_title": "Cameras that see this point",
    "tools.near_title": "Cameras within {r} m",
    "tools.polygon_title": "Cameras inside the polygon",
    "tools.centre": "centre {at}",
    "tools.corners": "{n} corners",
  },
  "sr-Latn": {
    "tools.point_hint": "Kliknite na mapu: koje kamere vide tu tačku?",
    "tools.circle_edge": "Kliknite na ivicu kruga (`Esc` otkazuje)",
    "tools.circle_centre": "Kliknite na središte kruga",
    "tools.polygon_first": "Kliknite na temena oblasti",
    "tools.polygon_corner": "Teme {n}… (`Esc` otkazuje)",
    "tools.polygon_finish": "Kliknite na prvo teme, dvaput kliknite ili pritisnite `Enter` za kraj (`Esc` otkazuje)",
    "tools.radius": "Poluprečnik {r} m: kliknite za pretragu (`Esc` otkazuje)",
    "tools.sees_title": "Kamere koje vide ovu tačku",
    "tools.near_title": "Kamere u krugu od {r} m",
    "tools.polygon_title": "Kamere unutar poligona",
    "tools.centre": "središte {at}",
    "tools.corners": "Broj temena: {n}",
  },
});

export type ToolName = "point" | "circle" | "polygon";

export type Query =
  | { kind: "sees"; point: LonLat }
  | { kind: "near"; center: LonLat; radiusM: number }
  | { kind: "polygon"; ring: LonLat[] };

export interface ToolCallbacks {
  /** A finished query (or a point click). `clickedCameraId` is a camera marker under a point click. */
  onQuery(q: Query, clickedCameraId: string | null): void;
  /** Text hint for the operator (what to click next). */
  onHint(text: string): void;
  onToolChange(tool: ToolName): void;
}

const CLOSE_PX = 12;

export class Tools {
  private tool: ToolName = "point";
  private circleCenter: LonLat | null = null;
  private vertices: LonLat[] = [];
  private readonly map: maplibregl.Map;

  constructor(
    private readonly city: CityMap,
    private readonly cb: ToolCallbacks,
    private readonly cameraLayer: string,
  ) {
    this.map = city.map;
    this.map.on("click", this.onClick);
    this.map.on("dblclick", this.onDblClick);
    this.map.on("mousemove", this.onMove);
    this.hint();
  }

  get current(): ToolName {
    return this.tool;
  }

  get drawing(): boolean {
    return this.circleCenter !== null || this.vertices.length > 0;
  }

  setTool(tool: ToolName): void {
    this.cancelDrawing();
    this.tool = tool;
    this.map.getCanvas().style.cursor = "crosshair";
    this.cb.onToolChange(tool);
    this.hint();
  }

  /** Esc: abandon the shape being drawn. Returns true if something was cancelled. */
  cancelDrawing(): boolean {
    const was = this.drawing;
    this.circleCenter = null;
    this.vertices = [];
    this.city.setDraft(null);
    this.hint();
    return was;
  }

  /** Enter: finish the polygon if it has enough vertices. */
  finish(): boolean {
    if (this.tool !== "polygon" || this.vertices.length < 3) return false;
    const ring = counterClockwise([...this.vertices, this.vertices[0]]);
    this.cancelDrawing();
    this.cb.onQuery({ kind: "polygon", ring }, null);
    return true;
  }

  destroy(): void {
    this.map.off("click", this.onClick);
    this.map.off("dblclick", this.onDblClick);
    this.map.off("mousemove", this.onMove);
  }

  private hint(): void {
    switch (this.tool) {
      case "point":
        this.cb.onHint(t("tools.point_hint"));
        break;
      case "circle":
        this.cb.onHint(
          this.circleCenter ? t("tools.circle_edge") : t("tools.circle_centre"),
        );
        break;
      case "polygon":
        this.cb.onHint(
          this.vertices.length === 0
            ? t("tools.polygon_first")
            : this.vertices.length < 3
              ? t("tools.polygon_corner", { n: this.vertices.length + 1 })
              : t("tools.polygon_finish"),
        );
        break;
    }
  }

  private readonly onClick = (e: maplibregl.MapMouseEvent): void => {
    const ll: LonLat = [e.lngLat.lng, e.lngLat.lat];
    switch (this.tool) {
      case "point": {
        let camId: string | null = null;
        if (this.map.getLayer(this.cameraLayer)) {
          const { x, y } = e.point;
          const hits = this.map.queryRenderedFeatures(
            [
              [x - 3, y - 3],
              [x + 3, y + 3],
            ],
            { layers: [this.cameraLayer] },
          );
          const id = hits[0]?.properties?.id;
          if (typeof id === "string") camId = id;
        }
        this.cb.onQuery({ kind: "sees", point: ll }, camId);
        break;
      }
      case "circle": {
        if (!this.circleCenter) {
          this.circleCenter = ll;
          this.drawCircle(ll);
          this.hint();
        } else {
          const center = this.circleCenter;
          const radiusM = distanceM(center, ll);
          this.cancelDrawing();
          if (radiusM >= 1) this.cb.onQuery({ kind: "near", center, radiusM }, null);
        }
        break;
      }
      case "polygon": {
        const n = this.vertices.length;
        if (n > 0) {
          const last = this.map.project(this.vertices[n - 1]);
          // The second click of a double-click lands on the same spot: ignore it.
          if (Math.hypot(last.x - e.point.x, last.y - e.point.y) < 4) return;
        }
        if (n >= 3) {
          const first = this.map.project(this.vertices[0]);
          if (Math.hypot(first.x - e.point.x, first.y - e.point.y) <= CLOSE_PX) {
            this.finish();
            return;
          }
        }
        this.vertices.push(ll);
        this.drawPolygon(ll);
        this.hint();
        break;
      }
    }
  };

  private readonly onDblClick = (e: maplibregl.MapMouseEvent): void => {
    if (this.tool === "polygon") {
      e.preventDefault();
      this.finish();
    }
  };

  private readonly onMove = (e: maplibregl.MapMouseEvent): void => {
    const ll: LonLat = [e.lngLat.lng, e.lngLat.lat];
    if (this.tool === "circle" && this.circleCenter) this.drawCircle(ll);
    else if (this.tool === "polygon" && this.vertices.length > 0) this.drawPolygon(ll);
    else if (this.tool === "point") {
      const over =
        this.map.getLayer(this.cameraLayer) &&
        this.map.queryRenderedFeatures(e.point, { layers: [this.cameraLayer] }).length > 0;
      this.map.getCanvas().style.cursor = over ? "pointer" : "crosshair";
    }
  };

  private drawCircle(edge: LonLat): void {
    const center = this.circleCenter;
    if (!center) return;
    const r = distanceM(center, edge);
    const features: GeoJSON.Feature[] = [
      { type: "Feature", geometry: { type: "Point", coordinates: center }, properties: { first: true } },
    ];
    if (r > 0.5) {
      features.push({
        type: "Feature",
        geometry: { type: "Polygon", coordinates: [circleRing(center, r)] },
        properties: {},
      });
      features.push({
        type: "Feature",
        geometry: { type: "LineString", coordinates: [center, edge] },
        properties: {},
      });
      this.cb.onHint(t("tools.radius", { r: Math.round(r) }));
    }
    this.city.setDraft({ type: "FeatureCollection", features });
  }

  private drawPolygon(cursor: LonLat): void {
    const v = this.vertices;
    const features: GeoJSON.Feature[] = v.map((p, i) => ({
      type: "Feature",
      geometry: { type: "Point", coordinates: p },
      properties: { first: i === 0 },
    }));
    const line = [...v, cursor];
    if (v.length >= 2) line.push(v[0]);
    if (line.length >= 2) {
      features.push({ type: "Feature", geometry: { type: "LineString", coordinates: line }, properties: {} });
    }
    this.city.setDraft({ type: "FeatureCollection", features });
  }
}

export function queryShape(q: Query): GeoJSON.Feature | null {
  switch (q.kind) {
    case "sees":
      return null;
    case "near":
      return {
        type: "Feature",
        geometry: { type: "Polygon", coordinates: [circleRing(q.center, q.radiusM)] },
        properties: {},
      };
    case "polygon":
      return { type: "Feature", geometry: { type: "Polygon", coordinates: [q.ring] }, properties: {} };
  }
}

export function queryTitle(q: Query): string {
  switch (q.kind) {
    case "sees":
      return t("tools.sees_title");
    case "near":
      return t("tools.near_title", { r: String(Math.round(q.radiusM)) });
    case "polygon":
      return t("tools.polygon_title");
  }
}

export function querySubtitle(q: Query): string {
  // Coordinates as GPS tools write them (decimal point), whatever the locale: they are copied into other tools.
  const fmt = (p: LonLat) => `${p[1].toFixed(5)}, ${p[0].toFixed(5)}`;
  switch (q.kind) {
    case "sees":
      return fmt(q.point);
    case "near":
      return t("tools.centre", { at: fmt(q.center) });
    case "polygon":
      return t("tools.corners", { n: q.ring.length - 1 });
  }
}
