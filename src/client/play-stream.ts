import { createWriteStream, type WriteStream } from 'node:fs';
import http from 'node:http';
import { encodeTag, FlvDemuxer, flvFileHeader } from '../protocol/flv.js';
import { MessageType, type RtmpMessage } from '../protocol/rtmp/message.js';
import { RtmpClient } from './rtmp-client.js';

export interface PlayStats {
  url: string;
  video: number;
  audio: number;
  data: number;
  bytes: number;
  firstTimestamp: number;
  lastTimestamp: number;
  /** ms from start to the first video frame */
  startupMs: number;
  endedBy: string;
}

export interface PlayOptions {
  durationMs: number;
  /** stop (endedBy 'no media') when no audio or video arrived within this many ms (0: wait the whole duration) */
  noMediaMs?: number;
  output?: string;
  onProgress?: (s: PlayStats) => void;
  /** stop now (Ctrl-C): endedBy 'interrupted', the stats so far */
  signal?: AbortSignal;
}

/** Why a play ended: the duration, the server, no media, or the user. */
export const EndedBy = { duration: 'duration', noMedia: 'no media', interrupted: 'interrupted' } as const;

/** True when nothing playable (audio or video) arrived. */
export function gotNoMedia(s: PlayStats): boolean {
  return s.video + s.audio === 0;
}

/**
 * A promise for the reason the play stops: the signal aborted (at any time), or, once `arm()`ed
 * (when the play has started), the duration elapsed or no media came within `noMediaMs`.
 * `cancel` clears its timers.
 */
function stopper(opts: PlayOptions, stats: PlayStats): { reason: Promise<string>; arm: () => void; cancel: () => void } {
  const timers: NodeJS.Timeout[] = [];
  let resolveReason: (r: string) => void = () => {};
  const reason = new Promise<string>((resolve) => (resolveReason = resolve));
  const onAbort = () => resolveReason(EndedBy.interrupted);
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  return {
    reason,
    arm: () => {
      timers.push(setTimeout(() => resolveReason(EndedBy.duration), opts.durationMs));
      if (opts.noMediaMs && opts.noMediaMs < opts.durationMs) timers.push(setTimeout(() => gotNoMedia(stats) && resolveReason(EndedBy.noMedia), opts.noMediaMs));
    },
    cancel: () => {
      for (const t of timers) clearTimeout(t);
      opts.signal?.removeEventListener('abort', onAbort);
    },
  };
}

function newStats(url: string): PlayStats {
  return { url, video: 0, audio: 0, data: 0, bytes: 0, firstTimestamp: -1, lastTimestamp: 0, startupMs: -1, endedBy: '' };
}

function count(s: PlayStats, type: number, timestamp: number, size: number, t0: number): void {
  if (type === MessageType.Video) {
    s.video++;
    if (s.startupMs < 0) s.startupMs = Date.now() - t0;
  } else if (type === MessageType.Audio) s.audio++;
  else s.data++;
  if (type === MessageType.Video || type === MessageType.Audio) {
    if (s.firstTimestamp < 0) s.firstTimestamp = timestamp;
    s.lastTimestamp = timestamp;
  }
  s.bytes += size;
}

/** Plays an RTMP or HTTP-FLV URL for a while, optionally saving it as an FLV file. */
export async function playStream(url: string, opts: PlayOptions): Promise<PlayStats> {
  const stats = newStats(url);
  const t0 = Date.now();
  let out: WriteStream | undefined;
  if (opts.output) {
    out = createWriteStream(opts.output);
    out.write(flvFileHeader());
  }
  const progress = setInterval(() => opts.onProgress?.(stats), 1000);
  try {
    if (/^https?:\/\//.test(url)) await playFlv(url, opts, stats, t0, out);
    else await playRtmp(url, opts, stats, t0, out);
  } finally {
    clearInterval(progress);
    if (out) await new Promise<void>((r) => out!.end(() => r()));
  }
  return stats;
}

async function playRtmp(url: string, opts: PlayOptions, stats: PlayStats, t0: number, out?: WriteStream): Promise<void> {
  const client = new RtmpClient(url);
  const closed = new Promise<string>((resolve) => client.on('close', resolve));
  client.on('media', (m: RtmpMessage) => {
    count(stats, m.type, m.timestamp, m.payload.length, t0);
    out?.write(encodeTag(m.type, m.timestamp, m.payload));
  });
  const stop = stopper(opts, stats);
  try {
    // Ctrl-C while connecting or waiting for Play.Start ends the play too
    const started = client.connect().then(() => client.play()).then(() => undefined);
    const early = await Promise.race([started, stop.reason]);
    if (early) {
      stats.endedBy = early;
      started.catch(() => {});
      return;
    }
    // the duration counts from Play.Start, as it always did
    stop.arm();
    stats.endedBy = await Promise.race([closed, stop.reason]);
  } finally {
    stop.cancel();
    client.close();
  }
}

async function playFlv(url: string, opts: PlayOptions, stats: PlayStats, t0: number, out?: WriteStream): Promise<void> {
  const stop = stopper(opts, stats);
  stop.arm();
  await new Promise<void>((resolve, reject) => {
    const req = http.get(url, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`${url} answered HTTP ${res.statusCode}`));
        res.destroy();
        return;
      }
      const demux = new FlvDemuxer((t) => {
        count(stats, t.type, t.timestamp, t.payload.length, t0);
        out?.write(encodeTag(t.type, t.timestamp, t.payload));
      });
      res.on('data', (d: Buffer) => {
        try {
          demux.push(d);
        } catch (e) {
          reject(e);
          req.destroy();
        }
      });
      res.on('end', () => {
        stats.endedBy = 'server ended the stream';
        resolve();
      });
    });
    req.on('error', (e) => reject(new Error(`cannot play ${url}: ${e.message}`)));
    void stop.reason.then((reason) => {
      stats.endedBy ||= reason;
      req.destroy();
      resolve();
    });
  }).finally(() => stop.cancel());
}
