// Live video: one WebSocket to /api/v1/live shared by every tile, and an MSE
// player per tile. Protocol: docs/design/live.md. The server sends
// `[channel byte][fMP4]` binary messages; a text message with `mime` comes
// before each init segment.

import { register, t } from "./i18n";

register("live", {
  en: {
    "live.connecting": "Connecting…",
    "live.session_ended": "Session ended",
    "live.not_permitted": "Live video needs a role that may watch it (operator, dispatcher, supervisor or officer)",
    "live.reconnecting": "Connection lost; reconnecting…",
    "live.cannot_play_type": "This browser cannot play {mime}",
    "live.offline": "Camera offline — waiting for it",
    "live.back_online": "Camera back online",
    "live.cannot_play": "This browser cannot play {mime}",
    "live.rejected": "The browser rejected the video data; close the tile and open it again",
    "live.append_failed": "The video could not be shown; close the tile and open it again",
    "live.live": "Live",
  },
  "sr-Latn": {
    "live.connecting": "Povezivanje…",
    "live.session_ended": "Sesija je istekla",
    "live.not_permitted": "Video uživo zahteva ulogu koja sme da ga gleda (operater, dispečer, nadzornik ili policajac)",
    "live.reconnecting": "Veza je prekinuta; ponovno povezivanje…",
    "live.cannot_play_type": "Ovaj pregledač ne može da reprodukuje {mime}",
    "live.offline": "Kamera ne radi — čeka se da se javi",
    "live.back_online": "Kamera ponovo radi",
    "live.cannot_play": "Ovaj pregledač ne može da reprodukuje {mime}",
    "live.rejected": "Pregledač je odbio video-podatke; zatvorite pločicu i otvorite je ponovo",
    "live.append_failed": "Video nije mogao da se prikaže; zatvorite pločicu i otvorite je ponovo",
    "live.live": "Uživo",
  },
});

type ServerText = {
  subscribed?: string;
  unsubscribed?: number;
  channel?: number;
  stream?: string;
  mime?: string;
  browser_playable?: boolean;
  state?: "online" | "offline";
  skipped?: number;
  unsupported?: string;
  error?: string;
  ref?: unknown;
  reason?: string;
  /** "blurred": the server pixelates faces for this viewer. */
  faces?: "blurred" | "shown";
};

/** What a tile hears about its camera. */
export interface LiveSink {
  /** A new init segment follows, for this MIME type. */
  onInit(mime: string): void;
  /** An fMP4 init segment or fragment. */
  onData(data: Uint8Array): void;
  /** online / offline / waiting / error text, for the tile's status line. */
  onStatus(state: "connecting" | "live" | "offline" | "error", text: string): void;
  /** Whether the server blurs faces in this camera's video for this viewer. */
  onFaces?(blurred: boolean): void;
}

interface Sub {
  camera: string;
  stream: string;
  sink: LiveSink;
  ref: number;
  channel: number | null;
}

/**
 * The console's one live connection. Tiles subscribe and unsubscribe; the
 * socket opens on the first subscription, reconnects with backoff (and
 * subscribes again) and closes when the last tile is gone.
 */
export class LiveConnection {
  private ws: WebSocket | null = null;
  private subs = new Map<number, Sub>(); // by ref
  private byChannel = new Map<number, Sub>();
  private nextRef = 1;
  private retry = 0;
  private retryTimer = 0;
  private closed = false;

  subscribe(camera: string, sink: LiveSink, stream = "auto"): () => void {
    const sub: Sub = { camera, stream, sink, ref: this.nextRef++, channel: null };
    this.subs.set(sub.ref, sub);
    sink.onStatus("connecting", t("live.connecting"));
    if (this.ws?.readyState === WebSocket.OPEN) this.sendSubscribe(sub);
    else this.open();
    return () => this.unsubscribe(sub.ref);
  }

  /** Closes the socket for good (logout). */
  close(): void {
    this.closed = true;
    window.clearTimeout(this.retryTimer);
    this.subs.clear();
    this.byChannel.clear();
    this.ws?.close();
    this.ws = null;
  }

  private unsubscribe(ref: number): void {
    const sub = this.subs.get(ref);
    if (!sub) return;
    this.subs.delete(ref);
    if (sub.channel !== null) {
      this.byChannel.delete(sub.channel);
      this.send({ unsubscribe: sub.channel });
    }
    if (this.subs.size === 0) {
      this.ws?.close();
      this.ws = null;
    }
  }

  private send(v: unknown): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(v));
  }

  private sendSubscribe(sub: Sub): void {
    this.send({ subscribe: sub.camera, stream: sub.stream, ref: sub.ref });
  }

  private open(): void {
    if (this.closed || this.ws) return;
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${proto}//${location.host}/api/v1/live`);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.onopen = () => {
      this.retry = 0;
      for (const sub of this.subs.values()) this.sendSubscribe(sub);
    };
    ws.onmessage = (ev) => {
      if (typeof ev.data === "string") this.onText(JSON.parse(ev.data) as ServerText);
      else this.onBinary(new Uint8Array(ev.data as ArrayBuffer));
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.byChannel.clear();
      for (const sub of this.subs.values()) {
        sub.channel = null;
        const why = ev.code === 4401 ? t("live.session_ended") : ev.code === 4403 ? t("live.not_permitted") : t("live.reconnecting");
        sub.sink.onStatus("error", why);
      }
      if (this.subs.size === 0 || this.closed || ev.code === 4401 || ev.code === 4403) return;
      // The handshake is refused (401/403) without a code browsers can see;
      // back off so a refused socket does not spin.
      const delay = Math.min(30_000, 500 * 2 ** this.retry++);
      this.retryTimer = window.setTimeout(() => this.open(), delay);
    };
  }

  private onText(m: ServerText): void {
    if (m.subscribed !== undefined && typeof m.ref === "number" && m.channel !== undefined) {
      const sub = this.subs.get(m.ref);
      if (!sub) {
        // The tile went away meanwhile.
        this.send({ unsubscribe: m.channel });
        return;
      }
      sub.channel = m.channel;
      this.byChannel.set(m.channel, sub);
      sub.sink.onFaces?.(m.faces === "blurred");
      return;
    }
    if (m.error !== undefined) {
      const sub = typeof m.ref === "number" ? this.subs.get(m.ref) : undefined;
      sub?.sink.onStatus("error", m.error);
      return;
    }
    if (m.channel === undefined) return;
    const sub = this.byChannel.get(m.channel);
    if (!sub) return;
    if (m.unsubscribed !== undefined) {
      this.byChannel.delete(m.channel);
      sub.channel = null;
      if (m.reason) sub.sink.onStatus("error", m.reason);
    } else if (m.mime !== undefined) {
      if (m.browser_playable === false || !("MediaSource" in window) || !MediaSource.isTypeSupported(m.mime)) {
        sub.sink.onStatus("error", t("live.cannot_play_type", { mime: m.mime }));
      }
      sub.sink.onInit(m.mime);
    } else if (m.unsupported !== undefined) {
      sub.sink.onStatus("error", m.unsupported);
    } else if (m.state === "offline") {
      sub.sink.onStatus("offline", t("live.offline"));
    } else if (m.state === "online") {
      sub.sink.onStatus("connecting", t("live.back_online"));
    }
  }

  private onBinary(b: Uint8Array): void {
    const sub = this.byChannel.get(b[0]);
    if (sub) sub.sink.onData(b.subarray(1));
  }
}

/** Behind the live edge by more than this, the player jumps forward. */
const MAX_LATENCY_S = 1.5;
/** Right after an init segment the cached GOP arrives at once: start near its end. */
const START_LATENCY_S = 0.4;
const START_WINDOW_MS = 3000;
/** How much played video to keep buffered. */
const KEEP_S = 20;

/**
 * An MSE player for one live channel: appends init segments and fragments
 * in order, keeps near the live edge and trims what was played.
 */
export class LivePlayer implements LiveSink {
  readonly video: HTMLVideoElement;
  private ms: MediaSource | null = null;
  private sb: SourceBuffer | null = null;
  private mime: string | null = null;
  private queue: Uint8Array[] = [];
  private url: string | null = null;
  private initAt = 0;

  constructor(private readonly status: (state: string, text: string) => void) {
    this.video = document.createElement("video");
    this.video.muted = true;
    this.video.autoplay = true;
    this.video.playsInline = true;
  }

  /** Marks the tile holding the video, for the "faces blurred" badge. */
  onFaces(blurred: boolean): void {
    const tile = this.video.parentElement;
    if (tile) tile.dataset.faces = blurred ? "blurred" : "shown";
  }

  onInit(mime: string): void {
    if (this.mime !== null && this.mime !== mime) this.reset();
    this.mime = mime;
    this.initAt = performance.now();
    if (!this.ms) this.attach();
  }

  onData(data: Uint8Array): void {
    // Browsers may keep the socket's buffer: copy what we keep.
    this.queue.push(data.slice());
    if (this.queue.length > 600) {
      // Appends cannot keep up (a hidden tab): start over at the next init.
      this.queue = [];
      this.reset();
      return;
    }
    this.pump();
  }

  onStatus(state: "connecting" | "live" | "offline" | "error", text: string): void {
    this.status(state, text);
  }

  destroy(): void {
    this.reset();
    this.video.removeAttribute("src");
    this.video.load();
  }

  private attach(): void {
    const ms = new MediaSource();
    this.ms = ms;
    this.url = URL.createObjectURL(ms);
    this.video.src = this.url;
    ms.addEventListener("sourceopen", () => {
      if (this.ms !== ms || !this.mime) return;
      try {
        this.sb = ms.addSourceBuffer(this.mime);
      } catch (e) {
        console.warn("addSourceBuffer", e);
        this.status("error", t("live.cannot_play", { mime: this.mime }));
        return;
      }
      this.sb.mode = "segments";
      this.sb.addEventListener("updateend", () => this.afterAppend());
      this.sb.addEventListener("error", () => this.status("error", t("live.rejected")));
      this.pump();
    });
  }

  private reset(): void {
    this.sb = null;
    if (this.ms && this.ms.readyState === "open") {
      try {
        this.ms.endOfStream();
      } catch {
        /* already ended */
      }
    }
    this.ms = null;
    if (this.url) URL.revokeObjectURL(this.url);
    this.url = null;
    this.mime = null;
  }

  private pump(): void {
    const sb = this.sb;
    if (!sb || sb.updating || this.queue.length === 0) return;
    const next = this.queue.shift()!;
    try {
      sb.appendBuffer(next as BufferSource);
    } catch (e) {
      if (e instanceof DOMException && e.name === "QuotaExceededError") {
        this.queue.unshift(next);
        this.trim(true);
      } else {
        console.warn("appendBuffer", e);
        this.status("error", t("live.append_failed"));
      }
    }
  }

  private afterAppend(): void {
    const v = this.video;
    const b = v.buffered;
    if (b.length > 0) {
      const end = b.end(b.length - 1);
      const start = b.start(b.length - 1);
      // Start, or catch up, near the live edge (decoding resumes from the
      // key frame before the target on its own).
      const limit = performance.now() - this.initAt < START_WINDOW_MS ? START_LATENCY_S : MAX_LATENCY_S;
      if (v.currentTime < start || end - v.currentTime > limit) {
        v.currentTime = Math.max(start, end - 0.3);
      }
      if (v.paused) void v.play().catch(() => undefined);
      if (!v.paused || v.readyState >= 2) this.status("live", t("live.live"));
    }
    if (!this.trim(false)) this.pump();
  }

  /** Removes played video; true if a removal is under way. */
  private trim(force: boolean): boolean {
    const sb = this.sb;
    const b = this.video.buffered;
    if (!sb || sb.updating || b.length === 0) return false;
    const cut = this.video.currentTime - (force ? 2 : KEEP_S);
    if (b.start(0) < cut - (force ? 0 : 10)) {
      sb.remove(0, cut);
      return true;
    }
    return false;
  }
}
