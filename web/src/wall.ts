// The video wall: 1, 4, 9 or 16 live tiles over the map, all fed by the
// console's one live connection. A tile shows its camera's name and state,
// and opens the camera's timeline.

import type { Camera } from "./api";
import { h } from "./dom";
import { LiveConnection, LivePlayer } from "./live";
import { register, t } from "./i18n";

register("wall", {
  en: {
    "wall.layout": "Wall layout",
    "wall.tiles_one": "1 tile",
    "wall.tiles": "{n} tiles",
    "wall.clear": "Clear",
    "wall.hide": "Hide the video wall",
    "wall.hide_hint": "Hide (the tiles keep playing)",
    "wall.wall": "Video wall",
    "wall.live": "Live",
    "wall.connecting": "Connecting…",
    "wall.close_camera": "Close {name}",
    "wall.close": "Close",
    "wall.recordings": "Recordings of this camera",
    "wall.timeline": "Timeline",
    "wall.empty": "Pick a camera and choose “Watch live”, or click a point and “Watch all live”.",
  },
  "sr-Latn": {
    "wall.layout": "Raspored zida",
    "wall.tiles_one": "1 pločica",
    "wall.tiles": "Pločica: {n}",
    "wall.clear": "Isprazni",
    "wall.hide": "Sakrij video-zid",
    "wall.hide_hint": "Sakrij (pločice nastavljaju da rade)",
    "wall.wall": "Video-zid",
    "wall.live": "Uživo",
    "wall.connecting": "Povezivanje…",
    "wall.close_camera": "Zatvori {name}",
    "wall.close": "Zatvori",
    "wall.recordings": "Snimci ove kamere",
    "wall.timeline": "Snimci",
    "wall.empty": "Izaberite kameru i „Gledaj uživo”, ili kliknite na tačku i „Gledaj sve uživo”.",
  },
});

export const LAYOUTS = [1, 4, 9, 16] as const;
export type Layout = (typeof LAYOUTS)[number];

interface Tile {
  camera: Camera;
  el: HTMLElement;
  player: LivePlayer;
  stop: () => void;
}

/** The smallest layout that holds `n` tiles (16 at most). */
export function layoutFor(n: number): Layout {
  return LAYOUTS.find((l) => l >= n) ?? 16;
}

export class VideoWall {
  readonly el: HTMLElement;
  private readonly grid: HTMLElement;
  private readonly layoutButtons = new Map<Layout, HTMLButtonElement>();
  private readonly countEl: HTMLElement;
  private tiles: Tile[] = [];
  private layout: Layout = 4;

  constructor(
    private readonly live: LiveConnection,
    private readonly onTimeline: (c: Camera) => void,
    private readonly onChange: (count: number) => void,
  ) {
    const layouts = h("div", { class: "wall-layouts", role: "group", "aria-label": t("wall.layout") });
    for (const l of LAYOUTS) {
      const b = h("button", { type: "button", class: "layout-btn", "data-testid": `wall-layout-${l}`, "aria-pressed": "false", title: l === 1 ? t("wall.tiles_one") : t("wall.tiles", { n: l }) }, String(l));
      b.addEventListener("click", () => this.setLayout(l));
      this.layoutButtons.set(l, b);
      layouts.appendChild(b);
    }
    const clearBtn = h("button", { type: "button", class: "btn btn-small", "data-testid": "wall-clear" }, t("wall.clear"));
    clearBtn.addEventListener("click", () => this.clear());
    const close = h("button", { type: "button", class: "icon-btn", "aria-label": t("wall.hide"), title: t("wall.hide_hint") }, "×");
    close.addEventListener("click", () => this.hide());
    this.countEl = h("span", { class: "wall-count" });
    this.grid = h("div", { class: "wall-grid", "data-testid": "wall-grid" });
    this.el = h(
      "section",
      { class: "wall", "data-testid": "video-wall", "aria-label": t("wall.wall"), hidden: true },
      h("div", { class: "wall-head" }, h("h2", {}, t("wall.live")), this.countEl, layouts, h("div", { class: "spacer" }), clearBtn, close),
      this.grid,
    );
    this.setLayout(4);
  }

  get count(): number {
    return this.tiles.length;
  }

  show(): void {
    this.el.hidden = false;
  }

  hide(): void {
    this.el.hidden = true;
  }

  toggle(): void {
    this.el.hidden = !this.el.hidden;
  }

  setLayout(l: Layout): void {
    this.layout = l;
    for (const [n, b] of this.layoutButtons) b.setAttribute("aria-pressed", String(n === l));
    this.grid.dataset.layout = String(l);
    this.grid.style.setProperty("--cols", String(Math.sqrt(l)));
    // Tiles beyond the layout stop: they would not be seen.
    while (this.tiles.length > l) this.remove(this.tiles[this.tiles.length - 1]);
    this.renderEmpty();
  }

  /** Opens cameras together (a clicked point's cameras), replacing the wall's tiles. */
  openAll(cameras: Camera[]): void {
    this.clear();
    const list = cameras.slice(0, 16);
    this.setLayout(layoutFor(list.length));
    for (const c of list) this.add(c);
    this.show();
  }

  /** Adds one camera (or shows it if already there). */
  open(camera: Camera): void {
    this.show();
    if (this.tiles.some((t) => t.camera.id === camera.id)) return;
    if (this.tiles.length >= this.layout) {
      if (this.layout < 16) this.setLayout(layoutFor(this.tiles.length + 1));
      else this.remove(this.tiles[0]);
    }
    this.add(camera);
  }

  clear(): void {
    for (const t of [...this.tiles]) this.remove(t);
  }

  destroy(): void {
    this.clear();
  }

  private add(camera: Camera): void {
    const statusEl = h("span", { class: "tile-status", "data-testid": "tile-status" }, t("wall.connecting"));
    const player = new LivePlayer((state, text) => {
      if (statusEl.textContent !== text) statusEl.textContent = text;
      el.dataset.state = state;
    });
    player.video.setAttribute("data-testid", "live-video");
    player.video.className = "tile-video";
    const close = h("button", { type: "button", class: "tile-btn", "aria-label": t("wall.close_camera", { name: camera.name }), title: t("wall.close") }, "×");
    const timeline = h("button", { type: "button", class: "tile-btn", "data-testid": "tile-timeline", title: t("wall.recordings") }, t("wall.timeline"));
    timeline.addEventListener("click", () => this.onTimeline(camera));
    const el = h(
      "div",
      { class: "tile", "data-testid": "live-tile", "data-camera-id": camera.id, "data-state": "connecting" },
      player.video,
      h("div", { class: "tile-bar" }, h("span", { class: "tile-name", title: camera.id }, camera.name), statusEl, h("span", { class: "spacer" }), timeline, close),
    );
    const tile: Tile = { camera, el, player, stop: () => undefined };
    close.addEventListener("click", () => this.remove(tile));
    tile.stop = this.live.subscribe(camera.id, player);
    this.tiles.push(tile);
    this.grid.appendChild(el);
    this.renderEmpty();
  }

  private remove(tile: Tile): void {
    tile.stop();
    tile.player.destroy();
    tile.el.remove();
    this.tiles = this.tiles.filter((t) => t !== tile);
    this.renderEmpty();
  }

  private renderEmpty(): void {
    for (const e of this.grid.querySelectorAll(".tile-empty")) e.remove();
    for (let i = this.tiles.length; i < this.layout; i++) {
      this.grid.appendChild(h("div", { class: "tile tile-empty" }, i === 0 ? t("wall.empty") : ""));
    }
    this.countEl.textContent = `${this.tiles.length} / ${this.layout}`;
    this.onChange(this.tiles.length);
  }
}
