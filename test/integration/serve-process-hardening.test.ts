// srsx serve as a process under operator and host faults: the bin/srsx wrapper killed (-9), an
// open-files limit too small for max_connections, running out of descriptors at accept (EMFILE),
// a SIGHUP whose log reopen fails or whose config include became a FIFO. The server never dies
// of them, never hangs, and never outlives its wrapper.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort, itIf, SRSX_BIN } from '../helpers/env.js';
import { sleep, stopAfterEach } from '../helpers/serve.js';

interface Srv {
  wrapper: ChildProcess;
  pid: number;
  dir: string;
  api: number;
  rtmp: number;
  output: () => string;
}

const started = stopAfterEach();

/** A process is gone when /proc has no entry for it or it is a zombie (reaped later by init). */
function gone(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function apiUp(port: number, timeoutMs = 2000): Promise<boolean> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/api/v1/versions`, { signal: AbortSignal.timeout(timeoutMs) });
    return r.ok;
  } catch {
    return false;
  }
}

/** Starts bin/srsx serve (optionally under a command prefix such as prlimit) on a config built from `body`. */
async function start(body: (dir: string) => string, opts: { prefix?: string[]; maxConnections?: number; expectExit?: boolean } = {}): Promise<Srv> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'srsx-prochard-'));
  const [rtmp, api] = [await freePort(), await freePort()];
  fs.writeFileSync(path.join(dir, 'srs.conf'), `listen ${rtmp};
max_connections ${opts.maxConnections ?? 1000};
pid ${dir}/srs.pid;
http_api { enabled on; listen ${api}; }
${body(dir)}
vhost __defaultVhost__ { }
`);
  const argv = [...(opts.prefix ?? []), process.execPath, SRSX_BIN, 'serve', '-c', path.join(dir, 'srs.conf')];
  const wrapper = started.add(spawn(argv[0]!, argv.slice(1), { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  wrapper.stdout!.on('data', (d) => (out += d));
  wrapper.stderr!.on('data', (d) => (out += d));
  const srv: Srv = { wrapper, pid: 0, dir, api, rtmp, output: () => out };
  if (opts.expectExit) return srv;
  srv.pid = await until(`the server's pid file (output: ${out})`, () => {
    if (wrapper.exitCode !== null) throw new Error(`srsx serve exited ${wrapper.exitCode}: ${out}`);
    try {
      return Number(fs.readFileSync(path.join(dir, 'srs.pid'), 'utf8').trim()) || undefined;
    } catch {
      return undefined;
    }
  });
  // the child is ours to stop as well (by pid, after each test)
  started.add({ stop: async () => void (gone(srv.pid) || process.kill(srv.pid, 'SIGKILL')) });
  for (let i = 0; i < 100 && !(await apiUp(api)); i++) await sleep(100);
  return srv;
}

function exitOf(child: ChildProcess, timeoutMs = 15_000): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no exit')), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(t);
      resolve(code);
    });
  });
}

describe('srsx serve as a process', () => {
  it('stops when the bin/srsx wrapper is killed with SIGKILL (no orphan)', async () => {
    const s = await start(() => 'srs_log_tank console;');
    expect(s.pid).not.toBe(s.wrapper.pid);
    s.wrapper.kill('SIGKILL');
    const t0 = Date.now();
    await until('the server to exit after its wrapper died', () => gone(s.pid), 5000);
    expect(Date.now() - t0).toBeLessThan(3000);
  }, 30_000);

  itIf({ tools: ['prlimit'] })('refuses max_connections that does not fit the hard open-files limit (SRS: +128 reserved)', async () => {
    const s = await start(() => 'srs_log_tank console;', { prefix: ['prlimit', '--nofile=1100:1100', '--'], expectExit: true });
    expect(await exitOf(s.wrapper)).toBe(2);
    expect(s.output()).toMatch(/max_connections 1000 needs 1128 open files \(128 reserved, as SRS\), but the limit is 1100 \(hard 1100\)/);
    expect(s.output()).toMatch(/hint: raise the limit \(ulimit -HSn 10000/);
    expect(s.output()).not.toMatch(/internal error/);
  }, 30_000);

  itIf({ tools: ['prlimit'] })('starts when the hard limit fits max_connections (the soft limit is raised to it)', async () => {
    // node itself raises its soft limit to the hard one at start; srsx checks and, if needed, raises it too
    const s = await start(() => 'srs_log_tank console;', { prefix: ['prlimit', '--nofile=1100:4000', '--'] });
    const limits = fs.readFileSync(`/proc/${s.pid}/limits`, 'utf8');
    expect(limits).toMatch(/^Max open files\s+4000\s+4000/m);
    expect(await apiUp(s.api)).toBe(true);
  }, 30_000);

  itIf({ root: true, tools: ['prlimit'] })('EMFILE at accept: logged once a second with the count, and serving goes on', async () => {
    const s = await start(() => 'srs_log_tank console;');
    // descriptors run out at runtime (the start-up check passed): lower the running server's soft limit
    const fds = fs.readdirSync(`/proc/${s.pid}/fd`).length;
    execFileSync('prlimit', [`--pid=${s.pid}`, `--nofile=${fds + 10}:20000`]);
    const socks: net.Socket[] = [];
    const t0 = Date.now();
    try {
      for (let i = 0; i < 60; i++) {
        const c = net.connect(s.rtmp, '127.0.0.1');
        c.on('error', () => {});
        socks.push(c);
      }
      await until('EMFILE in the log', () => /\[Error\].* accept: EMFILE: all \d+ file descriptors are open \(\d+ connections\): new connections are refused/.test(s.output()), 10_000);
      await sleep(2000);
      expect(gone(s.pid)).toBe(false);
      // at most one line a second of each kind (the watcher's, and accept errors Node reports)
      const seconds = Math.ceil((Date.now() - t0) / 1000) + 1;
      const out = s.output().split('\n');
      expect(out.filter((l) => /accept: EMFILE/.test(l)).length).toBeLessThanOrEqual(seconds);
      expect(out.filter((l) => /accept on port/.test(l)).length).toBeLessThanOrEqual(seconds);
    } finally {
      for (const c of socks) c.destroy();
    }
    execFileSync('prlimit', [`--pid=${s.pid}`, '--nofile=20000:20000']);
    await sleep(300);
    expect(await apiUp(s.api)).toBe(true);
    const again = await new Promise<boolean>((resolve) => {
      const c = net.connect(s.rtmp, '127.0.0.1', () => {
        c.destroy();
        resolve(true);
      });
      c.on('error', () => resolve(false));
    });
    expect(again).toBe(true);
    expect(s.output()).not.toMatch(/internal error|Uncaught|ERR_/);
  }, 40_000);

  it('SIGHUP whose log reopen fails (the log directory became a file) keeps the old file and serves on', async () => {
    const s = await start((dir) => `srs_log_tank file;\nsrs_log_file ${dir}/logs/srs.log;\nsrs_log_level trace;`);
    const logDir = path.join(s.dir, 'logs');
    fs.renameSync(logDir, path.join(s.dir, 'logs.old'));
    fs.writeFileSync(logDir, 'a file where the log directory was');
    process.kill(s.pid, 'SIGHUP');
    await until('the reopen failure on stderr', () => /log reopen of .*srs\.log failed/.test(s.output()), 5000);
    expect(await apiUp(s.api)).toBe(true);
    expect(gone(s.pid)).toBe(false);
    // still logging, to the file opened before
    await until('the reload logged to the old file', () => /SIGHUP: reloaded/.test(fs.readFileSync(path.join(s.dir, 'logs.old/srs.log'), 'utf8')), 5000);
  }, 30_000);

  it('SIGHUP with an include that became a FIFO: the reload fails with a clear error, players are not stalled', async () => {
    const s = await start((dir) => {
      fs.writeFileSync(path.join(dir, 'part.conf'), 'srs_log_level trace;\n');
      return `srs_log_tank console;\ninclude ${dir}/part.conf;`;
    });
    fs.rmSync(path.join(s.dir, 'part.conf'));
    execFileSync('mkfifo', [path.join(s.dir, 'part.conf')]);
    process.kill(s.pid, 'SIGHUP');
    const t0 = Date.now();
    expect(await apiUp(s.api, 1000)).toBe(true);
    expect(Date.now() - t0).toBeLessThan(1000);
    await until('the reload error', () => /SIGHUP: reload failed, keeping the running config: .*cannot read include file .*part\.conf: not a regular file \(a FIFO\)/.test(s.output()), 5000);
    expect(await apiUp(s.api)).toBe(true);
  }, 30_000);
});
