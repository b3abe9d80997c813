import { Command } from 'commander';
import { UserError } from '../errors.js';
import { DEFAULT_READ_INTERVAL_MS, runLoad, type LoadReport } from '../bench/rtmp-load.js';
import cliProgress from 'cli-progress';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { printJson, renderFacts, renderTable } from '../report/render.js';
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
    .option('--settle <time>', 'steady-state Mbps is measured from this long after the ramp', '0s')
    .option('--read-interval <time>', 'each player reads at most once per this (paced reads; 0 = as data comes)', `${DEFAULT_READ_INTERVAL_MS}ms`)
    .option('--json', 'print the final summary as JSON')
    .addHelpText('after', `
Every interval it prints alive/failed players, aggregate Mbps, startup time (connect to first
video frame) and lag (wall time elapsed minus stream time elapsed since a player's first frame).
Players are cheap (no payload copies, paced reads: the lag includes up to --read-interval);
one process drives thousands. Raise the fd limit first:
  ulimit -n 20000
Examples:
  srsx bench rtmp-load -c 800 -r rtmp://127.0.0.1/live/livestream
  srsx bench rtmp-load -c 2000 -r http://127.0.0.1:8080/live/livestream.flv --duration 60s --json`)
    .action(async (opts: { clients: string; url: string; duration: string; ramp: string; interval: string; settle: string; readInterval: string; json?: boolean }) => {
      const clients = parseCount(opts.clients, '--clients', 1, 100_000);
      if (!/^(rtmp|https?):\/\//.test(opts.url)) throw new UserError(`--url '${opts.url}' is not an rtmp:// or http:// URL`, { hint: 'e.g. rtmp://127.0.0.1/live/livestream' });
      const summary = await runLoad({
        url: opts.url,
        clients,
        durationMs: parseDuration(opts.duration, '--duration'),
        rampPerSecond: parseCount(opts.ramp, '--ramp', 1, 100_000),
        reportEveryMs: parseDuration(opts.interval, '--interval'),
        settleMs: parseDuration(opts.settle, '--settle'),
        readIntervalMs: parseDuration(opts.readInterval, '--read-interval'),
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
    .description('srsx vs nginx-rtmp (or any server): CPU, memory and bandwidth at several player counts')
    .option('--clients <list>', 'player counts, comma-separated', '500,1000,2000')
    .option('--servers <list>', 'srsx, nginx-rtmp, cmd:<command listening on {port}>, pid:<pid>:<rtmp port>', 'srsx,nginx-rtmp')
    .option('--hold <time>', 'measuring window once all players are up', '15s')
    .option('--ramp <n>', 'new connections per second', '1000')
    .option('--stream <file.flv>', 'stream to publish (default: a generated ~529 kbps H.264/AAC file)')
    .option('--out <dir>', 'where to write compare.json and compare.svg', '.')
    .option('--markdown <file>', 'also write a report (table, chart, machine facts, command)')
    .option('--quick', 'the `npm run bench` settings: 500,1000,2000 players, 10 s windows, docs/benchmarks.md')
    .option('--json', 'print the rows as JSON')
    .addHelpText('after', `
For each server: start it with its own config on a spare port (nginx-rtmp: Debian's nginx +
libnginx-mod-rtmp, one worker), publish the stream, then for each player count ramp the
players (a separate load-tool process, so its CPU is measured apart), hold, and record the
server's CPU and RSS, connections, expected and actual Mbps, load-tool CPU and lag.
Examples:
  srsx bench compare --clients 1000,2000 --servers srsx,nginx-rtmp
  srsx bench compare --clients 10000 --servers srsx --hold 20s
  srsx bench compare --servers 'srsx,cmd:/usr/local/srs/objs/srs -c /tmp/srs-{port}.conf'`)
    .action(async (opts: { clients: string; servers: string; hold: string; ramp: string; stream?: string; out: string; markdown?: string; quick?: boolean; json?: boolean }) => {
      const { runCompare } = await import('../bench/compare.js');
      const { benchStreamFile, flvBitrateKbps } = await import('../bench/stream-file.js');
      const { cpuChartSvg } = await import('../bench/chart.js');
      const { COMPARE_COLUMNS, compareMarkdown } = await import('../bench/compare-report.js');
      const { hostFacts } = await import('../bench/host-facts.js');
      if (opts.quick) {
        opts.hold = '10s';
        opts.markdown ??= 'docs/benchmarks.md';
        opts.out = path.dirname(opts.markdown);
      }
      const clients = opts.clients.split(',').map((c) => parseCount(c, '--clients', 1, 19_000));
      const servers = opts.servers.split(',').map((s) => s.trim()).filter(Boolean);
      const streamFile = opts.stream ?? benchStreamFile();
      if (!existsSync(streamFile)) throw new UserError(`--stream ${streamFile}: no such file`);
      const streamKbps = flvBitrateKbps(streamFile);
      const bar = new cliProgress.SingleBar({ format: 'bench compare [{bar}] {percentage}% | {step}', clearOnComplete: true, stream: process.stderr }, cliProgress.Presets.shades_classic);
      bar.start(100, 0, { step: 'starting' });
      let rows;
      try {
        rows = await runCompare({
          servers,
          clients,
          holdMs: parseDuration(opts.hold, '--hold'),
          rampPerSecond: parseCount(opts.ramp, '--ramp', 1, 100_000),
          streamFile,
          streamKbps,
          onStep: (step, fraction) => bar.update(Math.round(fraction * 100), { step }),
        });
      } finally {
        bar.stop();
      }
      mkdirSync(opts.out, { recursive: true });
      writeFileSync(path.join(opts.out, 'compare.json'), JSON.stringify({ streamKbps, rows }, null, 2) + '\n');
      const svgFile = path.join(opts.out, opts.markdown ? 'benchmarks.svg' : 'compare.svg');
      writeFileSync(svgFile, await cpuChartSvg(rows, 'server CPU against RTMP players'));
      if (opts.markdown) {
        const command = `srsx bench compare --clients ${clients.join(',')} --servers ${servers.join(',')} --hold ${opts.hold}`;
        writeFileSync(opts.markdown, compareMarkdown(rows, { ...(await hostFacts()), stream: `${streamKbps.toFixed(0)} kbps` }, command, path.basename(svgFile), opts.quick));
      }
      if (opts.json) printJson(rows);
      else process.stdout.write(renderTable(rows, COMPARE_COLUMNS, `stream ${streamKbps.toFixed(0)} kbps`) + `\nwrote ${path.join(opts.out, 'compare.json')}, ${svgFile}${opts.markdown ? `, ${opts.markdown}` : ''}\n`);
    });
}
