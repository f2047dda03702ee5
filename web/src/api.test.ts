// What a person reads for a failed request or an error caught in the console.

import { describe, expect, test } from "vitest";
import { ApiError, errorText, statusMessage } from "./api";

describe("statusMessage", () => {
  test("says what to do for each kind of refusal", () => {
    expect(statusMessage(0)).toBe("Cannot reach the server. Check the network connection, then try again.");
    expect(statusMessage(401)).toBe("You are not logged in. Log in again.");
    expect(statusMessage(403)).toMatch(/^Your roles do not allow this\./);
    expect(statusMessage(404)).toMatch(/^This was not found/);
    expect(statusMessage(413)).toMatch(/too large/);
    expect(statusMessage(429)).toMatch(/^Too many requests/);
  });

  test("tells an unavailable server (502–504) from a failing one (other 5xx), with the status", () => {
    for (const s of [502, 503, 504]) expect(statusMessage(s)).toBe(`The server is not available right now (${s}). Try again in a moment.`);
    expect(statusMessage(500)).toMatch(/^The server ran into a problem \(500\)/);
    expect(statusMessage(507)).toMatch(/^The server ran into a problem \(507\)/);
  });

  test("any other status is a failed request, with its number (not a bare code)", () => {
    expect(statusMessage(418)).toBe("The request failed (418). Try again; if it goes on, tell the system administrator.");
  });
});

describe("errorText", () => {
  test("an API error's own sentence", () => {
    expect(errorText(new ApiError(422, "The name is already taken.", "/api/v1/cameras"))).toBe("The name is already taken.");
  });

  test("fetch's own network failure reads as the network message", () => {
    expect(errorText(new TypeError("Failed to fetch"))).toBe(statusMessage(0));
    expect(errorText(new TypeError("NetworkError when attempting to fetch resource."))).toBe(statusMessage(0));
  });

  test("a bug in the console is named as one, with its detail", () => {
    expect(errorText(new TypeError("x is undefined"))).toBe("Something went wrong in the console: x is undefined. Reload the page and try again.");
    expect(errorText(new RangeError(""))).toBe("Something went wrong in the console: RangeError. Reload the page and try again.");
  });

  test("a thrown string is shown as it is; anything else by its type", () => {
    expect(errorText("The camera is offline.")).toBe("The camera is offline.");
    expect(errorText({ status: 500 })).toBe("Something went wrong in the console: object. Reload the page and try again.");
  });
});
