// A camera's timeline: what was recorded (spans) and what was not (gaps),
// zoomable from 1 minute to 7 days, with scrubbing and playback of the
// recordings at 1×, 2×, 4× or 8×. Playback asks the operator for a purpose
// and a case reference first: the server refuses without them and records
// them in the audit log with every file played.

import { api, errorText, statusMessage, type Camera } from "./api";
import { h } from "./dom";
import { fmtDateTime, register, t } from "./i18n";

register("timeline", {
  en: {
    "timeline.zoom_1m": "1 min",
    "timeline.zoom_5m": "5 min",
    "timeline.zoom_15m": "15 min",
    "timeline.zoom_1h": "1 h",
    "timeline.zoom_6h": "6 h",
    "timeline.zoom_24h": "24 h",
    "timeline.zoom_7d": "7 days",
    "timeline.bar": "Time: click or drag to pick, arrow keys to step",
    "timeline.play": "Play",
    "timeline.pause": "Pause",
    "timeline.no_play": "Playback needs a supervisor or operator role; ask an administrator if your work needs it",
    "timeline.zoom": "Zoom",
    "timeline.zoom_in": "Zoom in",
    "timeline.zoom_out": "Zoom out",
    "timeline.earlier": "Earlier",
    "timeline.later": "Later",
    "timeline.follow": "Follow the present",
    "timeline.now": "Now",
    "timeline.speed": "Playback speed",
    "timeline.close": "Close the timeline",
    "timeline.close_hint": "Close",
    "timeline.purpose_placeholder": "e.g. traffic accident investigation",
    "timeline.case_placeholder": "e.g. CASE-2026-0142",
    "timeline.cancel": "Cancel",
    "timeline.why": "Why are you viewing this recording?",
    "timeline.why_hint": "Recorded video is played only with a purpose and a case reference; both are written to the audit log.",
    "timeline.purpose": "Purpose",
    "timeline.case_ref": "Case reference",
    "timeline.recordings_of": "Recordings of {name}",
    "timeline.recordings": "Recordings · ",
    "timeline.recorded": "recorded {from} – {to}",
    "timeline.nothing_after": "Nothing was recorded after this time.",
    "timeline.playing_from": "No recording at {at}: playing from {from}.",
    "timeline.playback_failed": "Playback failed ({detail}). Try again; if it goes on, reload the page.",
    "timeline.stopped": "The video stopped at {at} (paused for long?): going on from there.",
    "timeline.most_recent": "Reached the most recent recording.",
    "timeline.cannot_play": "The browser could not play this recording. Try another time or another browser.",
  },
  "sr-Latn": {
    "timeline.zoom_1m": "1 min",
    "timeline.zoom_5m": "5 min",
    "timeline.zoom_15m": "15 min",
    "timeline.zoom_1h": "1 č",
    "timeline.zoom_6h": "6 č",
    "timeline.zoom_24h": "24 č",
    "timeline.zoom_7d": "7 dana",
    "timeline.bar": "Vreme: kliknite ili prevucite da izaberete, strelicama pomerate korak po korak",
    "timeline.play": "Pusti",
    "timeline.pause": "Pauza",
    "timeline.no_play": "Za pregled snimaka potrebna je uloga nadzornika ili operatera; zatražite je od administratora ako vam je potrebna za posao",
    "timeline.zoom": "Razmera",
    "timeline.zoom_in": "Uvećaj",
    "timeline.zoom_out": "Umanji",
    "timeline.earlier": "Ranije",
    "timeline.later": "Kasnije",
    "timeline.follow": "Prati sadašnji trenutak",
    "timeline.now": "Sada",
    "timeline.speed": "Brzina reprodukcije",
    "timeline.close": "Zatvori vremensku liniju",
    "timeline.close_hint": "Zatvori",
    "timeline.purpose_placeholder": "npr. istraga saobraćajne nezgode",
    "timeline.case_placeholder": "npr. `KU-2026-0142`",
    "timeline.cancel": "Otkaži",
    "timeline.why": "Zašto pregledate ovaj snimak?",
    "timeline.why_hint": "Snimak se pušta samo uz svrhu i broj predmeta; oba se upisuju u revizorski dnevnik.",
    "timeline.purpose": "Svrha",
    "timeline.case_ref": "Broj predmeta",
    "timeline.recordings_of": "Snimci kamere {name}",
    "timeline.recordings": "Snimci · ",
    "timeline.recorded": "snimljeno {from} – {to}",
    "timeline.nothing_after": "Posle ovog trenutka ništa nije snimljeno.",
    "timeline.playing_from": "Nema snimka u {at}: pušta se od {from}.",
    "timeline.playback_failed": "Reprodukcija nije uspela ({detail}). Pokušajte ponovo; ako se ponavlja, osvežite stranicu.",
    "timeline.stopped": "Video je stao u {at} (dugo pauziran?): nastavlja se odatle.",
    "timeline.most_recent": "Stigli ste do najnovijeg snimka.",
    "timeline.cannot_play": "Pregledač nije mogao da pusti ovaj snimak. Pokušajte drugo vreme ili drugi pregledač.",
  },
});

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
/** Visible widths of the timeline, narrowest first. */
export const ZOOMS: { ms: number; label: string }[] = [
  { ms: MIN, label: "timeline.zoom_1m" },
  { ms: 5 * MIN, label: "timeline.zoom_5m" },
  { ms: 15 * MIN, label: "timeline.zoom_15m" },
  { ms: HOUR, label: "timeline.zoom_1h" },
  { ms: 6 * HOUR, label: "timeline.zoom_6h" },
  { ms: DAY, label: "timeline.zoom_24h" },
  { ms: 7 * DAY, label: "timeline.zoom_7d" },
];
export const SPEEDS = [1, 2, 4, 8] as const;
/** The server lists and plays at most 24 hours per request. */
const MAX_REQUEST_MS = DAY;
/** One file plays at most this much until the server says otherwise: for a
 * viewer without an unmask grant it blurs faces as it sends, and caps each
 * request ([video] max_blurred_minutes, given in the console config). The
 * next file follows at the end of each. */
export const DEFAULT_MAX_FILE_MS = 15 * MIN;

export interface Span {
  start: number;
  end: number;
}

/** Why video is being viewed; asked once per console session, changeable. */
export interface Purpose {
  purpose: string;
  caseRef: string;
}

/** Spans of [start, end), asking the server a day at a time and joining the pieces. */
export async function loadSpans(cameraId: string, start: number, end: number, signal?: AbortSignal): Promise<Span[]> {
  const pieces: Promise<Span[]>[] = [];
  for (let a = start; a < end; a += MAX_REQUEST_MS) {
    const b = Math.min(end, a + MAX_REQUEST_MS);
    pieces.push(api.recordings(cameraId, new Date(a), new Date(b), signal).then((r) => r.spans.map((s) => ({ start: Date.parse(s.start), end: Date.parse(s.end) }))));
  }
  const all = (await Promise.all(pieces)).flat().sort((x, y) => x.start - y.start);
  const joined: Span[] = [];
  for (const s of all) {
    const last = joined[joined.length - 1];
    if (last && s.start <= last.end + 1) last.end = Math.max(last.end, s.end);
    else joined.push({ ...s });
  }
  return joined;
}

/** A time on the timeline in the user's locale (24-hour clock), with the date when asked. */
function fmtTime(ms: number, withDate: boolean): string {
  const time: Intl.DateTimeFormatOptions = { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" };
  return fmtDateTime(new Date(ms), withDate ? { year: "numeric", month: "2-digit", day: "2-digit", ...time } : time);
}

export class Timeline {
  readonly el: HTMLElement;
  private readonly bar: HTMLElement;
  private readonly spansEl: HTMLElement;
  private readonly ticks: HTMLElement;
  private readonly playhead: HTMLElement;
  private readonly timeLabel: HTMLElement;
  private readonly rangeLabel: HTMLElement;
  private readonly message: HTMLElement;
  private readonly video: HTMLVideoElement;
  private readonly playBtn: HTMLButtonElement;
  private readonly zoomSelect: HTMLSelectElement;
  private readonly speedButtons = new Map<number, HTMLButtonElement>();
  private readonly dialog: HTMLFormElement;

  private zoom = 3; // 1 h
  private viewEnd = Date.now();
  /** The view's end follows the clock. */
  private following = true;
  private spans: Span[] = [];
  /** The picked time (playhead), ms since 1970. */
  private cursor = Date.now() - 30_000;
  private speed = 1;
  /** The file playing covers [fileStart, fileEnd). */
  private fileStart = 0;
  private fileEnd = 0;
  private refreshTimer = 0;
  private loadAbort: AbortController | null = null;
  private destroyed = false;
  private pendingPlay: number | null = null;

  constructor(
    private camera: Camera,
    private readonly canPlay: boolean,
    private readonly purposeStore: { get(): Purpose | null; set(p: Purpose): void },
    private readonly onClose: () => void,
    private readonly maxFileMs: () => number = () => DEFAULT_MAX_FILE_MS,
  ) {
    this.spansEl = h("div", { class: "tl-spans" });
    this.ticks = h("div", { class: "tl-ticks" });
    this.playhead = h("div", { class: "tl-playhead", "data-testid": "timeline-playhead" });
    this.bar = h("div", { class: "tl-bar", "data-testid": "timeline-bar", role: "slider", tabindex: "0", "aria-label": t("timeline.bar") }, this.spansEl, this.playhead);
    this.timeLabel = h("span", { class: "tl-time", "data-testid": "timeline-time" });
    this.rangeLabel = h("span", { class: "tl-range muted" });
    this.message = h("div", { class: "tl-message", "data-testid": "timeline-message", "aria-live": "polite" });
    this.video = h("video", { class: "tl-video", "data-testid": "playback-video", playsinline: true, muted: true });
    this.video.muted = true;
    this.playBtn = h("button", { type: "button", class: "btn btn-primary btn-small", "data-testid": "timeline-play", disabled: !canPlay }, t("timeline.play"));
    if (!canPlay) this.playBtn.title = t("timeline.no_play");
    this.playBtn.addEventListener("click", () => (this.video.paused || !this.video.src ? void this.play(this.cursor) : this.video.pause()));

    this.zoomSelect = h("select", { class: "tl-zoom", "data-testid": "timeline-zoom", "aria-label": t("timeline.zoom") });
    ZOOMS.forEach((z, i) => this.zoomSelect.appendChild(h("option", { value: String(i) }, t(z.label))));
    this.zoomSelect.value = String(this.zoom);
    this.zoomSelect.addEventListener("change", () => this.setZoom(Number(this.zoomSelect.value), this.cursor));
    const zoomIn = h("button", { type: "button", class: "tile-btn", title: t("timeline.zoom_in"), "aria-label": t("timeline.zoom_in"), "data-testid": "timeline-zoom-in" }, "+");
    zoomIn.addEventListener("click", () => this.setZoom(this.zoom - 1, this.cursor));
    const zoomOut = h("button", { type: "button", class: "tile-btn", title: t("timeline.zoom_out"), "aria-label": t("timeline.zoom_out"), "data-testid": "timeline-zoom-out" }, "−");
    zoomOut.addEventListener("click", () => this.setZoom(this.zoom + 1, this.cursor));
    const back = h("button", { type: "button", class: "tile-btn", title: t("timeline.earlier"), "aria-label": t("timeline.earlier") }, "◀");
    back.addEventListener("click", () => this.pan(-0.5));
    const fwd = h("button", { type: "button", class: "tile-btn", title: t("timeline.later"), "aria-label": t("timeline.later") }, "▶");
    fwd.addEventListener("click", () => this.pan(0.5));
    const now = h("button", { type: "button", class: "tile-btn", title: t("timeline.follow"), "data-testid": "timeline-now" }, t("timeline.now"));
    now.addEventListener("click", () => {
      this.following = true;
      this.viewEnd = Date.now();
      void this.refresh();
    });
    const speeds = h("div", { class: "tl-speeds", role: "group", "aria-label": t("timeline.speed") });
    for (const s of SPEEDS) {
      const b = h("button", { type: "button", class: "layout-btn", "data-testid": `speed-${s}`, "aria-pressed": String(s === 1) }, `${s}×`);
      b.addEventListener("click", () => this.setSpeed(s));
      this.speedButtons.set(s, b);
      speeds.appendChild(b);
    }
    const close = h("button", { type: "button", class: "icon-btn", "aria-label": t("timeline.close"), title: t("timeline.close_hint"), "data-testid": "timeline-close" }, "×");
    close.addEventListener("click", () => this.onClose());

    // Purpose and case reference, asked before the first playback.
    const purposeInput = h("input", { type: "text", name: "purpose", required: true, maxlength: "200", placeholder: t("timeline.purpose_placeholder"), "data-testid": "purpose-input", autocomplete: "off" });
    const caseInput = h("input", { type: "text", name: "case_ref", required: true, maxlength: "100", placeholder: t("timeline.case_placeholder"), "data-testid": "case-ref-input", autocomplete: "off" });
    const cancel = h("button", { type: "button", class: "btn btn-small" }, t("timeline.cancel"));
    this.dialog = h(
      "form",
      { class: "tl-dialog", "data-testid": "purpose-dialog", hidden: true },
      h("div", { class: "tl-dialog-title" }, t("timeline.why")),
      h("div", { class: "muted" }, t("timeline.why_hint")),
      h("label", {}, t("timeline.purpose"), purposeInput),
      h("label", {}, t("timeline.case_ref"), caseInput),
      h("div", { class: "tl-dialog-actions" }, cancel, h("button", { type: "submit", class: "btn btn-primary btn-small", "data-testid": "purpose-submit" }, t("timeline.play"))),
    );
    cancel.addEventListener("click", () => {
      this.dialog.hidden = true;
      this.pendingPlay = null;
    });
    this.dialog.addEventListener("submit", (e) => {
      e.preventDefault();
      const p = { purpose: purposeInput.value.trim(), caseRef: caseInput.value.trim() };
      if (!p.purpose || !p.caseRef) return;
      this.purposeStore.set(p);
      this.dialog.hidden = true;
      const at = this.pendingPlay;
      this.pendingPlay = null;
      if (at !== null) void this.play(at);
    });

    this.el = h(
      "section",
      { class: "timeline", "data-testid": "timeline", "data-camera-id": camera.id, "aria-label": t("timeline.recordings_of", { name: camera.name }) },
      h(
        "div",
        { class: "tl-head" },
        h("h2", {}, t("timeline.recordings"), h("span", { class: "tl-camera" }, camera.name)),
        this.rangeLabel,
        h("div", { class: "spacer" }),
        back,
        zoomOut,
        this.zoomSelect,
        zoomIn,
        fwd,
        now,
        close,
      ),
      h("div", { class: "tl-body" }, this.video, h("div", { class: "tl-side" }, h("div", { class: "tl-controls" }, this.playBtn, speeds, this.timeLabel), this.message, this.dialog)),
      this.ticks,
      this.bar,
    );

    this.bindScrub();
    this.video.addEventListener("timeupdate", () => {
      if (!this.video.src) return;
      this.cursor = this.fileStart + this.video.currentTime * 1000;
      this.drawCursor();
    });
    this.video.addEventListener("ended", () => void this.playNextSpan());
    this.video.addEventListener("play", () => (this.playBtn.textContent = t("timeline.pause")));
    this.video.addEventListener("pause", () => (this.playBtn.textContent = t("timeline.play")));
    this.video.addEventListener("error", () => void this.explainVideoError());
    this.refreshTimer = window.setInterval(() => {
      if (this.following) {
        this.viewEnd = Date.now();
        void this.refresh();
      }
    }, 5000);
    void this.refresh();
  }

  destroy(): void {
    this.destroyed = true;
    window.clearInterval(this.refreshTimer);
    this.loadAbort?.abort();
    this.video.pause();
    this.video.removeAttribute("src");
    this.video.load();
  }

  /** Shows another camera's recordings. */
  setCamera(camera: Camera): void {
    if (camera.id === this.camera.id) return;
    this.camera = camera;
    this.el.dataset.cameraId = camera.id;
    this.el.querySelector(".tl-camera")!.textContent = camera.name;
    this.video.pause();
    this.video.removeAttribute("src");
    this.video.load();
    this.spans = [];
    void this.refresh();
  }

  /**
   * Stops following the present and puts the cursor at `t` (ms), with five
   * minutes around it in view: ready to play what a camera recorded at an
   * alert (Play still asks for the purpose and case reference).
   */
  cue(t: number): void {
    this.following = false;
    this.cursor = Math.min(Date.now(), t);
    this.zoom = 1;
    this.zoomSelect.value = String(this.zoom);
    this.viewEnd = Math.min(Date.now(), this.cursor + this.width / 2);
    this.el.dataset.cue = new Date(this.cursor).toISOString();
    void this.refresh();
  }

  private get width(): number {
    return ZOOMS[this.zoom].ms;
  }

  private get viewStart(): number {
    return this.viewEnd - this.width;
  }

  private setZoom(i: number, around: number): void {
    const z = Math.max(0, Math.min(ZOOMS.length - 1, i));
    if (z === this.zoom) return;
    // Following the present, the right edge stays "now"; otherwise `around`
    // keeps its place on the bar.
    const frac = Math.min(1, Math.max(0, (around - this.viewStart) / this.width));
    this.zoom = z;
    this.zoomSelect.value = String(z);
    if (!this.following) {
      this.viewEnd = Math.min(Date.now(), around + (1 - frac) * this.width);
      this.following = this.viewEnd >= Date.now() - 1000;
    } else {
      this.viewEnd = Date.now();
    }
    void this.refresh();
  }

  private pan(fraction: number): void {
    this.viewEnd = Math.min(Date.now(), this.viewEnd + fraction * this.width);
    this.following = this.viewEnd >= Date.now() - 1000;
    void this.refresh();
  }

  private setSpeed(s: number): void {
    this.speed = s;
    this.video.defaultPlaybackRate = s;
    this.video.playbackRate = s;
    for (const [n, b] of this.speedButtons) b.setAttribute("aria-pressed", String(n === s));
    this.el.dataset.speed = String(s);
  }

  private async refresh(): Promise<void> {
    this.loadAbort?.abort();
    const ctrl = new AbortController();
    this.loadAbort = ctrl;
    const [start, end] = [this.viewStart, this.viewEnd];
    try {
      const spans = await loadSpans(this.camera.id, start, end, ctrl.signal);
      if (this.destroyed || ctrl.signal.aborted) return;
      this.spans = spans;
      this.draw();
      this.el.dataset.spans = String(spans.length);
    } catch (e) {
      if (e instanceof DOMException && e.name === "AbortError") return;
      this.say(errorText(e));
    }
  }

  private x(t: number): number {
    return ((t - this.viewStart) / this.width) * 100;
  }

  private draw(): void {
    const withDate = this.width > 6 * HOUR;
    this.rangeLabel.textContent = `${fmtTime(this.viewStart, true)} – ${fmtTime(this.viewEnd, withDate)}`;
    this.spansEl.replaceChildren(
      ...this.spans.map((s) => {
        const left = Math.max(0, this.x(s.start));
        const right = Math.min(100, this.x(s.end));
        return h("div", {
          class: "tl-span",
          "data-testid": "timeline-span",
          style: `left:${left}%;width:${Math.max(0.15, right - left)}%`,
          title: t("timeline.recorded", { from: fmtTime(s.start, true), to: fmtTime(s.end, true) }),
        });
      }),
    );
    // About six labelled ticks at round times.
    const steps = [10e3, 30e3, MIN, 5 * MIN, 10 * MIN, 30 * MIN, HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY];
    const step = steps.find((s) => this.width / s <= 7) ?? DAY;
    const offset = new Date().getTimezoneOffset() * MIN;
    const ticks: HTMLElement[] = [];
    for (let t = Math.ceil((this.viewStart - offset) / step) * step + offset; t <= this.viewEnd; t += step) {
      ticks.push(h("span", { class: "tl-tick", style: `left:${this.x(t)}%` }, fmtTime(t, step >= DAY).replace(/:00$/, "")));
    }
    this.ticks.replaceChildren(...ticks);
    this.drawCursor();
  }

  private drawCursor(): void {
    const x = this.x(this.cursor);
    this.playhead.hidden = x < 0 || x > 100;
    this.playhead.style.left = `${x}%`;
    this.timeLabel.textContent = fmtTime(this.cursor, true);
    this.el.dataset.cursor = new Date(this.cursor).toISOString();
    this.bar.setAttribute("aria-valuetext", fmtTime(this.cursor, true));
  }

  private bindScrub(): void {
    const timeAt = (clientX: number) => {
      const r = this.bar.getBoundingClientRect();
      const frac = Math.min(1, Math.max(0, (clientX - r.left) / r.width));
      return Math.min(Date.now(), this.viewStart + frac * this.width);
    };
    let dragging = false;
    this.bar.addEventListener("pointerdown", (e) => {
      dragging = true;
      this.bar.setPointerCapture(e.pointerId);
      this.cursor = timeAt(e.clientX);
      this.drawCursor();
    });
    this.bar.addEventListener("pointermove", (e) => {
      if (!dragging) return;
      this.cursor = timeAt(e.clientX);
      this.drawCursor();
    });
    const release = () => {
      if (!dragging) return;
      dragging = false;
      this.seek(this.cursor);
    };
    this.bar.addEventListener("pointerup", release);
    this.bar.addEventListener("pointercancel", release);
    this.bar.addEventListener("wheel", (e) => {
      e.preventDefault();
      this.setZoom(this.zoom + (e.deltaY > 0 ? 1 : -1), timeAt(e.clientX));
    });
    this.bar.addEventListener("keydown", (e) => {
      const step = this.width / 50;
      if (e.key === "ArrowLeft" || e.key === "ArrowRight") {
        e.preventDefault();
        this.cursor = Math.min(Date.now(), this.cursor + (e.key === "ArrowLeft" ? -step : step));
        this.drawCursor();
        this.seek(this.cursor);
      } else if (e.key === " " || e.key === "Enter") {
        e.preventDefault();
        this.playBtn.click();
      }
    });
  }

  /** Moves playback to `t`: within the file playing, or a new file. */
  private seek(t: number): void {
    if (!this.video.src) return; // not playing: the cursor is where Play starts
    // A blurred file is sent as it is made, without byte ranges: only what
    // has arrived can be sought; elsewhere a new file starts there.
    const at = (t - this.fileStart) / 1000;
    const seekable = Array.from({ length: this.video.seekable.length }, (_, i) => [this.video.seekable.start(i), this.video.seekable.end(i)]);
    if (t >= this.fileStart && t < this.fileEnd && seekable.some(([a, b]) => at >= a && at <= b)) {
      this.video.currentTime = at;
    } else {
      void this.play(t);
    }
  }

  private say(text: string): void {
    this.message.textContent = text;
  }

  /** Plays the recording from `at` (or from the next recorded moment after it) to the end of its span. */
  async play(at: number): Promise<void> {
    if (!this.canPlay) return;
    const purpose = this.purposeStore.get();
    if (!purpose) {
      this.pendingPlay = at;
      this.dialog.hidden = false;
      this.dialog.querySelector<HTMLInputElement>("input")?.focus();
      return;
    }
    // Recordings grow while the camera records: look again.
    this.spans = await loadSpans(this.camera.id, Math.min(at, this.viewStart), Date.now()).catch(() => this.spans);
    this.draw();
    const span = this.spans.find((s) => s.end > at + 100);
    if (!span) {
      this.say(t("timeline.nothing_after"));
      return;
    }
    const start = Math.max(at, span.start);
    const end = Math.min(span.end, start + this.maxFileMs());
    if (end - start < 200) {
      this.say(t("timeline.nothing_after"));
      return;
    }
    this.say(start > at ? t("timeline.playing_from", { at: fmtTime(at, true), from: fmtTime(start, true) }) : "");
    const q = new URLSearchParams({
      start: new Date(start).toISOString(),
      end: new Date(end).toISOString(),
      purpose: purpose.purpose,
      case_ref: purpose.caseRef,
    });
    this.fileStart = start;
    this.fileEnd = end;
    this.cursor = start;
    this.video.src = `/api/v1/cameras/${encodeURIComponent(this.camera.id)}/view.mp4?${q}`;
    this.video.defaultPlaybackRate = this.speed;
    this.video.playbackRate = this.speed;
    this.el.dataset.playing = q.get("start")!;
    try {
      await this.video.play();
    } catch (e) {
      if (!(e instanceof DOMException && e.name === "AbortError")) this.say(t("timeline.playback_failed", { detail: errorText(e) }));
    }
  }

  /** At the end of a file: go on with what was recorded after it, or from
   * where it stopped if it stopped short (the server ends a blurred file
   * whose viewer took nothing for a minute, paused with a full buffer). */
  private async playNextSpan(): Promise<void> {
    const stopped = this.fileStart + this.video.currentTime * 1000;
    if (stopped < this.fileEnd - 5000) {
      await this.play(stopped);
      this.say(t("timeline.stopped", { at: fmtTime(stopped, true) }));
      return;
    }
    const next = this.fileEnd + 1;
    if (next >= Date.now() - 2000) {
      this.say(t("timeline.most_recent"));
      return;
    }
    await this.play(next);
  }

  /** A `<video>` error says nothing; ask the server what it objects to. */
  private async explainVideoError(): Promise<void> {
    const src = this.video.getAttribute("src");
    if (!src) return;
    try {
      // A range that does not start at 0 is not audited as another viewing.
      // (416: a blurred file, which has no ranges; nothing to explain.)
      const r = await fetch(src, { headers: { Range: "bytes=1-1" }, credentials: "same-origin" });
      if (!r.ok && r.status !== 416) {
        const body = (await r.json().catch(() => ({}))) as { error?: string };
        this.say(body.error ?? statusMessage(r.status));
        if (r.status === 400) this.purposeStore.set({ purpose: "", caseRef: "" });
        return;
      }
    } catch {
      // The server could not be asked: what the browser says is all there is.
    }
    this.say(t("timeline.cannot_play"));
  }
}
