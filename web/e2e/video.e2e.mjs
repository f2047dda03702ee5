#!/usr/bin/env node
// End-to-end test of live video and playback in headless Chromium
// (playwright-core, Debian's chromium; no downloaded browsers).
//
// It starts a real camera (GStreamer's RTSP server, crates/video/tests/rtsp_server.py
// run by /usr/bin/python3) and `citywatch serve` (binary from CITYWATCH_BIN, default
// ../target/debug/citywatch) with a camera pointing at it, creates an operator and an
// auditor, then as the operator in the browser:
//   - opens the camera live from its details: the tile's <video> plays (currentTime advances);
//   - clicks a point the camera sees and opens the results together on the wall;
//   - switches wall layouts (1/4/9/16);
//   - waits for ~6 s of recording, opens the camera's timeline, picks a recorded time,
//     enters purpose and case reference, plays back (currentTime advances) and changes speed;
// and checks, as the auditor, that the live view and the playback were audited.
//
// It always starts its own server (CITYWATCH_URL is not used: it needs a camera it controls).
// Env: CHROMIUM (default /usr/bin/chromium), E2E_HEADED=1, E2E_TIMEOUT_MS.

import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS, TIMEOUT, apiCall, apiLogin, assert, log, offset, outDir, recordFailure, run, sleep, startCamera, startServer, step, videoAdvances as playing } from "./harness.mjs";

const PASSWORD = crypto.randomBytes(12).toString("base64url");
const login = (base, username) => apiLogin(base, username, PASSWORD);

const CAMERA = { id: "gst", name: "GStreamer test camera", lat: 44.8125, lon: 20.4612, heading_deg: 90, fov_deg: 70, range_m: 60 };

async function main() {
  fs.mkdirSync(outDir, { recursive: true });
  const cleanup = [];
  let browser = null;
  try {
    const camera = await startCamera();
    cleanup.push(camera.stop);
    const server = await startServer({ password: PASSWORD, logName: "video-server.log" });
    cleanup.push(server.stop);
    const base = server.base;
    log(`video e2e against ${base}, camera ${camera.url}`);

    await step("set up: a camera on the RTSP source, an operator and an auditor", async () => {
      const admin = await login(base, "admin");
      await apiCall(base, admin, "POST", "/api/v1/cameras", { ...CAMERA, main_url: camera.url });
      await apiCall(base, admin, "POST", "/api/v1/users", { username: "op", password: PASSWORD, grants: [{ role: "operator" }] });
      await apiCall(base, admin, "POST", "/api/v1/users", { username: "aud", password: PASSWORD, grants: [{ role: "auditor" }] });
    });

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: process.env.E2E_HEADED !== "1",
      args: CHROMIUM_ARGS,
    });
    const page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
    page.setDefaultTimeout(TIMEOUT);
    const consoleErrors = [];
    page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
    page.on("pageerror", (e) => consoleErrors.push(`pageerror: ${e.message}`));
    const tid = (id) => page.locator(`[data-testid="${id}"]`);
    /** Waits until `selector`'s video has played `seconds` more than when first seen playing. */
    const videoAdvances = (selector, seconds, what) => playing(page, selector, seconds, what, consoleErrors);

    try {
      await step("operator logs in; the map shows the camera", async () => {
        await page.goto(`${base}/`);
        await tid("login-username").fill("op");
        await tid("login-password").fill(PASSWORD);
        await tid("login-submit").click();
        await page.waitForSelector('body[data-map-ready="1"]', { timeout: 45_000 });
        assert((await tid("camera-count").textContent())?.trim() === "1", "one camera on the map");
      });

      await step("Watch live from the camera's details: the tile's video plays", async () => {
        await page.locator(`[data-testid="camera-list-item"][data-camera-id="${CAMERA.id}"]`).click();
        await tid("watch-live").click();
        await tid("video-wall").waitFor({ state: "visible" });
        const tile = `[data-testid="live-tile"][data-camera-id="${CAMERA.id}"]`;
        await page.locator(tile).waitFor({ state: "visible" });
        const t0 = await videoAdvances(`${tile} video`, 2, "the live tile");
        const status = (await page.locator(`${tile} [data-testid="tile-status"]`).textContent())?.trim();
        log(`       live tile playing from ${t0.toFixed(2)} s, status ${JSON.stringify(status)}`);
        assert(status === "Live", `tile status is ${JSON.stringify(status)}`);
        // Near the live edge: little is buffered ahead of what plays.
        const ahead = await page.evaluate((sel) => {
          const v = document.querySelector(sel);
          return v.buffered.end(v.buffered.length - 1) - v.currentTime;
        }, `${tile} video`);
        log(`       buffered ahead of the playhead: ${ahead.toFixed(2)} s`);
        assert(ahead < 2, `the live tile lags ${ahead} s behind what it has`);
      });

      await step("wall layouts 1/4/9/16", async () => {
        for (const n of [9, 16, 1, 4]) {
          await tid(`wall-layout-${n}`).click();
          const cells = await page.locator('[data-testid="wall-grid"] > .tile').count();
          assert(cells === n, `layout ${n} shows ${cells} cells`);
        }
        assert((await tid("live-tile").count()) === 1, "the tile survived the layout changes");
        await page.screenshot({ path: path.join(outDir, "video-wall.png") });
      });

      await step("a clicked point's cameras open together on the wall", async () => {
        await tid("wall-toggle").click(); // hide the wall to reach the map
        await tid("video-wall").waitFor({ state: "hidden" });
        await tid("tool-point").click();
        const target = offset(CAMERA.lon, CAMERA.lat, CAMERA.heading_deg, CAMERA.range_m * 0.4);
        const at = await page.evaluate(
          ([ll]) =>
            new Promise((resolve) => {
              const map = window.__citywatchMap;
              map.once("idle", () => {
                const p = map.project(ll);
                const r = map.getCanvas().getBoundingClientRect();
                resolve({ x: r.left + p.x, y: r.top + p.y });
              });
              map.jumpTo({ center: ll, zoom: 18 });
              map.triggerRepaint();
            }),
          [target],
        );
        await page.mouse.click(at.x, at.y);
        await page.waitForFunction(() => document.querySelector('[data-testid="results"]')?.dataset.state === "done");
        const ids = await tid("result-item").evaluateAll((els) => els.map((e) => e.getAttribute("data-camera-id")));
        assert(ids.includes(CAMERA.id), `the point's results do not list ${CAMERA.id}: [${ids}]`);
        await tid("watch-all-live").click();
        await tid("video-wall").waitFor({ state: "visible" });
        const tiles = await tid("live-tile").evaluateAll((els) => els.map((e) => e.getAttribute("data-camera-id")));
        assert(JSON.stringify(tiles.sort()) === JSON.stringify([...ids].sort()), `wall shows [${tiles}], results were [${ids}]`);
        assert((await page.locator('[data-testid="wall-grid"]').getAttribute("data-layout")) === "1", "one camera: the 1-tile layout");
        await videoAdvances(`[data-testid="live-tile"][data-camera-id="${CAMERA.id}"] video`, 1, "the reopened tile");
      });

      const span = await step("about 6 s recorded", async () => {
        const deadline = Date.now() + 60_000;
        for (;;) {
          const now = Date.now();
          const q = new URLSearchParams({ start: new Date(now - 10 * 60_000).toISOString(), end: new Date(now + 60_000).toISOString() });
          const r = await page.request.get(`${base}/api/v1/cameras/${CAMERA.id}/recordings?${q}`);
          assert(r.ok(), `recordings: ${r.status()}`);
          const spans = (await r.json()).spans.map((s) => ({ start: Date.parse(s.start), end: Date.parse(s.end) }));
          const long = spans.find((s) => s.end - s.start >= 6000);
          if (long) return long;
          assert(Date.now() < deadline, `no 6 s span within 60 s: ${JSON.stringify(spans)}`);
          await sleep(500);
        }
      });
      log(`       recorded ${new Date(span.start).toISOString()} – ${new Date(span.end).toISOString()}`);

      await step("the timeline shows the recording", async () => {
        await page.locator(`[data-testid="live-tile"][data-camera-id="${CAMERA.id}"] [data-testid="tile-timeline"]`).click();
        await tid("timeline").waitFor({ state: "visible" });
        await tid("timeline-zoom").selectOption("0"); // 1 minute
        await page.waitForFunction(() => Number(document.querySelector('[data-testid="timeline"]')?.dataset.spans) >= 1);
        await tid("timeline-zoom").selectOption("6"); // 7 days: still one span, asked a day at a time
        await page.waitForFunction(() => Number(document.querySelector('[data-testid="timeline"]')?.dataset.spans) >= 1);
        await tid("timeline-zoom").selectOption("0");
        await page.waitForFunction(() => Number(document.querySelector('[data-testid="timeline"]')?.dataset.spans) >= 1);
        await tid("timeline-span").first().waitFor({ state: "visible" });
      });

      await step("pick a recorded time, give purpose and case, play back", async () => {
        // The timeline redraws its spans every 5 s while it follows now: a
        // span caught mid-redraw has no box yet, so ask again briefly.
        let box = null;
        for (let i = 0; i < 20 && !(box && box.width > 20); i++) {
          if (i > 0) await sleep(250);
          box = await tid("timeline-span").first().boundingBox({ timeout: 2000 }).catch(() => null);
        }
        assert(box && box.width > 20, `span drawn ${box?.width} px wide`);
        await page.mouse.click(box.x + box.width * 0.25, box.y + box.height / 2);
        const cursor = Date.parse(await tid("timeline").getAttribute("data-cursor"));
        await tid("timeline-play").click();
        await tid("purpose-dialog").waitFor({ state: "visible" });
        await tid("purpose-input").fill("e2e playback check");
        await tid("case-ref-input").fill("E2E-42");
        await tid("purpose-submit").click();
        await videoAdvances('[data-testid="playback-video"]', 1.5, "playback");
        const src = await tid("playback-video").getAttribute("src");
        const q = new URL(src, base).searchParams;
        assert(q.get("purpose") === "e2e playback check" && q.get("case_ref") === "E2E-42", `playback URL lacks purpose/case_ref: ${src}`);
        assert(Math.abs(Date.parse(q.get("start")) - cursor) < 1000, `playback starts at ${q.get("start")}, picked ${new Date(cursor).toISOString()}`);
        log(`       playing ${q.get("start")} – ${q.get("end")}`);
      });

      await step("speeds 2× and 8× set the playback rate", async () => {
        for (const s of [2, 8, 1]) {
          await tid(`speed-${s}`).click();
          const rate = await tid("playback-video").evaluate((v) => v.playbackRate);
          assert(rate === s, `speed-${s} left playbackRate ${rate}`);
        }
        await page.screenshot({ path: path.join(outDir, "video-timeline.png") });
      });

      await step("the auditor sees the live view and the playback with its purpose", async () => {
        const aud = await login(base, "aud");
        const log = await apiCall(base, aud, "GET", "/api/v1/audit?limit=1000");
        const entries = Array.isArray(log) ? log : log.entries;
        const live = entries.filter((e) => e.action === "video.live" && e.actor === "op" && e.target === CAMERA.id);
        const play = entries.filter((e) => e.action === "video.playback" && e.actor === "op");
        assert(live.length >= 2, `${live.length} video.live entries for op`);
        assert(play.some((e) => e.purpose === "e2e playback check" && e.case_ref === "E2E-42"), `no playback entry with purpose: ${JSON.stringify(play)}`);
        // An operator has no unmask grant: the timeline played a blurred fMP4 stream.
        assert(play.every((e) => e.detail?.faces === "blurred"), `operator playback not blurred: ${JSON.stringify(play)}`);
      });
    } catch (e) {
      recordFailure(e);
      await page.screenshot({ path: path.join(outDir, "video-failure.png") }).catch(() => {});
      if (consoleErrors.length) log(`  browser console errors:\n    ${consoleErrors.slice(-10).join("\n    ")}`);
    }
  } finally {
    await browser?.close().catch(() => {});
    for (const stop of cleanup.reverse()) await stop().catch(() => {});
  }
}

await run("video: ", main);
