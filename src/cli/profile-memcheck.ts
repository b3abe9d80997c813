/** `srsx profile --valgrind|--asan [--duration d] -- <srsx command>`: run it, then summarise. */
import { UserError } from '../errors.js';
import { firstOwnFrame, type Frame } from '../profile/memcheck-log.js';
import { runUnderAsan, runUnderValgrind, type MemcheckRunOptions } from '../profile/memcheck.js';
import { printJson, renderTable } from '../report/render.js';
import { startProgress } from './progress.js';

/** The server stopped (or was stopped) before it was listening, and the tool found nothing: say so, not "all clean". */
function neverReady(args: string[], exitCode: number | null, log: string | undefined): UserError {
  return new UserError(`srsx ${args.join(' ')} exited before it was ready${exitCode !== null ? ` (exit ${exitCode})` : ''}: nothing was checked`, {
    hint: `its output is above${log ? `; the tool's log: ${log}` : ''} (a port in use? a bad config? try srsx ${args.join(' ')} alone first)`,
    exitCode: 3,
  });
}

const where = (f: Frame | undefined) => (f ? `${f.fn} (${f.where})` : '?');

export async function runMemcheck(tool: 'valgrind' | 'asan', command: string[], opts: { out: string; json?: boolean; duration?: number }): Promise<void> {
  const srsxArgs = command.length ? command : ['serve'];
  const say = (line: string) => process.stderr.write(`srsx profile: ${line}\n`);
  let waiting: NodeJS.Timeout | undefined;
  const stopWaiting = () => {
    if (!waiting) return;
    clearInterval(waiting);
    waiting = undefined;
    process.stderr.write('\r\x1b[K');
  };
  let stopBar = () => {};
  const run: MemcheckRunOptions = {
    srsxArgs,
    outDir: opts.out,
    durationMs: opts.duration,
    onLine: (line) => {
      if (waiting) process.stderr.write('\r\x1b[K'); // over the start-up ticker
      process.stderr.write(`${line}\n`);
    },
    onStarted: (pid, log) => {
      say(`started srsx ${srsxArgs.join(' ')} as pid ${pid} ${tool === 'valgrind' ? 'under valgrind memcheck (start-up takes 5-20 s)' : 'with the ASAN addon'}; ${tool} log: ${log}`);
      if (!process.stderr.isTTY) return;
      const t0 = Date.now();
      waiting = setInterval(() => process.stderr.write(`\r\x1b[Kwaiting for it to listen… ${Math.round((Date.now() - t0) / 1000)} s`), 1000);
    },
    onReady: (api) => {
      stopWaiting();
      if (tool === 'valgrind') {
        say(api ? `ready: curl 'http://127.0.0.1:${api}/api/v1/valgrind?check=added' reports what leaked since the last check` : 'ready (no http_api in this config: only the leak check at exit)');
      } else say('ready: findings stop the server and are reported here');
      say(opts.duration ? `stopping it in ${Math.round(opts.duration / 1000)} s` : 'Ctrl-C stops it and prints the report');
      if (opts.duration) stopBar = startProgress(tool, opts.duration);
    },
  };
  const done = () => {
    stopWaiting();
    stopBar();
  };

  if (tool === 'valgrind') {
    const r = await runUnderValgrind(run).finally(done);
    const { report } = r;
    if (!r.run.ready && report.errors.length === 0) throw neverReady(srsxArgs, r.run.exitCode, r.logFile);
    const lastCheck = Math.max(-1, ...report.leaks.map((l) => l.check));
    const leaks = report.leaks.filter((l) => l.check === lastCheck && l.kind !== 'still reachable');
    const definite = report.summaries.at(-1)?.definitelyLost ?? 0;
    const findings = report.errors.length + (definite > 0 ? 1 : 0);
    process.exitCode = findings ? 1 : 0;
    if (opts.json) return printJson({ tool, pid: r.run.pid, command: r.command, exitCode: r.run.exitCode, logFile: r.logFile, ...report });
    const out: string[] = [];
    out.push(renderTable(report.errors, [
      { header: 'error', value: (e) => e.kind },
      { header: 'where', value: (e) => where(firstOwnFrame(e.stack)).slice(0, 100) },
    ], 'memory errors'));
    out.push(renderTable(report.summaries, [
      { header: 'check', value: (s) => (report.summaries.indexOf(s) === report.summaries.length - 1 && r.run.exitCode !== null ? 'at exit' : `#${report.summaries.indexOf(s) + 1}`) },
      { header: 'definitely lost', value: (s) => `${s.definitelyLost}${s.definitelyLostAdded !== undefined ? ` (${s.definitelyLostAdded >= 0 ? '+' : ''}${s.definitelyLostAdded})` : ''}`, align: 'right' },
      { header: 'indirectly', value: (s) => s.indirectlyLost, align: 'right' },
      // what /api/v1/valgrind answers as bytes.leaked (VALGRIND_COUNT_LEAKS counts both)
      { header: 'leaked (API)', value: (s) => s.definitelyLost + s.indirectlyLost, align: 'right' },
      { header: 'possibly (API dubious)', value: (s) => s.possiblyLost, align: 'right' },
      { header: 'reachable', value: (s) => s.stillReachable, align: 'right' },
      // valgrind 3.19's VALGRIND_COUNT_LEAKS answers 0 here while its log counts what node.supp hid
      { header: 'suppressed (log)', value: (s) => s.suppressed, align: 'right' },
    ], 'leak checks (bytes; the API\'s checks, then the one at exit)'));
    out.push(renderTable(leaks, [
      { header: 'bytes', value: (l) => l.bytes, align: 'right' },
      { header: 'blocks', value: (l) => l.blocks, align: 'right' },
      { header: 'kind', value: (l) => l.kind },
      { header: 'allocated at', value: (l) => where(firstOwnFrame(l.stack)).slice(0, 100) },
    ], 'lost blocks in the last check'));
    out.push(`valgrind log (full stacks): ${r.logFile}`);
    out.push(findings ? `findings: ${report.errors.length} memory error(s), ${definite} bytes definitely lost` : 'no memory errors, nothing definitely lost');
    process.stdout.write(out.join('\n\n') + '\n');
    return;
  }

  const r = await runUnderAsan({ ...run, log: say }).finally(done);
  if (!r.run.ready && r.findings.length === 0) throw neverReady(srsxArgs, r.run.exitCode, r.logFiles[0]);
  process.exitCode = r.findings.length ? 1 : 0;
  if (opts.json) return printJson({ tool, pid: r.run.pid, command: r.command, exitCode: r.run.exitCode, libasan: r.libasan, logFiles: r.logFiles, findings: r.findings });
  const out: string[] = [];
  out.push(renderTable(r.findings, [
    { header: 'finding', value: (f) => f.kind },
    { header: 'access', value: (f) => f.access.replace(/ at 0x[0-9a-f]+/, '') },
    { header: 'where', value: (f) => where(firstOwnFrame(f.stack)).slice(0, 90) },
    { header: 'allocated at', value: (f) => where(firstOwnFrame(f.allocatedAt)).slice(0, 90) },
  ], `AddressSanitizer findings (pid ${r.run.pid})`));
  for (const f of r.findings.slice(0, 3)) {
    out.push([`${f.kind}: ${f.access}`, ...f.stack.slice(0, 8).map((s, i) => `  #${i} ${s.fn} ${s.where}`), f.location ? `  ${f.location}` : '', f.summary ?? ''].filter(Boolean).join('\n'));
  }
  out.push(r.logFiles.length ? `ASAN log: ${r.logFiles.join(' ')}` : 'ASAN wrote no log');
  if (r.findings.length && !r.run.stoppedByUs) out.push(`AddressSanitizer stopped the server (exit ${r.run.exitCode ?? r.run.signal})`);
  out.push(r.findings.length ? `findings: ${r.findings.length}` : 'no sanitizer findings');
  process.stdout.write(out.join('\n\n') + '\n');
}
