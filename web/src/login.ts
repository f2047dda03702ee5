// Login form.

import { api, ApiError, type LoginResponse } from "./api";
import { h } from "./dom";

export function renderLogin(root: HTMLElement, onLoggedIn: (r: LoginResponse) => void, notice?: string, title = "Operator console"): void {
  const username = h("input", {
    id: "login-username",
    name: "username",
    type: "text",
    autocomplete: "username",
    autocapitalize: "off",
    spellcheck: "false",
    required: true,
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
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-block", "data-testid": "login-submit" }, "Log in");
  const error = h("div", { class: "login-error", role: "alert", "data-testid": "login-error", hidden: true });
  const info = notice ? h("div", { class: "login-notice" }, notice) : null;

  const form = h(
    "form",
    { class: "login-card", novalidate: true, "aria-labelledby": "login-title" },
    h("div", { class: "brand brand-large" }, h("span", { class: "brand-mark", "aria-hidden": "true" }, "◉"), "Citywatch"),
    h("h1", { id: "login-title" }, title),
    info,
    h("label", { for: "login-username" }, "Username"),
    username,
    h("label", { for: "login-password" }, "Password"),
    password,
    error,
    submit,
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
      showError("Enter your username and password.");
      (u ? password : username).focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = "Logging in…";
    error.hidden = true;
    try {
      const r = await api.login(u, p);
      onLoggedIn(r);
    } catch (e) {
      const msg =
        e instanceof ApiError
          ? e.status === 401
            ? e.message || "Wrong username or password."
            : e.message
          : String(e);
      showError(msg);
      password.value = "";
      password.focus();
    } finally {
      submit.disabled = false;
      submit.textContent = "Log in";
    }
  });

  root.replaceChildren(h("main", { class: "login-screen" }, form));
  username.focus();
}
