// Which caught errors the banner shows (`reportError`), apart from how it draws them.

import { beforeAll, beforeEach, expect, test, vi } from "vitest";
import { ApiError } from "./api";
import { Banner } from "./banner";

beforeAll(() => {
  // The banner's own element is all the constructor builds; no page is needed to test the rule.
  vi.stubGlobal("document", { createElement: () => ({ setAttribute: () => undefined }) });
});

let banner: Banner;
let shown: string[];

beforeEach(() => {
  banner = new Banner();
  shown = [];
  vi.spyOn(banner, "error").mockImplementation((m) => void shown.push(m));
});

test("shows an error in errorText's words", () => {
  banner.reportError(new ApiError(409, "The camera was changed by someone else.", "/api/v1/cameras/c1"));
  banner.reportError(new TypeError("Failed to fetch"));
  expect(shown).toEqual(["The camera was changed by someone else.", "Cannot reach the server. Check the network connection, then try again."]);
});

test("is silent for an aborted request and an ended session (401 goes back to login)", () => {
  banner.reportError(new DOMException("The operation was aborted.", "AbortError"));
  banner.reportError(new ApiError(401, "You are not logged in. Log in again.", "/api/v1/me"));
  expect(shown).toEqual([]);
});

test("is silent once the view is closed, and works as a detached callback", async () => {
  const report = banner.reportError;
  await Promise.reject(new ApiError(500, "The server ran into a problem (500).", "/x")).catch(report);
  banner.close();
  report(new ApiError(500, "late", "/x"));
  expect(shown).toEqual(["The server ran into a problem (500)."]);
});
