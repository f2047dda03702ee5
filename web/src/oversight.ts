// The supervisor's Oversight view: legal holds, unmask grants (and who
// used them), covert hotlists, incidents closed with skipped steps and the
// day's sensitive reads in their districts, as stacked sections. Each
// section is shown for the permission that opens its API, and each keeps
// its own loading and refusal line; the banner is for failed actions.

import "./oversight.css";
import type { Me } from "./api";
import { Banner } from "./banner";
import { h } from "./dom";
import { register, t } from "./i18n";
import { holdsSection } from "./oversight-holds";
import { hotlistsSection } from "./oversight-hotlists";
import { incidentsSection } from "./oversight-incidents";
import { may, type Section, type SectionContext } from "./oversight-kit";
import { readsSection } from "./oversight-reads";
import { unmaskSection } from "./oversight-unmask";
import { viewHeader } from "./topbar";

register("oversight", {
  en: {
    "oversight.title": "Oversight",
    "oversight.sections": "Sections",
    "oversight.nothing": "Your account may open none of the oversight lists.",
  },
  "sr-Latn": {
    "oversight.title": "Nadzor",
    "oversight.sections": "Odeljci",
    "oversight.nothing": "Vaš nalog ne može da otvori nijedan spisak nadzora.",
  },
});

export interface OversightHandle {
  destroy(): void;
}

/** The sections in order, each with the permission that opens it. */
const SECTIONS: { permission: string; make: (ctx: SectionContext) => Section }[] = [
  { permission: "oversee_sensitive_reads", make: readsSection },
  { permission: "manage_legal_holds", make: holdsSection },
  { permission: "read_unmask_grants", make: unmaskSection },
  { permission: "read_dispatch", make: incidentsSection },
  { permission: "manage_covert_hotlists", make: hotlistsSection },
];

export function renderOversight(root: HTMLElement, me: Me, onLogout: () => void): OversightHandle {
  const banner = new Banner();
  let destroyed = false;
  const ctx: SectionContext = {
    me,
    destroyed: () => destroyed,
    reportError: banner.reportError,
  };

  const header = viewHeader(me, "oversight", t("oversight.title"), onLogout);

  const sections = SECTIONS.filter((s) => may(me, s.permission)).map((s) => s.make(ctx));
  // Jump links: the sections are long lists stacked on one page.
  const jump = h(
    "nav",
    { class: "ov-jump", "aria-label": t("oversight.sections") },
    sections.map((s) => {
      const title = s.el.querySelector("h2")?.textContent ?? "";
      const link = h("a", { href: `#/oversight`, class: "ov-jump-link" }, title);
      // The address stays the view's: a fragment of its own would switch views.
      link.addEventListener("click", (ev) => {
        ev.preventDefault();
        s.el.scrollIntoView({ behavior: "smooth", block: "start" });
      });
      return link;
    }),
  );
  const main = h(
    "main",
    { class: "ov-view", "data-testid": "oversight-view" },
    sections.length > 1 ? jump : null,
    sections.length ? sections.map((s) => s.el) : h("p", { class: "ov-muted" }, t("oversight.nothing")),
  );
  root.replaceChildren(h("div", { class: "app" }, header, h("div", { class: "ov-workspace" }, banner.el, main)));

  const onKey = (ev: KeyboardEvent) => {
    if (ev.key === "Escape") banner.dismissLatest();
  };
  document.addEventListener("keydown", onKey);
  for (const s of sections) void s.refresh();

  return {
    destroy() {
      destroyed = true;
      banner.close();
      document.removeEventListener("keydown", onKey);
      for (const s of sections) s.destroy?.();
    },
  };
}
