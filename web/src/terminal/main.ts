// The officer's terminal (served at /terminal): probe the session, then the
// login form or the terminal. A phone-sized page of the same build as the
// console, sharing its API client, login form, map and live player.

import "../style.css";
import "./terminal.css";
import { api, ApiError, setUnauthorizedHandler } from "../api";
import { renderLogin } from "../login";
import { h } from "../dom";
import { renderTerminal, type TerminalHandle } from "./terminal";

const root = document.getElementById("app")!;
let current: TerminalHandle | null = null;

function teardown(): void {
  current?.destroy();
  current = null;
}

function showLogin(notice?: string): void {
  teardown();
  setUnauthorizedHandler(null);
  document.title = "Citywatch terminal — log in";
  renderLogin(root, () => void start(), notice, "Officer terminal");
}

async function start(): Promise<void> {
  try {
    const me = await api.me();
    teardown();
    document.title = "Citywatch terminal";
    setUnauthorizedHandler(() => showLogin("Your session has ended. Please log in again."));
    current = renderTerminal(root, me, () => showLogin("You are logged out."));
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      showLogin();
      return;
    }
    teardown();
    const retry = h("button", { type: "button", class: "btn btn-primary btn-block" }, "Retry");
    retry.addEventListener("click", () => void start());
    root.replaceChildren(
      h("main", { class: "login-screen" }, h("div", { class: "login-card" }, h("h1", {}, "Cannot reach Citywatch"), h("div", { class: "login-error", role: "alert" }, e instanceof Error ? e.message : String(e)), retry)),
    );
  }
}

void start();
