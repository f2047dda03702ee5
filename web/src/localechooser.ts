// The language chooser of every top bar, the terminal and the login screen
// (a module of its own so that the terminal and the login form need not pull
// in the console's views).

import type { Me } from "./api";
import { h } from "./dom";
import { chooseLocale, locale, LOCALES, register, t, type Locale } from "./i18n";

register("locale", {
  en: { "locale.label": "Language" },
  "sr-Latn": { "locale.label": "Jezik" },
});

/**
 * English, Serbian in Latin or in Cyrillic script. The choice is kept for
 * `me` (or, on the login screen, for whoever logs in next), and the page is
 * drawn again in it (see `onLocaleChange` in i18n.ts).
 */
export function localeChooser(me?: Me | null): HTMLSelectElement {
  const select = h(
    "select",
    { class: "locale-chooser", "data-testid": "locale-chooser", "aria-label": t("locale.label"), title: t("locale.label") },
    LOCALES.map((l) => h("option", { value: l.id, lang: l.id, selected: l.id === locale() }, l.name)),
  );
  select.addEventListener("change", () => chooseLocale(select.value as Locale, me?.username));
  return select;
}
