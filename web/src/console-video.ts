// The console's video: the live wall (with its header button) and the
// recording timeline, which the wall, the camera details and the alerts open.

import type { Camera } from "./api";
import "./console-text";
import type { ConsoleContext } from "./console-context";
import { h } from "./dom";
import { t } from "./i18n";
import { LiveConnection } from "./live";
import { DEFAULT_MAX_FILE_MS, Timeline, type Purpose } from "./timeline";
import { VideoWall } from "./wall";

export class ConsoleVideo {
  /** The header's button that shows or hides the wall (with how many cameras are on it). */
  readonly wallBtn: HTMLButtonElement;
  readonly wall: VideoWall;
  /** Where the timeline appears (over the map). */
  readonly timelineHost: HTMLElement;
  private readonly live = new LiveConnection();
  private timeline: Timeline | null = null;
  private maxFileMs = DEFAULT_MAX_FILE_MS; // until the console config says
  private purpose: Purpose | null = null;
  /** The purpose and case given for playback, asked once per console. */
  private readonly purposeStore = {
    get: () => (this.purpose && this.purpose.purpose && this.purpose.caseRef ? this.purpose : null),
    set: (p: Purpose) => (this.purpose = p),
  };

  constructor(private readonly ctx: ConsoleContext) {
    this.timelineHost = h("div", { class: "timeline-host" });
    this.wallBtn = h("button", { type: "button", class: "btn btn-header", "data-testid": "wall-toggle", hidden: !ctx.can.live, title: t("console.wall_title") }, t("console.wall"));
    this.wall = new VideoWall(this.live, (cam) => this.openTimeline(cam), (n) => (this.wallBtn.textContent = n ? t("console.wall_n", { n }) : t("console.wall")));
    this.wallBtn.addEventListener("click", () => this.wall.toggle());
  }

  /** The longest blurred file the server makes, from the console config. */
  setMaxFileMs(ms: number): void {
    this.maxFileMs = ms;
  }

  openTimeline(cam: Camera): Timeline {
    if (this.timeline) this.timeline.setCamera(cam);
    else {
      this.timeline = new Timeline(cam, this.ctx.can.play, this.purposeStore, () => this.closeTimeline(), () => this.maxFileMs);
      this.timelineHost.appendChild(this.timeline.el);
    }
    return this.timeline;
  }

  closeTimeline(): void {
    this.timeline?.destroy();
    this.timeline?.el.remove();
    this.timeline = null;
  }

  destroy(): void {
    this.closeTimeline();
    this.wall.destroy();
    this.live.close();
  }
}
