import { encodeTag, TAG_HEADER_SIZE, writeTagHeader } from '../../protocol/flv.js';
import { chunkedSize, encodeChunks } from '../../protocol/rtmp/chunk-writer.js';
import { ChunkStreamId, MessageType } from '../../protocol/rtmp/message.js';
import type { MediaMessage } from './media.js';

/** How players receive bytes: RTMP chunks (at a chunk size) or FLV tags. */
export type WireFormat = { kind: 'rtmp'; chunkSize: number } | { kind: 'flv' };

/**
 * SRS's play { time_jitter }: `full` starts every player at 0 and replaces steps outside
 * ±250 ms by 10 ms, `zero` starts every player at 0 and keeps the publisher's steps, `off`
 * passes the publisher's timestamps through.
 */
export type TimeJitter = 'full' | 'zero' | 'off';

/**
 * How a serialisation stamps its messages: the publisher's timestamps (undefined), one fixed
 * time (a number), or a player's time `clock - base` (metadata at 0, never below 0).
 */
export type Stamp = number | { base: number } | undefined;

/** The message stream id every RTMP player gets from createStream, so bytes can be shared. */
export const PLAY_STREAM_ID = 1;

export function csidOf(type: number): number {
  return type === MessageType.Video ? ChunkStreamId.Video : type === MessageType.Audio ? ChunkStreamId.Audio : ChunkStreamId.OverStream;
}

/** Audio and video: the messages whose chunk streams carry timestamp deltas under time_jitter full|zero. */
export function isAv(m: MediaMessage): boolean {
  return m.type === MessageType.Video || m.type === MessageType.Audio;
}

/** A message's time for a player whose time is `clock - base`. */
export function playerTime(m: MediaMessage, base: number): number {
  return isAv(m) ? Math.max(0, m.clock - base) : 0;
}

function stampOf(m: MediaMessage, stamp: Stamp): number {
  return stamp === undefined ? m.timestamp : typeof stamp === 'number' ? stamp : playerTime(m, stamp.base);
}

/**
 * Serialises messages back to back into ONE buffer for a wire format; `keyframeOffset`
 * is where the first keyframe starts (-1 when none), so a lagging player can resume there.
 * Every RTMP message gets a fmt 0 (absolute) header.
 */
export function serialise(messages: readonly MediaMessage[], format: WireFormat, stamp?: Stamp): { bytes: Buffer; keyframeOffset: number } {
  const times = messages.map((m) => stampOf(m, stamp) >>> 0);
  let size = 0;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    size += format.kind === 'rtmp' ? chunkedSize(csidOf(m.type), m.payload.length, times[i]!, format.chunkSize) : TAG_HEADER_SIZE + m.payload.length + 4;
  }
  const bytes = Buffer.allocUnsafe(size);
  let pos = 0;
  let keyframeOffset = -1;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    if (m.keyframe && keyframeOffset < 0) keyframeOffset = pos;
    const timestamp = times[i]!;
    if (format.kind === 'rtmp') {
      const csid = csidOf(m.type);
      encodeChunks({ csid, type: m.type, streamId: PLAY_STREAM_ID, timestamp, payload: m.payload }, format.chunkSize, bytes, pos);
      pos += chunkedSize(csid, m.payload.length, timestamp, format.chunkSize);
    } else {
      writeTagHeader(bytes, pos, m.type, m.payload.length, timestamp);
      m.payload.copy(bytes, pos + TAG_HEADER_SIZE);
      pos += TAG_HEADER_SIZE + m.payload.length;
      bytes.writeUInt32BE(TAG_HEADER_SIZE + m.payload.length, pos);
      pos += 4;
    }
  }
  return { bytes, keyframeOffset };
}

/** RTMP bytes whose audio and video carry deltas: the same for every player, whatever its start time. */
export interface RelativeChunks {
  bytes: Buffer;
  keyframeOffset: number;
  /** where each message starts in `bytes`, and one more entry: the end */
  offsets: number[];
  /** bit (1 << csid) of every chunk stream that carries a delta in this batch */
  deltaStreams: number;
}

/**
 * Serialises messages for RTMP players under time_jitter full|zero: audio and video get fmt 1
 * headers whose timestamp is `m.delta`, the step from the previous message of the stream on
 * the same chunk stream, so the bytes are correct for every player that holds that previous
 * message at its own time (the consumer writes a fmt 0 header for a player's first message on
 * a chunk stream). Metadata gets a fmt 0 header at time 0, as SRS's jitter stamps it.
 */
export function serialiseRelative(messages: readonly MediaMessage[], chunkSize: number): RelativeChunks {
  let size = 0;
  for (const m of messages) {
    const csid = csidOf(m.type);
    size += isAv(m) ? chunkedSize(csid, m.payload.length, Math.max(0, m.delta), chunkSize, 1) : chunkedSize(csid, m.payload.length, 0, chunkSize);
  }
  const bytes = Buffer.allocUnsafe(size);
  const offsets: number[] = [];
  let pos = 0;
  let keyframeOffset = -1;
  let deltaStreams = 0;
  for (const m of messages) {
    offsets.push(pos);
    if (m.keyframe && keyframeOffset < 0) keyframeOffset = pos;
    const csid = csidOf(m.type);
    if (isAv(m)) {
      const delta = Math.max(0, m.delta);
      deltaStreams |= 1 << csid;
      encodeChunks({ csid, type: m.type, streamId: PLAY_STREAM_ID, timestamp: delta, payload: m.payload }, chunkSize, bytes, pos, 1);
      pos += chunkedSize(csid, m.payload.length, delta, chunkSize, 1);
    } else {
      encodeChunks({ csid, type: m.type, streamId: PLAY_STREAM_ID, timestamp: 0, payload: m.payload }, chunkSize, bytes, pos);
      pos += chunkedSize(csid, m.payload.length, 0, chunkSize);
    }
  }
  offsets.push(pos);
  return { bytes, keyframeOffset, offsets, deltaStreams };
}

export { encodeTag };

export function formatKey(format: WireFormat): string {
  return format.kind === 'rtmp' ? `rtmp:${format.chunkSize}` : 'flv';
}
