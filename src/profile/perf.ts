import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';
import { hasCommand, missingCommand, runCommand } from '../host/exec.js';
import { hostRoot } from '../host/root.js';
import { readSysctl } from '../host/sysctl.js';
import { flameGraphHtml } from './flamegraph.js';
import { flameTree, foldedText, parsePerfScript, topFunctions, type TopFunction } from './stacks.js';

export interface PerfResult {
  pid: number;
  samples: number;
  top: TopFunction[];
  perfData: string;
  folded: string;
  flamegraph: string;
  perfMap: boolean;
}

/** perf is installed and allowed to profile another process. */
export async function checkPerf(): Promise<void> {
  if (!(await hasCommand('perf'))) throw missingCommand('perf');
  const paranoid = Number((await readSysctl(hostRoot(), 'kernel.perf_event_paranoid')) ?? '2');
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root && paranoid > 1) throw new UserError(`kernel.perf_event_paranoid is ${paranoid}: perf may not attach to other processes`, { hint: 'run as root, or: sysctl -w kernel.perf_event_paranoid=1' });
}

/** `perf record -g -p PID` for `seconds`, then stacks, top functions and a flame graph. */
export async function perfProfile(pid: number, seconds: number, outDir: string, callGraph: 'fp' | 'dwarf'): Promise<PerfResult> {
  await checkPerf();
  const perfData = path.join(outDir, `perf-${pid}.data`);
  // cpu-clock works in VMs without hardware counters
  const rec = await runCommand('perf', ['record', '-e', 'cpu-clock', '-F', '499', '--call-graph', callGraph === 'dwarf' ? 'dwarf,16384' : 'fp', '-p', String(pid), '-o', perfData, '--', 'sleep', String(seconds)], { timeoutMs: (seconds + 60) * 1000 });
  if (rec.exitCode !== 0 || !existsSync(perfData)) {
    throw new UserError(`perf record failed: ${(rec.stderr || rec.stdout).trim().split('\n').pop()}`, { hint: 'is the pid right, and are you root? (kernel.perf_event_paranoid, kernel.kptr_restrict)', exitCode: 3 });
  }
  const script = await runCommand('perf', ['script', '-i', perfData, '-F', 'comm,pid,tid,time,event,ip,sym,dso'], { timeoutMs: 300_000 });
  const folded = parsePerfScript(script.stdout);
  if (folded.samples === 0) throw new UserError(`perf recorded no samples of pid ${pid}`, { hint: 'was the process busy? try a longer duration or put it under load', exitCode: 1 });
  const foldedFile = path.join(outDir, `perf-${pid}.folded`);
  writeFileSync(foldedFile, foldedText(folded));
  const html = path.join(outDir, `flamegraph-${pid}.html`);
  writeFileSync(html, flameGraphHtml(flameTree(folded, `pid ${pid}`), `perf: pid ${pid}, ${seconds}s, ${folded.samples} samples`));
  return { pid, samples: folded.samples, top: topFunctions(folded), perfData, folded: foldedFile, flamegraph: html, perfMap: existsSync(`/tmp/perf-${pid}.map`) };
}
