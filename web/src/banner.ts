// Visible, dismissable error banner (stacked messages, newest last), and
// the one rule every view follows for which caught errors a person sees.

import { ApiError, errorText } from "./api";
import { h } from "./dom";
import { register, t } from "./i18n";

register("banner", {
  en: { "banner.dismiss": "Dismiss error", "banner.dismiss_hint": "Dismiss (Esc)" },
  "sr-Latn": { "banner.dismiss": "Zatvori poruku o grešci", "banner.dismiss_hint": "Zatvori (`Esc`)" },
});

const MAX = 4;

export class Banner {
  readonly el: HTMLElement;
  private closed = false;

  constructor() {
    this.el = h("div", { class: "banner-stack", "aria-live": "assertive", "data-testid": "error-banner" });
  }

  error(message: string): void {
    // Collapse repeats of the same message.
    for (const item of Array.from(this.el.children)) {
      if (item.getAttribute("data-message") === message) {
        const count = Number(item.getAttribute("data-count") ?? "1") + 1;
        item.setAttribute("data-count", String(count));
        const badge = item.querySelector(".banner-count");
        if (badge) badge.textContent = `×${count}`;
        return;
      }
    }
    const close = h("button", { class: "banner-close", type: "button", "aria-label": t("banner.dismiss"), title: t("banner.dismiss_hint") }, "×");
    const item = h(
      "div",
      { class: "banner", role: "alert", "data-message": message, "data-count": 1 },
      h("span", { class: "banner-icon", "aria-hidden": "true" }, "!"),
      h("span", { class: "banner-text" }, message),
      h("span", { class: "banner-count" }),
      close,
    );
    close.addEventListener("click", () => item.remove());
    this.el.appendChild(item);
    while (this.el.children.length > MAX) this.el.firstElementChild?.remove();
  }

  /**
   * Shows a caught error in words (`errorText`), unless nobody should see it:
   * the view is gone (`close`), the request was aborted on purpose, or the
   * session ended (a 401 is handled globally: back to the login screen).
   * An arrow property so a view can pass it as a callback.
   */
  readonly reportError = (e: unknown): void => {
    if (this.closed) return;
    if (e instanceof DOMException && e.name === "AbortError") return;
    if (e instanceof ApiError && e.status === 401) return;
    this.error(errorText(e));
  };

  /** The view is being destroyed: requests still in flight report nothing. */
  close(): void {
    this.closed = true;
  }

  /** Dismiss the newest message; true if there was one. */
  dismissLatest(): boolean {
    const last = this.el.lastElementChild;
    if (!last) return false;
    last.remove();
    return true;
  }

  clear(): void {
    this.el.replaceChildren();
  }
}
