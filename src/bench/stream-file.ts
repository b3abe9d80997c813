import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../errors.js';
import { FlvDemuxer, TagType } from '../protocol/flv.js';

/**
 * The benchmark's stream: 30 s of 640x360 H.264 (~465 kbps) + AAC (64 kbps), about the
 * 529 kbps of the reference numbers (constant bitrate: x264 pads testsrc with filler), made
 * once with ffmpeg and cached.
 */
export function benchStreamFile(): string {
  return cachedFfmpegFile('bench-640x360-529k-cbr.flv', ['-f', 'lavfi', '-i', 'testsrc=size=640x360:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=1000:sample_rate=44100', '-t', '30',
    '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-g', '50', '-b:v', '465k', '-minrate', '465k', '-maxrate', '465k', '-bufsize', '465k', '-x264-params', 'nal-hrd=cbr', '-c:a', 'aac', '-b:a', '64k']);
}

/**
 * The WebRTC benchmark's stream: 30 s of 640x360 H.264 constrained baseline (no B-frames, which
 * WebRTC players cannot take), ~1 Mbps ABR without filler NAL units (CBR padding: SRS forwards them,
 * srsx drops them, so both would not send the same bytes), keyframe every 2 s, no audio (RTMP -> WebRTC audio is an
 * AAC -> Opus transcode in both srsx and SRS, a cost of its own: this measures the media fan-out).
 */
export function rtcBenchStreamFile(): string {
  return cachedFfmpegFile('bench-640x360-1m-baseline-video-abr.flv', ['-f', 'lavfi', '-i', 'testsrc=size=640x360:rate=25', '-t', '30', '-vf', 'noise=alls=12:allf=t',
    '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'baseline', '-bf', '0', '-pix_fmt', 'yuv420p', '-g', '50', '-b:v', '1000k', '-maxrate', '1100k', '-bufsize', '1000k', '-an']);
}

function cachedFfmpegFile(name: string, args: string[]): string {
  const dir = path.join(os.tmpdir(), 'srsx-bench-media');
  const file = path.join(dir, name);
  if (existsSync(file)) return file;
  mkdirSync(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.flv`;
  try {
    execFileSync('ffmpeg', ['-v', 'error', '-y', ...args, '-f', 'flv', tmp]);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new UserError('ffmpeg is not installed (needed to make the benchmark stream)', { hint: 'apt-get install ffmpeg, or pass --stream <file.flv>' });
    throw err;
  }
  renameSync(tmp, file);
  return file;
}

/** Average bitrate of an FLV file's audio and video, in kbps. */
export function flvBitrateKbps(file: string): number {
  let bytes = 0;
  let first = -1;
  let last = 0;
  new FlvDemuxer((t) => {
    if (t.type !== TagType.Audio && t.type !== TagType.Video) return;
    bytes += t.payload.length;
    if (first < 0) first = t.timestamp;
    last = t.timestamp;
  }).push(readFileSync(file));
  const seconds = (last - first) / 1000;
  return seconds > 0 ? (bytes * 8) / seconds / 1000 : 0;
}
