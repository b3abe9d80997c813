/**
 * The UDP loop (issue 13), on the real kernel as root: a small net.core.rmem_max clamps srsx serve's
 * WebRTC UDP socket (the server logs asked vs granted and `srsx tune --udp SIZE`); bursts of
 * RTP-looking datagrams from this process at that port on 127.0.0.1 overflow it while
 * `srsx diagnose udp-drops --interval 2s --json` runs; diagnose names the server's socket and pid,
 * the cause (rmem_max capped its SO_RCVBUF) and the fix; the fix is run exactly as proposed (with its
 * own SRSX_STATE_DIR); the restarted server gets the bigger buffer; the same bursts no longer drop
 * (kernel drops on its socket and the server's loss counters stay 0); `srsx tune revert` puts back
 * the values it found. All four net.core.{r,w}mem_{max,default} are restored exactly in finally.
 *
 * net.core.rmem_max is host-wide (read-only in a network namespace), so only it is lowered (the
 * server asks for its buffer with SO_RCVBUF: rmem_default does not apply to its socket), and only
 * between the first server's start and the fix (about 10 s).
 *
 * Determinism: the clamped socket holds 16 KiB (7 datagrams of 1,000 bytes at 2,304 bytes of
 * truesize each), so a 400-datagram burst drops most of itself whatever the load; after the fix it
 * holds at least 2 MiB (900 such datagrams), so a burst fits even if the server does not read at all
 * while it arrives.
 */
import { spawn, execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { itIf, runCli, SRSX_BIN } from '../helpers/env.js';
import { sleep, startServer, stopChild, type RunningServer } from '../helpers/serve.js';

const itRoot = itIf({ root: true, tools: ['sysctl', 'ss'] });
const KEYS = ['net.core.rmem_max', 'net.core.rmem_default', 'net.core.wmem_max', 'net.core.wmem_default'];
const sysctl = (k: string) => execFileSync('sysctl', ['-n', k]).toString().trim();
const snapshot = () => Object.fromEntries(KEYS.map((k) => [k, sysctl(k)]));
const restore = (values: Record<string, string>) => {
  for (const [k, v] of Object.entries(values)) execFileSync('sysctl', ['-q', '-w', `${k}=${v}`]);
};

/** the ceiling that makes the server's SO_RCVBUF 2 × 8192 = 16 KiB */
const SMALL_RMEM_MAX = 8192;
/** what the server asks for (rtc_server recvbuf/sendbuf): diagnose never proposes less than 1M */
const ASKED = 1048576;
const BURST = 400;
const DATAGRAM = 1000;
const BURST_GAP_MS = 500;
const MAX_BURSTS = 60;

async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** One burst of RTP-looking datagrams (V=2, PT 96, one SSRC, 1,000 bytes) at 127.0.0.1:port. */
async function burst(sock: dgram.Socket, port: number, first: number): Promise<void> {
  let pending = BURST;
  await new Promise<void>((resolve) => {
    for (let i = 0; i < BURST; i++) {
      const pkt = Buffer.alloc(DATAGRAM);
      pkt[0] = 0x80;
      pkt[1] = 96;
      pkt.writeUInt16BE((first + i) & 0xffff, 2);
      pkt.writeUInt32BE(((first + i) * 3000) >>> 0, 4);
      pkt.writeUInt32BE(0x5eed1234, 8);
      sock.send(pkt, port, '127.0.0.1', () => {
        if (--pending === 0) resolve();
      });
    }
  });
}

interface UdpDropsJson {
  data: {
    sockets: Array<{ local: string; pid: number | null; dropsDelta: number; rcvbuf: number | null; bufferOrigin: string | null; server?: boolean }>;
    server?: { pid: number | null; api: string | null; note?: string; port?: number; socket?: string | null; counters?: Record<string, number>; delta?: { recvDrops: number; sendErrors: number; bad: number; kernelDrops: number | null } };
  };
  verdicts: Array<{ level: string; reason: string; fix?: string }>;
}

/** `srsx diagnose udp-drops --interval 2s --json ...args` while bursts go to the port until it exits (bounded). */
async function diagnoseDuringBursts(port: number, args: string[]): Promise<{ report: UdpDropsJson; bursts: number; stderr: string }> {
  const child = spawn(process.execPath, [SRSX_BIN, 'diagnose', 'udp-drops', '--interval', '2s', '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let done = false;
  void exited.then(() => (done = true));
  const sock = dgram.createSocket('udp4');
  let bursts = 0;
  try {
    // from start-up to exit: diagnose's two samples fall somewhere in here (start-up alone takes seconds under load)
    while (!done && bursts < MAX_BURSTS) {
      await burst(sock, port, bursts * BURST);
      bursts++;
      await Promise.race([sleep(BURST_GAP_MS), exited]);
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise<void>((resolve) => (timer = setTimeout(resolve, 30_000)))]);
    clearTimeout(timer);
    if (!done) throw new Error(`diagnose did not finish in time:\n${err}`);
  } finally {
    await stopChild(child, 'SIGKILL');
    sock.close();
  }
  if (!out.trim()) throw new Error(`diagnose printed nothing (exit ${child.exitCode}):\n${err}`);
  return { report: JSON.parse(out) as UdpDropsJson, bursts, stderr: err };
}

async function waitFor(what: string, cond: () => boolean, timeoutMs: number, detail: () => string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}:\n${detail()}`);
    await sleep(100);
  }
}

const rtcServer = (port: number) => `rtc_server { enabled on; listen ${port}; candidate 127.0.0.1; recvbuf ${ASKED}; sendbuf ${ASKED}; }`;
/** rtc_udp from the server's API, after a first request made it re-read the kernel's count (1 s to do it). */
async function apiUdp(s: RunningServer): Promise<{ loss: { r: number; s: number }; bad: number }> {
  const url = `http://127.0.0.1:${s.api}/api/v1/summaries`;
  await fetch(url).then((r) => r.text());
  await sleep(1000);
  return ((await (await fetch(url)).json()) as { data: { rtc_udp: { loss: { r: number; s: number }; bad: number } } }).data.rtc_udp;
}
const serverPid = (s: RunningServer) => Number(readFileSync(path.join(s.dir, 'srs.pid'), 'utf8').trim());

describe('the UDP loop: drops on srsx serve\'s UDP port, diagnose, tune, no drops', () => {
  itRoot('a clamped receive buffer drops a burst; diagnose names srsx serve and `srsx tune --udp SIZE`; after it and a restart the same bursts do not drop; revert restores', async () => {
    const before = snapshot();
    const stateDir = mkdtempSync(path.join(os.tmpdir(), 'srsx-state-'));
    const env = { SRSX_STATE_DIR: stateDir };
    const port = await freeUdpPort();
    let server: RunningServer | undefined;
    try {
      // 1. a small ceiling: the server asks for 1 MiB, the kernel grants 2 × 8192
      execFileSync('sysctl', ['-q', '-w', `net.core.rmem_max=${SMALL_RMEM_MAX}`]);
      server = await startServer({ extra: rtcServer(port), vhostBody: 'rtc { enabled on; }' });
      const s1 = server;
      await waitFor('the clamp warning', () => /kernel clamped/.test(s1.log()), 15_000, s1.log);
      expect(s1.log()).toContain(`receive buffer asked ${ASKED} B, granted ${2 * SMALL_RMEM_MAX} B (net.core.rmem_max=${SMALL_RMEM_MAX})`);
      expect(s1.log()).toMatch(/datagrams will drop under load; fix: srsx tune --udp 1M/);
      const pid1 = serverPid(s1);

      // 2. bursts while diagnose samples; the server is found through its config (-c: its pid file)
      const d1 = await diagnoseDuringBursts(port, ['-c', path.join(s1.dir, 'srs.conf')]);
      const sv1 = d1.report.data.server!;
      expect(sv1).toMatchObject({ pid: pid1, port, socket: `0.0.0.0:${port}` });
      expect(sv1.api).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/v1\/summaries$/);
      expect(sv1.counters).toMatchObject({ rcvbufAsked: ASKED, rcvbufGranted: 2 * SMALL_RMEM_MAX });
      // the kernel dropped on the server's socket in the interval; the server's own r is the kernel's count as it last
      // read it (it may lag on a loaded machine), so its total is checked on the API once it has re-read it
      expect(sv1.delta!.kernelDrops).toBeGreaterThan(0);
      expect(sv1.delta!.recvDrops).toBeGreaterThanOrEqual(0);
      expect(sv1.delta!.sendErrors).toBe(0);
      const own1 = await apiUdp(s1);
      expect(own1.loss.r).toBeGreaterThanOrEqual(sv1.delta!.kernelDrops!);
      expect(own1.loss.s).toBe(0);
      const sock1 = d1.report.data.sockets.find((s) => s.server);
      expect(sock1).toMatchObject({ local: `0.0.0.0:${port}`, pid: pid1, rcvbuf: 2 * SMALL_RMEM_MAX, bufferOrigin: 'ceiling' });
      const verdict = d1.report.verdicts.find((v) => v.reason.includes(`0.0.0.0:${port} (srsx serve pid ${pid1}, its WebRTC UDP port) dropped`));
      expect(verdict).toBeDefined();
      expect(verdict!.level).not.toBe('ok');
      expect(verdict!.reason).toContain(`the application asked for more (SO_RCVBUF ${ASKED}: rtc_server recvbuf) but net.core.rmem_max=${SMALL_RMEM_MAX} capped its SO_RCVBUF`);
      expect(verdict!.reason).toMatch(/the server's own counters: loss=\(r:\d+,s:0\)/);
      const fix = /^srsx tune --udp (\d+M)$/.exec(verdict!.fix ?? '');
      expect(fix).not.toBeNull();
      const size = fix![1]!;
      const bytes = Number(size.slice(0, -1)) * 1024 * 1024;
      expect(bytes).toBeGreaterThanOrEqual(ASKED);
      // SRS's stats line (every 5 s) carries the same loss
      await waitFor('the loss=(r:N,s:0) stats line', () => /RTC: Server conns=0, .*loss=\(r:[1-9]\d*,s:0\)/.test(s1.log()), 15_000, s1.log);

      // 3. the fix, exactly as proposed
      const tune = runCli(['tune', '--udp', size], { env, timeoutMs: 60_000 });
      expect(tune.stderr).toBe('');
      expect(tune.code).toBe(0);
      for (const k of KEYS) expect(sysctl(k)).toBe(String(bytes));

      // 4. the restarted server gets what it asks for, with no clamp warning
      await s1.stop();
      server = undefined;
      server = await startServer({ extra: rtcServer(port), vhostBody: 'rtc { enabled on; }' });
      const s2 = server;
      await waitFor('the socket buffer line', () => /SO_RCVBUF\(expect=/.test(s2.log()), 15_000, s2.log);
      expect(s2.log()).toContain(`SO_RCVBUF(expect=${ASKED}, actual=${2 * ASKED})`);
      const pid2 = serverPid(s2);

      // 5. the same bursts: no drop on its socket, by the kernel's count and the server's (found by --pid: config from its command line)
      const d2 = await diagnoseDuringBursts(port, ['--pid', String(pid2)]);
      const sv2 = d2.report.data.server!;
      expect(sv2).toMatchObject({ pid: pid2, port, socket: `0.0.0.0:${port}` });
      expect(sv2.counters).toMatchObject({ rcvbufGranted: 2 * ASKED, recvDrops: 0, sendErrors: 0 });
      expect(sv2.delta).toMatchObject({ kernelDrops: 0, recvDrops: 0, sendErrors: 0 });
      // the bursts did reach it during the interval (unknown peer: counted bad)
      expect(sv2.delta!.bad).toBeGreaterThanOrEqual(BURST);
      expect(d2.report.data.sockets.filter((s) => s.server)).toEqual([]);
      expect((await apiUdp(s2)).loss).toEqual({ r: 0, s: 0 });
      expect(d2.report.verdicts.filter((v) => v.reason.includes(`srsx serve pid ${pid2}`))).toEqual([]);
      const drops = execFileSync('ss', ['-uamnH', 'sport', '=', `:${port}`]).toString();
      expect(drops).toMatch(/skmem:\(.*,d0\)/);
      expect(s2.log()).not.toMatch(/kernel clamped|loss=\(r:[1-9]/);

      // 6. revert: the values tune found (the small ceiling set above) are back
      const revert = runCli(['tune', 'revert'], { env, timeoutMs: 60_000 });
      expect(revert.code).toBe(0);
      expect(snapshot()).toEqual({ ...before, 'net.core.rmem_max': String(SMALL_RMEM_MAX) });
    } finally {
      if (server) await server.stop();
      restore(before);
      rmSync(stateDir, { recursive: true, force: true });
    }
    expect(snapshot()).toEqual(before);
  }, 150_000);
});
