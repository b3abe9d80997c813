/**
 * The command line as a new user meets it (issue 17, item 5): every command's --help has examples
 * and says what the command does; bad intervals are refused; --watch piped has no escape codes.
 * Every case runs bin/srsx as a real process.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { itIf, runCli, SRSX_BIN } from '../helpers/env.js';
import { waitExit } from '../helpers/serve.js';

const itFF = itIf({ tools: ['ffmpeg'] });

/** The subcommand names listed under "Commands:" in a help text (without `help`). */
function subcommands(help: string): string[] {
  const at = help.indexOf('\nCommands:\n');
  if (at < 0) return [];
  const names: string[] = [];
  for (const line of help.slice(at + '\nCommands:\n'.length).split('\n')) {
    if (line.trim() === '') break;
    const m = /^ {2}([a-z][\w-]*)/.exec(line);
    if (m && m[1] !== 'help') names.push(m[1]!);
  }
  return names;
}

/** Every command path of srsx, found by walking `--help` from the top, with its help text. */
function commandTree(): Map<string, string> {
  const tree = new Map<string, string>();
  const walk = (cmd: string[]) => {
    const r = runCli([...cmd, '--help']);
    expect(`${cmd.join(' ')}: exit ${r.code} ${r.stderr}`).toBe(`${cmd.join(' ')}: exit 0 `);
    tree.set(cmd.join(' '), r.stdout);
    for (const sub of subcommands(r.stdout)) walk([...cmd, sub]);
  };
  walk([]);
  return tree;
}

describe('srsx --help', () => {
  let tree: Map<string, string>;
  beforeAll(() => {
    tree = commandTree();
  });

  it('walks the whole command tree (tune check/revert/profiles, bench and its subcommands are in it)', () => {
    for (const p of ['', 'tune', 'tune check', 'tune revert', 'tune profiles', 'diagnose', 'serve', 'publish', 'play', 'bench', 'bench rtmp-load', 'bench rtc-load', 'bench compare', 'profile']) {
      expect([...tree.keys()]).toContain(p);
    }
  });

  it('every command, leaf or group, has an Examples section whose lines run srsx', () => {
    const missing: string[] = [];
    for (const [cmd, help] of tree) {
      const m = /\nExamples:\n((?: {2}.*\n?)+)/.exec(help);
      if (!m) {
        missing.push(`srsx ${cmd}`.trim());
        continue;
      }
      const lines = m[1]!.split('\n').filter((l) => l.trim() !== '');
      expect(lines.length).toBeGreaterThan(0);
      // the command itself is among them (other lines may show the tools around it, e.g. ffmpeg)
      if (cmd !== '') expect(`${cmd}: ${m[1]}`).toMatch(new RegExp(`srsx ${cmd.split(' ')[0]}\\b`));
    }
    expect(missing).toEqual([]);
  });

  it('says udp-drops samples 5 s by default, as it does', () => {
    expect(tree.get('')).toMatch(/srsx diagnose udp-drops +UDP drops over 5 s/);
    expect(tree.get('diagnose')).toMatch(/--interval <time>.*\(default: "5s"\)/s);
  });

  it('says which files bench compare writes (checked against a run below)', () => {
    const help = tree.get('bench compare')!;
    expect(help).toMatch(/compare\.json/);
    expect(help).toMatch(/compare\.svg/);
    expect(help).toMatch(/with --markdown NAME\.md: NAME\.svg/);
    expect(help).toMatch(/compare-rtc\.json, compare-rtc\.svg/);
  });
});

describe('bench compare writes the files its help names', () => {
  itFF('compare.json and compare.svg in --out; with --markdown report.md, report.svg and the report', () => {
    const help = runCli(['bench', 'compare', '--help']).stdout;
    const named = new Set((help.match(/\b[a-zA-Z-]+\.(?:json|svg)\b/g) ?? []).map((n) => n.replace(/^NAME\./, 'report.')));
    const dir = mkdtempSync(path.join(os.tmpdir(), 'srsx-compare-help-'));
    const plain = path.join(dir, 'plain');
    const r = runCli(['bench', 'compare', '--servers', 'srsx', '--clients', '2', '--hold', '1s', '--ramp', '10', '--out', plain], { timeoutMs: 150_000 });
    expect(`exit ${r.code} ${r.stderr.slice(-500)}`).toBe('exit 0 ' + r.stderr.slice(-500));
    expect(readdirSync(plain).sort()).toEqual(['compare.json', 'compare.svg']);
    const md = path.join(dir, 'md');
    const m = runCli(['bench', 'compare', '--servers', 'srsx', '--clients', '2', '--hold', '1s', '--ramp', '10', '--out', md, '--markdown', path.join(md, 'report.md')], { timeoutMs: 150_000 });
    expect(`exit ${m.code} ${m.stderr.slice(-500)}`).toBe('exit 0 ' + m.stderr.slice(-500));
    expect(readdirSync(md).sort()).toEqual(['compare.json', 'report.md', 'report.svg']);
    for (const f of [...readdirSync(plain), ...readdirSync(md)].filter((x) => /\.(json|svg)$/.test(x))) expect([...named]).toContain(f);
    // what it prints it wrote is what it wrote
    expect(r.stdout).toMatch(new RegExp(`wrote ${plain}/compare\\.json, ${plain}/compare\\.svg`));
  }, 330_000);
});

describe('intervals and durations', () => {
  it.each([
    [['diagnose', 'udp-drops', '--interval', '0s'], /--interval '0s' is zero/],
    [['diagnose', 'udp-drops', '--interval', '-1s'], /--interval '-1s' is negative/],
    [['diagnose', 'cpu', '--interval', 'soon'], /--interval 'soon' is not a duration/],
    [['diagnose', '--watch', '--interval', '0'], /--interval '0' is zero/],
    [['bench', 'rtmp-load', '-c', '1', '-r', 'rtmp://127.0.0.1:1/live/x', '--interval', '0s'], /--interval '0s' is zero/],
    [['bench', 'rtc-load', '-c', '1', '-r', 'whep://127.0.0.1:1/live/x', '--interval', '-2s'], /--interval '-2s' is negative/],
    [['play', 'rtmp://127.0.0.1:1/live/x', '--wait', '0s'], /--wait '0s' is zero/],
    [['publish', '--duration', 'forever', 'package.json', 'rtmp://127.0.0.1:1/live/x'], /--duration 'forever' is not a duration/],
  ])('srsx %j exits 2 with one line', (args, message) => {
    const r = runCli(args as string[], { timeoutMs: 20_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message as RegExp);
    expect(r.stderr).toMatch(/hint: /);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe('');
  });
});

describe('diagnose --watch with stdout not a terminal', () => {
  it('writes no clear-screen or cursor codes: each refresh appended under a time line', async () => {
    const child = spawn(process.execPath, [SRSX_BIN, 'diagnose', 'irq', '--watch', '--interval', '1s'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const deadline = Date.now() + 15_000;
    while ((out.match(/^--- .+ ---$/gm) ?? []).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    child.kill('SIGINT');
    await waitExit(child, 10_000);
    expect((out.match(/^--- .+ ---$/gm) ?? []).length).toBeGreaterThanOrEqual(2);
    expect(out).not.toMatch(/\x1b/);
  }, 30_000);
});
