// Message catalogues and the user's locale.
//
// Every string a person reads goes through `t(key)`. Each screen registers
// its own catalogue (English and Serbian in Latin script) next to its code,
// so screens can be added without touching a shared file. The Cyrillic
// catalogue is derived from the Latin one: Serbian's two scripts map letter
// for letter (lj, nj, dž are single Cyrillic letters), which is how Serbian
// publishers keep both editions in step. A screen may still give a Cyrillic
// text of its own where the derivation would be wrong (a Latin acronym
// inside a sentence, say).
//
// The chosen locale is kept per user in the browser (`localStorage`), and
// dates and numbers are formatted with `Intl` in that locale.

export type Locale = "en" | "sr-Latn" | "sr-Cyrl";

export const LOCALES: { id: Locale; name: string }[] = [
  { id: "en", name: "English" },
  { id: "sr-Latn", name: "Srpski (latinica)" },
  { id: "sr-Cyrl", name: "Српски (ћирилица)" },
];

/** One screen's strings: keys to texts, `{name}` marks a parameter. */
export type Messages = Record<string, string>;

export interface Catalogue {
  en: Messages;
  "sr-Latn": Messages;
  /** Only the texts whose derivation from Latin would be wrong. */
  "sr-Cyrl"?: Messages;
}

const catalogues = new Map<string, Catalogue>();
const texts: Record<Locale, Map<string, string>> = { en: new Map(), "sr-Latn": new Map(), "sr-Cyrl": new Map() };

/** Registers a screen's catalogue; keys must start with `module.` so screens cannot collide. */
export function register(module: string, catalogue: Catalogue): void {
  if (catalogues.has(module)) return; // a module evaluated twice (hot reload)
  catalogues.set(module, catalogue);
  for (const [key, text] of Object.entries(catalogue.en)) {
    if (!key.startsWith(`${module}.`)) throw new Error(`message key ${key} is outside its module ${module}`);
    texts.en.set(key, text);
  }
  for (const [key, text] of Object.entries(catalogue["sr-Latn"])) {
    texts["sr-Latn"].set(key, text.replace(/`([^`]*)`/g, "$1"));
    texts["sr-Cyrl"].set(key, catalogue["sr-Cyrl"]?.[key] ?? latinToCyrillic(text));
  }
  for (const [key, text] of Object.entries(catalogue["sr-Cyrl"] ?? {})) texts["sr-Cyrl"].set(key, text);
}

/** The keys each locale lacks, against English: the completeness check. */
export function missingKeys(): Record<Exclude<Locale, "en">, string[]> {
  const lacks = (l: Locale) => [...texts.en.keys()].filter((k) => !texts[l].has(k)).sort();
  return { "sr-Latn": lacks("sr-Latn"), "sr-Cyrl": lacks("sr-Cyrl") };
}

/** Every text of every catalogue, per key: what the completeness check compares. */
export function allTexts(): { key: string; en: string; "sr-Latn": string | undefined; "sr-Cyrl": string | undefined }[] {
  return [...texts.en.entries()].map(([key, en]) => ({ key, en, "sr-Latn": texts["sr-Latn"].get(key), "sr-Cyrl": texts["sr-Cyrl"].get(key) }));
}

declare global {
  interface Window {
    /** Read-only views of the catalogues, for the completeness check (e2e/i18n.e2e.mjs). */
    citywatchI18n?: { missingKeys: typeof missingKeys; allTexts: typeof allTexts };
  }
}

/** Lets the browser test read the catalogues (what is missing, which texts are English). */
export function exposeCatalogues(): void {
  window.citywatchI18n = { missingKeys, allTexts };
}

let current: Locale = "en";
/** A choice made before anyone logged in (on the login screen): it becomes the user's once they log in. */
let chosenBeforeLogin = false;
const listeners = new Set<(l: Locale) => void>();

/** Calls `fn` after each change of locale made by the user (to draw the page again); returns the unsubscribe. */
export function onLocaleChange(fn: (l: Locale) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** The user picked a language: set it, remember it (for `username`, if known) and redraw. */
export function chooseLocale(l: Locale, username?: string): void {
  if (!username) chosenBeforeLogin = true;
  setLocale(l, username);
  for (const fn of [...listeners]) fn(l);
}

export function locale(): Locale {
  return current;
}

/** The BCP 47 tag for `Intl` (Serbia's conventions for the Serbian locales). */
export function intlTag(l: Locale = current): string {
  return l === "en" ? "en-GB" : l === "sr-Latn" ? "sr-Latn-RS" : "sr-Cyrl-RS";
}

function storageKey(username: string): string {
  return `citywatch.locale.${username}`;
}

function isLocale(v: unknown): v is Locale {
  return v === "en" || v === "sr-Latn" || v === "sr-Cyrl";
}

/** The locale before anyone logs in: the last one chosen in this browser, or the browser's language. */
export function initialLocale(): Locale {
  try {
    const last = localStorage.getItem("citywatch.locale");
    if (isLocale(last)) return last;
  } catch {
    // storage may be off (private mode): fall through
  }
  const nav = (navigator.language || "en").toLowerCase();
  if (nav.startsWith("sr")) return nav.includes("latn") ? "sr-Latn" : "sr-Cyrl";
  return "en";
}

/** Applies a user's saved choice (or keeps the current locale). */
export function useUserLocale(username: string): Locale {
  if (chosenBeforeLogin) {
    // Chosen on the login screen just now: that is the user's choice.
    chosenBeforeLogin = false;
    setLocale(current, username);
    return current;
  }
  try {
    const saved = localStorage.getItem(storageKey(username));
    if (isLocale(saved)) setLocale(saved);
  } catch {
    // no storage: the current locale stays
  }
  return current;
}

/** Sets the locale; with a user, remembers it for that user. */
export function setLocale(l: Locale, username?: string): void {
  current = l;
  document.documentElement.lang = l;
  try {
    localStorage.setItem("citywatch.locale", l);
    if (username) localStorage.setItem(storageKey(username), l);
  } catch {
    // no storage: the choice lasts for this page only
  }
}

/** The text of `key` in the current locale (English if the locale lacks it), with `{name}` parameters filled in. */
export function t(key: string, params?: Record<string, string | number>): string {
  const text = texts[current].get(key) ?? texts.en.get(key);
  if (text === undefined) {
    console.error(`missing message ${key}`);
    return key;
  }
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (m, name: string) => {
    const v = params[name];
    if (v === undefined) return m;
    return typeof v === "number" ? fmtNumber(v) : v;
  });
}

export function fmtNumber(n: number, opts?: Intl.NumberFormatOptions): string {
  return new Intl.NumberFormat(intlTag(), opts).format(n);
}

export function fmtDateTime(d: Date | string, opts?: Intl.DateTimeFormatOptions): string {
  const date = typeof d === "string" ? new Date(d) : d;
  if (Number.isNaN(date.getTime())) return String(d);
  return new Intl.DateTimeFormat(intlTag(), opts ?? { dateStyle: "short", timeStyle: "medium" }).format(date);
}

// ---- Serbian Latin → Cyrillic

const DIGRAPHS: [string, string][] = [
  ["Lj", "Љ"], ["LJ", "Љ"], ["lj", "љ"],
  ["Nj", "Њ"], ["NJ", "Њ"], ["nj", "њ"],
  ["Dž", "Џ"], ["DŽ", "Џ"], ["dž", "џ"],
];
const LETTERS: Record<string, string> = {
  A: "А", B: "Б", V: "В", G: "Г", D: "Д", Đ: "Ђ", E: "Е", Ž: "Ж", Z: "З", I: "И", J: "Ј", K: "К", L: "Л", M: "М",
  N: "Н", O: "О", P: "П", R: "Р", S: "С", T: "Т", Ć: "Ћ", U: "У", F: "Ф", H: "Х", C: "Ц", Č: "Ч", Š: "Ш",
  a: "а", b: "б", v: "в", g: "г", d: "д", đ: "ђ", e: "е", ž: "ж", z: "з", i: "и", j: "ј", k: "к", l: "л", m: "м",
  n: "н", o: "о", p: "п", r: "р", s: "с", t: "т", ć: "ћ", u: "у", f: "ф", h: "х", c: "ц", č: "ч", š: "ш",
};

/**
 * Transliterates Serbian Latin text. Left in Latin: `{parameters}`, words
 * written all in capitals of two or more letters (acronyms such as CSV,
 * MQTT, JSON), anything in backticks (codes, e.g. `KU-2026-114`, quoted
 * without the backticks), and the letters q, w, x, y that Serbian lacks.
 */
export function latinToCyrillic(text: string): string {
  return text.replace(/\{\w+\}|`[^`]*`|\b[A-ZČĆŠŽĐ]{2,}\b|[^{`]+?(?=\{\w+\}|`|\b[A-ZČĆŠŽĐ]{2,}\b|$)/gu, (part) => {
    if (part.startsWith("{")) return part;
    if (part.startsWith("`")) return part.slice(1, -1);
    if (/^[A-ZČĆŠŽĐ]{2,}$/u.test(part)) return part;
    let out = part;
    for (const [lat, cyr] of DIGRAPHS) out = out.split(lat).join(cyr);
    return [...out].map((c) => LETTERS[c] ?? c).join("");
  });
}
