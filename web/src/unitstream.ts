// Units pushed by the server (WebSocket /api/v1/dispatch/stream): a
// snapshot of every unit the user may follow, then each change as it is
// committed. While the socket is down the units are polled slowly (the
// `fallback`), and the socket is reconnected with backoff.

import type { Unit } from "./api";

/** Polling pace while the stream is down; the stream itself needs none. */
const FALLBACK_MS = 15_000;

type Message =
  | { kind: "snapshot"; units: Unit[] }
  | { kind: "unit"; unit: Unit }
  | { kind: "removed"; unit_id: string };

export type StreamState = "connecting" | "open" | "closed";

export class UnitStream {
  private readonly units = new Map<string, Unit>();
  private ws: WebSocket | null = null;
  private closed = false;
  private retry = 0;
  private retryTimer = 0;
  private fallbackTimer = 0;

  /**
   * `onUnits` gets every unit known after each change; `fallback` loads
   * them without the stream (GET /api/v1/units, or the officer's own).
   */
  constructor(
    private readonly onUnits: (units: Unit[]) => void,
    private readonly fallback: () => Promise<Unit[]>,
    private readonly onState?: (s: StreamState) => void,
    private readonly onError?: (e: unknown) => void,
  ) {
    this.connect();
  }

  destroy(): void {
    this.closed = true;
    window.clearTimeout(this.retryTimer);
    window.clearInterval(this.fallbackTimer);
    this.ws?.close();
    this.ws = null;
  }

  private connect(): void {
    if (this.closed) return;
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${proto}//${location.host}/api/v1/dispatch/stream`);
    this.ws = ws;
    this.setState("connecting");
    ws.onopen = () => {
      this.retry = 0;
      window.clearInterval(this.fallbackTimer);
      this.fallbackTimer = 0;
      this.setState("open");
    };
    ws.onmessage = (ev) => {
      if (typeof ev.data !== "string") return;
      let m: Message;
      try {
        m = JSON.parse(ev.data) as Message;
      } catch {
        return;
      }
      if (m.kind === "snapshot") {
        this.units.clear();
        for (const u of m.units) this.units.set(u.id, u);
      } else if (m.kind === "unit") {
        this.units.set(m.unit.id, m.unit);
      } else if (m.kind === "removed") {
        this.units.delete(m.unit_id);
      } else {
        return;
      }
      this.emit();
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.setState("closed");
      if (this.closed || ev.code === 4401 || ev.code === 4403) return;
      this.startFallback();
      const delay = Math.min(30_000, 500 * 2 ** this.retry++);
      this.retryTimer = window.setTimeout(() => this.connect(), delay);
    };
  }

  private startFallback(): void {
    if (this.fallbackTimer) return;
    const poll = async () => {
      try {
        const units = await this.fallback();
        // The stream came back meanwhile: its snapshot is newer.
        if (this.closed || this.ws?.readyState === WebSocket.OPEN) return;
        this.units.clear();
        for (const u of units) this.units.set(u.id, u);
        this.emit();
      } catch (e) {
        this.onError?.(e);
      }
    };
    void poll();
    this.fallbackTimer = window.setInterval(() => void poll(), FALLBACK_MS);
  }

  private emit(): void {
    this.onUnits([...this.units.values()]);
  }

  private setState(s: StreamState): void {
    document.body.dataset.unitStream = s;
    this.onState?.(s);
  }
}
