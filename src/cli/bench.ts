import { Command } from 'commander';
import { UserError } from '../errors.js';
import { runLoad, type LoadReport } from '../bench/rtmp-load.js';
import { printJson, renderFacts } from '../report/render.js';
import { parseCount, parseDuration } from './duration.js';

function reportLine(r: LoadReport): string {
  return `[${r.elapsedS.toFixed(1)}s] alive ${r.alive}/${r.clients} (started ${r.started}, playing ${r.playing}, failed ${r.failed})` +
    ` ${r.mbps.toFixed(1)} Mbps, startup p50 ${r.startupP50Ms} ms p95 ${r.startupP95Ms} ms, lag p50 ${r.lagP50Ms} ms p95 ${r.lagP95Ms} ms, load-tool CPU ${r.cpuPercent.toFixed(0)}%`;
}

export function registerBench(program: Command): void {
  const bench = program
    .command('bench')
    .description('Load-test RTMP/HTTP-FLV servers and compare them side by side');

  bench
    .command('rtmp-load')
    .description('n RTMP (or HTTP-FLV) players of one URL in this process, like SRS\'s sb_rtmp_load')
    .requiredOption('-c, --clients <n>', 'number of players')
    .requiredOption('-r, --url <url>', 'rtmp://host/app/stream, or http://host:port/app/stream.flv')
    .option('--duration <time>', 'total run time, ramp included', '30s')
    .option('--ramp <n>', 'new connections per second', '500')
    .option('--interval <time>', 'report every', '5s')
    .option('--json', 'print the final summary as JSON')
    .addHelpText('after', `
Every interval it prints alive/failed players, aggregate Mbps, startup time (connect to first
video frame) and lag (wall time elapsed minus stream time elapsed since a player's first frame).
Players are cheap (no payload copies); one process drives thousands. Raise the fd limit first:
  ulimit -n 20000
Examples:
  srsx bench rtmp-load -c 800 -r rtmp://127.0.0.1/live/livestream
  srsx bench rtmp-load -c 2000 -r http://127.0.0.1:8080/live/livestream.flv --duration 60s --json`)
    .action(async (opts: { clients: string; url: string; duration: string; ramp: string; interval: string; json?: boolean }) => {
      const clients = parseCount(opts.clients, '--clients', 1, 100_000);
      if (!/^(rtmp|https?):\/\//.test(opts.url)) throw new UserError(`--url '${opts.url}' is not an rtmp:// or http:// URL`, { hint: 'e.g. rtmp://127.0.0.1/live/livestream' });
      const summary = await runLoad({
        url: opts.url,
        clients,
        durationMs: parseDuration(opts.duration, '--duration'),
        rampPerSecond: parseCount(opts.ramp, '--ramp', 1, 100_000),
        reportEveryMs: parseDuration(opts.interval, '--interval'),
        onReport: (r) => process.stderr.write(reportLine(r) + '\n'),
      });
      if (opts.json) printJson(summary);
      else {
        const { errors, ...rest } = summary;
        process.stdout.write(renderFacts({ ...rest, errors: Object.entries(errors).map(([e, n]) => `${n}× ${e}`).join('; ') || 'none' }, 'rtmp-load summary') + '\n');
      }
      if (summary.playing === 0) process.exitCode = 1;
    });

  bench
    .command('compare')
    .description('srsx vs nginx-rtmp (or any server): CPU, memory, bandwidth at several player counts')
    .allowUnknownOption()
    .action(() => {
      throw new UserError('`srsx bench compare` is not built yet', { hint: 'use `srsx bench rtmp-load` against each server meanwhile' });
    });
}
