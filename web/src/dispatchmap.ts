// Dispatch on the map: units (coloured by status, labelled by call sign),
// open alerts and the incident in view, as HTML markers (no glyphs needed,
// and each is a button an operator can hit under stress).

import * as maplibregl from "maplibre-gl";
import type { Alert, Incident, Unit, UnitStatus } from "./api";
import { h } from "./dom";

export const UNIT_COLORS: Record<UnitStatus, string> = {
  available: "#2f9e44",
  dispatched: "#f08c00",
  en_route: "#1c7ed6",
  on_scene: "#c2255c",
  out_of_service: "#868e96",
};

export const UNIT_LABELS: Record<UnitStatus, string> = {
  available: "Available",
  dispatched: "Dispatched",
  en_route: "En route",
  on_scene: "On scene",
  out_of_service: "Out of service",
};

export function unitColor(s: string): string {
  return UNIT_COLORS[s as UnitStatus] ?? "#868e96";
}

export function unitLabel(s: string): string {
  return UNIT_LABELS[s as UnitStatus] ?? s;
}

/** Legend rows for unit statuses. */
export function unitLegend(): HTMLElement[] {
  return [
    h("div", { class: "legend-title" }, "Unit status"),
    ...(Object.keys(UNIT_COLORS) as UnitStatus[]).map((s) =>
      h("div", { class: "legend-row" }, h("span", { class: "legend-dot legend-unit", style: `background:${UNIT_COLORS[s]}` }), UNIT_LABELS[s]),
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
      p.el.title = `${u.call_sign} (${u.kind}) — ${unitLabel(u.status)}${u.officers.length ? `\n${u.officers.join(", ")}` : ""}`;
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
        const el = h("button", { type: "button", class: "alert-marker", "data-testid": "alert-marker", "data-alert-id": a.id, title: `Alert ${a.id}` }, "!");
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
    const el = h("div", { class: "incident-marker", "data-testid": "incident-marker", "data-incident-id": incident.id, title: `Incident ${incident.id}: ${incident.type}` }, "✚");
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
