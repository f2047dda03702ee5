#!/usr/bin/env node
// Each role lands on the view of its own work, with no error banner, in
// headless Chromium: `citywatch serve` on a fresh data directory; the admin
// makes one user per role through the API; each logs in at / and the test
// waits for the view it lands on. A role without access to the map is not
// sent to the map, and an account with no role is told what to do.
//
//   CITYWATCH_BIN=../target/debug/citywatch node e2e/landing.e2e.mjs
//
// Env: CHROMIUM (default /usr/bin/chromium), E2E_HEADED=1 to watch, E2E_TIMEOUT_MS.

import crypto from "node:crypto";
import fs from "node:fs";
import { chromium } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS, TIMEOUT, apiCall, apiLogin, assert, log, outDir, run, sleep, startServer, step } from "./harness.mjs";

const PASSWORD = "landing-e2e-password-1";

/**
 * [user, role (null: the first admin), the view it lands on (null: the
 * "no view" card), options]. `whenListed`: the view comes from another
 * branch; until the user's switcher lists it, only "no error banner" is checked.
 */
const LANDINGS = [
  ["aud", "auditor", "audit"],
  ["op", "operator", "map"],
  ["disp", "dispatcher", "map"],
  ["admin", null, "users", { whenListed: true }],
  ["sup", "supervisor", "oversight", { whenListed: true }],
  ["nobody", "", null],
];

async function main() {
  fs.mkdirSync(outDir, { recursive: true });
  const adminPassword = crypto.randomBytes(12).toString("base64url");
  const server = await startServer({ password: adminPassword, logName: "landing-server.log" });
  const { base } = server;
  let browser = null;
  try {
    await step("admin seeds a camera and one user per role (and one with none)", async () => {
      const admin = await apiLogin(base, "admin", adminPassword);
      await apiCall(base, admin, "POST", "/api/v1/cameras", { id: "cam-landing-1", name: "Landing test camera", lat: 44.8125, lon: 20.4612 });
      for (const [username, role] of LANDINGS) {
        if (role === null) continue;
        await apiCall(base, admin, "POST", "/api/v1/users", { username, password: PASSWORD, grants: role ? [{ role, districts: null }] : [] });
      }
    });

    browser = await chromium.launch({ executablePath: CHROMIUM, headless: process.env.E2E_HEADED !== "1", args: CHROMIUM_ARGS });
    for (const [username, role, landing, opts = {}] of LANDINGS) {
      const where = landing ? `#/${landing}${opts.whenListed ? " (once the switcher lists it)" : ""}` : "the no-view notice";
      await step(`${username} (${role === null ? "admin" : role || "no role"}) lands on ${where} with no error banner`, async () => {
        const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
        const page = await context.newPage();
        page.setDefaultTimeout(TIMEOUT);
        const errors = [];
        page.on("pageerror", (e) => errors.push(e.message));
        try {
          await page.goto(`${base}/`);
          await page.locator('[data-testid="login-username"]').fill(username);
          await page.locator('[data-testid="login-password"]').fill(role === null ? adminPassword : PASSWORD);
          await page.locator('[data-testid="login-submit"]').click();
          if (landing === null) {
            await page.locator('[data-testid="no-view"]').waitFor();
          } else {
            await page.locator('[data-testid="username"]').waitFor();
            const listed = await page.$$eval('a[data-testid^="nav-"]', (as) => as.map((a) => a.dataset.testid.slice(4)));
            const hash = await page.evaluate(() => location.hash);
            if (opts.whenListed && !listed.includes(landing)) {
              log(`       #/${landing} is not in ${username}'s switcher yet (views: ${listed.join(", ") || "none"}): landed on ${hash}`);
            } else {
              assert(hash === `#/${landing}`, `${username} landed on ${hash}, not #/${landing}`);
            }
            // A role without the map's permission is not sent to it.
            if (!listed.includes("map") && hash !== "#/map") assert((await page.locator('[data-testid="map"]').count()) === 0, "a map is shown to a role without access to it");
            if (hash === "#/map") await page.waitForSelector('body[data-map-ready="1"]', { timeout: Math.max(TIMEOUT, 45_000) });
          }
          // Errors come from loads that finish after the view is drawn.
          await sleep(1500);
          const banners = await page.$$eval('[data-testid="error-banner"] .banner-text', (els) => els.map((e) => e.textContent));
          assert(banners.length === 0, `error banner: ${banners.join(" | ")}`);
          assert(errors.length === 0, `page errors: ${errors.join(" | ")}`);
        } finally {
          await context.close();
        }
      });
    }
  } finally {
    await browser?.close();
    await server.stop();
  }
}

await run("landing e2e: ", main);
