#!/usr/bin/env node
// End-to-end test of the administrator's Users view in headless Chromium:
// `citywatch serve` on a fresh data directory; two districts with cameras
// made through the API. The admin logs in and lands on Users (no error
// banner), sees the API's field error next to a too-short password, creates
// an operator limited to one district; that user logs in in a second browser
// context and sees only that district's cameras on the map. The admin
// disables the user while their page is open (their next refresh is the
// login screen), enables them, resets the password (the old one fails, the
// new one works), ends their sessions (the count drops to 0 and their page
// returns to login), and is refused removing their own last admin grant with
// the server's message.
//
//   CITYWATCH_BIN=../target/debug/citywatch node e2e/users.e2e.mjs
//
// Env: CHROMIUM (default /usr/bin/chromium), E2E_HEADED=1 to watch, E2E_TIMEOUT_MS.

import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS, TIMEOUT, apiCall, apiLogin, assert, log, outDir, run, startServer, step } from "./harness.mjs";

const USER = "kim.e2e";
const FIRST_PASSWORD = "users-e2e-first-password";
const NEW_PASSWORD = "users-e2e-second-password";
const EAST = "E2E East";
const WEST = "E2E West";

/// A square district [lon0, lon0 + 0.01] × [lat0, lat0 + 0.01].
function square(lon0, lat0) {
  const [lon1, lat1] = [lon0 + 0.01, lat0 + 0.01];
  return { type: "Polygon", coordinates: [[[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]] };
}

async function main() {
  fs.mkdirSync(outDir, { recursive: true });
  const adminPassword = crypto.randomBytes(12).toString("base64url");
  const server = await startServer({ password: adminPassword, logName: "users-server.log" });
  const { base } = server;
  let browser = null;
  let adminPage = null;
  let userPage = null;
  try {
    const eastCount = await step("admin makes two districts with cameras through the API", async () => {
      const admin = await apiLogin(base, "admin", adminPassword);
      await apiCall(base, admin, "PUT", `/api/v1/districts/${encodeURIComponent(EAST)}`, square(20.47, 44.81));
      await apiCall(base, admin, "PUT", `/api/v1/districts/${encodeURIComponent(WEST)}`, square(20.45, 44.81));
      const east = [0, 1, 2].map((i) => ({ id: `east-${i}`, name: `East ${i}`, lat: 44.812 + i * 0.002, lon: 20.475, district: EAST }));
      const west = [0, 1].map((i) => ({ id: `west-${i}`, name: `West ${i}`, lat: 44.812 + i * 0.002, lon: 20.455, district: WEST }));
      for (const c of [...east, ...west]) await apiCall(base, admin, "POST", "/api/v1/cameras", c);
      return east.length;
    });

    browser = await chromium.launch({ executablePath: CHROMIUM, headless: process.env.E2E_HEADED !== "1", args: CHROMIUM_ARGS });
    const errors = [];
    const newPage = async () => {
      const page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
      page.setDefaultTimeout(TIMEOUT);
      page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
      return page;
    };
    adminPage = await newPage();
    userPage = await newPage();
    const on = (page) => (id) => page.locator(`[data-testid="${id}"]`);
    const admin = on(adminPage);
    const user = on(userPage);
    const banners = (page) => page.$$eval('[data-testid="error-banner"] .banner-text', (els) => els.map((e) => e.textContent));
    const row = (name) => adminPage.locator(`[data-testid="user-row"][data-username="${name}"]`);
    const cell = (name, id) => row(name).locator(`[data-testid="${id}"]`);
    const login = async (page, username, password) => {
      const tid = on(page);
      await tid("login-username").waitFor({ state: "visible" });
      await tid("login-username").fill(username);
      await tid("login-password").fill(password);
      await tid("login-submit").click();
    };
    const noticeSays = (text) => adminPage.waitForFunction((t) => document.querySelector('[data-testid="users-notice"]')?.textContent.includes(t), text);

    await step("the admin logs in and lands on Users, with no error banner", async () => {
      await adminPage.goto(`${base}/`);
      await login(adminPage, "admin", adminPassword);
      await admin("users-view").waitFor({ state: "visible" });
      await adminPage.waitForFunction(() => document.querySelector('[data-testid="users-summary"]')?.dataset.count !== undefined);
      assert(new URL(adminPage.url()).hash === "#/users", `address ${adminPage.url()}`);
      assert((await admin("map").count()) === 0, "the admin was shown the map");
      await row("admin").waitFor();
      assert((await banners(adminPage)).length === 0, `error banner: ${JSON.stringify(await banners(adminPage))}`);
      assert(await row("admin").locator('[data-testid="user-disable"]').isDisabled(), "the admin may press Disable on their own account");
    });

    await step("a too-short password is refused with the API's reason next to the password field", async () => {
      const form = admin("create-user-form");
      await form.locator('[data-testid="new-username"]').fill(USER);
      await form.locator('[data-testid="new-password"]').fill("short");
      await admin("create-user").click();
      const err = form.locator('[data-testid="field-error-password"]');
      await err.waitFor({ state: "visible" });
      const text = await err.textContent();
      assert(/12 characters/.test(text ?? ""), `password error: ${text}`);
      assert((await row(USER).count()) === 0, "the user was created anyway");
    });

    await step("the admin creates an operator limited to one district", async () => {
      const form = admin("create-user-form");
      await form.locator('[data-testid="new-password"]').fill(FIRST_PASSWORD);
      await form.locator('[data-testid="grant-role"]').selectOption("operator");
      await form.locator(`[data-testid="grant-district"][data-district="${EAST}"]`).check();
      await admin("create-user").click();
      await row(USER).waitFor();
      assert((await form.locator('[data-testid="field-error-password"]').isHidden()), "the old field error is still shown");
      const grant = cell(USER, "user-grant");
      assert((await grant.count()) === 1, `${await grant.count()} grants`);
      assert((await grant.getAttribute("data-role")) === "operator" && (await grant.getAttribute("data-districts")) === EAST, `grant ${await grant.textContent()}`);
      assert((await cell(USER, "user-sessions").textContent())?.trim() === "0", "open sessions before any login");
    });

    await step("the new user logs in elsewhere and sees only that district's cameras", async () => {
      await userPage.goto(`${base}/`);
      await login(userPage, USER, FIRST_PASSWORD);
      await userPage.waitForSelector('body[data-map-ready="1"]', { timeout: Math.max(TIMEOUT, 45_000) });
      const n = Number((await user("camera-count").textContent())?.trim());
      assert(n === eastCount, `camera-count ${n}, want ${eastCount} (the East district's)`);
      const ids = await userPage.evaluate(async () => (await (await fetch("/api/v1/cameras")).json()).map((c) => c.id));
      assert(ids.every((id) => id.startsWith("east-")), `cameras seen: ${ids}`);
      assert((await banners(userPage)).length === 0, `error banner: ${JSON.stringify(await banners(userPage))}`);
    });

    await step("the admin sees the user's open session and last login", async () => {
      await admin("users-refresh").click();
      await adminPage.waitForFunction((u) => document.querySelector(`[data-testid="user-row"][data-username="${u}"] [data-testid="user-sessions"]`)?.textContent.trim() === "1", USER);
      const last = (await cell(USER, "user-last-login").getAttribute("title")) ?? "";
      assert(!Number.isNaN(Date.parse(last)), `last login ${JSON.stringify(last)}`);
    });

    await step("disabling the user while their page is open sends their next refresh to the login screen", async () => {
      await row(USER).locator('[data-testid="user-disable"]').click();
      await adminPage.waitForFunction((u) => document.querySelector(`[data-testid="user-row"][data-username="${u}"]`)?.dataset.disabled === "1", USER);
      await noticeSays(`${USER} is disabled; sessions ended: 1`);
      await userPage.reload();
      await user("login-username").waitFor({ state: "visible" });
      assert((await user("map").count()) === 0, "the disabled user still sees the map");
      await login(userPage, USER, FIRST_PASSWORD);
      await user("login-error").waitFor({ state: "visible" });
    });

    await step("the admin enables the user and resets the password: the old one fails, the new one works", async () => {
      await row(USER).locator('[data-testid="user-enable"]').click();
      await adminPage.waitForFunction((u) => document.querySelector(`[data-testid="user-row"][data-username="${u}"]`)?.dataset.disabled === "0", USER);
      await row(USER).locator('[data-testid="user-reset-password"]').click();
      const form = admin("reset-password-form");
      await form.locator('[data-testid="reset-password-input"]').fill(NEW_PASSWORD);
      await form.locator('[data-testid="reset-password-submit"]').click();
      await noticeSays(USER);
      await admin("reset-password-form").waitFor({ state: "detached" });
      await userPage.reload(); // a fresh form: no error left from the refused login
      await login(userPage, USER, FIRST_PASSWORD);
      await userPage.waitForFunction(() => /wrong username or password/i.test(document.querySelector('[data-testid="login-error"]')?.textContent ?? ""));
      await login(userPage, USER, NEW_PASSWORD);
      await userPage.waitForSelector('body[data-map-ready="1"]', { timeout: Math.max(TIMEOUT, 45_000) });
    });

    await step("ending the user's sessions logs them out without disabling them", async () => {
      await admin("users-refresh").click();
      await adminPage.waitForFunction((u) => document.querySelector(`[data-testid="user-row"][data-username="${u}"] [data-testid="user-sessions"]`)?.textContent.trim() === "1", USER);
      await row(USER).locator('[data-testid="user-end-sessions"]').click();
      await adminPage.waitForFunction((u) => document.querySelector(`[data-testid="user-row"][data-username="${u}"] [data-testid="user-sessions"]`)?.textContent.trim() === "0", USER);
      assert((await row(USER).getAttribute("data-disabled")) === "0", "ending sessions disabled the user");
      await userPage.reload();
      await user("login-username").waitFor({ state: "visible" });
      await login(userPage, USER, NEW_PASSWORD);
      await userPage.waitForSelector('body[data-map-ready="1"]', { timeout: Math.max(TIMEOUT, 45_000) });
    });

    await step("a grant added and removed in the view reaches the user on their next request", async () => {
      await row(USER).locator('[data-testid="user-add-grant"]').click();
      const form = admin("add-grant-form");
      await form.locator('[data-testid="grant-role"]').selectOption("operator");
      await form.locator(`[data-testid="grant-district"][data-district="${WEST}"]`).check();
      await form.locator('[data-testid="grant-submit"]').click();
      await adminPage.waitForFunction((u) => document.querySelectorAll(`[data-testid="user-row"][data-username="${u}"] [data-testid="user-grant"]`).length === 2, USER);
      const seen = async () => userPage.evaluate(async () => (await (await fetch("/api/v1/cameras")).json()).length);
      assert((await seen()) === 5, `with both districts the user sees ${await seen()} cameras`);
      await row(USER).locator(`[data-testid="user-grant"][data-districts="${EAST}"] [data-testid="grant-remove"]`).click();
      await adminPage.waitForFunction((u) => document.querySelectorAll(`[data-testid="user-row"][data-username="${u}"] [data-testid="user-grant"]`).length === 1, USER);
      assert((await seen()) === 2, `after removing East the user sees ${await seen()} cameras`);
    });

    await step("the admin cannot remove their own last admin grant: the server says why", async () => {
      await row("admin").locator('[data-testid="grant-remove"]').first().click();
      await adminPage.waitForFunction(() => /own last admin grant/.test(document.querySelector('[data-testid="error-banner"]')?.textContent ?? ""));
      assert((await row("admin").locator('[data-testid="user-grant"]').count()) >= 1, "the admin's grant is gone");
      assert(errors.length === 0, `page errors: ${errors.join(" | ")}`);
      await adminPage.screenshot({ path: path.join(outDir, "users.png"), fullPage: true });
    });
  } catch (e) {
    await adminPage?.screenshot({ path: path.join(outDir, "users-failure-admin.png"), fullPage: true }).catch(() => undefined);
    await userPage?.screenshot({ path: path.join(outDir, "users-failure-user.png"), fullPage: true }).catch(() => undefined);
    throw e;
  } finally {
    await browser?.close();
    await server.stop();
  }
}

await run("users e2e: ", main);
