import type { RtmpMessage } from './message.js';

function basicHeaderSize(csid: number): number {
  return csid < 64 ? 1 : csid < 320 ? 2 : 3;
}

function writeBasicHeader(buf: Buffer, pos: number, fmt: number, csid: number): number {
  if (csid < 64) {
    buf[pos] = (fmt << 6) | csid;
    return pos + 1;
  }
  if (csid < 320) {
    buf[pos] = fmt << 6;
    buf[pos + 1] = csid - 64;
    return pos + 2;
  }
  buf[pos] = (fmt << 6) | 1;
  buf[pos + 1] = (csid - 64) & 0xff;
  buf[pos + 2] = (csid - 64) >> 8;
  return pos + 3;
}

/** Message header bytes after the basic header, by chunk format (0: absolute, 1: delta + length + type). */
const MESSAGE_HEADER_SIZE = [11, 7] as const;

/** Bytes `encodeChunks` produces for a message (`fmt` 1: `timestamp` is the delta). */
export function chunkedSize(csid: number, payloadLength: number, timestamp: number, chunkSize: number, fmt: 0 | 1 = 0): number {
  const chunks = Math.max(1, Math.ceil(payloadLength / chunkSize));
  const ext = timestamp >= 0xffffff ? 4 : 0;
  const basic = basicHeaderSize(csid);
  return basic + MESSAGE_HEADER_SIZE[fmt] + ext + (chunks - 1) * (basic + ext) + payloadLength;
}

/** Size of the first chunk's header (basic + message header + extended timestamp). */
export function firstHeaderSize(csid: number, timestamp: number, fmt: 0 | 1 = 0): number {
  return basicHeaderSize(csid) + MESSAGE_HEADER_SIZE[fmt] + (timestamp >= 0xffffff ? 4 : 0);
}

/**
 * Writes only the fmt 0 header of a message's first chunk (absolute `timestamp` under 0xffffff,
 * so no extended timestamp in it or in the continuation chunks); returns the end position. A
 * player's first message on a chunk stream gets this header in front of shared bytes.
 */
export function writeFmt0Header(buf: Buffer, pos: number, csid: number, timestamp: number, length: number, type: number, streamId: number): number {
  if (timestamp >= 0xffffff) throw new RangeError('writeFmt0Header: timestamp needs an extended timestamp');
  pos = writeBasicHeader(buf, pos, 0, csid);
  buf[pos] = timestamp >> 16;
  buf[pos + 1] = (timestamp >> 8) & 0xff;
  buf[pos + 2] = timestamp & 0xff;
  buf[pos + 3] = length >> 16;
  buf[pos + 4] = (length >> 8) & 0xff;
  buf[pos + 5] = length & 0xff;
  buf[pos + 6] = type;
  buf.writeUInt32LE(streamId >>> 0, pos + 7);
  return pos + 11;
}

/**
 * Serialises one message into chunks: a fmt 0 header (or with `fmt` 1, a header carrying
 * `msg.timestamp` as the delta from the previous message on the chunk stream, with no stream
 * id), then fmt 3 continuation headers (repeating the extended timestamp, as FMS and ffmpeg
 * do). The result is written once and the same bytes can be sent to every player using this
 * chunk size.
 */
export function encodeChunks(msg: RtmpMessage, chunkSize: number, out?: Buffer, offset = 0, fmt: 0 | 1 = 0): Buffer {
  const { csid, payload } = msg;
  const timestamp = msg.timestamp >>> 0;
  const size = chunkedSize(csid, payload.length, timestamp, chunkSize, fmt);
  const buf = out ?? Buffer.allocUnsafe(size);
  let pos = out ? offset : 0;
  const extended = timestamp >= 0xffffff;
  pos = writeBasicHeader(buf, pos, fmt, csid);
  const ts = extended ? 0xffffff : timestamp;
  buf[pos] = ts >> 16;
  buf[pos + 1] = (ts >> 8) & 0xff;
  buf[pos + 2] = ts & 0xff;
  const len = payload.length;
  buf[pos + 3] = len >> 16;
  buf[pos + 4] = (len >> 8) & 0xff;
  buf[pos + 5] = len & 0xff;
  buf[pos + 6] = msg.type;
  if (fmt === 0) {
    buf.writeUInt32LE(msg.streamId >>> 0, pos + 7);
    pos += 11;
  } else pos += 7;
  if (extended) {
    buf.writeUInt32BE(timestamp, pos);
    pos += 4;
  }
  let sent = 0;
  for (;;) {
    const n = Math.min(chunkSize, len - sent);
    payload.copy(buf, pos, sent, sent + n);
    pos += n;
    sent += n;
    if (sent >= len) break;
    pos = writeBasicHeader(buf, pos, 3, csid);
    if (extended) {
      buf.writeUInt32BE(timestamp, pos);
      pos += 4;
    }
  }
  return buf;
}
