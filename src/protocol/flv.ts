import { ProtocolError } from './errors.js';

/** FLV tags (the same payloads RTMP audio/video/data messages carry). */

export const TagType = { Audio: 8, Video: 9, Script: 18 } as const;

export const VideoCodec = { AVC: 7, HEVC: 12 } as const;
export const SoundFormat = { MP3: 2, AAC: 10 } as const;

export interface FlvTag {
  type: number;
  timestamp: number;
  payload: Buffer;
}

export const FLV_HEADER_SIZE = 9;
export const TAG_HEADER_SIZE = 11;

/** "FLV" v1 header plus PreviousTagSize0. */
export function flvFileHeader(hasAudio = true, hasVideo = true): Buffer {
  const b = Buffer.alloc(FLV_HEADER_SIZE + 4);
  b.write('FLV', 0, 'ascii');
  b[3] = 1;
  b[4] = (hasAudio ? 4 : 0) | (hasVideo ? 1 : 0);
  b.writeUInt32BE(FLV_HEADER_SIZE, 5);
  return b;
}

/** Writes an 11-byte tag header for a payload of `size` bytes. */
export function writeTagHeader(buf: Buffer, pos: number, type: number, size: number, timestamp: number): void {
  buf[pos] = type;
  buf[pos + 1] = size >> 16;
  buf[pos + 2] = (size >> 8) & 0xff;
  buf[pos + 3] = size & 0xff;
  buf[pos + 4] = (timestamp >> 16) & 0xff;
  buf[pos + 5] = (timestamp >> 8) & 0xff;
  buf[pos + 6] = timestamp & 0xff;
  buf[pos + 7] = (timestamp >>> 24) & 0xff;
  buf[pos + 8] = 0;
  buf[pos + 9] = 0;
  buf[pos + 10] = 0;
}

/** One complete tag (header + payload + PreviousTagSize) in a single Buffer. */
export function encodeTag(type: number, timestamp: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(TAG_HEADER_SIZE + payload.length + 4);
  writeTagHeader(out, 0, type, payload.length, timestamp >>> 0);
  payload.copy(out, TAG_HEADER_SIZE);
  out.writeUInt32BE(TAG_HEADER_SIZE + payload.length, TAG_HEADER_SIZE + payload.length);
  return out;
}

// ---------------------------------------------------------------- codec facts from payloads

const EX_HEADER = 0x80;

/** Video codec id of a video payload (enhanced RTMP 'hvc1' maps to HEVC). */
export function videoCodecOf(p: Buffer): number {
  if (p.length < 1) return 0;
  if (p[0]! & EX_HEADER) {
    if (p.length >= 5 && p.toString('ascii', 1, 5) === 'hvc1') return VideoCodec.HEVC;
    return 0;
  }
  return p[0]! & 0x0f;
}

export function isVideoKeyframe(p: Buffer): boolean {
  return p.length > 0 && ((p[0]! >> 4) & 0x07) === 1;
}

/** AVC/HEVC sequence header (AVCPacketType 0, or enhanced RTMP PacketTypeSequenceStart). */
export function isVideoSequenceHeader(p: Buffer): boolean {
  if (p.length < 2) return false;
  if (p[0]! & EX_HEADER) return (p[0]! & 0x0f) === 0; // PacketTypeSequenceStart
  const codec = p[0]! & 0x0f;
  return (codec === VideoCodec.AVC || codec === VideoCodec.HEVC) && p[1] === 0;
}

export function soundFormatOf(p: Buffer): number {
  return p.length > 0 ? p[0]! >> 4 : -1;
}

export function isAudioSequenceHeader(p: Buffer): boolean {
  return p.length >= 2 && p[0]! >> 4 === SoundFormat.AAC && p[1] === 0;
}

// ---------------------------------------------------------------- streaming demuxer

/**
 * Push bytes of an FLV file or HTTP-FLV response; complete tags come out through `onTag`.
 * Bounded: a tag larger than `maxTagSize` is a ProtocolError.
 */
export class FlvDemuxer {
  private buf: Buffer = Buffer.alloc(0);
  private headerDone = false;
  hasAudio = false;
  hasVideo = false;

  constructor(
    private readonly onTag: (tag: FlvTag) => void,
    private readonly maxTagSize = 16 * 1024 * 1024,
  ) {}

  push(data: Buffer): void {
    this.buf = this.buf.length === 0 ? data : Buffer.concat([this.buf, data]);
    let pos = 0;
    if (!this.headerDone) {
      if (this.buf.length < FLV_HEADER_SIZE + 4) return;
      if (this.buf.toString('latin1', 0, 3) !== 'FLV') throw new ProtocolError('not an FLV stream (no "FLV" signature)');
      const headerSize = this.buf.readUInt32BE(5);
      if (headerSize < FLV_HEADER_SIZE || headerSize > 1024) throw new ProtocolError(`FLV header size ${headerSize} is invalid`);
      if (this.buf.length < headerSize + 4) return;
      this.hasAudio = (this.buf[4]! & 4) !== 0;
      this.hasVideo = (this.buf[4]! & 1) !== 0;
      pos = headerSize + 4;
      this.headerDone = true;
    }
    while (this.buf.length - pos >= TAG_HEADER_SIZE) {
      const type = this.buf[pos]! & 0x1f;
      const size = (this.buf[pos + 1]! << 16) | (this.buf[pos + 2]! << 8) | this.buf[pos + 3]!;
      if (size > this.maxTagSize) throw new ProtocolError(`FLV tag of ${size} bytes exceeds the ${this.maxTagSize}-byte limit`);
      const total = TAG_HEADER_SIZE + size + 4;
      if (this.buf.length - pos < total) break;
      const timestamp = ((this.buf[pos + 7]! << 24) | (this.buf[pos + 4]! << 16) | (this.buf[pos + 5]! << 8) | this.buf[pos + 6]!) >>> 0;
      const payload = this.buf.subarray(pos + TAG_HEADER_SIZE, pos + TAG_HEADER_SIZE + size);
      pos += total;
      if (this.buf[pos - total]! & 0x20) continue; // encrypted/filtered tag: skip
      this.onTag({ type, timestamp, payload });
    }
    this.buf = pos >= this.buf.length ? Buffer.alloc(0) : this.buf.subarray(pos);
  }
}
