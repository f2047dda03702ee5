// Searchable camera list and the camera details panel.

import type { Camera } from "./api";
import { h, clear, formatDistance, stripCredentials } from "./dom";
import { STATUS_COLORS } from "./map";
import { displayStatus, statusLabel } from "./camstatus";

const MAX_LIST_ROWS = 1000;

export function statusDot(status: string): HTMLElement {
  const color = STATUS_COLORS[status] ?? STATUS_COLORS.unknown;
  return h("span", { class: "status-dot", style: `background:${color}`, title: status, "aria-hidden": "true" });
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
      placeholder: "Filter by id, name, district, tag…  ( / )",
      "aria-label": "Filter cameras",
      "data-testid": "camera-filter",
      autocomplete: "off",
      spellcheck: "false",
    });
    this.count = h("span", { class: "list-count", "data-testid": "camera-list-count", "aria-live": "polite" });
    this.list = h("ul", { class: "camera-list", "aria-label": "Cameras" });
    this.el = h(
      "section",
      { class: "panel-section list-section", "aria-labelledby": "cameras-title" },
      h("div", { class: "section-head" }, h("h2", { id: "cameras-title" }, "Cameras"), this.count),
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
      ? `${matches.length} of ${this.cameras.length}`
      : `${this.cameras.length}`;
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
          title: `${c.name} (${statusLabel(displayStatus(c))})`,
        },
        statusDot(displayStatus(c)),
        h("span", { class: "row-main" }, h("span", { class: "row-name" }, c.name), h("span", { class: "row-sub" }, [c.id, c.district].filter(Boolean).join(" · "))),
      );
      btn.addEventListener("click", () => this.onPick(c));
      frag.appendChild(h("li", {}, btn));
    }
    if (matches.length === 0) {
      frag.appendChild(h("li", { class: "empty" }, "No camera matches the filter."));
    } else if (matches.length > MAX_LIST_ROWS) {
      frag.appendChild(h("li", { class: "empty" }, `${matches.length - MAX_LIST_ROWS} more — refine the filter.`));
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
    v === null || v === undefined || !Number.isFinite(v) ? "—" : `${Number(v.toFixed(digits))}${unit === "°" ? "" : " "}${unit}`;
  const rows: [string, Node | string][] = [
    ["ID", cam.id],
    ["Name", cam.name],
    ["Status", h("span", { class: "status-pill" }, statusDot(displayStatus(cam)), statusLabel(displayStatus(cam)))],
    ["District", cam.district ?? "—"],
    ["Position", `${cam.lat.toFixed(6)}, ${cam.lon.toFixed(6)}`],
    ["Height", fmtNum(cam.height_m, "m")],
    ["Heading", fmtNum(cam.heading_deg, "°")],
    ["Field of view", fmtNum(cam.fov_deg, "°")],
    ["Range", fmtNum(cam.range_m, "m")],
    ["Tags", cam.tags?.length ? h("span", { class: "tags" }, cam.tags.map((t) => h("span", { class: "tag" }, t))) : "—"],
    ["Main stream", h("code", {}, stripCredentials(cam.main_url))],
    ["Sub stream", h("code", {}, stripCredentials(cam.sub_url))],
  ];
  if (cam.distance_m !== undefined) rows.splice(1, 0, ["Distance", formatDistance(cam.distance_m)]);

  const close = h("button", { type: "button", class: "icon-btn", "aria-label": "Close camera details", title: "Close" }, "×");
  close.addEventListener("click", actions.onClose);
  const fly = h("button", { type: "button", class: "btn" }, "Zoom to camera");
  fly.addEventListener("click", actions.onFly);
  const sees = h("button", { type: "button", class: "btn" }, "Cameras seeing this spot");
  sees.addEventListener("click", actions.onSees);
  const video: HTMLButtonElement[] = [];
  if (actions.onLive) {
    const live = h("button", { type: "button", class: "btn btn-primary", "data-testid": "watch-live" }, "Watch live");
    live.addEventListener("click", actions.onLive);
    video.push(live);
  }
  if (actions.onTimeline) {
    const tl = h("button", { type: "button", class: "btn", "data-testid": "open-timeline" }, "Recordings");
    tl.addEventListener("click", actions.onTimeline);
    video.push(tl);
  }

  el.replaceChildren(
    h("div", { class: "section-head" }, h("h2", { id: "details-title" }, "Camera details"), close),
    h("dl", { class: "details" }, rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", { "data-field": k.toLowerCase().replace(/\s+/g, "-") }, v)])),
    h("div", { class: "details-actions" }, video, fly, sees),
  );
  el.dataset.cameraId = cam.id;
  el.hidden = false;
}
