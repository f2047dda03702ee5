// Side-panel section listing the cameras returned by a spatial query.

import type { Camera } from "./api";
import { h, formatDistance } from "./dom";
import { statusDot } from "./cameras";
import { register, t } from "./i18n";

register("results", {
  en: {
    "results.title": "Results",
    "results.clear": "Clear results",
    "results.clear_hint": "Clear (Esc)",
    "results.searching": "Searching…",
    "results.count_one": "1 camera",
    "results.count": "{n} cameras",
    "results.none": "No camera found.",
    "results.watch_16": "Watch first 16 live",
    "results.watch_all": "Watch all live",
    "results.failed": "Query failed: {message}",
  },
  "sr-Latn": {
    "results.title": "Rezultati",
    "results.clear": "Obriši rezultate",
    "results.clear_hint": "Obriši (`Esc`)",
    "results.searching": "Pretraga…",
    "results.count_one": "1 kamera",
    "results.count": "Kamera: {n}",
    "results.none": "Nije pronađena nijedna kamera.",
    "results.watch_16": "Gledaj prvih 16 uživo",
    "results.watch_all": "Gledaj sve uživo",
    "results.failed": "Upit nije uspeo: {message}",
  },
});

export class ResultsPanel {
  readonly el: HTMLElement;
  private readonly title: HTMLElement;
  private readonly subtitle: HTMLElement;
  private readonly body: HTMLElement;
  private seq = 0;

  constructor(
    private readonly onPick: (c: Camera) => void,
    onClear: () => void,
    /** Opens the cameras found together on the video wall; absent without live permission. */
    private readonly onWatchAll?: (cameras: Camera[]) => void,
  ) {
    this.title = h("h2", { id: "results-title" }, t("results.title"));
    this.subtitle = h("div", { class: "results-sub" });
    this.body = h("div", { class: "results-body" });
    const close = h("button", { type: "button", class: "icon-btn", "aria-label": t("results.clear"), title: t("results.clear_hint") }, "×");
    close.addEventListener("click", onClear);
    this.el = h(
      "section",
      {
        class: "panel-section results-section",
        "data-testid": "results",
        "aria-labelledby": "results-title",
        "aria-live": "polite",
        "data-state": "empty",
        "data-seq": "0",
        hidden: true,
      },
      h("div", { class: "section-head" }, this.title, close),
      this.subtitle,
      this.body,
    );
  }

  /** Start a new query; returns its sequence number (later answers to older queries are dropped by the caller). */
  loading(title: string, subtitle: string, kind: string): number {
    this.seq += 1;
    this.el.hidden = false;
    this.el.dataset.state = "loading";
    this.el.dataset.query = kind;
    this.title.textContent = title;
    this.subtitle.textContent = subtitle;
    this.body.replaceChildren(h("div", { class: "muted" }, t("results.searching")));
    return this.seq;
  }

  isCurrent(seq: number): boolean {
    return seq === this.seq;
  }

  show(seq: number, cameras: Camera[]): void {
    if (!this.isCurrent(seq)) return;
    const count = h("div", { class: "results-count", "data-testid": "results-count" }, cameras.length === 1 ? t("results.count_one") : t("results.count", { n: cameras.length }));
    if (cameras.length === 0) {
      this.body.replaceChildren(count, h("div", { class: "muted" }, t("results.none")));
    } else {
      const list = h("ol", { class: "result-list" });
      for (const c of cameras) {
        const btn = h(
          "button",
          { type: "button", class: "result-row", "data-testid": "result-item", "data-camera-id": c.id },
          statusDot(c.status),
          h("span", { class: "row-main" }, h("span", { class: "row-name" }, c.name), h("span", { class: "row-sub" }, c.id)),
          h("span", { class: "row-dist" }, formatDistance(c.distance_m)),
        );
        btn.addEventListener("click", () => this.onPick(c));
        list.appendChild(h("li", {}, btn));
      }
      const watch: HTMLElement[] = [];
      if (this.onWatchAll) {
        const b = h("button", { type: "button", class: "btn btn-primary btn-small", "data-testid": "watch-all-live" }, cameras.length > 16 ? t("results.watch_16") : t("results.watch_all"));
        b.addEventListener("click", () => this.onWatchAll?.(cameras));
        watch.push(h("div", { class: "results-actions" }, b));
      }
      this.body.replaceChildren(count, ...watch, list);
    }
    this.el.dataset.state = "done";
    this.el.dataset.seq = String(seq);
  }

  fail(seq: number, message: string): void {
    if (!this.isCurrent(seq)) return;
    this.body.replaceChildren(h("div", { class: "muted error-text" }, t("results.failed", { message })));
    this.el.dataset.state = "error";
    this.el.dataset.seq = String(seq);
  }

  hide(): void {
    this.seq += 1;
    this.el.hidden = true;
    this.el.dataset.state = "empty";
    this.body.replaceChildren();
  }
}
