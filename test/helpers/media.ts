import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * An H.264/AAC FLV made by ffmpeg from testsrc and sine (cached in the temp dir):
 * `seconds` long, 25 fps, a keyframe every `gop` frames, `kbps` constant-bitrate video.
 */
export function testFlv(opts: { seconds?: number; gop?: number; kbps?: number; size?: string } = {}): string {
  const seconds = opts.seconds ?? 10;
  const gop = opts.gop ?? 50;
  const kbps = opts.kbps ?? 450;
  const size = opts.size ?? '640x360';
  const dir = path.join(os.tmpdir(), 'srsx-test-media');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `testsrc-${size}-${seconds}s-g${gop}-${kbps}k-cbr.flv`);
  if (!existsSync(file)) {
    const tmp = `${file}.${process.pid}.tmp.flv`;
    execFileSync('ffmpeg', [
      '-v', 'error', '-y',
      '-f', 'lavfi', '-i', `testsrc=size=${size}:rate=25`,
      '-f', 'lavfi', '-i', 'sine=frequency=1000:sample_rate=44100',
      '-t', String(seconds),
      '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0',
      // constant bitrate (x264 pads with filler): testsrc alone compresses far below any target
      '-b:v', `${kbps}k`, '-minrate', `${kbps}k`, '-maxrate', `${kbps}k`, '-bufsize', `${kbps}k`, '-x264-params', 'nal-hrd=cbr',
      '-c:a', 'aac', '-b:a', '64k',
      '-f', 'flv', tmp,
    ]);
    execFileSync('mv', [tmp, file]);
  }
  return file;
}

export interface ProbePacket {
  codec_type: 'video' | 'audio' | string;
  pts_time: string;
  flags: string;
}

/** ffprobe's packets of a file or URL (video and audio only). */
export function probePackets(input: string, extra: string[] = [], timeoutMs = 30_000): ProbePacket[] {
  const out = execFileSync('ffprobe', ['-v', 'error', ...extra, '-show_entries', 'packet=codec_type,pts_time,flags', '-of', 'json', input], { timeout: timeoutMs, maxBuffer: 64 << 20 }).toString();
  const parsed = JSON.parse(out) as { packets?: ProbePacket[] };
  return (parsed.packets ?? []).filter((p) => p.codec_type === 'video' || p.codec_type === 'audio');
}

export function probeStreams(input: string, timeoutMs = 30_000): Array<{ codec_type: string; codec_name: string; width?: number; height?: number }> {
  const out = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type,codec_name,width,height', '-of', 'json', input], { timeout: timeoutMs }).toString();
  return ((JSON.parse(out) as { streams?: Array<{ codec_type: string; codec_name: string }> }).streams ?? []).filter((s) => s.codec_type === 'video' || s.codec_type === 'audio');
}
