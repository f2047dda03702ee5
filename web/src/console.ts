// The operator console: composes its panels (header, dispatch, map, side
// panel, video) around the shared context, loads the cameras and the map,
// and owns the keyboard shortcuts that span panels.

import { api, ApiError, type Camera, type Me } from "./api";
import { Banner } from "./banner";
import { consoleGrants, type ConsoleContext } from "./console-context";
import { DispatchPanel } from "./console-dispatch";
import { consoleHeader } from "./console-header";
import { mapArea, waitIdle } from "./console-map";
import { SidePanel } from "./console-side";
import "./console-text";
import { ConsoleVideo } from "./console-video";
import { h } from "./dom";
import { t } from "./i18n";
import { createMap, LAYER_CAMERAS, type CityMap } from "./map";
import { Tools } from "./tools";

declare global {
  interface Window {
    __citywatchMap?: import("maplibre-gl").Map;
  }
}

export interface ConsoleHandle {
  destroy(): void;
}

export function renderConsole(root: HTMLElement, me: Me, onLogout: () => void): ConsoleHandle {
  const banner = new Banner();
  let destroyed = false;
  let city: CityMap | null = null;
  let tools: Tools | null = null;
  const cameras = new Map<string, Camera>();
  const ctx: ConsoleContext = {
    me,
    can: consoleGrants(me),
    banner,
    cameras,
    city: () => city,
    destroyed: () => destroyed,
  };

  const video = new ConsoleVideo(ctx);
  const header = consoleHeader(ctx, video.wallBtn, (tool) => tools?.setTool(tool), onLogout);
  const side = new SidePanel(ctx, video);
  const dispatch = new DispatchPanel(ctx, side, video);
  const area = mapArea(ctx, [video.wall.el, video.timelineHost, banner.el]);
  root.replaceChildren(h("div", { class: "app" }, header.el, h("div", { class: "workspace" }, dispatch.el, area.el, side.el)));

  const onKey = (e: KeyboardEvent) => {
    if (destroyed) return;
    const target = e.target as HTMLElement | null;
    const typing = !!target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.isContentEditable);
    if (e.key === "Escape") {
      if (tools?.cancelDrawing()) return;
      if (typing) {
        target?.blur();
        return;
      }
      if (banner.dismissLatest()) return;
      side.dismiss();
      return;
    }
    if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "Enter" && tools?.current === "polygon") {
      if (tools.finish()) e.preventDefault();
    } else if (e.key === "1" || e.key === "2" || e.key === "3") {
      tools?.setTool((["point", "circle", "polygon"] as const)[Number(e.key) - 1]);
    } else if (e.key === "/") {
      e.preventDefault();
      side.focusFilter();
    }
  };
  document.addEventListener("keydown", onKey);

  // ---- load data and map
  (async () => {
    try {
      const [config, cams] = await Promise.all([api.config(), api.cameras()]);
      if (config.blurred_max_span_s > 0) video.setMaxFileMs(config.blurred_max_span_s * 1000);
      if (destroyed) return;
      let basemap: GeoJSON.FeatureCollection | null = null;
      if (!config.style_url) {
        try {
          basemap = await api.basemap();
        } catch (e) {
          banner.reportError(e);
        }
      }
      if (destroyed) return;
      city = await createMap(area.mapEl, config, basemap);
      if (destroyed) {
        city.destroy();
        return;
      }
      window.__citywatchMap = city.map;
      city.map.on("error", (ev: { error?: { message: string } }) => {
        // Tile/style errors after load: show once, but keep the console usable.
        if (ev.error) banner.reportError(new ApiError(0, t("console.map_error", { detail: ev.error.message }), ""));
      });
      tools = new Tools(
        city,
        {
          onQuery: (q, camId) => {
            // A clicked point is also where a new incident from a call goes.
            if (q.kind === "sees") dispatch.setPoint(q.point[1], q.point[0]);
            void side.runQuery(q, camId);
          },
          onHint: header.setHint,
          onToolChange: header.setTool,
        },
        LAYER_CAMERAS,
      );
      tools.setTool("point");
      cameras.clear();
      for (const c of cams) cameras.set(c.id, c);
      side.list.setCameras(cams);
      await city.setCameras(cams);
      if (destroyed) return;
      header.setCameraCount(cams.length);
      area.loaded();
      // `#/map?camera=ID` (the health wall's click-through) opens that camera.
      const asked = cameras.get(new URLSearchParams(location.hash.split("?")[1] ?? "").get("camera") ?? "");
      if (asked) side.pickCamera(asked, true);
      dispatch.attachMap(city.map);
      await waitIdle(city.map, 3000);
      if (destroyed) return;
      document.body.dataset.mapReady = "1";
    } catch (e) {
      area.failed();
      banner.reportError(e);
    }
  })();

  return {
    destroy() {
      destroyed = true;
      banner.close();
      dispatch.destroy();
      video.destroy();
      side.destroy();
      document.removeEventListener("keydown", onKey);
      tools?.destroy();
      city?.destroy();
      city = null;
      if (window.__citywatchMap) delete window.__citywatchMap;
      delete document.body.dataset.mapReady;
    },
  };
}
