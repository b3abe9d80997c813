import { Command } from 'commander';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';
import { diffSnapshots, summariseSnapshot } from '../profile/heap-diff.js';
import { cpuProfileTop, InspectorSession, takeCpuProfile, takeHeapSnapshot } from '../profile/inspector.js';
import { runMemcheck } from './profile-memcheck.js';
import { withProgress } from './progress.js';
import { checkPerf, perfProfile } from '../profile/perf.js';
import { straceSummary } from '../profile/strace.js';
import { profileTarget } from '../profile/target.js';
import { printJson, renderTable } from '../report/render.js';
import { parseDuration } from './duration.js';

interface ProfileOptions {
  perf?: string;
  perfTop?: boolean;
  callGraph: string;
  strace?: string;
  cpu?: string;
  heap?: boolean;
  diff?: string;
  valgrind?: boolean;
  asan?: boolean;
  duration?: string;
  pid?: string;
  pidfile?: string;
  out: string;
  json?: boolean;
}

function seconds(text: string, flag: string): number {
  const ms = parseDuration(text, flag);
  if (ms < 1000) throw new UserError(`${flag} ${text} is too short`, { hint: 'profile for at least 1s, e.g. 30s' });
  return Math.round(ms / 1000);
}

export function registerProfile(program: Command): void {
  program
    .command('profile')
    .description('Profile the running server: perf (flame graph), strace, V8 CPU profile, heap snapshot diff; or run it under valgrind / ASAN')
    .argument('[command...]', 'with --valgrind or --asan: the srsx command to run, after -- (default: serve)')
    .option('--perf <duration>', 'perf record -g the process, then top functions and a flame graph (HTML)')
    .option('--perf-top', 'live view (perf top -p PID)')
    .option('--call-graph <fp|dwarf>', 'perf stack unwinding: fp (cheap) or dwarf (deeper native stacks)', 'fp')
    .option('--strace <duration>', 'strace -c -f -p: the system call table')
    .option('--cpu <duration>', 'V8 CPU profile through the inspector: a .cpuprofile and the top functions')
    .option('--heap', 'a V8 heap snapshot through the inspector (.heapsnapshot)')
    .option('--diff <duration>', 'with --heap: two snapshots this far apart and what grew, by constructor')
    .option('--valgrind', 'start the server under valgrind memcheck; leak checks via GET /api/v1/valgrind?check=added')
    .option('--asan', 'start the server with the AddressSanitizer build of the native addon (libasan preloaded)')
    .option('--duration <duration>', 'with --valgrind/--asan: stop the server this long after it is ready (default: on Ctrl-C)')
    .option('--pid <pid>', 'profile this process (default: the srsx server from ./objs/srs.pid)')
    .option('--pidfile <file>', 'read the pid from this file')
    .option('--out <dir>', 'where to write perf data, flame graphs, profiles and snapshots', 'profiles-out')
    .option('--json', 'machine-readable summary')
    .addHelpText('after', `
srsx serve writes a perf map (/tmp/perf-PID.map, node --perf-basic-prof-only-functions) so
perf names JavaScript functions; it is removed when the server stops (SRSX_PERF_MAP=0: no
map, SRSX_PERF_MAP=keep: keep it). --cpu and --heap open the server's inspector on
127.0.0.1:9229 (SIGUSR1) only while they run, and close it afterwards.

Examples:
  srsx profile --perf 30s                 hottest functions + profiles-out/flamegraph-PID.html
  srsx profile --perf 30s --call-graph dwarf
  srsx profile --strace 10s               the guide's strace -c -p PID
  srsx profile --cpu 20s                  V8 CPU profile (open the .cpuprofile in Chrome DevTools)
  srsx profile --heap --diff 60s          what grew in a minute (leak hunting)
  srsx profile --perf 10s --pid 1234      any process
  srsx profile --valgrind -- serve -c conf/srs.conf
      the server under valgrind memcheck (many times slower; start-up takes 5-20 s); then
      curl 'http://127.0.0.1:1985/api/v1/valgrind?check=added'   what leaked since the last check
      Ctrl-C stops it: valgrind's leak report at exit, summarised, and its log file
  srsx profile --asan --duration 60s -- serve -c conf/srs.conf
      builds native/ with -fsanitize=address (native/build-asan), preloads libasan, and reports
      sanitizer findings with their stacks`)
    .action(async (command: string[], opts: ProfileOptions) => {
      const modes = ['perf', 'perfTop', 'strace', 'cpu', 'heap', 'valgrind', 'asan'].filter((m) => opts[m as keyof ProfileOptions]);
      if (modes.length !== 1) throw new UserError(modes.length ? `choose one of ${modes.map((m) => `--${m.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}`).join(', ')}` : 'nothing to do', { hint: 'give one of --perf 30s, --perf-top, --strace 10s, --cpu 20s, --heap [--diff 60s]' });
      if (opts.valgrind || opts.asan) {
        if (opts.pid || opts.pidfile) throw new UserError(`--${opts.valgrind ? 'valgrind' : 'asan'} starts the server itself: --pid/--pidfile do not apply`, { hint: 'srsx profile --valgrind -- serve -c conf/srs.conf' });
        await runMemcheck(opts.valgrind ? 'valgrind' : 'asan', command, { out: opts.out, json: opts.json, duration: opts.duration === undefined ? undefined : parseDuration(opts.duration, '--duration') });
        return;
      }
      if (command.length) throw new UserError(`unexpected argument '${command.join(' ')}'`, { hint: 'a command to run goes with --valgrind or --asan: srsx profile --valgrind -- serve -c conf/srs.conf' });
      if (opts.duration) throw new UserError('--duration goes with --valgrind or --asan', { hint: 'for the others the duration is the flag\'s value, e.g. --perf 30s' });
      if (opts.callGraph !== 'fp' && opts.callGraph !== 'dwarf') throw new UserError(`--call-graph '${opts.callGraph}' is not fp or dwarf`);
      if (opts.diff && !opts.heap) throw new UserError('--diff goes with --heap', { hint: 'srsx profile --heap --diff 60s' });
      const target = await profileTarget(opts);
      mkdirSync(opts.out, { recursive: true });

      if (opts.perfTop) {
        await checkPerf();
        await new Promise<void>((resolve) => spawn('perf', ['top', '-p', String(target.pid)], { stdio: 'inherit' }).once('exit', () => resolve()));
        return;
      }
      if (opts.perf) {
        const s = seconds(opts.perf, '--perf');
        const r = await withProgress(`perf record pid ${target.pid}`, s * 1000, perfProfile(target.pid, s, opts.out, opts.callGraph as 'fp' | 'dwarf'));
        if (opts.json) return printJson(r);
        process.stdout.write(renderTable(r.top, [
          { header: 'self %', value: (t) => t.selfPercent, align: 'right' },
          { header: 'total %', value: (t) => t.totalPercent, align: 'right' },
          { header: 'function', value: (t) => t.name.slice(0, 110) },
        ], `hottest functions of pid ${target.pid} (${target.name}), ${r.samples} samples`) + '\n');
        process.stdout.write(`flame graph: ${path.resolve(r.flamegraph)}\nfolded stacks: ${path.resolve(r.folded)}\nperf data: ${path.resolve(r.perfData)} (perf report -i ...)\n`);
        if (!r.perfMap) process.stdout.write(`note: no /tmp/perf-${target.pid}.map: JavaScript frames show as [unknown]; start node with --perf-basic-prof-only-functions (srsx serve does)\n`);
        return;
      }
      if (opts.strace) {
        const s = seconds(opts.strace, '--strace');
        const rows = await withProgress(`strace pid ${target.pid}`, s * 1000, straceSummary(target.pid, s));
        if (opts.json) return printJson({ pid: target.pid, seconds: s, syscalls: rows });
        process.stdout.write(renderTable(rows.slice(0, 25), [
          { header: '% time', value: (r) => r.percentTime, align: 'right' },
          { header: 'seconds', value: (r) => r.seconds, align: 'right' },
          { header: 'usecs/call', value: (r) => r.usecsPerCall, align: 'right' },
          { header: 'calls', value: (r) => r.calls, align: 'right' },
          { header: 'errors', value: (r) => r.errors, align: 'right' },
          { header: 'syscall', value: (r) => r.syscall },
        ], `system calls of pid ${target.pid} over ${s}s (strace -c -f)`) + '\n');
        return;
      }
      const session = await InspectorSession.open(target.pid);
      try {
        if (opts.cpu) {
          const s = seconds(opts.cpu, '--cpu');
          const profile = await withProgress(`V8 CPU profile pid ${target.pid}`, s * 1000, takeCpuProfile(session, s));
          const file = path.join(opts.out, `cpu-${target.pid}-${Date.now()}.cpuprofile`);
          writeFileSync(file, JSON.stringify(profile));
          const top = cpuProfileTop(profile);
          if (opts.json) return printJson({ pid: target.pid, file, top });
          process.stdout.write(renderTable(top, [
            { header: 'self ms', value: (t) => t.selfMs, align: 'right' },
            { header: 'self %', value: (t) => t.selfPercent, align: 'right' },
            { header: 'total ms', value: (t) => t.totalMs, align: 'right' },
            { header: 'function', value: (t) => t.function },
            { header: 'where', value: (t) => t.location.slice(-70) },
          ], `V8 CPU profile of pid ${target.pid}, ${s}s`) + `\nprofile: ${path.resolve(file)} (open in Chrome DevTools > Performance, or speedscope)\n`);
          return;
        }
        const first = await takeHeapSnapshot(session);
        const f1 = path.join(opts.out, `heap-${target.pid}-${Date.now()}.heapsnapshot`);
        writeFileSync(f1, first);
        if (!opts.diff) {
          const top = [...summariseSnapshot(first).values()].sort((a, b) => b.selfBytes - a.selfBytes).slice(0, 20);
          if (opts.json) return printJson({ pid: target.pid, file: f1, top });
          process.stdout.write(renderTable(top, [
            { header: 'constructor', value: (r) => r.name },
            { header: 'count', value: (r) => r.count, align: 'right' },
            { header: 'self bytes', value: (r) => r.selfBytes, align: 'right' },
          ], `heap of pid ${target.pid}`) + `\nsnapshot: ${path.resolve(f1)} (open in Chrome DevTools > Memory)\n`);
          return;
        }
        const wait = parseDuration(opts.diff, '--diff');
        await withProgress('waiting for the second snapshot', wait, new Promise((r) => setTimeout(r, wait)));
        const second = await takeHeapSnapshot(session);
        const f2 = path.join(opts.out, `heap-${target.pid}-${Date.now()}.heapsnapshot`);
        writeFileSync(f2, second);
        const grown = diffSnapshots(summariseSnapshot(first), summariseSnapshot(second));
        if (opts.json) return printJson({ pid: target.pid, files: [f1, f2], grown });
        process.stdout.write(renderTable(grown, [
          { header: 'constructor', value: (r) => r.name },
          { header: 'before', value: (r) => r.countBefore, align: 'right' },
          { header: 'after', value: (r) => r.countAfter, align: 'right' },
          { header: '+objects', value: (r) => r.countDelta, align: 'right' },
          { header: '+bytes', value: (r) => r.bytesDelta, align: 'right' },
        ], `what grew in pid ${target.pid} over ${wait / 1000}s`) + `\nsnapshots: ${path.resolve(f1)} ${path.resolve(f2)} (DevTools > Memory > Comparison)\n`);
      } finally {
        await session.close();
      }
    });
}
