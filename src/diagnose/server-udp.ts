/**
 * The server's own UDP counters beside the kernel's (issue 12 item 10): `srsx serve` counts what its
 * WebRTC UDP port (rtc_server) failed to receive or send — SRS's `loss=(r:N,s:M)` — and shows it on
 * /api/v1/summaries as `rtc_udp`. diagnose finds the server as for the other reports (--pid,
 * --pidfile, --port, -c, else the default pid file, port 1935, the one `srsx serve`), loads the
 * config that server runs (its -c, working directory and SRS_* environment from /proc/PID) for the
 * HTTP API address, and reads the counters at both samples.
 */
import { z } from 'zod';
import { UserError, errorMessage } from '../errors.js';
import { getJson, readLaunch, type ProcessLaunch } from '../host/server-api.js';
import type { HostRoot } from '../host/root.js';
import { resolveServerPid, type FindServerOptions } from './process.js';
import type { ServerUdpViewSchema } from './report.js';

/** `rtc_udp` in /api/v1/summaries' data (src/server/api/summaries.ts). */
export const RtcUdpSchema = z.object({
  port: z.number().int(),
  loss: z.object({ r: z.number(), s: z.number() }),
  bad: z.number(),
  rcvbuf: z.object({ asked: z.number(), granted: z.number() }),
  sndbuf: z.object({ asked: z.number(), granted: z.number() }),
});
export type RtcUdp = z.infer<typeof RtcUdpSchema>;

/** Where the server's counters are read. */
export interface ServerUdpTarget {
  pid: number | null;
  /** the summaries URL, or null when it cannot be read (see note) */
  url: string | null;
  auth?: { username: string; password: string };
  /** why the counters are not read (no server, API off, no rtc_server, ...) */
  note?: string;
}

export interface ServerUdpSample {
  at: number;
  udp?: RtcUdp;
  /** the server answered without rtc_udp: WebRTC is off in the config it runs */
  noRtc?: boolean;
  error?: string;
}

/** The config file and mode of a `srsx serve`/`srs` command line (what follows `serve`, or the srs binary). */
export function serverConfigArgs(argv: readonly string[]): { file?: string; envOnly: boolean } {
  const serve = argv.indexOf('serve');
  const args = argv.slice(serve >= 0 ? serve + 1 : 1);
  let file: string | undefined;
  let envOnly = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if ((a === '-c' || a === '--config') && i + 1 < args.length) file = args[++i];
    else if (a.startsWith('--config=')) file = a.slice('--config='.length);
    else if (a.startsWith('-c') && a.length > 2 && !a.startsWith('--')) file = a.slice(2);
    else if (a === '-e' || a === '--env-only') envOnly = true;
  }
  return { file, envOnly };
}

/** The API address for a configured listen address: a wildcard is reached on loopback. */
export function apiUrl(listen: { host: string; port: number }): string {
  const host = listen.host === '0.0.0.0' || listen.host === '' ? '127.0.0.1' : listen.host === '::' ? '[::1]' : listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  return `http://${host}:${listen.port}/api/v1/summaries`;
}

/**
 * The server udp-drops reads: its pid (`knownPid` when another report resolved it) and where its
 * API is. Never throws: a host without a server (or with several) gets a note instead.
 */
export async function findServerUdp(root: HostRoot, opts: FindServerOptions, knownPid?: number): Promise<ServerUdpTarget> {
  let pid: number | undefined = knownPid;
  try {
    pid ??= await resolveServerPid(root, opts, false);
  } catch (err) {
    return { pid: null, url: null, note: `${errorMessage(err)}${err instanceof UserError && err.hint ? ` (${err.hint})` : ''}` };
  }
  if (pid === undefined) return { pid: null, url: null, note: 'no server process found (give --pid, --port, --pidfile or -c)' };
  // a fixture host root (SRSX_HOST_ROOT): its processes are not on this machine's network
  if (!root.isReal) return { pid, url: null, note: `host root ${root.root} is not this machine: the server's API is not asked` };
  const launch: ProcessLaunch | undefined = await readLaunch(root, pid).catch(() => undefined);
  const fromArgs = launch ? serverConfigArgs(launch.argv) : { envOnly: false };
  const file = opts.config ?? fromArgs.file;
  const where = opts.config !== undefined ? opts.config : file !== undefined ? `${file} (from its command line)` : fromArgs.envOnly ? 'SRS_* variables (-e)' : 'the embedded default config';
  try {
    const { loadConfig } = await import('../server/config/index.js');
    const conf = loadConfig(
      opts.config !== undefined
        ? { file: opts.config }
        : { file, envOnly: fromArgs.envOnly, cwd: launch?.cwd, env: launch && Object.keys(launch.env).length ? launch.env : undefined },
    );
    if (!conf.httpApi.enabled) return { pid, url: null, note: `http_api is off in ${where}: the server's UDP counters cannot be read` };
    if (!conf.rtcServer.enabled) return { pid, url: null, note: `rtc_server is off in ${where}: the server has no UDP port` };
    const auth = conf.httpApi.auth.enabled ? { username: conf.httpApi.auth.username, password: conf.httpApi.auth.password } : undefined;
    return { pid, url: apiUrl(conf.httpApi.listen), ...(auth ? { auth } : {}) };
  } catch (err) {
    return { pid, url: null, note: `cannot load the server's config ${where}: ${errorMessage(err)}` };
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The server's rtc_udp counters now. The server refreshes its kernel-drop count (`r`) when its
 * summary is asked for and answers the previous value, so the first request primes it and the
 * second, 300 ms later, reads it. On a busy server the refresh can take longer: its `r` then lags the
 * kernel's count (the report shows both).
 */
export async function sampleServerUdp(t: ServerUdpTarget, timeoutMs = 3000): Promise<ServerUdpSample> {
  if (t.url === null) return { at: Date.now() };
  const read = async () => {
    const body = (await getJson(t.url!, { timeoutMs, ...(t.auth ? { auth: t.auth } : {}) })) as { data?: { rtc_udp?: unknown } } | undefined;
    return body?.data?.rtc_udp;
  };
  try {
    await read();
    await sleep(300);
    const at = Date.now();
    const raw = await read();
    if (raw === undefined) return { at, noRtc: true };
    const parsed = RtcUdpSchema.safeParse(raw);
    if (!parsed.success) return { at, error: `unexpected rtc_udp from ${t.url}` };
    return { at, udp: parsed.data };
  } catch (err) {
    return { at: Date.now(), error: errorMessage(err) };
  }
}

/** What udp-drops reports about the server (data.server), as report.ts's ServerUdpViewSchema. */
export type ServerUdpView = z.infer<typeof ServerUdpViewSchema>;

interface SockLike {
  local: string;
  pid: number | null;
  inode: number | null;
  drops: number;
}

/** The socket a pid holds on a UDP port (local address ends in :port). */
export function serverSocket<T extends SockLike>(sockets: readonly T[], pid: number, port: number): T | undefined {
  return sockets.find((s) => s.pid === pid && s.local.endsWith(`:${port}`));
}

/** data.server: the server's counters (totals, deltas) beside the kernel's drops on its socket. */
export function serverUdpView(t: ServerUdpTarget, a: ServerUdpSample | undefined, b: ServerUdpSample | undefined, sockA: readonly SockLike[], sockB: readonly SockLike[]): ServerUdpView {
  const base = { pid: t.pid, api: t.url };
  if (t.url === null) return { ...base, note: t.note ?? 'the server\'s API is not known' };
  if (!b || b.error || !a || a.error) return { ...base, note: `the server's counters could not be read: ${b?.error ?? a?.error ?? 'not sampled'}` };
  if (b.noRtc || !b.udp) return { ...base, note: 'the server answered without rtc_udp: WebRTC (rtc_server) is off in the config it runs' };
  const u = b.udp;
  const prev = a.udp;
  const sb = t.pid === null ? undefined : serverSocket(sockB, t.pid, u.port);
  const sa = sb ? sockA.find((s) => (sb.inode !== null ? s.inode === sb.inode : s.local === sb.local && s.pid === sb.pid)) : undefined;
  return {
    ...base,
    port: u.port,
    socket: sb?.local ?? null,
    counters: { recvDrops: u.loss.r, sendErrors: u.loss.s, bad: u.bad, rcvbufAsked: u.rcvbuf.asked, rcvbufGranted: u.rcvbuf.granted, sndbufAsked: u.sndbuf.asked, sndbufGranted: u.sndbuf.granted },
    delta: {
      recvDrops: prev ? u.loss.r - prev.loss.r : 0,
      sendErrors: prev ? u.loss.s - prev.loss.s : 0,
      bad: prev ? u.bad - prev.bad : 0,
      kernelDrops: sb ? sb.drops - (sa?.drops ?? 0) : null,
    },
  };
}

/** One line for people: the server's socket, its counters and the kernel's. */
export function serverUdpLine(v: ServerUdpView): string {
  const who = v.pid === null ? 'server' : `server pid ${v.pid}`;
  if (!v.counters || !v.delta) return `${who}: ${v.note ?? 'no UDP counters'}`;
  const d = v.delta;
  const sign = (n: number) => (n >= 0 ? `+${n}` : String(n));
  return `${who} (srsx serve), WebRTC UDP ${v.socket ?? `port ${v.port} (socket not seen)`}: server loss=(r:${sign(d.recvDrops)},s:${sign(d.sendErrors)}) bad ${sign(d.bad)} in the interval ` +
    `(totals r:${v.counters.recvDrops},s:${v.counters.sendErrors}; r is the kernel's count as the server last read it); kernel drops on its socket ${d.kernelDrops === null ? '?' : sign(d.kernelDrops)}; ` +
    `SO_RCVBUF asked ${v.counters.rcvbufAsked}, granted ${v.counters.rcvbufGranted}; from ${v.api}`;
}
