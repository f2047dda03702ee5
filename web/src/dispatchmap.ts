// Dispatch on the map: units (coloured by status, labelled by call sign),
// open alerts and the incident in view, as HTML markers (no glyphs needed,
// and each is a button an operator can hit under stress).

import * as maplibregl from "maplibre-gl";
import type { Alert, Incident, Unit, UnitStatus } from "./api";
import { h } from "./dom";
import { register, t } from "./i18n";

export const UNIT_COLORS: Record<UnitStatus, string> = {
  available: "#2f9e44",
  dispatched: "#f08c00",
  en_route: "#1c7ed6",
  on_scene: "#c2255c",
  out_of_service: "#868e96",
};

register("dispatchmap", {
  en: {
    "dispatchmap.available": "Available",
    "dispatchmap.dispatched": "Dispatched",
    "dispatchmap.en_route": "En route",
    "dispatchmap.on_scene": "On scene",
    "dispatchmap.out_of_service": "Out of service",
    "dispatchmap.unit_status": "Unit status",
    "dispatchmap.unit_title": "{call_sign} ({kind}) — {status}",
    "dispatchmap.alert": "Alert {id}",
    "dispatchmap.incident": "Incident {id}: {type}",
    "dispatchmap.kind_car": "car",
    "dispatchmap.kind_foot": "on foot",
    "dispatchmap.kind_motorbike": "motorbike",
  },
  "sr-Latn": {
    "dispatchmap.available": "Slobodna",
    "dispatchmap.dispatched": "Upućena",
    "dispatchmap.en_route": "Na putu",
    "dispatchmap.on_scene": "Na mestu događaja",
    "dispatchmap.out_of_service": "Van službe",
    "dispatchmap.unit_status": "Stanje patrole",
    "dispatchmap.unit_title": "{call_sign} ({kind}) — {status}",
    "dispatchmap.alert": "Uzbuna {id}",
    "dispatchmap.incident": "Intervencija {id}: {type}",
    "dispatchmap.kind_car": "automobil",
    "dispatchmap.kind_foot": "pešice",
    "dispatchmap.kind_motorbike": "motocikl",
  },
});

const UNIT_STATUSES = new Set<string>(Object.keys(UNIT_COLORS));

/** A unit's kind in the reader's language (a kind the console does not know, as the server names it). */
export function unitKind(k: string): string {
  return ["car", "foot", "motorbike"].includes(k) ? t(`dispatchmap.kind_${k}`) : k;
}

export function unitColor(s: string): string {
  return UNIT_COLORS[s as UnitStatus] ?? "#868e96";
}

export function unitLabel(s: string): string {
  return UNIT_STATUSES.has(s) ? t(`dispatchmap.${s}`) : s;
}

/** Legend rows for unit statuses. */
export function unitLegend(): HTMLElement[] {
  return [
    h("div", { class: "legend-title" }, t("dispatchmap.unit_status")),
    ...(Object.keys(UNIT_COLORS) as UnitStatus[]).map((s) =>
      h("div", { class: "legend-row" }, h("span", { class: "legend-dot legend-unit", style: `background:${UNIT_COLORS[s]}` }), unitLabel(s)),
    ),
  ];
}

interface Placed<T> {
  marker: maplibregl.Marker;
  el: HTMLElement;
  item: T;
}

export class DispatchLayer {
  private units = new Map<string, Placed<Unit>>();
  private alerts = new Map<number, Placed<Alert>>();
  private incident: maplibregl.Marker | null = null;

  constructor(
    private readonly map: maplibregl.Map,
    private readonly onAlertClick?: (a: Alert) => void,
  ) {}

  setUnits(units: Unit[]): void {
    const seen = new Set<string>();
    for (const u of units) {
      if (!u.position) continue;
      seen.add(u.id);
      let p = this.units.get(u.id);
      if (!p) {
        const el = h("div", { class: "unit-marker", "data-testid": "unit-marker", "data-unit-id": u.id }, h("span", { class: "unit-dot" }), h("span", { class: "unit-label" }));
        const marker = new maplibregl.Marker({ element: el, anchor: "left" }).setLngLat([u.position.lon, u.position.lat]).addTo(this.map);
        p = { marker, el, item: u };
        this.units.set(u.id, p);
      }
      p.item = u;
      p.marker.setLngLat([u.position.lon, u.position.lat]);
      p.el.dataset.status = u.status;
      p.el.style.setProperty("--unit-color", unitColor(u.status));
      p.el.title = `${t("dispatchmap.unit_title", { call_sign: u.call_sign, kind: unitKind(u.kind), status: unitLabel(u.status) })}${u.officers.length ? `\n${u.officers.join(", ")}` : ""}`;
      const label = p.el.querySelector(".unit-label");
      if (label && label.textContent !== u.call_sign) label.textContent = u.call_sign;
    }
    for (const [id, p] of this.units) {
      if (!seen.has(id)) {
        p.marker.remove();
        this.units.delete(id);
      }
    }
  }

  setAlerts(alerts: Alert[], selected: number | null): void {
    const seen = new Set<number>();
    for (const a of alerts) {
      if (!a.location) continue;
      seen.add(a.id);
      let p = this.alerts.get(a.id);
      if (!p) {
        const el = h("button", { type: "button", class: "alert-marker", "data-testid": "alert-marker", "data-alert-id": a.id, title: t("dispatchmap.alert", { id: String(a.id) }) }, "!");
        const marker = new maplibregl.Marker({ element: el, anchor: "bottom" }).setLngLat([a.location.lon, a.location.lat]).addTo(this.map);
        p = { marker, el, item: a };
        el.addEventListener("click", (ev) => {
          ev.stopPropagation();
          const cur = this.alerts.get(a.id);
          if (cur) this.onAlertClick?.(cur.item);
        });
        this.alerts.set(a.id, p);
      }
      p.item = a;
      p.el.dataset.severity = a.severity;
      p.el.dataset.state = a.state;
      p.el.classList.toggle("selected", a.id === selected);
    }
    for (const [id, p] of this.alerts) {
      if (!seen.has(id)) {
        p.marker.remove();
        this.alerts.delete(id);
      }
    }
  }

  setIncident(incident: Incident | null): void {
    this.incident?.remove();
    this.incident = null;
    if (!incident) return;
    const el = h("div", { class: "incident-marker", "data-testid": "incident-marker", "data-incident-id": incident.id, title: t("dispatchmap.incident", { id: String(incident.id), type: incident.type }) }, "✚");
    this.incident = new maplibregl.Marker({ element: el, anchor: "center" }).setLngLat([incident.location.lon, incident.location.lat]).addTo(this.map);
  }

  destroy(): void {
    for (const p of this.units.values()) p.marker.remove();
    for (const p of this.alerts.values()) p.marker.remove();
    this.units.clear();
    this.alerts.clear();
    this.incident?.remove();
  }
}
