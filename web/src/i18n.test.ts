// The Serbian Cyrillic derivation, message parameters and locale formatting.

import { afterEach, beforeAll, describe, expect, test, vi } from "vitest";
import { fmtDateTime, fmtNumber, latinToCyrillic, register, setLocale, t } from "./i18n";

beforeAll(() => {
  // `setLocale` marks the page's language; the tests run without a page.
  vi.stubGlobal("document", { documentElement: { lang: "" } });
  register("i18ntest", {
    en: { "i18ntest.hello": "Hello {name}, {n} cameras", "i18ntest.only_en": "English only" },
    "sr-Latn": { "i18ntest.hello": "Zdravo {name}, kamera: {n} (`KU-1`)" },
  });
});

afterEach(() => setLocale("en"));

describe("latinToCyrillic", () => {
  test("maps letter for letter", () => {
    expect(latinToCyrillic("Beograd")).toBe("Београд");
    expect(latinToCyrillic("Čačak, Šabac, Đakovica, Ćuprija, Žabalj")).toBe("Чачак, Шабац, Ђаковица, Ћуприја, Жабаљ");
  });

  test("lj, nj and dž are one letter each, whatever their case", () => {
    expect(latinToCyrillic("Ljubljana")).toBe("Љубљана");
    expect(latinToCyrillic("Njegoš")).toBe("Његош");
    expect(latinToCyrillic("džep Džep")).toBe("џеп Џеп");
  });

  test("leaves parameters, backticked codes (without the backticks) and acronyms in Latin", () => {
    expect(latinToCyrillic("Uvoz {file} nije uspeo")).toBe("Увоз {file} није успео");
    expect(latinToCyrillic("Predmet `KU-2026-114` je otvoren")).toBe("Предмет KU-2026-114 је отворен");
    expect(latinToCyrillic("CSV datoteka preko MQTT veze")).toBe("CSV датотека преко MQTT везе");
  });

  test("keeps the letters Serbian lacks, digits and punctuation", () => {
    expect(latinToCyrillic("x, y: 42!")).toBe("x, y: 42!");
  });
});

describe("t", () => {
  test("fills parameters, numbers in the locale's way", () => {
    expect(t("i18ntest.hello", { name: "Ana", n: 1234 })).toBe("Hello Ana, 1,234 cameras");
    setLocale("sr-Latn");
    expect(t("i18ntest.hello", { name: "Ana", n: 1234 })).toBe("Zdravo Ana, kamera: 1.234 (KU-1)");
  });

  test("derives the Cyrillic text from the Latin", () => {
    setLocale("sr-Cyrl");
    expect(t("i18ntest.hello", { name: "Ana", n: 3 })).toBe("Здраво Ana, камера: 3 (KU-1)");
  });

  test("a parameter not given stays as its placeholder", () => {
    expect(t("i18ntest.hello", { name: "Ana" })).toBe("Hello Ana, {n} cameras");
  });

  test("falls back to English for a text a locale lacks, and to the key for an unknown one", () => {
    setLocale("sr-Latn");
    expect(t("i18ntest.only_en")).toBe("English only");
    const err = vi.spyOn(console, "error").mockImplementation(() => undefined);
    expect(t("i18ntest.nope")).toBe("i18ntest.nope");
    expect(err).toHaveBeenCalledWith("missing message i18ntest.nope");
    err.mockRestore();
  });

  test("a catalogue's keys must carry its module's name", () => {
    expect(() => register("i18nbad", { en: { "other.key": "x" }, "sr-Latn": {} })).toThrow(/outside its module i18nbad/);
  });
});

describe("formatting", () => {
  test("numbers with Serbia's separators in Serbian, Britain's in English", () => {
    expect(fmtNumber(1234567.5)).toBe("1,234,567.5");
    setLocale("sr-Latn");
    expect(fmtNumber(1234567.5)).toBe("1.234.567,5");
  });

  test("dates day first, in the given time zone", () => {
    const at = "2026-03-05T14:07:09Z";
    expect(fmtDateTime(at, { dateStyle: "short", timeStyle: "short", timeZone: "UTC" })).toBe("05/03/2026, 14:07");
    setLocale("sr-Latn");
    expect(fmtDateTime(at, { dateStyle: "short", timeStyle: "short", timeZone: "UTC" })).toMatch(/^5\. ?3\. ?2026\.? 14:07$/);
  });

  test("a date that cannot be read is shown as it came", () => {
    expect(fmtDateTime("not a date")).toBe("not a date");
  });
});
