// What the console's panels share: the user's grants, the error banner, the
// map once loaded and the registry's cameras. `renderConsole` owns these
// and hands each panel this one object, so a panel names what it uses.

import type { Camera, Me } from "./api";
import type { Banner } from "./banner";
import type { CityMap } from "./map";

export interface ConsoleContext {
  readonly me: Me;
  /** What the grants allow, as `/me` lists it (the server checks again). */
  readonly can: {
    live: boolean;
    play: boolean;
    alerts: boolean;
    readDispatch: boolean;
    dispatch: boolean;
    grantUnmask: boolean;
  };
  readonly banner: Banner;
  /** The registry's cameras by id (empty until loaded). */
  readonly cameras: Map<string, Camera>;
  /** The map, once loaded. */
  city(): CityMap | null;
  /** Whether the console is gone (late answers are dropped). */
  destroyed(): boolean;
}

export function consoleGrants(me: Me): ConsoleContext["can"] {
  const may = new Set(me.permissions ?? []);
  return {
    live: may.has("view_live"),
    play: may.has("play_recordings"),
    alerts: may.has("handle_alerts"),
    readDispatch: may.has("read_dispatch"),
    dispatch: may.has("dispatch"),
    grantUnmask: may.has("grant_unmask"),
  };
}

/** Flies the map (if loaded) to a point, zooming in to street level but never out. */
export function flyTo(ctx: ConsoleContext, lon: number, lat: number, durationMs: number): void {
  const map = ctx.city()?.map;
  if (!map) return;
  map.flyTo({ center: [lon, lat], zoom: Math.max(map.getZoom(), 17), essential: true, duration: durationMs });
}
