// Pieces every view's top bar shares: the brand and the logout button.
import { api, ApiError } from "./api";
import { h } from "./dom";

export function brand(): HTMLElement {
  return h("div", { class: "brand" }, h("span", { class: "brand-mark", "aria-hidden": "true" }, "◉"), "Citywatch");
}

/// Logs out (a session already gone is not an error) and then calls `onLogout`.
export function logoutButton(onLogout: () => void): HTMLButtonElement {
  const button = h("button", { type: "button", class: "btn btn-header", "data-testid": "logout" }, "Log out");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await api.logout();
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 401)) console.warn("logout failed", e);
    }
    onLogout();
  });
  return button;
}
