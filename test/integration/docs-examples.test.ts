/**
 * Every shell example of README.md and docs/*.md runs, against servers this test starts (issue 17, item 6).
 *
 * The blocks come from test/helpers/docs-examples.ts (fenced sh/bash/shell/console blocks and their
 * `<!-- docs-test: ... -->` markers, see docs/testing.md). Each command runs in bash, in a temp dir of its block
 * (with `conf/`, `profiles/` and `in.flv`), with `srsx` on PATH (bin/srsx of this checkout), after these rewrites:
 * the well-known addresses (RTMP 1935, API 1985, HTTP 8080, exporter 9972) point at the server this test started,
 * which a background publisher feeds on live/livestream; publishers of the examples publish a stream of their own;
 * durations are cut to a few seconds and load to a few clients. Commands that run until Ctrl-C (servers, looping
 * publishers, players without a duration) must come up, keep running, then stop on SIGINT with 0 or 130; each
 * `srsx serve` gets ports of its own. A command fails on any other exit code than 0 (or the marker's codes).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { extractBlocks, markersFor, onFixtureHost, runsUntilStopped, shortenDurations, stripComment, type DocBlock, type DocCommand } from '../helpers/docs-examples.js';
import { freePort, hasTool, isRoot, itIf, REPO, SRSX_BIN } from '../helpers/env.js';
import { testFlv } from '../helpers/media.js';
import { sleep, startServer, stopChild, type RunningServer } from '../helpers/serve.js';

const DOC_FILES = ['README.md', ...readdirSync(path.join(REPO, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
const BLOCKS: DocBlock[] = DOC_FILES.flatMap((f) => extractBlocks(readFileSync(path.join(REPO, f), 'utf8'), f));
/** A fixture host (a real machine's /proc and /sys) for blocks that would change this machine's kernel settings. */
const FIXTURE_HOST = path.join(REPO, 'test/fixtures/hosts/virtio-2cpu');
const MAX_SECONDS = 2;
const MAX_CLIENTS = 20;
const PARALLEL = 3;
/** What the examples use (CI installs them, .ci/run; without them, or without root, the blocks are skipped with that reason) */
const TOOLS = ['ffmpeg', 'curl', 'jq', 'netstat', 'mpstat', 'nginx', 'perf', 'strace', 'valgrind', 'gcc', 'taskset', 'renice', 'prlimit'];
const itDocs = itIf({ root: true, tools: TOOLS });
const CAN_RUN = isRoot && TOOLS.every(hasTool);
/** The test server's process name (at most 15 characters, the kernel's comm). */
const SRS_NAME = `srs-docs-${process.pid % 100000}`;

interface CommandResult {
  command: DocCommand;
  ran: string;
  skipped?: string;
  code: number | null;
  ok: boolean;
  why?: string;
  output: string;
}

const log = (s: string) => process.stderr.write(`${s}\n`);
const tmpRoot = mkdtempSync(path.join(os.tmpdir(), 'srsx-docs-'));

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Runs `text` in bash in its own process group; `held`: must stay up until `ready`, then gets SIGINT. */
function runShell(text: string, opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number; ready?: (output: string) => Promise<boolean> }): Promise<{ code: number | null; output: string; why?: string }> {
  const child: ChildProcess = spawn('bash', ['-o', 'pipefail', '-c', text], { cwd: opts.cwd, env: opts.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : null))));
  const group = (sig: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      /* already gone */
    }
  };
  return (async () => {
    if (!opts.ready) {
      const t = setTimeout(() => group('SIGKILL'), opts.timeoutMs);
      const code = await exited;
      clearTimeout(t);
      return { code, output, why: code === 137 ? `still running after ${opts.timeoutMs / 1000} s (killed)` : undefined };
    }
    // runs until stopped: it must come up and stay up, then stop cleanly on Ctrl-C (SIGINT to its process group)
    const deadline = Date.now() + opts.timeoutMs;
    let done: number | null | undefined;
    void exited.then((c) => (done = c));
    let up = false;
    while (Date.now() < deadline && done === undefined) {
      if (await opts.ready(output)) {
        up = true;
        break;
      }
      await sleep(250);
    }
    if (done !== undefined) return { code: done, output, why: `exited with ${done} before it was stopped (it runs until Ctrl-C)` };
    if (!up) {
      group('SIGKILL');
      await exited;
      return { code: null, output, why: `not up after ${opts.timeoutMs / 1000} s` };
    }
    await sleep(1000);
    if (done !== undefined) return { code: done, output, why: `exited with ${done} right after it came up` };
    group('SIGINT');
    const t = setTimeout(() => group('SIGKILL'), 60_000);
    const code = await exited;
    clearTimeout(t);
    return { code, output, why: code === 0 || code === 130 ? undefined : `exit code ${code} after Ctrl-C (expected 0 or 130)` };
  })();
}

describe('documented shell examples (README.md, docs/*.md)', () => {
  let server: RunningServer;
  /** the server the examples of `srsx profile` find (./objs/srs.pid) */
  let profiled: RunningServer;
  let publisher: ChildProcess;
  /** feeds the profiled server too: `srsx profile --perf 2s` of an idle server can record no sample at all */
  let profiledPublisher: ChildProcess;
  let binDir: string;
  let flv: string;
  let exporter: number;
  const results = new Map<DocBlock, CommandResult[]>();

  /** A fresh dir for a block or a server command: conf/, profiles/, in.flv; `objs/srs.pid` is the test server's. */
  function workDir(name: string, pidOf?: RunningServer): string {
    const dir = mkdtempSync(path.join(tmpRoot, `${name.replace(/[^\w.-]+/g, '_')}-`));
    symlinkSync(path.join(REPO, 'conf'), path.join(dir, 'conf'));
    symlinkSync(path.join(REPO, 'profiles'), path.join(dir, 'profiles'));
    copyFileSync(flv, path.join(dir, 'in.flv'));
    if (pidOf) {
      mkdirSync(path.join(dir, 'objs'));
      symlinkSync(path.join(pidOf.dir, 'srs.pid'), path.join(dir, 'objs/srs.pid'));
    }
    return dir;
  }

  /** Addresses and sizes of a client command, pointed at the test's server. */
  function rewriteClient(text: string, n: number): string {
    // a player's --duration counts from its start: give it time to connect on a busy machine
    let t = shortenDurations(text.replace(/\bnpx srsx\b/g, 'srsx'), /^srsx\s+play\b/.test(text) ? 5 : MAX_SECONDS);
    t = t.replace(/(--name\s+|pidof\s+)srs\b/g, `$1${SRS_NAME}`);
    t = t.replace(/rtmp:\/\/(127\.0\.0\.1|localhost)\//g, `rtmp://127.0.0.1:${server.rtmp}/`);
    t = t.replace(/\b(127\.0\.0\.1|localhost):(1935|1985|8080|9972)\b/g, (_, _h: string, p: string) => `127.0.0.1:${{ 1935: server.rtmp, 1985: server.api, 8080: server.http, 9972: exporter }[p]}`);
    // a publisher of an example publishes a stream of its own (live/livestream is the background publisher's)
    if (/^(ffmpeg\b.*\s-f\s+flv\s+rtmp|srsx\s+publish\b)/.test(t)) t = t.replace(/\/live\/livestream\b/g, `/live/docs-${n}`);
    t = t.replace(/(\s-c\s+)(\d+)/g, (all, flag: string, c: string) => (Number(c) > MAX_CLIENTS ? `${flag}${MAX_CLIENTS}` : all));
    t = t.replace(/(--clients\s+)([\d,]+)/g, (_, flag: string, list: string) => `${flag}${list.split(',').map((c) => Math.min(Number(c), MAX_CLIENTS)).filter((c, i, a) => a.indexOf(c) === i).join(',')}`);
    t = t.replace(/(--pid\s+)1234\b/g, `$1${server.child.pid}`);
    // SRS's install path: the test's server is the SRS here
    t = t.replace(/\/usr\/local\/srs\/objs\/srs\.pid\b/g, path.join(server.dir, 'srs.pid'));
    // bench compare holds each step 15 s by default
    if (/^srsx\s+bench\s+compare\b/.test(t) && !/--hold\b/.test(t)) t += ` --hold ${MAX_SECONDS}s`;
    return t;
  }

  /** Commands written the same in several places run once (a server's start-up under valgrind is a minute). */
  const ranBefore = new Map<string, Promise<CommandResult>>();

  async function runCommand(block: DocBlock, command: DocCommand, n: number, state: { cwd: string; env: NodeJS.ProcessEnv; shared: boolean }): Promise<CommandResult> {
    const markers = markersFor(block, command);
    const skip = markers.find((m) => m.kind === 'skip');
    if (skip) return { command, ran: '', skipped: skip.reason, code: null, ok: true, output: '' };
    const codes = markers.find((m) => m.kind === 'exit')?.codes ?? [0];
    const bare = stripComment(command.text);
    const cd = /^cd\s+(\S+)$/.exec(bare);
    if (cd) {
      state.cwd = path.resolve(state.cwd, cd[1]);
      state.shared = false;
      return { command, ran: bare, code: 0, ok: true, output: '' };
    }
    const isServe = /^(\w+=\S*\s+)*(npx\s+)?srsx\s+(serve|profile\b.*\s--\s+serve)\b/.test(bare);
    let text: string;
    let cwd = state.cwd;
    let env = state.env;
    let ready: ((output: string) => Promise<boolean>) | undefined;
    let timeoutMs = 90_000;
    if (isServe) {
      // a server of its own, on ports of its own, in a dir of its own (its ./objs/srs.pid is not the test server's)
      const [rtmp, api, http] = [await freePort(), await freePort(), await freePort()];
      const ports: Record<string, number> = { 1935: rtmp, 19350: rtmp, 1985: api, 8080: http };
      text = shortenDurations(bare.replace(/\bnpx srsx\b/g, 'srsx'), MAX_SECONDS).replace(/\b(1935|19350|1985|8080)\b/g, (p) => String(ports[p]));
      cwd = workDir(`serve-${n}`);
      env = { ...env, SRS_LISTEN: String(rtmp), SRS_HTTP_API_LISTEN: String(api), SRS_HTTP_SERVER_LISTEN: String(http), SRS_EXPORTER_LISTEN: String(await freePort()), SRS_RTC_SERVER_LISTEN: String(await freePort()) };
      if (runsUntilStopped(bare)) {
        // up: its RTMP port accepts and it said so (its signal handlers are installed right after that line)
        ready = async (output) => /srsx serve pid=/.test(output) && (await portOpen(rtmp));
        timeoutMs = /--valgrind/.test(bare) ? 240_000 : /--asan/.test(bare) ? 120_000 : 30_000;
      }
    } else {
      text = rewriteClient(bare, n);
      if (runsUntilStopped(bare)) {
        const since = Date.now();
        ready = async () => Date.now() - since > 3000;
        timeoutMs = 10_000;
      }
    }
    const key = `${codes.join('|')} ${isServe ? bare : text}`;
    const run = async (): Promise<CommandResult> => {
      const r = await runShell(text, { cwd, env, timeoutMs, ready });
      const ok = !r.why && (ready ? true : r.code !== null && codes.includes(r.code));
      const why = r.why ?? (ok ? undefined : `exit code ${r.code} (expected ${codes.join(' or ')})`);
      return { command, ran: text, code: r.code, ok, why, output: r.output };
    };
    if (!state.shared) return run();
    if (!ranBefore.has(key)) ranBefore.set(key, run());
    return { ...(await ranBefore.get(key)!), command };
  }

  async function runBlock(block: DocBlock, index: number): Promise<void> {
    // a block that profiles the server gets one of its own: a heap snapshot stops a server for seconds
    const profiles = block.commands.some((c) => /^srsx\s+profile\s+--(heap|cpu|perf|strace)\b/.test(c.text));
    const cwd = workDir(`${block.file}-${block.line}`, profiles ? profiled : server);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PATH: `${binDir}:${process.env.PATH}`,
      FORCE_COLOR: '0',
      SRSX_STATE_DIR: mkdtempSync(path.join(tmpRoot, 'state-')),
    };
    let fixtureEnv: NodeJS.ProcessEnv | undefined;
    if (block.markers.some((m) => m.kind === 'fixture-host')) {
      // the block's host is a copy of a fixture machine (its settings, its saved state); real-host commands run here
      const host = mkdtempSync(path.join(tmpRoot, 'host-'));
      cpSync(FIXTURE_HOST, host, { recursive: true });
      fixtureEnv = { ...env, SRSX_HOST_ROOT: host, SRSX_STATE_DIR: mkdtempSync(path.join(tmpRoot, 'state-')) };
    }
    const state = { cwd, env, shared: true };
    const out: CommandResult[] = [];
    for (const [k, command] of block.commands.entries()) {
      const started = Date.now();
      const fixture = fixtureEnv && onFixtureHost(block, command);
      const r = await runCommand(block, command, index * 100 + k, fixture ? { cwd: state.cwd, env: fixtureEnv!, shared: false } : state);
      out.push(r);
      log(`docs-examples ${block.file}:${command.line} ${r.skipped ? `skipped (${r.skipped})` : `${r.ok ? 'ok' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(1)} s: ${r.ran}`}`);
    }
    results.set(block, out);
  }

  beforeAll(async () => {
    if (!CAN_RUN) return;
    flv = testFlv({ seconds: 2, gop: 25, kbps: 300, size: '320x240' });
    binDir = mkdtempSync(path.join(tmpRoot, 'bin-'));
    writeFileSync(path.join(binDir, 'srsx'), `#!/bin/sh\nexec "${process.execPath}" "${SRSX_BIN}" "$@"\n`);
    chmodSync(path.join(binDir, 'srsx'), 0o755);
    exporter = await freePort();
    // the server stands in for SRS too: its process has a name of its own (a symlink to node), which `pidof srs`
    // and `--name srs` are rewritten to (an SRS of another test may be running); node's flags for a server are given here, so bin/srsx does not re-run node
    symlinkSync(process.execPath, path.join(binDir, SRS_NAME));
    server = await startServer({
      extra: `exporter { enabled on; listen ${exporter}; }`,
      node: path.join(binDir, SRS_NAME),
      nodeArgs: ['--max-semi-space-size=2', '--perf-basic-prof-only-functions'],
    });
    profiled = await startServer();
    const loop = testFlv({ seconds: 10, gop: 25, kbps: 300, size: '320x240' });
    publisher = spawn('ffmpeg', ['-v', 'error', '-re', '-stream_loop', '-1', '-i', loop, '-c', 'copy', '-f', 'flv', `rtmp://127.0.0.1:${server.rtmp}/live/livestream`], { stdio: 'ignore' });
    profiledPublisher = spawn('ffmpeg', ['-v', 'error', '-re', '-stream_loop', '-1', '-i', loop, '-c', 'copy', '-f', 'flv', `rtmp://127.0.0.1:${profiled.rtmp}/live/livestream`], { stdio: 'ignore' });
    const deadline = Date.now() + 15_000;
    for (;;) {
      const streams = (await (await fetch(`http://127.0.0.1:${server.api}/api/v1/streams`)).json()) as { streams: Array<{ name: string; publish: { active: boolean } }> };
      if (streams.streams.some((s) => s.name === 'livestream' && s.publish.active)) break;
      if (Date.now() > deadline) throw new Error('the background publisher did not start in 15 s');
      await sleep(250);
    }
    // blocks run in parallel (PARALLEL at a time), the commands of a block one after another
    // the slowest first (a server under valgrind takes a minute to start), so the rest runs beside them
    const cost = (b: DocBlock) => (b.commands.some((c) => /--valgrind/.test(c.text)) ? 3 : b.commands.some((c) => /bench compare|--asan/.test(c.text)) ? 2 : 1);
    const queue = BLOCKS.map((b, i) => [b, i] as const)
      .filter(([b]) => !b.markers.some((m) => m.kind === 'skip' && !m.prefix))
      .sort(([a], [b]) => cost(b) - cost(a));
    await Promise.all(
      Array.from({ length: PARALLEL }, async () => {
        for (let next = queue.shift(); next; next = queue.shift()) await runBlock(next[0], next[1]);
      }),
    );
  }, 420_000);

  afterAll(async () => {
    if (publisher) await stopChild(publisher, 'SIGKILL');
    if (profiledPublisher) await stopChild(profiledPublisher, 'SIGKILL');
    if (server) await server.stop();
    if (profiled) await profiled.stop();
  });

  it('finds the examples (README.md and docs/*.md have sh blocks)', () => {
    expect(BLOCKS.length).toBeGreaterThan(10);
    expect(BLOCKS.filter((b) => b.file === 'README.md').length).toBeGreaterThan(5);
  });

  for (const block of BLOCKS) {
    const whole = block.markers.find((m) => m.kind === 'skip' && !m.prefix);
    const name = `${block.file}:${block.line} (${block.commands.length} commands)`;
    if (whole) {
      // an explicit skip in the docs, with its reason; never silent
      it.skip(`${name} [skipped in the docs: ${whole.reason}]`, () => undefined);
      continue;
    }
    itDocs(name, () => {
      const out = results.get(block);
      expect(out).toBeDefined();
      const failed = out!.filter((r) => !r.ok).map((r) => `${block.file}:${r.command.line}: ${r.command.text}\n  ran: ${r.ran}\n  ${r.why}\n${r.output.split('\n').slice(-15).map((l) => `  | ${l}`).join('\n')}`);
      expect(failed).toEqual([]);
    });
  }
});
