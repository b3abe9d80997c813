import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../errors.js';
import { hasCommand, missingCommand } from '../host/exec.js';
import { childPids } from '../host/proc-process.js';
import { hostRoot } from '../host/root.js';

/** A server being measured: its pid (for CPU/RSS) and RTMP port. */
export interface ServerUnderTest {
  name: string;
  pid: number;
  rtmpPort: number;
  /** HTTP API port (WHEP endpoint), when the server was started for WebRTC players */
  apiPort?: number;
  /** HTTP server port serving the HLS files, when the server was started for HLS players */
  httpPort?: number;
  /** where the stream is published, when not rtmpPort (an edge's origin) */
  publishPort?: number;
  /** a server of several processes: each one's role and pid (CPU and RSS are summed over them) */
  processes?: () => Promise<Array<{ role: string; pid: number }>>;
  stop(): Promise<void>;
}

/** What the servers are started for: RTMP players, or WebRTC (WHEP) players of an RTMP-published stream. */
export interface StartOptions {
  rtc?: boolean;
  /** HLS on (2 s fragments, a window of 10 s) in a temp dir served by the HTTP server on a spare port */
  hls?: boolean;
}

/** The config lines both srsx and SRS take for HLS served by their HTTP server (SRS's `listen` takes a port only). */
async function hlsConfig(dir: string, srs: boolean): Promise<{ http: number; server: string; vhost: string }> {
  const http = await freePort();
  const hlsPath = path.join(dir, 'hls');
  return {
    http,
    server: `http_server { enabled on; listen ${srs ? '' : '127.0.0.1:'}${http}; dir ${hlsPath}; }\n`,
    vhost: `hls { enabled on; hls_path ${hlsPath}; hls_fragment 2; hls_window 10; }`,
  };
}

/** free UDP port on 127.0.0.1 (the WebRTC media port) */
export async function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const port = s.address().port;
      s.close(() => resolve(port));
    });
  });
}

/** The config lines both srsx and SRS take for WebRTC players: API (WHEP), one UDP port, RTMP -> WebRTC. */
async function rtcConfig(): Promise<{ api: number; udp: number; server: string; vhost: string }> {
  const api = await freePort();
  const udp = await freeUdpPort();
  return {
    api,
    udp,
    server: `http_api { enabled on; listen 127.0.0.1:${api}; }\nrtc_server { enabled on; listen ${udp}; candidate 127.0.0.1; }\n`,
    vhost: 'rtc { enabled on; rtmp_to_rtc on; rtc_to_rtmp off; }',
  };
}

export const NGINX_RTMP_MODULE = '/usr/lib/nginx/modules/ngx_rtmp_module.so';
const SRSX_BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/srsx');

function tryListen(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(undefined));
    s.listen(port, '127.0.0.1', () => {
      const got = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(got));
    });
  });
}

/**
 * A TCP port free on 127.0.0.1 for a server to listen on, picked below Linux's default ephemeral
 * range (32768-60999): thousands of load-tool connections take their local ports from that range,
 * and one of them could take a port between this check and the server's bind.
 */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = await tryListen(20_000 + Math.floor(Math.random() * 12_000));
    if (port !== undefined) return port;
  }
  const any = await tryListen(0);
  if (any === undefined) throw new Error('no free TCP port on 127.0.0.1');
  return any;
}

function waitForPort(port: number, child: ChildProcess, what: string, output: () => string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (child.exitCode !== null) return reject(new UserError(`${what} exited with code ${child.exitCode} at start`, { hint: output().trim().split('\n').slice(-3).join(' | ') }));
      const s = net.connect({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve();
      });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > deadline) reject(new UserError(`${what} did not listen on 127.0.0.1:${port} within ${timeoutMs / 1000} s`, { hint: output().trim().split('\n').slice(-3).join(' | ') }));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      child.kill('SIGTERM');
    });
}

function spawnLogged(cmd: string, args: string[], cwd: string): { child: ChildProcess; output: () => string } {
  const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 64 * 1024) out = out.slice(-32 * 1024);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return { child, output: () => out };
}

/** 19,000: srsx serve refuses max_connections + 128 at or over the open-files limit (SRS's check; 20,000 here). */
const SRSX_MAX_CONNECTIONS = 19_000;

/** Starts `srsx serve` (with `extraArgs`) on `conf` in `dir`; resolves with the child once `port` listens and the server's pid. */
async function spawnSrsx(dir: string, conf: string, port: number, what: string, extraArgs: string[] = []): Promise<{ child: ChildProcess; output: () => string; pid: number }> {
  writeFileSync(path.join(dir, 'srs.conf'), conf);
  const { child, output } = spawnLogged(process.execPath, [SRSX_BIN, 'serve', '-c', path.join(dir, 'srs.conf'), ...extraArgs], dir);
  await waitForPort(port, child, what, output);
  // bin/srsx runs the server as its child (with a perf map): measure the server, from its pid file
  const pid = Number(readFileSync(path.join(dir, 'srs.pid'), 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new UserError(`${what} wrote no pid to ${dir}/srs.pid`, { exitCode: 3 });
  return { child, output, pid };
}

function srsxConf(dir: string, port: number, maxConnections: number, parts: { server?: string; vhost?: string } = {}): string {
  return `listen 127.0.0.1:${port};\nmax_connections ${maxConnections};\ndaemon off;\nsrs_log_tank console;\nsrs_log_level warn;\npid ${dir}/srs.pid;\n${parts.server ?? 'http_api { enabled off; }\nhttp_server { enabled off; }\n'}vhost __defaultVhost__ { ${parts.vhost ?? ''} }\n`;
}

export async function startSrsx(maxConnections = SRSX_MAX_CONNECTIONS, opts: StartOptions = {}): Promise<ServerUnderTest> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'srsx-bench-'));
  const rtc = opts.rtc ? await rtcConfig() : undefined;
  const hls = opts.hls ? await hlsConfig(dir, false) : undefined;
  const conf = srsxConf(dir, port, maxConnections, {
    server: `${rtc ? rtc.server : 'http_api { enabled off; }\n'}${hls ? hls.server : 'http_server { enabled off; }\n'}`,
    vhost: `${rtc?.vhost ?? ''}${hls?.vhost ?? ''}`,
  });
  const { child, output, pid } = await spawnSrsx(dir, conf, port, 'srsx serve');
  if (hls) await waitForPort(hls.http, child, 'srsx serve (http_server)', output);
  return { name: 'srsx', pid, rtmpPort: port, apiPort: rtc?.api, httpPort: hls?.http, stop: stopper(child) };
}

/**
 * `srsx-workers:N`: `srsx serve --workers N` (RTMP players only). The supervisor (pid file) holds the
 * shared port and runs the local origin; its children are the workers. CPU and RSS are the sum over the
 * supervisor and the workers, each also reported on its own.
 */
export async function startSrsxWorkers(workers: number): Promise<ServerUnderTest> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'srsx-bench-workers-'));
  const { child, output, pid } = await spawnSrsx(dir, srsxConf(dir, port, SRSX_MAX_CONNECTIONS), port, `srsx serve --workers ${workers}`, ['--workers', String(workers)]);
  const workerPids = async () => childPids(hostRoot(), pid);
  // the port listens once the first worker is up: wait for all of them
  const deadline = Date.now() + 20_000;
  while ((await workerPids()).length < workers) {
    if (Date.now() > deadline || child.exitCode !== null) {
      await stopper(child)();
      throw new UserError(`srsx serve --workers ${workers} started ${(await workerPids()).length} workers in 20 s`, { hint: output().trim().split('\n').slice(-3).join(' | ') });
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  await new Promise((r) => setTimeout(r, 1000));
  return {
    name: `srsx-workers:${workers}`,
    pid,
    rtmpPort: port,
    processes: async () => [{ role: 'supervisor', pid }, ...(await workerPids()).map((p, i) => ({ role: `worker ${i}`, pid: p }))],
    stop: stopper(child),
  };
}

/**
 * `srsx-edge`: two srsx processes, an origin and an edge of it (`cluster { mode remote; }`). The
 * stream is published to the origin, the players play from the edge: the edge pulls it once and fans
 * it out. CPU and RSS are the sum of both, each also reported on its own.
 */
export async function startSrsxEdge(): Promise<ServerUnderTest> {
  const originPort = await freePort();
  const originDir = mkdtempSync(path.join(os.tmpdir(), 'srsx-bench-origin-'));
  const origin = await spawnSrsx(originDir, srsxConf(originDir, originPort, SRSX_MAX_CONNECTIONS), originPort, 'srsx serve (origin)');
  try {
    const port = await freePort();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'srsx-bench-edge-'));
    const edge = await spawnSrsx(dir, srsxConf(dir, port, SRSX_MAX_CONNECTIONS, { vhost: `cluster { mode remote; origin 127.0.0.1:${originPort}; }` }), port, 'srsx serve (edge)');
    return {
      name: 'srsx-edge',
      pid: edge.pid,
      rtmpPort: port,
      publishPort: originPort,
      processes: async () => [{ role: 'origin', pid: origin.pid }, { role: 'edge', pid: edge.pid }],
      stop: async () => {
        await stopper(edge.child)();
        await stopper(origin.child)();
      },
    };
  } catch (err) {
    await stopper(origin.child)();
    throw err;
  }
}

/**
 * `srs:<path to objs/srs>`: SRS itself (e.g. SRS 7 built from source) with its own config: RTMP on a
 * spare port, console log at warn, and for WebRTC its API, RTC server and rtmp_to_rtc.
 */
export async function startSrs(binary: string, opts: StartOptions = {}): Promise<ServerUnderTest> {
  if (!existsSync(binary)) throw new UserError(`srs:${binary}: no such file`, { hint: 'give the path of an SRS binary, e.g. srs:/usr/local/srs/objs/srs (docs/testing.md says how to build SRS 7)' });
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'srsx-bench-srs-'));
  const rtc = opts.rtc ? await rtcConfig() : undefined;
  const hls = opts.hls ? await hlsConfig(dir, true) : undefined;
  writeFileSync(path.join(dir, 'srs.conf'), `listen 127.0.0.1:${port};\nmax_connections 19000;\ndaemon off;\nsrs_log_tank console;\nsrs_log_level warn;\npid ${dir}/srs.pid;\n${rtc ? rtc.server : ''}${hls ? hls.server : ''}vhost __defaultVhost__ { ${rtc?.vhost ?? ''}${hls?.vhost ?? ''} }\n`);
  const { child, output } = spawnLogged(binary, ['-c', path.join(dir, 'srs.conf')], dir);
  await waitForPort(port, child, 'SRS', output);
  if (rtc) await waitForPort(rtc.api, child, 'SRS (http_api)', output);
  if (hls) await waitForPort(hls.http, child, 'SRS (http_server)', output);
  return { name: 'srs', pid: child.pid!, rtmpPort: port, apiPort: rtc?.api, httpPort: hls?.http, stop: stopper(child) };
}

/** nginx with libnginx-mod-rtmp, one worker, no master, its own prefix and config. */
export async function startNginxRtmp(opts: { port?: number } = {}): Promise<ServerUnderTest> {
  if (!(await hasCommand('nginx'))) throw missingCommand('nginx');
  const port = opts.port ?? (await freePort());
  const dir = mkdtempSync(path.join(os.tmpdir(), 'srsx-nginx-'));
  const conf = `load_module ${NGINX_RTMP_MODULE};
daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile 20000;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 20000; }
rtmp {
    server {
        listen 127.0.0.1:${port};
        chunk_size 60000;
        application live { live on; }
    }
}
`;
  writeFileSync(path.join(dir, 'nginx.conf'), conf);
  const { child, output } = spawnLogged('nginx', ['-p', dir, '-c', path.join(dir, 'nginx.conf')], dir);
  try {
    await waitForPort(port, child, 'nginx-rtmp', output);
  } catch (err) {
    if (/ngx_rtmp_module|dlopen/.test(output())) throw new UserError('nginx cannot load the RTMP module', { hint: 'apt-get install libnginx-mod-rtmp' });
    throw err;
  }
  return { name: 'nginx-rtmp', pid: child.pid!, rtmpPort: port, stop: stopper(child) };
}

/** `cmd:<command with {port}>`: any server started by a shell command that listens on {port}. */
export async function startCommand(command: string): Promise<ServerUnderTest> {
  const port = await freePort();
  const { child, output } = spawnLogged('sh', ['-c', `exec ${command.replaceAll('{port}', String(port))}`], process.cwd());
  await waitForPort(port, child, command, output);
  return { name: command.split(/\s+/)[0]!, pid: child.pid!, rtmpPort: port, stop: stopper(child) };
}

/** `pid:<pid>:<port>`: attach to a running server (it is not stopped afterwards). */
export function attach(pid: number, port: number): ServerUnderTest {
  return { name: `pid ${pid}`, pid, rtmpPort: port, stop: async () => {} };
}

export function serverStarter(spec: string, opts: StartOptions = {}): { name: string; start: () => Promise<ServerUnderTest> } {
  if (spec === 'srsx') return { name: 'srsx', start: () => startSrsx(undefined, opts) };
  const workers = /^srsx-workers:(\d+)$/.exec(spec);
  if (workers || spec === 'srsx-edge') {
    if (opts.rtc || opts.hls) throw new UserError(`${spec} is measured with RTMP players only`, { hint: 'drop --rtc/--hls, or use srsx' });
    if (spec === 'srsx-edge') return { name: spec, start: startSrsxEdge };
    const n = Number(workers![1]);
    if (n < 1 || n > 64) throw new UserError(`${spec}: workers from 1 to 64`, { hint: 'e.g. srsx-workers:2' });
    return { name: spec, start: () => startSrsxWorkers(n) };
  }
  if (spec.startsWith('srs:')) return { name: 'srs', start: () => startSrs(spec.slice(4), opts) };
  if (opts.hls) throw new UserError(`--hls needs a server srsx can configure for HLS: '${spec}' is not srsx or srs:<path>`, { hint: 'e.g. --servers srsx,srs:/usr/local/srs/objs/srs' });
  if (opts.rtc) throw new UserError(`--rtc needs a server srsx can configure for WebRTC: '${spec}' is not srsx or srs:<path>`, { hint: 'e.g. --servers srsx,srs:/usr/local/srs/objs/srs' });
  if (spec === 'nginx-rtmp') return { name: 'nginx-rtmp', start: startNginxRtmp };
  if (spec.startsWith('cmd:')) return { name: spec.slice(4).split(/\s+/)[0]!, start: () => startCommand(spec.slice(4)) };
  const m = /^pid:(\d+):(\d+)$/.exec(spec);
  if (m) return { name: `pid:${m[1]}`, start: async () => attach(Number(m[1]), Number(m[2])) };
  throw new UserError(`unknown server '${spec}'`, { hint: 'use srsx, srsx-workers:<n>, srsx-edge, srs:<path to SRS binary>, nginx-rtmp, cmd:<command listening on {port}> or pid:<pid>:<rtmp port>' });
}
