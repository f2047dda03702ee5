#!/usr/bin/env node
// The catalogue completeness check, in headless Chromium: `citywatch serve` on
// a fresh data directory; the admin makes a camera, a unit and one user of
// each role through the API. For Serbian in Latin and in Cyrillic script,
// each role opens the login page (English until chosen), picks the language
// there, logs in and visits every view its switcher lists (the officer: the
// terminal at /terminal). On each page:
//   (a) no catalogue lacks a key (i18n's missingKeys(), both Serbian scripts);
//   (b) no text node, placeholder, title or aria-label, nor the page title, is
//       an English catalogue text that reads differently in the chosen
//       language (texts from data, such as camera and user names, are not in
//       a catalogue and so pass);
// and the choice is remembered for the user (a reload keeps it). An operator
// also switches from English to Serbian in the top bar: the view is drawn
// again in Serbian. Before the browser, a unit check of the Latin → Cyrillic
// transliteration (i18n.ts compiled with the project's TypeScript).
//
//   CITYWATCH_BIN=../target/debug/citywatch node e2e/i18n.e2e.mjs
//
// Env: CHROMIUM (default /usr/bin/chromium), E2E_HEADED=1 to watch, E2E_TIMEOUT_MS.

import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import ts from "typescript";
import { CHROMIUM, CHROMIUM_ARGS, TIMEOUT, apiCall, apiLogin, assert, log, outDir, run, startServer, step, webDir } from "./harness.mjs";

const PASSWORD = "i18n-e2e-password-1";
const LOCALES = ["sr-Latn", "sr-Cyrl"];
/** One user per role; the officer works at the terminal. */
const USERS = [
  { username: "admin" },
  { username: "sup", role: "supervisor" },
  { username: "op", role: "operator" },
  { username: "disp", role: "dispatcher" },
  { username: "aud", role: "auditor" },
  { username: "officer1", role: "officer", terminal: true },
];

/** i18n.ts as a module Node can import: types stripped by the project's own TypeScript. */
async function loadI18n() {
  const src = fs.readFileSync(path.join(webDir, "src/i18n.ts"), "utf8");
  const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
  return import(`data:text/javascript;base64,${Buffer.from(js).toString("base64")}`);
}

/**
 * Runs in the page: what the catalogues lack, and every English catalogue
 * text (differing from `locale`'s) that the page shows.
 */
function catalogueCheck(locale) {
  const I = window.citywatchI18n;
  if (!I) return { error: "window.citywatchI18n is not there" };
  const norm = (s) => s.replace(/\s+/g, " ").trim();
  const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const matchers = [];
  for (const e of I.allTexts()) {
    const en = norm(e.en);
    if (!en || en === norm(e[locale] ?? "")) continue;
    // Only texts with words of their own ("{n} m" is a number and a unit).
    if (!/[A-Za-z]{2}/.test(en.replace(/\{\w+\}/g, ""))) continue;
    matchers.push({ key: e.key, re: new RegExp(`^${en.split(/\{\w+\}/).map(escape).join(".+?")}$`) });
  }
  const found = [];
  const check = (text, where) => {
    const s = norm(text ?? "");
    if (!s) return;
    for (const m of matchers) if (m.re.test(s)) found.push(`${where} ${JSON.stringify(s)} is English (${m.key})`);
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const tag = n.parentElement?.tagName;
    if (tag === "SCRIPT" || tag === "STYLE") continue;
    check(n.nodeValue, `<${tag?.toLowerCase()}> text`);
  }
  for (const el of document.body.querySelectorAll("[placeholder], [title], [aria-label]")) {
    for (const a of ["placeholder", "title", "aria-label"]) if (el.hasAttribute(a)) check(el.getAttribute(a), `<${el.tagName.toLowerCase()} ${a}>`);
  }
  check(document.title, "the page title");
  const banners = Array.from(document.querySelectorAll('[data-testid="error-banner"] .banner-text'), (b) => b.textContent);
  return { missing: I.missingKeys(), found: [...new Set(found)], matchers: matchers.length, lang: document.documentElement.lang, banners };
}

async function main() {
  fs.mkdirSync(outDir, { recursive: true });

  await step("Latin → Cyrillic: Ljubljana → Љубљана, džep → џеп, acronyms and codes stay Latin", async () => {
    const { latinToCyrillic } = await loadI18n();
    const cases = [
      ["Ljubljana", "Љубљана"],
      ["džep", "џеп"],
      ["Njegoš i Đorđe", "Његош и Ђорђе"],
      ["Izvoz CSV", "Извоз CSV"],
      ["Broj `KU-2026-114` za {user}", "Број KU-2026-114 за {user}"],
      ["Pritisnite `Esc`", "Притисните Esc"],
    ];
    for (const [latin, want] of cases) {
      const got = latinToCyrillic(latin);
      assert(got === want, `latinToCyrillic(${JSON.stringify(latin)}) = ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
    }
  });

  const adminPassword = crypto.randomBytes(12).toString("base64url");
  const server = await startServer({ password: adminPassword, logName: "i18n-server.log" });
  const { base } = server;
  let browser = null;
  const passwordOf = (u) => (u === "admin" ? adminPassword : PASSWORD);
  try {
    await step("admin seeds a camera, a unit crewed by the officer and one user per role", async () => {
      const admin = await apiLogin(base, "admin", adminPassword);
      await apiCall(base, admin, "POST", "/api/v1/cameras", { id: "cam-i18n-1", name: "Kamera Terazije", lat: 44.8125, lon: 20.4612 });
      for (const u of USERS.filter((u) => u.role)) {
        await apiCall(base, admin, "POST", "/api/v1/users", { username: u.username, password: PASSWORD, grants: [{ role: u.role, districts: null }] });
      }
      await apiCall(base, admin, "POST", "/api/v1/units", { id: "i18n-1", call_sign: "Vračar 1", kind: "car", officers: ["officer1"], capabilities: [] });
    });

    browser = await chromium.launch({ executablePath: CHROMIUM, headless: process.env.E2E_HEADED !== "1", args: CHROMIUM_ARGS });
    const errors = [];

    /** The page drawn and its data loaded: what the completeness check needs to see. */
    const settle = async (page, view) => {
      if (view === "terminal") {
        await page.waitForSelector('[data-testid="terminal-incident"][data-state="none"]');
        await page.waitForSelector('[data-testid="unit-status"]');
      } else if (view === "map") {
        await page.waitForSelector('body[data-map-ready="1"]', { timeout: Math.max(TIMEOUT, 45_000) });
        // Open what the map view holds behind clicks: a camera's details and the video wall.
        const item = page.locator('[data-testid="camera-list-item"]').first();
        if (await item.count()) {
          await item.click();
          await page.waitForSelector('[data-testid="camera-details"]:not([hidden])');
        }
        const wall = page.locator('[data-testid="wall-toggle"]');
        if (await wall.isVisible()) await wall.click();
      } else if (view === "audit") {
        await page.waitForFunction(() => document.querySelector('[data-testid="audit-summary"]')?.dataset.count !== undefined && document.querySelector('[data-testid="audit-chain"]')?.dataset.state !== "checking");
      }
      // Panels that load on their own (incidents, alerts, a view added later).
      await page.waitForTimeout(1000);
    };

    const expectSerbian = async (page, locale, where) => {
      const r = await page.evaluate(catalogueCheck, locale);
      assert(!r.error, `${where}: ${r.error}`);
      assert(r.lang === locale, `${where}: the page is in ${r.lang}, not ${locale}`);
      assert(r.missing["sr-Latn"].length === 0 && r.missing["sr-Cyrl"].length === 0, `${where}: the catalogues lack ${JSON.stringify(r.missing)}`);
      assert(r.found.length === 0, `${where}: English on a ${locale} page: ${r.found.slice(0, 12).join("; ")}${r.banners.length ? `; banners: ${r.banners.join(" | ")}` : ""}`);
      assert(r.matchers > 100, `${where}: only ${r.matchers} English texts to look for: are the catalogues registered?`);
      return r;
    };

    const newPage = async (viewport = { width: 1440, height: 900 }) => {
      const page = await (await browser.newContext({ viewport })).newPage();
      page.setDefaultTimeout(TIMEOUT);
      page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
      return page;
    };

    const login = async (page, username) => {
      await page.locator('[data-testid="login-username"]').fill(username);
      await page.locator('[data-testid="login-password"]').fill(passwordOf(username));
      await page.locator('[data-testid="login-submit"]').click();
    };

    for (const locale of LOCALES) {
      for (const user of USERS) {
        await step(`${locale}: ${user.username}${user.role ? ` (${user.role})` : ""} chooses the language at login; every view shows no English and no key is missing`, async () => {
          const page = await newPage(user.terminal ? { width: 412, height: 860 } : undefined);
          try {
            await page.goto(`${base}${user.terminal ? "/terminal" : "/"}`);
            await page.locator('[data-testid="login-username"]').waitFor();
            assert((await page.evaluate(() => document.documentElement.lang)) === "en", "the login page starts in English");
            await page.locator('[data-testid="locale-chooser"]').selectOption(locale);
            await page.waitForFunction((l) => document.documentElement.lang === l, locale);
            await expectSerbian(page, locale, "the login page");
            await login(page, user.username);
            let views;
            let listed = [];
            if (user.terminal) {
              await page.locator('[data-testid="terminal"]').waitFor();
              views = ["terminal"];
            } else {
              await page.locator('[data-testid="username"]').waitFor();
              listed = await page.$$eval('nav.view-nav a[data-testid^="nav-"]', (as) => as.map((a) => a.dataset.testid.slice(4)));
              const landed = /^#\/([\w-]+)/.exec(await page.evaluate(() => location.hash))?.[1];
              views = listed.length ? listed : [landed];
            }
            const seen = [];
            for (const view of views) {
              if (listed.length) {
                await page.locator(`[data-testid="nav-${view}"]`).click();
                await page.waitForFunction((v) => location.hash === `#/${v}` && document.querySelector('[data-testid="username"]'), view);
              }
              await settle(page, view);
              const r = await expectSerbian(page, locale, `${user.username} on ${view}`);
              seen.push(`${view} (${r.matchers} texts checked)`);
            }
            // Remembered for the user: a reload keeps the language.
            await page.reload();
            await page.waitForSelector(user.terminal ? '[data-testid="terminal"]' : '[data-testid="username"]');
            const lang = await page.evaluate(() => document.documentElement.lang);
            assert(lang === locale, `after a reload the page is in ${lang}, not ${locale}`);
            log(`       ${seen.join(", ")}`);
            if (locale === "sr-Cyrl" && user.username === "disp") await page.screenshot({ path: path.join(outDir, "i18n-cyrillic.png") });
          } finally {
            await page.context().close();
          }
        });
      }
    }

    await step("an operator switches from English to Serbian in the top bar: the view is drawn again in Serbian, and stays so", async () => {
      const page = await newPage();
      try {
        await page.goto(`${base}/`);
        await page.locator('[data-testid="login-username"]').waitFor();
        await login(page, "op");
        await page.locator('[data-testid="username"]').waitFor();
        await settle(page, "map");
        const before = await page.locator('[data-testid="tool-point"]').textContent();
        assert(before?.includes("Point"), `the console starts in English: ${before}`);
        // The check itself sees English where there is English.
        const english = await page.evaluate(catalogueCheck, "sr-Latn");
        assert(english.found.length > 20, `the check finds only ${english.found.length} English texts on the English console`);
        await page.locator('header [data-testid="locale-chooser"]').selectOption("sr-Latn");
        await page.waitForFunction(() => document.documentElement.lang === "sr-Latn" && document.querySelector('[data-testid="tool-point"]')?.textContent?.includes("Tačka"));
        await settle(page, "map");
        await expectSerbian(page, "sr-Latn", "op after switching");
        const saved = await page.evaluate(() => localStorage.getItem("citywatch.locale.op"));
        assert(saved === "sr-Latn", `the choice is kept for op: ${saved}`);
      } finally {
        await page.context().close();
      }
    });

    await step("no page errors", async () => assert(errors.length === 0, `page errors: ${errors.slice(0, 5).join(" | ")}`));
  } finally {
    await browser?.close();
    await server.stop();
  }
}

await run("i18n e2e: ", main);
