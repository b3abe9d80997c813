/** RTP fixed header (RFC 3550 §5.1): what the H.264 and Opus payload code needs of it. */

export const RTP_HEADER_SIZE = 12;

export interface RtpHeader {
  marker: boolean;
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
  /** offset of the payload in the packet (after CSRCs and the header extension) */
  payloadOffset: number;
  /** end of the payload (before padding) */
  payloadEnd: number;
}

/** Parses an RTP header; undefined when the packet is not RTP v2 or is truncated. */
export function parseRtpHeader(p: Buffer): RtpHeader | undefined {
  if (p.length < RTP_HEADER_SIZE || p[0]! >> 6 !== 2) return undefined;
  const csrcCount = p[0]! & 0x0f;
  let offset = RTP_HEADER_SIZE + 4 * csrcCount;
  if (p[0]! & 0x10) {
    if (p.length < offset + 4) return undefined;
    offset += 4 + 4 * p.readUInt16BE(offset + 2);
  }
  let end = p.length;
  if (p[0]! & 0x20) {
    const pad = p[p.length - 1]!;
    if (pad === 0) return undefined;
    end -= pad;
  }
  if (offset > end) return undefined;
  return {
    marker: (p[1]! & 0x80) !== 0,
    payloadType: p[1]! & 0x7f,
    sequence: p.readUInt16BE(2),
    timestamp: p.readUInt32BE(4),
    ssrc: p.readUInt32BE(8),
    payloadOffset: offset,
    payloadEnd: end,
  };
}

/** Writes a 12-byte RTP header (no CSRC, no extension, no padding) at the start of `p`. */
export function writeRtpHeader(p: Buffer, marker: boolean, payloadType: number, sequence: number, timestamp: number, ssrc: number): void {
  p[0] = 0x80;
  p[1] = (marker ? 0x80 : 0) | (payloadType & 0x7f);
  p.writeUInt16BE(sequence & 0xffff, 2);
  p.writeUInt32BE(timestamp >>> 0, 4);
  p.writeUInt32BE(ssrc >>> 0, 8);
}

/** a - b for 16-bit sequence numbers, in -32768..32767 */
export function seqDiff(a: number, b: number): number {
  return ((((a - b) & 0xffff) + 0x8000) & 0xffff) - 0x8000;
}
