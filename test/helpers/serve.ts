import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, SRSX_BIN } from './env.js';

export interface RunningServer {
  child: ChildProcess;
  dir: string;
  rtmp: number;
  http: number;
  api: number;
  log: () => string;
  stop: () => Promise<void>;
}

/**
 * Starts `srsx serve -c <conf>` in a temp dir on free ports. `body` is the vhost block's inside
 * (default: HTTP-FLV on). Stop it with stop() (SIGTERM by PID, then SIGKILL).
 */
export interface StartServerOptions { vhostBody?: string; extra?: string; env?: Record<string, string>; maxConnections?: number; node?: string; nodeArgs?: string[] }

export async function startServer(opts: StartServerOptions = {}): Promise<RunningServer> {
  // a free port can be taken between freePort() and the server's bind (parallel suites' clients get
  // ephemeral ports from the same range): then start again on other ports, twice at most
  for (let attempt = 1; ; attempt++) {
    try {
      return await startServerOnce(opts);
    } catch (err) {
      if (attempt >= 3 || !/is already in use/.test((err as Error).message)) throw err;
    }
  }
}

async function startServerOnce(opts: StartServerOptions): Promise<RunningServer> {
  const [rtmp, http, api] = [await freePort(), await freePort(), await freePort()];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'srsx-serve-'));
  const conf = `listen ${rtmp};
max_connections ${opts.maxConnections ?? 12000};
srs_log_tank console;
pid ${dir}/srs.pid;
http_api { enabled on; listen ${api}; }
http_server { enabled on; listen ${http}; dir ${dir}; }
${opts.extra ?? ''}
vhost __defaultVhost__ {
${opts.vhostBody ?? '    http_remux { enabled on; mount [vhost]/[app]/[stream].flv; }'}
}
`;
  writeFileSync(path.join(dir, 'srs.conf'), conf);
  // `node`: another name for the node executable (a symlink named srs makes the process `srs` for pidof/pgrep)
  const child = spawn(opts.node ?? process.execPath, [...(opts.nodeArgs ?? []), SRSX_BIN, 'serve', '-c', path.join(dir, 'srs.conf')], { cwd: dir, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  await new Promise<void>((resolve, reject) => {
    // 30 s: a start takes ~1 s, but several helpers under a load average of 15-20 once needed over 10 s
    const t = setTimeout(() => reject(new Error(`srsx serve did not start in 30 s:\n${out}`)), 30_000);
    const check = () => {
      if (/srsx serve pid=/.test(out)) {
        clearTimeout(t);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`srsx serve exited with ${code}:\n${out}`));
    });
  });
  return {
    child,
    dir,
    rtmp,
    http,
    api,
    log: () => out,
    stop: () => stopChild(child),
  };
}

export function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill(signal);
  });
}

/** Spawns a command whose output is collected; stop it by PID with stopChild. */
export function spawnTool(cmd: string, args: string[]): { child: ChildProcess; output: () => string } {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return { child, output: () => out };
}

export function waitExit(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`process ${child.pid} still running after ${timeoutMs} ms`)), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(t);
      resolve(code);
    });
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `f` every 50 ms until it gives something truthy; throws after `timeoutMs`, naming `what` (or what() then). */
export async function until<T>(what: string | (() => string), f: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await sleep(50);
  }
}

/**
 * What the tests of a describe block start, stopped after each test, newest first: child
 * processes by PID (SIGKILL), servers with their stop(). `started.add(x)` records x and returns it.
 */
export function stopAfterEach(): { add<T extends ChildProcess | { stop(): Promise<void> }>(x: T): T } {
  const items: Array<ChildProcess | { stop(): Promise<void> }> = [];
  afterEach(async () => {
    for (const x of items.splice(0).reverse()) await ('kill' in x ? stopChild(x, 'SIGKILL') : x.stop());
  });
  return {
    add(x) {
      items.push(x);
      return x;
    },
  };
}

