// Entry point: probe the session, then show the login form or the console.

import "./style.css";
import { api, ApiError, errorText, setUnauthorizedHandler, type Me } from "./api";
import { type ConsoleHandle } from "./console";
import { exposeCatalogues, initialLocale, onLocaleChange, register, setLocale, t, useUserLocale } from "./i18n";
import { chooseView } from "./views";
import { renderLogin } from "./login";
import { h } from "./dom";
import { localeChooser } from "./localechooser";

register("main", {
  en: {
    "main.logged_in_as": "Logged in as {user}",
    "main.no_view_roles": "Your account's roles give you no view in this console.",
    "main.no_view_grants": "Your account holds no role (or its grants have expired).",
    "main.ask_admin": "Ask an administrator for the role your work needs.",
  },
  "sr-Latn": {
    "main.logged_in_as": "Prijavljeni ste kao {user}",
    "main.no_view_roles": "Uloge vašeg naloga ne otvaraju nijedan prikaz u ovoj konzoli.",
    "main.no_view_grants": "Vaš nalog nema nijednu ulogu (ili su ovlašćenja istekla).",
    "main.ask_admin": "Zatražite od administratora ulogu koja vam je potrebna za posao.",
  },
});

exposeCatalogues();

const root = document.getElementById("app")!;
let current: ConsoleHandle | null = null;

function teardown(): void {
  current?.destroy();
  current = null;
}

/** The login screen's notice, as a message key: drawn again in another language, it follows. */
let loginNotice: string | undefined;

function showLogin(noticeKey?: string): void {
  teardown();
  shownMe = null;
  loginNotice = noticeKey;
  setUnauthorizedHandler(null);
  document.title = t("login.page_title");
  renderLogin(root, () => void start(true), noticeKey ? t(noticeKey) : undefined);
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
  setUnauthorizedHandler(() => showLogin("login.session_ended"));
  const loggedOut = () => showLogin("login.logged_out");
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

// Another language: the same view (or the login form) drawn again in it.
onLocaleChange(() => {
  if (shownMe) showConsole(shownMe);
  else if (root.querySelector("#login-username")) {
    document.title = t("login.page_title");
    renderLogin(root, () => void start(true), loginNotice ? t(loginNotice) : undefined);
  } else void start(); // the "cannot reach" card: try again, in the new language
});

/** A user whose grants open no view of this console: say so, and what to do. */
function renderNoView(me: Me, onLogout: () => void): ConsoleHandle {
  const logout = h("button", { type: "button", class: "btn btn-primary", "data-testid": "logout" }, t("views.logout"));
  logout.addEventListener("click", () => void api.logout().catch(() => undefined).finally(onLogout));
  const why = me.grants.length ? t("main.no_view_roles") : t("main.no_view_grants");
  root.replaceChildren(
    h(
      "main",
      { class: "login-screen" },
      h(
        "div",
        { class: "login-card no-view", "data-testid": "no-view" },
        h("h1", {}, t("main.logged_in_as", { user: me.username })),
        h("p", {}, why, " ", t("main.ask_admin")),
        logout,
        localeChooser(me),
      ),
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
      showLogin(afterLogin ? "login.cookie_lost" : undefined);
    } else {
      teardown();
      const retry = h("button", { type: "button", class: "btn btn-primary" }, t("login.retry"));
      retry.addEventListener("click", () => void start());
      root.replaceChildren(
        h(
          "main",
          { class: "login-screen" },
          h(
            "div",
            { class: "login-card" },
            h("h1", {}, t("login.unreachable")),
            h("div", { class: "login-error", role: "alert" }, errorText(e)),
            retry,
            localeChooser(null),
          ),
        ),
      );
    }
  }
}

setLocale(initialLocale());
void start();
