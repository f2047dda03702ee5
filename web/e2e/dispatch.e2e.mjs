#!/usr/bin/env node
// End-to-end test of dispatch in headless Chromium with two browser contexts,
// a dispatcher at the console and an officer at the terminal (/terminal).
//
// Real peers: GStreamer's RTSP server as the camera and `citywatch serve`
// (started as in video.e2e.mjs, see harness.mjs). Seeded through the API by
// the admin: the camera, a dispatcher and an officer, a unit crewed by the
// officer whose GPS device reports a fix (OsmAnd protocol) a few hundred
// metres from the camera, and an alert rule for motion on that camera. Then:
//   - an event is raised on the camera → the dispatcher's alert queue shows
//     the alert (pushed over /api/v1/alerts/stream) with a map marker;
//   - "Cameras that see this" opens the camera on the wall;
//   - "Create incident" → the incident panel recommends the unit → Assign;
//   - the officer's terminal shows the incident and the live video of the
//     camera that sees it plays (currentTime advances);
//   - the officer reports "en route" → the unit's marker on the dispatcher's
//     map and the incident's timeline follow;
//   - the terminal reported the browser's geolocation (POST /api/v1/me/position):
//     the unit's position is the one the browser was given.
// Env: CHROMIUM, E2E_HEADED=1, E2E_TIMEOUT_MS, CITYWATCH_BIN.

import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS, TIMEOUT, apiCall, apiLogin, assert, log, offset, outDir, recordFailure, run, startCamera, startServer, step, videoAdvances } from "./harness.mjs";

const PASSWORD = crypto.randomBytes(12).toString("base64url");
const CAMERA = { id: "gst", name: "GStreamer test camera", lat: 44.8125, lon: 20.4612, heading_deg: 90, fov_deg: 70, range_m: 60 };
/** Where the motion is: inside the camera's field of view. */
const [EVENT_LON, EVENT_LAT] = offset(CAMERA.lon, CAMERA.lat, CAMERA.heading_deg, CAMERA.range_m * 0.5);
/** The unit's GPS fix before the incident: 400 m west of it. */
const [UNIT_LON, UNIT_LAT] = offset(EVENT_LON, EVENT_LAT, 270, 400);
/** Where the officer's browser says it is: 250 m west of the incident. */
const [BROWSER_LON, BROWSER_LAT] = offset(EVENT_LON, EVENT_LAT, 270, 250);
const UNIT = { id: "adam-12", call_sign: "Adam 12", kind: "car", officers: ["off"], capabilities: [] };

async function main() {
  fs.mkdirSync(outDir, { recursive: true });
  const cleanup = [];
  let browser = null;
  try {
    const camera = await startCamera();
    cleanup.push(camera.stop);
    const server = await startServer({ password: PASSWORD, logName: "dispatch-server.log" });
    cleanup.push(server.stop);
    const base = server.base;
    log(`dispatch e2e against ${base}, camera ${camera.url}`);
    const admin = await apiLogin(base, "admin", PASSWORD);

    await step("set up: camera, dispatcher, officer, a located unit crewed by the officer, a motion rule", async () => {
      await apiCall(base, admin, "POST", "/api/v1/cameras", { ...CAMERA, main_url: camera.url });
      await apiCall(base, admin, "POST", "/api/v1/users", { username: "disp", password: PASSWORD, grants: [{ role: "dispatcher" }] });
      await apiCall(base, admin, "POST", "/api/v1/users", { username: "off", password: PASSWORD, grants: [{ role: "officer" }] });
      await apiCall(base, admin, "POST", "/api/v1/units", UNIT);
      const dev = await apiCall(base, admin, "POST", `/api/v1/units/${UNIT.id}/devices`, { device_id: "adam-12-gps" });
      const ts = Math.floor(Date.now() / 1000) - 60;
      const fix = await apiCall(base, dev.token, "GET", `/api/v1/avl/osmand?id=adam-12-gps&lat=${UNIT_LAT}&lon=${UNIT_LON}&timestamp=${ts}&speed=0`);
      assert(fix.result === "stored", `GPS fix: ${JSON.stringify(fix)}`);
      await apiCall(base, admin, "POST", "/api/v1/rules", { name: "Motion at the test camera", event_types: ["motion"], cameras: [CAMERA.id], severity: "severe" });
    });

    browser = await chromium.launch({ executablePath: CHROMIUM, headless: process.env.E2E_HEADED !== "1", args: CHROMIUM_ARGS });
    const errors = [];
    const open = async (options) => {
      const page = await (await browser.newContext(options)).newPage();
      page.setDefaultTimeout(TIMEOUT);
      page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
      page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
      return page;
    };
    const disp = await open({ viewport: { width: 1600, height: 950 } });
    const off = await open({
      viewport: { width: 412, height: 915 },
      isMobile: true,
      hasTouch: true,
      permissions: ["geolocation"],
      geolocation: { latitude: BROWSER_LAT, longitude: BROWSER_LON, accuracy: 8 },
    });
    const tid = (page, id) => page.locator(`[data-testid="${id}"]`);
    const loginAs = async (page, url, user) => {
      await page.goto(url);
      await tid(page, "login-username").fill(user);
      await tid(page, "login-password").fill(PASSWORD);
      await tid(page, "login-submit").click();
    };

    try {
      await step("dispatcher logs in: the alert feed is live, the unit is on the map as available", async () => {
        await loginAs(disp, `${base}/`, "disp");
        await disp.waitForSelector('body[data-map-ready="1"]', { timeout: 45_000 });
        await disp.waitForSelector('[data-testid="alert-stream"][data-state="open"]');
        // Units are pushed over the dispatch stream, not polled.
        await disp.waitForSelector('body[data-unit-stream="open"]');
        assert((await tid(disp, "alert-queue").getAttribute("data-count")) === "0", "the queue starts empty");
        await disp.waitForSelector(`[data-testid="unit-marker"][data-unit-id="${UNIT.id}"][data-status="available"]`);
      });

      await step("officer logs in at /terminal: no assignment yet, the unit and its status are shown", async () => {
        await loginAs(off, `${base}/terminal`, "off");
        await off.waitForSelector('[data-testid="terminal-incident"][data-state="none"]');
        await off.waitForSelector('[data-testid="unit-status"][data-status="available"]');
        await off.waitForSelector('body[data-unit-stream="open"]');
        assert((await tid(off, "terminal-unit").textContent()).includes(UNIT.call_sign), "the terminal names the unit");
      });

      const event = await step("a motion event on the camera: the alert arrives in the dispatcher's queue", async () => {
        const ev = await apiCall(base, admin, "POST", "/api/v1/events", { type: "motion", source: { kind: "camera", id: CAMERA.id }, location: { lat: EVENT_LAT, lon: EVENT_LON } });
        const item = disp.locator('[data-testid="alert-item"]').first();
        await item.waitFor({ state: "visible" });
        assert((await item.getAttribute("data-state")) === "new", "the alert is new");
        assert((await item.getAttribute("data-severity")) === "severe", "the rule's severity");
        const camera = (await item.locator('[data-testid="alert-camera"]').textContent())?.trim();
        assert(camera === CAMERA.name, `the alert names the camera: ${camera}`);
        const id = await item.getAttribute("data-alert-id");
        await disp.waitForSelector(`[data-testid="alert-marker"][data-alert-id="${id}"]`);
        return { ...ev, alertId: Number(id) };
      });
      log(`       event ${event.id} raised alert ${event.alertId}`);
      const alertRow = disp.locator(`[data-testid="alert-item"][data-alert-id="${event.alertId}"]`);

      await step("\"Cameras that see this\" opens the camera live on the wall", async () => {
        await alertRow.locator('[data-testid="alert-sees"]').click();
        await disp.waitForFunction(() => document.querySelector('[data-testid="results"]')?.dataset.state === "done");
        const ids = await tid(disp, "result-item").evaluateAll((els) => els.map((e) => e.getAttribute("data-camera-id")));
        assert(ids.includes(CAMERA.id), `the cameras that see the alert: [${ids}]`);
        await disp.locator(`[data-testid="live-tile"][data-camera-id="${CAMERA.id}"]`).waitFor({ state: "visible" });
        await tid(disp, "wall-toggle").click(); // back to the map
      });

      await step("\"Clip\" opens the camera's recordings at the alert, ten seconds before its first event", async () => {
        await alertRow.locator('[data-testid="alert-clip"]').click();
        const tl = disp.locator(`[data-testid="timeline"][data-camera-id="${CAMERA.id}"][data-cue]`);
        await tl.waitFor({ state: "visible" });
        const cue = Date.parse(await tl.getAttribute("data-cue"));
        const first = Date.parse(event.time); // the alert's first event
        assert(Math.abs(first - 10_000 - cue) < 1_000, `cued at ${new Date(cue).toISOString()}, the alert began ${new Date(first).toISOString()}`);
        await tid(disp, "timeline-close").click();
        await tl.waitFor({ state: "detached" });
      });

      const incidentId = await step("Create incident from the alert: the panel shows it and recommends the unit", async () => {
        await alertRow.locator('[data-testid="alert-incident"]').click();
        const panel = disp.locator('[data-testid="incident-panel"][data-incident-id]');
        await panel.waitFor({ state: "visible" });
        const id = Number(await panel.getAttribute("data-incident-id"));
        assert(id > 0, "an incident id");
        const incident = await apiCall(base, await apiLogin(base, "disp", PASSWORD), "GET", `/api/v1/incidents/${id}`);
        assert(incident.alert_id === event.alertId, `the incident's alert is ${incident.alert_id}`);
        assert(Math.abs(incident.location.lat - EVENT_LAT) < 1e-6 && Math.abs(incident.location.lon - EVENT_LON) < 1e-6, "the incident is where the alert is");
        await disp.waitForSelector(`[data-testid="incident-marker"][data-incident-id="${id}"]`);
        // Raising the incident acknowledged the alert (the change comes back over the stream).
        await disp.waitForSelector(`[data-testid="alert-item"][data-alert-id="${event.alertId}"][data-state="acknowledged"]`);
        const rec = disp.locator(`[data-testid="recommendation"][data-unit-id="${UNIT.id}"]`);
        await rec.waitFor({ state: "visible" });
        const text = await rec.textContent();
        assert(/ETA/.test(text) && /\d+ m/.test(text) && /Available/.test(text), `the recommendation shows ETA, distance and status: ${text}`);
        return id;
      });

      await step("Assign: the unit is on the incident", async () => {
        await disp.locator(`[data-testid="assign-unit"][data-unit-id="${UNIT.id}"]`).click();
        await disp.waitForSelector(`[data-testid="incident-unit"][data-unit-id="${UNIT.id}"]`);
        await disp.waitForSelector(`[data-testid="unit-marker"][data-unit-id="${UNIT.id}"][data-status="dispatched"]`);
      });

      await step("the officer's terminal shows the incident and its camera plays live", async () => {
        await off.waitForSelector(`[data-testid="terminal-incident"][data-state="assigned"][data-incident-id="${incidentId}"]`);
        await off.waitForSelector('[data-testid="unit-status"][data-status="dispatched"]');
        await off.waitForSelector(`[data-testid="incident-marker"][data-incident-id="${incidentId}"]`);
        // The route from the server (this data directory has no road network: the straight line).
        await off.waitForSelector('[data-testid="terminal-map"][data-router="straight line"]');
        const tile = `[data-testid="terminal-video"][data-camera-id="${CAMERA.id}"]`;
        await off.locator(tile).waitFor({ state: "visible" });
        const t0 = await videoAdvances(off, `${tile} video`, 1.5, "the terminal's live video", errors);
        log(`       terminal video playing from ${t0.toFixed(2)} s`);
        await off.screenshot({ path: path.join(outDir, "dispatch-terminal.png") });
      });

      await step("the officer reports en route: the dispatcher's map and the incident's timeline follow", async () => {
        await tid(off, "status-en_route").click();
        await off.waitForSelector('[data-testid="unit-status"][data-status="en_route"]');
        await disp.waitForSelector(`[data-testid="unit-marker"][data-unit-id="${UNIT.id}"][data-status="en_route"]`);
        await disp.waitForFunction(() => /en_route/.test(document.querySelector('[data-testid="incident-timeline"]')?.textContent ?? ""));
        await disp.screenshot({ path: path.join(outDir, "dispatch-console.png") });
      });

      await step("the terminal reported the browser's position for the unit", async () => {
        await off.waitForSelector('[data-testid="gps-state"][data-state="ok"]');
        const units = await apiCall(base, await apiLogin(base, "disp", PASSWORD), "GET", "/api/v1/units");
        const p = units.find((u) => u.id === UNIT.id)?.position;
        assert(p && Math.abs(p.lat - BROWSER_LAT) < 1e-6 && Math.abs(p.lon - BROWSER_LON) < 1e-6, `the unit is at ${JSON.stringify(p)}, the browser said ${BROWSER_LAT},${BROWSER_LON}`);
      });

      await step("the dispatcher goes back to the open incidents and reopens this one", async () => {
        await tid(disp, "incident-back").click();
        await disp.locator(`[data-testid="open-incident"][data-incident-id="${incidentId}"]`).click();
        await disp.waitForSelector(`[data-testid="incident-panel"][data-incident-id="${incidentId}"] [data-testid="incident-unit"][data-unit-id="${UNIT.id}"]`);
      });

      await step("a call: the dispatcher clicks the map, types what the caller said, and the new incident opens with the note", async () => {
        await tid(disp, "incident-back").click();
        await tid(disp, "new-incident").waitFor({ state: "visible" });
        const [lon, lat] = offset(EVENT_LON, EVENT_LAT, 0, 150);
        const at = await disp.evaluate(
          ([ll]) =>
            new Promise((resolve) => {
              const map = window.__citywatchMap;
              map.once("idle", () => {
                const p = map.project(ll);
                const r = map.getCanvas().getBoundingClientRect();
                resolve({ x: r.left + p.x, y: r.top + p.y });
              });
              map.jumpTo({ center: ll, zoom: 17 });
              map.triggerRepaint();
            }),
          [[lon, lat]],
        );
        await disp.mouse.click(at.x, at.y);
        await disp.waitForFunction(() => !document.querySelector('[data-testid="new-incident-create"]')?.disabled);
        await tid(disp, "new-incident-type").fill("traffic_accident");
        await tid(disp, "new-incident-priority").selectOption("1");
        await tid(disp, "new-incident-note").fill("Two cars, one driver hurt");
        await tid(disp, "new-incident-create").click();
        const panel = disp.locator('[data-testid="incident-panel"][data-incident-id]');
        await panel.waitFor({ state: "visible" });
        const id = Number(await panel.getAttribute("data-incident-id"));
        assert(id !== incidentId, "a new incident, not the alert's");
        const created = await apiCall(base, await apiLogin(base, "disp", PASSWORD), "GET", `/api/v1/incidents/${id}`);
        assert(created.type === "traffic_accident" && created.priority === 1, `type and priority as entered: ${created.type} P${created.priority}`);
        const dist = Math.hypot((created.location.lat - lat) * 111_000, (created.location.lon - lon) * 111_000 * Math.cos((lat * Math.PI) / 180));
        assert(dist < 20, `the incident is where the map was clicked (${dist.toFixed(1)} m off)`);
        const notes = created.timeline.filter((t) => t.kind === "note").map((t) => t.detail.text);
        assert(notes.includes("Two cars, one driver hurt"), `the caller's words are a note on the timeline: ${JSON.stringify(notes)}`);
      });
    } catch (e) {
      recordFailure(e);
      await disp.screenshot({ path: path.join(outDir, "dispatch-failure-console.png") }).catch(() => {});
      await off.screenshot({ path: path.join(outDir, "dispatch-failure-terminal.png") }).catch(() => {});
      if (errors.length) log(`  browser console errors:\n    ${errors.slice(-10).join("\n    ")}`);
    }
  } finally {
    await browser?.close().catch(() => {});
    for (const stop of cleanup.reverse()) await stop().catch(() => {});
  }
}

await run("dispatch: ", main);
