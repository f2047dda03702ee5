// The administrator's Set-up view: cameras, districts, alert rules,
// procedures and hotlists, one tab each. A tab shows only when /me's
// permissions hold the one its section needs (a supervisor sees rules,
// procedures and hotlists; an administrator all five). A section is built
// the first time its tab is opened, so a map loads only when asked for.

import "./setup.css";
import type { Me, Permission } from "./api";
import { Banner } from "./banner";
import { h } from "./dom";
import { register, t } from "./i18n";
import { viewHeader } from "./topbar";
import type { Section, SectionContext } from "./setup-form";
import { createCamerasSection } from "./setup-cameras";
import { createDistrictsSection } from "./setup-districts";
import { createRulesSection } from "./setup-rules";
import { createProceduresSection } from "./setup-procedures";
import { createHotlistsSection } from "./setup-hotlists";

register("setup", {
  en: {
    "setup.title": "Set-up",
    "setup.sections": "Set-up sections",
    "setup.cameras": "Cameras",
    "setup.districts": "Districts",
    "setup.rules": "Alert rules",
    "setup.procedures": "Procedures",
    "setup.hotlists": "Hotlists",
  },
  "sr-Latn": {
    "setup.title": "Podešavanja",
    "setup.sections": "Delovi podešavanja",
    "setup.cameras": "Kamere",
    "setup.districts": "Reoni",
    "setup.rules": "Pravila za uzbune",
    "setup.procedures": "Procedure",
    "setup.hotlists": "Liste traženih tablica",
  },
});

interface SectionDef {
  id: string;
  titleKey: string;
  needs: Permission;
  create(ctx: SectionContext): Section;
}

const SECTIONS: SectionDef[] = [
  { id: "cameras", titleKey: "setup.cameras", needs: "manage_cameras", create: createCamerasSection },
  { id: "districts", titleKey: "setup.districts", needs: "manage_districts", create: createDistrictsSection },
  { id: "rules", titleKey: "setup.rules", needs: "manage_rules", create: createRulesSection },
  { id: "procedures", titleKey: "setup.procedures", needs: "manage_procedures", create: createProceduresSection },
  { id: "hotlists", titleKey: "setup.hotlists", needs: "manage_hotlists", create: createHotlistsSection },
];

const LAST_TAB = "citywatch.setup.tab";

export function renderSetup(root: HTMLElement, me: Me, onLogout: () => void): { destroy(): void } {
  const banner = new Banner();
  const ctx: SectionContext = {
    report: banner.reportError,
  };

  const header = viewHeader(me, "setup", t("setup.title"), onLogout);

  const may = new Set(me.permissions ?? []);
  const allowed = SECTIONS.filter((s) => may.has(s.needs));
  const built = new Map<string, Section>();
  const tabs = new Map<string, HTMLButtonElement>();
  const body = h("div", { class: "setup-body" });

  function open(id: string) {
    const def = allowed.find((s) => s.id === id) ?? allowed[0];
    if (!def) return;
    for (const [tid, tab] of tabs) {
      const current = tid === def.id;
      tab.classList.toggle("current", current);
      tab.setAttribute("aria-selected", String(current));
    }
    let section = built.get(def.id);
    if (!section) {
      section = def.create(ctx);
      section.el.dataset.testid = `setup-${def.id}`;
      section.el.setAttribute("role", "tabpanel");
      built.set(def.id, section);
      body.appendChild(section.el);
    }
    for (const [sid, s] of built) s.el.hidden = sid !== def.id;
    section.shown();
    try {
      sessionStorage.setItem(LAST_TAB, def.id);
    } catch {
      // no storage: the first tab opens next time
    }
  }

  const tabBar = h(
    "nav",
    { class: "setup-tabs", role: "tablist", "aria-label": t("setup.sections") },
    allowed.map((s) => {
      const tab = h("button", { type: "button", class: "setup-tab", role: "tab", "data-testid": `setup-tab-${s.id}` }, t(s.titleKey));
      tab.addEventListener("click", () => open(s.id));
      tabs.set(s.id, tab);
      return tab;
    }),
  );

  root.replaceChildren(h("div", { class: "app" }, header, h("div", { class: "setup-workspace", "data-testid": "setup-view" }, banner.el, tabBar, body)));

  const onKey = (ev: KeyboardEvent) => {
    if (ev.key === "Escape" && !(ev.target instanceof HTMLInputElement)) banner.dismissLatest();
  };
  document.addEventListener("keydown", onKey);

  let last: string | null = null;
  try {
    last = sessionStorage.getItem(LAST_TAB);
  } catch {
    // no storage
  }
  open(last ?? allowed[0]?.id ?? "");

  return {
    destroy() {
      banner.close();
      document.removeEventListener("keydown", onKey);
      for (const s of built.values()) s.destroy();
    },
  };
}
