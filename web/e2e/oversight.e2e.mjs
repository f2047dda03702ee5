#!/usr/bin/env node
// End-to-end test of the supervisor's Oversight view in headless Chromium:
// `citywatch serve` on a fresh data directory; the admin makes a camera, a
// supervisor, an operator and an officer through the API; the supervisor
// closes an incident with its checklist undone (flagged) and lets the
// operator see faces on the camera, and the operator plays the camera back
// with a purpose and a case reference made up here. The supervisor then
// logs in and lands on Oversight (no error banner), is told a field's
// problem beside it, places a legal hold and releases it, grants an officer
// an unmask grant and revokes it, sees the operator's grant used, the
// flagged incident, and the operator's playback among the day's sensitive
// reads; the incident's link opens it on the map.
//
//   CITYWATCH_BIN=../target/debug/citywatch node e2e/oversight.e2e.mjs
//
// Env: CHROMIUM (default /usr/bin/chromium), E2E_HEADED=1 to watch, E2E_TIMEOUT_MS.

import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS, TIMEOUT, apiCall, apiLogin, assert, log, outDir, run, startServer, step } from "./harness.mjs";

const PASSWORD = "oversight-e2e-password-1";
const CAMERA = "cam-ov-1";
const LAT = 44.8125;
const LON = 20.4612;

async function main() {
  fs.mkdirSync(outDir, { recursive: true });
  const adminPassword = crypto.randomBytes(12).toString("base64url");
  const server = await startServer({ password: adminPassword, logName: "oversight-server.log" });
  const { base } = server;
  const tag = crypto.randomBytes(4).toString("hex");
  const playbackRef = `KU-PB-${tag}`;
  const holdRef = `KU-HOLD-${tag}`;
  const grantRef = `KU-GRANT-${tag}`;
  let incidentId = null;
  let browser = null;
  let page = null;
  try {
    await step("admin seeds a camera, a supervisor, an operator and an officer", async () => {
      const admin = await apiLogin(base, "admin", adminPassword);
      await apiCall(base, admin, "POST", "/api/v1/cameras", { id: CAMERA, name: "Oversight test camera", lat: LAT, lon: LON });
      for (const [username, role] of [["sup", "supervisor"], ["op", "operator"], ["off", "officer"]]) {
        await apiCall(base, admin, "POST", "/api/v1/users", { username, password: PASSWORD, grants: [{ role, districts: null }] });
      }
    });

    await step("the supervisor closes an incident with its checklist undone, and lets the operator see faces on the camera", async () => {
      const sup = await apiLogin(base, "sup", PASSWORD);
      await apiCall(base, sup, "PUT", "/api/v1/procedures/burglary", { steps: ["Call the reporter back", "Check the cameras nearby"] });
      const incident = await apiCall(base, sup, "POST", "/api/v1/incidents", { type: "burglary", priority: 2, lat: LAT, lon: LON, address: "Knez Mihailova 1" });
      incidentId = incident.id;
      const closed = await apiCall(base, sup, "POST", `/api/v1/incidents/${incidentId}/close`, { note: "closed in a hurry" });
      assert(closed.flagged === true, `the incident was not flagged: ${JSON.stringify(closed)}`);
      const expires = new Date(Date.now() + 2 * 3_600_000).toISOString();
      await apiCall(base, sup, "POST", "/api/v1/unmask-grants", { grantee: "op", camera_ids: [CAMERA], expires_at: expires, purpose: "identify a suspect", case_ref: playbackRef });
    });

    await step("the operator plays the camera back with a purpose and a case reference (audited under the grant)", async () => {
      const op = await apiLogin(base, "op", PASSWORD);
      const q = new URLSearchParams({ start: new Date(Date.now() - 120_000).toISOString(), end: new Date(Date.now() - 60_000).toISOString(), purpose: "checking a burglary report", case_ref: playbackRef });
      const r = await fetch(`${base}/api/v1/cameras/${CAMERA}/view.mp4?${q}`, { headers: { Authorization: `Bearer ${op}` } });
      await r.arrayBuffer();
      // Nothing is recorded on this camera, so the answer is an error; the
      // attempt is a read all the same, audited with its purpose.
      log(`       playback answered ${r.status}`);
      assert(r.status !== 403 && r.status !== 400, `the playback was refused before it was tried: ${r.status}`);
    });

    browser = await chromium.launch({ executablePath: CHROMIUM, headless: process.env.E2E_HEADED !== "1", args: CHROMIUM_ARGS });
    page = await (await browser.newContext({ viewport: { width: 1440, height: 1000 } })).newPage();
    page.setDefaultTimeout(TIMEOUT);
    const errors = [];
    page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
    const tid = (id) => page.locator(`[data-testid="${id}"]`);
    const banners = () => page.$$eval('[data-testid="error-banner"] .banner-text', (els) => els.map((e) => e.textContent));
    const sectionsSettled = () =>
      page.waitForFunction(() => {
        const st = Array.from(document.querySelectorAll('.ov-status[data-testid$="-status"]'));
        return st.length === 5 && st.every((s) => s.dataset.state === "done" || s.dataset.state === "error");
      });

    await step("the supervisor logs in and lands on Oversight with every section loaded and no error banner", async () => {
      await page.goto(`${base}/`);
      await tid("login-username").fill("sup");
      await tid("login-password").fill(PASSWORD);
      await tid("login-submit").click();
      await tid("oversight-view").waitFor({ state: "visible" });
      await sectionsSettled();
      assert(new URL(page.url()).hash === "#/oversight", `landed on ${page.url()}`);
      const failed = await page.$$eval('.ov-status[data-state="error"]', (els) => els.map((e) => `${e.dataset.testid}: ${e.textContent}`));
      assert(failed.length === 0, `sections failed to load: ${JSON.stringify(failed)}`);
      const shown = await banners();
      assert(shown.length === 0, `error banner shown: ${JSON.stringify(shown)}`);
      assert(errors.length === 0, `page errors: ${errors.join(" | ")}`);
    });

    await step("a hold whose end is before its start is refused with the reason beside the field", async () => {
      await tid("hold-camera").fill(CAMERA);
      await tid("hold-purpose").fill("evidence of a burglary");
      await tid("hold-case-ref").fill(holdRef);
      await tid("hold-start").fill("2026-01-02T10:00");
      await tid("hold-end").fill("2026-01-02T09:00");
      await tid("hold-submit").click();
      await page.waitForFunction(() => (document.querySelector('[data-testid="hold-end-error"]')?.textContent ?? "").length > 0);
      const reason = await tid("hold-end-error").textContent();
      assert(/after start/.test(reason), `end's reason: ${reason}`);
      assert((await page.locator(`[data-testid="hold-row"][data-case-ref="${holdRef}"]`).count()) === 0, "the refused hold was listed");
      assert((await banners()).length === 0, "a field's problem went to the error banner");
    });

    await step("the supervisor places a legal hold with purpose and case reference and sees it listed", async () => {
      await tid("hold-end").fill("2026-01-02T11:00");
      await tid("hold-submit").click();
      const row = page.locator(`[data-testid="hold-row"][data-case-ref="${holdRef}"]`);
      await row.waitFor({ state: "visible" });
      const text = await row.textContent();
      assert(text.includes(CAMERA) && text.includes("evidence of a burglary") && text.includes("sup"), `hold row: ${text}`);
      assert((await tid("hold-end-error").textContent()) === "", "the old field error stayed");
    });

    await step("and releases it", async () => {
      const row = page.locator(`[data-testid="hold-row"][data-case-ref="${holdRef}"]`);
      await row.locator('[data-testid="hold-release"]').click();
      await row.locator('[data-testid="hold-release"][data-armed="1"]').click();
      await row.waitFor({ state: "detached" });
    });

    await step("the supervisor grants the officer an unmask grant and revokes it", async () => {
      await tid("grant-grantee").fill("off");
      await tid("grant-cameras").fill(CAMERA);
      await tid("grant-purpose").fill("follow a suspect live");
      await tid("grant-case-ref").fill(grantRef);
      await tid("grant-submit").click();
      const row = page.locator('[data-testid="grant-row"][data-grantee="off"]');
      await row.waitFor({ state: "visible" });
      assert((await row.getAttribute("data-state")) === "active", `grant state ${await row.getAttribute("data-state")}`);
      assert((await row.textContent()).includes(grantRef), `grant row: ${await row.textContent()}`);
      await row.locator('[data-testid="grant-revoke"]').click();
      await row.locator('[data-testid="grant-revoke"][data-armed="1"]').click();
      await page.waitForFunction(() => document.querySelector('[data-testid="grant-row"][data-grantee="off"]')?.dataset.state === "revoked");
    });

    await step("the operator's grant shows it was used once", async () => {
      const row = page.locator('[data-testid="grant-row"][data-grantee="op"]');
      assert((await row.getAttribute("data-uses")) === "1", `uses ${await row.getAttribute("data-uses")}: ${await row.textContent()}`);
    });

    await step("the flagged incident is listed with its skipped steps", async () => {
      const row = page.locator(`[data-testid="flagged-row"][data-incident-id="${incidentId}"]`);
      await row.waitFor({ state: "visible" });
      const text = await row.textContent();
      assert(text.includes("burglary") && text.includes("Call the reporter back"), `flagged row: ${text}`);
    });

    await step("the operator's playback is among the day's sensitive reads, with its purpose and case reference", async () => {
      await tid("oversight-reads-refresh").click();
      const row = page.locator(`[data-testid="read-row"][data-kind="playback"][data-actor="op"][data-case-ref="${playbackRef}"]`);
      await row.waitFor({ state: "visible" });
      const text = await row.textContent();
      assert(text.includes("checking a burglary report") && text.includes(CAMERA), `read row: ${text}`);
      const shown = await banners();
      assert(shown.length === 0, `error banner shown: ${JSON.stringify(shown)}`);
      await page.screenshot({ path: path.join(outDir, "oversight.png"), fullPage: true });
    });

    await step("the flagged incident's link opens it on the map", async () => {
      await page.locator(`[data-testid="flagged-row"][data-incident-id="${incidentId}"] [data-testid="flagged-open-map"]`).click();
      await page.waitForFunction((id) => document.querySelector('[data-testid="incident-panel"]')?.dataset.incidentId === String(id), incidentId);
      assert(errors.length === 0, `page errors: ${errors.join(" | ")}`);
    });
  } catch (e) {
    await page?.screenshot({ path: path.join(outDir, "oversight-failure.png"), fullPage: true }).catch(() => undefined);
    throw e;
  } finally {
    await browser?.close();
    await server.stop();
  }
}

await run("oversight e2e: ", main);
