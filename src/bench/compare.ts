import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../errors.js';
import { hasCommand } from '../host/exec.js';
import { tcpListenerPids } from '../host/proc-net.js';
import { hostRoot } from '../host/root.js';
import { cpuPercent, sampleProcess, ticksPerSecond } from '../host/proc-sampler.js';
import type { RtcLoadSummary } from './rtc-load.js';
import type { HlsLoadSummary } from './hls-load.js';
import type { LoadSummary } from './rtmp-load.js';
import { serverStarter, type ServerUnderTest } from './servers.js';

const SRSX_BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/srsx');

export interface CompareOptions {
  servers: string[];
  clients: number[];
  /** measuring window once all players are up */
  holdMs: number;
  rampPerSecond: number;
  streamFile: string;
  streamKbps: number;
  /** WebRTC (WHEP) players of the RTMP-published stream instead of RTMP players */
  rtc?: boolean;
  /** HLS players (playlist polls + segments from the server's HTTP server) of the RTMP-published stream; 0 players = the muxing cost alone */
  hls?: boolean;
  onStep?: (what: string, fraction: number) => void;
}

/** One row of the guide's table: Server, CPU, Mem, Conn, ENbps, ANbps, sb, Lat. */
export interface CompareRow {
  server: string;
  clients: number;
  serverCpu: number; // % of one core
  serverRssMB: number;
  conn: number; // players alive at the end
  expectedMbps: number; // ENbps
  actualMbps: number; // ANbps
  loadToolCpu: number; // sb
  startupP50Ms: number;
  lagP95Ms: number; // Lat
  failed: number;
  /** WebRTC players: RTP sequence gaps over expected packets, % (players send no NACK: a gap is a loss) */
  lossPercent?: number;
  /** HLS players: bytes received of the segments listed in the hold over their sizes × players, % */
  deliveredPercent?: number;
  /** HLS players: segments that arrived more than their duration after being listed */
  late?: number;
  /** HLS players: the load tool's failures by reason (in compare-hls.json) */
  errors?: Record<string, number>;
  /** a server of several processes (srsx-workers:N, srsx-edge): each one's CPU (% of one core) and RSS */
  processes?: Array<{ role: string; pid: number; cpu: number; rssMB: number }>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function startPublisher(file: string, url: string, useFfmpeg: boolean) {
  const args = useFfmpeg
    ? ['-v', 'error', '-re', '-stream_loop', '-1', '-i', file, '-c', 'copy', '-f', 'flv', url]
    : [SRSX_BIN, 'publish', '--re', '--loop', file, url];
  const child = spawn(useFfmpeg ? 'ffmpeg' : process.execPath, args, { stdio: 'ignore' });
  return child;
}

/**
 * One player count: the load tool (`srsx bench <tool> … --json`, a process of its own) ramps the
 * players; after ramp + settle the server's and the tool's CPU are sampled over the hold window;
 * `row` turns the tool's JSON summary into the table's row.
 */
async function measureWith(
  server: ServerUnderTest,
  clients: number,
  opts: CompareOptions,
  step: (f: number) => void,
  tool: { args: (durationMs: number, settleMs: number) => string[]; settleMs: number },
  row: (summary: string, sampled: Pick<CompareRow, 'serverCpu' | 'serverRssMB' | 'loadToolCpu'>) => CompareRow,
): Promise<CompareRow> {
  const rampMs = Math.ceil((clients / opts.rampPerSecond) * 1000);
  const durationMs = rampMs + tool.settleMs + opts.holdMs + 1000;
  const load = spawn(process.execPath, [SRSX_BIN, 'bench', ...tool.args(durationMs, tool.settleMs)], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  load.stdout!.on('data', (d) => (out += d));
  const done = new Promise<void>((resolve) => load.once('exit', () => resolve()));
  const t0 = Date.now();
  const ticker = setInterval(() => step(Math.min(1, (Date.now() - t0) / durationMs)), 250);
  try {
    await sleep(rampMs + tool.settleMs);
    const hz = await ticksPerSecond();
    const procs = server.processes ? await server.processes() : [{ role: server.name, pid: server.pid }];
    const s1 = await Promise.all(procs.map((p) => sampleProcess(p.pid)));
    const l1 = await sampleProcess(load.pid!);
    await sleep(opts.holdMs);
    const s2 = await Promise.all(procs.map((p) => sampleProcess(p.pid)));
    const l2 = await sampleProcess(load.pid!);
    await done;
    const each = procs.map((p, i) => {
      const a = s1[i];
      const b = s2[i];
      return { role: p.role, pid: p.pid, cpu: a && b ? cpuPercent(a, b, hz) : NaN, rssMB: b ? b.rssBytes / 1024 / 1024 : NaN };
    });
    const sum = (k: 'cpu' | 'rssMB') => each.reduce((t, e) => t + e[k], 0);
    const r = row(out, {
      serverCpu: sum('cpu'),
      serverRssMB: sum('rssMB'),
      loadToolCpu: l1 && l2 ? cpuPercent(l1, l2, hz) : NaN,
    });
    return server.processes ? { ...r, processes: each } : r;
  } finally {
    clearInterval(ticker);
    if (load.exitCode === null) load.kill('SIGKILL');
  }
}

/** RTMP players: `srsx bench rtmp-load`. */
function measureOne(server: ServerUnderTest, clients: number, opts: CompareOptions, step: (f: number) => void): Promise<CompareRow> {
  const url = `rtmp://127.0.0.1:${server.rtmpPort}/live/livestream`;
  const tool = {
    settleMs: 3000,
    args: (durationMs: number, settleMs: number) => ['rtmp-load', '-c', String(clients), '-r', url, '--duration', `${durationMs}ms`, '--ramp', String(opts.rampPerSecond), '--interval', '60s', '--settle', `${settleMs}ms`, '--json'],
  };
  return measureWith(server, clients, opts, step, tool, (out, sampled) => {
    const summary = JSON.parse(out) as LoadSummary;
    return {
      server: server.name,
      clients,
      ...sampled,
      conn: summary.alive,
      expectedMbps: (clients * opts.streamKbps) / 1000,
      actualMbps: summary.steadyMbps,
      startupP50Ms: summary.startupP50Ms,
      lagP95Ms: summary.lagP95Ms,
      failed: summary.failed,
    };
  });
}

/** WebRTC: `srsx bench rtc-load` with N WHEP players of the stream. */
function measureOneRtc(server: ServerUnderTest, clients: number, opts: CompareOptions, step: (f: number) => void): Promise<CompareRow> {
  const url = `whep://127.0.0.1:${server.apiPort}/live/livestream`;
  const tool = {
    settleMs: 5000,
    args: (durationMs: number, settleMs: number) => ['rtc-load', '-c', String(clients), '-r', url, '--duration', `${durationMs}ms`, '--ramp', String(opts.rampPerSecond), '--interval', '60s', '--verify-every', '0', '--settle', `${settleMs}ms`, '--json'],
  };
  return measureWith(server, clients, opts, step, tool, (out, sampled) => {
    const summary = JSON.parse(out.slice(out.indexOf('{'))) as RtcLoadSummary;
    return {
      server: server.name,
      clients,
      ...sampled,
      conn: summary.receiving,
      expectedMbps: (clients * opts.streamKbps) / 1000,
      actualMbps: summary.steadyKbps / 1000,
      startupP50Ms: summary.connectP50Ms,
      lagP95Ms: summary.connectP95Ms,
      failed: summary.failed,
      lossPercent: summary.lossPercent,
    };
  });
}

/** HLS: `srsx bench hls-load` with N players of the playlist; with 0 players only the server is sampled (the muxing cost). */
async function measureOneHls(server: ServerUnderTest, clients: number, opts: CompareOptions, step: (f: number) => void): Promise<CompareRow> {
  const url = `http://127.0.0.1:${server.httpPort}/live/livestream.m3u8`;
  if (clients === 0) {
    step(0);
    const hz = await ticksPerSecond();
    const s1 = await sampleProcess(server.pid);
    await sleep(opts.holdMs);
    const s2 = await sampleProcess(server.pid);
    step(1);
    return { server: server.name, clients: 0, serverCpu: s1 && s2 ? cpuPercent(s1, s2, hz) : NaN, serverRssMB: s2 ? s2.rssBytes / 1024 / 1024 : NaN, loadToolCpu: NaN, conn: 0, expectedMbps: 0, actualMbps: 0, startupP50Ms: 0, lagP95Ms: 0, failed: 0 };
  }
  const tool = {
    // two segments of 2 s after the ramp: every player is polling at its own pace
    settleMs: 5000,
    args: (durationMs: number, settleMs: number) => ['hls-load', '-c', String(clients), '-r', url, '--duration', `${durationMs}ms`, '--ramp', String(opts.rampPerSecond), '--interval', '60s', '--settle', `${settleMs}ms`, '--json'],
  };
  return measureWith(server, clients, opts, step, tool, (out, sampled) => {
    const summary = JSON.parse(out.slice(out.indexOf('{'))) as HlsLoadSummary;
    return {
      server: server.name,
      clients,
      ...sampled,
      conn: summary.playing,
      expectedMbps: summary.expectedMbps,
      actualMbps: summary.actualMbps,
      startupP50Ms: 0,
      lagP95Ms: 0,
      failed: summary.failed,
      deliveredPercent: summary.deliveredPercent,
      late: summary.late,
      errors: summary.errors,
    };
  });
}

/** For each server: start it, publish the stream, then measure each client count in turn. */
export async function runCompare(opts: CompareOptions): Promise<CompareRow[]> {
  const rows: CompareRow[] = [];
  const useFfmpeg = await hasCommand('ffmpeg');
  const steps = opts.servers.length * opts.clients.length;
  let stepIndex = 0;
  for (const spec of opts.servers) {
    const starter = serverStarter(spec, { rtc: opts.rtc, hls: opts.hls });
    const server = await starter.start();
    // measuring any other process (a wrapper, a typo in pid:PID:PORT) would give meaningless numbers
    const listeners = await tcpListenerPids(hostRoot(), server.rtmpPort);
    if (!listeners.includes(server.pid)) {
      await server.stop();
      const who = server.name === `pid ${server.pid}` ? server.name : `${server.name} (pid ${server.pid})`;
      throw new UserError(`${who} does not listen on port ${server.rtmpPort}${listeners.length ? `: pid ${listeners.join(', ')} does` : ''}`, { hint: 'give the pid of the server process itself: pid:<pid>:<rtmp port>' });
    }
    const publisher = startPublisher(opts.streamFile, `rtmp://127.0.0.1:${server.publishPort ?? server.rtmpPort}/live/livestream`, useFfmpeg);
    try {
      // HLS: a playlist with a few segments before players come (and the muxer at its steady cost)
      await sleep(opts.hls ? 8000 : 2000);
      if (publisher.exitCode !== null) throw new Error(`the publisher exited (code ${publisher.exitCode}) against ${server.name}`);
      for (const n of opts.clients) {
        const label = `${server.name} ${n} players`;
        const base = stepIndex / steps;
        rows.push(await (opts.hls ? measureOneHls : opts.rtc ? measureOneRtc : measureOne)(server, n, opts, (f) => opts.onStep?.(label, base + f / steps)));
        stepIndex++;
        await sleep(1500); // let the server settle between counts
      }
    } finally {
      publisher.kill('SIGKILL');
      await server.stop();
    }
  }
  return rows;
}
