#!/usr/bin/env node
// End-to-end test of the auditor's screen in headless Chromium: `citywatch serve`
// on a fresh data directory; the admin makes a camera, a supervisor and an
// auditor through the API; the supervisor places and releases legal holds
// under a case reference made up here. The auditor logs in, lands on the audit
// view (no map, no error banner), sees the chain verified, filters by that case
// reference and finds exactly the supervisor's three entries under it, then
// follows the supervisor's day.
//
//   CITYWATCH_BIN=../target/debug/citywatch node e2e/audit.e2e.mjs
//
// Env: CHROMIUM (default /usr/bin/chromium), E2E_HEADED=1 to watch, E2E_TIMEOUT_MS.

import crypto from "node:crypto";
import fs from "node:fs";
import { chromium } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS, TIMEOUT, apiCall, apiLogin, assert, log, outDir, run, startServer, step } from "./harness.mjs";

const PASSWORD = "audit-e2e-password-1";

async function main() {
  fs.mkdirSync(outDir, { recursive: true });
  const adminPassword = crypto.randomBytes(12).toString("base64url");
  const server = await startServer({ password: adminPassword, logName: "audit-server.log" });
  const { base } = server;
  const caseRef = `KU-E2E-${crypto.randomBytes(4).toString("hex")}`;
  const otherRef = `${caseRef}-OTHER`;
  let browser = null;
  try {
    await step("admin seeds a camera, a supervisor and an auditor", async () => {
      const admin = await apiLogin(base, "admin", adminPassword);
      await apiCall(base, admin, "POST", "/api/v1/cameras", { id: "cam-audit-1", name: "Audit test camera", lat: 44.8125, lon: 20.4612 });
      await apiCall(base, admin, "POST", "/api/v1/users", { username: "sup", password: PASSWORD, grants: [{ role: "supervisor", districts: null }] });
      await apiCall(base, admin, "POST", "/api/v1/users", { username: "aud", password: PASSWORD, grants: [{ role: "auditor", districts: null }] });
    });

    await step("the supervisor places two legal holds under the case and releases one, and one under another case", async () => {
      const sup = await apiLogin(base, "sup", PASSWORD);
      const expires = new Date(Date.now() + 86_400_000).toISOString();
      const hold = (ref, start) =>
        apiCall(base, sup, "POST", "/api/v1/legal-holds", { camera_id: "cam-audit-1", start, end: new Date(Date.parse(start) + 3_600_000).toISOString(), purpose: "e2e evidence", case_ref: ref, expires_at: expires });
      const first = await hold(caseRef, "2026-01-01T00:00:00Z");
      await hold(caseRef, "2026-01-02T00:00:00Z");
      await hold(otherRef, "2026-01-03T00:00:00Z");
      await apiCall(base, sup, "DELETE", `/api/v1/legal-holds/${first.id}`);
    });

    browser = await chromium.launch({ executablePath: CHROMIUM, headless: process.env.E2E_HEADED !== "1", args: CHROMIUM_ARGS });
    const page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
    page.setDefaultTimeout(TIMEOUT);
    const errors = [];
    page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
    const tid = (id) => page.locator(`[data-testid="${id}"]`);
    const shownRows = () =>
      page.$$eval('[data-testid="audit-rows"] tr', (trs) => trs.map((tr) => Array.from(tr.querySelectorAll("td")).map((td) => td.textContent.trim())));
    const searchSettled = () => page.waitForFunction(() => document.querySelector('[data-testid="audit-summary"]')?.dataset.count !== undefined);

    await step("the auditor logs in and lands on the audit view, not the map, with no error banner", async () => {
      await page.goto(`${base}/`);
      await tid("login-username").fill("aud");
      await tid("login-password").fill(PASSWORD);
      await tid("login-submit").click();
      await tid("audit-view").waitFor({ state: "visible" });
      await searchSettled();
      assert((await tid("map").count()) === 0, "the auditor was shown the map");
      assert((await page.locator("video").count()) === 0, "the audit view holds a video element");
      const banners = await page.$$eval('[data-testid="error-banner"] .banner-text', (els) => els.map((e) => e.textContent));
      assert(banners.length === 0, `error banner shown: ${JSON.stringify(banners)}`);
      assert(errors.length === 0, `page errors: ${errors.join(" | ")}`);
    });

    await step("the chain shows verified, with the key's fingerprint", async () => {
      await page.waitForFunction(() => document.querySelector('[data-testid="audit-chain"]')?.dataset.state !== "checking");
      const state = await tid("audit-chain").getAttribute("data-state");
      const text = await tid("audit-chain").textContent();
      assert(state === "verified", `chain state ${state}: ${text}`);
      const fingerprint = (await tid("audit-key-fingerprint").textContent())?.trim() ?? "";
      assert(/^[0-9a-f]{64}$/.test(fingerprint), `fingerprint ${JSON.stringify(fingerprint)}`);
      log(`       ${text}`);
    });

    await step("filtering by the case reference finds exactly the supervisor's three entries under it", async () => {
      await tid("audit-filter-case_ref").fill(caseRef);
      await tid("audit-search").click();
      await page.waitForFunction(
        (ref) => {
          const s = document.querySelector('[data-testid="audit-summary"]');
          const rows = Array.from(document.querySelectorAll('[data-testid="audit-rows"] tr'));
          return s?.dataset.count !== undefined && rows.length > 0 && rows.every((tr) => tr.querySelector('[data-testid="audit-case-ref"]')?.textContent.trim() === ref);
        },
        caseRef,
      );
      const rows = await shownRows();
      // Columns: time, actor, action, target, purpose, case reference, result.
      const got = rows.map((r) => `${r[1]} ${r[2]} ${r[3]} ${r[5]} ${r[6]}`);
      const want = [`sup legal_hold.create cam-audit-1 ${caseRef} ok`, `sup legal_hold.create cam-audit-1 ${caseRef} ok`, `sup legal_hold.release cam-audit-1 ${caseRef} ok`];
      assert(JSON.stringify(got) === JSON.stringify(want), `rows ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
      const csv = await tid("audit-export-csv").getAttribute("href");
      assert(csv?.includes(`case_ref=${encodeURIComponent(caseRef)}`) && csv.includes("format=csv"), `CSV export link ${csv}`);
    });

    await step("the export link downloads the same range as CSV with its checkpoint", async () => {
      const href = await tid("audit-export-csv").getAttribute("href");
      const text = await page.evaluate(async (u) => (await fetch(u)).text(), href);
      const lines = text.trim().split("\n");
      assert(lines.filter((l) => l.includes(caseRef)).length === 3, `CSV export: ${text}`);
      assert(lines.at(-1).startsWith("# checkpoint seq="), `CSV export has no checkpoint line: ${lines.at(-1)}`);
    });

    await step("verifying again shows the checkpoint the export signed", async () => {
      await tid("audit-verify").click();
      await page.waitForFunction(() => document.querySelector('[data-testid="audit-chain"]')?.dataset.state === "verified" && /Last signed checkpoint: entry \d+/.test(document.querySelector('[data-testid="audit-chain-detail"]')?.textContent ?? ""));
      log(`       ${(await tid("audit-chain-detail").textContent())?.trim()}`);
    });

    await step("\"this user's day\" shows everything the supervisor did today", async () => {
      await tid("audit-user-day").first().click();
      await page.waitForFunction(() => {
        const rows = Array.from(document.querySelectorAll('[data-testid="audit-rows"] tr'));
        const settled = document.querySelector('[data-testid="audit-summary"]')?.dataset.count !== undefined;
        return settled && document.querySelector('[data-testid="audit-filter-actor"]')?.value === "sup" && rows.length > 0 && rows.every((tr) => tr.children[1].textContent.trim() === "sup");
      });
      assert((await tid("audit-filter-case_ref").inputValue()) === "", "the case filter was kept for the user's day");
      const rows = await shownRows();
      assert(rows.some((r) => r[5] === otherRef), `the other case's hold is missing from the day: ${JSON.stringify(rows)}`);
      assert(rows.some((r) => r[2] === "auth.login"), `the supervisor's login is missing from the day: ${JSON.stringify(rows)}`);
      const banners = await page.$$eval('[data-testid="error-banner"] .banner-text', (els) => els.map((e) => e.textContent));
      assert(banners.length === 0, `error banner shown: ${JSON.stringify(banners)}`);
    });
  } finally {
    await browser?.close();
    await server.stop();
  }
}

await run("audit e2e: ", main);
