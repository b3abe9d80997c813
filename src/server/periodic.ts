/**
 * The server's own clock for its statistics: every SAMPLE_INTERVAL_MS (5 s) one sample of every
 * byte counter (server, streams, clients) and of the CPU times, so the API's `*_30s` kbps and CPU
 * figures are 30 s sliding windows whoever polls and however often. Every `statsEveryMs` (default
 * 20 s, SRS's hybrid timer) one line as SRS's `Hybrid cpu=...`:
 *
 *   Hybrid cpu=1.20%,48MB, conns=3, clients=2, streams=1, kbps=(in:2400,out:4800)[, loss=(r:0,s:0)]
 *
 * conns: TCP connections open; clients: publishers and players; streams: streams being published;
 * kbps: the 30 s windows; loss (only with rtc_server on): datagrams the kernel dropped on the WebRTC
 * UDP socket (r) and failed sends (s) since the previous line. Each tick costs one pass over the
 * clients and streams (a few µs each): nothing per packet.
 */
import type { ServerSummary } from './api/stats-source.js';
import type { SummarySampler } from './api/summaries.js';
import { SAMPLE_INTERVAL_MS } from './live/rate-window.js';
import type { Logger } from './log.js';

/** SRS logs its hybrid stats line every 20 s */
export const STATS_LOG_INTERVAL_MS = 20_000;

export interface PeriodicSources {
  /** samples every byte counter into its window */
  sample(now: number): void;
  cpu: SummarySampler;
  summary(): ServerSummary;
  clients(): number;
  streams(): number;
}

export class PeriodicStats {
  private timer: NodeJS.Timeout | undefined;
  private sinceLine = 0;
  private lastLoss: { r: number; s: number } | undefined;

  constructor(
    private readonly src: PeriodicSources,
    private readonly log: Logger,
    private readonly statsEveryMs = STATS_LOG_INTERVAL_MS,
    private readonly sampleEveryMs = SAMPLE_INTERVAL_MS,
  ) {}

  start(): void {
    if (this.timer) return;
    const lineEvery = this.statsEveryMs > 0 ? this.statsEveryMs : Infinity;
    const step = Math.min(this.sampleEveryMs, lineEvery);
    this.timer = setInterval(() => this.tick(step, lineEvery), step);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(step: number, lineEvery: number): void {
    this.src.sample(Date.now());
    this.src.cpu.tick();
    this.sinceLine += step;
    if (this.sinceLine < lineEvery) return;
    this.sinceLine = 0;
    this.log.trace(this.line());
  }

  /** The periodic stats line (public for tests). */
  line(): string {
    const s = this.src.summary();
    const mb = Math.round(process.memoryUsage.rss() / 1024 / 1024);
    let text = `Hybrid cpu=${(this.src.cpu.selfCpu() * 100).toFixed(2)}%,${mb}MB, conns=${s.connections}, clients=${this.src.clients()}, ` +
      `streams=${this.src.streams()}, kbps=(in:${s.recvKbps30s},out:${s.sendKbps30s})`;
    if (s.udp) {
      const prev = this.lastLoss ?? { r: 0, s: 0 };
      text += `, loss=(r:${Math.max(0, s.udp.recvDrops - prev.r)},s:${Math.max(0, s.udp.sendErrors - prev.s)})`;
      this.lastLoss = { r: s.udp.recvDrops, s: s.udp.sendErrors };
    }
    return text;
  }
}

/** The stats line's period from SRSX_STATS_LOG_INTERVAL (seconds; 0 turns the line off), else 20 s. */
export function statsLogIntervalMs(env: NodeJS.ProcessEnv = process.env, warn?: (msg: string) => void): number {
  const raw = env.SRSX_STATS_LOG_INTERVAL;
  if (raw === undefined || raw === '') return STATS_LOG_INTERVAL_MS;
  const secs = Number(raw);
  if (!Number.isFinite(secs) || secs < 0) {
    warn?.(`SRSX_STATS_LOG_INTERVAL='${raw}' is not a number of seconds (0 turns the stats line off): using ${STATS_LOG_INTERVAL_MS / 1000}`);
    return STATS_LOG_INTERVAL_MS;
  }
  return Math.round(secs * 1000);
}
