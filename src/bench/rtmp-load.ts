import { flvLoadPlayer, rtmpLoadPlayer, type LoadPlayer } from './load-player.js';
import { ReadPacer } from './read-pacer.js';

export const DEFAULT_READ_INTERVAL_MS = 250;

export interface LoadOptions {
  url: string;
  clients: number;
  durationMs: number;
  /** new connections per second while ramping */
  rampPerSecond: number;
  reportEveryMs: number;
  /** the steady-state bandwidth window starts this long after the ramp ends (default 0) */
  settleMs?: number;
  /** paced reads: each player reads at most once per this many ms (0: as data comes; default DEFAULT_READ_INTERVAL_MS) */
  readIntervalMs?: number;
  onReport?: (r: LoadReport) => void;
}

export interface LoadReport {
  elapsedS: number;
  clients: number;
  started: number;
  alive: number;
  failed: number;
  /** players that got at least one video frame */
  playing: number;
  mbps: number;
  startupP50Ms: number;
  startupP95Ms: number;
  /** how far behind real time players fall: wall time elapsed − stream time elapsed */
  lagP50Ms: number;
  lagP95Ms: number;
  /** the load tool's own CPU, % of one core, over the interval */
  cpuPercent: number;
}

export interface LoadSummary extends LoadReport {
  url: string;
  durationS: number;
  /** mean Mbps from `settleMs` after the ramp to the end */
  steadyMbps: number;
  errors: Record<string, number>;
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))]!;
}

/**
 * n players of one RTMP or HTTP-FLV URL in this process: ramped at `rampPerSecond`, reported
 * every `reportEveryMs`, stopped after `durationMs` (from the first connection).
 */
export async function runLoad(opts: LoadOptions): Promise<LoadSummary> {
  const isFlv = /^https?:\/\//.test(opts.url);
  const pacer = new ReadPacer(opts.readIntervalMs ?? DEFAULT_READ_INTERVAL_MS);
  const make = () => (isFlv ? flvLoadPlayer(opts.url, pacer) : rtmpLoadPlayer(opts.url, pacer));
  const players: LoadPlayer[] = [];
  const t0 = Date.now();
  let lastBytes = 0;
  let lastAt = t0;
  let lastCpu = process.cpuUsage();
  let rampDoneAt = 0;
  let bytesAtRampDone = 0;

  const snapshot = (): LoadReport => {
    const now = Date.now();
    let bytes = 0;
    let alive = 0;
    let failed = 0;
    let playing = 0;
    const startups: number[] = [];
    const lags: number[] = [];
    for (const p of players) {
      const s = p.state;
      bytes += s.bytes;
      if (s.alive) alive++;
      if (s.failed) failed++;
      if (s.startupMs >= 0) {
        playing++;
        startups.push(s.startupMs);
        if (s.alive) lags.push(Math.max(0, now - s.firstWall - (s.lastTs - s.firstTs)));
      }
    }
    startups.sort((a, b) => a - b);
    lags.sort((a, b) => a - b);
    const dt = Math.max(1, now - lastAt);
    const cpu = process.cpuUsage(lastCpu);
    const r: LoadReport = {
      elapsedS: Math.round((now - t0) / 100) / 10,
      clients: opts.clients,
      started: players.length,
      alive,
      failed,
      playing,
      mbps: ((bytes - lastBytes) * 8) / dt / 1000,
      startupP50Ms: pct(startups, 0.5),
      startupP95Ms: pct(startups, 0.95),
      lagP50Ms: pct(lags, 0.5),
      lagP95Ms: pct(lags, 0.95),
      cpuPercent: ((cpu.user + cpu.system) / 1000 / dt) * 100,
    };
    lastBytes = bytes;
    lastAt = now;
    lastCpu = process.cpuUsage();
    return r;
  };

  const total = () => players.reduce((n, p) => n + p.state.bytes, 0);

  await new Promise<void>((resolve) => {
    const rampTick = 50;
    const rampFrom = Date.now();
    const ramp = setInterval(() => {
      // by the clock, not by ticks: a tick that comes late (an event loop busy with thousands of players) catches up
      const due = Math.min(opts.clients, Math.ceil(((Date.now() - rampFrom + rampTick) * opts.rampPerSecond) / 1000));
      while (players.length < due) {
        const p = make();
        players.push(p);
        p.start();
      }
      if (players.length >= opts.clients) {
        clearInterval(ramp);
        setTimeout(() => {
          rampDoneAt = Date.now();
          bytesAtRampDone = total();
        }, opts.settleMs ?? 0);
      }
    }, rampTick);
    const report = setInterval(() => opts.onReport?.(snapshot()), opts.reportEveryMs);
    setTimeout(() => {
      clearInterval(ramp);
      clearInterval(report);
      resolve();
    }, opts.durationMs);
  });

  const final = snapshot();
  const end = Date.now();
  const errors: Record<string, number> = {};
  for (const p of players) if (p.state.error) errors[p.state.error] = (errors[p.state.error] ?? 0) + 1;
  const steadyMs = rampDoneAt ? end - rampDoneAt : 0;
  const summary: LoadSummary = {
    ...final,
    url: opts.url,
    durationS: (end - t0) / 1000,
    steadyMbps: steadyMs > 0 ? ((total() - bytesAtRampDone) * 8) / steadyMs / 1000 : 0,
    errors,
  };
  for (const p of players) p.stop();
  return summary;
}
