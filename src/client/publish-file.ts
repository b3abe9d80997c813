import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { decodeAmf0, type Amf0Object } from '../protocol/amf0.js';
import { FlvDemuxer, TagType, type FlvTag } from '../protocol/flv.js';
import { MessageType } from '../protocol/rtmp/message.js';
import { RtmpClient } from './rtmp-client.js';

export interface PublishOptions {
  /** pace by timestamps, like ffmpeg -re */
  realtime: boolean;
  /** start over at the end, timestamps continuing */
  loop: boolean;
  /** stop after this many ms (0: no limit) */
  maxMs?: number;
  onProgress?: (p: PublishProgress) => void;
  signal?: AbortSignal;
}

export interface PublishProgress {
  tags: number;
  bytes: number;
  timestampMs: number;
  loops: number;
}

/** Reads FLV tags from a file ('-' = stdin), one pass. */
async function* flvTags(file: string): AsyncGenerator<FlvTag> {
  const input: Readable = file === '-' ? process.stdin : createReadStream(file, { highWaterMark: 256 * 1024 });
  const queue: FlvTag[] = [];
  const demuxer = new FlvDemuxer((t) => queue.push(t));
  for await (const chunk of input) {
    demuxer.push(chunk as Buffer);
    while (queue.length > 0) yield queue.shift()!;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Publishes an FLV file to an RTMP URL. Resolves with the totals when done. */
export async function publishFile(file: string, url: string, opts: PublishOptions): Promise<PublishProgress> {
  const client = new RtmpClient(url);
  let closedReason: string | undefined;
  client.on('close', (r: string) => (closedReason = r));
  await client.connect();
  await client.publish();
  const progress: PublishProgress = { tags: 0, bytes: 0, timestampMs: 0, loops: 0 };
  const wall0 = Date.now();
  let offset = 0;
  let lastTs = 0;
  try {
    for (;;) {
      let first: number | undefined;
      for await (const tag of flvTags(file)) {
        if (closedReason) throw new Error(`the server closed the connection: ${closedReason}`);
        if (opts.signal?.aborted) return progress;
        first ??= tag.timestamp;
        const ts = offset + tag.timestamp - first;
        lastTs = ts;
        if (opts.realtime) {
          const ahead = ts - (Date.now() - wall0);
          if (ahead > 10) await sleep(ahead);
        }
        if (opts.maxMs && Date.now() - wall0 > opts.maxMs) return progress;
        let ok = true;
        if (tag.type === TagType.Script) {
          const values = decodeAmf0(tag.payload);
          const i = values[0] === '@setDataFrame' ? 1 : 0;
          if (values[i] === 'onMetaData' && values[i + 1] && typeof values[i + 1] === 'object') {
            if (progress.loops === 0) ok = client.writeMetadata(values[i + 1] as Amf0Object, ts);
          }
        } else if (tag.type === TagType.Audio || tag.type === TagType.Video) {
          ok = client.sendMedia(tag.type === TagType.Audio ? MessageType.Audio : MessageType.Video, ts, tag.payload);
        }
        progress.tags++;
        progress.bytes += tag.payload.length;
        progress.timestampMs = ts;
        if (progress.tags % 200 === 0) opts.onProgress?.(progress);
        if (!ok) await client.drain();
      }
      if (first === undefined) throw new Error(`${file} has no FLV tags`);
      if (!opts.loop || file === '-') break;
      progress.loops++;
      offset = lastTs + 40;
    }
    await client.drain();
    return progress;
  } finally {
    client.close();
  }
}
