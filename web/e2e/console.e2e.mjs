#!/usr/bin/env node
// End-to-end test of the operator console in headless Chromium (playwright-core, no
// downloaded browsers).
//
//   CITYWATCH_URL=http://127.0.0.1:8080 CITYWATCH_USER=admin CITYWATCH_PASSWORD=... npm run e2e
//
// Without CITYWATCH_URL it starts `citywatch demo` itself (binary from CITYWATCH_BIN,
// default ../target/debug/citywatch) on a free port with a fresh data dir and a random
// admin password, and stops it at the end.
//
// Env: CHROMIUM (default /usr/bin/chromium), E2E_HEADED=1 to watch, E2E_TIMEOUT_MS.

import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { CHROMIUM, TIMEOUT, assert, freePort, log, offset, outDir, recordFailure, run, step, webDir } from "./harness.mjs";

async function waitHealthy(base, child, ms) {
  const deadline = Date.now() + ms;
  let last = "";
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`server exited early with code ${child.exitCode}`);
    try {
      const r = await fetch(`${base}/health`);
      if (r.status === 200) return;
      last = `HTTP ${r.status}`;
    } catch (e) {
      last = String(e.cause?.code ?? e.message ?? e);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`GET ${base}/health did not return 200 within ${ms} ms (last: ${last})`);
}

async function startServer() {
  const bin = path.resolve(webDir, process.env.CITYWATCH_BIN ?? "../target/debug/citywatch");
  if (!fs.existsSync(bin)) throw new Error(`CITYWATCH_URL is unset and the server binary ${bin} does not exist (build it or set CITYWATCH_BIN)`);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "citywatch-e2e-"));
  const port = await freePort();
  const password = crypto.randomBytes(12).toString("base64url");
  // One argument with "=": a random password may start with "-", which
  // clap would take for a flag (exit 2, an e2e run failed so once in 64).
  const args = ["demo", "--data", dataDir, "--listen", `127.0.0.1:${port}`, `--admin-password=${password}`];
  log(`starting ${bin} ${args.slice(0, -1).join(" ")} --admin-password=<password>`);
  const logFile = path.join(outDir, "server.log");
  const logStream = fs.createWriteStream(logFile);
  const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? "info" } });
  // Both pipes feed one file, ended once the process has closed both: piped
  // with the default `end`, the first to end closed it and dropped what the
  // other still had (a command-line error on exit left an empty log).
  const logged = new Promise((r) => child.once("close", () => logStream.end(r)));
  child.stdout.pipe(logStream, { end: false });
  child.stderr.pipe(logStream, { end: false });
  const base = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill("SIGTERM");
      await Promise.race([new Promise((r) => child.once("exit", r)), new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill("SIGKILL");
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await waitHealthy(base, child, Number(process.env.E2E_SERVER_START_MS ?? 60_000));
  } catch (e) {
    await stop();
    await Promise.race([logged, new Promise((r) => setTimeout(r, 2000))]);
    throw new Error(`${e.message}; server log: ${logFile}`);
  }
  return { base, user: "admin", password, stop };
}

/** Point `d` metres from (lon, lat) along `bearing` degrees: local equirectangular approximation. */

async function main() {
  fs.mkdirSync(outDir, { recursive: true });
  let server = null;
  let base = process.env.CITYWATCH_URL?.replace(/\/+$/, "");
  let user = process.env.CITYWATCH_USER ?? "admin";
  let password = process.env.CITYWATCH_PASSWORD;
  if (!base) {
    server = await startServer();
    base = server.base;
    user = server.user;
    password = server.password;
  } else if (!password) {
    throw new Error("CITYWATCH_URL is set but CITYWATCH_PASSWORD is not");
  }
  log(`console e2e against ${base}`);

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: process.env.E2E_HEADED !== "1",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
      "--enable-unsafe-swiftshader",
    ],
  });
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const consoleErrors = [];
  page.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(m.text());
  });
  page.on("pageerror", (e) => consoleErrors.push(`pageerror: ${e.message}`));
  const tid = (id) => page.locator(`[data-testid="${id}"]`);

  try {
    await step("login page loads", async () => {
      // The map's address: an admin would otherwise land on their own view (Users).
      const r = await page.goto(`${base}/#/map`);
      assert(r && r.ok(), `GET / answered ${r?.status()}`);
      await tid("login-username").waitFor({ state: "visible" });
    });

    await step("wrong password shows login-error", async () => {
      await tid("login-username").fill(user);
      await tid("login-password").fill(`${password}-wrong`);
      await tid("login-submit").click();
      await tid("login-error").waitFor({ state: "visible" });
      const text = (await tid("login-error").textContent())?.trim();
      assert(text, "login-error is visible but empty");
      log(`       error text: ${JSON.stringify(text)}`);
    });

    await step("correct login shows the map", async () => {
      await tid("login-username").fill(user);
      await tid("login-password").fill(password);
      await tid("login-submit").click();
      await tid("map").waitFor({ state: "visible" });
    });

    const count = await step("map ready with >= 200 cameras", async () => {
      try {
        await page.waitForSelector('body[data-map-ready="1"]', { timeout: Math.max(TIMEOUT, 45_000) });
      } catch {
        const banner = await tid("error-banner").textContent().catch(() => "");
        throw new Error(`data-map-ready never set; banner: ${JSON.stringify(banner)}; console errors: ${consoleErrors.slice(-5).join(" | ")}`);
      }
      const n = Number((await tid("camera-count").textContent())?.trim());
      assert(Number.isFinite(n) && n >= 200, `camera-count is ${n}, expected >= 200`);
      return n;
    });
    log(`       ${count} cameras on the map`);

    const cameras = await step("GET /api/v1/cameras with the session", async () => {
      const r = await page.request.get(`${base}/api/v1/cameras`);
      assert(r.ok(), `GET /api/v1/cameras answered ${r.status()}: ${await r.text()}`);
      const list = await r.json();
      assert(Array.isArray(list) && list.length === count, `API lists ${list?.length} cameras, camera-count says ${count}`);
      for (const c of list) {
        for (const k of ["id", "name", "lat", "lon", "heading_deg", "fov_deg", "range_m", "status"]) {
          assert(k in c, `camera ${c.id} lacks field ${k}`);
        }
      }
      return list;
    });

    const canvas = page.locator(`[data-testid="map"] canvas.maplibregl-canvas`);
    const jumpTo = (lon, lat, zoom) =>
      page.evaluate(
        ([lon, lat, zoom]) =>
          new Promise((resolve) => {
            const map = window.__citywatchMap;
            map.once("idle", () => resolve());
            map.jumpTo({ center: [lon, lat], zoom });
            map.triggerRepaint();
          }),
        [lon, lat, zoom],
      );
    /** Page coordinates of [lon, lat], or null when outside the map canvas (with a margin). */
    const toPage = async (ll) => {
      const px = await page.evaluate((ll) => {
        const p = window.__citywatchMap.project(ll);
        return { x: p.x, y: p.y };
      }, ll);
      const box = await canvas.boundingBox();
      assert(box, "map canvas has no bounding box");
      if (px.x < 20 || px.y < 20 || px.x > box.width - 20 || px.y > box.height - 20) return null;
      return { x: box.x + px.x, y: box.y + px.y };
    };
    const resultsSeq = () => tid("results").getAttribute("data-seq");
    const waitResults = async (prevSeq, kind) => {
      await page.waitForFunction(
        (prev) => {
          const el = document.querySelector('[data-testid="results"]');
          return el && el.dataset.seq !== prev && (el.dataset.state === "done" || el.dataset.state === "error");
        },
        prevSeq,
      );
      const state = await tid("results").getAttribute("data-state");
      const query = await tid("results").getAttribute("data-query");
      assert(state === "done", `results panel state is ${state}: ${await tid("results").textContent()}`);
      assert(query === kind, `results panel shows a ${query} query, expected ${kind}`);
      const title = (await tid("results").locator("h2").textContent())?.trim();
      const ids = await tid("result-item").evaluateAll((els) => els.map((e) => e.getAttribute("data-camera-id")));
      return { title, ids };
    };

    const candidates = cameras
      .filter((c) => c.range_m >= 10 && c.fov_deg > 0 && c.fov_deg < 360 && c.status !== "disabled")
      .sort((a, b) => (a.status === "online" ? 0 : 1) - (b.status === "online" ? 0 : 1));
    const subject = await step("click a point in a camera's view lists that camera", async () => {
      assert(candidates.length, "no enabled camera with a directional field of view");
      await tid("tool-point").click();
      for (const cam of candidates.slice(0, 10)) {
        await jumpTo(cam.lon, cam.lat, 17);
        const target = offset(cam.lon, cam.lat, cam.heading_deg, cam.range_m * 0.3);
        const at = await toPage(target);
        if (!at) {
          log(`       ${cam.id}: target point outside the viewport, trying another camera`);
          continue;
        }
        const prev = await resultsSeq();
        await page.mouse.click(at.x, at.y);
        const { title, ids } = await waitResults(prev, "sees");
        log(`       clicked ${target[1].toFixed(6)},${target[0].toFixed(6)} (30% of ${cam.range_m} m ahead of ${cam.id}, heading ${cam.heading_deg}°): ${ids.length} result(s)`);
        assert(/see/i.test(title ?? ""), `results title ${JSON.stringify(title)} does not name the query`);
        assert(ids.includes(cam.id), `results do not list ${cam.id}; got [${ids.join(", ")}]`);
        const marker = await tid("query-point").count();
        assert(marker === 1, `expected one clicked-point marker, found ${marker}`);
        return cam;
      }
      throw new Error("no candidate camera's target point landed inside the viewport");
    });

    await step("circle tool: near query lists the camera at its centre", async () => {
      const cam = subject;
      await jumpTo(cam.lon, cam.lat, 16);
      await tid("tool-circle").click();
      const center = offset(cam.lon, cam.lat, 225, 15);
      const edge = offset(center[0], center[1], 90, 60);
      const a = await toPage(center);
      const b = await toPage(edge);
      assert(a && b, "circle points outside the viewport");
      const prev = await resultsSeq();
      await page.mouse.click(a.x, a.y);
      await page.mouse.move(b.x, b.y, { steps: 4 });
      await page.mouse.click(b.x, b.y);
      const { title, ids } = await waitResults(prev, "near");
      log(`       ${title}: ${ids.length} result(s)`);
      assert(/within \d+ m/i.test(title ?? ""), `results title ${JSON.stringify(title)} does not name the query`);
      assert(ids.includes(cam.id), `near query around ${cam.id} does not list it; got [${ids.join(", ")}]`);
    });

    await step("polygon tool: search lists the camera inside", async () => {
      const cam = subject;
      await tid("tool-polygon").click();
      const corners = [315, 45, 135, 225].map((b) => offset(cam.lon, cam.lat, b, 70));
      const prev = await resultsSeq();
      for (const c of corners) {
        const at = await toPage(c);
        assert(at, "polygon corner outside the viewport");
        await page.mouse.click(at.x, at.y);
      }
      await page.keyboard.press("Enter");
      const { title, ids } = await waitResults(prev, "polygon");
      log(`       ${title}: ${ids.length} result(s)`);
      assert(ids.includes(cam.id), `polygon search around ${cam.id} does not list it; got [${ids.join(", ")}]`);
      await page.keyboard.press("Escape");
      await tid("results").waitFor({ state: "hidden" });
      await tid("tool-point").click();
    });

    await step("camera filter narrows the list", async () => {
      const all = await tid("camera-list-item").count();
      assert(all >= 200 || all === count, `camera list shows ${all} items before filtering (count ${count})`);
      const probe = cameras[Math.floor(cameras.length / 2)];
      await tid("camera-filter").fill(probe.id);
      await page.waitForFunction(
        ([n]) => document.querySelectorAll('[data-testid="camera-list-item"]').length < n,
        [all],
      );
      const ids = await tid("camera-list-item").evaluateAll((els) => els.map((e) => e.getAttribute("data-camera-id")));
      assert(ids.length >= 1 && ids.length < all, `filter "${probe.id}" left ${ids.length} of ${all}`);
      assert(ids.includes(probe.id), `filter "${probe.id}" does not list ${probe.id}: [${ids.slice(0, 10).join(", ")}]`);
      log(`       "${probe.id}" → ${ids.length} of ${all}`);
      // Clicking the entry opens its details.
      await page.locator(`[data-testid="camera-list-item"][data-camera-id="${probe.id}"]`).click();
      await tid("camera-details").waitFor({ state: "visible" });
      const details = await tid("camera-details").textContent();
      assert(details?.includes(probe.id) && details.includes(probe.name), "camera-details does not show the picked camera");
      assert(!/password|passwd|:[^/@\s]+@/i.test(details), "camera-details shows something that looks like a credential");
    });

    await step("screenshot", async () => {
      await page.waitForTimeout(1000); // let the fly-to settle
      await page.screenshot({ path: path.join(outDir, "console.png") });
      log(`       ${path.join(outDir, "console.png")}`);
    });

    await step("logout returns to the login form", async () => {
      await tid("logout").click();
      await tid("login-username").waitFor({ state: "visible" });
      const r = await page.request.get(`${base}/api/v1/me`);
      assert(r.status() === 401, `GET /api/v1/me after logout answered ${r.status()}, expected 401`);
    });
  } catch (e) {
    recordFailure(e);
    await page.screenshot({ path: path.join(outDir, "console-failure.png") }).catch(() => {});
    if (consoleErrors.length) log(`  browser console errors:\n    ${consoleErrors.slice(-10).join("\n    ")}`);
  } finally {
    await browser.close().catch(() => {});
    if (server) await server.stop();
  }
}

await run("", main);
