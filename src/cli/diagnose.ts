import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { UserError, ExitCode } from '../errors.js';
import { hostRoot } from '../host/root.js';
import { parseNetstatSamples } from '../host/proc-net.js';
import { ALL, fullReport, runReports, type What } from '../diagnose/run.js';
import { renderReport } from '../diagnose/render.js';
import { FullReportSchema, ReportSchema, worst, type Report } from '../diagnose/report.js';
import { netstatTextReport } from '../diagnose/udp.js';
import { printJson, renderFacts } from '../report/render.js';
import { parseDuration } from './duration.js';

interface DiagnoseOptions {
  interval: string;
  json?: boolean;
  watch?: boolean;
  pid?: string;
  name?: string;
  pidfile?: string;
  port?: string;
  config?: string;
  from?: string;
  interface?: string;
}

function readInput(from: string): string {
  try {
    return readFileSync(from === '-' ? 0 : from, 'utf8');
  } catch (err) {
    throw new UserError(`cannot read ${from === '-' ? 'stdin' : from}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { hint: 'give a file with `netstat -suna` output, or - for stdin' });
  }
}

/**
 * One --watch refresh: on a terminal, clear the screen and redraw (like top); anywhere else (a pipe,
 * a file, a log collector) no escape codes, each refresh appended under a line with its time.
 */
export function watchFrame(text: string, at: Date, tty: boolean): string {
  const time = at.toLocaleTimeString();
  return tty ? `\x1b[2J\x1b[H${time}  (Ctrl-C to stop)\n${text}` : `--- ${time} ---\n${text}`;
}

export function registerDiagnose(program: Command): void {
  program
    .command('diagnose')
    .description('Diagnose UDP drops, socket queues, CPU/softirq/IRQ placement and the server process, with verdicts')
    .argument('[what]', `one of ${ALL.join(', ')} (default: all of them)`)
    .option('--interval <time>', 'sampling interval for rates, above 0 (the guide uses 30s; with --from the default is 30s)', '5s')
    .option('--pid <pid>', 'the server process (default: the config\'s pid file, else the process listening on its RTMP port, else the one `srsx serve` or `srs`)')
    .option('--port <port>', 'the server is the process listening on this TCP port')
    .option('--pidfile <file>', 'read the server pid from this file')
    .option('-c, --config <file>', 'the server\'s config: its pid file and RTMP port (default ./objs/srs.pid and 1935)')
    .option('--name <name>', 'find the server process by name')
    .option('--from <file|->', 'udp-drops: analyse pasted `netstat -suna` text from another machine (two samples: deltas over --interval, default 30s)')
    .option('--interface <name>', 'net: only this interface (e.g. lo)')
    .option('--json', 'machine-readable output (validated against the report schema)')
    .option('--watch', 'refresh like top until Ctrl-C (on a terminal the screen is redrawn; piped, each refresh is appended under a time line)')
    .addHelpText('after', `
Every report shows its data, a verdict (ok / warn / critical, naming the threshold that fired)
and the srsx tune command that fixes what it found. Exit code: 0 ok, 1 warn or critical.

Examples:
  srsx diagnose                                 everything, 5 s sample
  srsx diagnose udp-drops --interval 30s        netstat -suna && sleep 30 && netstat -suna
  (netstat -suna && sleep 30 && netstat -suna) | srsx diagnose udp-drops --from -
  srsx diagnose udp-queue                       netstat -lpun, with owners and queues
  srsx diagnose cpu --pid $(pidof srs)          mpstat -P ALL + softirqs + where the server runs and waits
  srsx diagnose tcp --port 1935                 ss -tnpi: stalled players (kernel Send-Q), retransmits
  srsx diagnose process --port 1935            the server is whoever listens on 1935
  srsx diagnose process -c conf/srs.conf        its pid file (or its RTMP port)
  srsx diagnose process --name nginx --json
  srsx diagnose net --interface lo --interval 2s`)
    .action(async (what: string | undefined, opts: DiagnoseOptions, cmd: Command) => {
      if (what !== undefined && !ALL.includes(what as What)) throw new UserError(`unknown report '${what}'`, { hint: `use one of ${ALL.join(', ')}, or nothing for all` });
      const intervalMs = parseDuration(opts.interval, '--interval');
      const root = hostRoot();
      if (opts.from !== undefined) {
        if (what !== 'udp-drops') throw new UserError('--from goes with udp-drops', { hint: 'srsx diagnose udp-drops --from netstat.txt' });
        // two samples (netstat -suna && sleep 30 && netstat -suna): --interval is the time between them, the guide's 30 s unless given
        const between = cmd.getOptionValueSource('interval') === 'default' ? 30 : intervalMs / 1000;
        const r = ReportSchema.parse(netstatTextReport(parseNetstatSamples(readInput(opts.from)), between));
        if (opts.json) printJson(r);
        else process.stdout.write(renderReport(r));
        if (worst(r.verdicts) !== 'ok') process.exitCode = ExitCode.mismatch;
        return;
      }
      const status = (ms: number) => {
        if (!opts.json && process.stderr.isTTY && ms >= 2000) process.stderr.write(`sampling for ${ms / 1000}s...\r`);
      };
      const once = async (): Promise<{ text: string; json: unknown; level: string }> => {
        const runOpts = { intervalMs, pid: opts.pid, name: opts.name, pidfile: opts.pidfile, port: opts.port, config: opts.config, iface: opts.interface, onWait: status };
        if (what === undefined) {
          const full = await fullReport(root, runOpts);
          const levels = full.reports.flatMap((r) => r.verdicts);
          const text = renderFacts(full.host as unknown as Record<string, string>, 'host') + '\n\n' + full.reports.map(renderReport).join('\n') +
            `\nsummary: ${full.summary.ok} ok, ${full.summary.warn} warn, ${full.summary.critical} critical\n`;
          return { text, json: FullReportSchema.parse(full), level: worst(levels) };
        }
        const reports: Report[] = (await runReports(root, [what as What], runOpts)).map((r) => ReportSchema.parse(r));
        return { text: reports.map(renderReport).join('\n'), json: reports[0], level: worst(reports.flatMap((r) => r.verdicts)) };
      };
      if (opts.watch) {
        // one refresh per --interval at most (irq, udp-queue and process read an instant, not an interval)
        let stop = false;
        let wake: (() => void) | undefined;
        const onStop = () => {
          stop = true;
          wake?.();
        };
        process.once('SIGINT', onStop);
        process.once('SIGTERM', onStop);
        while (!stop) {
          const started = Date.now();
          const r = await once();
          if (opts.json) process.stdout.write(JSON.stringify(r.json) + '\n');
          else process.stdout.write(watchFrame(r.text, new Date(), !!process.stdout.isTTY));
          const rest = intervalMs - (Date.now() - started);
          if (rest > 0 && !stop) {
            await new Promise<void>((resolve) => {
              const t = setTimeout(resolve, rest);
              wake = () => {
                clearTimeout(t);
                resolve();
              };
            });
          }
        }
        return;
      }
      const r = await once();
      if (opts.json) printJson(r.json);
      else process.stdout.write(r.text);
      if (r.level !== 'ok') process.exitCode = ExitCode.mismatch;
    });
}
