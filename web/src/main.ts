// Entry point: probe the session, then show the login form or the console.

import "./style.css";
import { api, ApiError, setUnauthorizedHandler, type Me } from "./api";
import { type ConsoleHandle } from "./console";
import { initialLocale, setLocale, t, useUserLocale } from "./i18n";
import { chooseView } from "./views";
import { renderLogin } from "./login";
import { h } from "./dom";

const root = document.getElementById("app")!;
let current: ConsoleHandle | null = null;

function teardown(): void {
  current?.destroy();
  current = null;
}

function showLogin(notice?: string): void {
  teardown();
  shownMe = null;
  setUnauthorizedHandler(null);
  document.title = "Citywatch — log in";
  renderLogin(root, () => void start(true), notice);
}

/** The view named by the address (`#/audit`), if any. */
function requestedView(): string | null {
  const m = /^#\/([\w-]+)/.exec(location.hash);
  return m ? m[1] : null;
}

let shownMe: Me | null = null;

/**
 * Shows the view the address asks for when the caller may open it, else the
 * caller's landing view (chosen from what `/me` says they may do), and keeps
 * the address in step so that reload and back return to it.
 */
function showConsole(me: Me): void {
  teardown();
  shownMe = me;
  useUserLocale(me.username);
  setUnauthorizedHandler(() => showLogin("Your session has ended. Please log in again."));
  const loggedOut = () => showLogin("You are logged out.");
  const view = chooseView(me, requestedView());
  if (!view) {
    document.title = "Citywatch";
    current = renderNoView(me, loggedOut);
    return;
  }
  if (requestedView() !== view.id) history.replaceState(null, "", `#/${view.id}`);
  document.title = `Citywatch — ${t(view.titleKey)}`;
  current = view.render(root, me, loggedOut);
}

window.addEventListener("hashchange", () => {
  if (shownMe && current) showConsole(shownMe);
});

/** A user whose grants open no view of this console: say so, and what to do. */
function renderNoView(me: Me, onLogout: () => void): ConsoleHandle {
  const logout = h("button", { type: "button", class: "btn btn-primary", "data-testid": "logout" }, "Log out");
  logout.addEventListener("click", () => void api.logout().catch(() => undefined).finally(onLogout));
  const why = me.grants.length
    ? "Your account's roles give you no view in this console."
    : "Your account holds no role (or its grants have expired).";
  root.replaceChildren(
    h(
      "main",
      { class: "login-screen" },
      h("div", { class: "login-card no-view", "data-testid": "no-view" }, h("h1", {}, `Logged in as ${me.username}`), h("p", {}, why, " Ask an administrator for the role your work needs."), logout),
    ),
  );
  return { destroy() {} };
}

async function start(afterLogin = false): Promise<void> {
  try {
    const me = await api.me();
    showConsole(me);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      showLogin(
        afterLogin
          ? "Login succeeded but the session cookie was not kept by the browser. Check the server's cookie settings."
          : undefined,
      );
    } else {
      teardown();
      const retry = h("button", { type: "button", class: "btn btn-primary" }, "Retry");
      retry.addEventListener("click", () => void start());
      root.replaceChildren(
        h(
          "main",
          { class: "login-screen" },
          h(
            "div",
            { class: "login-card" },
            h("h1", {}, "Cannot reach Citywatch"),
            h("div", { class: "login-error", role: "alert" }, e instanceof Error ? e.message : String(e)),
            retry,
          ),
        ),
      );
    }
  }
}

setLocale(initialLocale());
void start();
