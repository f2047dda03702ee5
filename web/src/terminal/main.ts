// The officer's terminal (served at /terminal): probe the session, then the
// login form or the terminal. A phone-sized page of the same build as the
// console, sharing its API client, login form, map and live player.

import "../style.css";
import "./terminal.css";
import { api, ApiError, errorText, setUnauthorizedHandler, type Me } from "../api";
import { renderLogin } from "../login";
import { h } from "../dom";
import { exposeCatalogues, initialLocale, onLocaleChange, register, setLocale, t, useUserLocale } from "../i18n";
import { localeChooser } from "../localechooser";
import { renderTerminal, type TerminalHandle } from "./terminal";

register("terminal_page", {
  en: { "terminal_page.title": "Citywatch terminal" },
  "sr-Latn": { "terminal_page.title": "Citywatch terminal" },
  "sr-Cyrl": { "terminal_page.title": "Citywatch терминал" },
});

exposeCatalogues();

const root = document.getElementById("app")!;
let current: TerminalHandle | null = null;
let shownMe: Me | null = null;
/** The login screen's notice, as a message key (it follows a change of language). */
let loginNotice: string | undefined;

function teardown(): void {
  current?.destroy();
  current = null;
}

function showLogin(noticeKey?: string): void {
  teardown();
  shownMe = null;
  loginNotice = noticeKey;
  setUnauthorizedHandler(null);
  document.title = t("login.terminal_page_title");
  renderLogin(root, () => void start(), noticeKey ? t(noticeKey) : undefined, t("login.terminal"));
}

function showTerminal(me: Me): void {
  teardown();
  shownMe = me;
  useUserLocale(me.username);
  document.title = t("terminal_page.title");
  setUnauthorizedHandler(() => showLogin("login.session_ended"));
  current = renderTerminal(root, me, () => showLogin("login.logged_out"));
}

// Another language: the terminal (or the login form) drawn again in it.
onLocaleChange(() => {
  if (shownMe) showTerminal(shownMe);
  else if (root.querySelector("#login-username")) showLogin(loginNotice);
  else void start();
});

async function start(): Promise<void> {
  try {
    showTerminal(await api.me());
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      showLogin();
      return;
    }
    teardown();
    const retry = h("button", { type: "button", class: "btn btn-primary btn-block" }, t("login.retry"));
    retry.addEventListener("click", () => void start());
    root.replaceChildren(
      h(
        "main",
        { class: "login-screen" },
        h("div", { class: "login-card" }, h("h1", {}, t("login.unreachable")), h("div", { class: "login-error", role: "alert" }, errorText(e)), retry, localeChooser(null)),
      ),
    );
  }
}

setLocale(initialLocale());
void start();
