// Entry point: probe the session, then show the login form or the console.

import "./style.css";
import { api, ApiError, setUnauthorizedHandler, type Me } from "./api";
import { renderConsole, type ConsoleHandle } from "./console";
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
  setUnauthorizedHandler(null);
  document.title = "Citywatch — log in";
  renderLogin(root, () => void start(true), notice);
}

function showConsole(me: Me): void {
  teardown();
  document.title = "Citywatch console";
  setUnauthorizedHandler(() => showLogin("Your session has ended. Please log in again."));
  current = renderConsole(root, me, () => showLogin("You are logged out."));
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

void start();
