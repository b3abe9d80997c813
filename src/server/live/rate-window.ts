/**
 * SRS's `kbps.recv_30s` / `send_30s`: a 30 s sliding window over two monotonic byte counters,
 * sampled by the server's own timer (every SAMPLE_INTERVAL_MS), never by API calls. Reading a
 * rate changes nothing, so any number of pollers see the same figures. The rate is from the oldest
 * sample inside the window to the counters' values now; before the first sample, from the base
 * (the connection's or stream's start, at 0 bytes), so a fresh client already shows a real rate.
 */

/** how often the server samples its counters (SRS's statistic timer) */
export const SAMPLE_INTERVAL_MS = 5000;
/** the sliding window of every `*_30s` rate */
export const RATE_WINDOW_MS = 30_000;

export interface ByteSample {
  at: number;
  recv: number;
  send: number;
}

export interface Kbps {
  recvKbps: number;
  sendKbps: number;
}

export class RateWindow {
  /** oldest first; at most RATE_WINDOW_MS / SAMPLE_INTERVAL_MS + 1 of them */
  private readonly samples: ByteSample[] = [];

  constructor(private readonly base: ByteSample) {}

  add(at: number, recv: number, send: number): void {
    this.samples.push({ at, recv, send });
    while (this.samples.length > 1 && this.samples[0]!.at < at - RATE_WINDOW_MS) this.samples.shift();
  }

  /** kbit/s from the oldest sample in the window (else the newest, else the base) to `recv`/`send` at `now`. */
  rate(now: number, recv: number, send: number): Kbps {
    const start = now - RATE_WINDOW_MS;
    // the base (the start, at 0 bytes) is the oldest sample while it is inside the window
    const from = this.base.at >= start ? this.base : (this.samples.find((s) => s.at >= start) ?? this.samples.at(-1) ?? this.base);
    // at least 1 s: a client 50 ms old would show its handshake burst as megabits
    const ms = Math.max(1000, now - from.at);
    return {
      recvKbps: Math.max(0, Math.round(((recv - from.recv) * 8) / ms)),
      sendKbps: Math.max(0, Math.round(((send - from.send) * 8) / ms)),
    };
  }
}
