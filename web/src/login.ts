// Login form, with the language chooser (the choice made here becomes the
// user's once they log in).

import { api, ApiError, errorText, type LoginResponse } from "./api";
import { h } from "./dom";
import { register, t } from "./i18n";
import { localeChooser } from "./localechooser";

register("login", {
  en: {
    "login.console": "Operator console",
    "login.terminal": "Officer terminal",
    "login.username": "Username",
    "login.password": "Password",
    "login.submit": "Log in",
    "login.submitting": "Logging in…",
    "login.enter_both": "Enter your username and password.",
    "login.wrong": "Wrong username or password. Check both and try again.",
    "login.page_title": "Citywatch — log in",
    "login.terminal_page_title": "Citywatch terminal — log in",
    "login.session_ended": "Your session has ended. Please log in again.",
    "login.logged_out": "You are logged out.",
    "login.cookie_lost": "Login succeeded but the browser did not keep the session cookie. Allow cookies for this site, or ask the administrator to check the server's cookie settings.",
    "login.unreachable": "Cannot reach Citywatch",
    "login.retry": "Retry",
  },
  "sr-Latn": {
    "login.console": "Operaterska konzola",
    "login.terminal": "Terminal policajca",
    "login.username": "Korisničko ime",
    "login.password": "Lozinka",
    "login.submit": "Prijava",
    "login.submitting": "Prijavljivanje…",
    "login.enter_both": "Unesite korisničko ime i lozinku.",
    "login.wrong": "Pogrešno korisničko ime ili lozinka. Proverite oba podatka i pokušajte ponovo.",
    "login.page_title": "Citywatch — prijava",
    "login.terminal_page_title": "Citywatch terminal — prijava",
    "login.session_ended": "Vaša sesija je istekla. Prijavite se ponovo.",
    "login.logged_out": "Odjavljeni ste.",
    "login.cookie_lost": "Prijava je uspela, ali pregledač nije sačuvao kolačić sesije. Dozvolite kolačiće za ovaj sajt ili zamolite administratora da proveri podešavanja kolačića na serveru.",
    "login.unreachable": "Citywatch nije dostupan",
    "login.retry": "Pokušaj ponovo",
  },
  "sr-Cyrl": {
    "login.page_title": "Citywatch — пријава",
    "login.terminal_page_title": "Citywatch терминал — пријава",
    "login.unreachable": "Citywatch није доступан",
  },
});

export function renderLogin(root: HTMLElement, onLoggedIn: (r: LoginResponse) => void, notice?: string, title = t("login.console")): void {
  // Drawn again in another language: what was typed stays.
  const typed = root.querySelector<HTMLInputElement>("#login-username")?.value ?? "";
  const username = h("input", {
    id: "login-username",
    name: "username",
    type: "text",
    autocomplete: "username",
    autocapitalize: "off",
    spellcheck: "false",
    required: true,
    value: typed || null,
    "data-testid": "login-username",
  });
  const password = h("input", {
    id: "login-password",
    name: "password",
    type: "password",
    autocomplete: "current-password",
    required: true,
    "data-testid": "login-password",
  });
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-block", "data-testid": "login-submit" }, t("login.submit"));
  const error = h("div", { class: "login-error", role: "alert", "data-testid": "login-error", hidden: true });
  const info = notice ? h("div", { class: "login-notice" }, notice) : null;

  const form = h(
    "form",
    { class: "login-card", novalidate: true, "aria-labelledby": "login-title" },
    h("div", { class: "brand brand-large" }, h("span", { class: "brand-mark", "aria-hidden": "true" }, "◉"), "Citywatch"),
    h("h1", { id: "login-title" }, title),
    info,
    h("label", { for: "login-username" }, t("login.username")),
    username,
    h("label", { for: "login-password" }, t("login.password")),
    password,
    error,
    submit,
    localeChooser(null),
  );

  const showError = (msg: string) => {
    error.textContent = msg;
    error.hidden = false;
  };

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const u = username.value.trim();
    const p = password.value;
    if (!u || !p) {
      showError(t("login.enter_both"));
      (u ? password : username).focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = t("login.submitting");
    error.hidden = true;
    try {
      const r = await api.login(u, p);
      onLoggedIn(r);
    } catch (e) {
      showError(e instanceof ApiError && e.status === 401 ? t("login.wrong") : errorText(e));
      password.value = "";
      password.focus();
    } finally {
      submit.disabled = false;
      submit.textContent = t("login.submit");
    }
  });

  root.replaceChildren(h("main", { class: "login-screen" }, form));
  (typed ? password : username).focus();
}
