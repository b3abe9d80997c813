import { encodeTag, TAG_HEADER_SIZE, writeTagHeader } from '../../protocol/flv.js';
import { chunkedSize, encodeChunks } from '../../protocol/rtmp/chunk-writer.js';
import { ChunkStreamId, MessageType } from '../../protocol/rtmp/message.js';
import type { MediaMessage } from './media.js';

/** How players receive bytes: RTMP chunks (at a chunk size) or FLV tags. */
export type WireFormat = { kind: 'rtmp'; chunkSize: number } | { kind: 'flv' };

/** The message stream id every RTMP player gets from createStream, so bytes can be shared. */
export const PLAY_STREAM_ID = 1;

function csidOf(type: number): number {
  return type === MessageType.Video ? ChunkStreamId.Video : type === MessageType.Audio ? ChunkStreamId.Audio : ChunkStreamId.OverStream;
}

function rtmpSize(m: MediaMessage, chunkSize: number): number {
  return chunkedSize(csidOf(m.type), m.payload.length, m.timestamp, chunkSize);
}

/**
 * Serialises messages back to back into ONE buffer for a wire format; `keyframeOffset`
 * is where the first keyframe starts (-1 when none), so a lagging player can resume there.
 */
export function serialise(messages: readonly MediaMessage[], format: WireFormat, timestampOverride?: number): { bytes: Buffer; keyframeOffset: number } {
  let size = 0;
  for (const m of messages) size += format.kind === 'rtmp' ? rtmpSize(m, format.chunkSize) : TAG_HEADER_SIZE + m.payload.length + 4;
  const bytes = Buffer.allocUnsafe(size);
  let pos = 0;
  let keyframeOffset = -1;
  for (const m of messages) {
    if (m.keyframe && keyframeOffset < 0) keyframeOffset = pos;
    const timestamp = timestampOverride ?? m.timestamp;
    if (format.kind === 'rtmp') {
      const msg = { csid: csidOf(m.type), type: m.type, streamId: PLAY_STREAM_ID, timestamp, payload: m.payload };
      encodeChunks(msg, format.chunkSize, bytes, pos);
      pos += rtmpSize(m, format.chunkSize);
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

export { encodeTag };

export function formatKey(format: WireFormat): string {
  return format.kind === 'rtmp' ? `rtmp:${format.chunkSize}` : 'flv';
}
