// Searchable camera list and the camera details panel.

import type { Camera } from "./api";
import { h, clear, formatDistance, stripCredentials } from "./dom";
import { fmtNumber, register, t } from "./i18n";
import { STATUS_COLORS } from "./map";
import { displayStatus, statusLabel } from "./camstatus";

register("cameras", {
  en: {
    "cameras.filter_placeholder": "Filter by id, name, district, tag…  ( / )",
    "cameras.filter_label": "Filter cameras",
    "cameras.list": "Cameras",
    "cameras.title": "Cameras",
    "cameras.count_of": "{n} of {total}",
    "cameras.row_title": "{name} ({status})",
    "cameras.no_match": "No camera matches the filter.",
    "cameras.more": "{n} more — refine the filter.",
    "cameras.id": "ID",
    "cameras.name": "Name",
    "cameras.status": "Status",
    "cameras.district": "District",
    "cameras.position": "Position",
    "cameras.height": "Height",
    "cameras.heading": "Heading",
    "cameras.fov": "Field of view",
    "cameras.range": "Range",
    "cameras.tags": "Tags",
    "cameras.main_stream": "Main stream",
    "cameras.sub_stream": "Sub stream",
    "cameras.distance": "Distance",
    "cameras.close": "Close camera details",
    "cameras.close_hint": "Close",
    "cameras.zoom": "Zoom to camera",
    "cameras.sees": "Cameras seeing this spot",
    "cameras.watch_live": "Watch live",
    "cameras.recordings": "Recordings",
    "cameras.details": "Camera details",
  },
  "sr-Latn": {
    "cameras.filter_placeholder": "Filtriraj po ID-u, nazivu, reonu, oznaci…  ( / )",
    "cameras.filter_label": "Filtriranje kamera",
    "cameras.list": "Kamere",
    "cameras.title": "Kamere",
    "cameras.count_of": "{n} od {total}",
    "cameras.row_title": "{name} ({status})",
    "cameras.no_match": "Nijedna kamera ne odgovara filteru.",
    "cameras.more": "Još {n} — suzite filter.",
    "cameras.id": "ID",
    "cameras.name": "Naziv",
    "cameras.status": "Stanje",
    "cameras.district": "Reon",
    "cameras.position": "Položaj",
    "cameras.height": "Visina",
    "cameras.heading": "Pravac",
    "cameras.fov": "Vidno polje",
    "cameras.range": "Domet",
    "cameras.tags": "Oznake",
    "cameras.main_stream": "Glavni tok",
    "cameras.sub_stream": "Pomoćni tok",
    "cameras.distance": "Udaljenost",
    "cameras.close": "Zatvori podatke o kameri",
    "cameras.close_hint": "Zatvori",
    "cameras.zoom": "Približi kameru",
    "cameras.sees": "Kamere koje vide ovo mesto",
    "cameras.watch_live": "Gledaj uživo",
    "cameras.recordings": "Snimci",
    "cameras.details": "Podaci o kameri",
  },
});

const MAX_LIST_ROWS = 1000;
/** The details' `data-field` names that differ from their message key. */
const FIELD_IDS: Record<string, string> = { fov: "field-of-view" };

export function statusDot(status: string): HTMLElement {
  const color = STATUS_COLORS[status] ?? STATUS_COLORS.unknown;
  return h("span", { class: "status-dot", style: `background:${color}`, title: statusLabel(status), "aria-hidden": "true" });
}

function searchText(c: Camera): string {
  return [c.id, c.name, c.district ?? "", ...(c.tags ?? [])].join(" ").toLowerCase();
}

export class CameraList {
  readonly el: HTMLElement;
  readonly filter: HTMLInputElement;
  private readonly list: HTMLElement;
  private readonly count: HTMLElement;
  private cameras: Camera[] = [];
  private index: string[] = [];
  private selectedId: string | null = null;

  constructor(private readonly onPick: (c: Camera) => void) {
    this.filter = h("input", {
      type: "search",
      class: "filter-input",
      placeholder: t("cameras.filter_placeholder"),
      "aria-label": t("cameras.filter_label"),
      "data-testid": "camera-filter",
      autocomplete: "off",
      spellcheck: "false",
    });
    this.count = h("span", { class: "list-count", "data-testid": "camera-list-count", "aria-live": "polite" });
    this.list = h("ul", { class: "camera-list", "aria-label": t("cameras.list") });
    this.el = h(
      "section",
      { class: "panel-section list-section", "aria-labelledby": "cameras-title" },
      h("div", { class: "section-head" }, h("h2", { id: "cameras-title" }, t("cameras.title")), this.count),
      this.filter,
      this.list,
    );
    let timer = 0;
    this.filter.addEventListener("input", () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(() => this.render(), 80);
    });
    this.filter.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        const first = this.list.querySelector<HTMLButtonElement>("button.camera-row");
        first?.click();
      } else if (e.key === "ArrowDown") {
        e.preventDefault();
        this.list.querySelector<HTMLButtonElement>("button.camera-row")?.focus();
      } else if (e.key === "Escape" && this.filter.value) {
        e.stopPropagation();
        this.filter.value = "";
        this.render();
      }
    });
    this.list.addEventListener("keydown", (e) => {
      const target = e.target as HTMLElement;
      if (!target.classList.contains("camera-row")) return;
      const li = target.parentElement;
      if (e.key === "ArrowDown") {
        e.preventDefault();
        (li?.nextElementSibling?.querySelector("button") as HTMLButtonElement | null)?.focus();
      } else if (e.key === "ArrowUp") {
        e.preventDefault();
        const prev = li?.previousElementSibling?.querySelector("button") as HTMLButtonElement | null;
        (prev ?? this.filter).focus();
      }
    });
  }

  setCameras(cameras: Camera[]): void {
    this.cameras = [...cameras].sort((a, b) => a.id.localeCompare(b.id));
    this.index = this.cameras.map(searchText);
    this.render();
  }

  setSelected(id: string | null): void {
    this.selectedId = id;
    for (const b of this.list.querySelectorAll<HTMLElement>("button.camera-row")) {
      b.classList.toggle("selected", b.dataset.cameraId === id);
    }
  }

  private render(): void {
    const terms = this.filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    const matches: Camera[] = [];
    for (let i = 0; i < this.cameras.length; i++) {
      if (terms.every((t) => this.index[i].includes(t))) matches.push(this.cameras[i]);
    }
    this.count.textContent = terms.length
      ? t("cameras.count_of", { n: matches.length, total: this.cameras.length })
      : fmtNumber(this.cameras.length);
    clear(this.list);
    const frag = document.createDocumentFragment();
    for (const c of matches.slice(0, MAX_LIST_ROWS)) {
      const btn = h(
        "button",
        {
          type: "button",
          class: `camera-row${c.id === this.selectedId ? " selected" : ""}`,
          "data-testid": "camera-list-item",
          "data-camera-id": c.id,
          title: t("cameras.row_title", { name: c.name, status: statusLabel(displayStatus(c)) }),
        },
        statusDot(displayStatus(c)),
        h("span", { class: "row-main" }, h("span", { class: "row-name" }, c.name), h("span", { class: "row-sub" }, [c.id, c.district].filter(Boolean).join(" · "))),
      );
      btn.addEventListener("click", () => this.onPick(c));
      frag.appendChild(h("li", {}, btn));
    }
    if (matches.length === 0) {
      frag.appendChild(h("li", { class: "empty" }, t("cameras.no_match")));
    } else if (matches.length > MAX_LIST_ROWS) {
      frag.appendChild(h("li", { class: "empty" }, t("cameras.more", { n: matches.length - MAX_LIST_ROWS })));
    }
    this.list.appendChild(frag);
  }
}

export function renderDetails(
  el: HTMLElement,
  cam: Camera,
  actions: { onClose(): void; onFly(): void; onSees(): void; onLive?(): void; onTimeline?(): void },
): void {
  const fmtNum = (v: number | null | undefined, unit: string, digits = 1) =>
    v === null || v === undefined || !Number.isFinite(v) ? "—" : `${fmtNumber(v, { maximumFractionDigits: digits })}${unit === "°" ? "" : " "}${unit}`;
  const rows: [string, Node | string][] = [
    ["id", cam.id],
    ["name", cam.name],
    ["status", h("span", { class: "status-pill" }, statusDot(displayStatus(cam)), statusLabel(displayStatus(cam)))],
    ["district", cam.district ?? "—"],
    ["position", `${cam.lat.toFixed(6)}, ${cam.lon.toFixed(6)}`],
    ["height", fmtNum(cam.height_m, "m")],
    ["heading", fmtNum(cam.heading_deg, "°")],
    ["fov", fmtNum(cam.fov_deg, "°")],
    ["range", fmtNum(cam.range_m, "m")],
    ["tags", cam.tags?.length ? h("span", { class: "tags" }, cam.tags.map((tag) => h("span", { class: "tag" }, tag))) : "—"],
    ["main_stream", h("code", {}, stripCredentials(cam.main_url))],
    ["sub_stream", h("code", {}, stripCredentials(cam.sub_url))],
  ];
  if (cam.distance_m !== undefined) rows.splice(1, 0, ["distance", formatDistance(cam.distance_m)]);

  const close = h("button", { type: "button", class: "icon-btn", "aria-label": t("cameras.close"), title: t("cameras.close_hint") }, "×");
  close.addEventListener("click", actions.onClose);
  const fly = h("button", { type: "button", class: "btn" }, t("cameras.zoom"));
  fly.addEventListener("click", actions.onFly);
  const sees = h("button", { type: "button", class: "btn" }, t("cameras.sees"));
  sees.addEventListener("click", actions.onSees);
  const video: HTMLButtonElement[] = [];
  if (actions.onLive) {
    const live = h("button", { type: "button", class: "btn btn-primary", "data-testid": "watch-live" }, t("cameras.watch_live"));
    live.addEventListener("click", actions.onLive);
    video.push(live);
  }
  if (actions.onTimeline) {
    const tl = h("button", { type: "button", class: "btn", "data-testid": "open-timeline" }, t("cameras.recordings"));
    tl.addEventListener("click", actions.onTimeline);
    video.push(tl);
  }

  el.replaceChildren(
    h("div", { class: "section-head" }, h("h2", { id: "details-title" }, t("cameras.details")), close),
    // data-field: the English name in kebab case, as before ("field-of-view" for fov).
    h("dl", { class: "details" }, rows.flatMap(([k, v]) => [h("dt", {}, t(`cameras.${k}`)), h("dd", { "data-field": FIELD_IDS[k] ?? k.replace(/_/g, "-") }, v)])),
    h("div", { class: "details-actions" }, video, fly, sees),
  );
  el.dataset.cameraId = cam.id;
  el.hidden = false;
}
