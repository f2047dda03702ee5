// What the end-to-end scripts share: paths and settings, named steps that
// are counted and reported, assertions, free ports, the final tally, and the
// real peers the video and dispatch scripts start (GStreamer's RTSP server as
// a camera, `citywatch serve`) with a small API client for seeding.

import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";

export const webDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const outDir = path.join(webDir, "test-results");
export const TIMEOUT = Number(process.env.E2E_TIMEOUT_MS ?? 30_000);
export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

const tally = { passed: 0, failed: 0 };
export const log = (...a) => console.log(...a);

/// Thrown by a failed step, already reported; later steps are skipped.
export class StepError extends Error {}

export async function step(name, fn) {
  const t0 = Date.now();
  try {
    const r = await fn();
    tally.passed++;
    log(`  ok   ${name} (${Date.now() - t0} ms)`);
    return r;
  } catch (e) {
    tally.failed++;
    log(`  FAIL ${name}: ${e?.message ?? e}`);
    throw new StepError(name);
  }
}

/// Counts an error raised outside a step (a step's own failure is counted already).
export function recordFailure(e, what = "") {
  if (e instanceof StepError) return;
  tally.failed++;
  log(`  FAIL ${what}${e?.message ?? e}`);
}

export function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/// [lon, lat] `d` metres from a point along `bearing` (local spherical approximation).
export function offset(lon, lat, bearing, d) {
  const R = 6371008.8;
  const rad = Math.PI / 180;
  return [lon + (d * Math.sin(bearing * rad)) / (R * Math.cos(lat * rad)) / rad, lat + (d * Math.cos(bearing * rad)) / R / rad];
}

/// Runs the script's main, prints the tally and exits non-zero on any failure.
export async function run(label, main) {
  try {
    await main();
  } catch (e) {
    recordFailure(e, "setup: ");
  }
  log(`${label}${tally.passed} passed, ${tally.failed} failed`);
  process.exit(tally.failed ? 1 : 0);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export const RTSP_SERVER = path.resolve(webDir, "../crates/video/tests/rtsp_server.py");

/// Chromium flags for headless runs here (no GPU, no downloads, autoplay allowed).
export const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic", "--enable-unsafe-swiftshader", "--autoplay-policy=no-user-gesture-required"];

export async function stopChild(child) {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill("SIGTERM");
    await Promise.race([new Promise((r) => child.once("exit", r)), sleep(5000)]);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
}

/// GStreamer's RTSP server (crates/video/tests/rtsp_server.py, Debian's python3); resolves once it prints READY.
export async function startCamera() {
  const port = await freePort();
  const child = spawn("/usr/bin/python3", [RTSP_SERVER, String(port)], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const ready = await new Promise((resolve) => {
    const rl = readline.createInterface({ input: child.stdout });
    rl.once("line", (line) => resolve(line));
    child.once("exit", () => resolve(null));
    setTimeout(() => resolve(null), 20_000);
  });
  if (!ready?.startsWith("READY")) {
    await stopChild(child);
    throw new Error(`the GStreamer RTSP server did not start (${stderr.trim() || "no output"}); scripts/setup.sh installs its Debian packages`);
  }
  return { url: `rtsp://127.0.0.1:${port}/test`, stop: () => stopChild(child) };
}

/// `citywatch serve` ($CITYWATCH_BIN, default ../target/debug/citywatch) on a fresh data directory and a free port,
/// with `password` for the first admin; the log goes to test-results/<logName>. Resolves once /health answers 200.
export async function startServer({ password, logName }) {
  const bin = path.resolve(webDir, process.env.CITYWATCH_BIN ?? "../target/debug/citywatch");
  if (!fs.existsSync(bin)) throw new Error(`the server binary ${bin} does not exist (cargo build -p citywatch, or set CITYWATCH_BIN)`);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "citywatch-e2e-"));
  const port = await freePort();
  // One argument with "=": a random password may start with "-", which
  // clap would take for a flag (exit 2, an e2e run failed so once in 64).
  const args = ["serve", "--data", dataDir, "--listen", `127.0.0.1:${port}`, `--admin-password=${password}`];
  log(`starting ${bin} ${args.slice(0, -1).join(" ")} --admin-password=<password>`);
  fs.mkdirSync(outDir, { recursive: true });
  const logFile = path.join(outDir, logName);
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
    await stopChild(child);
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      await Promise.race([logged, sleep(2000)]);
      throw new Error(`server exited with code ${child.exitCode}; log: ${logFile}`);
    }
    try {
      if ((await fetch(`${base}/health`)).status === 200) break;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`server not healthy within 60 s; log: ${logFile}`);
    }
    await sleep(250);
  }
  return { base, stop };
}

/// A JSON API call with a bearer token; throws with the answer on any non-2xx status.
export async function apiCall(base, token, method, p, body) {
  const r = await fetch(`${base}${p}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${p} answered ${r.status}: ${text}`);
  return text ? JSON.parse(text) : null;
}

/// Logs in through the API; the bearer token.
export async function apiLogin(base, username, password) {
  const r = await fetch(`${base}/api/v1/auth/login`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ username, password }) });
  assert(r.ok, `login ${username}: ${r.status}`);
  return (await r.json()).token;
}

/// Waits until the <video> at `selector` plays and has advanced `seconds` past where it was first seen playing;
/// the time it was first seen playing. `errors` (console messages) go into the failure message.
export async function videoAdvances(page, selector, seconds, what, errors = []) {
  const t0 = await page
    .waitForFunction((sel) => {
      const v = document.querySelector(sel);
      return v && v.currentTime > 0 && !v.paused && v.readyState >= 2 ? v.currentTime : false;
    }, selector, { timeout: 30_000 })
    .then((h) => h.jsonValue())
    .catch(async () => {
      const state = await page.evaluate((sel) => {
        const v = document.querySelector(sel);
        return v ? { t: v.currentTime, paused: v.paused, ready: v.readyState, error: v.error?.message, buffered: v.buffered.length ? [v.buffered.start(0), v.buffered.end(v.buffered.length - 1)] : [] } : null;
      }, selector);
      throw new Error(`${what} never started playing: ${JSON.stringify(state)}; console errors: ${errors.slice(-5).join(" | ")}`);
    });
  await page.waitForFunction(([sel, from, s]) => document.querySelector(sel).currentTime >= from + s, [selector, t0, seconds], { timeout: 30_000 }).catch(async () => {
    const t = await page.evaluate((sel) => document.querySelector(sel).currentTime, selector);
    throw new Error(`${what}: currentTime went from ${t0} to only ${t}`);
  });
  return t0;
}
