// The console's views and who may open each. A view is listed once here;
// the top bar's switcher, the landing choice and the address (`#/id`) all
// follow this table, built from the permissions `/api/v1/me` returns (no
// role names in the console).

import type { Me, Permission } from "./api";
import { renderAudit } from "./audit";
import { renderConsole } from "./console";
import { renderHealth } from "./health";
import { renderUsers } from "./users";
import { renderSetup } from "./setup";
import { renderOversight } from "./oversight";

export interface ViewHandle {
  destroy(): void;
}

export interface ViewDef {
  /** The address fragment: `#/id`. */
  id: string;
  /** Message key of the view's name in the switcher. */
  titleKey: string;
  /** The caller may open the view with any one of these. */
  anyOf: Permission[];
  /**
   * Lower lands first: a caller lands on the allowed view of lowest rank,
   * so each role starts on its own work (the auditor on the log, the
   * administrator on set-up, the supervisor on oversight).
   */
  landingRank: number;
  render(root: HTMLElement, me: Me, onLogout: () => void): ViewHandle;
}

export const VIEWS: ViewDef[] = [
  { id: "map", titleKey: "views.map", anyOf: ["read_cameras"], landingRank: 50, render: renderConsole },
  { id: "audit", titleKey: "views.audit", anyOf: ["read_audit"], landingRank: 10, render: renderAudit },
  { id: "health", titleKey: "views.health", anyOf: ["read_metrics", "handle_alerts"], landingRank: 60, render: renderHealth },
  { id: "users", titleKey: "views.users", anyOf: ["manage_users"], landingRank: 15, render: renderUsers },
  { id: "setup", titleKey: "views.setup", anyOf: ["manage_cameras", "manage_districts", "manage_rules", "manage_procedures", "manage_hotlists"], landingRank: 30, render: renderSetup },
  { id: "oversight", titleKey: "views.oversight", anyOf: ["manage_legal_holds", "grant_unmask"], landingRank: 20, render: renderOversight },
];

/** The views `me` may open, in the switcher's order. */
export function allowedViews(me: Me): ViewDef[] {
  const may = new Set(me.permissions ?? []);
  return VIEWS.filter((v) => v.anyOf.some((p) => may.has(p)));
}

/** The view to show: the one the address names if allowed, else the landing view. */
export function chooseView(me: Me, requested: string | null): ViewDef | null {
  const allowed = allowedViews(me);
  const named = allowed.find((v) => v.id === requested);
  if (named) return named;
  return [...allowed].sort((a, b) => a.landingRank - b.landingRank)[0] ?? null;
}
