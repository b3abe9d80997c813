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

/** Bytes `encodeChunks` produces for a message. */
export function chunkedSize(csid: number, payloadLength: number, timestamp: number, chunkSize: number): number {
  const chunks = Math.max(1, Math.ceil(payloadLength / chunkSize));
  const ext = timestamp >= 0xffffff ? 4 : 0;
  const basic = basicHeaderSize(csid);
  return basic + 11 + ext + (chunks - 1) * (basic + ext) + payloadLength;
}

/**
 * Serialises one message into chunks: a fmt 0 header, then fmt 3 continuation headers
 * (repeating the extended timestamp, as FMS and ffmpeg do). The result is written once and
 * the same bytes can be sent to every player using this chunk size.
 */
export function encodeChunks(msg: RtmpMessage, chunkSize: number, out?: Buffer, offset = 0): Buffer {
  const { csid, payload } = msg;
  const timestamp = msg.timestamp >>> 0;
  const size = chunkedSize(csid, payload.length, timestamp, chunkSize);
  const buf = out ?? Buffer.allocUnsafe(size);
  let pos = out ? offset : 0;
  const extended = timestamp >= 0xffffff;
  pos = writeBasicHeader(buf, pos, 0, csid);
  const ts = extended ? 0xffffff : timestamp;
  buf[pos] = ts >> 16;
  buf[pos + 1] = (ts >> 8) & 0xff;
  buf[pos + 2] = ts & 0xff;
  const len = payload.length;
  buf[pos + 3] = len >> 16;
  buf[pos + 4] = (len >> 8) & 0xff;
  buf[pos + 5] = len & 0xff;
  buf[pos + 6] = msg.type;
  buf.writeUInt32LE(msg.streamId >>> 0, pos + 7);
  pos += 11;
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
