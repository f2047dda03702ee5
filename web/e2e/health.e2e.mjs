#!/usr/bin/env node
// End-to-end test of the health wall in headless Chromium: `citywatch serve`
// on a fresh data directory recording a real RTSP camera (GStreamer, from
// the harness) and holding one camera it does not record. An operator opens
// #/health with no error banner; the recorded camera shows online and the
// unrecorded one "not recorded"; the test stops the camera's RTSP server and
// the wall lists it offline, first, within 10 s; clicking it opens it on
// the map.
//
//   CITYWATCH_BIN=../target/debug/citywatch node e2e/health.e2e.mjs
//
// Env: CHROMIUM (default /usr/bin/chromium), E2E_HEADED=1 to watch, E2E_TIMEOUT_MS.

import crypto from "node:crypto";
import fs from "node:fs";
import { chromium } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS, TIMEOUT, apiCall, apiLogin, assert, log, outDir, run, sleep, startCamera, startServer, step } from "./harness.mjs";

const PASSWORD = crypto.randomBytes(12).toString("base64url");
const LIVE = { id: "hw-live", name: "Health wall camera", lat: 44.8125, lon: 20.4612, heading_deg: 90, fov_deg: 70, range_m: 60 };
const PLAIN = { id: "hw-plain", name: "Unrecorded camera", lat: 44.8131, lon: 20.4625 };

async function main() {
  fs.mkdirSync(outDir, { recursive: true });
  const cleanup = [];
  let browser = null;
  try {
    const camera = await startCamera();
    let cameraRunning = true;
    cleanup.push(() => (cameraRunning ? camera.stop() : undefined));
    const server = await startServer({ password: PASSWORD, logName: "health-server.log" });
    cleanup.push(server.stop);
    const { base } = server;
    log(`health e2e against ${base}, camera ${camera.url}`);

    let op = "";
    await step("set up: a recorded camera on the RTSP source, an unrecorded one, an operator", async () => {
      const admin = await apiLogin(base, "admin", PASSWORD);
      await apiCall(base, admin, "POST", "/api/v1/cameras", { ...LIVE, main_url: camera.url });
      await apiCall(base, admin, "POST", "/api/v1/cameras", PLAIN);
      await apiCall(base, admin, "POST", "/api/v1/users", { username: "op", password: PASSWORD, grants: [{ role: "operator" }] });
      op = await apiLogin(base, "op", PASSWORD);
    });

    await step("the recorder connects: the overview says online", async () => {
      const deadline = Date.now() + 30_000;
      let last = null;
      while (Date.now() < deadline) {
        last = await apiCall(base, op, "GET", "/api/v1/health/overview");
        if (last.cameras.find((c) => c.id === LIVE.id)?.state === "online") return;
        await sleep(500);
      }
      throw new Error(`the camera did not come online within 30 s: ${JSON.stringify(last?.cameras)}`);
    });

    browser = await chromium.launch({ executablePath: CHROMIUM, headless: process.env.E2E_HEADED !== "1", args: CHROMIUM_ARGS });
    const page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
    page.setDefaultTimeout(TIMEOUT);
    const errors = [];
    page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
    const tid = (id) => page.locator(`[data-testid="${id}"]`);
    const rowState = (id) => page.locator(`[data-testid="health-row"][data-camera-id="${id}"]`).getAttribute("data-state");
    const banners = () => page.$$eval('[data-testid="error-banner"] .banner-text', (els) => els.map((e) => e.textContent));

    await step("the operator opens #/health: tiles and rows, no error banner", async () => {
      await page.goto(`${base}/`);
      await tid("login-username").fill("op");
      await tid("login-password").fill(PASSWORD);
      await tid("login-submit").click();
      await tid("username").waitFor({ state: "visible" });
      await page.goto(`${base}/#/health`);
      await tid("health-view").waitFor({ state: "visible" });
      await page.locator(`[data-testid="health-row"][data-camera-id="${LIVE.id}"]`).waitFor({ state: "attached" });
      assert((await tid("nav-health").getAttribute("aria-current")) === "page", "the switcher does not mark the health view");
      const b = await banners();
      assert(b.length === 0, `error banner shown: ${JSON.stringify(b)}`);
      assert(errors.length === 0, `page errors: ${errors.join(" | ")}`);
    });

    await step("the recording camera shows online, the unrecorded one not recorded", async () => {
      assert((await rowState(LIVE.id)) === "online", `state ${await rowState(LIVE.id)}`);
      assert((await rowState(PLAIN.id)) === "not_recorded", `state ${await rowState(PLAIN.id)}`);
      const online = (await tid("health-tile-online-value").textContent())?.trim();
      assert(online === "1", `online tile shows ${online}`);
      log(`       ${(await tid("health-updated").textContent())?.trim()}`);
    });

    await step("the camera is stopped: the wall lists it offline, first, within 10 s", async () => {
      const t0 = Date.now();
      await camera.stop();
      cameraRunning = false;
      await page.waitForFunction((id) => document.querySelector(`[data-testid="health-row"][data-camera-id="${id}"]`)?.dataset.state === "offline", LIVE.id, { timeout: 10_000 });
      const took = (Date.now() - t0) / 1000;
      log(`       offline on the wall after ${took.toFixed(1)} s`);
      const first = await page.locator('[data-testid="health-row"]').first().getAttribute("data-camera-id");
      assert(first === LIVE.id, `the first row is ${first}, not the offline camera`);
      const offline = (await tid("health-tile-offline-value").textContent())?.trim();
      assert(offline === "1", `offline tile shows ${offline}`);
      const b = await banners();
      assert(b.length === 0, `error banner shown: ${JSON.stringify(b)}`);
    });

    await step("clicking the camera opens it on the map", async () => {
      await page.locator(`[data-testid="health-row"][data-camera-id="${LIVE.id}"] [data-testid="health-camera-link"]`).click();
      await tid("map").waitFor({ state: "visible" });
      assert(new URL(page.url()).hash === `#/map?camera=${LIVE.id}`, `address ${page.url()}`);
      await page.waitForFunction((id) => {
        const d = document.querySelector('[data-testid="camera-details"]');
        return d && !d.hidden && d.dataset.cameraId === id;
      }, LIVE.id);
      const b = await banners();
      assert(b.length === 0, `error banner shown: ${JSON.stringify(b)}`);
      assert(errors.length === 0, `page errors: ${errors.join(" | ")}`);
    });
  } finally {
    await browser?.close();
    for (const c of cleanup.reverse()) await c();
  }
}

await run("health e2e: ", main);
