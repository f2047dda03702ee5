// The console's side panel: the results of a map query, the chosen camera's
// details and the camera list. It runs the queries (the map tools and the
// alerts ask it) and shows what they found on the map as well.

import { api, errorText, type Camera } from "./api";
import { CameraList, renderDetails } from "./cameras";
import "./console-text";
import { flyTo, type ConsoleContext } from "./console-context";
import type { ConsoleVideo } from "./console-video";
import { h } from "./dom";
import { t } from "./i18n";
import { ResultsPanel } from "./results";
import { queryShape, querySubtitle, queryTitle, type Query } from "./tools";

export class SidePanel {
  readonly el: HTMLElement;
  readonly results: ResultsPanel;
  readonly list: CameraList;
  readonly details: HTMLElement;
  private queryAbort: AbortController | null = null;

  constructor(
    private readonly ctx: ConsoleContext,
    private readonly video: ConsoleVideo,
  ) {
    this.details = h("section", {
      class: "panel-section details-section",
      "data-testid": "camera-details",
      "aria-labelledby": "details-title",
      hidden: true,
    });
    this.results = new ResultsPanel(
      (c) => this.pickCamera(c, false),
      () => this.clearQuery(),
      ctx.can.live ? (cams) => video.wall.openAll(cams) : undefined,
    );
    this.list = new CameraList((c) => this.pickCamera(c, true));
    this.el = h("aside", { class: "side-panel", "aria-label": t("console.side") }, this.results.el, this.details, this.list.el);
  }

  /** A camera chosen (in the list, the results or by a link): its details, and the map follows. */
  pickCamera(cam: Camera, fly: boolean): void {
    const { ctx, details } = this;
    const known = ctx.cameras.get(cam.id);
    this.showDetails({ ...(known ?? cam), distance_m: cam.distance_m });
    const city = ctx.city();
    if (fly || (city && !city.map.getBounds().contains([cam.lon, cam.lat]))) flyTo(ctx, cam.lon, cam.lat, 800);
    // Refresh from the registry (status may have changed since the list was loaded).
    api.camera(cam.id).then(
      (fresh) => {
        if (!ctx.destroyed() && details.dataset.cameraId === cam.id && !details.hidden) {
          this.showDetails({ ...fresh, distance_m: cam.distance_m });
        }
      },
      ctx.banner.reportError,
    );
  }

  closeDetails(): void {
    this.details.hidden = true;
    delete this.details.dataset.cameraId;
    this.list.setSelected(null);
    this.ctx.city()?.setSelected(null);
  }

  clearQuery(): void {
    this.queryAbort?.abort();
    this.results.hide();
    const city = this.ctx.city();
    city?.setHighlighted([]);
    city?.setQueryShape(null, null);
  }

  /** Runs a map query: its shape on the map, what it found in the results and highlighted. */
  async runQuery(q: Query, clickedCameraId: string | null): Promise<Camera[] | null> {
    const { ctx, results } = this;
    const city = ctx.city();
    if (!city) return null;
    this.queryAbort?.abort();
    const ctrl = new AbortController();
    this.queryAbort = ctrl;
    city.setQueryShape(queryShape(q), q.kind === "sees" ? q.point : null);
    const seq = results.loading(queryTitle(q), querySubtitle(q), q.kind);
    if (clickedCameraId) {
      const c = ctx.cameras.get(clickedCameraId);
      if (c) this.showDetails(c);
    }
    try {
      let found: Camera[];
      switch (q.kind) {
        case "sees":
          found = await api.sees(q.point[1], q.point[0], ctrl.signal);
          break;
        case "near":
          found = await api.near(q.center[1], q.center[0], q.radiusM, ctrl.signal);
          break;
        case "polygon":
          found = await api.searchPolygon({ type: "Polygon", coordinates: [q.ring] }, ctrl.signal);
          break;
      }
      if (ctx.destroyed() || !results.isCurrent(seq)) return null;
      results.show(seq, found);
      city.setHighlighted(found.map((c) => c.id));
      return found;
    } catch (e) {
      if (e instanceof DOMException && e.name === "AbortError") return null;
      results.fail(seq, errorText(e));
      ctx.city()?.setHighlighted([]);
      ctx.banner.reportError(e);
      return null;
    }
  }

  /** Esc, after the banner: the results first, then the details. */
  dismiss(): void {
    if (!this.results.el.hidden) this.clearQuery();
    else if (!this.details.hidden) this.closeDetails();
  }

  /** `/`: to the camera list's filter. */
  focusFilter(): void {
    this.list.filter.focus();
    this.list.filter.select();
  }

  destroy(): void {
    this.queryAbort?.abort();
  }

  private showDetails(cam: Camera): void {
    const { ctx, video } = this;
    this.list.setSelected(cam.id);
    ctx.city()?.setSelected(cam.id);
    renderDetails(this.details, cam, {
      onClose: () => this.closeDetails(),
      onFly: () => flyTo(ctx, cam.lon, cam.lat, 800),
      onSees: () => this.runQuery({ kind: "near", center: [cam.lon, cam.lat], radiusM: 150 }, null),
      onLive: ctx.can.live && (cam.main_url || cam.sub_url) ? () => video.wall.open(cam) : undefined,
      onTimeline: () => video.openTimeline(cam),
    });
  }
}
