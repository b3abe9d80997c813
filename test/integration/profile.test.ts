import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { itIf, REPO, runCli, SRSX_BIN } from '../helpers/env.js';
import { testFlv } from '../helpers/media.js';
import { sleep, startServer, stopAfterEach, type RunningServer } from '../helpers/serve.js';

const itPerf = itIf({ root: true, tools: ['perf', 'ffmpeg'] });
const itStrace = itIf({ root: true, tools: ['strace', 'ffmpeg'] });
const itNode = itIf({});

describe('srsx profile', () => {
  const started = stopAfterEach();
  const out = mkdtempSync(path.join(os.tmpdir(), 'srsx-prof-'));

  /** srsx serve with a publisher and 50 players, so there is work to see. */
  async function loadedServer(): Promise<RunningServer> {
    const s = await startServer();
    const url = `rtmp://127.0.0.1:${s.rtmp}/live/prof`;
    started.add(spawn(process.execPath, [SRSX_BIN, 'publish', '--re', '--loop', '--duration', '40s', testFlv({ seconds: 10 }), url], { stdio: 'ignore' }));
    await sleep(1000);
    started.add(spawn(process.execPath, [SRSX_BIN, 'bench', 'rtmp-load', '-c', '50', '-r', url, '--duration', '40s'], { stdio: 'ignore' }));
    await sleep(2000);
    return s;
  }

  const pidOf = (s: RunningServer) => readFileSync(path.join(s.dir, 'srs.pid'), 'utf8').trim();

  itPerf('--perf names the server\'s own JavaScript functions and writes a flame graph', async () => {
    const server = started.add(await loadedServer());
    const r = runCli(['profile', '--perf', '4s', '--pidfile', path.join(server.dir, 'srs.pid'), '--out', out, '--json'], { timeoutMs: 90_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const res = JSON.parse(r.stdout);
    expect(res.perfMap).toBe(true);
    expect(res.samples).toBeGreaterThan(5);
    const html = readFileSync(res.flamegraph, 'utf8');
    // a JS frame of srsx itself, named through the perf map
    expect(html).toMatch(/JS:[*~^]?\w+ file:\/\/[^"]*\/dist\/(server|protocol)\//);
    expect(html).toMatch(/flamegraph\(\)/);
    // node never deletes its perf map; srsx serve removes its own at stop
    const pid = pidOf(server);
    expect(existsSync(`/tmp/perf-${pid}.map`)).toBe(true);
    await server.stop();
    expect(existsSync(`/tmp/perf-${pid}.map`)).toBe(false);
  }, 120_000);

  itStrace('--strace lists write(v) and epoll_(p)wait', async () => {
    const server = started.add(await loadedServer());
    const r = runCli(['profile', '--strace', '3s', '--pid', pidOf(server), '--json'], { timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    const names = JSON.parse(r.stdout).syscalls.map((s: { syscall: string }) => s.syscall);
    expect(names.some((n: string) => n === 'write' || n === 'writev')).toBe(true);
    expect(names.some((n: string) => /^epoll_p?wait$/.test(n))).toBe(true);
  }, 90_000);

  itNode('--heap --diff names the leaking constructor; --cpu names the busy function', async () => {
    const leaky = spawn(process.execPath, [path.join(REPO, 'test/fixtures/profile/leaky.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
    started.add(leaky);
    await new Promise((r) => leaky.stdout!.once('data', r));
    const heap = runCli(['profile', '--heap', '--diff', '2s', '--pid', String(leaky.pid), '--out', out, '--json'], { timeoutMs: 60_000 });
    expect(heap.stderr).toBe('');
    expect(heap.code).toBe(0);
    const grown = JSON.parse(heap.stdout).grown as Array<{ name: string; countDelta: number }>;
    const leak = grown.find((g) => g.name === 'LeakyConnectionRecord');
    expect(leak?.countDelta).toBeGreaterThan(1000);
    const cpu = runCli(['profile', '--cpu', '2s', '--pid', String(leaky.pid), '--out', out, '--json'], { timeoutMs: 60_000 });
    expect(cpu.code).toBe(0);
    const top = JSON.parse(cpu.stdout).top as Array<{ function: string; location: string; selfPercent: number }>;
    const busy = top.find((t) => ['busyChecksumLoop', 'leakAndBurn'].includes(t.function));
    expect(busy?.location).toMatch(/leaky\.mjs:\d+$/);
    expect(busy!.selfPercent).toBeGreaterThan(1);
    // the inspector is closed again afterwards
    await expect(fetch('http://127.0.0.1:9229/json/list')).rejects.toThrow();
  }, 90_000);

  it('says what is missing in one line, exit 2', () => {
    const a = runCli(['profile', '--perf', '5s', '--pidfile', '/nonexistent/srs.pid']);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/no running srsx server found/);
    const b = runCli(['profile']);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/nothing to do/);
    const c = runCli(['profile', '--strace', '2s', '--pid', '999999']);
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/no process with pid 999999/);
    const d = runCli(['profile', '--valgrind', '--pid', '1']);
    expect(d.code).toBe(2);
    expect(d.stderr).toMatch(/starts the server itself/);
    const e = runCli(['profile', '--perf', '5s', '--duration', '10s']);
    expect(e.code).toBe(2);
    expect(e.stderr).toMatch(/--duration goes with --valgrind or --asan/);
    const f = runCli(['profile', '--strace', '5s', '--', 'serve']);
    expect(f.code).toBe(2);
    expect(f.stderr).toMatch(/a command to run goes with --valgrind or --asan/);
    for (const r of [a, b, c, d, e, f]) expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  itNode('--cpu/--heap refuse a pid that is not Node.js, without signalling it (SIGUSR1 would kill it)', async () => {
    const sleeper = started.add(spawn('sleep', ['60'], { stdio: 'ignore' }));
    await sleep(100);
    for (const mode of [['--cpu', '1s'], ['--heap']]) {
      const r = runCli(['profile', ...mode, '--pid', String(sleeper.pid), '--out', out]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`pid ${sleeper.pid} \\(sleep\\) is not a Node\\.js process`));
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    await sleep(200);
    expect(sleeper.exitCode).toBeNull();
    expect(sleeper.signalCode).toBeNull();
  }, 30_000);

  itNode('--cpu talks to the inspector of that pid, not whatever answers on 9229', async () => {
    // a decoy Node process holds 127.0.0.1:9229 with its own inspector (if the port is free)
    const decoy = started.add(spawn(process.execPath, ['--inspect=127.0.0.1:9229', '-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' }));
    // the target opens its inspector on a port of its own when signalled (--inspect-port=0: any free port)
    const target = started.add(spawn(process.execPath, ['--inspect-port=0', '-e', `
      function targetOnlySpinMarker() { let x = 0; for (let i = 0; i < 2e5; i++) x += Math.sqrt(i); return x; }
      setInterval(targetOnlySpinMarker, 5);
      process.stdout.write('ready\\n');
    `], { stdio: ['ignore', 'pipe', 'ignore'] }));
    await new Promise((r) => target.stdout!.once('data', r));
    await sleep(500);
    expect(decoy.exitCode).toBeNull();
    const r = runCli(['profile', '--cpu', '2s', '--pid', String(target.pid), '--out', out, '--json'], { timeoutMs: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const res = JSON.parse(r.stdout) as { pid: number; file: string; top: Array<{ function: string }> };
    expect(res.pid).toBe(target.pid);
    expect(readFileSync(res.file, 'utf8')).toContain('targetOnlySpinMarker');
  }, 60_000);
});
