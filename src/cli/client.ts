import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { UserError, errorMessage } from '../errors.js';
import { playStream } from '../client/play-stream.js';
import { publishFile } from '../client/publish-file.js';
import { parseRtmpUrl } from '../client/rtmp-url.js';
import { printJson, renderFacts } from '../report/render.js';
import { parseDuration } from './duration.js';

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
Examples:
  srsx publish --re in.flv rtmp://127.0.0.1/live/livestream
  srsx publish --re --loop --duration 10m in.flv rtmp://127.0.0.1/live/livestream
  ffmpeg -i in.mp4 -c copy -f flv - | srsx publish - rtmp://127.0.0.1/live/livestream`)
    .action(async (file: string, url: string, opts: { re?: boolean; loop?: boolean; duration?: string; json?: boolean }) => {
      parseRtmpUrl(url);
      if (file !== '-' && !existsSync(file)) throw new UserError(`cannot read ${file}: no such file`, { hint: 'give the path of an FLV file, or - for stdin' });
      const maxMs = opts.duration ? parseDuration(opts.duration, '--duration') : 0;
      const started = Date.now();
      try {
        const p = await publishFile(file, url, {
          realtime: !!opts.re,
          loop: !!opts.loop,
          maxMs,
          onProgress: (x) => process.stderr.isTTY && process.stderr.write(`\rpublished ${x.tags} tags, ${(x.timestampMs / 1000).toFixed(1)} s of stream   `),
        });
        if (process.stderr.isTTY) process.stderr.write('\n');
        const summary = { url, file, tags: p.tags, bytes: p.bytes, streamSeconds: p.timestampMs / 1000, loops: p.loops, wallSeconds: (Date.now() - started) / 1000 };
        if (opts.json) printJson(summary);
        else process.stdout.write(renderFacts(summary, 'published') + '\n');
      } catch (err) {
        if (err instanceof UserError) throw err;
        throw new UserError(`publish to ${url} failed: ${errorMessage(err)}`, { hint: 'is the server running and the stream free? (a live stream takes one publisher)', exitCode: 1 });
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
    .option('--json', 'print the summary as JSON')
    .addHelpText('after', `
Examples:
  srsx play rtmp://127.0.0.1/live/livestream --duration 30s
  srsx play http://127.0.0.1:8080/live/livestream.flv -o out.flv`)
    .action(async (url: string, opts: { output?: string; duration: string; json?: boolean }) => {
      if (!/^https?:\/\//.test(url)) parseRtmpUrl(url);
      const durationMs = parseDuration(opts.duration, '--duration');
      try {
        const s = await playStream(url, {
          durationMs,
          output: opts.output,
          onProgress: (x) => process.stderr.isTTY && process.stderr.write(`\rvideo ${x.video} audio ${x.audio} frames, ${(x.bytes / 1024).toFixed(0)} KiB   `),
        });
        if (process.stderr.isTTY) process.stderr.write('\n');
        const summary = { ...s, streamSeconds: s.firstTimestamp < 0 ? 0 : (s.lastTimestamp - s.firstTimestamp) / 1000, output: opts.output };
        if (opts.json) printJson(summary);
        else process.stdout.write(renderFacts(summary, 'played') + '\n');
        if (s.video + s.audio === 0) process.exitCode = 1;
      } catch (err) {
        throw new UserError(`play ${url} failed: ${errorMessage(err)}`, { hint: 'is the server running and the stream published?', exitCode: 1 });
      }
    });
}
