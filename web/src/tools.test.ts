// The map tools driven through a stand-in map: clicks in, queries out.

import { beforeEach, describe, expect, test } from "vitest";
import type { LonLat } from "./api";
import type { CityMap } from "./map";
import { queryShape, querySubtitle, queryTitle, Tools, type Query, type ToolName } from "./tools";

/** Metres per degree of latitude on the sphere the console uses (π·6 371 008.8 / 180). */
const M_PER_DEG_LAT = 111_195.08;
/** Screen pixels per degree in the stand-in map's projection. */
const PX_PER_DEG = 100_000;

type Handler = (e: unknown) => void;

/** Just enough of a MapLibre map and the CityMap around it for the tools. */
class FakeMap {
  handlers = new Map<string, Handler>();
  canvas = { style: { cursor: "" } };
  /** Camera ids "rendered" under any point (what a point click picks). */
  camerasUnderCursor: string[] = [];
  drafts: (GeoJSON.FeatureCollection | null)[] = [];

  on(type: string, fn: Handler) {
    this.handlers.set(type, fn);
  }
  off(type: string, fn: Handler) {
    if (this.handlers.get(type) === fn) this.handlers.delete(type);
  }
  getCanvas() {
    return this.canvas;
  }
  getLayer(id: string) {
    return id === "cameras" ? {} : undefined;
  }
  queryRenderedFeatures() {
    return this.camerasUnderCursor.map((id) => ({ properties: { id } }));
  }
  project([lon, lat]: LonLat) {
    return { x: lon * PX_PER_DEG, y: -lat * PX_PER_DEG };
  }

  /** A click (or another mouse event) at a map point. */
  fire(type: string, at: LonLat): { defaultPrevented: boolean } {
    const ev = { lngLat: { lng: at[0], lat: at[1] }, point: this.project(at), defaultPrevented: false, preventDefault: () => (ev.defaultPrevented = true) };
    this.handlers.get(type)?.(ev);
    return ev;
  }

  city(): CityMap {
    return { map: this, setDraft: (fc: GeoJSON.FeatureCollection | null) => this.drafts.push(fc) } as unknown as CityMap;
  }
}

let map: FakeMap;
let tools: Tools;
let queries: { q: Query; camera: string | null }[];
let hints: string[];
let toolsShown: ToolName[];

beforeEach(() => {
  map = new FakeMap();
  queries = [];
  hints = [];
  toolsShown = [];
  tools = new Tools(
    map.city(),
    { onQuery: (q, camera) => queries.push({ q, camera }), onHint: (h) => hints.push(h), onToolChange: (t) => toolsShown.push(t) },
    "cameras",
  );
});

const BASE: LonLat = [20.46, 44.8];
/** A point `dx`, `dy` pixels from BASE on the stand-in map. */
const px = (dx: number, dy: number): LonLat => [BASE[0] + dx / PX_PER_DEG, BASE[1] - dy / PX_PER_DEG];

describe("point tool", () => {
  test("a click asks which cameras see that point, naming a camera marker under it", () => {
    map.camerasUnderCursor = ["cam-7"];
    map.fire("click", BASE);
    expect(queries).toEqual([{ q: { kind: "sees", point: BASE }, camera: "cam-7" }]);
  });

  test("a click on bare map names no camera", () => {
    map.fire("click", BASE);
    expect(queries[0].camera).toBeNull();
  });

  test("the cursor is a pointer over a camera, a crosshair elsewhere", () => {
    map.camerasUnderCursor = ["cam-7"];
    map.fire("mousemove", BASE);
    expect(map.canvas.style.cursor).toBe("pointer");
    map.camerasUnderCursor = [];
    map.fire("mousemove", BASE);
    expect(map.canvas.style.cursor).toBe("crosshair");
  });
});

describe("circle tool", () => {
  beforeEach(() => tools.setTool("circle"));

  test("centre then edge asks for the cameras within the radius", () => {
    map.fire("click", BASE);
    expect(tools.drawing).toBe(true);
    // 500 m due north.
    map.fire("click", [BASE[0], BASE[1] + 500 / M_PER_DEG_LAT]);
    expect(queries).toHaveLength(1);
    const q = queries[0].q;
    expect(q.kind).toBe("near");
    if (q.kind !== "near") return;
    expect(q.center).toEqual(BASE);
    expect(q.radiusM).toBeCloseTo(500, 2);
    expect(tools.drawing).toBe(false);
    expect(map.drafts[map.drafts.length - 1]).toBeNull();
  });

  test("an edge under a metre from the centre asks nothing", () => {
    map.fire("click", BASE);
    map.fire("click", [BASE[0], BASE[1] + 0.5 / M_PER_DEG_LAT]);
    expect(queries).toEqual([]);
  });

  test("moving after the centre draws the circle and says its radius", () => {
    map.fire("click", BASE);
    map.fire("mousemove", [BASE[0], BASE[1] + 200 / M_PER_DEG_LAT]);
    const draft = map.drafts[map.drafts.length - 1];
    expect(draft?.features.map((f) => f.geometry.type)).toEqual(["Point", "Polygon", "LineString"]);
    expect(hints[hints.length - 1]).toBe("Radius 200 m: click to search (Esc cancels)");
  });

  test("Esc abandons the circle", () => {
    map.fire("click", BASE);
    expect(tools.cancelDrawing()).toBe(true);
    expect(tools.cancelDrawing()).toBe(false);
    map.fire("click", BASE);
    expect(queries).toEqual([]); // that click was a new centre
  });
});

describe("polygon tool", () => {
  beforeEach(() => tools.setTool("polygon"));
  // North-west, north-east, south-east, south-west: a square drawn clockwise.
  const corners = [px(0, 0), px(100, 0), px(100, 100), px(0, 100)];

  test("Enter finishes with a closed, counter-clockwise ring of the corners", () => {
    for (const c of corners) map.fire("click", c);
    expect(tools.finish()).toBe(true);
    expect(queries).toHaveLength(1);
    const q = queries[0].q;
    if (q.kind !== "polygon") throw new Error(`a ${q.kind} query`);
    expect(q.ring).toHaveLength(5);
    expect(q.ring[0]).toEqual(q.ring[4]);
    expect(new Set(q.ring.map(String))).toEqual(new Set(corners.map(String)));
    // Shoelace: positive twice-area is counter-clockwise.
    let area2 = 0;
    for (let i = 0; i < 4; i++) area2 += q.ring[i][0] * q.ring[i + 1][1] - q.ring[i + 1][0] * q.ring[i][1];
    expect(area2).toBeGreaterThan(0);
  });

  test("fewer than three corners do not make an area", () => {
    map.fire("click", corners[0]);
    map.fire("click", corners[1]);
    expect(tools.finish()).toBe(false);
    expect(queries).toEqual([]);
  });

  test("a click within 12 px of the first corner closes the polygon", () => {
    for (const c of corners.slice(0, 3)) map.fire("click", c);
    map.fire("click", px(8, 8));
    expect(queries).toHaveLength(1);
    expect(queries[0].q.kind).toBe("polygon");
  });

  test("a click 13 px from the first corner is another corner", () => {
    for (const c of corners.slice(0, 3)) map.fire("click", c);
    map.fire("click", px(13, 0));
    expect(queries).toEqual([]);
    expect(hints[hints.length - 1]).toBe("Click the first corner, double-click or press Enter to finish (Esc cancels)");
  });

  test("the second click of a double-click adds no corner, and the double-click finishes", () => {
    for (const c of corners.slice(0, 3)) map.fire("click", c);
    map.fire("click", corners[2]);
    expect(map.fire("dblclick", corners[2]).defaultPrevented).toBe(true);
    const q = queries[0]?.q;
    if (q?.kind !== "polygon") throw new Error("no polygon query");
    expect(q.ring).toHaveLength(4);
  });

  test("the hint counts the corners", () => {
    expect(hints[hints.length - 1]).toBe("Click the corners of the area");
    map.fire("click", corners[0]);
    expect(hints[hints.length - 1]).toBe("Corner 2… (Esc cancels)");
  });
});

test("setTool shows the tool and cancels a drawing", () => {
  tools.setTool("circle");
  map.fire("click", BASE);
  tools.setTool("polygon");
  expect(tools.drawing).toBe(false);
  expect(toolsShown).toEqual(["circle", "polygon"]);
  expect(tools.current).toBe("polygon");
});

test("destroy stops listening to the map", () => {
  tools.destroy();
  map.fire("click", BASE);
  expect(queries).toEqual([]);
  expect(map.handlers.size).toBe(0);
});

describe("a query's shape and words", () => {
  const near: Query = { kind: "near", center: [20.4599, 44.8163], radiusM: 149.6 };

  test("a circle query is drawn as a closed polygon; a point query has no shape", () => {
    const shape = queryShape(near);
    expect(shape?.geometry.type).toBe("Polygon");
    if (shape?.geometry.type !== "Polygon") return;
    const ring = shape.geometry.coordinates[0];
    expect(ring[0]).toEqual(ring[ring.length - 1]);
    expect(queryShape({ kind: "sees", point: [20, 44] })).toBeNull();
  });

  test("titles round the radius; subtitles give latitude first with five decimals", () => {
    expect(queryTitle(near)).toBe("Cameras within 150 m");
    expect(querySubtitle(near)).toBe("centre 44.81630, 20.45990");
    expect(querySubtitle({ kind: "sees", point: [20.4667, 44.8027] })).toBe("44.80270, 20.46670");
    expect(querySubtitle({ kind: "polygon", ring: [[0, 0], [1, 0], [1, 1], [0, 0]] })).toBe("3 corners");
  });
});
