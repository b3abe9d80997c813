import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { ExitCode, UserError, errorMessage } from '../errors.js';
import { EndedBy, gotNoMedia, playStream, type PlayStats } from '../client/play-stream.js';
import { NotFlvError, publishFile } from '../client/publish-file.js';
import { parseRtmpUrl } from '../client/rtmp-url.js';
import { printJson, renderFacts } from '../report/render.js';
import { parseDuration } from './duration.js';

/** The exit code of a command stopped by Ctrl-C, as a shell reports it (128 + SIGINT). */
export const INTERRUPTED_EXIT = 130;
/** ... and by SIGTERM (128 + 15). */
export const TERMINATED_EXIT = 143;

/**
 * An AbortSignal that Ctrl-C (SIGINT) or SIGTERM aborts, so a command can print what it did so far
 * and exit 130 (143 for SIGTERM); a second signal exits at once. `done()` removes the handlers.
 */
function interruptible(): { signal: AbortSignal; interrupted: () => boolean; exitCode: () => number; done: () => void } {
  const ctl = new AbortController();
  let code = INTERRUPTED_EXIT;
  const onSignal = (sig: NodeJS.Signals) => {
    if (ctl.signal.aborted) process.exit(code);
    code = sig === 'SIGTERM' ? TERMINATED_EXIT : INTERRUPTED_EXIT;
    if (process.stderr.isTTY) process.stderr.write('\n');
    ctl.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: ctl.signal,
    interrupted: () => ctl.signal.aborted,
    exitCode: () => code,
    done: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** The play summary for people and --json: no -1 placeholders (a value that was never seen is left out). */
export function playSummary(s: PlayStats, output?: string): Record<string, string | number | undefined> {
  return {
    url: s.url,
    video: s.video,
    audio: s.audio,
    data: s.data,
    bytes: s.bytes,
    streamSeconds: s.firstTimestamp < 0 ? 0 : (s.lastTimestamp - s.firstTimestamp) / 1000,
    firstTimestamp: s.firstTimestamp < 0 ? undefined : s.firstTimestamp,
    lastTimestamp: s.firstTimestamp < 0 ? undefined : s.lastTimestamp,
    startupMs: s.startupMs < 0 ? undefined : s.startupMs,
    endedBy: s.endedBy,
    output,
  };
}

export function registerPublish(program: Command): void {
  program
    .command('publish')
    .description('Publish an FLV file (or - for stdin) to an RTMP URL')
    .argument('<file>', 'FLV file, or - to read FLV from stdin')
    .argument('<url>', 'rtmp://host[:port]/app/stream')
    .option('--re', 'pace by timestamps (real time), like ffmpeg -re')
    .option('--loop', 'start over at the end of the file, timestamps continuing')
    .option('--duration <time>', 'stop after this long (e.g. 60s)')
    .option('--json', 'print the summary as JSON')
    .addHelpText('after', `
The input must be FLV (convert others with ffmpeg -c copy -f flv): anything else exits 2 before
connecting. Ctrl-C stops, prints the summary so far and exits 130 (SIGTERM: 143).

Examples:
  srsx publish --re in.flv rtmp://127.0.0.1/live/livestream
  srsx publish --re --loop --duration 10m in.flv rtmp://127.0.0.1/live/livestream
  ffmpeg -i in.mp4 -c copy -f flv - | srsx publish - rtmp://127.0.0.1/live/livestream`)
    .action(async (file: string, url: string, opts: { re?: boolean; loop?: boolean; duration?: string; json?: boolean }) => {
      parseRtmpUrl(url);
      if (file !== '-' && !existsSync(file)) throw new UserError(`cannot read ${file}: no such file`, { hint: 'give the path of an FLV file, or - for stdin' });
      const maxMs = opts.duration ? parseDuration(opts.duration, '--duration') : 0;
      const started = Date.now();
      const stop = interruptible();
      try {
        const p = await publishFile(file, url, {
          realtime: !!opts.re,
          loop: !!opts.loop,
          maxMs,
          signal: stop.signal,
          onProgress: (x) => process.stderr.isTTY && process.stderr.write(`\rpublished ${x.tags} tags, ${(x.timestampMs / 1000).toFixed(1)} s of stream   `),
        });
        if (process.stderr.isTTY) process.stderr.write('\n');
        const interrupted = stop.interrupted();
        const summary = { url, file, tags: p.tags, bytes: p.bytes, streamSeconds: p.timestampMs / 1000, loops: p.loops, wallSeconds: (Date.now() - started) / 1000, ...(interrupted ? { endedBy: EndedBy.interrupted } : {}) };
        if (opts.json) printJson(summary);
        else process.stdout.write(renderFacts(summary, interrupted ? 'published (interrupted by Ctrl-C)' : 'published') + '\n');
        if (interrupted) process.exitCode = stop.exitCode();
      } catch (err) {
        if (err instanceof UserError) throw err;
        if (err instanceof NotFlvError) {
          throw new UserError(err.message, {
            hint: `srsx publish sends FLV as it is; convert first: ffmpeg -i ${file === '-' ? 'in.mp4' : file} -c copy -f flv out.flv (or pipe it: ffmpeg -i in.mp4 -c copy -f flv - | srsx publish - ${url})`,
            exitCode: ExitCode.usage,
          });
        }
        throw new UserError(`publish to ${url} failed: ${errorMessage(err)}`, { hint: 'is the server running and the stream free? (a live stream takes one publisher)', exitCode: 1 });
      } finally {
        stop.done();
      }
    });
}

export function registerPlay(program: Command): void {
  program
    .command('play')
    .description('Play an RTMP or HTTP-FLV URL, optionally saving it as FLV')
    .argument('<url>', 'rtmp://host[:port]/app/stream or http://host:port/app/stream.flv')
    .option('-o, --output <file>', 'write what is received as an FLV file')
    .option('--duration <time>', 'how long to play', '10s')
    .option('--wait <time>', 'give up when no audio or video arrived within this long', '10s')
    .option('--json', 'print the summary as JSON')
    .addHelpText('after', `
Exit code: 0 media arrived; 1 the server refused the play (e.g. NetStream.Play.StreamNotFound) or
sent no audio or video within --wait (a server that waits for a publisher, as SRS and srsx serve
do, accepts the play of a stream nobody publishes); 130 Ctrl-C (143 SIGTERM), after the summary so far.

Examples:
  srsx play rtmp://127.0.0.1/live/livestream --duration 30s
  srsx play http://127.0.0.1:8080/live/livestream.flv -o out.flv
  srsx play rtmp://127.0.0.1/live/livestream --duration 1h --wait 60s   wait up to a minute for the publisher`)
    .action(async (url: string, opts: { output?: string; duration: string; wait: string; json?: boolean }) => {
      if (!/^https?:\/\//.test(url)) parseRtmpUrl(url);
      const durationMs = parseDuration(opts.duration, '--duration');
      const noMediaMs = parseDuration(opts.wait, '--wait');
      const stop = interruptible();
      let s: PlayStats;
      try {
        s = await playStream(url, {
          durationMs,
          noMediaMs,
          output: opts.output,
          signal: stop.signal,
          onProgress: (x) => process.stderr.isTTY && process.stderr.write(`\rvideo ${x.video} audio ${x.audio} frames, ${(x.bytes / 1024).toFixed(0)} KiB   `),
        });
      } catch (err) {
        const m = /(NetStream\.Play\.StreamNotFound)(?::\s*(.*))?/.exec(errorMessage(err));
        if (m) {
          throw new UserError(`play ${url}: the server has no such stream (${m[1]}${m[2] ? `: ${m[2]}` : ''})`, { hint: 'check the app and stream names, or publish the stream first (srsx publish FILE.flv URL)', exitCode: ExitCode.mismatch });
        }
        throw new UserError(`play ${url} failed: ${errorMessage(err)}`, { hint: 'is the server running and the stream published?', exitCode: ExitCode.mismatch });
      } finally {
        stop.done();
      }
      if (process.stderr.isTTY) process.stderr.write('\n');
      const interrupted = s.endedBy === EndedBy.interrupted;
      if (!interrupted && gotNoMedia(s)) {
        const hint = 'is anyone publishing this stream? (srsx serve and SRS accept a play before the publisher comes; see the server\'s /api/v1/streams) Wait longer with --wait';
        if (s.endedBy === EndedBy.noMedia || s.endedBy === EndedBy.duration) {
          const within = s.endedBy === EndedBy.noMedia ? opts.wait : opts.duration;
          throw new UserError(`play ${url}: no audio or video within ${within}: the server accepted the play but sent no media`, { hint, exitCode: ExitCode.mismatch });
        }
        throw new UserError(`play ${url}: the play ended before any audio or video arrived (${s.endedBy})`, { hint, exitCode: ExitCode.mismatch });
      }
      const summary = playSummary(s, opts.output);
      if (opts.json) printJson(summary);
      else process.stdout.write(renderFacts(summary, interrupted ? 'played (interrupted by Ctrl-C)' : 'played') + '\n');
      if (interrupted) process.exitCode = stop.exitCode();
    });
}
