import { Command } from 'commander';
import { UserError } from '../errors.js';
import { DEFAULT_READ_INTERVAL_MS, runLoad, type LoadReport } from '../bench/rtmp-load.js';
import cliProgress from 'cli-progress';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { printJson, renderFacts, renderTable } from '../report/render.js';
import { parseCount, parseDuration } from './duration.js';

function reportLine(r: LoadReport): string {
  return `[${r.elapsedS.toFixed(1)}s] alive ${r.alive}/${r.clients} (started ${r.started}, playing ${r.playing}, failed ${r.failed})` +
    ` ${r.mbps.toFixed(1)} Mbps, startup p50 ${r.startupP50Ms} ms p95 ${r.startupP95Ms} ms, lag p50 ${r.lagP50Ms} ms p95 ${r.lagP95Ms} ms, load-tool CPU ${r.cpuPercent.toFixed(0)}%`;
}

/** A load tool's error counts as one table cell: '3× timeout; 1× HTTP 404', or 'none'. */
function errorsText(errors: Record<string, number>): string {
  return Object.entries(errors).map(([e, n]) => `${n}× ${e}`).join('; ') || 'none';
}

export function registerBench(program: Command): void {
  const bench = program
    .command('bench')
    .description('Load-test RTMP/HTTP-FLV servers and compare them side by side')
    .addHelpText('after', `
Examples:
  srsx bench rtmp-load -c 800 -r rtmp://127.0.0.1/live/livestream       800 RTMP players
  srsx bench rtc-load -c 200 -r whep://127.0.0.1:1985/live/livestream   200 WebRTC players
  srsx bench hls-load -c 1000 -r http://127.0.0.1:8080/live/livestream.m3u8   1000 HLS players
  srsx bench compare --clients 1000,2000 --servers srsx,nginx-rtmp      CPU/memory side by side
  srsx bench rtmp-load --help                                           each subcommand's options`);

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
        settleMs: parseDuration(opts.settle, '--settle', { allowZero: true }),
        readIntervalMs: parseDuration(opts.readInterval, '--read-interval', { allowZero: true }),
        onReport: (r) => process.stderr.write(reportLine(r) + '\n'),
      });
      if (opts.json) printJson(summary);
      else {
        const { errors, ...rest } = summary;
        process.stdout.write(renderFacts({ ...rest, errors: errorsText(errors) }, 'rtmp-load summary') + '\n');
      }
      if (summary.playing === 0) process.exitCode = 1;
    });

  bench
    .command('rtc-load')
    .description('n WebRTC (WHEP) players of one stream in this process, like srs-bench\'s sb_rtc players')
    .requiredOption('-c, --clients <n>', 'number of players')
    .requiredOption('-r, --url <url>', 'whep://host:api_port/app/stream, or the http://host:port/rtc/v1/whep/?app=&stream= endpoint')
    .option('--duration <time>', 'total run time, ramp included', '30s')
    .option('--ramp <n>', 'new players per second', '50')
    .option('--interval <time>', 'report every', '5s')
    .option('--verify-every <n>', 'check the SRTP auth tag of every Nth packet of a player (0: never)', '50')
    .option('--settle <time>', 'steady-state kbps is measured from this long after the last player started', '0s')
    .option('--json', 'print the final summary as JSON')
    .addHelpText('after', `
Each player posts a recvonly offer (Opus + H.264 baseline, BUNDLE, rtcp-mux) to the WHEP endpoint,
does ICE against the answer's host candidate (STUN Binding requests with USE-CANDIDATE,
MESSAGE-INTEGRITY and FINGERPRINT; a consent check every second), the DTLS client handshake, then
counts RTP packets, bytes and sequence gaps per SSRC. SRTP leaves the RTP header in clear, so
players count without decrypting (cheap: one process drives hundreds); every --verify-every'th
packet's auth tag is checked with the DTLS-exported key. Players send no RTCP (no NACK: a gap is a
loss). Each reports every --interval; the summary gives connected/failed players, packets, bytes,
kbps, loss %. Exit 1 if no player received anything.
Examples:
  srsx bench rtc-load -c 200 -r whep://127.0.0.1:1985/live/livestream
  srsx bench rtc-load -c 50 -r whep://127.0.0.1:1985/live/livestream --duration 20s --json`)
    .action(async (opts: { clients: string; url: string; duration: string; ramp: string; interval: string; verifyEvery: string; settle: string; json?: boolean }) => {
      const clients = parseCount(opts.clients, '--clients', 1, 10_000);
      if (!/^(whep|https?):\/\//.test(opts.url) || (opts.url.startsWith('whep:') && !/^whep:\/\/[^/]+\/[^/?]+\/[^/?]+$/.test(opts.url))) {
        throw new UserError(`--url '${opts.url}' is not a whep://host:port/app/stream or http:// WHEP URL`, { hint: 'e.g. whep://127.0.0.1:1985/live/livestream (the HTTP API port)' });
      }
      const { runRtcLoad } = await import('../bench/rtc-load.js');
      const tty = process.stderr.isTTY;
      const summary = await runRtcLoad({
        url: opts.url,
        clients,
        durationMs: parseDuration(opts.duration, '--duration'),
        rampPerSecond: parseCount(opts.ramp, '--ramp', 1, 10_000),
        reportEveryMs: parseDuration(opts.interval, '--interval'),
        verifyEvery: parseCount(opts.verifyEvery, '--verify-every', 0, 1_000_000),
        settleMs: parseDuration(opts.settle, '--settle', { allowZero: true }),
        onReport: (r) =>
          process.stderr.write(
            `${tty ? '\r\x1b[K' : ''}[${r.elapsedS.toFixed(1)}s] connected ${r.connected}/${r.clients} (started ${r.started}, receiving ${r.receiving}, failed ${r.failed}) ${r.packets} packets, ${(r.kbps / 1000).toFixed(1)} Mbps, loss ${r.lossPercent.toFixed(2)}%, load-tool CPU ${r.cpuPercent.toFixed(0)}%${tty ? '' : '\n'}`,
          ),
      });
      if (tty) process.stderr.write('\n');
      if (opts.json) printJson(summary);
      else {
        const row = {
          players: summary.clients,
          connected: summary.connected,
          failed: summary.failed,
          packets: summary.packets,
          bytes: summary.bytes,
          kbps: Math.round(summary.kbps),
          'kbps/player': Math.round(summary.kbpsPerPlayer),
          'loss %': summary.lossPercent.toFixed(2),
          'auth ok/bad': `${summary.verified}/${summary.verifyFailed}`,
          'connect p50/p95 ms': `${summary.connectP50Ms}/${summary.connectP95Ms}`,
        };
        process.stdout.write(renderFacts({ ...row, errors: errorsText(summary.errors) }, `rtc-load ${summary.url}, ${summary.durationS.toFixed(1)} s`) + '\n');
      }
      if (summary.receiving === 0) process.exitCode = 1;
      // werift-dtls keeps retransmission timers of failed handshakes for a while: do not wait for them
      setTimeout(() => process.exit(), 200).unref();
    });

  bench
    .command('hls-load')
    .description('n HLS players of one live playlist in this process: playlist polls and every new segment, once')
    .requiredOption('-c, --clients <n>', 'number of players')
    .requiredOption('-r, --url <url>', 'http://host:port/app/stream.m3u8')
    .option('--duration <time>', 'total run time, ramp included', '30s')
    .option('--ramp <n>', 'new players per second', '500')
    .option('--interval <time>', 'report every', '5s')
    .option('--settle <time>', 'the steady window (bandwidth, delivered %) starts this long after the last player started', '0s')
    .option('--timeout <time>', 'a playlist or segment request longer than this fails', '10s')
    .option('--json', 'print the final summary as JSON')
    .addHelpText('after', `
Each player has its own keep-alive connection: it polls the playlist about every target duration
(half of it when nothing changed, as hls.js does), starts at the newest segment, then fetches every
new segment once, counting bytes. Expected bandwidth = players × the stream's bitrate (segment
bytes over their EXTINF durations); delivered % = bytes received of the segments listed in the
steady window over their sizes × players. Failed = HTTP errors, timeouts and segments that left
the window unfetched; late = segments that arrived more than their duration after being listed.
Exit 1 if no segment was fetched.
Examples:
  srsx bench hls-load -c 1000 -r http://127.0.0.1:8080/live/livestream.m3u8
  srsx bench hls-load -c 5 -r http://127.0.0.1:8080/live/livestream.m3u8 --duration 20s --json`)
    .action(async (opts: { clients: string; url: string; duration: string; ramp: string; interval: string; settle: string; timeout: string; json?: boolean }) => {
      const clients = parseCount(opts.clients, '--clients', 1, 100_000);
      if (!/^http:\/\/[^/]+\/.+/.test(opts.url)) throw new UserError(`--url '${opts.url}' is not an http:// playlist URL`, { hint: 'e.g. http://127.0.0.1:8080/live/livestream.m3u8' });
      const { runHlsLoad } = await import('../bench/hls-load.js');
      const summary = await runHlsLoad({
        url: opts.url,
        clients,
        durationMs: parseDuration(opts.duration, '--duration'),
        rampPerSecond: parseCount(opts.ramp, '--ramp', 1, 100_000),
        reportEveryMs: parseDuration(opts.interval, '--interval'),
        settleMs: parseDuration(opts.settle, '--settle', { allowZero: true }),
        timeoutMs: parseDuration(opts.timeout, '--timeout'),
        onReport: (r) =>
          process.stderr.write(`[${r.elapsedS.toFixed(1)}s] players ${r.playing}/${r.clients} (started ${r.started}) ${r.segments} segments, ${r.mbps.toFixed(1)} Mbps, failed ${r.failed}, late ${r.late}, load-tool CPU ${r.cpuPercent.toFixed(0)}%\n`),
      });
      if (opts.json) printJson(summary);
      else {
        const row = {
          players: `${summary.playing}/${summary.clients}`,
          segments: summary.segments,
          playlists: summary.playlists,
          'stream kbps': Math.round(summary.streamKbps),
          'expected Mbps': summary.expectedMbps.toFixed(1),
          'actual Mbps': summary.actualMbps.toFixed(1),
          'delivered %': summary.deliveredPercent.toFixed(1),
          failed: summary.failed,
          late: summary.late,
        };
        process.stdout.write(renderFacts({ ...row, errors: errorsText(summary.errors) }, `hls-load ${summary.url}, ${summary.durationS.toFixed(1)} s`) + '\n');
      }
      if (summary.segments === 0) process.exitCode = 1;
    });

  bench
    .command('compare')
    .description('srsx vs nginx-rtmp (or any server): CPU, memory and bandwidth at several player counts')
    .option('--clients <list>', 'player counts, comma-separated', '500,1000,2000')
    .option('--servers <list>', 'srsx, srsx-workers:<n>, srsx-edge, srs:<path>, nginx-rtmp, cmd:<command listening on {port}>, pid:<pid>:<rtmp port>', 'srsx,nginx-rtmp')
    .option('--hold <time>', 'measuring window once all players are up', '15s')
    .option('--ramp <n>', 'new connections per second', '1000')
    .option('--stream <file.flv>', 'stream to publish (default: a generated ~529 kbps H.264/AAC file)')
    .option('--out <dir>', 'where to write compare.json and the chart: compare.svg (with --markdown NAME.md: NAME.svg; with --rtc: compare-rtc.json, compare-rtc.svg; with --hls: compare-hls.json, compare-hls.svg)', '.')
    .option('--markdown <file>', 'also write a report (table, chart, machine facts, command)')
    .option('--quick', 'the `npm run bench` settings: 10 s windows, writing docs/benchmarks.md, docs/benchmarks.svg and docs/compare.json')
    .option('--rtc', 'WebRTC (WHEP) players of the RTMP-published stream, through each server\'s RTMP -> WebRTC (servers: srsx, srs:<path>); defaults: --clients 50,100,200, --ramp 50, a ~1 Mbps video-only stream')
    .option('--hls', 'HLS players (playlist polls + segments over each server\'s HTTP server) of the RTMP-published stream (servers: srsx, srs:<path>); player count 0 measures the HLS muxing cost alone; defaults: --clients 0,1000, --ramp 500')
    .option('--json', 'print the rows as JSON')
    .addHelpText('after', `
For each server: start it with its own config on a spare port (nginx-rtmp: Debian's nginx +
libnginx-mod-rtmp, one worker), publish the stream, then for each player count ramp the
players (a separate load-tool process, so its CPU is measured apart), hold, and record the
server's CPU and RSS, connections, expected and actual Mbps, load-tool CPU and lag.
Writes <out>/compare.json (the rows) and <out>/compare.svg (the chart); with --markdown NAME.md
the chart is <out>/NAME.svg (docs/benchmarks.md: benchmarks.svg) and the report is NAME.md; with
--rtc the files are compare-rtc.json and compare-rtc.svg.
Examples:
  srsx bench compare --clients 1000,2000 --servers srsx,nginx-rtmp
  srsx bench compare --clients 10000 --servers srsx --hold 20s
  srsx bench compare --servers 'srsx,cmd:/usr/local/srs/objs/srs -c /tmp/srs-{port}.conf'
  srsx bench compare --servers srsx,srs:/usr/local/srs/objs/srs --clients 1000
  srsx bench compare --rtc --servers srsx,srs:/usr/local/srs/objs/srs --markdown docs/benchmarks-rtc.md
  srsx bench compare --clients 2000,5000,10000 --servers srsx,srsx-workers:2,srsx-edge
srsx-workers:<n> is \`srsx serve --workers <n>\`: CPU and memory are the sum of the supervisor and
its workers, and the table adds each process's CPU. srsx-edge is an srsx origin (the stream is
published to it) and an srsx edge of it (\`cluster { mode remote; }\`, the players play from it):
the origin -> edge -> players fan-out, both processes counted.
srs:<path> starts that SRS binary with a config of its own (RTMP, and for --rtc its HTTP API, one
UDP port with candidate 127.0.0.1 and rtmp_to_rtc). With --rtc the players are \`srsx bench
rtc-load\` WHEP players; the table adds Loss (RTP sequence gaps %), Failed and Connect times.
With --hls both servers mux the stream to HLS (2 s fragments, window 10 s) served by their HTTP
server; the players are \`srsx bench hls-load\` players; files are compare-hls.json and compare-hls.svg.`)
    .action(async (opts: { clients: string; servers: string; hold: string; ramp: string; stream?: string; out: string; markdown?: string; quick?: boolean; rtc?: boolean; hls?: boolean; json?: boolean }, cmd: Command) => {
      if (opts.rtc && opts.hls) throw new UserError('--rtc and --hls are two different runs', { hint: 'give one of them' });
      const { runCompare } = await import('../bench/compare.js');
      const { benchStreamFile, flvBitrateKbps } = await import('../bench/stream-file.js');
      const { compareChartSvg } = await import('../bench/chart.js');
      const { COMPARE_COLUMNS_HLS, COMPARE_COLUMNS_RTC, compareHlsMarkdown, compareMarkdown, compareRtcMarkdown, rtmpColumns, withKeptNotes } = await import('../bench/compare-report.js');
      const { rtcBenchStreamFile } = await import('../bench/stream-file.js');
      if (opts.rtc) {
        if (cmd.getOptionValueSource('clients') === 'default') opts.clients = '50,100,200';
        if (cmd.getOptionValueSource('ramp') === 'default') opts.ramp = '50';
        if (cmd.getOptionValueSource('servers') === 'default') opts.servers = 'srsx';
      }
      if (opts.hls) {
        if (cmd.getOptionValueSource('clients') === 'default') opts.clients = '0,1000';
        if (cmd.getOptionValueSource('ramp') === 'default') opts.ramp = '500';
        if (cmd.getOptionValueSource('servers') === 'default') opts.servers = 'srsx';
      }
      const mode = opts.hls ? 'hls' : opts.rtc ? 'rtc' : 'rtmp';
      const jsonName = { rtmp: 'compare.json', rtc: 'compare-rtc.json', hls: 'compare-hls.json' }[mode];
      const { hostFacts } = await import('../bench/host-facts.js');
      if (opts.quick) {
        opts.hold = '10s';
        opts.markdown ??= 'docs/benchmarks.md';
        opts.out = path.dirname(opts.markdown);
      }
      const clients = opts.clients.split(',').map((c) => parseCount(c, '--clients', opts.hls ? 0 : 1, 19_000));
      const servers = opts.servers.split(',').map((s) => s.trim()).filter(Boolean);
      const streamFile = opts.stream ?? (opts.rtc ? rtcBenchStreamFile() : benchStreamFile());
      if (!existsSync(streamFile)) throw new UserError(`--stream ${streamFile}: no such file`);
      const streamKbps = flvBitrateKbps(streamFile);
      // the machine may be shared: the report says how busy it was
      const loadAtStart = (await import('node:os')).loadavg()[0]!;
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
          rtc: opts.rtc,
          hls: opts.hls,
          onStep: (step, fraction) => bar.update(Math.round(fraction * 100), { step }),
        });
      } finally {
        bar.stop();
      }
      mkdirSync(opts.out, { recursive: true });
      writeFileSync(path.join(opts.out, jsonName), JSON.stringify({ streamKbps, rows }, null, 2) + '\n');
      const svgFile = path.join(opts.out, opts.markdown ? `${path.basename(opts.markdown, '.md')}.svg` : jsonName.replace(/\.json$/, '.svg'));
      writeFileSync(svgFile, await compareChartSvg(rows, { rtmp: 'srsx bench compare: RTMP players', rtc: 'srsx bench compare: WebRTC players', hls: 'srsx bench compare: HLS players (0 = muxing only)' }[mode]));
      if (opts.markdown) {
        const command = `srsx bench compare${opts.rtc ? ' --rtc' : ''}${opts.hls ? ' --hls' : ''} --clients ${clients.join(',')} --servers ${servers.join(',')} --hold ${opts.hold}`;
        const loadAtEnd = (await import('node:os')).loadavg()[0]!;
        const facts = { ...(await hostFacts()), stream: `${streamKbps.toFixed(0)} kbps`, 'load average (1 min)': `${loadAtStart.toFixed(2)} at the start, ${loadAtEnd.toFixed(2)} at the end of the run` };
        const previous = existsSync(opts.markdown) ? readFileSync(opts.markdown, 'utf8') : undefined;
        writeFileSync(opts.markdown, withKeptNotes((opts.hls ? compareHlsMarkdown : opts.rtc ? compareRtcMarkdown : compareMarkdown)(rows, facts, command, path.basename(svgFile), opts.quick || (opts.hls && process.env.npm_lifecycle_event === 'bench:hls')), previous));
      }
      if (opts.json) printJson(rows);
      else process.stdout.write(renderTable(rows, opts.hls ? COMPARE_COLUMNS_HLS : opts.rtc ? COMPARE_COLUMNS_RTC : rtmpColumns(rows), `stream ${streamKbps.toFixed(0)} kbps`) + `\nwrote ${path.join(opts.out, jsonName)}, ${svgFile}${opts.markdown ? `, ${opts.markdown}` : ''}\n`);
    });
}
