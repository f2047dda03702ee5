// The console's header: the map tools' buttons, the tool's hint, the camera
// count, the wall button, the language, the user (with their grants) and logout.

import "./console-text";
import type { ConsoleContext } from "./console-context";
import { h } from "./dom";
import { fmtDateTime, t } from "./i18n";
import type { Me } from "./api";
import type { ToolName } from "./tools";
import { brand, localeChooser, logoutButton, viewNav } from "./topbar";

const TOOL_LABELS: Record<ToolName, { label: string; key: string; icon: string }> = {
  point: { label: "console.tool_point", key: "1", icon: "M12 2v5M12 17v5M2 12h5M17 12h5M12 9a3 3 0 1 1 0 6a3 3 0 1 1 0-6" },
  circle: { label: "console.tool_circle", key: "2", icon: "M12 3a9 9 0 1 1 0 18a9 9 0 1 1 0-18M12 12h9" },
  polygon: { label: "console.tool_polygon", key: "3", icon: "M4 9L12 3L20 8L17 20L6 18Z" },
};

export interface ConsoleHeader {
  el: HTMLElement;
  /** Shows which tool is active. */
  setTool(tool: ToolName): void;
  /** What to click next, for the active tool. */
  setHint(text: string): void;
  setCameraCount(n: number): void;
}

export function consoleHeader(ctx: ConsoleContext, wallBtn: HTMLButtonElement, onTool: (tool: ToolName) => void, onLogout: () => void): ConsoleHeader {
  const toolButtons = {} as Record<ToolName, HTMLButtonElement>;
  const toolbar = h("div", { class: "toolbar", role: "toolbar", "aria-label": t("console.map_tools") });
  for (const tool of Object.keys(TOOL_LABELS) as ToolName[]) {
    const { key, icon } = TOOL_LABELS[tool];
    const label = t(TOOL_LABELS[tool].label);
    const b = h(
      "button",
      {
        type: "button",
        class: "tool-btn",
        "data-testid": `tool-${tool}`,
        "aria-pressed": tool === "point" ? "true" : "false",
        title: t("console.tool_title", { tool: label, key }),
      },
      toolIcon(icon),
      label,
      h("kbd", {}, key),
    );
    b.addEventListener("click", () => onTool(tool));
    toolButtons[tool] = b;
    toolbar.appendChild(b);
  }
  const hint = h("div", { class: "hint", "aria-live": "polite" });
  const countEl = h("span", { "data-testid": "camera-count" });
  const { me } = ctx;
  const el = h(
    "header",
    { class: "topbar" },
    brand(),
    viewNav(me, "map"),
    toolbar,
    hint,
    h("div", { class: "spacer" }),
    h("div", { class: "header-stat", title: t("console.cameras_on_map") }, countEl, t("console.cameras")),
    wallBtn,
    localeChooser(me),
    h("div", { class: "user", "data-testid": "username", title: grantsSummary(me) }, h("span", { class: "user-icon", "aria-hidden": "true" }, "●"), me.username),
    logoutButton(onLogout),
  );
  return {
    el,
    setTool(tool) {
      for (const [name, b] of Object.entries(toolButtons)) b.setAttribute("aria-pressed", String(name === tool));
    },
    setHint(text) {
      hint.textContent = text;
    },
    setCameraCount(n) {
      countEl.textContent = String(n);
    },
  };
}

function toolIcon(d: string): SVGSVGElement {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", "tool-icon");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", d);
  path.setAttribute("fill", "none");
  path.setAttribute("stroke", "currentColor");
  path.setAttribute("stroke-width", "2");
  path.setAttribute("stroke-linejoin", "round");
  path.setAttribute("stroke-linecap", "round");
  svg.appendChild(path);
  return svg;
}

/** The user's grants, one a line (the user badge's tooltip). */
function grantsSummary(me: Me): string {
  if (!me.grants?.length) return me.username;
  return me.grants
    .map((g) => {
      const where = g.districts === null ? t("console.all_districts") : g.districts.join(", ");
      return g.expires_at ? t("console.grant_until", { role: g.role, where, until: fmtDateTime(g.expires_at) }) : t("console.grant", { role: g.role, where });
    })
    .join("\n");
}
