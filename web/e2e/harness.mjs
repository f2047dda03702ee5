// What the end-to-end scripts share: paths and settings, named steps that
// are counted and reported, assertions, free ports, and the final tally.

import net from "node:net";
import path from "node:path";
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
