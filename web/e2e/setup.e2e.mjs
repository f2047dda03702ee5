#!/usr/bin/env node
// End-to-end test of the administrator's Set-up view in headless Chromium:
// `citywatch serve` on a fresh data directory. The admin (who lands on
// Users) opens Set-up from the view switcher: no error banner; imports a camera CSV with two bad rows (a latitude out of
// range, a missing id) among good ones and sees both reported by line while
// the good rows join the list; adds a camera with the form; moves it by
// dragging its marker and saves (the API then has the new position); sets its
// retention; writes a procedure; imports a hotlist with a bad row; creates a
// rule with an invalid field, sees the API's error next to that field, fixes
// it and saves. A supervisor then opens #/setup and sees rules, procedures and
// hotlists but no cameras or districts.
//
//   CITYWATCH_BIN=../target/debug/citywatch node e2e/setup.e2e.mjs
//
// Env: CHROMIUM (default /usr/bin/chromium), E2E_HEADED=1 to watch, E2E_TIMEOUT_MS.

import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS, TIMEOUT, apiCall, apiLogin, assert, log, outDir, run, startServer, step } from "./harness.mjs";

const PASSWORD = "setup-e2e-password-1";

async function main() {
  fs.mkdirSync(outDir, { recursive: true });
  const adminPassword = crypto.randomBytes(12).toString("base64url");
  const server = await startServer({ password: adminPassword, logName: "setup-server.log" });
  const { base } = server;
  let browser = null;
  let page = null;
  try {
    const admin = await apiLogin(base, "admin", adminPassword);
    await step("the admin makes a supervisor through the API", async () => {
      await apiCall(base, admin, "POST", "/api/v1/users", { username: "sup", password: PASSWORD, grants: [{ role: "supervisor", districts: null }] });
    });

    browser = await chromium.launch({ executablePath: CHROMIUM, headless: process.env.E2E_HEADED !== "1", args: CHROMIUM_ARGS });
    page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
    page.setDefaultTimeout(TIMEOUT);
    const errors = [];
    page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
    const tid = (id) => page.locator(`[data-testid="${id}"]`);
    const banners = (p = page) => p.$$eval('[data-testid="error-banner"] .banner-text', (els) => els.map((e) => e.textContent));
    const login = async (p, user, password) => {
      await p.goto(`${base}/#/setup`);
      await p.locator('[data-testid="login-username"]').fill(user);
      await p.locator('[data-testid="login-password"]').fill(password);
      await p.locator('[data-testid="login-submit"]').click();
      await p.locator('[data-testid="setup-view"]').waitFor({ state: "visible" });
    };

    await step("the admin logs in, opens Set-up from the switcher, and sees every section and no error banner", async () => {
      await page.goto(`${base}/`);
      await tid("login-username").fill("admin");
      await tid("login-password").fill(adminPassword);
      await tid("login-submit").click();
      await tid("nav-setup").click();
      await tid("setup-view").waitFor({ state: "visible" });
      assert(new URL(page.url()).hash === "#/setup", `landed on ${page.url()}`);
      for (const s of ["cameras", "districts", "rules", "procedures", "hotlists"]) assert((await tid(`setup-tab-${s}`).count()) === 1, `no ${s} tab`);
      await page.waitForFunction(() => document.querySelector('[data-testid="setup-camera-map"]')?.dataset.ready === "1");
      const b = await banners();
      assert(b.length === 0, `error banner shown: ${JSON.stringify(b)}`);
    });

    await step("a CSV with a bad latitude and a missing id: both reported by line, the good rows listed", async () => {
      const csv = [
        "id,name,lat,lon,heading_deg,fov_deg,range_m",
        "e2e-a,Gate A,44.8125,20.4612,90,60,80",
        "e2e-bad,Bad latitude,95.5,20.4612,0,60,80",
        "e2e-b,Square B,44.8130,20.4620,180,90,60",
        ",No id,44.8135,20.4630,0,60,80",
        "e2e-c,Bridge C,44.8140,20.4640,270,360,40",
      ].join("\n");
      await tid("camera-import-file").setInputFiles({ name: "cameras.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
      await page.waitForFunction(() => document.querySelector('[data-testid="camera-import-summary"]')?.dataset.state === "done");
      const rows = await page.$$eval('[data-testid="camera-import-errors"] tbody tr', (trs) => trs.map((tr) => ({ line: tr.dataset.line, cells: Array.from(tr.children).map((td) => td.textContent.trim()) })));
      const byLine = Object.fromEntries(rows.map((r) => [r.line, r.cells]));
      assert(byLine["3"]?.[1] === "lat", `line 3 (bad latitude) not reported on lat: ${JSON.stringify(rows)}`);
      assert(byLine["5"]?.[1] === "id", `line 5 (missing id) not reported on id: ${JSON.stringify(rows)}`);
      assert(rows.length === 2, `expected 2 reported problems: ${JSON.stringify(rows)}`);
      log(`       ${(await tid("camera-import-summary").textContent()).trim()}`);
      for (const id of ["e2e-a", "e2e-b", "e2e-c"]) await page.locator(`[data-testid="setup-camera-item"][data-camera-id="${id}"]`).waitFor();
      assert((await page.locator('[data-testid="setup-camera-item"][data-camera-id="e2e-bad"]').count()) === 0, "the bad row was applied");
    });

    await step("the filter finds a camera by name", async () => {
      await tid("setup-camera-filter").fill("bridge");
      await page.waitForFunction(() => document.querySelector('[data-testid="setup-camera-count"]')?.dataset.count === "1");
      await tid("setup-camera-filter").fill("");
    });

    await step("a camera added with the form is stored", async () => {
      await tid("camera-add").click();
      await tid("camera-id").fill("e2e-new");
      await tid("camera-name").fill("Added in the browser");
      await tid("camera-lat").fill("44.8150");
      await tid("camera-lon").fill("20.4650");
      await tid("camera-heading").fill("45");
      await tid("camera-fov").fill("70");
      await tid("camera-range").fill("90");
      await tid("camera-main-url").fill("rtsp://viewer:e2e-secret@10.0.0.9/main");
      await tid("camera-save").click();
      await page.waitForFunction(() => document.querySelector('[data-testid="camera-form-status"]')?.dataset.saved === "e2e-new");
      const cam = await apiCall(base, admin, "GET", "/api/v1/cameras/e2e-new");
      assert(cam.name === "Added in the browser" && cam.lat === 44.815 && cam.heading_deg === 45, `stored ${JSON.stringify(cam)}`);
      assert(cam.main_url === "rtsp://10.0.0.9/main", `credentials shown back: ${cam.main_url}`);
      assert(!(await tid("camera-main-url").inputValue()).includes("e2e-secret"), "the form shows the credentials back");
    });

    await step("dragging the camera's marker moves it, and saving stores the new position", async () => {
      const marker = tid("camera-move-marker");
      await marker.waitFor({ state: "visible" });
      const box = await marker.boundingBox();
      const x = box.x + box.width / 2;
      const y = box.y + box.height / 2;
      await page.mouse.move(x, y);
      await page.mouse.down();
      for (let i = 1; i <= 10; i++) await page.mouse.move(x + 12 * i, y + 6 * i);
      await page.mouse.up();
      const lat = Number(await tid("camera-lat").inputValue());
      const lon = Number(await tid("camera-lon").inputValue());
      assert(lat < 44.815 && lon > 20.465, `the drag did not move the form's position: ${lat}, ${lon}`);
      await page.evaluate(() => delete document.querySelector('[data-testid="camera-form-status"]').dataset.saved);
      await tid("camera-save").click();
      await page.waitForFunction(() => document.querySelector('[data-testid="camera-form-status"]')?.dataset.saved === "e2e-new");
      const cam = await apiCall(base, admin, "GET", "/api/v1/cameras/e2e-new");
      assert(Math.abs(cam.lat - lat) < 1e-6 && Math.abs(cam.lon - lon) < 1e-6, `API has ${cam.lat}, ${cam.lon}; the marker was dropped at ${lat}, ${lon}`);
      log(`       moved to ${cam.lat}, ${cam.lon}`);
    });

    await step("the camera's retention is set", async () => {
      await tid("camera-retention").waitFor({ state: "visible" });
      await tid("retention-days").fill("14");
      await tid("retention-gb").fill("2");
      await tid("retention-save").click();
      await page.waitForFunction(() => document.querySelector('[data-testid="retention-status"]')?.dataset.saved !== undefined);
      const r = await apiCall(base, admin, "GET", "/api/v1/cameras/e2e-new/retention");
      assert(r.max_age_days === 14 && r.max_bytes === 2_000_000_000, `retention ${JSON.stringify(r)}`);
      await page.screenshot({ path: path.join(outDir, "setup-cameras.png") });
    });

    await step("a procedure's steps are written and saved", async () => {
      await tid("setup-tab-procedures").click();
      await tid("procedure-add").click();
      await tid("procedure-type").fill("fire");
      await tid("procedure-step").first().fill("Call the fire brigade");
      await tid("procedure-add-step").click();
      await tid("procedure-step").nth(1).fill("Close the street");
      await tid("procedure-save").click();
      await page.waitForFunction(() => document.querySelector('[data-testid="procedure-status"]')?.dataset.saved === "fire");
      const list = await apiCall(base, admin, "GET", "/api/v1/procedures");
      assert(JSON.stringify(list) === JSON.stringify([{ incident_type: "fire", steps: ["Call the fire brigade", "Close the street"] }]), `procedures ${JSON.stringify(list)}`);
    });

    await step("a hotlist import reports its bad row by line and lists the good entries", async () => {
      await tid("setup-tab-hotlists").click();
      await tid("hotlist-import-name").fill("stolen");
      const csv = "plate,reason,priority\nBG123AB,stolen car,7\nNS1X,stolen,11\nKG77TT,stolen van,5\n";
      await tid("hotlist-import-file").setInputFiles({ name: "stolen.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
      await page.waitForFunction(() => document.querySelector('[data-testid="hotlist-import-summary"]')?.dataset.state === "done");
      const lines = await page.$$eval('[data-testid="hotlist-import-errors"] tbody tr', (trs) => trs.map((tr) => tr.dataset.line));
      assert(JSON.stringify(lines) === JSON.stringify(["3"]), `reported lines ${JSON.stringify(lines)}`);
      await page.waitForFunction(() => document.querySelector('[data-testid="hotlist-entries"]')?.dataset.count === "2");
    });

    await step("a rule with an invalid field shows the API's error next to it; fixed, it saves", async () => {
      await tid("setup-tab-rules").click();
      await tid("rule-add").click();
      await tid("rule-name").fill("Motion at night");
      await tid("rule-type-motion").check();
      await tid("rule-window").fill("90000");
      await tid("rule-save").click();
      const err = tid("field-error-correlation_window_s");
      await err.waitFor({ state: "visible" });
      const text = (await err.textContent()).trim();
      assert(text.includes("86400"), `field error ${JSON.stringify(text)}`);
      assert((await apiCall(base, admin, "GET", "/api/v1/rules")).length === 0, "the refused rule was stored");
      await tid("rule-window").fill("60");
      await tid("rule-save").click();
      await page.waitForFunction(() => document.querySelector('[data-testid="rule-status"]')?.dataset.saved !== undefined);
      const rules = await apiCall(base, admin, "GET", "/api/v1/rules");
      assert(rules.length === 1 && rules[0].name === "Motion at night" && rules[0].correlation_window_s === 60, `rules ${JSON.stringify(rules)}`);
      await page.locator('[data-testid="rule-row"]').first().waitFor();
      const b = await banners();
      assert(b.length === 0, `error banner shown: ${JSON.stringify(b)}`);
      assert(errors.length === 0, `page errors: ${errors.join(" | ")}`);
      await page.screenshot({ path: path.join(outDir, "setup-admin.png") });
    });

    await step("a supervisor opening #/setup sees rules, procedures and hotlists, but no cameras or districts", async () => {
      const sup = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
      sup.setDefaultTimeout(TIMEOUT);
      await login(sup, "sup", PASSWORD);
      const tabs = await sup.$$eval('[data-testid^="setup-tab-"]', (els) => els.map((e) => e.dataset.testid.slice("setup-tab-".length)));
      assert(JSON.stringify(tabs) === JSON.stringify(["rules", "procedures", "hotlists"]), `supervisor's tabs ${JSON.stringify(tabs)}`);
      assert((await sup.locator('[data-testid="setup-cameras"]').count()) === 0, "the cameras section was built for a supervisor");
      await sup.locator('[data-testid="rule-row"]').first().waitFor();
      await sup.locator('[data-testid="setup-tab-procedures"]').click();
      await sup.locator('[data-testid="procedure-item"][data-type="fire"]').waitFor();
      const b = await banners(sup);
      assert(b.length === 0, `error banner shown to the supervisor: ${JSON.stringify(b)}`);
    });
  } catch (e) {
    await page?.screenshot({ path: path.join(outDir, "setup-failure.png") }).catch(() => {});
    throw e;
  } finally {
    await browser?.close();
    await server.stop();
  }
}

await run("setup e2e: ", main);
