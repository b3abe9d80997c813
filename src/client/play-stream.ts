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
  output?: string;
  onProgress?: (s: PlayStats) => void;
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
  await client.connect();
  await client.play();
  const timer = new Promise<string>((resolve) => setTimeout(() => resolve('duration'), opts.durationMs));
  stats.endedBy = await Promise.race([closed, timer]);
  client.close();
}

async function playFlv(url: string, opts: PlayOptions, stats: PlayStats, t0: number, out?: WriteStream): Promise<void> {
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
    setTimeout(() => {
      stats.endedBy = 'duration';
      req.destroy();
      resolve();
    }, opts.durationMs);
  });
}
