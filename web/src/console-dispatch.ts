// The console's dispatch panel (left of the map): the alert queue and the
// incident, with their markers and the units' positions on the map. Shown
// only to a user whose grants allow alerts or reading dispatch.

import { dispatchApi, type Alert } from "./api";
import { AlertQueue } from "./alerts";
import "./console-text";
import { flyTo, type ConsoleContext } from "./console-context";
import type { SidePanel } from "./console-side";
import type { ConsoleVideo } from "./console-video";
import { DispatchLayer } from "./dispatchmap";
import { h } from "./dom";
import { t } from "./i18n";
import { IncidentPanel } from "./incident";
import { UnitStream } from "./unitstream";

export class DispatchPanel {
  /** Null when the user may see neither alerts nor incidents. */
  readonly el: HTMLElement | null;
  private readonly queue: AlertQueue | null;
  private readonly incident: IncidentPanel | null;
  private layer: DispatchLayer | null = null;
  private lastAlerts: { alerts: Alert[]; selected: number | null } = { alerts: [], selected: null };
  private unitStream: UnitStream | null = null;

  constructor(
    private readonly ctx: ConsoleContext,
    private readonly side: SidePanel,
    private readonly video: ConsoleVideo,
  ) {
    const { can, banner } = ctx;
    const locate = (lat: number, lon: number) => flyTo(ctx, lon, lat, 600);
    const incident = can.readDispatch
      ? new IncidentPanel(
          can.dispatch,
          {
            onShow: (i) => this.layer?.setIncident(i),
            onLocate: (i) => locate(i.location.lat, i.location.lon),
            onSees: (i) => void this.openSees(i.location.lat, i.location.lon),
            onError: banner.reportError,
          },
          can.grantUnmask,
        )
      : null;
    this.incident = incident;
    this.queue = can.alerts
      ? new AlertQueue({
          onLocate: (a) => a.location && locate(a.location.lat, a.location.lon),
          onSees: (a) => a.location && void this.openSees(a.location.lat, a.location.lon),
          // The recording from a few seconds before the alert's first event.
          onClip: (a) => {
            const cam = ctx.cameras.get(a.source.id);
            if (cam) video.openTimeline(cam).cue(Date.parse(a.first_event_at) - 10_000);
          },
          onCreateIncident: async (a) => {
            try {
              const i = await dispatchApi.createIncident({ type: a.event_type, priority: severityPriority(a.severity), alert_id: a.id });
              incident?.show(i);
              if (a.location) locate(a.location.lat, a.location.lon);
              // Raising an incident is handling the alert: one click less under stress.
              if (a.state === "new") await dispatchApi.alertAction(a.id, "acknowledge").catch(() => undefined);
            } catch (e) {
              banner.reportError(e);
            }
          },
          onChange: (alerts, selected) => {
            this.lastAlerts = { alerts, selected };
            this.layer?.setAlerts(alerts, selected);
          },
          cameraName: (id) => ctx.cameras.get(id)?.name,
          onError: banner.reportError,
        })
      : null;
    this.el =
      this.queue || incident
        ? h("aside", { class: "dispatch-panel", "data-testid": "dispatch-panel", "aria-label": t("console.dispatch") }, this.queue?.el, incident?.el)
        : null;
  }

  /** A clicked map point is also where a new incident from a call goes. */
  setPoint(lat: number, lon: number): void {
    this.incident?.setPoint(lat, lon);
  }

  /** The map is loaded: alerts, the incident and the units go on it. */
  attachMap(map: import("maplibre-gl").Map): void {
    const { ctx, incident } = this;
    if (!ctx.can.readDispatch) return;
    this.layer = new DispatchLayer(map, (a) => {
      this.queue?.select(a.id);
    });
    this.layer.setAlerts(this.lastAlerts.alerts, this.lastAlerts.selected);
    this.layer.setIncident(incident?.current ?? null);
    // `#/map?incident=N` (the oversight view's link) opens that incident.
    const asked = /[?&]incident=(\d+)/.exec(location.hash);
    if (asked && incident) {
      void incident
        .open(Number(asked[1]))
        .then(() => {
          const i = incident.current;
          if (i) flyTo(ctx, i.location.lon, i.location.lat, 600);
        })
        .catch(ctx.banner.reportError);
    }
    this.unitStream = new UnitStream(
      (units) => {
        if (!ctx.destroyed()) this.layer?.setUnits(units);
      },
      () => dispatchApi.units(),
      undefined,
      ctx.banner.reportError,
    );
  }

  destroy(): void {
    this.unitStream?.destroy();
    this.queue?.destroy();
    this.incident?.destroy();
    this.layer?.destroy();
  }

  /** The cameras that see a point: shown as results and opened together on the wall. */
  private async openSees(lat: number, lon: number): Promise<void> {
    const found = await this.side.runQuery({ kind: "sees", point: [lon, lat] }, null);
    if (found && found.length && this.ctx.can.live) this.video.wall.openAll(found);
  }
}

/** An incident's priority (1 highest) from the alert's severity. */
function severityPriority(severity: string): number {
  return { extreme: 1, severe: 2, moderate: 3, minor: 4 }[severity] ?? 3;
}
