// Pieces every view's top bar shares: the brand, the view switcher, the
// language chooser and the logout button.
import { api, ApiError, type Me } from "./api";
import { h } from "./dom";
import { register, t } from "./i18n";
import { allowedViews } from "./views";

import { localeChooser } from "./localechooser";
export { localeChooser };

register("views", {
  en: {
    "views.map": "Map",
    "views.audit": "Audit log",
    "views.health": "Health",
    "views.users": "Users",
    "views.setup": "Set-up",
    "views.oversight": "Oversight",
    "views.terminal": "Terminal",
    "views.terminal_hint": "The officer's terminal (phone layout)",
    "views.switcher": "Views",
    "views.logout": "Log out",
  },
  "sr-Latn": {
    "views.map": "Mapa",
    "views.audit": "Revizorski dnevnik",
    "views.health": "Stanje sistema",
    "views.users": "Korisnici",
    "views.setup": "Podešavanja",
    "views.oversight": "Nadzor",
    "views.terminal": "Terminal",
    "views.terminal_hint": "Terminal policajca (za telefon)",
    "views.switcher": "Prikazi",
    "views.logout": "Odjava",
  },
});

export function brand(): HTMLElement {
  return h("div", { class: "brand" }, h("span", { class: "brand-mark", "aria-hidden": "true" }, "◉"), "Citywatch");
}

/**
 * Links to the views the caller may open (`#/id`), the current one marked;
 * and the officer's terminal, a page of its own, for those who report a
 * unit's status. Nothing when there is nowhere else to go.
 */
export function viewNav(me: Me, currentId: string): HTMLElement | null {
  const links: HTMLElement[] = allowedViews(me).map((v) =>
    h("a", { class: v.id === currentId ? "view-link current" : "view-link", href: `#/${v.id}`, "data-testid": `nav-${v.id}`, "aria-current": v.id === currentId ? "page" : null }, t(v.titleKey)),
  );
  if ((me.permissions ?? []).includes("report_status")) {
    links.push(h("a", { class: "view-link", href: "/terminal", "data-testid": "open-terminal", title: t("views.terminal_hint") }, t("views.terminal")));
  }
  if (links.length < 2) return null;
  return h("nav", { class: "view-nav", "aria-label": t("views.switcher") }, links);
}

/// Logs out (a session already gone is not an error) and then calls `onLogout`.
export function logoutButton(onLogout: () => void): HTMLButtonElement {
  const button = h("button", { type: "button", class: "btn btn-header", "data-testid": "logout" }, t("views.logout"));
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await api.logout();
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 401)) console.warn("logout failed", e);
    }
    onLogout();
  });
  return button;
}

/**
 * The top bar of a view other than the map: brand, view switcher, the
 * view's title, the language chooser, the user and logout.
 */
export function viewHeader(me: Me, viewId: string, title: string, onLogout: () => void): HTMLElement {
  return h(
    "header",
    { class: "topbar" },
    brand(),
    viewNav(me, viewId),
    h("div", { class: "view-title" }, title),
    h("div", { class: "spacer" }),
    localeChooser(me),
    h("div", { class: "user", "data-testid": "username" }, h("span", { class: "user-icon", "aria-hidden": "true" }, "●"), me.username),
    logoutButton(onLogout),
  );
}
