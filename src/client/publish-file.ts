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

/**
 * The input is not FLV (or is empty): nothing was sent. `what` names the input (a file or stdin),
 * `looksLike` what its first bytes suggest it is instead.
 */
export class NotFlvError extends Error {
  constructor(
    readonly what: string,
    readonly looksLike: string,
  ) {
    super(`${what} is not an FLV file: ${looksLike}`);
    this.name = 'NotFlvError';
  }
}

/** What the first bytes of a file that is not FLV look like, in words (pure). */
export function describeNonFlv(head: Buffer): string {
  if (head.length === 0) return 'it is empty';
  if (head.length >= 3 && head.toString('latin1', 0, 3) === 'FLV') return head.length < 13 ? 'it ends inside the FLV header' : 'it has no FLV tags';
  const ascii = head.toString('latin1', 0, Math.min(head.length, 12));
  if (head.length >= 8 && /^(ftyp|moov|mdat|free|wide)$/.test(head.toString('latin1', 4, 8))) return 'it looks like an MP4/MOV file (an ISO BMFF box), not the FLV signature "FLV"';
  if (head[0] === 0x47 && (head.length < 189 || head[188] === 0x47)) return 'it looks like an MPEG-TS file (sync byte 0x47), not the FLV signature "FLV"';
  if (ascii.startsWith('\x1aE\xdf\xa3')) return 'it looks like a Matroska/WebM file, not the FLV signature "FLV"';
  if (ascii.startsWith('RIFF')) return 'it looks like a RIFF (AVI/WAV) file, not the FLV signature "FLV"';
  if (ascii.startsWith('OggS')) return 'it looks like an Ogg file, not the FLV signature "FLV"';
  if (ascii.startsWith('ID3') || (head[0] === 0xff && ((head[1] ?? 0) & 0xe0) === 0xe0)) return 'it looks like MP3/AAC audio, not the FLV signature "FLV"';
  const shown = [...head.subarray(0, 4)].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('');
  return `it starts with "${shown}", not the FLV signature "FLV"`;
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

/**
 * The tags of one pass, with the first one read before this returns: input that is not FLV (or
 * has no tag) throws NotFlvError here, before anything is connected or sent.
 */
async function openTags(file: string): Promise<{ tags: AsyncGenerator<FlvTag>; close: () => void }> {
  const what = file === '-' ? 'stdin' : file;
  const head: Buffer[] = [];
  let headLength = 0;
  const input: Readable = file === '-' ? process.stdin : createReadStream(file, { highWaterMark: 256 * 1024 });
  const queue: FlvTag[] = [];
  const demuxer = new FlvDemuxer((t) => queue.push(t));
  const chunks = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const notFlv = () => new NotFlvError(what, describeNonFlv(Buffer.concat(head).subarray(0, 256)));
  while (queue.length === 0) {
    const r = await chunks.next();
    if (r.done) throw notFlv();
    if (headLength < 256) {
      head.push(r.value);
      headLength += r.value.length;
    }
    try {
      demuxer.push(r.value);
    } catch (err) {
      input.destroy();
      if (headLength >= 3 && Buffer.concat(head).toString('latin1', 0, 3) === 'FLV') throw err;
      throw notFlv();
    }
  }
  const tags = (async function* () {
    while (queue.length > 0) yield queue.shift()!;
    for (;;) {
      const r = await chunks.next();
      if (r.done) return;
      demuxer.push(r.value);
      while (queue.length > 0) yield queue.shift()!;
    }
  })();
  // stdin is not destroyed (the process may still read it); a file is
  return { tags, close: () => (file === '-' ? input.pause() : input.destroy()) };
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** `p`, or undefined as soon as `signal` aborts. */
function unlessAborted<T>(p: Promise<T>, signal?: AbortSignal): Promise<T | undefined> {
  if (!signal) return p;
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/**
 * Publishes an FLV file to an RTMP URL. Resolves with the totals when done, or with the totals so
 * far when `signal` aborts (Ctrl-C). Input that is not FLV throws NotFlvError before connecting.
 */
export async function publishFile(file: string, url: string, opts: PublishOptions): Promise<PublishProgress> {
  const progress: PublishProgress = { tags: 0, bytes: 0, timestampMs: 0, loops: 0 };
  const opened = await openTags(file);
  let pass: AsyncGenerator<FlvTag> | undefined = opened.tags;
  const client = new RtmpClient(url);
  let closedReason: string | undefined;
  client.on('close', (r: string) => (closedReason = r));
  const wall0 = Date.now();
  let offset = 0;
  let lastTs = 0;
  try {
    await unlessAborted(client.connect(), opts.signal);
    if (opts.signal?.aborted) return progress;
    await unlessAborted(client.publish(), opts.signal);
    if (opts.signal?.aborted) return progress;
    for (;;) {
      let first: number | undefined;
      for await (const tag of pass ?? flvTags(file)) {
        if (closedReason) throw new Error(`the server closed the connection: ${closedReason}`);
        if (opts.signal?.aborted) return progress;
        first ??= tag.timestamp;
        const ts = offset + tag.timestamp - first;
        lastTs = ts;
        if (opts.realtime) {
          const ahead = ts - (Date.now() - wall0);
          if (ahead > 10) await sleep(ahead, opts.signal);
          if (opts.signal?.aborted) return progress;
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
        if (!ok) await unlessAborted(client.drain(), opts.signal);
      }
      pass = undefined;
      if (first === undefined) throw new Error(`${file} has no FLV tags`);
      if (!opts.loop || file === '-') break;
      progress.loops++;
      offset = lastTs + 40;
    }
    await unlessAborted(client.drain(), opts.signal);
    return progress;
  } finally {
    opened.close();
    client.close();
  }
}
