// A camera's status as the console shows it. The registry's status is the
// recorder's observation; a camera this server does not connect to (not
// recorded) has nobody observing it, so it is shown as "not recorded"
// rather than as an "unknown" that reads as broken.

import type { Camera } from "./api";
import { register, t } from "./i18n";

register("camstatus", {
  en: {
    "camstatus.online": "Online",
    "camstatus.offline": "Offline",
    "camstatus.unknown": "Unknown",
    "camstatus.not_recorded": "Not recorded",
    "camstatus.disabled": "Disabled",
  },
  "sr-Latn": {
    "camstatus.online": "Na vezi",
    "camstatus.offline": "Van veze",
    "camstatus.unknown": "Nepoznato",
    "camstatus.not_recorded": "Ne snima se",
    "camstatus.disabled": "Isključena",
  },
});

/** The status to draw: `not_recorded` when nobody observes the camera. */
export function displayStatus(c: Pick<Camera, "status" | "recorded">): string {
  if (c.status === "disabled") return "disabled";
  return c.recorded === false ? "not_recorded" : c.status;
}

/** The status's name for people. */
export function statusLabel(status: string): string {
  return ["online", "offline", "unknown", "not_recorded", "disabled"].includes(status) ? t(`camstatus.${status}`) : status;
}
